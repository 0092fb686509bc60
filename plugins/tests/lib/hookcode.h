/* The "HOOK CODE [TEXT...]" arguments of the test plugins tests/return_code
   and tests/auth_result. */
#ifndef PLUGINS_TESTS_HOOKCODE_H
#define PLUGINS_TESTS_HOOKCODE_H

#include "plugin.h"

struct hookcode { int hook; int rc; stralloc text; };

/* the hook must be one of lo..hi; 1 ok, 0 with the reason in err */
int hookcode_init(void **self, int argc, const char *const *argv, int lo, int hi,
                  const char *usage, stralloc *err);

#endif
