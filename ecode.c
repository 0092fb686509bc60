#include "ecode.h"

size_t ecode_scan(const char *x, size_t len)
{
  size_t i, n;
  int part;
  if (len < 5 || (x[0] != '2' && x[0] != '4' && x[0] != '5') || x[1] != '.') return 0;
  i = 2;
  for (part = 0; part < 2; ++part) {
    for (n = 0; i < len && x[i] >= '0' && x[i] <= '9'; ++i) ++n;
    if (n < 1 || n > 3) return 0;
    if (part == 0) { if (i >= len || x[i] != '.') return 0; ++i; }
  }
  return i;
}
