/* UTF-8 as RFC 6531 and RFC 6532 let it into addresses. Pure function. */
#include "utf8.h"

int utf8_valid(const char *x, size_t len)
{
  const unsigned char *p = (const unsigned char *)x;
  size_t i = 0;
  while (i < len) {
    unsigned c = p[i], cp, n, k;
    if (c < 0x80) { ++i; continue; }
    if (c >= 0xc2 && c <= 0xdf) { n = 1; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { n = 2; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { n = 3; cp = c & 0x07; }
    else return 0;              /* a continuation byte, C0/C1 (overlong) or F5-FF */
    if (len - i <= n) return 0;
    for (k = 1; k <= n; ++k) {
      if ((p[i + k] & 0xc0) != 0x80) return 0;
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    /* the shortest form only, no surrogate, no C1 control */
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff))) return 0;
    if (cp >= 0xd800 && cp <= 0xdfff) return 0;
    if (cp < 0xa0) return 0;
    i += n + 1;
  }
  return 1;
}
