/* badrcptto: refuses recipients listed in badrcptto, like Perl qpsmtpd's
   plugins/badrcptto (entries: see lib/badlist.h). The reply is the entry's
   reason or "mail to ADDRESS not accepted here", as 5.1.1 (Perl's
   no_such_user; Perl also dropped a line's reason, which we send). Relay
   clients and whitelisted hosts or senders are immune; a recipient without
   a user or a host (postmaster) never matches.

   Arguments (optional; Perl's badrcptto takes none): the shared reject
   convention, reject 0|1|naughty (default 1), reject_type
   perm|hard|temp|soft|disconnect|temp_disconnect (default perm). */
#include <stdlib.h>
#include <str.h>
#include <case.h>
#include <byte.h>
#include <string.h>
#include "plugin.h"
#include "lib/badlist.h"

#define PLUGIN "badrcptto"

struct badrcptto {
  struct reject r;
  struct badlist list;
  stralloc to;
  stralloc log;
  stralloc text;
};

static int badrcptto_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct badrcptto *b = calloc(1, sizeof *b);

  if (!b) return stralloc_copys(err, "out of memory"), 0;
  b->r.mode = REJECT_YES;
  if (!reject_args(&b->r, argc, argv, err)) return 0;
  *self = b;
  return 1;
}

/* the match against a list that has entries: a function of its own, so
   that a site without badrcptto runs (and maps) only the tests above it */
static __attribute__((noinline)) int check(struct session *s, struct badrcptto *b, struct addr_args *a, size_t at)
{
  const struct badentry *e;

  if (!stralloc_copyb(&b->to, a->addr, a->addrlen) || !stralloc_0(&b->to)) goto nomem;
  case_lowerb(b->to.s, a->addrlen);
  e = badlist_match(&b->list, b->to.s, a->addrlen, at);
  if (!e) {
    qlog(s, LOGINFO, PLUGIN, "pass");
    return DECLINED;
  }

  b->to.len = 0;
  if (!badlist_printable(&b->to, a->addr, a->addrlen) || !stralloc_0(&b->to)) goto nomem;
  if (!stralloc_copys(&b->log, b->to.s) || !stralloc_cats(&b->log, " matches ")
      || !stralloc_cats(&b->log, e->bad) || !stralloc_0(&b->log))
    goto nomem;
  if (e->reason) {
    if (!stralloc_copys(&b->log, e->reason)) goto nomem;
  } else if (!stralloc_copys(&b->log, "mail to ") || !stralloc_cats(&b->log, b->to.s)
             || !stralloc_cats(&b->log, " not accepted here"))
    goto nomem;
  if (!stralloc_0(&b->log)) goto nomem;
  if (!badlist_reason(&b->text, b->log.s, reject_type_code(b->r.type, DENY), "1.1")) goto nomem;
  if (!stralloc_copys(&b->log, b->to.s) || !stralloc_cats(&b->log, " matches ")
      || !stralloc_cats(&b->log, e->bad) || !stralloc_0(&b->log))
    goto nomem;
  return reject_get(s, &b->r, DENY, PLUGIN,
                    b->r.mode == REJECT_NAUGHTY ? b->text.s + (badlist_has_code(b->text.s) ? 6 : 0) : b->text.s,
                    b->log.s, a->msg);

nomem:
  return hook_nomem(a->msg);
}

static int badrcptto_rcpt(struct session *s, void *self, struct addr_args *a)
{
  struct badrcptto *b = self;
  size_t at;

  if (session_immune(s, PLUGIN)) return DECLINED;
  at = byte_rchr(a->addr, a->addrlen, '@');
  if (!a->addrlen || at == 0 || at >= a->addrlen - 1) return DECLINED;

  if (!b->list.n) return DECLINED;

  return check(s, b, a, at);
}

static int badrcptto_setup(struct session *s, void *self)
{
  struct badrcptto *b = self;
  return badlist_load(s, &b->list, "badrcptto", PLUGIN);
}

const struct plugin plugin_badrcptto = {
  .name = "badrcptto",
  .init = badrcptto_init,
  .setup = badrcptto_setup,
  .rcpt = badrcptto_rcpt,
};
