/* SMTP replies (reply.c): "code-ecode line" for all lines but the last,
   "code ecode line" for the last (RFC 5321 4.2.1, RFC 2034). */
#ifndef REPLY_H
#define REPLY_H

#include <stddef.h>

struct session;

void reply(struct session *s, unsigned int code, const char *ecode, const char *text, size_t len);
void replys(struct session *s, unsigned int code, const char *ecode, const char *text);
void reply_flush(struct session *s);
/* sends a reply now, for a hook that answers itself and returns DONE;
   lines separated by \n; ecode is the RFC 3463 code, e.g. "2.0.0" */
void session_reply(struct session *s, unsigned int code, const char *ecode, const char *text);

/* a control file exists but cannot be read or parsed: logs the file and
   why, answers 421 and exits */
void die_control(struct session *s, const char *name, const char *why);
/* logs, answers 421 and exits */
void die_nomem(struct session *s);
/* sends no reply: flushes what is buffered for the client, closes TLS
   and exits with code */
void reply_flush_exit(struct session *s, int code);

#endif
