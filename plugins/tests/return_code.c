/* tests/return_code HOOK CODE [TEXT...]: returns CODE (DECLINED, OK, DENY,
   DENYSOFT, DENY_DISCONNECT, DENYSOFT_DISCONNECT, DONE) with TEXT from
   HOOK. For the test suite, and for an administrator who wants to see
   what a hook result does. With DONE it replies "250 done by plugin". */
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

static int run(struct session *s, void *self, struct hook_args *a)
{
  struct self *me = self;
  if (me->text.len && !stralloc_copy(a->msg, &me->text)) return DENYSOFT;
  if (me->rc == DONE) session_reply(s, 250, "2.0.0", "done by plugin");
  if (me->hook == HOOK_RECEIVED_LINE && me->rc == OK && a->out)
    if (!stralloc_copy(a->out, &me->text)) return DENYSOFT;
  return me->rc;
}

static int init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct self *me;
  int i, h = -1, rc = 0;
  if (argc < 2) return stralloc_copys(err, "usage: tests/return_code HOOK CODE [TEXT...]"), 0;
  for (i = 0; i < HOOK_COUNT; ++i) if (!strcmp(hook_names[i], argv[0])) h = i;
  if (h < 0) return stralloc_copys(err, "unknown hook "), stralloc_cats(err, argv[0]), 0;
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

/* one function serves every hook; it acts only on the one it was given */
static int dispatch(struct session *s, void *self, struct hook_args *a, int h)
{
  struct self *me = self;
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
