/* tests/return_code HOOK CODE [TEXT...]: returns CODE (DECLINED, OK, DENY,
   DENYSOFT, DENY_DISCONNECT, DENYSOFT_DISCONNECT, DONE) with TEXT from
   HOOK. For the test suite, and for an administrator who wants to see
   what a hook result does. With DONE it replies "250 done by plugin". */
#include "session.h"
#include "lib/hookcode.h"

static int run(struct session *s, void *self, struct hook_args *a)
{
  struct hookcode *me = self;
  if (me->text.len && !stralloc_copy(a->msg, &me->text)) return DENYSOFT;
  if (me->rc == DONE) session_reply(s, 250, "2.0.0", "done by plugin");
  if (me->hook == HOOK_RECEIVED_LINE && me->rc == OK && a->out)
    if (!stralloc_copy(a->out, &me->text)) return DENYSOFT;
  return me->rc;
}

static int init(void **self, int argc, const char *const *argv, stralloc *err)
{
  return hookcode_init(self, argc, argv, 0, HOOK_COUNT - 1, "usage: tests/return_code HOOK CODE [TEXT...]", err);
}

/* one function serves every hook; it acts only on the one it was given */
static int dispatch(struct session *s, void *self, struct hook_args *a, int h)
{
  struct hookcode *me = self;
  if (me->hook != h) return DECLINED;
  return run(s, self, a);
}
#define H(n) static int h_##n(struct session *s, void *self, struct hook_args *a) { return dispatch(s, self, a, n); }
H(HOOK_CONNECT) H(HOOK_HELO) H(HOOK_EHLO) H(HOOK_MAIL_PARSE) H(HOOK_MAIL_PRE) H(HOOK_MAIL)
H(HOOK_RCPT_PARSE) H(HOOK_RCPT_PRE) H(HOOK_RCPT) H(HOOK_DATA) H(HOOK_DATA_HEADERS_END)
H(HOOK_DATA_POST_HEADERS) H(HOOK_DATA_POST) H(HOOK_QUEUE_PRE) H(HOOK_QUEUE) H(HOOK_QUEUE_POST)
H(HOOK_VRFY) H(HOOK_NOOP) H(HOOK_HELP) H(HOOK_QUIT) H(HOOK_UNRECOGNIZED_COMMAND) H(HOOK_RECEIVED_LINE)

const struct plugin plugin_tests_return_code = {
  .name = "tests/return_code",
  .init = init,
  .hooks = {
    [HOOK_CONNECT] = h_HOOK_CONNECT, [HOOK_HELO] = h_HOOK_HELO, [HOOK_EHLO] = h_HOOK_EHLO,
    [HOOK_MAIL_PARSE] = h_HOOK_MAIL_PARSE, [HOOK_MAIL_PRE] = h_HOOK_MAIL_PRE, [HOOK_MAIL] = h_HOOK_MAIL,
    [HOOK_RCPT_PARSE] = h_HOOK_RCPT_PARSE, [HOOK_RCPT_PRE] = h_HOOK_RCPT_PRE, [HOOK_RCPT] = h_HOOK_RCPT,
    [HOOK_DATA] = h_HOOK_DATA, [HOOK_DATA_HEADERS_END] = h_HOOK_DATA_HEADERS_END,
    [HOOK_DATA_POST_HEADERS] = h_HOOK_DATA_POST_HEADERS, [HOOK_DATA_POST] = h_HOOK_DATA_POST,
    [HOOK_QUEUE_PRE] = h_HOOK_QUEUE_PRE, [HOOK_QUEUE] = h_HOOK_QUEUE, [HOOK_QUEUE_POST] = h_HOOK_QUEUE_POST,
    [HOOK_VRFY] = h_HOOK_VRFY, [HOOK_NOOP] = h_HOOK_NOOP, [HOOK_HELP] = h_HOOK_HELP, [HOOK_QUIT] = h_HOOK_QUIT,
    [HOOK_UNRECOGNIZED_COMMAND] = h_HOOK_UNRECOGNIZED_COMMAND, [HOOK_RECEIVED_LINE] = h_HOOK_RECEIVED_LINE,
  },
};
