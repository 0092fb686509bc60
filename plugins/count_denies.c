/* count_denies N: closes the connection after the N-th refusal of any
   plugin (default 3), the deny hook example of qpsmtpd's plugin-writing
   documentation. The N-th refusal's reply still goes out; then the
   connection is closed. One process serves one session, so the count
   lives in the instance. */
#include <stdlib.h>
#include <fmt.h>
#include <scan.h>
#include <str.h>
#include "plugin.h"

#define PLUGIN "count_denies"
#define MAX_LIMIT 1000000UL

struct counter { unsigned long max, count; };

static int cd_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct counter *c;
  unsigned long max = 3;

  if (argc > 1) return stralloc_copys(err, "takes one argument, the number of refusals"), 0;
  if (argc == 1) {
    size_t len = str_len(argv[0]);
    if (!len || argv[0][0] < '0' || argv[0][0] > '9' || scan_ulong(argv[0], &max) != len || !max || max > MAX_LIMIT) {
      if (stralloc_copys(err, "not a number from 1 to 1000000: ")) stralloc_cats(err, argv[0]);
      return 0;
    }
  }
  c = calloc(1, sizeof *c);
  if (!c) return stralloc_copys(err, "out of memory"), 0;
  c->max = max;
  *self = c;
  return 1;
}

static int cd_deny(struct session *s, void *self, struct result_args *a)
{
  struct counter *c = self;
  char num[FMT_ULONG];

  if (c->count < MAX_LIMIT) ++c->count;
  num[fmt_ulong(num, c->count)] = 0;
  if (c->count < c->max) {
    qlogm(s, LOGDEBUG, PLUGIN, "refusal ", num, " by ", a->plugin ? a->plugin : "?");
    return DECLINED;
  }
  qlogm(s, LOGINFO, PLUGIN, "fail, ", num, " refusals, closing the connection after this reply");
  session_disconnect_later(s);
  return DECLINED;
}

const struct plugin plugin_count_denies = {
  .name = "count_denies",
  .init = cd_init,
  .deny = cd_deny,
};
