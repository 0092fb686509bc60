/* loop: refuses a message that has passed too many hosts, counted as its
   Received and Delivered-To header fields (Perl qpsmtpd's plugins/loop,
   after qmail-smtpd). The core already refuses at 100 hops; this plugin
   sets a lower limit.

   Argument: the maximum number of hops, default 100. A message with that
   many or more is refused at data_post: 552 5.4.6 Too many hops. Unlike
   Perl's plugin, which counts the Received field qpsmtpd has just added,
   only the fields the message arrived with count (as in qmail-smtpd and
   our core), so "loop 30" refuses a message that arrives with 30. */
#include <stdlib.h>
#include <fmt.h>
#include <scan.h>
#include "plugin.h"

struct loop { unsigned long max; };

static int loop_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct loop *l;
  unsigned long max = 100;
  if (argc > 1) { stralloc_copys(err, "takes one argument, the maximum number of hops"); return 0; }
  if (argc == 1) {
    size_t n = scan_ulong(argv[0], &max);
    if (!n || argv[0][n] || n > 6 || max < 1) {
      stralloc_copys(err, "the maximum number of hops must be a number from 1, not ");
      stralloc_cats(err, argv[0]);
      return 0;
    }
  }
  l = malloc(sizeof *l);
  if (!l) { stralloc_copys(err, "out of memory"); return 0; }
  l->max = max;
  *self = l;
  return 1;
}

static int loop_data_post(struct session *s, void *self, struct msg_args *a)
{
  struct loop *l = self;
  unsigned long hops = (unsigned long)txn_header_count(s, "Received") + txn_header_count(s, "Delivered-To");
  char num[24], max[24];
  num[fmt_ulong(num, hops)] = 0;
  max[fmt_ulong(max, l->max)] = 0;
  if (hops >= l->max) {
    qlogm(s, LOGINFO, "loop", "fail, ", num, " hops, the limit is ", max);
    if (!stralloc_copys(a->msg, "5.4.6 Too many hops")) return DENYSOFT;
    return DENY;
  }
  qlogm(s, LOGDEBUG, "loop", "pass, ", num, " hops");
  return DECLINED;
}

const struct plugin plugin_loop = {
  .name = "loop",
  .init = loop_init,
  .data_post = loop_data_post,
};
