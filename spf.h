/* SPF, RFC 7208: check_host() as a pure function over a DNS interface
   (spf_dns.c puts that interface on dns_query.c). */
#ifndef SPF_H
#define SPF_H

#include <stralloc.h>

enum spf_result {
  SPF_NONE, SPF_NEUTRAL, SPF_PASS, SPF_FAIL, SPF_SOFTFAIL, SPF_TEMPERROR, SPF_PERMERROR
};

/* record types the engine asks for */
enum spf_rrtype { SPF_RR_A, SPF_RR_AAAA, SPF_RR_MX, SPF_RR_PTR, SPF_RR_TXT };

/* what a lookup says */
#define SPF_DNS_OK       1      /* n >= 1 records in out */
#define SPF_DNS_NXDOMAIN 2      /* no such name */
#define SPF_DNS_NODATA   3      /* the name exists, no record of the type */
#define SPF_DNS_TEMP     4      /* server failure, no answer in time: never permanent */

/* The engine's resolver. name is \0-terminated, without a trailing dot, at
   most 253 octets of printable ASCII (no '\\'). On SPF_DNS_OK, out holds n
   records as text, each ending in \0: A and AAAA addresses, MX host names
   in preference order ("" or "." for a null MX), PTR names, and TXT records
   with their strings joined. Every byte of them is treated as hostile. */
struct spf_dns {
  void *ctx;
  int (*lookup)(void *ctx, enum spf_rrtype type, const char *name, stralloc *out, unsigned int *n);
};

#define SPF_MECH_MAX 128        /* the matching term, as written (truncated) */
#define SPF_EXP_MAX  512        /* the explanation, printable ASCII */
#define SPF_WHY_MAX  128

struct spf_answer {
  enum spf_result result;
  char mechanism[SPF_MECH_MAX]; /* "ip4:192.0.2.0/24", "default", "" when none */
  char domain[254];             /* the domain whose record decided */
  char explanation[SPF_EXP_MAX];/* fail only: the exp= text; "" when none */
  char why[SPF_WHY_MAX];        /* temperror, permerror, none: the reason */
  unsigned int lookups;         /* DNS mechanisms and modifiers counted (4.6.4) */
  unsigned int queries;         /* every DNS query made */
};

/* The facts of one check. ip: the client's address as text (IPv4, IPv6;
   IPv4-mapped IPv6 is taken as IPv4). receiver: our host name for %{r}
   (0: "unknown"). now: seconds for %{t}. */
struct spf_request {
  const char *ip;
  const char *helo;
  const char *receiver;
  long long now;
};

/* RFC 7208 section 4: check_host(ip, domain, sender); sender is
   local-part@domain (an empty local-part reads as "postmaster"). */
enum spf_result spf_check_host(struct spf_answer *a, const struct spf_dns *dns,
                               const struct spf_request *r, const char *domain, const char *sender);
/* the MAIL FROM identity (section 2.4): mailfrom without angle brackets,
   "" for the null sender (then postmaster@helo is checked) */
enum spf_result spf_check_mailfrom(struct spf_answer *a, const struct spf_dns *dns,
                                   const struct spf_request *r, const char *mailfrom);
/* the HELO identity (section 2.3): none for an address literal or a name
   that is not a multi-label domain */
enum spf_result spf_check_helo(struct spf_answer *a, const struct spf_dns *dns,
                               const struct spf_request *r);
const char *spf_result_name(enum spf_result r);

#endif
