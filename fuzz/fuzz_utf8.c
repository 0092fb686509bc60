/* utf8_valid against a reference written another way: decode each
   sequence by its lead byte's length, then encode the code point again;
   the input is valid exactly when every sequence decodes to a scalar value
   (no surrogate, at most U+10FFFF) outside U+0080-U+009F and encodes back
   to the same bytes (so no overlong form). And addr_parse with ADDR_UTF8:
   on ASCII input it says what it says without it; what it accepts is
   valid UTF-8 with no control byte, parses again to itself, and without
   ADDR_UTF8 an 8-bit path is never accepted. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../addr.h"
#include "../utf8.h"

static size_t enc(uint32_t cp, unsigned char *o)
{
  if (cp < 0x80) { o[0] = (unsigned char)cp; return 1; }
  if (cp < 0x800) { o[0] = (unsigned char)(0xc0 | cp >> 6); o[1] = (unsigned char)(0x80 | (cp & 0x3f)); return 2; }
  if (cp < 0x10000) {
    o[0] = (unsigned char)(0xe0 | cp >> 12); o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
    o[2] = (unsigned char)(0x80 | (cp & 0x3f)); return 3;
  }
  o[0] = (unsigned char)(0xf0 | cp >> 18); o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
  o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f)); o[3] = (unsigned char)(0x80 | (cp & 0x3f));
  return 4;
}

static int ref_valid(const unsigned char *p, size_t len)
{
  size_t i = 0;
  while (i < len) {
    unsigned char b = p[i], o[4];
    size_t n, k;
    uint32_t cp;
    if (b < 0x80) { ++i; continue; }
    if ((b & 0xe0) == 0xc0) n = 2;
    else if ((b & 0xf0) == 0xe0) n = 3;
    else if ((b & 0xf8) == 0xf0) n = 4;
    else return 0;
    if (len - i < n) return 0;
    cp = b & (0x7f >> n);
    for (k = 1; k < n; ++k) {
      if ((p[i + k] & 0xc0) != 0x80) return 0;
      cp = cp << 6 | (p[i + k] & 0x3f);
    }
    if (cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000) || (cp >= 0x80 && cp < 0xa0)) return 0;
    if (enc(cp, o) != n || memcmp(o, p + i, n)) return 0;
    i += n;
  }
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  stralloc a = {0}, b = {0}, w = {0};
  const char *x = (const char *)data;
  size_t i;
  int eight = 0, inside = 0, flags;
  if (utf8_valid(x, size) != ref_valid(data, size)) abort();
  for (i = 0; i < size; ++i) if (data[i] >= 0x80) eight = 1;
  for (i = 1; i + 1 < size; ++i) if (data[i] >= 0x80) inside = 1;
  for (flags = 0; flags <= ADDR_RCPT; ++flags) {
    int ru = addr_parse(x, size, flags | ADDR_UTF8, &a);
    int ra = addr_parse(x, size, flags, &b);
    if (!eight && (ru == ADDR_OK) != (ra == ADDR_OK)) abort();
    if (!eight && ru == ADDR_OK && (a.len != b.len || memcmp(a.s, b.s, a.len))) abort();
    if (eight && ra == ADDR_OK) abort();
    /* 8-bit bytes inside the brackets: never a plain syntax error */
    if (inside && ra != ADDR_TOOLONG && ra != (ref_valid(data + 1, size - 2) ? ADDR_NEED_UTF8 : ADDR_BAD_UTF8)) abort();
    if (!inside && (ra == ADDR_NEED_UTF8 || ra == ADDR_BAD_UTF8)) abort();
    if (ru != ADDR_OK) continue;
    if (a.len > size || !utf8_valid(a.s, a.len - 1)) abort();
    for (i = 0; i + 1 < a.len; ++i)
      if ((unsigned char)a.s[i] < 32 || a.s[i] == 127) abort();
    if (a.len > 1) {
      if (!stralloc_copys(&w, "<") || !stralloc_catb(&w, a.s, a.len - 1) || !stralloc_cats(&w, ">")) abort();
      if (addr_parse(w.s, w.len, flags | ADDR_UTF8, &b) != ADDR_OK) abort();
      if (b.len != a.len || memcmp(a.s, b.s, a.len)) abort();
    }
  }
  stralloc_free(&a);
  stralloc_free(&b);
  stralloc_free(&w);
  return 0;
}
