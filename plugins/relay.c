/* relay: decides at connect whether the client may relay, like Perl
   qpsmtpd's plugins/relay. A match in norelayclients wins and clears the
   flag; otherwise $RELAYCLIENT (set, even empty), ::1, relayclients or
   morerelayclients.cdb make the client a relay client. With "only", every
   recipient of a client that may not relay is refused.

   relayclients and norelayclients hold one entry a line: an address
   (192.0.2.7, 2001:db8::7), a prefix of whole groups ending in '.' or ':'
   (192.0.2., 2001:db8:0:1:), an IPv6 prefix ending on a nibble in expanded
   form (2001:0db8:00a, as in Perl's sample), or a CIDR block (192.0.2.0/24,
   2001:db8::/32). All of them become address blocks; a block includes its
   first and last address (Perl's strict comparison did not: reference
   section 15, item 24). An entry that is none of these is a configuration
   error: it is logged and the client is told to come back later.
   morerelayclients.cdb keys are addresses or prefixes at a '.' or ':', as
   tcprules writes them; IPv6 keys may be compact, full or expanded. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <byte.h>
#include <str.h>
#include <fmt.h>
#include <scan.h>
#include <ip4.h>
#include <ip6.h>
#include "plugin.h"
#include "ipnet.h"

#define PLUGIN "relay"

struct net {
  char ip[16];          /* IPv4 as v4-mapped IPv6 */
  unsigned int bits;    /* prefix length, over all 128 bits */
  size_t line;          /* offset of the entry in the list's text */
};

struct iplist {
  const char *file;
  stralloc text;        /* as read: "entry\0" each */
  struct net *nets;
  size_t nnets;
};

struct relay {
  int only;
  struct iplist norelay;
  struct iplist relay;
};

/* the client's address, and the keys morerelayclients.cdb may hold for it */
struct client {
  char ip[16];
  char compact[IPNET_FMT6];  /* 192.0.2.7, or 2001:db8::7 */
  char full[FMT_IP6 + 1];     /* 192.0.2.7, or 2001:db8:0:0:0:0:0:7 */
  char expanded[FMT_IP6 + 1]; /* 192.0.2.7, or 2001:0db8:0000:...:0007 */
  char key[FMT_IP6 + 1];      /* the key that matched */
};

static int hexval(char c)
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* "192.0.2." (whole octets, each followed by its dot) */
static int prefix4_parse(const char *e, size_t len, struct net *n)
{
  size_t i = 0;
  unsigned int groups = 0;

  byte_copy(n->ip, 12, V4mappedprefix);
  byte_zero(n->ip + 12, 4);
  while (i < len) {
    unsigned long u;
    size_t d = scan_ulong(e + i, &u);
    if (!d || d > 3 || u > 255 || groups == 3 || i + d >= len || e[i + d] != '.') return 0;
    n->ip[12 + groups++] = (char)u;
    i += d + 1;
  }
  if (!groups) return 0;
  n->bits = 96 + 8 * groups;
  return 1;
}

/* "2001:db8:" (whole groups, each followed by its colon) or, as in Perl's
   sample, "2001:0db8:00a" (then the last group is a prefix of its four
   hex digits, written out with leading zeros) */
static int prefix6_parse(const char *e, size_t len, struct net *n)
{
  size_t i = 0;
  unsigned int groups = 0;

  byte_zero(n->ip, 16);
  n->bits = 0;
  if (byte_chr(e, len, ':') == len) return 0;
  while (i < len) {
    unsigned long g = 0;
    size_t d = 0;
    while (i + d < len && d < 5 && hexval(e[i + d]) >= 0) g = (g << 4) | (unsigned long)hexval(e[i + d++]);
    if (!d || d > 4 || groups == 8) return 0;
    if (i + d == len) {           /* the last, partial group */
      g <<= 4 * (4 - d);
      n->ip[2 * groups] = (char)(g >> 8);
      n->ip[2 * groups + 1] = (char)g;
      n->bits = 16 * groups + 4 * (unsigned int)d;
      return groups < 7 || d < 4;
    }
    if (e[i + d] != ':' || groups == 7) return 0;
    n->ip[2 * groups] = (char)(g >> 8);
    n->ip[2 * groups + 1] = (char)g;
    ++groups;
    i += d + 1;
  }
  n->bits = 16 * groups;
  return 1;
}

/* "a.b.c.d", "a.b.c.d/n", "x:y::z", "x:y::/n" */
static int cidr_parse(const char *e, size_t len, struct net *n)
{
  size_t slash = byte_chr(e, len, '/');
  size_t alen = slash;
  unsigned int max = 128;
  unsigned long bits;

  if (!alen) return 0;
  if (byte_chr(e, alen, ':') == alen) {
    if (scan_ip4(e, n->ip + 12) != alen) return 0;
    byte_copy(n->ip, 12, V4mappedprefix);
    max = 32;
  } else if (scan_ip6(e, n->ip) != alen)
    return 0;
  if (slash == len)
    bits = max;
  else {
    size_t blen = len - slash - 1;
    if (!blen || blen > 3 || scan_ulong(e + slash + 1, &bits) != blen || bits > max)
      return 0;
  }
  n->bits = (unsigned int)bits + (128 - max);
  return 1;
}

static int net_parse(const char *e, size_t len, struct net *n)
{
  return cidr_parse(e, len, n) || prefix4_parse(e, len, n) || prefix6_parse(e, len, n);
}

static int net_match(const struct net *n, const char *ip)
{
  unsigned int full = n->bits / 8;
  unsigned int rest = n->bits % 8;
  unsigned char mask;

  /* an IPv6 block such as ::/0 is not meant to take in every IPv4 client */
  if (ip6_isv4mapped(ip) && n->bits < 96) return 0;
  if (!byte_equal(n->ip, full, ip)) return 0;
  if (!rest) return 1;
  mask = (unsigned char)(0xff << (8 - rest));
  return ((unsigned char)n->ip[full] & mask) == ((unsigned char)ip[full] & mask);
}

/* reads the list at setup: 1, or 0 out of memory; a bad entry is a 421
   at connect naming its file and line */
/* the entries of a file that exists: a function of its own, so that a
   site without the file runs (and maps) none of the parsing */
static __attribute__((noinline)) int list_parse(struct session *s, struct iplist *l, struct control_at *at)
{
  size_t i;
  size_t n = 0;

  for (i = 0; i < l->text.len; ++i)
    if (!l->text.s[i]) ++n;
  if (n) {
    l->nets = calloc(n, sizeof *l->nets);
    if (!l->nets) return 0;
  }
  for (i = 0; i < l->text.len && l->nnets < n; i += str_len(l->text.s + i) + 1) {
    const char *e = l->text.s + i;
    if (net_parse(e, str_len(e), &l->nets[l->nnets]))
      l->nets[l->nnets++].line = i;
    else {
      stralloc m = {0};
      if (!stralloc_copys(&m, "bad entry: ") || !stralloc_cats(&m, e) || !stralloc_0(&m)) return 0;
      die_control_at(s, at, &l->text, e, l->file, m.s);
    }
  }
  return 1;
}

static int list_load(struct session *s, struct iplist *l)
{
  struct control_at at = { {0}, {0} };
  int ok = 1;

  if (control_readlist_at(s, l->file, &l->text, &at)) ok = list_parse(s, l, &at);
  stralloc_free(&at.files);
  stralloc_free(&at.lines);
  return ok;
}

static int relay_setup(struct session *s, void *self)
{
  struct relay *r = self;
  return list_load(s, &r->norelay) && list_load(s, &r->relay);
}

/* the entry that matches, or NULL */
static const char *list_match(const struct iplist *l, const struct client *c)
{
  size_t i;

  for (i = 0; i < l->nnets; ++i)
    if (net_match(&l->nets[i], c->ip)) return l->text.s + l->nets[i].line;
  return 0;
}

static const char *cdb_prefixes(struct session *s, const char *name, const char *form,
                                char sep, struct client *c)
{
  size_t i;

  for (i = str_len(form); i > 0; --i)
    if (form[i - 1] == sep && control_cdb_has(s, name, form, i)) {
      byte_copy(c->key, i, form);
      c->key[i] = 0;
      return c->key;
    }
  return 0;
}

/* tcprules-style keys: the address as given and in its usual forms, then
   each prefix of the forms, longest first */
static const char *cdb_match(struct session *s, const char *name, const char *given,
                             struct client *c)
{
  const char *m;

  if (control_cdb_has(s, name, given, str_len(given))) return given;
  if (control_cdb_has(s, name, c->compact, str_len(c->compact))) return c->compact;
  if (ip6_isv4mapped(c->ip)) return cdb_prefixes(s, name, c->full, '.', c);
  if (control_cdb_has(s, name, c->full, str_len(c->full))) return c->full;
  if (control_cdb_has(s, name, c->expanded, str_len(c->expanded))) return c->expanded;
  m = cdb_prefixes(s, name, c->full, ':', c);
  if (!m) m = cdb_prefixes(s, name, c->expanded, ':', c);
  return m;
}

/* an IPv6 client's three forms: a function of its own, so that an IPv4
   client's session runs (and maps) none of it */
static __attribute__((noinline)) void client_forms6(struct client *c)
{
  size_t i;
  char *p;
  char *q;

  c->compact[ipnet_fmt6(c->compact, c->ip)] = 0;
  p = c->full;
  q = c->expanded;
  for (i = 0; i < 16; i += 2) {
    unsigned long g = ((unsigned long)(unsigned char)c->ip[i] << 8) | (unsigned char)c->ip[i + 1];
    unsigned int k;
    if (i) {
      *p++ = ':';
      *q++ = ':';
    }
    p += fmt_xlong(p, g);
    for (k = 0; k < 4; ++k) *q++ = "0123456789abcdef"[(g >> (12 - 4 * k)) & 15];
  }
  *p = 0;
  *q = 0;
}

static int client_parse(const char *ip, struct client *c)
{
  size_t len = str_chr(ip, '%');   /* a scope id (fe80::1%eth0) */

  /* ipnet_scan, not scan_ip6 alone: an IPv4 client (the common case)
     costs scan_ip4, and a session runs no IPv6 parser */
  if (!ipnet_scan(ip, len, c->ip)) return 0;
  if (ip6_isv4mapped(c->ip)) {
    c->compact[fmt_ip4(c->compact, c->ip + 12)] = 0;
    byte_copy(c->full, sizeof c->full, c->compact);
    byte_copy(c->expanded, sizeof c->expanded, c->compact);
  } else
    client_forms6(c);
  return 1;
}

static int relay_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct relay *r;
  int only = 0;
  int i;

  for (i = 0; i < argc; ++i) {
    if (str_equal(argv[i], "only")) {
      only = 1;
      if (i + 1 < argc) {
        ++i;
        if (str_equal(argv[i], "0")) only = 0;
        else if (!str_equal(argv[i], "1")) {
          if (!stralloc_copys(err, "only takes 0 or 1, not ")) return 0;
          if (!stralloc_cats(err, argv[i])) return 0;
          return 0;
        }
      }
      continue;
    }
    if (!stralloc_copys(err, "unknown argument ")) return 0;
    if (!stralloc_cats(err, argv[i])) return 0;
    return 0;
  }
  r = calloc(1, sizeof *r);
  if (!r) {
    stralloc_copys(err, "out of memory");
    return 0;
  }
  r->only = only;
  r->norelay.file = "norelayclients";
  r->relay.file = "relayclients";
  *self = r;
  return 1;
}

/* a bad entry is logged with the file's name; the client only learns that
   it should come back later */
static int relay_connect(struct session *s, void *self, struct msg_args *a)
{
  struct relay *r = self;
  const char *ip = session_remote_ip(s);
  const char *m;
  struct client c;
  int known;

  if (!ip) ip = "";
  known = client_parse(ip, &c);

  if (known) {
    m = list_match(&r->norelay, &c);
    if (m) {
      session_set_relay_client(s, 0);
      unsetenv("RELAYCLIENT");
      qlogm(s, LOGNOTICE, PLUGIN, ip, " in norelayclients (", m, ")");
      return DECLINED;
    }
  }

  if (env_get("RELAYCLIENT")) {
    session_set_relay_client(s, 1);
    qlog(s, LOGINFO, PLUGIN, "pass, enabled by env");
    return DECLINED;
  }
  if (!known) {
    qlogm(s, LOGINFO, PLUGIN, "skip, no usable client address");
    return DECLINED;
  }

  if (!ip6_isv4mapped(c.ip) && byte_equal(c.ip, 16, V6loopback)) {
    session_set_relay_client(s, 1);
    qlog(s, LOGINFO, PLUGIN, "pass, localhost (::1)");
    return DECLINED;
  }

  m = list_match(&r->relay, &c);
  if (m) {
    session_set_relay_client(s, 1);
    qlogm(s, LOGINFO, PLUGIN, "pass, relayclients match ", m, " for ", ip);
    return DECLINED;
  }
  m = cdb_match(s, "morerelayclients", ip, &c);
  if (m) {
    session_set_relay_client(s, 1);
    qlogm(s, LOGINFO, PLUGIN, "pass, morerelayclients match ", m, " for ", ip);
    return DECLINED;
  }
  qlogm(s, LOGINFO, PLUGIN, "skip, no match for ", ip);
  return DECLINED;
}

static int relay_rcpt(struct session *s, void *self, struct addr_args *a)
{
  struct relay *r = self;

  if (!r->only) return DECLINED;
  if (session_relay_client(s)) return OK;
  qlog(s, LOGINFO, PLUGIN, "fail, relay only and the client may not relay");
  stralloc_copys(a->msg, "5.7.1 Relaying denied");
  return DENY;
}

const struct plugin plugin_relay = {
  .name = "relay",
  .init = relay_init,
  .setup = relay_setup,
  .connect = relay_connect,
  .rcpt = relay_rcpt,
};
