#include <stdlib.h>
#include <string.h>
#include "session.h"
#include "../../lib/retcode.h"
#include "hookcode.h"

int hookcode_init(void **self, int argc, const char *const *argv, int lo, int hi,
                  const char *usage, stralloc *err)
{
  struct hookcode *me;
  int i, h = -1, rc;
  if (argc < 2) return stralloc_copys(err, usage), 0;
  for (i = lo; i <= hi; ++i) if (!strcmp(hook_names[i], argv[0])) h = i;
  if (h < 0) return stralloc_copys(err, "not a hook of this plugin: "), stralloc_cats(err, argv[0]), 0;
  rc = retcode_parse(argv[1]);
  if (!rc) return stralloc_copys(err, "unknown return code "), stralloc_cats(err, argv[1]), 0;
  me = calloc(1, sizeof *me);
  if (!me) return stralloc_copys(err, "out of memory"), 0;
  me->hook = h;
  me->rc = rc;
  for (i = 2; i < argc; ++i)
    if ((i > 2 && !stralloc_cats(&me->text, " ")) || !stralloc_cats(&me->text, argv[i]))
      return stralloc_copys(err, "out of memory"), 0;
  *self = me;
  return 1;
}
