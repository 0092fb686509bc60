/* DNS queries for plugins. (Not dns.h: that is libowfat's.) */
#ifndef DNS_QUERY_H
#define DNS_QUERY_H

#include <stralloc.h>

struct session;

/* DNS (dns_query.c): libowfat's resolver (servers from $DNSCACHEIP, else
   /etc/resolv.conf). Fill queries with dns_query_set, then dns_run (or
   dns_start now and dns_wait later): all of them are in flight at once,
   each until its deadline. Records come as text, each ending in \0: A and
   AAAA addresses, MX hosts in preference order, TXT strings (control
   characters as '?'), PTR names without the trailing dot. */
#define DNSQ_A    "\0\1"
#define DNSQ_PTR  "\0\14"
#define DNSQ_MX   "\0\17"
#define DNSQ_TXT  "\0\20"
#define DNSQ_AAAA "\0\34"
#define DNS_PENDING 0
#define DNS_OK      1   /* n records in rr */
#define DNS_NONE    2   /* permanent: no such name (nxdomain) or no such record */
#define DNS_TEMP    3   /* temporary: server failure, no answer in time, local error */
struct dns_query {
  char type[2];         /* DNSQ_A etc. */
  int status;
  int nxdomain;
  stralloc name;        /* as queried, \0-terminated */
  stralloc rr;
  unsigned int n;
  long long deadline;
  void *priv;
};
/* 1 set, 0 not a usable host name (status DNS_NONE), -1 out of memory */
int dns_query_set(struct dns_query *q, const char *name, size_t len, const char type[2]);
/* seconds 0: each query keeps the deadline set in q->deadline (io time,
   e.g. that of an earlier round, so that a chain of lookups shares one) */
void dns_start(struct session *s, struct dns_query *q, unsigned int n, unsigned int seconds);
void dns_wait(struct session *s, struct dns_query *q, unsigned int n);
void dns_run(struct session *s, struct dns_query *q, unsigned int n, unsigned int seconds);
void dns_query_free(struct dns_query *q);
/* starts a lookup that a plugin will make later in this session (from a
   mail_lookahead hook): when it does (dns_start of a query with the same
   type and name), the query takes over this one, in flight or answered;
   an answer that was a temporary failure is asked again. At most 16 wait
   at once, and those of an earlier MAIL are dropped; 1 started or already
   waiting, 0 not */
int dns_lookahead(struct session *s, const char *name, size_t len, const char type[2], unsigned int seconds);
/* letters, digits, '-', '_', labels of 1-63 octets, at most 253 in all */
int dns_name_ok(const char *name, size_t len);
/* "4.3.2.1" for 1.2.3.4, reversed nibbles for IPv6; 1 ok, 0 not an
   address, -1 out of memory */
int dns_reverse_ip(stralloc *out, const char *ip);

#endif
