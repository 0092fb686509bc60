/* The end of every session that does not end in main: the disconnect,
   reset_transaction (when a transaction is open) and post-connection
   hooks, then the exit. */
#include "hooks.h"
#include "reply.h"
#include "session.h"
#include "smtp_disconnect.h"
#include "spool.h"

void smtp_disconnect(struct session *s, int exitcode)
{
  struct msg_args a = { NULL };
  hook_run_disconnect(s, &a);
  if (s->txn_exists) {
    a.msg = NULL;
    hook_run_reset_transaction(s, &a);
    s->txn_exists = 0;
  }
  a.msg = NULL;
  hook_run_post_connection(s, &a);
  spool_free(&s->t.spool);
  reply_flush_exit(s, exitcode);
}
