/* Writes SMTP replies: "code-ecode line" for all but the last line,
   "code ecode line" for the last (RFC 5321 4.2.1, RFC 2034). Lines come
   separated by \n; control bytes never reach the client. */
#include <string.h>
#include <unistd.h>
#include <fmt.h>
#include "ecode.h"
#include "log.h"
#include "reply.h"
#include "session.h"
#include "tls.h"

const struct reply_text reply_texts[R_COUNT] = {
  [R_INTERNAL_DONE] = { 451, { 4, 3, 0 }, "Internal error - try again later" },
  [R_TOO_MANY_ERRORS] = { 421, { 4, 7, 0 }, "Too many errors, closing connection" },
  [R_UNRECOGNIZED] = { 500, { 5, 5, 1 }, "Unrecognized command" },
  [R_TIMEOUT] = { 421, { 4, 4, 2 }, "Connection timed out, closing connection" },
  [R_OKAY] = { 250, { 2, 0, 0 }, "OK" },
  [R_LINE_TOOLONG] = { 500, { 5, 5, 2 }, "Line too long" },
  [R_CMD_BARELF] = { 500, { 5, 5, 2 }, "Syntax error: command lines must end with CRLF (bare LF received)" },
  [R_CMD_BARECR] = { 500, { 5, 5, 2 }, "Syntax error: bare CR in command" },
  [R_CMD_NUL] = { 500, { 5, 5, 2 }, "Syntax error: NUL byte in command" },
  [R_CMD_8BIT] = { 500, { 5, 5, 2 }, "Syntax error: 8-bit characters are allowed only in MAIL and RCPT addresses (SMTPUTF8)" },
  [R_SYNTAX] = { 501, { 5, 5, 4 }, "Syntax error in command" },
  [R_NO_PARAMS] = { 501, { 5, 5, 4 }, "Syntax error (no parameters allowed)" },
  [R_EHLO_NOARG] = { 501, { 5, 5, 4 }, "ehlo requires domain/address - see RFC-2821 4.1.1.1" },
  [R_HELO_NOARG] = { 501, { 5, 5, 4 }, "helo requires domain/address - see RFC-2821 4.1.1.1" },
  [R_HELLO_TOOLONG] = { 501, { 5, 5, 4 }, "Syntax error: domain/address too long" },
  [R_HELO_DENIED] = { 550, { 5, 7, 1 }, "HELO denied" },
  [R_EHLO_DENIED] = { 550, { 5, 7, 1 }, "EHLO denied" },
  [R_HELO_DENIED_TEMP] = { 450, { 4, 7, 1 }, "HELO denied" },
  [R_EHLO_DENIED_TEMP] = { 450, { 4, 7, 1 }, "EHLO denied" },
  [R_HELLO_FIRST] = { 503, { 5, 5, 1 }, "please say hello first ..." },
  [R_MAIL_BEFORE_RCPT] = { 503, { 5, 5, 1 }, "Use MAIL before RCPT" },
  [R_SYNTAX_ADDR] = { 501, { 5, 5, 4 }, "Syntax error in address" },
  [R_SYNTAX_PARAMS] = { 501, { 5, 5, 4 }, "Syntax error in parameters" },
  [R_MAIL_UNPARSABLE] = { 501, { 5, 1, 7 }, "could not parse your mail from command" },
  [R_RCPT_UNPARSABLE] = { 501, { 5, 1, 3 }, "could not parse recipient" },
  [R_MAIL_NEED_UTF8] = { 553, { 5, 6, 7 }, "Non-ASCII addresses not permitted for that sender without SMTPUTF8" },
  [R_RCPT_NEED_UTF8] = { 553, { 5, 6, 7 }, "Non-ASCII addresses not permitted for that recipient without SMTPUTF8" },
  [R_BAD_UTF8] = { 501, { 5, 5, 4 }, "Syntax error: the address is not well-formed UTF-8" },
  [R_SYNTAX_AUTH_PARAM] = { 501, { 5, 5, 4 }, "Syntax error in AUTH parameter" },
  [R_SYNTAX_SIZE] = { 501, { 5, 5, 4 }, "Syntax error in SIZE parameter" },
  [R_SYNTAX_BODY] = { 501, { 5, 5, 4 }, "Syntax error in BODY parameter" },
  [R_SIZE_EXCEEDED] = { 552, { 5, 3, 4 }, "Message size exceeds fixed maximum message size" },
  [R_TOO_MANY_RCPTS] = { 452, { 4, 5, 3 }, "Too many recipients" },
  [R_TOO_MANY_MAILS] = { 421, { 4, 7, 0 }, "Too many transactions in this session, closing connection" },
  /* MAIL's texts follow "<address>, " */
  [R_MAIL_DENIED] = { 550, { 5, 7, 1 }, "denied" },
  [R_MAIL_DENIED_TEMP] = { 450, { 4, 7, 1 }, "temporarily denied" },
  [R_MAIL_DENIED_421] = { 421, { 4, 7, 1 }, "temporarily denied" },
  [R_RELAY_DENIED] = { 550, { 5, 7, 1 }, "relaying denied" },
  [R_RELAY_DENIED_TEMP] = { 450, { 4, 7, 1 }, "relaying denied" },
  [R_RELAY_DENIED_421] = { 421, { 4, 7, 1 }, "relaying denied" },
  [R_DELIVERY_DENIED] = { 550, { 5, 7, 1 }, "delivery denied" },
  [R_RELAY_UNDECIDED] = { 450, { 4, 7, 1 }, "No plugin decided if relaying is allowed" },
  [R_MAIL_FIRST] = { 503, { 5, 5, 1 }, "MAIL first" },
  [R_RCPT_FIRST] = { 503, { 5, 5, 1 }, "RCPT first" },
  [R_GO_AHEAD] = { 354, { 0, 0, 0 }, "go ahead" },
  [R_DATA_INCOMPLETE] = { 451, { 4, 3, 0 }, "Incomplete DATA" },
  [R_DATA_SLOW] = { 451, { 4, 4, 2 }, "Data rate too low, closing connection" },
  [R_DATA_TIMEOUT] = { 451, { 4, 4, 2 }, "Timeout during DATA, closing connection" },
  [R_DATA_BARELF] = { 550, { 5, 5, 2 }, "Bare LF received; lines must end with CRLF (RFC 5321 2.3.8). Message not accepted" },
  [R_DATA_BARECR] = { 550, { 5, 5, 2 }, "Bare CR received; lines must end with CRLF (RFC 5321 2.3.8). Message not accepted" },
  [R_TOO_BIG] = { 552, { 5, 3, 4 }, "Message too big!" },
  [R_HEADER_TOO_LARGE] = { 552, { 5, 3, 4 }, "Header section too large" },
  [R_LONG_LINE] = { 552, { 5, 6, 0 }, "Message has a line longer than 998 characters (RFC 5322 2.1.1)" },
  [R_LOOPING] = { 554, { 5, 4, 6 }, "Too many hops, this message is looping" },
  [R_LOCAL_ERROR] = { 451, { 4, 3, 0 }, "Local error in processing; try again later" },
  [R_BDAT_SYNTAX] = { 501, { 5, 5, 4 }, "Syntax error in BDAT (a size in digits, then LAST or nothing): the chunk's end is unknown, closing connection" },
  [R_CHUNK_OK] = { 250, { 2, 0, 0 }, "octets received" },
  [R_DATA_AFTER_BDAT] = { 503, { 5, 5, 1 }, "DATA is not allowed after BDAT; end the message with BDAT LAST" },
  [R_RCPT_AFTER_BDAT] = { 503, { 5, 5, 1 }, "RCPT is not allowed after BDAT" },
  [R_MSG_DENIED] = { 554, { 5, 7, 1 }, "Message denied" },
  [R_MSG_DENIED_TEMP] = { 451, { 4, 7, 1 }, "Message denied temporarily" },
  [R_MSG_DENIED_421] = { 421, { 4, 7, 1 }, "Message denied temporarily" },
  [R_POST_DENIED] = { 552, { 5, 7, 1 }, "Message denied" },
  [R_POST_DENIED_TEMP] = { 452, { 4, 7, 1 }, "Message denied temporarily" },
  [R_QUEUE_PRE_DENIED_TEMP] = { 451, { 4, 3, 0 }, "Message denied temporarily" },
  [R_QUEUED] = { 250, { 2, 0, 0 }, "Queued" },
  [R_QUEUE_DENIED] = { 554, { 5, 3, 0 }, "Message denied" },
  [R_QUEUE_DENIED_TEMP] = { 451, { 4, 3, 0 }, "Message denied temporarily" },
  [R_QUEUE_DECLINED] = { 451, { 4, 3, 0 }, "Queuing declined or disabled; try again later" },
  [R_NOOP_DENIED] = { 500, { 5, 5, 1 }, "Stop wasting my time." },
  [R_VRFY_DENIED] = { 554, { 5, 7, 1 }, "Access Denied" },
  [R_VRFY_OK] = { 250, { 2, 1, 5 }, "User OK" },
  [R_VRFY_DEFAULT] = { 252, { 2, 5, 2 }, "Just try sending a mail and we'll see how it turns out ..." },
  [R_HELP_DENIED] = { 500, { 5, 5, 1 }, "Syntax error, command not recognized" },
  [R_UNRECOGNIZED_521] = { 521, { 5, 5, 1 }, "Unrecognized command" },
  [R_UNRECOGNIZED_421] = { 421, { 4, 5, 1 }, "Unrecognized command" },
  [R_CONNECT_DENIED] = { 550, { 5, 7, 1 }, "Connection from you denied, bye bye." },
  [R_CONNECT_DENIED_TEMP] = { 450, { 4, 7, 1 }, "Connection from you temporarily denied, bye bye." },
  [R_PROXY_BAD] = { 421, { 4, 7, 0 }, "Bad PROXY protocol header, closing connection" },
  [R_PROXY_TIMEOUT] = { 421, { 4, 4, 2 }, "No PROXY protocol header in time, closing connection" },
  [R_AUTH_AGAIN] = { 503, { 5, 5, 1 }, "but you already said AUTH ..." },
  [R_AUTH_EHLO_FIRST] = { 503, { 5, 5, 1 }, "please say EHLO first ..." },
  [R_AUTH_HELO] = { 503, { 5, 5, 1 }, "AUTH not defined for HELO" },
  [R_AUTH_IN_TXN] = { 503, { 5, 5, 1 }, "AUTH is not allowed during a mail transaction" },
  [R_AUTH_TLS_FIRST] = { 538, { 5, 7, 11 }, "SSL/TLS required before AUTH" },
  [R_AUTH_NOMECH] = { 501, { 5, 5, 4 }, "Syntax error: AUTH needs a mechanism" },
  /* the same text whatever the reason (auth.c) */
  [R_AUTH_FAILED] = { 535, { 5, 7, 8 }, "Authentication failed" },
  [R_AUTH_TOO_MANY] = { 421, { 4, 7, 0 }, "Too many failed AUTH attempts, closing connection" },
  [R_AUTH_CANCELED] = { 501, { 5, 7, 0 }, "Authentication canceled" },
  [R_AUTH_BADB64] = { 501, { 5, 5, 2 }, "Cannot decode the base64 response" },
  [R_AUTH_TOOLONG] = { 500, { 5, 5, 6 }, "Authentication Exchange line is too long" },
  [R_AUTH_INVALID] = { 501, { 5, 5, 2 }, "Invalid authentication string" },
  [R_TLS_ACTIVE] = { 503, { 5, 5, 1 }, "TLS already active" },
  [R_TLS_UNAVAILABLE] = { 454, { 4, 7, 0 }, "TLS not available due to temporary reason" },
  [R_TLS_IN_TXN] = { 503, { 5, 5, 1 }, "STARTTLS not allowed inside a mail transaction" },
  [R_TLS_READY] = { 220, { 2, 0, 0 }, "Ready to start TLS" },
  [R_TLS_CONFIG] = { 421, { 4, 3, 0 }, "TLS configuration error, closing connection" },
  [R_CONTROL] = { 421, { 4, 3, 0 }, "unable to read controls, closing connection" },
  [R_NOMEM] = { 421, { 4, 3, 0 }, "out of memory, closing connection" },
};

/* "d.ddd.ddd " at the start of a line: the text brings its own code */
static int has_ecode(const char *x, size_t len)
{
  size_t n;
  if (len < 6 || x[1] != '.') return 0;   /* most lines: no call */
  n = ecode_scan(x, len);
  return n && n < len && x[n] == ' ' ? (int)n + 1 : 0;
}

static void put_line(struct session *s, unsigned int code, const char *ecode, int last,
                     const char *x, size_t len)
{
  char head[32];
  size_t n = 0, i;
  int own = has_ecode(x, len);
  if (len > 500) len = 500;                 /* RFC 5321 4.5.3.1.5: 512 with code and CRLF */
  n += fmt_ulong(head, code);
  head[n++] = last ? ' ' : '-';
  if (ecode && !own) {
    n += fmt_str(head + n, ecode);
    head[n++] = ' ';
  }
  {
    char lb[600];
    size_t m = n;
    memcpy(lb, head, n);
    for (i = 0; i < len; ++i) {
      unsigned char c = (unsigned char)x[i];
      lb[m++] = (c < 32 || c >= 127) ? '?' : (char)c;
    }
    log_line(s, LOGINFO, NULL, NULL, lb, m);
    lb[m++] = '\r';
    lb[m++] = '\n';
    buffer_put(s->out, lb, m);
  }
}

void reply(struct session *s, unsigned int code, const char *ecode, const char *text, size_t len)
{
  size_t start = 0, i;
  if (code < 200 || code > 599) code = 451;
  /* the enhanced code's class must match the reply's */
  if (ecode && ecode[0] != (char)('0' + code / 100)) ecode = code < 400 ? "2.0.0" : code < 500 ? "4.0.0" : "5.0.0";
  ++s->replies;
  while (len && text[len - 1] == '\n') --len;
  for (i = 0; i <= len; ++i) {
    if (i == len || text[i] == '\n') {
      put_line(s, code, ecode, i == len, text + start, i - start);
      start = i + 1;
    }
  }
}

void reply_with(struct session *s, enum reply_id id, const char *text, size_t len)
{
  const struct reply_text *r = &reply_texts[id];
  char ec[12];
  if (!len) { text = r->text; len = strlen(text); }
  if (r->ec[0]) {
    size_t n = fmt_ulong(ec, r->ec[0]);
    ec[n++] = '.';
    n += fmt_ulong(ec + n, r->ec[1]);
    ec[n++] = '.';
    n += fmt_ulong(ec + n, r->ec[2]);
    ec[n] = 0;
  }
  reply(s, r->code, r->ec[0] ? ec : NULL, text, len);
}

void reply_send(struct session *s, enum reply_id id)
{
  reply_with(s, id, NULL, 0);
}

void replys(struct session *s, unsigned int code, const char *ecode, const char *text)
{
  reply(s, code, ecode, text, strlen(text));
}

void session_reply(struct session *s, unsigned int code, const char *ecode, const char *text)
{
  replys(s, code, ecode, text);
}

void reply_flush(struct session *s)
{
  buffer_flush(s->out);
}

void reply_flush_exit(struct session *s, int code)
{
  buffer_flush(s->out);
  tls_engine_close();
  _exit(code);
}

void die_control(struct session *s, const char *name, const char *why)
{
  qlogm(s, LOGERROR, NULL, "control file ", name, ": ", why);
  reply_send(s, R_CONTROL);
  reply_flush_exit(s, 111);
}

void die_nomem(struct session *s)
{
  qlog(s, LOGCRIT, NULL, "out of memory");
  reply_send(s, R_NOMEM);
  reply_flush_exit(s, 111);
}
