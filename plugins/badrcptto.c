/* badrcptto: refuses recipients listed in badrcptto, like Perl qpsmtpd's
   plugins/badrcptto (entries: see badlist.h). The reply is the entry's
   reason or "mail to ADDRESS not accepted here", as 5.1.1 (Perl's
   no_such_user; Perl also dropped a line's reason, which we send). Relay
   clients and whitelisted hosts or senders are immune; a recipient without
   a user or a host (postmaster) never matches. Takes no arguments. */
#include <stdlib.h>
#include <str.h>
#include <case.h>
#include <byte.h>
#include "plugin.h"
#include "badlist.h"

#define PLUGIN "badrcptto"

struct badrcptto {
  struct badlist list;
  stralloc to;
};

static int badrcptto_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct badrcptto *b;

  (void)argv;
  if (argc) {
    stralloc_copys(err, "takes no arguments");
    return 0;
  }
  b = calloc(1, sizeof *b);
  if (!b) {
    stralloc_copys(err, "out of memory");
    return 0;
  }
  *self = b;
  return 1;
}

static int badrcptto_rcpt(struct session *s, void *self, struct hook_args *a)
{
  struct badrcptto *b = self;
  const struct badentry *e;
  size_t at;

  if (badlist_immune(s)) return DECLINED;
  at = byte_rchr(a->addr, a->addrlen, '@');
  if (!a->addrlen || at == 0 || at >= a->addrlen - 1) return DECLINED;

  if (!badlist_load(s, &b->list, "badrcptto", PLUGIN)) goto nomem;
  if (!b->list.n) return DECLINED;

  if (!stralloc_copyb(&b->to, a->addr, a->addrlen) || !stralloc_0(&b->to)) goto nomem;
  case_lowerb(b->to.s, a->addrlen);
  e = badlist_match(&b->list, b->to.s, a->addrlen, at);
  if (!e) {
    qlog(s, LOGINFO, PLUGIN, "pass");
    return DECLINED;
  }

  b->to.len = 0;
  if (!badlist_printable(&b->to, a->addr, a->addrlen) || !stralloc_0(&b->to)) goto nomem;
  qlogm(s, LOGINFO, PLUGIN, "fail: ", b->to.s, " matches ", e->bad);
  if (e->reason) {
    if (!stralloc_copys(a->msg, badlist_has_code(e->reason) ? "" : "5.1.1 ") ||
        !stralloc_cats(a->msg, e->reason))
      goto nomem;
  } else if (!stralloc_copys(a->msg, "5.1.1 mail to ") || !stralloc_cats(a->msg, b->to.s) ||
             !stralloc_cats(a->msg, " not accepted here"))
    goto nomem;
  return DENY;

nomem:
  stralloc_copys(a->msg, "4.3.0 out of memory");
  return DENYSOFT;
}

const struct plugin plugin_badrcptto = {
  .name = "badrcptto",
  .init = badrcptto_init,
  .hooks = { [HOOK_RCPT] = badrcptto_rcpt },
};
