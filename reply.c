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
  replys(s, 421, "4.3.0", "unable to read controls, closing connection");
  reply_flush_exit(s, 111);
}

void die_nomem(struct session *s)
{
  qlog(s, LOGCRIT, NULL, "out of memory");
  replys(s, 421, "4.3.0", "out of memory, closing connection");
  reply_flush_exit(s, 111);
}
