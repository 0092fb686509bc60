/* tests/auth_result HOOK CODE [TEXT...]: for the auth hooks only
   (auth_parse, auth-plain, auth-login, auth-cram-md5, auth), returns CODE
   with TEXT and logs what the hook was given (never the password itself).
   At auth_parse, OK puts TEXT in place of the AUTH arguments. Kept apart
   from tests/return_code, whose chains must not offer AUTH. For the test
   suite. */
#include <stdlib.h>
#include <string.h>
#include "plugin.h"
#include "session.h"

struct self { int hook; int rc; stralloc text; };

static const struct { const char *name; int rc; } codes[] = {
  { "DECLINED", DECLINED }, { "OK", OK }, { "DENY", DENY }, { "DENYSOFT", DENYSOFT },
  { "DENY_DISCONNECT", DENY_DISCONNECT }, { "DENYSOFT_DISCONNECT", DENYSOFT_DISCONNECT },
  { "DONE", DONE }, { NULL, 0 }
};

static int run(struct session *s, struct self *me, struct hook_args *a)
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
  struct self *me;
  int i, h = -1, rc = 0;
  if (argc < 2) return stralloc_copys(err, "usage: tests/auth_result HOOK CODE [TEXT...]"), 0;
  for (i = HOOK_AUTH_PARSE; i <= HOOK_AUTH_CRAM_MD5; ++i) if (!strcmp(hook_names[i], argv[0])) h = i;
  if (h < 0) return stralloc_copys(err, "not an auth hook: "), stralloc_cats(err, argv[0]), 0;
  for (i = 0; codes[i].name; ++i) if (!strcmp(codes[i].name, argv[1])) rc = codes[i].rc;
  if (!rc) return stralloc_copys(err, "unknown return code "), stralloc_cats(err, argv[1]), 0;
  me = calloc(1, sizeof *me);
  if (!me) return stralloc_copys(err, "out of memory"), 0;
  me->hook = h;
  me->rc = rc;
  for (i = 2; i < argc; ++i)
    if ((i > 2 && !stralloc_cats(&me->text, " ")) || !stralloc_cats(&me->text, argv[i]))
      return stralloc_copys(err, "out of memory"), 0;
  *self = me;
  return 1;
}

static int dispatch(struct session *s, void *self, struct hook_args *a, int h)
{
  struct self *me = self;
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
