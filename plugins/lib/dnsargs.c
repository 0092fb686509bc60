#include <stdlib.h>
#include <str.h>
#include <scan.h>
#include "dnsargs.h"

int dnsargs_parse(struct dnsargs *d, int argc, const char *const *argv, int allowed, stralloc *err)
{
  int i;
  for (i = 0; i < argc; i += 2) {
    const char *k = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    int r = reject_arg(&d->r, k, v, err);
    if (r < 0) return 0;
    if (r) continue;
    if (!v) {
      stralloc_copys(err, k);
      stralloc_cats(err, " needs a value");
      return 0;
    }
    if (str_equal(k, "timeout")) {
      unsigned long u;
      if (!*v || v[scan_ulong(v, &u)] || u < 1 || u > 300) {
        stralloc_copys(err, "timeout takes seconds from 1 to 300, not ");
        stralloc_cats(err, v);
        return 0;
      }
      d->timeout = u;
    } else if (str_equal(k, "failclosed") && (allowed & DNSARG_FAILCLOSED)) {
      if (str_equal(v, "0")) d->failclosed = 0;
      else if (str_equal(v, "1")) d->failclosed = 1;
      else {
        stralloc_copys(err, "failclosed takes 0 or 1, not ");
        stralloc_cats(err, v);
        return 0;
      }
    } else if (str_equal(k, "loglevel")) {
      /* Perl's per-plugin log level: accepted, the core's loglevel rules */
    } else {
      stralloc_copys(err, "unknown argument ");
      stralloc_cats(err, k);
      return 0;
    }
  }
  return 1;
}

int dnsargs_soft(const struct dnsargs *d, int deftype)
{
  int c = reject_type_code(d->r.type, deftype);
  return c == DENYSOFT || c == DENYSOFT_DISCONNECT;
}
