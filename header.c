#include <string.h>
#include "header.h"

int header_unfold(const char *x, size_t len, size_t j, size_t end, stralloc *sa, size_t *next)
{
  size_t i;
  for (;;) {
    const char *e;
    while (j < end && (x[j] == ' ' || x[j] == '\t') && !sa->len) ++j;
    if (!stralloc_catb(sa, x + j, end - j)) return 0;
    i = end + 1;
    if (i >= len || (x[i] != ' ' && x[i] != '\t')) break;
    e = memchr(x + i, '\n', len - i);
    end = e ? (size_t)(e - x) : len;
    j = i;
  }
  *next = i;
  return 1;
}
