/* resolvable_fromhost: the sender's domain must be able to receive
   bounces, like Perl qpsmtpd's plugins/resolvable_fromhost (HEAD): an MX
   whose host has an address outside the networks in
   invalid_resolvable_fromhost, or, without MX, an A or AAAA record outside
   them. MX, A and AAAA are asked at once, then the MX hosts' addresses,
   all under one deadline (timeout, default 30 s). A null MX (RFC 7505) is
   a failure.

   Failure: "FQDN required in the envelope sender", with reject_type
   (default soft: 450; perm: 550). A lookup that fails temporarily is always
   "451"-class: 450 4.4.3 "Temporary address resolution failure" (Perl sent
   that for a missing domain too, and with reject_type perm a 5xx for a
   temporary failure; we do neither). Transaction notes:
   resolvable_fromhost (a, mx, ip, null, or the failure) and
   resolvable_fromhost_host. Immune clients are skipped.

   invalid_resolvable_fromhost: one network a line, "192.168.0.0/16" or
   "fc00::/7" (a bare address is a /32 or /128); text after the network is
   a comment. */
#include <string.h>
#include <byte.h>
#include <ip4.h>
#include <ip6.h>
#include <stdlib.h>
#include <str.h>
#include <scan.h>
#include "lib/dnsargs.h"

#define PLUGIN "resolvable_fromhost"
#define MAXMX 10

struct net { char ip[16]; unsigned int bits; };

struct rfh {
  struct dnsargs d;
  stralloc list;
  struct net *nets;
  size_t nnets;
  struct dns_query first[3];
  struct dns_query mx[2 * MAXMX];
  stralloc host;
};

static int rfh_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct rfh *r = calloc(1, sizeof *r);
  if (!r) { stralloc_copys(err, "out of memory"); return 0; }
  r->d.r.mode = REJECT_YES;
  r->d.r.type = "soft";
  r->d.timeout = 30;
  if (!dnsargs_parse(&r->d, argc, argv, 0, err)) return 0;
  *self = r;
  return 1;
}

static int parse_ip(const char *x, size_t len, char ip[16], unsigned int *max)
{
  if (len && byte_chr(x, len, ':') == len) {
    if (scan_ip4(x, ip + 12) != len) return 0;
    byte_copy(ip, 12, V4mappedprefix);
    *max = 32;
    return 1;
  }
  *max = 128;
  return len && scan_ip6(x, ip) == len;
}

/* invalid_resolvable_fromhost, before the greeting: a bad entry is a 421
   at connect naming its file and line */
static int rfh_setup(struct session *s, void *self)
{
  struct rfh *r = self;
  struct control_at at = { {0}, {0} };
  size_t i, n = 0;
  if (!control_readlist_at(s, "invalid_resolvable_fromhost", &r->list, &at)) return 1;
  for (i = 0; i < r->list.len; ++i) if (!r->list.s[i]) ++n;
  r->nets = calloc(n + 1, sizeof *r->nets);
  if (!r->nets) return 0;
  for (i = 0; i < r->list.len; i += strlen(r->list.s + i) + 1) {
    const char *e = r->list.s + i;
    size_t len = strcspn(e, " \t#");
    size_t slash = byte_chr(e, len, '/');
    unsigned int max;
    unsigned long bits;
    struct net *nt = &r->nets[r->nnets];
    if (!parse_ip(e, slash, nt->ip, &max)) goto bad;
    bits = max;
    if (slash < len) {
      size_t bl = len - slash - 1;
      if (!bl || scan_ulong(e + slash + 1, &bits) != bl || bits > max) goto bad;
    }
    nt->bits = (unsigned int)bits + (128 - max);
    r->nnets++;
    continue;
bad:
    {
      stralloc m = {0};
      if (!stralloc_copys(&m, "bad entry: ") || !stralloc_cats(&m, e) || !stralloc_0(&m)) return 0;
      die_control_at(s, &at, &r->list, e, "invalid_resolvable_fromhost", m.s);
    }
  }
  stralloc_free(&at.files);
  stralloc_free(&at.lines);
  return 1;
}

/* 1 when the address (text) is usable, 0 when in an invalid network */
static int valid(const struct rfh *r, const char *addr)
{
  char ip[16];
  unsigned int max;
  size_t k;
  if (!parse_ip(addr, strlen(addr), ip, &max)) return 0;
  for (k = 0; k < r->nnets; ++k) {
    const struct net *n = &r->nets[k];
    unsigned int full = n->bits / 8, rest = n->bits % 8;
    unsigned char mask;
    if (!byte_equal(n->ip, full, ip)) continue;
    if (!rest) return 0;
    mask = (unsigned char)(0xff << (8 - rest));
    if ((((unsigned char)n->ip[full]) & mask) == (((unsigned char)ip[full]) & mask)) return 0;
  }
  return 1;
}

/* over the records of queries q[0..n): 1 a valid address, 0 none */
static int any_valid(const struct rfh *r, const struct dns_query *q, unsigned int n)
{
  unsigned int k;
  for (k = 0; k < n; ++k) {
    size_t i;
    if (q[k].status != DNS_OK) continue;
    for (i = 0; i < q[k].rr.len; i += strlen(q[k].rr.s + i) + 1)
      if (valid(r, q[k].rr.s + i)) return 1;
  }
  return 0;
}

static int any_status(const struct dns_query *q, unsigned int n, int st)
{
  unsigned int k;
  for (k = 0; k < n; ++k) if (q[k].status == st) return 1;
  return 0;
}

/* the first lookups of the mail hook below (MX, A, AAAA of the sender's
   domain), started before the chain's mail hooks run */
static void rfh_lookahead(struct session *s, void *self, const struct addr_args *a)
{
  struct rfh *r = self;
  size_t at = byte_rchr(a->addr, a->addrlen, '@');
  const char *host = a->addr + at + 1;
  size_t hl = a->addrlen - at - 1;
  if (!a->addrlen || at + 1 >= a->addrlen || host[0] == '[' || !dns_name_ok(host, hl)) return;
  if (session_immune(s, PLUGIN)) return;
  dns_lookahead(s, host, hl, DNSQ_MX, (unsigned int)r->d.timeout);
  dns_lookahead(s, host, hl, DNSQ_A, (unsigned int)r->d.timeout);
  dns_lookahead(s, host, hl, DNSQ_AAAA, (unsigned int)r->d.timeout);
}

static int rfh_mail(struct session *s, void *self, struct addr_args *a)
{
  struct rfh *r = self;
  const char *result;
  const char *host;
  size_t at, hl;
  unsigned int nmx = 0;

  if (session_immune(s, PLUGIN)) return DECLINED;
  if (!a->addrlen) {
    note_txn_set(s, PLUGIN, "null");
    qlog(s, LOGINFO, PLUGIN, "pass, null sender");
    return DECLINED;
  }
  at = byte_rchr(a->addr, a->addrlen, '@');
  if (at >= a->addrlen || at + 1 == a->addrlen) { result = "unparsable host"; goto fail; }
  host = a->addr + at + 1;
  hl = a->addrlen - at - 1;
  if (!stralloc_copyb(&r->host, host, hl) || !stralloc_0(&r->host)) goto nomem;
  note_txn_set(s, "resolvable_fromhost_host", r->host.s);
  if (host[0] == '[') {
    qlogm(s, LOGINFO, PLUGIN, "skip, ", r->host.s, " is an IP");
    note_txn_set(s, PLUGIN, "ip");
    return DECLINED;
  }
  if (!dns_name_ok(host, hl)) { result = "unparsable host"; goto fail; }

  if (dns_query_set(&r->first[0], host, hl, DNSQ_MX) < 0 || dns_query_set(&r->first[1], host, hl, DNSQ_A) < 0
      || dns_query_set(&r->first[2], host, hl, DNSQ_AAAA) < 0)
    goto nomem;
  dns_run(s, r->first, 3, (unsigned int)r->d.timeout);

  if (r->first[0].status == DNS_OK) {
    size_t i;
    int literal_ok = 0;
    for (i = 0; i < r->first[0].rr.len && nmx < MAXMX; i += strlen(r->first[0].rr.s + i) + 1) {
      const char *mx = r->first[0].rr.s + i;
      char ip[16];
      unsigned int max;
      if (!*mx) continue;         /* a null MX */
      if (parse_ip(mx, strlen(mx), ip, &max)) { if (valid(r, mx)) literal_ok = 1; continue; }
      if (dns_query_set(&r->mx[2 * nmx], mx, strlen(mx), DNSQ_A) < 0
          || dns_query_set(&r->mx[2 * nmx + 1], mx, strlen(mx), DNSQ_AAAA) < 0)
        goto nomem;
      r->mx[2 * nmx].deadline = r->mx[2 * nmx + 1].deadline = r->first[0].deadline;
      ++nmx;
    }
    if (!literal_ok && nmx) {
      dns_start(s, r->mx, 2 * nmx, 0);
      dns_wait(s, r->mx, 2 * nmx);
    }
    if (literal_ok || any_valid(r, r->mx, 2 * nmx)) {
      qlogm(s, LOGINFO, PLUGIN, "pass, ", r->host.s, " has MX");
      note_txn_set(s, PLUGIN, "mx");
      return DECLINED;
    }
    if (any_status(r->mx, 2 * nmx, DNS_TEMP)) goto temp;
    result = nmx ? "invalid MX" : "null MX";
    goto fail;
  }
  if (any_valid(r, r->first + 1, 2)) {
    qlogm(s, LOGINFO, PLUGIN, "pass, found A for ", r->host.s);
    note_txn_set(s, PLUGIN, "a");
    return DECLINED;
  }
  if (any_status(r->first, 3, DNS_TEMP)) goto temp;
  result = any_status(r->first + 1, 2, DNS_OK) ? "invalid A" : r->first[0].nxdomain ? "no such domain" : "no MX, A or AAAA";

fail:
  {
    stralloc *t = &r->host;
    int soft = dnsargs_soft(&r->d, DENYSOFT);
    t->len = 0;
    note_txn_set(s, PLUGIN, result);
    if (!stralloc_cats(t, soft ? "4.1.8 " : "5.1.8 ") || !stralloc_cats(t, "FQDN required in the envelope sender")
        || !stralloc_0(t))
      goto nomem;
    return reject_get(s, &r->d.r, DENYSOFT, PLUGIN, t->s, result, a->msg);
  }
temp:
  note_txn_set(s, PLUGIN, "temporary DNS failure");
  if (r->d.r.mode != REJECT_YES) {
    qlog(s, LOGINFO, PLUGIN, "fail, tolerated, temporary DNS failure");
    return DECLINED;
  }
  qlog(s, LOGINFO, PLUGIN, "fail, temporary DNS failure");
  stralloc_copys(a->msg, "4.4.3 Temporary address resolution failure");
  return DENYSOFT;
nomem:
  return hook_nomem(a->msg);
}

const struct plugin plugin_resolvable_fromhost = {
  .name = "resolvable_fromhost",
  .init = rfh_init,
  .setup = rfh_setup,
  .mail = rfh_mail,
  .mail_lookahead = rfh_lookahead,
};
