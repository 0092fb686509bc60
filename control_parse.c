/* the bytes of one control file into its values; see control.h */
#include <limits.h>
#include <string.h>
#include <scan.h>
#include "control_parse.h"

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

int control_parse(const char *x, size_t len, stralloc *out, stralloc *lines, unsigned int file,
                  int (*include)(void *ctx, const char *arg, unsigned int line), void *ctx)
{
  size_t i = 0;
  unsigned int n = 0;           /* the line number; saturates rather than wraps */
  while (i < len) {
    size_t b = i, e;
    const char *nl = memchr(x + i, '\n', len - i);
    size_t end = nl ? (size_t)(nl - x) : len;
    i = end + 1;
    e = end;
    if (n < UINT_MAX) ++n;
    while (b < e && is_space(x[b])) ++b;
    while (e > b && is_space(x[e - 1])) --e;
    if (b == e || x[b] == '#') continue;
    if (memchr(x + b, 0, e - b)) return CONTROL_PARSE_NUL;
    if (e - b > 9 && !memcmp(x + b, "$include", 8) && is_space(x[b + 8])) {
      stralloc arg = {0};
      size_t a = b + 8;
      int r;
      while (a < e && is_space(x[a])) ++a;
      if (!stralloc_copyb(&arg, x + a, e - a) || !stralloc_0(&arg)) {
        stralloc_free(&arg);
        return CONTROL_PARSE_NOMEM;
      }
      r = include(ctx, arg.s, n);
      stralloc_free(&arg);
      if (r) return r;
      continue;
    }
    if (lines) {
      struct control_line l = { out->len, file, n };
      if (!stralloc_catb(lines, (const char *)&l, sizeof l)) return CONTROL_PARSE_NOMEM;
    }
    if (!stralloc_catb(out, x + b, e - b) || !stralloc_0(out)) return CONTROL_PARSE_NOMEM;
  }
  return 0;
}

int control_scanulong(const char *line, unsigned long max, unsigned long *u)
{
  unsigned long v;
  size_t n = scan_ulong(line, &v);
  if (!n || line[n] || n > 19 || v > max) return 0;
  *u = v;
  return 1;
}
