/* Addresses of the daemons plugins talk to (spamd, clamd, redis) in Perl
   qpsmtpd's forms: besides netio's "/path", "IPv4:port" and
   "[IPv6]:port", a host name with a port ("spamd.example:783"), looked up
   through the resolver (dns_query: $DNSCACHEIP, never the system's), and
   an address without its port, which gets a default. */
#ifndef HOSTPORT_H
#define HOSTPORT_H

#include "plugin.h"

/* 1 when spec is a netio address or NAME:port */
int hostport_ok(const char *spec);
/* spec as a netio address, with port added when spec is an IP address
   alone ("127.0.0.1", "::1"); "localhost" is 127.0.0.1; NULL when spec
   is none of these (or out of memory). The result is spec itself or
   allocated for good. */
const char *hostport_default(const char *spec, unsigned int port);
/* connects before the deadline (monotonic ms); a NAME:port is looked up
   first (A, then AAAA; "localhost" is 127.0.0.1 without a lookup, RFC
   6761) and each address tried in turn. The fd is non-blocking; -1 with
   errno (ENOENT: the name has no address). */
int hostport_connect(struct session *s, const char *spec, long long deadline);

#endif
