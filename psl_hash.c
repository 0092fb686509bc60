/* The hash of psl.c's table, shared with make-psl, which builds it. */
#include "psl.h"

unsigned int psl_hash(const char *s, size_t len)
{
  unsigned int h = 2166136261u;
  size_t i;
  for (i = 0; i < len; i++) { h ^= (unsigned char)s[i]; h *= 16777619u; }
  return h;
}
