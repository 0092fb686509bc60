/* client_options: per-client options as connection notes, for the
   plugins that read them (from the qpsmtpd-with-Postfix tutorial). At
   connect the control file client_options is searched for the client's
   address; the first matching line sets its options (every line is
   checked):

       192.0.2.7        whitelisthost
       198.51.100.0/24  (denysoft_greylist=0, spamassassin_reject_threshold=10)
       10.              relayclient_note, karma=5

   The key is an address, a prefix ending in '.' or ':' (as in tcprules),
   or an IPv4 block a.b.c.d/n. Options are "name" (the note is set to 1)
   or "name=value", separated by commas or white space, optionally in
   parentheses. The names are the notes other plugins read: whitelisthost
   makes the client immune to the policy plugins, as in Perl qpsmtpd. A
   line that cannot be parsed is an error naming the file (421). */
#include <string.h>
#include <scan.h>
#include <str.h>
#include <fmt.h>
#include "plugin.h"

#define PLUGIN "client_options"

static int ip4(const char *x, size_t len, unsigned long *v)
{
  unsigned long r = 0, part;
  size_t i = 0, n;
  int k;
  char buf[16];
  if (len >= sizeof buf) return 0;
  memcpy(buf, x, len);
  buf[len] = 0;
  for (k = 0; k < 4; ++k) {
    n = scan_ulong(buf + i, &part);
    if (!n || n > 3 || part > 255) return 0;
    i += n;
    r = (r << 8) | part;
    if (k < 3) { if (buf[i] != '.') return 0; ++i; }
  }
  if (buf[i]) return 0;
  *v = r;
  return 1;
}

/* 1 match, 0 no match, -1 the key cannot be parsed */
static int key_match(const char *key, size_t kl, const char *ip)
{
  const char *slash = memchr(key, '/', kl);
  size_t il = str_len(ip);
  if (slash) {
    unsigned long net, addr, bits;
    size_t n = scan_ulong(slash + 1, &bits);
    if (!ip4(key, (size_t)(slash - key), &net) || !n || (size_t)(slash + 1 + n - key) != kl || bits > 32) return -1;
    if (!ip4(ip, il, &addr)) return 0;
    if (!bits) return 1;
    return ((net ^ addr) & (0xffffffffUL << (32 - bits)) & 0xffffffffUL) == 0;
  }
  {
    size_t i;
    for (i = 0; i < kl; ++i) {
      char c = key[i];
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '.' || c == ':'))
        return -1;
    }
  }
  if (key[kl - 1] == '.' || key[kl - 1] == ':') return il > kl && !memcmp(ip, key, kl);
  return il == kl && !memcmp(ip, key, kl);
}

static int namechar(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

/* parses (and with set, stores) the options in x; 0 on a syntax error */
static int options(struct session *s, const char *x, size_t len, int set)
{
  size_t i = 0;
  stralloc k = {0}, v = {0};
  while (i < len && (x[i] == ' ' || x[i] == '\t')) ++i;
  if (i < len && x[i] == '(') {
    while (len > i && (x[len - 1] == ' ' || x[len - 1] == '\t')) --len;
    if (x[len - 1] != ')') return 0;
    ++i;
    --len;
  }
  for (;;) {
    size_t b, e;
    while (i < len && (x[i] == ' ' || x[i] == '\t' || x[i] == ',')) ++i;
    if (i >= len) break;
    for (b = i; i < len && namechar(x[i]); ++i) ;
    if (i == b) goto bad;
    if (!stralloc_copyb(&k, x + b, i - b) || !stralloc_0(&k)) goto bad;
    if (i < len && x[i] == '=') {
      for (e = ++i; i < len && x[i] > 32 && x[i] < 127 && x[i] != ',' && x[i] != ')' && x[i] != '('; ++i) ;
      if (!stralloc_copyb(&v, x + e, i - e) || !stralloc_0(&v)) goto bad;
    } else if (!stralloc_copys(&v, "1") || !stralloc_0(&v)) goto bad;
    if (i < len && x[i] != ' ' && x[i] != '\t' && x[i] != ',') goto bad;
    if (set) {
      if (!note_conn_set(s, k.s, v.s)) goto bad;
      qlogm(s, LOGINFO, PLUGIN, "note ", k.s, "=", v.s);
    }
  }
  stralloc_free(&k);
  stralloc_free(&v);
  return 1;
bad:
  stralloc_free(&k);
  stralloc_free(&v);
  return 0;
}

/* the file, read and checked before the greeting */
static stralloc lines;

/* the key's length (without a ':') of the entry l of length ll */
static size_t key_len(const char *l, size_t ll)
{
  size_t kl;
  for (kl = 0; kl < ll && l[kl] != ' ' && l[kl] != '\t'; ++kl) ;
  if (kl > 1 && l[kl - 1] == ':') --kl;
  return kl;
}

static int co_setup(struct session *s, void *self)
{
  struct control_at at = { {0}, {0} };
  size_t i = 0;
  (void)self;
  if (!control_readlist_at(s, "client_options", &lines, &at)) return 1;
  while (i < lines.len) {
    const char *l = lines.s + i;
    size_t ll = str_len(l), kl = key_len(l, ll);
    i += ll + 1;
    if (key_match(l, kl, "") < 0 || !options(s, l + kl + (l[kl] == ':'), ll - kl - (l[kl] == ':'), 0)) {
      stralloc why = {0};
      if (!stralloc_copys(&why, "cannot parse the entry: ") || !stralloc_cats(&why, l) || !stralloc_0(&why))
        die_control_at(s, &at, &lines, l, "client_options", "cannot parse an entry");
      die_control_at(s, &at, &lines, l, "client_options", why.s);
    }
  }
  stralloc_free(&at.files);
  stralloc_free(&at.lines);
  return 1;
}

static int co_connect(struct session *s, void *self, struct msg_args *a)
{
  const char *ip = session_remote_ip(s);
  size_t i = 0;
  (void)self; (void)a;
  while (i < lines.len) {
    const char *l = lines.s + i;
    size_t ll = str_len(l), kl = key_len(l, ll);
    i += ll + 1;
    if (key_match(l, kl, ip ? ip : "") > 0) {
      qlogm(s, LOGINFO, PLUGIN, "client ", ip, " matches ", l);
      options(s, l + kl + (l[kl] == ':'), ll - kl - (l[kl] == ':'), 1);
      break;
    }
  }
  return DECLINED;
}

const struct plugin plugin_client_options = {
  .name = "client_options",
  .setup = co_setup,
  .connect = co_connect,
};
