/* control_parse against a reference: the values are the LF-separated
   lines with " \t\r\v\f" trimmed at both ends, blank and # lines
   dropped, each \0-terminated, none holding NUL, LF or edge white space;
   a NUL in a kept line stops the parse with CONTROL_PARSE_NUL; a line
   "$include" + white space + ARG calls the include function with ARG
   (here it appends a value "\nARG", which no real value can be, or stops
   the parse with 7 when ARG begins with "!"), in order. The values before
   a stop are kept. control_scanulong, on the first value as
   control_readulong uses it and on the raw input, accepts exactly 1 to 19
   digits of a value at most max, and gives strtoul's value. The first
   byte of the input picks max. */
#define _GNU_SOURCE
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../control_parse.h"

static const unsigned long maxes[8] = {
  0, 1, 7, 86400, 1UL << 30, ULONG_MAX >> 1, ULONG_MAX, 9999999999999999999UL
};

static int ws(uint8_t c)
{
  switch (c) {
  case ' ': case '\t': case '\r': case '\v': case '\f': return 1;
  default: return 0;
  }
}

struct buf { uint8_t *s; size_t len; };

static void put(struct buf *b, const void *x, size_t n)
{
  memcpy(b->s + b->len, x, n);
  b->len += n;
}

/* out has room for n + 2 bytes per line: never more than 2n + 2 */
static int ref_parse(const uint8_t *x, size_t n, struct buf *out)
{
  size_t start = 0;
  while (start < n) {
    size_t stop = start, a, z, k;
    while (stop < n && x[stop] != '\n') ++stop;
    a = start;
    z = stop;
    start = stop + 1;
    while (a < z && ws(x[a])) ++a;
    while (z > a && ws(x[z - 1])) --z;
    if (a == z || x[a] == '#') continue;
    for (k = a; k < z; ++k)
      if (!x[k]) return CONTROL_PARSE_NUL;
    if (z - a > 8 && !memcmp(x + a, "$include", 8) && ws(x[a + 8])) {
      size_t p = a + 8;
      while (ws(x[p])) ++p;                    /* the line ends in a non-blank */
      if (x[p] == '!') return 7;
      put(out, "\n", 1);
      put(out, x + p, z - p);
      put(out, "", 1);
      continue;
    }
    put(out, x + a, z - a);
    put(out, "", 1);
  }
  return 0;
}

static int include(void *ctx, const char *arg, unsigned int line)
{
  (void)line;
  stralloc *out = ctx;
  if (!*arg) abort();                          /* never an empty argument */
  if (strchr(arg, '\n')) abort();
  if (arg[0] == '!') return 7;
  if (!stralloc_cats(out, "\n") || !stralloc_cats(out, arg) || !stralloc_0(out)) abort();
  return 0;
}

/* 1 to 19 digits and nothing else, at most max */
static int ref_ulong(const char *x, size_t n, unsigned long max, unsigned long *v)
{
  size_t i;
  if (n < 1 || n > 19) return 0;
  for (i = 0; i < n; ++i)
    if (x[i] < '0' || x[i] > '9') return 0;
  *v = strtoul(x, NULL, 10);
  return *v <= max;
}

static void check_ulong(const char *x, size_t n, unsigned long max)
{
  unsigned long got = 12345, want = 0;
  int r = control_scanulong(x, max, &got);
  int w = ref_ulong(x, n, max, &want);
  if (r != w) abort();
  if (r && got != want) abort();
  if (!r && got != 12345) abort();             /* untouched on error */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  stralloc out = {0}, lines = {0};
  struct buf want;
  const uint8_t *x = data + 1;
  size_t n = size ? size - 1 : 0, i;
  unsigned long max = size ? maxes[data[0] & 7] : 0;
  int r, w;

  if (!size) return 0;
  want.s = malloc(2 * n + 2);
  want.len = 0;
  if (!want.s) return 0;
  r = control_parse((const char *)x, n, &out, &lines, 5, include, &out);
  w = ref_parse(x, n, &want);
  if (r != w) abort();
  if (out.len != want.len || (out.len && memcmp(out.s, want.s, out.len))) abort();

  /* one line record per plain value: its offset, file 5, the value's
     line (1 + the LFs before it), rising */
  {
    size_t k = 0, prev = 0;
    for (i = 0; i < out.len; i += strlen(out.s + i) + 1) {
      struct control_line l;
      const char *v = out.s + i;
      size_t j, nl = 1;
      if (v[0] == '\n') continue;             /* an include's mark */
      if ((k + 1) * sizeof l > lines.len) abort();
      memcpy(&l, lines.s + k * sizeof l, sizeof l);
      ++k;
      if (l.file != 5 || l.line <= prev || l.off != i) abort();
      prev = l.line;
      for (j = 0; j < n && nl < l.line; ++j)
        if (x[j] == '\n') ++nl;
      /* the value is on that line */
      {
        const uint8_t *e = memchr(x + j, '\n', n - j);
        size_t ll = e ? (size_t)(e - (x + j)) : n - j;
        if (nl != l.line || !memmem(x + j, ll, v, strlen(v))) abort();
      }
    }
    if (k * sizeof(struct control_line) != lines.len) abort();
  }

  /* each value: non-empty, \0-terminated, no NUL, no LF but an include's
     mark, no white space at its ends, no leading # (an include's ARG may
     have one: "$include #x" names the file #x) */
  for (i = 0; i < out.len; ) {
    const char *v = out.s + i;
    size_t l = strnlen(v, out.len - i);
    int mark = l && v[0] == '\n';
    if (l == out.len - i || !l) abort();
    if (mark) { ++v; --l; }
    if (!l || memchr(v, '\n', l) || ws((uint8_t)v[0]) || ws((uint8_t)v[l - 1]) || (!mark && v[0] == '#')) abort();
    i += (size_t)(v - (out.s + i)) + l + 1;
  }

  /* control_readulong: the first value, or "" when there is none */
  if (r == 0) {
    const char *first = out.len ? out.s : "";
    check_ulong(first, strlen(first), max);
  }
  {
    char *z = malloc(n + 1);                   /* the input as a string */
    if (z) {
      if (n) memcpy(z, x, n);
      z[n] = 0;
      check_ulong(z, strlen(z), max);
      free(z);
    }
  }
  free(want.s);
  stralloc_free(&out);
  stralloc_free(&lines);
  return 0;
}
