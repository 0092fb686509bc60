/* badmailfrom: refuses envelope senders listed in badmailfrom, like Perl
   qpsmtpd's plugins/badmailfrom (entries: see badlist.h). The refusal comes
   at MAIL with the entry's reason, or "Your envelope sender is in my
   badmailfrom list". Relay clients and whitelisted hosts or senders are
   immune; the null sender, and a sender without a user or a host, never
   match.

   Arguments: reject 0|1 (default 1; 0 only logs), reject_type
   perm|hard|temp|soft|disconnect|temp_disconnect (default perm). Perl's
   "reject naughty" needs the naughty plugin, which we do not have. */
#include <stdlib.h>
#include <str.h>
#include <case.h>
#include <byte.h>
#include "plugin.h"
#include "badlist.h"

#define PLUGIN "badmailfrom"
#define DEFAULT_REASON "Your envelope sender is in my badmailfrom list"

struct badmailfrom {
  int reject;
  int rc;               /* the code when rejecting */
  struct badlist list;
  stralloc from;
};

static int arg_error(stralloc *err, const char *what, const char *arg)
{
  if (stralloc_copys(err, what))
    stralloc_cats(err, arg);
  return 0;
}

static int badmailfrom_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct badmailfrom *b;
  int reject = 1;
  int rc = DENY;
  int i;

  for (i = 0; i < argc; i += 2) {
    const char *v;
    if (i + 1 >= argc) return arg_error(err, "missing value after ", argv[i]);
    v = argv[i + 1];
    if (str_equal(argv[i], "reject")) {
      if (str_equal(v, "0")) reject = 0;
      else if (str_equal(v, "1")) reject = 1;
      else if (str_equal(v, "naughty")) return arg_error(err, "reject naughty needs the naughty plugin, which is not available; use reject 1", "");
      else return arg_error(err, "reject takes 0 or 1, not ", v);
    } else if (str_equal(argv[i], "reject_type")) {
      if (str_equal(v, "perm") || str_equal(v, "hard")) rc = DENY;
      else if (str_equal(v, "temp") || str_equal(v, "soft")) rc = DENYSOFT;
      else if (str_equal(v, "disconnect")) rc = DENY_DISCONNECT;
      else if (str_equal(v, "temp_disconnect")) rc = DENYSOFT_DISCONNECT;
      else return arg_error(err, "unknown reject_type ", v);
    } else
      return arg_error(err, "unknown argument ", argv[i]);
  }
  b = calloc(1, sizeof *b);
  if (!b) return arg_error(err, "out of memory", "");
  b->reject = reject;
  b->rc = rc;
  *self = b;
  return 1;
}

static int badmailfrom_mail(struct session *s, void *self, struct hook_args *a)
{
  struct badmailfrom *b = self;
  const struct badentry *e;
  const char *reason;
  int temp;
  size_t at;

  if (badlist_immune(s)) return DECLINED;
  if (!a->addrlen) return DECLINED;     /* the null sender */
  at = byte_rchr(a->addr, a->addrlen, '@');
  if (at == 0 || at >= a->addrlen - 1) return DECLINED;   /* no user, or no host */

  if (!badlist_load(s, &b->list, "badmailfrom", PLUGIN)) goto nomem;
  if (!b->list.n) return DECLINED;

  if (!stralloc_copyb(&b->from, a->addr, a->addrlen) || !stralloc_0(&b->from)) goto nomem;
  case_lowerb(b->from.s, a->addrlen);
  e = badlist_match(&b->list, b->from.s, a->addrlen, at);
  if (!e) {
    qlog(s, LOGINFO, PLUGIN, "pass");
    return DECLINED;
  }

  reason = e->reason ? e->reason : DEFAULT_REASON;
  b->from.len = 0;
  if (!badlist_printable(&b->from, a->addr, a->addrlen) || !stralloc_0(&b->from)) goto nomem;
  if (!b->reject) {
    qlogm(s, LOGINFO, PLUGIN, "fail, tolerated: ", b->from.s, " matches ", e->bad);
    return DECLINED;
  }
  qlogm(s, LOGINFO, PLUGIN, "fail: ", b->from.s, " matches ", e->bad);
  temp = b->rc == DENYSOFT || b->rc == DENYSOFT_DISCONNECT;
  if (!stralloc_copys(a->msg, badlist_has_code(reason) ? "" : temp ? "4.7.1 " : "5.7.1 ") ||
      !stralloc_cats(a->msg, reason))
    goto nomem;
  return b->rc;

nomem:
  stralloc_copys(a->msg, "4.3.0 out of memory");
  return DENYSOFT;
}

const struct plugin plugin_badmailfrom = {
  .name = "badmailfrom",
  .init = badmailfrom_init,
  .hooks = { [HOOK_MAIL] = badmailfrom_mail },
};
