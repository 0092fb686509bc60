/* The control-file regex: any pattern compiles or fails cleanly, matching
   any subject stays linear, and a pattern made of a subject's bytes (each
   escaped as \xHH) always finds that subject in a longer string. Input:
   pattern, a 0xff byte, subject. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../regex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const uint8_t *sep = memchr(data, 0xff, size);
  size_t plen = sep ? (size_t)(sep - data) : size;
  const char *subj = sep ? (const char *)sep + 1 : "";
  size_t slen = sep ? size - plen - 1 : 0;
  char *pat = malloc(plen + 1), *lit;
  struct re re;
  const char *err;
  size_t i;

  if (!pat) return 0;
  memcpy(pat, data, plen);
  pat[plen] = 0;
  if (re_compile(&re, pat, data[0] & 1 ? RE_ICASE : 0, &err)) {
    (void)re_match(&re, subj, slen);
    re_free(&re);
  }
  free(pat);

  if (slen > 200) return 0;             /* the literal pattern's size bound */
  lit = malloc(slen * 4 + 1);
  if (!lit) return 0;
  for (i = 0; i < slen; ++i) {
    static const char hex[] = "0123456789abcdef";
    lit[4 * i] = '\\';
    lit[4 * i + 1] = 'x';
    lit[4 * i + 2] = hex[(unsigned char)subj[i] >> 4];
    lit[4 * i + 3] = hex[(unsigned char)subj[i] & 15];
  }
  lit[4 * slen] = 0;
  if (!re_compile(&re, lit, 0, &err)) abort();
  {
    char *hay = malloc(slen + 4);
    if (!hay) abort();
    memcpy(hay, "ab", 2);
    memcpy(hay + 2, subj, slen);
    memcpy(hay + 2 + slen, "cd", 2);
    if (!re_match(&re, hay, slen + 4)) abort();
    free(hay);
  }
  re_free(&re);
  free(lit);
  return 0;
}
