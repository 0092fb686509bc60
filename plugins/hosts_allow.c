/* hosts_allow: refuses or admits clients by address at connect, from the
   control file hosts_allow, like the rule part of Perl qpsmtpd's
   plugins/hosts_allow. Each line is "ADDRESS[/BITS] CODE [message]"
   (IPv4 or IPv6; BITS defaults to the whole address); CODE is a return
   code name. The first line whose block holds the client decides: a
   refusal (DENY, DENYSOFT, DENY_DISCONNECT, DENYSOFT_DISCONNECT) is sent
   with the message and the connection closed; OK or DECLINED admits the
   client and lets the later connect plugins run (in Perl this ran at
   pre-connection, before them). A line that does not parse is a
   configuration error naming the file and the line: 421 at connect.

   Perl's other half, the limit on connections per address (max_conn_ip,
   the forkserver's -m / --max-from-ip, 5 there): here the arguments
   "-m N" (or max_conn_ip N), checked before the rules as Perl does: with
   N sessions from the client's address open, the next gets 421 4.7.0
   "Sorry, too many connections from IP, try again later" (Perl's text;
   451 in Perl's forkserver) and is closed. Sessions are counted on the
   limits plugin's store and key (plugins/lib/climit.c: a slot per
   session, freed at disconnect or when its process is gone), so
   "limits concurrency N" and "hosts_allow -m N" are the same limit;
   db_dir DIR (/var/lib/qpsmtpd/limits), redis ADDR, timeout MS (1000),
   lease S (3600) as for limits. A store error lets the session in
   (logged). Relay clients are counted too, as in Perl. */
#include <stdlib.h>
#include <byte.h>
#include <fmt.h>
#include <ip4.h>
#include <ip6.h>
#include <scan.h>
#include <str.h>
#include <case.h>
#include "plugin.h"
#include "lib/retcode.h"
#include "lib/climit.h"
#include "kvstore.h"
#include "netio.h"

#define PLUGIN "hosts_allow"

struct ha {
  stralloc list;
  unsigned long max, timeout, lease;
  const char *db_dir, *redis;
  struct kvstore kv;
  stralloc key;                 /* the slot this session holds */
};

static int ha_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct ha *h;
  int i;
  h = calloc(1, sizeof *h);
  if (!h) return stralloc_copys(err, "out of memory"), 0;
  h->timeout = 1000;
  h->lease = 3600;
  h->db_dir = "/var/lib/qpsmtpd/limits";
  for (i = 0; i < argc; i += 2) {
    const char *k = argv[i], *v;
    unsigned long *u = 0, lo = 1, hi = 0;
    size_t n;
    if (i + 1 >= argc) return stralloc_copys(err, "missing value after "), stralloc_cats(err, k), 0;
    v = argv[i + 1];
    if (str_equal(k, "-m") || str_equal(k, "max_conn_ip")) { u = &h->max; lo = 0; hi = CLIMIT_SLOTS_MAX; }
    else if (str_equal(k, "timeout")) { u = &h->timeout; hi = 600000; }
    else if (str_equal(k, "lease")) { u = &h->lease; lo = 10; hi = 86400; }
    else if (str_equal(k, "db_dir")) {
      if (v[0] != '/') return stralloc_copys(err, "db_dir must be an absolute path: "), stralloc_cats(err, v), 0;
      h->db_dir = v;
      continue;
    } else if (str_equal(k, "redis")) {
      if (!net_addr_ok(v))
        return stralloc_copys(err, "redis takes IP:port, [IPv6]:port or an absolute socket path, not "), stralloc_cats(err, v), 0;
      h->redis = v;
      continue;
    } else
      return stralloc_copys(err, "unknown argument "), stralloc_cats(err, k), 0;
    n = scan_ulong(v, u);
    if (!n || v[n] || *u < lo || *u > hi) {
      stralloc_copys(err, k);
      stralloc_cats(err, " takes a number");
      if (u == &h->max) stralloc_cats(err, " from 0 to 100");
      stralloc_cats(err, ", not ");
      stralloc_cats(err, v);
      return 0;
    }
  }
  *self = h;
  return 1;
}

/* Perl's max_conn_ip: 1 when the session may go on */
static int max_conn(struct session *s, struct ha *h, struct msg_args *a)
{
  const char *rip = session_remote_ip(s);
  stralloc err = {0};
  unsigned long live = 0;
  int r;
  if (!h->max) return 1;
  kv_init(&h->kv, h->redis != 0, h->redis ? h->redis : h->db_dir, "limits:");
  if (!stralloc_copys(&h->key, "conc:") || !stralloc_cats(&h->key, rip)) return 1;
  r = climit_acquire(&h->kv, h->key.s, h->key.len, h->max, h->lease, net_deadline(h->timeout), &live, &err);
  if (r == -1) {
    h->key.len = 0;
    if (stralloc_0(&err)) qlogm(s, LOGERROR, PLUGIN, "skip max_conn_ip, store error (the session proceeds): ", err.s);
    stralloc_free(&err);
    return 1;
  }
  if (r) return 1;
  h->key.len = 0;
  {
    char n1[FMT_ULONG], n2[FMT_ULONG];
    n1[fmt_ulong(n1, live + 1)] = 0;
    n2[fmt_ulong(n2, h->max)] = 0;
    qlogm(s, LOGINFO, PLUGIN, "fail: too many connections from ", rip, " (", n1, " > ", n2, ")");
  }
  if (!stralloc_copys(a->msg, "Sorry, too many connections from ") || !stralloc_cats(a->msg, rip)
      || !stralloc_cats(a->msg, ", try again later") || !stralloc_0(a->msg)) return 1;
  session_reply(s, 421, "4.7.0", a->msg->s);
  a->msg->len = 0;
  session_disconnect_later(s);
  return 0;
}

static int ha_disconnect(struct session *s, void *self, struct msg_args *a)
{
  struct ha *h = self;
  stralloc err = {0};
  (void)a;
  if (!h->key.len) return DECLINED;
  if (climit_release(&h->kv, h->key.s, h->key.len, net_deadline(h->timeout), &err) == -1 && stralloc_0(&err))
    qlogm(s, LOGERROR, PLUGIN, "store error: ", err.s);
  h->key.len = 0;
  stralloc_free(&err);
  return DECLINED;
}

/* an address as 16 bytes (IPv4 v4-mapped) and its bit count; 0 if bad */
static int parse_ip(const char *x, size_t len, char *ip, unsigned int *bits)
{
  if (byte_chr(x, len, ':') == len) {
    byte_copy(ip, 12, V4mappedprefix);
    *bits = 32;
    return len && scan_ip4(x, ip + 12) == len;
  }
  *bits = 128;
  return len && scan_ip6(x, ip) == len;
}

static int in_block(const char *net, unsigned int bits, const char *ip)
{
  unsigned int full = bits / 8, rest = bits % 8;
  unsigned char mask;
  if (!byte_equal(net, full, ip)) return 0;
  if (!rest) return 1;
  mask = (unsigned char)(0xff << (8 - rest));
  return ((unsigned char)net[full] & mask) == ((unsigned char)ip[full] & mask);
}

/* one line, parsed: the block, the code and the message; 0 when the line
   does not parse */
struct entry { char net[16]; unsigned int bits; int code; char name[32]; const char *msg; };

static int entry_parse(const char *line, struct entry *e)
{
  size_t alen = 0, slash, cs, ce, ms;
  unsigned long want;
  while (line[alen] && line[alen] != ' ' && line[alen] != '\t') ++alen;
  for (cs = alen; line[cs] == ' ' || line[cs] == '\t'; ++cs) ;
  for (ce = cs; line[ce] && line[ce] != ' ' && line[ce] != '\t'; ++ce) ;
  for (ms = ce; line[ms] == ' ' || line[ms] == '\t'; ++ms) ;
  slash = byte_chr(line, alen, '/');
  if (!parse_ip(line, slash, e->net, &e->bits)) return 0;
  if (slash < alen) {
    size_t bl = alen - slash - 1;
    if (!bl || bl > 3 || scan_ulong(line + slash + 1, &want) != bl || want > e->bits) return 0;
    e->bits = (unsigned int)want;
  }
  if (byte_chr(line, slash, ':') == slash) e->bits += 96;    /* IPv4, as v4-mapped */
  if (ce == cs || ce - cs >= sizeof e->name) return 0;
  byte_copy(e->name, ce - cs, line + cs);
  e->name[ce - cs] = 0;
  e->code = retcode_parse(e->name);
  if (!e->code || e->code == DONE) return 0;
  e->msg = line + ms;
  return 1;
}

/* the file, before the greeting: a line that does not parse is a 421 at
   connect naming the file and the line */
static int ha_setup(struct session *s, void *self)
{
  struct ha *h = self;
  struct control_at at = { {0}, {0} };
  size_t i;
  if (!control_readlist_at(s, "hosts_allow", &h->list, &at)) return 1;
  for (i = 0; i < h->list.len; i += str_len(h->list.s + i) + 1) {
    const char *line = h->list.s + i;
    struct entry e;
    if (!entry_parse(line, &e)) {
      stralloc m = {0};
      if (!stralloc_copys(&m, "does not parse: ") || !stralloc_cats(&m, line) || !stralloc_0(&m)) return 0;
      die_control_at(s, &at, &h->list, line, "hosts_allow", m.s);
    }
  }
  stralloc_free(&at.files);
  stralloc_free(&at.lines);
  return 1;
}

static int ha_connect(struct session *s, void *self, struct msg_args *a)
{
  struct ha *h = self;
  const char *rip = session_remote_ip(s);
  char ip[16];
  unsigned int ipbits;
  size_t i;
  unsigned long n = 0;

  if (!max_conn(s, h, a)) return DONE;
  if (!h->list.len) return DECLINED;
  if (!parse_ip(rip, str_len(rip), ip, &ipbits)) {
    qlogm(s, LOGWARN, PLUGIN, "skip, cannot parse the client's address ", rip);
    return DECLINED;
  }
  for (i = 0; i < h->list.len; i += str_len(h->list.s + i) + 1) {
    const char *line = h->list.s + i;
    char num[FMT_ULONG];
    struct entry e;
    ++n;
    if (!entry_parse(line, &e) || !in_block(e.net, e.bits, ip)) continue;   /* checked at setup */
    num[fmt_ulong(num, n)] = 0;
    if (!retcode_deny(e.code)) {
      qlogm(s, LOGINFO, PLUGIN, "pass, entry ", num, ", ", e.name);
      return DECLINED;
    }
    qlogm(s, LOGINFO, PLUGIN, "fail, entry ", num, ": ", line);
    if (*e.msg && !stralloc_copys(a->msg, e.msg)) return DENYSOFT;
    return e.code;
  }
  qlog(s, LOGDEBUG, PLUGIN, "pass");
  return DECLINED;
}

const struct plugin plugin_hosts_allow = {
  .name = "hosts_allow",
  .init = ha_init,
  .setup = ha_setup,
  .connect = ha_connect,
  .disconnect = ha_disconnect,
};
