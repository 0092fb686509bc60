/* The PROXY protocol header (proxy_parse.h). Version 1 is one line of at
   most 107 bytes, "PROXY TCP4|TCP6 src dst sport dport\r\n" with single
   spaces, or "PROXY UNKNOWN ...\r\n"; version 2 is a 12-byte signature,
   a version/command byte, a family byte, a 16-bit length and the
   addresses, then TLVs we skip. */
#include <string.h>
#include <byte.h>
#include <ip4.h>
#include <ip6.h>
#include <scan.h>
#include "proxy_parse.h"

static const char v2sig[12] = { '\r', '\n', '\r', '\n', 0, '\r', '\n', 'Q', 'U', 'I', 'T', '\n' };

/* a decimal port: 1 to 5 digits, no leading zero, at most 65535 */
static size_t port(const char *x, size_t n, unsigned int *p)
{
  size_t i = 0;
  unsigned long v = 0;
  while (i < n && i < 6 && x[i] >= '0' && x[i] <= '9') v = v * 10 + (unsigned long)(x[i++] - '0');
  if (!i || i > 5 || (i > 1 && x[0] == '0') || v > 65535) return 0;
  *p = (unsigned int)v;
  return i;
}

/* an address of the family, followed by sep */
static size_t addr(const char *x, size_t n, int v4, char ip[16], char sep)
{
  char tok[46];
  size_t l = 0, i, dots = 0;
  while (l < n && x[l] != sep) ++l;
  if (l == n || !l || l >= sizeof tok) return 0;
  memcpy(tok, x, l);
  tok[l] = 0;
  if (v4) {
    for (i = 0; i < l; ++i) {
      if (tok[i] == '.') ++dots;
      else if (tok[i] < '0' || tok[i] > '9') return 0;
    }
    if (dots != 3 || scan_ip4(tok, ip + 12) != l) return 0;
    byte_copy(ip, 12, V4mappedprefix);
    return l;
  }
  /* libowfat's scan_ip6 takes a group of more than four digits, and a
     bare IPv4 address: both checked here */
  if (!memchr(tok, ':', l)) return 0;
  {
    size_t run = 0;
    for (i = 0; i < l; ++i) {
      if ((tok[i] >= '0' && tok[i] <= '9') || (tok[i] >= 'a' && tok[i] <= 'f') || (tok[i] >= 'A' && tok[i] <= 'F')) {
        if (++run > 4) return 0;
      } else if (tok[i] == ':' || tok[i] == '.') run = 0;
      else return 0;
    }
  }
  if (scan_ip6(tok, ip) != l) return 0;
  return l;
}

static int v1(const char *x, size_t n, struct proxy_hdr *h, size_t *need)
{
  size_t lim = n < PROXY_V1_MAX ? n : PROXY_V1_MAX, end, i, l;
  for (end = 0; end + 1 < lim; ++end) if (x[end] == '\r' && x[end + 1] == '\n') break;
  if (end + 1 >= lim) {
    if (n >= PROXY_V1_MAX) return PROXY_BAD;
    for (i = 0; i < n; ++i) if (x[i] == '\n' || !x[i]) return PROXY_BAD;   /* a line end without CR */
    *need = n + 1;
    return PROXY_MORE;
  }
  h->version = 1;
  h->len = end + 2;
  for (i = 0; i < end; ++i) if ((unsigned char)x[i] < 32 || (unsigned char)x[i] > 126) return PROXY_BAD;
  if (end >= 13 && !memcmp(x, "PROXY UNKNOWN", 13) && (end == 13 || x[13] == ' ')) {
    h->local = 1;
    return PROXY_OK;
  }
  if (end < 11 || memcmp(x, "PROXY TCP", 9) || (x[9] != '4' && x[9] != '6') || x[10] != ' ') return PROXY_BAD;
  h->v4 = x[9] == '4';
  i = 11;
  if (!(l = addr(x + i, end - i, h->v4, h->src, ' '))) return PROXY_BAD;
  i += l + 1;
  if (!(l = addr(x + i, end - i, h->v4, h->dst, ' '))) return PROXY_BAD;
  i += l + 1;
  if (!(l = port(x + i, end - i, &h->sport)) || i + l >= end || x[i + l] != ' ') return PROXY_BAD;
  i += l + 1;
  if (!(l = port(x + i, end - i, &h->dport)) || i + l != end) return PROXY_BAD;
  /* an IPv6 field that holds an IPv4-mapped address is still TCP6 */
  return PROXY_OK;
}

static int v2(const unsigned char *u, size_t n, struct proxy_hdr *h, size_t *need)
{
  size_t len;
  if (n < 16) { *need = 16; return PROXY_MORE; }
  if ((u[12] >> 4) != 2) return PROXY_BAD;
  len = (size_t)u[14] << 8 | u[15];
  if (16 + len > PROXY_V2_MAX) return PROXY_BAD;
  if (n < 16 + len) { *need = 16 + len; return PROXY_MORE; }
  h->version = 2;
  h->len = 16 + len;
  switch (u[12] & 15) {
  case 0:                         /* LOCAL: the proxy's own connection (health checks) */
    h->local = 1;
    return PROXY_OK;
  case 1:
    break;
  default:
    return PROXY_BAD;
  }
  switch (u[13]) {
  case 0x00:                      /* UNSPEC */
    h->local = 1;
    return PROXY_OK;
  case 0x11:                      /* TCP over IPv4 */
    if (len < 12) return PROXY_BAD;
    h->v4 = 1;
    byte_copy(h->src, 12, V4mappedprefix);
    byte_copy(h->dst, 12, V4mappedprefix);
    byte_copy(h->src + 12, 4, u + 16);
    byte_copy(h->dst + 12, 4, u + 20);
    h->sport = (unsigned int)u[24] << 8 | u[25];
    h->dport = (unsigned int)u[26] << 8 | u[27];
    return PROXY_OK;
  case 0x21:                      /* TCP over IPv6 */
    if (len < 36) return PROXY_BAD;
    byte_copy(h->src, 16, u + 16);
    byte_copy(h->dst, 16, u + 32);
    h->sport = (unsigned int)u[48] << 8 | u[49];
    h->dport = (unsigned int)u[50] << 8 | u[51];
    return PROXY_OK;
  default:                        /* UDP, UNIX: not an SMTP client */
    return PROXY_BAD;
  }
}

int proxy_parse(const char *x, size_t n, struct proxy_hdr *h, size_t *need)
{
  size_t k = n < 12 ? n : 12;
  memset(h, 0, sizeof *h);
  *need = 0;
  if (!n) { *need = 1; return PROXY_MORE; }
  if (x[0] == '\r') {
    if (memcmp(x, v2sig, k)) return PROXY_BAD;
    if (n < 12) { *need = 16; return PROXY_MORE; }
    return v2((const unsigned char *)x, n, h, need);
  }
  k = n < 6 ? n : 6;
  if (memcmp(x, "PROXY ", k)) return PROXY_BAD;
  if (n < 6) { *need = n + 1; return PROXY_MORE; }
  return v1(x, n, h, need);
}
