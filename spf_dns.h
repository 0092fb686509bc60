/* The SPF engine's DNS (struct spf_dns) on the project's resolver,
   dns_query.c: one deadline for a whole check_host() (spf_dns.c). */
#ifndef SPF_DNS_H
#define SPF_DNS_H

#include "spf.h"

struct session;

struct spf_dns_ctx {
  struct session *s;
  long long deadline;           /* io_now() time */
};

/* fills d to query through ctx; every lookup of the check ends by
   seconds from now (a lookup after that is temperror, never "none") */
void spf_dns_init(struct spf_dns *d, struct spf_dns_ctx *ctx, struct session *s, unsigned int seconds);

#endif
