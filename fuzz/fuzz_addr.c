/* The path and ESMTP parameter parsers: never read out of bounds, and a
   parsed address holds no byte that could break a header, an envelope
   record or a log line (CR, LF, NUL), parses again to itself
   inside brackets, and is no longer than its input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  stralloc out = {0}, again = {0}, params = {0};
  const char *x = (const char *)data;
  long pl = addr_pathlen(x, size);
  int rcpt;
  for (rcpt = 0; rcpt < 2; ++rcpt) {
    if (addr_parse(x, size, rcpt, &out) == ADDR_OK) {
      size_t i, len = out.len - 1;          /* without the \0 */
      if (len > size) abort();
      for (i = 0; i < len; ++i)
        if (out.s[i] == '\r' || out.s[i] == '\n' || out.s[i] == 0) abort();
      if (len) {
        stralloc w = {0};
        if (!stralloc_copys(&w, "<") || !stralloc_catb(&w, out.s, len) || !stralloc_cats(&w, ">")) abort();
        if (addr_parse(w.s, w.len, rcpt, &again) != ADDR_OK) abort();
        if (again.len != out.len || memcmp(again.s, out.s, out.len)) abort();
        stralloc_free(&w);
      }
    }
  }
  if (pl > (long)size) abort();
  if (addr_params(x, size, &params) == 0) {
    size_t i;
    for (i = 0; i < params.len; ++i)
      if (params.s[i] == '\r' || params.s[i] == '\n') abort();
  }
  stralloc_free(&out);
  stralloc_free(&again);
  stralloc_free(&params);
  return 0;
}
