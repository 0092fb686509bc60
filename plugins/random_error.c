/* random_error PCT: for testing clients and chains, fails a message with
   probability PCT percent (default 1; a negative number disables it), like
   Perl qpsmtpd's plugins/random_error. The chance is spread over the six
   steps a message passes (connect, helo/ehlo, mail, rcpt, data,
   data_post): each fails with 1 - (1 - PCT/100)^(1/6). A failure is
   DENYSOFT "random failure" three times in five, DENYSOFT_DISCONNECT
   otherwise. The connection note "random_fail_%", set at connect, holds the
   rate; another plugin may change it. */
#include <math.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/random.h>
#include <fmt.h>
#include <scan.h>
#include <str.h>
#include "plugin.h"

#define PLUGIN "random_error"

struct rerr { char pct[FMT_LONG + 1]; };

static int re_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct rerr *r;
  long pct = 1;

  if (argc > 1) return stralloc_copys(err, "takes one argument, the failure rate in percent"), 0;
  if (argc == 1) {
    size_t len = str_len(argv[0]);
    if (!len || scan_long(argv[0], &pct) != len || pct < -100 || pct > 100) {
      if (stralloc_copys(err, "not a number from -100 to 100: ")) stralloc_cats(err, argv[0]);
      return 0;
    }
    if (!pct) pct = 1;    /* as Perl: 0 means the default */
  }
  r = calloc(1, sizeof *r);
  if (!r) return stralloc_copys(err, "out of memory"), 0;
  r->pct[fmt_long(r->pct, pct)] = 0;
  *self = r;
  return 1;
}

/* a uniform number in [0, 1) */
static double uniform(void)
{
  unsigned long long u = 0;
  if (getrandom(&u, sizeof u, 0) != (ssize_t)sizeof u) u = (unsigned long long)getpid() * 2654435761ULL;
  return (double)(u >> 11) / 9007199254740992.0;
}

static int re_fail(struct session *s, stralloc *msg)
{
  const char *n = note_conn_get(s, "random_fail_%");
  long pct = 1;
  double success;

  if (n) scan_long(n, &pct);
  if (pct <= 0) return DECLINED;
  if (pct > 100) pct = 100;
  success = pow(1.0 - (double)pct / 100.0, 1.0 / 6.0);
  if (uniform() < success) return DECLINED;
  qlog(s, LOGINFO, PLUGIN, "fail, random failure");
  stralloc_copys(msg, "random failure");
  return uniform() < 0.4 ? DENYSOFT_DISCONNECT : DENYSOFT;
}

static int re_connect(struct session *s, void *self, struct msg_args *a)
{
  struct rerr *r = self;
  if (!note_conn_set(s, "random_fail_%", r->pct)) return DECLINED;
  return re_fail(s, a->msg);
}

static int re_hello(struct session *s, void *self, struct helo_args *a) { return re_fail(s, a->msg); }
static int re_addr(struct session *s, void *self, struct addr_args *a) { return re_fail(s, a->msg); }
static int re_other(struct session *s, void *self, struct msg_args *a) { return re_fail(s, a->msg); }

const struct plugin plugin_random_error = {
  .name = "random_error",
  .init = re_init,
  .connect = re_connect, .helo = re_hello, .ehlo = re_hello,
  .mail = re_addr, .rcpt = re_addr, .data = re_other,
  .data_post = re_other,
};
