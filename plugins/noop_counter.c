/* noop_counter N: disconnects a client after N consecutive NOOPs (default
   3) with "Stop wasting my time, too many consecutive NOOPs", like Perl
   qpsmtpd's plugins/noop_counter. HELO, EHLO, MAIL, RCPT, DATA, RSET,
   VRFY and HELP start the count again; list the plugin early, so that the
   reset hooks run before another plugin decides. */
#include <stdlib.h>
#include <scan.h>
#include <str.h>
#include "plugin.h"

#define PLUGIN "noop_counter"

struct counter { unsigned long max, count; };

static int nc_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct counter *c;
  unsigned long max = 3;

  if (argc > 1) return stralloc_copys(err, "takes one argument, the number of NOOPs"), 0;
  if (argc == 1) {
    size_t len = str_len(argv[0]);
    if (!len || argv[0][0] < '0' || argv[0][0] > '9' || scan_ulong(argv[0], &max) != len || !max || max > 1000000UL) {
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

static int nc_noop(struct session *s, void *self, struct cmd_args *a)
{
  struct counter *c = self;
  if (++c->count < c->max) return DECLINED;
  qlog(s, LOGINFO, PLUGIN, "fail, too many consecutive NOOPs");
  if (!stralloc_copys(a->msg, "Stop wasting my time, too many consecutive NOOPs")) return DENY_DISCONNECT;
  return DENY_DISCONNECT;
}

/* any other command ends a run of NOOPs: one function per kind of hook */
static int nc_reset(void *self)
{
  struct counter *c = self;
  c->count = 0;
  return DECLINED;
}
static int nc_hello(struct session *s, void *self, struct helo_args *a) { return nc_reset(self); }
static int nc_addr(struct session *s, void *self, struct addr_args *a) { return nc_reset(self); }
static int nc_cmd(struct session *s, void *self, struct cmd_args *a) { return nc_reset(self); }
static int nc_other(struct session *s, void *self, struct msg_args *a) { return nc_reset(self); }

const struct plugin plugin_noop_counter = {
  .name = "noop_counter",
  .init = nc_init,
  .noop = nc_noop, .helo = nc_hello, .ehlo = nc_hello, .mail = nc_addr,
  .rcpt = nc_addr, .data = nc_other, .reset_transaction = nc_other,
  .vrfy = nc_cmd, .help = nc_cmd,
};
