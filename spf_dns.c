/* struct spf_dns on dns_query.c. The engine only ever asks for names of
   printable ASCII without '\', labels of 1-63 octets, at most 253 in all;
   dns_query_set refuses names outside letters, digits, '-' and '_', but
   SPF macros make others (exists:%{l}.%{d} with a '+' in the local-part),
   and a DNS query may carry any octet: such a name is sent all the same. */
#include <string.h>
#include "spf_dns.h"
#include "dns_query.h"
#include "io.h"

static int lookup(void *v, enum spf_rrtype t, const char *name, stralloc *out, unsigned int *n)
{
  struct spf_dns_ctx *c = v;
  struct dns_query q = {0};
  const char *type;
  int r, st;

  *n = 0;
  out->len = 0;
  switch (t) {
  case SPF_RR_A: type = DNSQ_A; break;
  case SPF_RR_AAAA: type = DNSQ_AAAA; break;
  case SPF_RR_MX: type = DNSQ_MX; break;
  case SPF_RR_PTR: type = DNSQ_PTR; break;
  default: type = DNSQ_TXT; break;
  }
  if (io_now() >= c->deadline) return SPF_DNS_TEMP;
  r = dns_query_set(&q, name, strlen(name), type);
  if (r < 0) st = SPF_DNS_TEMP;
  else {
    if (r == 0) q.status = DNS_PENDING;     /* see above: q.name is set */
    q.deadline = c->deadline;
    dns_run(c->s, &q, 1, 0);
    if (q.status == DNS_OK && q.n) {
      if (stralloc_copy(out, &q.rr)) { *n = q.n; st = SPF_DNS_OK; }
      else st = SPF_DNS_TEMP;
    } else if (q.status == DNS_NONE || q.status == DNS_OK)
      st = q.nxdomain ? SPF_DNS_NXDOMAIN : SPF_DNS_NODATA;
    else
      st = SPF_DNS_TEMP;
  }
  dns_query_free(&q);
  stralloc_free(&q.name);
  stralloc_free(&q.rr);
  return st;
}

void spf_dns_init(struct spf_dns *d, struct spf_dns_ctx *ctx, struct session *s, unsigned int seconds)
{
  ctx->s = s;
  ctx->deadline = io_now() + (long long)seconds * 1000;
  d->ctx = ctx;
  d->lookup = lookup;
}
