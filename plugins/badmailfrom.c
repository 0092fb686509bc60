/* badmailfrom: refuses envelope senders listed in badmailfrom, like Perl
   qpsmtpd's plugins/badmailfrom (entries: see lib/badlist.h). The refusal comes
   at MAIL with the entry's reason, or "Your envelope sender is in my
   badmailfrom list". Relay clients and whitelisted hosts or senders are
   immune; the null sender, and a sender without a user or a host, never
   match.

   Arguments (the shared reject convention): reject 0|1|naughty (default 1;
   0 only logs, naughty leaves the refusal to the naughty plugin),
   reject_type perm|hard|temp|soft|disconnect|temp_disconnect (default
   perm). */
#include <stdlib.h>
#include <str.h>
#include <case.h>
#include <byte.h>
#include <string.h>
#include "plugin.h"
#include "lib/badlist.h"

#define PLUGIN "badmailfrom"
#define DEFAULT_REASON "Your envelope sender is in my badmailfrom list"

struct badmailfrom {
  struct reject r;
  struct badlist list;
  stralloc from;
  stralloc text;
};

static int badmailfrom_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct badmailfrom *b = calloc(1, sizeof *b);

  if (!b) return stralloc_copys(err, "out of memory"), 0;
  b->r.mode = REJECT_YES;
  if (!reject_args(&b->r, argc, argv, err)) return 0;
  *self = b;
  return 1;
}

/* the match against a list that has entries: a function of its own, so
   that a site without badmailfrom runs (and maps) only the tests above it */
static __attribute__((noinline)) int check(struct session *s, struct badmailfrom *b, struct addr_args *a, size_t at)
{
  const struct badentry *e;
  const char *reason;

  if (!stralloc_copyb(&b->from, a->addr, a->addrlen) || !stralloc_0(&b->from)) goto nomem;
  case_lowerb(b->from.s, a->addrlen);
  e = badlist_match(&b->list, b->from.s, a->addrlen, at);
  if (!e) {
    qlog(s, LOGINFO, PLUGIN, "pass");
    return DECLINED;
  }

  reason = e->reason ? e->reason : DEFAULT_REASON;
  b->from.len = 0;
  if (!badlist_printable(&b->from, a->addr, a->addrlen) || !stralloc_cats(&b->from, " matches ")
      || !stralloc_cats(&b->from, e->bad) || !stralloc_0(&b->from))
    goto nomem;
  if (!badlist_reason(&b->text, reason, reject_type_code(b->r.type, DENY), "7.1")) goto nomem;
  /* a deferred refusal is one line of naughty's reply: no code of its own */
  return reject_get(s, &b->r, DENY, PLUGIN, b->r.mode == REJECT_NAUGHTY ? reason : b->text.s,
                    b->from.s, a->msg);

nomem:
  return hook_nomem(a->msg);
}

static int badmailfrom_mail(struct session *s, void *self, struct addr_args *a)
{
  struct badmailfrom *b = self;
  size_t at;

  if (session_immune(s, PLUGIN)) return DECLINED;
  if (!a->addrlen) return DECLINED;     /* the null sender */
  at = byte_rchr(a->addr, a->addrlen, '@');
  if (at == 0 || at >= a->addrlen - 1) return DECLINED;   /* no user, or no host */

  if (!b->list.n) return DECLINED;

  return check(s, b, a, at);
}

static int badmailfrom_setup(struct session *s, void *self)
{
  struct badmailfrom *b = self;
  return badlist_load(s, &b->list, "badmailfrom", PLUGIN);
}

const struct plugin plugin_badmailfrom = {
  .name = "badmailfrom",
  .init = badmailfrom_init,
  .setup = badmailfrom_setup,
  .mail = badmailfrom_mail,
};
