/* tests/return_code HOOK CODE [TEXT...]: returns CODE (DECLINED, OK, DENY,
   DENYSOFT, DENY_DISCONNECT, DENYSOFT_DISCONNECT, DONE) with TEXT from
   HOOK. For the test suite, and for an administrator who wants to see
   what a hook result does. With DONE it replies "250 done by plugin". */
#include "session.h"
#include "lib/hookcode.h"

/* one function per kind of hook's arguments; each acts only on the hook
   it was given */
static int run(struct session *s, struct hookcode *me, int h, stralloc *msg)
{
  if (me->hook != h) return DECLINED;
  if (me->text.len && !stralloc_copy(msg, &me->text)) return DENYSOFT;
  if (me->rc == DONE) session_reply(s, 250, "2.0.0", "done by plugin");
  return me->rc;
}

static int init(void **self, int argc, const char *const *argv, stralloc *err)
{
  return hookcode_init(self, argc, argv, 0, HOOK_COUNT - 1, "usage: tests/return_code HOOK CODE [TEXT...]", err);
}

/* received_line: OK puts TEXT in out */
static int h_received_line(struct session *s, void *self, struct received_args *a)
{
  struct hookcode *me = self;
  int rc = run(s, me, HOOK_RECEIVED_LINE, a->msg);
  if (me->hook == HOOK_RECEIVED_LINE && rc == OK && !stralloc_copy(a->out, &me->text)) return DENYSOFT;
  return rc;
}

#define H(member, h, type) \
  static int h_##member(struct session *s, void *self, type *a) { return run(s, self, h, a->msg); }
H(connect, HOOK_CONNECT, struct msg_args)
H(helo, HOOK_HELO, struct helo_args)
H(ehlo, HOOK_EHLO, struct helo_args)
H(mail_parse, HOOK_MAIL_PARSE, struct parse_args)
H(mail_pre, HOOK_MAIL_PRE, struct pre_args)
H(mail, HOOK_MAIL, struct addr_args)
H(rcpt_parse, HOOK_RCPT_PARSE, struct parse_args)
H(rcpt_pre, HOOK_RCPT_PRE, struct pre_args)
H(rcpt, HOOK_RCPT, struct addr_args)
H(data, HOOK_DATA, struct msg_args)
H(data_headers_end, HOOK_DATA_HEADERS_END, struct msg_args)
H(data_post_headers, HOOK_DATA_POST_HEADERS, struct msg_args)
H(data_post, HOOK_DATA_POST, struct msg_args)
H(queue_pre, HOOK_QUEUE_PRE, struct msg_args)
H(queue, HOOK_QUEUE, struct msg_args)
H(queue_post, HOOK_QUEUE_POST, struct queue_post_args)
H(vrfy, HOOK_VRFY, struct cmd_args)
H(noop, HOOK_NOOP, struct cmd_args)
H(help, HOOK_HELP, struct cmd_args)
H(quit, HOOK_QUIT, struct msg_args)
H(unrecognized_command, HOOK_UNRECOGNIZED_COMMAND, struct unrecognized_args)

const struct plugin plugin_tests_return_code = {
  .name = "tests/return_code",
  .init = init,
  .connect = h_connect, .helo = h_helo, .ehlo = h_ehlo,
  .mail_parse = h_mail_parse, .mail_pre = h_mail_pre, .mail = h_mail,
  .rcpt_parse = h_rcpt_parse, .rcpt_pre = h_rcpt_pre, .rcpt = h_rcpt,
  .data = h_data, .data_headers_end = h_data_headers_end,
  .data_post_headers = h_data_post_headers, .data_post = h_data_post,
  .queue_pre = h_queue_pre, .queue = h_queue, .queue_post = h_queue_post,
  .vrfy = h_vrfy, .noop = h_noop, .help = h_help, .quit = h_quit,
  .unrecognized_command = h_unrecognized_command, .received_line = h_received_line,
};
