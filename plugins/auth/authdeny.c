/* auth/authdeny: the last word on AUTH, as Perl qpsmtpd's plugin: it
   accepts nobody, logs the attempt, and declines with a reason, so that
   every attempt no other plugin accepted is answered 535. It hooks the
   generic auth hook but offers no mechanism of its own. */
#include "plugin.h"

static int authdeny_auth(struct session *s, void *self, struct auth_args *a)
{
  (void)self;
  qlogm(s, LOGWARN, "auth/authdeny", "fail: cannot authenticate ", a->user,
        " (", a->mech, ")");
  if (!stralloc_copys(a->msg, a->user) || !stralloc_cats(a->msg, " is not free to abuse my relay"))
    a->msg->len = 0;
  return DECLINED;
}

static int authdeny_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  (void)self;
  (void)argv;
  if (argc) {
    stralloc_copys(err, "takes no arguments");
    return 0;
  }
  return 1;
}

const struct plugin plugin_auth_authdeny = {
  .name = "auth/authdeny",
  .init = authdeny_init,
  .auth = authdeny_auth,
  .flags = PLUGIN_AUTH_CHECKS_NOTHING,
};
