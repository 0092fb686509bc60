/* spf-dns-check SECONDS IP MAILFROM HELO: one check_host() for the MAIL
   FROM identity (the HELO identity when MAILFROM is empty) through
   spf_dns.c, the project's resolver ($DNSCACHEIP), with a deadline of
   SECONDS for the whole check. Prints "result lookups queries
   explanation". */
#include <stdio.h>
#include <stdlib.h>
#include "session.h"
#include "spf.h"
#include "spf_dns.h"

static struct session s;

int main(int argc, char **argv)
{
  struct spf_dns dns;
  struct spf_dns_ctx ctx;
  struct spf_request r;
  struct spf_answer a;
  if (argc != 5) {
    fprintf(stderr, "usage: spf-dns-check SECONDS IP MAILFROM HELO\n");
    return 100;
  }
  r.ip = argv[2];
  r.helo = argv[4];
  r.receiver = "receiver.example.net";
  r.now = 1234567890;
  spf_dns_init(&dns, &ctx, &s, (unsigned int)atoi(argv[1]));
  spf_check_mailfrom(&a, &dns, &r, argv[3]);
  printf("%s %u %u %s\n", spf_result_name(a.result), a.lookups, a.queries, a.explanation);
  return 0;
}
