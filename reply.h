/* SMTP replies (reply.c): "code-ecode line" for all lines but the last,
   "code ecode line" for the last (RFC 5321 4.2.1, RFC 2034).
   The replies the core sends, by name: code, RFC 3463 enhanced code and
   text each in one place (reply.c's table). A reply a plugin chooses goes
   through a hook's result instead (smtp.c's hook reply tables). */
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

enum reply_id {
  R_NONE,
  /* engine */
  R_INTERNAL_DONE, R_TOO_MANY_ERRORS, R_UNRECOGNIZED, R_TIMEOUT, R_OKAY,
  R_LINE_TOOLONG, R_CMD_BARELF, R_CMD_BARECR, R_CMD_NUL, R_CMD_8BIT,
  R_SYNTAX, R_NO_PARAMS,
  /* HELO, EHLO */
  R_EHLO_NOARG, R_HELO_NOARG, R_HELLO_TOOLONG, R_HELO_DENIED, R_EHLO_DENIED,
  R_HELO_DENIED_TEMP, R_EHLO_DENIED_TEMP,
  /* MAIL, RCPT */
  R_HELLO_FIRST, R_MAIL_BEFORE_RCPT, R_SYNTAX_ADDR, R_SYNTAX_PARAMS,
  R_MAIL_UNPARSABLE, R_RCPT_UNPARSABLE, R_MAIL_NEED_UTF8, R_RCPT_NEED_UTF8, R_BAD_UTF8,
  R_SYNTAX_AUTH_PARAM, R_SYNTAX_SIZE,
  R_SYNTAX_BODY, R_SIZE_EXCEEDED, R_TOO_MANY_RCPTS, R_TOO_MANY_MAILS,
  R_MAIL_DENIED, R_MAIL_DENIED_TEMP, R_MAIL_DENIED_421, R_RELAY_DENIED, R_RELAY_DENIED_TEMP,
  R_RELAY_DENIED_421,
  R_DELIVERY_DENIED, R_RELAY_UNDECIDED,
  /* DATA and the queue */
  R_MAIL_FIRST, R_RCPT_FIRST, R_GO_AHEAD, R_DATA_INCOMPLETE, R_DATA_SLOW,
  R_DATA_TIMEOUT, R_DATA_BARELF, R_DATA_BARECR, R_TOO_BIG, R_HEADER_TOO_LARGE,
  R_LONG_LINE, R_LOOPING, R_LOCAL_ERROR,
  R_BDAT_SYNTAX, R_CHUNK_OK, R_DATA_AFTER_BDAT, R_RCPT_AFTER_BDAT,
  R_MSG_DENIED, R_MSG_DENIED_TEMP, R_MSG_DENIED_421,
  R_POST_DENIED, R_POST_DENIED_TEMP, R_QUEUE_PRE_DENIED_TEMP,
  R_QUEUED, R_QUEUE_DENIED, R_QUEUE_DENIED_TEMP, R_QUEUE_DECLINED,
  /* other commands */
  R_NOOP_DENIED, R_VRFY_DENIED, R_VRFY_OK, R_VRFY_DEFAULT, R_HELP_DENIED,
  R_UNRECOGNIZED_521, R_UNRECOGNIZED_421,
  /* connect */
  R_CONNECT_DENIED, R_CONNECT_DENIED_TEMP, R_PROXY_BAD, R_PROXY_TIMEOUT,
  /* AUTH */
  R_AUTH_AGAIN, R_AUTH_EHLO_FIRST, R_AUTH_HELO, R_AUTH_IN_TXN, R_AUTH_TLS_FIRST,
  R_AUTH_NOMECH, R_AUTH_FAILED, R_AUTH_TOO_MANY, R_AUTH_CANCELED, R_AUTH_BADB64,
  R_AUTH_TOOLONG, R_AUTH_INVALID,
  /* STARTTLS */
  R_TLS_ACTIVE, R_TLS_UNAVAILABLE, R_TLS_IN_TXN, R_TLS_READY, R_TLS_CONFIG,
  /* fatal */
  R_CONTROL, R_NOMEM,
  R_COUNT
};

struct reply_text {
  unsigned short code;
  unsigned char ec[3];          /* the enhanced code's three numbers; 0 0 0 for none (220, 354) */
  const char *text;
};

extern const struct reply_text reply_texts[R_COUNT];

/* sends reply id */
void reply_send(struct session *s, enum reply_id id);
/* sends reply id's code and enhanced code with text in place of its own
   (a plugin's message); len 0 sends the table's text */
void reply_with(struct session *s, enum reply_id id, const char *text, size_t len);

#endif
