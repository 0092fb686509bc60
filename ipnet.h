/* IP networks (ipnet.c, leaf): "192.0.2.0/24", "2001:db8::/32" or a bare
   address, IPv4 kept as IPv4-mapped IPv6 with 96 added to its prefix. */
#ifndef IPNET_H
#define IPNET_H

#include <stddef.h>

/* x[0..n): 1 with net and bits (0..128) set, 0 when it is not a network */
int ipnet_parse(const char *x, size_t n, char net[16], unsigned int *bits);
/* is ip (16 bytes) in net/bits? */
int ipnet_match(const char ip[16], const char net[16], unsigned int bits);
/* an address, all of text: IPv4 (as IPv4-mapped) or IPv6; 1 ok */
int ipnet_scan(const char *text, size_t len, char ip[16]);
/* is ip in one of the networks in nets[0..len), 17 bytes each: the
   network, then its prefix length (control_readnets) */
int ipnet_listed(const char *nets, size_t len, const char ip[16]);

/* ip as text in RFC 5952's form (lower case, the longest run of two or
   more zero groups as "::", IPv4-mapped as ::ffff:a.b.c.d) into buf, at
   least IPNET_FMT6 bytes; the length, without a \0. libowfat's fmt_ip6
   drops groups after a compressed run that ends in a zero group
   (2001:db8::7b:0 came out as "2001:db8::"). */
#define IPNET_FMT6 46
size_t ipnet_fmt6(char *buf, const char ip[16]);

#endif
