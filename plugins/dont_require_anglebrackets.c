/* dont_require_anglebrackets: accepts "MAIL FROM:user@host" and
   "RCPT TO:user@host" by putting the missing angle brackets around the
   path, like Perl qpsmtpd's plugin of that name. A path that already
   starts with '<' is left to the core, and so is an empty one (Perl would
   have made it the null sender "<>"). */
#include "plugin.h"

static int add_brackets(struct session *s, void *self, struct pre_args *a)
{
  (void)s;
  (void)self;
  if (!a->pathlen || a->path[0] == '<') return DECLINED;
  if (!stralloc_copys(a->out, "<") || !stralloc_catb(a->out, a->path, a->pathlen) ||
      !stralloc_cats(a->out, ">")) {
    return hook_nomem(a->msg);
  }
  return OK;
}

const struct plugin plugin_dont_require_anglebrackets = {
  .name = "dont_require_anglebrackets",
  .mail_pre = add_brackets,
  .rcpt_pre = add_brackets,
};
