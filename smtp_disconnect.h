/* The end of a session (smtp_disconnect.c). */
#ifndef SMTP_DISCONNECT_H
#define SMTP_DISCONNECT_H

struct session;

/* the disconnect, reset_transaction and post-connection hooks, then
   reply_flush_exit with exitcode */
void smtp_disconnect(struct session *s, int exitcode);

#endif
