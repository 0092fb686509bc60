/* IP networks (ipnet.h). */
#include <string.h>
#include <byte.h>
#include <fmt.h>
#include <ip4.h>
#include <ip6.h>
#include <scan.h>
#include "ipnet.h"

int ipnet_parse(const char *x, size_t n, char net[16], unsigned int *bits)
{
  char tok[64];
  size_t slash = 0, l;
  unsigned long b;
  int v4;
  while (slash < n && x[slash] != '/') ++slash;
  if (!slash || slash >= sizeof tok) return 0;
  memcpy(tok, x, slash);
  tok[slash] = 0;
  v4 = !memchr(tok, ':', slash);
  if (v4) {
    size_t i, dots = 0;
    for (i = 0; i < slash; ++i) {
      if (tok[i] == '.') ++dots;
      else if (tok[i] < '0' || tok[i] > '9') return 0;
    }
    if (dots != 3 || scan_ip4(tok, net + 12) != slash) return 0;
    byte_copy(net, 12, V4mappedprefix);
  } else if (scan_ip6(tok, net) != slash) return 0;
  *bits = 128;
  if (slash < n) {
    l = n - slash - 1;
    if (!l || l > 3 || scan_ulong(x + slash + 1, &b) != l || b > (v4 ? 32UL : 128UL)) return 0;
    *bits = (unsigned int)b + (v4 ? 96 : 0);
  }
  return 1;
}

int ipnet_scan(const char *text, size_t len, char ip[16])
{
  if (len && !memchr(text, ':', len)) {
    if (scan_ip4(text, ip + 12) != len) return 0;
    byte_copy(ip, 12, V4mappedprefix);
    return 1;
  }
  return len && scan_ip6(text, ip) == len;
}

int ipnet_listed(const char *nets, size_t len, const char ip[16])
{
  size_t i;
  for (i = 0; i + 17 <= len; i += 17)
    if (ipnet_match(ip, nets + i, (unsigned char)nets[i + 16])) return 1;
  return 0;
}

int ipnet_match(const char ip[16], const char net[16], unsigned int bits)
{
  unsigned int full = bits / 8, rest = bits % 8;
  if (bits > 128) return 0;
  if (full && byte_diff(ip, full, net)) return 0;
  if (rest) {
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    if ((((unsigned char)ip[full]) & mask) != (((unsigned char)net[full]) & mask)) return 0;
  }
  return 1;
}

size_t ipnet_fmt6(char *buf, const char ip[16])
{
  static const char hex[] = "0123456789abcdef";
  unsigned int g[8], i;
  int best = -1, bestlen = 1, run = -1, runlen = 0;
  size_t n = 0;
  if (ip6_isv4mapped(ip)) {
    memcpy(buf, "::ffff:", 7);
    return 7 + fmt_ip4(buf + 7, ip + 12);
  }
  for (i = 0; i < 8; ++i) {
    g[i] = (unsigned int)(unsigned char)ip[2 * i] << 8 | (unsigned char)ip[2 * i + 1];
    if (!g[i]) {
      if (run < 0) { run = (int)i; runlen = 0; }
      if (++runlen > bestlen) { best = run; bestlen = runlen; }
    } else run = -1;
  }
  for (i = 0; i < 8; ++i) {
    if (best >= 0 && (int)i == best) {
      buf[n++] = ':';
      if (i == 0) buf[n++] = ':';
      i += (unsigned int)bestlen - 1;
      continue;
    }
    {
      int shift, started = 0;
      for (shift = 12; shift >= 0; shift -= 4) {
        unsigned int d = (g[i] >> shift) & 15;
        if (d || started || !shift) { buf[n++] = hex[d]; started = 1; }
      }
    }
    if (i < 7) buf[n++] = ':';
  }
  return n;
}
