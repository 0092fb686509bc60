/* tests/auth_result HOOK CODE [TEXT...]: for the auth hooks only
   (auth_parse, auth-plain, auth-login, auth-cram-md5, auth), returns CODE
   with TEXT and logs what the hook was given (never the password itself).
   At auth_parse, OK puts TEXT in place of the AUTH arguments. Kept apart
   from tests/return_code, whose chains must not offer AUTH. For the test
   suite. */
#include "session.h"
#include "lib/hookcode.h"


static int run(struct session *s, struct hookcode *me, struct hook_args *a)
{
  if (me->text.len && !stralloc_copy(a->msg, &me->text)) return DENYSOFT;
  if (me->hook == HOOK_AUTH_PARSE) {
    if (me->rc == OK && !stralloc_copy(a->out, &me->text)) return DENYSOFT;
  } else {
    const struct auth_args *aa = a->auth;
    qlogm(s, LOGINFO, "tests/auth_result", hook_names[me->hook], " mech=", aa->mech, " user=", aa->user,
          aa->pass ? " pass=given" : " pass=none", aa->hash ? " hash=" : "", aa->hash ? aa->hash : "",
          aa->ticket ? " ticket=" : "", aa->ticket ? aa->ticket : "");
  }
  return me->rc;
}

static int init(void **self, int argc, const char *const *argv, stralloc *err)
{
  return hookcode_init(self, argc, argv, HOOK_AUTH_PARSE, HOOK_AUTH_CRAM_MD5, "usage: tests/auth_result HOOK CODE [TEXT...]", err);
}

static int dispatch(struct session *s, void *self, struct hook_args *a, int h)
{
  struct hookcode *me = self;
  if (me->hook != h) return DECLINED;
  return run(s, me, a);
}
#define H(n) static int h_##n(struct session *s, void *self, struct hook_args *a) { return dispatch(s, self, a, n); }
H(HOOK_AUTH_PARSE) H(HOOK_AUTH) H(HOOK_AUTH_PLAIN) H(HOOK_AUTH_LOGIN) H(HOOK_AUTH_CRAM_MD5)

const struct plugin plugin_tests_auth_result = {
  .name = "tests/auth_result",
  .init = init,
  .hooks = {
    [HOOK_AUTH_PARSE] = h_HOOK_AUTH_PARSE, [HOOK_AUTH] = h_HOOK_AUTH, [HOOK_AUTH_PLAIN] = h_HOOK_AUTH_PLAIN,
    [HOOK_AUTH_LOGIN] = h_HOOK_AUTH_LOGIN, [HOOK_AUTH_CRAM_MD5] = h_HOOK_AUTH_CRAM_MD5,
  },
};
