/* count_unrecognized_commands N: disconnects a client after N unrecognized
   commands (default 4), like Perl qpsmtpd's plugin of that name; good
   against spam sent through open HTTP proxies. One process serves one
   session, so the count lives in the instance. */
#include <stdlib.h>
#include <fmt.h>
#include <scan.h>
#include <str.h>
#include "plugin.h"

#define PLUGIN "count_unrecognized_commands"
#define MAX_LIMIT 1000000UL

struct counter {
  unsigned long max;
  unsigned long count;
};

static int cuc_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct counter *c;
  unsigned long max = 4;

  if (argc > 1) {
    stralloc_copys(err, "takes one argument, the number of commands");
    return 0;
  }
  if (argc == 1) {
    size_t len = str_len(argv[0]);
    if (!len || argv[0][0] < '0' || argv[0][0] > '9' || scan_ulong(argv[0], &max) != len ||
        !max || max > MAX_LIMIT) {
      if (stralloc_copys(err, "not a number from 1 to 1000000: "))
        stralloc_cats(err, argv[0]);
      return 0;
    }
  }
  c = calloc(1, sizeof *c);
  if (!c) {
    stralloc_copys(err, "out of memory");
    return 0;
  }
  c->max = max;
  *self = c;
  return 1;
}

static int cuc_unrecognized(struct session *s, void *self, struct unrecognized_args *a)
{
  struct counter *c = self;
  char verb[64];
  char num[FMT_ULONG];
  size_t i;
  size_t n = a->verblen < sizeof verb - 1 ? a->verblen : sizeof verb - 1;

  /* the verb is client data: only printable bytes reach the log */
  for (i = 0; i < n; ++i)
    verb[i] = ((unsigned char)a->verb[i] > ' ' && (unsigned char)a->verb[i] < 127) ? a->verb[i] : '?';
  verb[n] = 0;
  qlogm(s, LOGINFO, PLUGIN, "Unrecognized command '", verb, "'");

  if (c->count < MAX_LIMIT) ++c->count;
  if (c->count < c->max) return DECLINED;

  num[fmt_ulong(num, c->count)] = 0;
  qlogm(s, LOGINFO, PLUGIN, "fail: Closing connection, ", num, " unrecognized commands.");
  if (!stralloc_copys(a->msg, "Closing connection, ") || !stralloc_cats(a->msg, num) ||
      !stralloc_cats(a->msg, " unrecognized commands. Perhaps you should read RFC 2821?"))
    stralloc_copys(a->msg, "Closing connection, too many unrecognized commands");
  return DENY_DISCONNECT;
}

const struct plugin plugin_count_unrecognized_commands = {
  .name = "count_unrecognized_commands",
  .init = cuc_init,
  .unrecognized_command = cuc_unrecognized,
};
