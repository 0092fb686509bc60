/* tests/auth_result HOOK CODE [TEXT...]: for the auth hooks only
   (auth_parse, auth-plain, auth-login, auth-cram-md5, auth), returns CODE
   with TEXT and logs what the hook was given (never the password itself).
   At auth_parse, OK puts TEXT in place of the AUTH arguments. Kept apart
   from tests/return_code, whose chains must not offer AUTH. For the test
   suite. */
#include "session.h"
#include "lib/hookcode.h"


/* auth_parse: OK puts TEXT in out */
static int h_auth_parse(struct session *s, void *self, struct parse_args *a)
{
  struct hookcode *me = self;
  if (me->hook != HOOK_AUTH_PARSE) return DECLINED;
  if (me->text.len && !stralloc_copy(a->msg, &me->text)) return DENYSOFT;
  if (me->rc == OK && !stralloc_copy(a->out, &me->text)) return DENYSOFT;
  return me->rc;
}

/* the others: logs what the hook got */
static int check(struct session *s, struct hookcode *me, int h, struct auth_args *a)
{
  if (me->hook != h) return DECLINED;
  if (me->text.len && !stralloc_copy(a->msg, &me->text)) return DENYSOFT;
  qlogm(s, LOGINFO, "tests/auth_result", hook_names[me->hook], " mech=", a->mech, " user=", a->user,
        a->pass ? " pass=given" : " pass=none", a->hash ? " hash=" : "", a->hash ? a->hash : "",
        a->ticket ? " ticket=" : "", a->ticket ? a->ticket : "");
  return me->rc;
}
static int h_auth(struct session *s, void *self, struct auth_args *a) { return check(s, self, HOOK_AUTH, a); }
static int h_auth_plain(struct session *s, void *self, struct auth_args *a) { return check(s, self, HOOK_AUTH_PLAIN, a); }
static int h_auth_login(struct session *s, void *self, struct auth_args *a) { return check(s, self, HOOK_AUTH_LOGIN, a); }
static int h_auth_cram_md5(struct session *s, void *self, struct auth_args *a)
{
  return check(s, self, HOOK_AUTH_CRAM_MD5, a);
}

static int init(void **self, int argc, const char *const *argv, stralloc *err)
{
  return hookcode_init(self, argc, argv, HOOK_AUTH_PARSE, HOOK_AUTH_CRAM_MD5, "usage: tests/auth_result HOOK CODE [TEXT...]", err);
}

const struct plugin plugin_tests_auth_result = {
  .name = "tests/auth_result",
  .init = init,
  .auth_parse = h_auth_parse, .auth = h_auth, .auth_plain = h_auth_plain,
  .auth_login = h_auth_login, .auth_cram_md5 = h_auth_cram_md5,
};
