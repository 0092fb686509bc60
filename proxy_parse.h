/* The PROXY protocol header, versions 1 and 2 (HAProxy's proxy-protocol
   specification), as a pure parser over bytes (proxy_parse.c). */
#ifndef PROXY_PARSE_H
#define PROXY_PARSE_H

#include <stddef.h>

#define PROXY_MORE 0            /* a header so far: *need bytes in all are needed */
#define PROXY_OK   1
#define PROXY_BAD  (-1)

#define PROXY_V1_MAX 107        /* the specification's bound, CRLF included */
#define PROXY_V2_MAX (16 + 512) /* ours: addresses and up to 476 bytes of TLVs */

struct proxy_hdr {
  int version;                  /* 1 or 2 */
  int local;                    /* v1 UNKNOWN, v2 LOCAL or UNSPEC: the
                                   connection's own addresses stand */
  char src[16], dst[16];        /* IPv4 as IPv4-mapped IPv6 */
  int v4;
  unsigned int sport, dport;
  size_t len;                   /* the bytes the header took */
};

/* x[0..n) is what the proxy sent so far. PROXY_OK with h filled;
   PROXY_MORE with *need > n; PROXY_BAD for anything else (a header of
   neither version, a malformed one, TCP6 addresses under TCP4, a v2
   longer than PROXY_V2_MAX, UDP or UNIX families). */
int proxy_parse(const char *x, size_t n, struct proxy_hdr *h, size_t *need);

#endif
