/* fcrdns: forward-confirmed reverse DNS of the client, like Perl
   qpsmtpd's plugins/fcrdns (HEAD): the PTR names of its address, then the
   A and AAAA records of those names (up to 10), all under one deadline
   (timeout, default 5 s). A name whose address is the client's, or in the
   same /24 (IPv4, as Perl) or /64 (IPv6), confirms it. Localhost and
   immune clients are skipped.

   Results, as RFC 8601 iprev: pass, fail (no name resolves back),
   permerror (no PTR), temperror (a lookup failed temporarily). They go to
   the connection note "iprev" and, as "iprev=RESULT", to the note
   "authentication_results" (Perl's store_auth_results). On pass the
   confirmed name becomes the client's host name when tcpserver gave none
   (replies, Received, plugins via session_remote_host), and the
   connection note "fcrdns" holds it.

   Perl only logs; here reject 1 (default 0, as Perl) refuses fail and
   permerror at connect with reject_type (default temp, as Perl: 450), and
   temperror always with 450. */
#include <string.h>
#include <byte.h>
#include <ip4.h>
#include <ip6.h>
#include <scan.h>
#include <stdlib.h>
#include <str.h>
#include "lib/dnsargs.h"

#define PLUGIN "fcrdns"
#define MAXPTR 10

struct fcrdns {
  struct dnsargs d;
  struct dns_query ptr;
  struct dns_query fwd[2 * MAXPTR];
  stralloc name;
};

static int fc_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct fcrdns *f = calloc(1, sizeof *f);
  if (!f) { stralloc_copys(err, "out of memory"); return 0; }
  f->d.r.mode = REJECT_LOG;
  f->d.r.type = "temp";
  f->d.timeout = 5;
  if (!dnsargs_parse(&f->d, argc, argv, 0, err)) return 0;
  *self = f;
  return 1;
}

static int toip(const char *x, char ip[16])
{
  size_t len = strlen(x);
  if (len && scan_ip4(x, ip + 12) == len) { byte_copy(ip, 12, V4mappedprefix); return 1; }
  return len && scan_ip6(x, ip) == len;
}

/* 2 exact, 1 same network, 0 no */
static int match(const char *client, const char *addr)
{
  char b[16];
  if (!toip(addr, b)) return 0;
  if (byte_equal(client, 16, b)) return 2;
  if (ip6_isv4mapped(client)) return ip6_isv4mapped(b) && byte_equal(client, 15, b);
  return !ip6_isv4mapped(b) && byte_equal(client, 8, b);
}

static int result(struct session *s, struct fcrdns *f, const char *res, const char *why,
                  stralloc *msg)
{
  stralloc *t = &f->name;
  t->len = 0;
  if (!stralloc_cats(t, "iprev=") || !stralloc_cats(t, res) || !stralloc_0(t)) goto nomem;
  if (!authres_add_conn(s, t->s) || !note_conn_set(s, "iprev", res)) goto nomem;
  if (!strcmp(res, "temperror")) {
    if (f->d.r.mode != REJECT_YES) {
      qlogm(s, LOGINFO, PLUGIN, "fail, tolerated, ", why);
      return DECLINED;
    }
    qlogm(s, LOGINFO, PLUGIN, "fail, ", why);
    stralloc_copys(msg, "4.4.3 Temporary DNS failure looking up your address, try again later");
    return DENYSOFT;
  }
  t->len = 0;
  if (!stralloc_cats(t, dnsargs_soft(&f->d, DENYSOFT) ? "4.7.25 " : "5.7.25 ")
      || !stralloc_cats(t, "Reverse DNS of your address ") || !stralloc_cats(t, session_remote_ip(s))
      || !stralloc_cats(t, " is missing or does not resolve back to it") || !stralloc_0(t))
    goto nomem;
  return reject_get(s, &f->d.r, DENYSOFT, PLUGIN, t->s, why, msg);
nomem:
  hook_nomem(msg);
  return DENYSOFT_DISCONNECT;
}

static int fc_connect(struct session *s, void *self, struct msg_args *a)
{
  struct fcrdns *f = self;
  const char *ip = session_remote_ip(s);
  char client[16];
  unsigned int n = 0, k;
  size_t i;
  int r;

  if (session_immune(s, PLUGIN)) return DECLINED;
  if (!toip(ip, client)) { qlogm(s, LOGINFO, PLUGIN, "skip, not an IP address: ", ip); return DECLINED; }
  if ((ip6_isv4mapped(client) && client[12] == 127) || byte_equal(client, 16, V6loopback)) {
    qlog(s, LOGINFO, PLUGIN, "pass, is localhost");
    return DECLINED;
  }
  r = dns_reverse_ip(&f->name, ip);
  if (r <= 0) goto nomem;
  if (!stralloc_cats(&f->name, ip6_isv4mapped(client) ? ".in-addr.arpa" : ".ip6.arpa")) goto nomem;
  if (dns_query_set(&f->ptr, f->name.s, f->name.len, DNSQ_PTR) < 0) goto nomem;
  dns_run(s, &f->ptr, 1, (unsigned int)f->d.timeout);
  if (f->ptr.status == DNS_TEMP) return result(s, f, "temperror", "error getting rDNS", a->msg);
  if (f->ptr.status != DNS_OK) return result(s, f, "permerror", "no rDNS", a->msg);

  for (i = 0; i < f->ptr.rr.len && n < MAXPTR; i += strlen(f->ptr.rr.s + i) + 1) {
    const char *h = f->ptr.rr.s + i;
    if (!dns_name_ok(h, strlen(h))) { qlogm(s, LOGINFO, PLUGIN, "skip PTR name with bad characters"); continue; }
    if (dns_query_set(&f->fwd[2 * n], h, strlen(h), DNSQ_A) < 0
        || dns_query_set(&f->fwd[2 * n + 1], h, strlen(h), DNSQ_AAAA) < 0)
      goto nomem;
    f->fwd[2 * n].deadline = f->fwd[2 * n + 1].deadline = f->ptr.deadline;
    ++n;
  }
  if (!n) return result(s, f, "permerror", "no usable PTR names", a->msg);
  dns_start(s, f->fwd, 2 * n, 0);
  dns_wait(s, f->fwd, 2 * n);
  {
    const char *best = NULL;
    int bestm = 0, temp = 0;
    for (k = 0; k < 2 * n; ++k) {
      struct dns_query *q = &f->fwd[k];
      if (q->status == DNS_TEMP) temp = 1;
      if (q->status != DNS_OK) continue;
      for (i = 0; i < q->rr.len; i += strlen(q->rr.s + i) + 1) {
        int m = match(client, q->rr.s + i);
        if (m > bestm) { bestm = m; best = q->name.s; }
      }
    }
    if (best) {
      qlogm(s, LOGINFO, PLUGIN, "pass, ", best, bestm == 2 ? " resolves to " : " is in the network of ", ip);
      if (!note_conn_set(s, "fcrdns", best)) goto nomem;
      if (!session_remote_host(s) && !session_set_remote_host(s, best)) goto nomem;
      if (!authres_add_conn(s, "iprev=pass") || !note_conn_set(s, "iprev", "pass")) goto nomem;
      return DECLINED;
    }
    if (temp) return result(s, f, "temperror", "error getting forward DNS", a->msg);
    return result(s, f, "fail", "no PTR hosts have forward DNS that matches", a->msg);
  }
nomem:
  hook_nomem(a->msg);
  return DENYSOFT_DISCONNECT;
}

const struct plugin plugin_fcrdns = {
  .name = "fcrdns",
  .init = fc_init,
  .connect = fc_connect,
};
