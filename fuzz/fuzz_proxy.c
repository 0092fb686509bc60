/* The PROXY protocol header parser over hostile bytes, fed whole and then
   in every prefix: a verdict on a prefix never contradicts the whole (a
   header that parses whole is "more" or the same header on each prefix
   long enough), OK takes at most what was given and a version 1 header
   is a CRLF-ended line of printable ASCII of at most 107 bytes, "more"
   always asks for more than was given, and a v1 header printed back from
   its fields parses to the same fields. Also ipnet_fmt6: any 16 bytes
   print as text that scans back to the same address. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fmt.h>
#include <ip4.h>
#include <ip6.h>
#include "../ipnet.h"
#include "../proxy_parse.h"

static void print_ip(char *b, const char ip[16], int v4) /* ours: libowfat's fmt_ip6 drops groups */
{
  if (v4) b[fmt_ip4(b, ip + 12)] = 0;
  else b[ipnet_fmt6(b, ip)] = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct proxy_hdr h, p;
  size_t need, i, pneed;
  const char *x = (const char *)data;
  int r = proxy_parse(x, size, &h, &need);

  /* ipnet_fmt6: any 16 bytes print as text that scans back to them */
  if (size >= 16) {
    char t[IPNET_FMT6 + 1], back[16];
    size_t l = ipnet_fmt6(t, x);
    if (l >= sizeof t) abort();
    t[l] = 0;
    if (scan_ip6(t, back) != l || memcmp(back, x, 16)) abort();
  }

  if (r == PROXY_MORE && need <= size) abort();
  if (r == PROXY_OK) {
    if (h.len > size || !h.len) abort();
    if (h.version == 1) {
      if (h.len > PROXY_V1_MAX || x[h.len - 2] != '\r' || x[h.len - 1] != '\n') abort();
      for (i = 0; i + 2 < h.len; ++i) if ((unsigned char)x[i] < 32 || (unsigned char)x[i] > 126) abort();
    } else if (h.version != 2 || h.len > PROXY_V2_MAX) abort();
    /* every shorter prefix is "more", never bad or a different header */
    for (i = 0; i < h.len; ++i) {
      int pr = proxy_parse(x, i, &p, &pneed);
      if (pr == PROXY_BAD) abort();
      if (pr == PROXY_OK) abort();
    }
    /* a prefix with the whole header and more: the same header */
    if (proxy_parse(x, h.len, &p, &pneed) != PROXY_OK || p.len != h.len || memcmp(p.src, h.src, 16)) abort();
    if (h.version == 1 && !h.local) {
      char line[200], a[64], b[64];
      int n;
      print_ip(a, h.src, h.v4);
      print_ip(b, h.dst, h.v4);
      n = snprintf(line, sizeof line, "PROXY TCP%c %s %s %u %u\r\n", h.v4 ? '4' : '6', a, b, h.sport, h.dport);
      if (n <= 0 || (size_t)n >= sizeof line) abort();
      if (proxy_parse(line, (size_t)n, &p, &pneed) != PROXY_OK || memcmp(p.src, h.src, 16)
          || memcmp(p.dst, h.dst, 16) || p.sport != h.sport || p.dport != h.dport)
        abort();
    }
    if (h.sport > 65535 || h.dport > 65535) abort();
  }
  return 0;
}
