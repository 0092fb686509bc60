/* The end of every session that does not end in main: the disconnect,
   reset_transaction (when a transaction is open) and post-connection
   hooks, then the exit. */
#include <string.h>
#include "hooks.h"
#include "reply.h"
#include "session.h"
#include "smtp_disconnect.h"
#include "spool.h"

void smtp_disconnect(struct session *s, int exitcode)
{
  struct hook_args a;
  memset(&a, 0, sizeof a);
  hook_run(s, HOOK_DISCONNECT, &a);
  if (s->txn_exists) {
    memset(&a, 0, sizeof a);
    hook_run(s, HOOK_RESET_TRANSACTION, &a);
    s->txn_exists = 0;
  }
  memset(&a, 0, sizeof a);
  hook_run(s, HOOK_POST_CONNECTION, &a);
  spool_free(&s->t.spool);
  reply_flush_exit(s, exitcode);
}
