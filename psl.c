/* Public suffixes from the compiled-in list (psl-data.c, made by make-psl):
   publicsuffix.org's algorithm over a name's labels from the right, one
   table lookup per label, stopping at the first suffix that no rule
   mentions, so a name of 127 labels costs no more than its suffix. */
#include "psl.h"

unsigned int psl_flags(const char *name, size_t len)
{
  unsigned int i = psl_hash(name, len) & (PSL_SLOTS - 1), n;
  for (n = 0; n < PSL_SLOTS; n++) {
    unsigned int off = psl_slot[i];
    const char *e;
    size_t j = 0;
    if (!off) return 0;
    e = psl_names + off + 1;
    while (j < len && e[j] && e[j] == name[j]) j++;
    if (j == len && !e[j]) return (unsigned char)e[-1];
    i = (i + 1) & (PSL_SLOTS - 1);
  }
  return 0;
}

/* The prevailing rule is an exception when one matches (its suffix is the
   rule less its first label), else the matching rule with the most labels,
   else "*"; "*.x" matches one label more than x. */
unsigned int psl_suffix_labels(const char *name, size_t len)
{
  unsigned int k = 0, ps = 0, f, prev = 0;
  size_t start = len;
  while (start > 0) {
    size_t p = start - 1;
    while (p > 0 && name[p - 1] != '.') p--;
    k++;
    f = psl_flags(name + p, len - p);
    if (prev & PSL_WILDCARD) ps = k;
    if (f & PSL_RULE) ps = k;
    if (f & PSL_EXCEPTION) { ps = k - 1; break; }
    if (!(f & (PSL_INNER | PSL_WILDCARD))) break;
    prev = f;
    if (p == 0) break;
    start = p - 1;
  }
  return ps ? ps : 1;
}
