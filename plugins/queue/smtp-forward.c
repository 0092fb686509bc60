/* queue/smtp-forward HOST [PORT] [xclient]: relays the transaction to
   another SMTP server (a content filter, another MTA), like Perl
   qpsmtpd's plugin.

   HOST is an IPv4 or IPv6 address, or a name looked up with the
   djbdns-style resolver (DNSCACHEIP, /etc/resolv.conf); PORT defaults to
   25. We speak ESMTP (HELO when EHLO is refused), send MAIL, every RCPT
   and DATA in one write when the server offers PIPELINING, then the
   message with CRLF line ends and dot-stuffing (RFC 5321 4.5.2).

   The client hears 250 only when the server said 2xx to the final dot.
   Every recipient must be accepted: we already said 250 to each, and we
   cannot take one back. A server's 5xx for MAIL, for DATA, for the dot,
   or for every recipient becomes 554 with the server's text and enhanced
   code; anything else (a 4xx, a mix, a connection lost, the deadline
   timeoutqueue) becomes 451.

   DSN (RFC 3461): RET, ENVID, NOTIFY and ORCPT go on when the server
   offers DSN (RFC 3461 5.2.1). When it does not, they are dropped and
   logged, and (RFC 3461 5.2.2) the recipients that asked NOTIFY=SUCCESS
   get a "relayed" notice (RFC 3464) to the sender, sent to the same
   server right after the message as a second transaction from <>: we
   keep no queue of our own. The client's 250 does not depend on it; a
   notice the server refuses is logged.
   SMTPUTF8 (RFC 6531 3.4): a message received with it goes on with it,
   and only to a server that offers it; to any other it is refused
   (554 5.6.7), never downgraded. With "xclient" (Perl qpsmtpd's flag),
   XCLIENT (Postfix's XCLIENT_README) tells a server that offers it who
   the real client is, with the attributes it lists; then EHLO again
   with the client's HELO name. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fmt.h>
#include <scan.h>
#include <stralloc.h>
#include "plugin.h"
#include "dsn.h"
#include "received.h"

/* libowfat's dns.h pulls in <sys/poll.h>, which musl warns about */
int dns_ip4(stralloc *out, const stralloc *fqdn);

#define NAME "queue/smtp-forward"
#define REPLYLINE_MAX 1024      /* longer reply lines are cut */
#define REPLY_LINES_MAX 100
#define OBUF 65536

struct fwd {
  const char *host;
  unsigned long port;
  int xclient;                  /* send XCLIENT when offered */
};

static int fwd_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct fwd *f;
  unsigned long port = 25;
  int xclient = 0;
  if (argc > 1 && !strcmp(argv[argc - 1], "xclient")) { xclient = 1; --argc; }
  if (argc < 1 || argc > 2 || !argv[0][0]) {
    stralloc_copys(err, NAME ": usage: queue/smtp-forward HOST [PORT] [xclient]");
    return 0;
  }
  if (argc == 2) {
    size_t n = scan_ulong(argv[1], &port);
    if (!n || argv[1][n] || !port || port > 65535) {
      stralloc_copys(err, NAME ": the port is not a number from 1 to 65535: ");
      stralloc_cats(err, argv[1]);
      return 0;
    }
  }
  f = calloc(1, sizeof *f);
  if (!f) { stralloc_copys(err, NAME ": out of memory"); return 0; }
  f->host = argv[0];
  f->port = port;
  f->xclient = xclient;
  *self = f;
  return 1;
}

/* the connection to the server */
struct conn {
  struct session *s;
  int fd;
  char in[4096];
  size_t inpos, inlen;
  char out[OBUF];
  size_t outlen;
  int werr;                     /* a write failed */
  int bol;                      /* the message writer is at a line start */
  int code;                     /* of the last reply; 0 when none came */
  stralloc text;                /* its first line, after the code, cleaned */
  int pipelining, eightbit, size, dsn, smtputf8;
  unsigned int xclient;         /* XCLIENT offered: 1 + a bit per attribute (xclient_attrs) */
};

/* XCLIENT's attributes, as Postfix's XCLIENT_README names them */
static const char *const xclient_attrs[] = { "NAME", "ADDR", "PORT", "PROTO", "HELO", "LOGIN", "DESTADDR", "DESTPORT", NULL };

static int kw(const char *k, const char *w)
{
  size_t n = strlen(w);
  return !strncasecmp(k, w, n) && (!k[n] || k[n] == ' ');
}

static int conn_getc(struct conn *c, char *ch)
{
  if (c->inpos == c->inlen) {
    ssize_t r;
    do r = read(c->fd, c->in, sizeof c->in); while (r < 0 && errno == EINTR && !watchdog_fired());
    if (r <= 0) return -1;
    c->inpos = 0;
    c->inlen = (size_t)r;
  }
  *ch = c->in[c->inpos++];
  return 0;
}

/* one reply, possibly multi-line: code in c->code (0 on EOF, error or
   garbage), the first line's text in c->text; the lines of an EHLO reply
   set the extension flags */
static void conn_reply(struct conn *c, int ehlo)
{
  unsigned int lines = 0;
  c->code = 0;
  c->text.len = 0;
  for (;;) {
    char line[REPLYLINE_MAX];
    size_t n = 0;
    char ch;
    int code;
    for (;;) {
      if (conn_getc(c, &ch) == -1) { c->code = 0; return; }
      if (ch == '\n') break;
      if (n < sizeof line - 1) line[n++] = ch;
    }
    if (n && line[n - 1] == '\r') --n;
    line[n] = 0;
    if (n < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9'
        || line[2] < '0' || line[2] > '9' || (n > 3 && line[3] != ' ' && line[3] != '-')) {
      c->code = 0;
      return;
    }
    code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (lines == 0) {
      size_t i;
      for (i = 4; i < n && c->text.len < 300; ++i) {
        char x = (unsigned char)line[i] >= 0x20 && (unsigned char)line[i] < 0x7f ? line[i] : '?';
        if (!stralloc_append(&c->text, &x)) break;
      }
    } else if (code != c->code) { c->code = 0; return; }
    c->code = code;
    if (ehlo && lines > 0 && n > 4) {
      const char *k = line + 4;
      if (kw(k, "PIPELINING")) c->pipelining = 1;
      if (kw(k, "8BITMIME")) c->eightbit = 1;
      if (kw(k, "SIZE")) c->size = 1;
      if (kw(k, "DSN")) c->dsn = 1;
      if (kw(k, "SMTPUTF8")) c->smtputf8 = 1;
      if (kw(k, "XCLIENT")) {
        const char *a = k + 7;
        unsigned int i;
        c->xclient = 1;
        while (*a == ' ') {
          ++a;
          for (i = 0; xclient_attrs[i]; ++i)
            if (kw(a, xclient_attrs[i])) c->xclient |= 2u << i;
          while (*a && *a != ' ') ++a;
        }
      }
    }
    if (n <= 3 || line[3] == ' ') break;
    if (++lines >= REPLY_LINES_MAX) { c->code = 0; return; }
  }
  if (!stralloc_0(&c->text)) c->code = 0;
  else --c->text.len;
}

static void conn_flush(struct conn *c)
{
  if (!c->werr && c->outlen && fd_write_all(c->fd, c->out, c->outlen) == -1) c->werr = errno ? errno : EIO;
  c->outlen = 0;
}

static void conn_put(struct conn *c, const char *x, size_t len)
{
  while (len) {
    size_t k = sizeof c->out - c->outlen;
    if (!k) { conn_flush(c); continue; }
    if (k > len) k = len;
    memcpy(c->out + c->outlen, x, k);
    c->outlen += k;
    x += k;
    len -= k;
  }
}
static void conn_puts(struct conn *c, const char *x) { conn_put(c, x, strlen(x)); }

/* the message: LF -> CRLF, a leading dot doubled */
static int conn_message(void *ctx, const char *buf, size_t len)
{
  struct conn *c = ctx;
  while (len) {
    const char *nl;
    size_t n;
    if (c->bol && buf[0] == '.') conn_put(c, ".", 1);
    nl = memchr(buf, '\n', len);
    n = nl ? (size_t)(nl - buf) : len;
    conn_put(c, buf, n);
    c->bol = 0;
    if (nl) { conn_put(c, "\r\n", 2); c->bol = 1; ++n; }
    buf += n;
    len -= n;
  }
  return c->werr ? -1 : 0;
}

static int conn_open(struct session *s, const struct fwd *f, struct conn *c)
{
  struct sockaddr_in6 a6;
  struct sockaddr_in a4;
  struct sockaddr *sa;
  socklen_t salen;
  int fam;

  memset(&a4, 0, sizeof a4);
  memset(&a6, 0, sizeof a6);
  if (inet_pton(AF_INET, f->host, &a4.sin_addr) == 1) {
    fam = AF_INET;
  } else if (inet_pton(AF_INET6, f->host, &a6.sin6_addr) == 1) {
    fam = AF_INET6;
  } else {
    stralloc name = {0}, ips = {0};
    int r = stralloc_copys(&name, f->host) ? dns_ip4(&ips, &name) : -1;
    if (r == -1 || ips.len < 4) {
      qlogm(s, LOGERROR, NAME, "cannot find an IPv4 address for ", f->host);
      stralloc_free(&name);
      stralloc_free(&ips);
      errno = EHOSTUNREACH;
      return -1;
    }
    memcpy(&a4.sin_addr, ips.s, 4);
    stralloc_free(&name);
    stralloc_free(&ips);
    fam = AF_INET;
  }
  if (fam == AF_INET) {
    a4.sin_family = AF_INET;
    a4.sin_port = htons((unsigned short)f->port);
    sa = (struct sockaddr *)&a4;
    salen = sizeof a4;
  } else {
    a6.sin6_family = AF_INET6;
    a6.sin6_port = htons((unsigned short)f->port);
    sa = (struct sockaddr *)&a6;
    salen = sizeof a6;
  }
  c->fd = socket(fam, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c->fd == -1) return -1;
  watchdog_set(0, c->fd);
  if (connect(c->fd, sa, salen) == -1) {
    if (watchdog_fired()) errno = ETIMEDOUT;
    return -1;
  }
  return 0;
}

/* the reply for a server's answer: 5xx DENY, everything else DENYSOFT,
   with the server's enhanced code when its class fits */
static int fwd_fail2(struct conn *c, const char *what, stralloc *msg, const struct fwd *f, int perm)
{
  const char *t = c->text.s ? c->text.s : "";
  char cls = perm ? '5' : '4';
  char num[FMT_ULONG];
  size_t i = 0;
  int dots = 0;

  num[fmt_ulong(num, (unsigned long)c->code)] = 0;
  qlogm(c->s, LOGERROR, NAME, "not queued: ", f->host, " answered ", num, " ", t, " to ", what);
  /* "d.d.d " at the start of the text */
  if (t[0] == cls && t[1] == '.') {
    for (i = 2; t[i] && ((t[i] >= '0' && t[i] <= '9') || t[i] == '.'); ++i) if (t[i] == '.') ++dots;
    if (dots != 1 || t[i] != ' ' || t[i - 1] == '.') i = 0;
  }
  if (i) {
    stralloc_copyb(msg, t, i);
    t += i + 1;
  } else stralloc_copys(msg, perm ? "5.3.0" : "4.3.0");
  stralloc_cats(msg, " Upstream server said to ");
  stralloc_cats(msg, what);
  stralloc_cats(msg, ": ");
  stralloc_cats(msg, t);
  return perm ? DENY : DENYSOFT;
}

static int fwd_fail(struct conn *c, const char *what, stralloc *msg, const struct fwd *f)
{
  return fwd_fail2(c, what, msg, f, c->code >= 500);
}

static int fwd_lost(struct conn *c, const char *when, stralloc *msg, const struct fwd *f)
{
  const char *why = watchdog_fired() ? "deadline passed (timeoutqueue)" : c->werr ? strerror(c->werr) : "connection lost or bad reply";
  qlogm(c->s, LOGERROR, NAME, "not queued: ", f->host, " ", when, ": ", why);
  stralloc_copys(msg, watchdog_fired() ? "4.4.2 Upstream server timed out" : "4.4.2 Lost the upstream server");
  return DENYSOFT;
}

/* what the RCPT replies said: how many were accepted, how many refused
   for good, and the first refusal */
struct rcpts { unsigned int ok, perm; int firstbad, badcode; stralloc badtext; };

static void rcpt_tally(struct conn *c, unsigned int i, struct rcpts *r)
{
  if (c->code >= 200 && c->code < 300) { ++r->ok; return; }
  if (c->code >= 500) ++r->perm;
  if (r->firstbad < 0) { r->firstbad = (int)i; stralloc_copy(&r->badtext, &c->text); r->badcode = c->code; }
}

/* how a step of the dialogue ends: go on, QUIT, hang up at once, or a
   refused recipient (after a 354, hanging up is the only way out) */
enum { FWD_ON, FWD_QUIT, FWD_OUT, FWD_RCPTFAIL, FWD_RCPTFAIL_CLOSE };

/* EHLO with our name, or after XCLIENT the client's (as nginx's proxy
   does), when it is one word of printable ASCII */
static void fwd_ehlo(struct session *s, struct conn *c, int client)
{
  const char *h = client ? session_hello_host(s) : NULL;
  size_t i;
  for (i = 0; h && h[i]; ++i)
    if ((unsigned char)h[i] <= 32 || (unsigned char)h[i] >= 127) h = NULL;
  c->pipelining = c->eightbit = c->size = c->dsn = c->smtputf8 = 0;
  c->xclient = 0;
  conn_puts(c, "EHLO "); conn_puts(c, h && *h ? h : session_me(s)); conn_puts(c, "\r\n"); conn_flush(c);
  conn_reply(c, 1);
}

/* one XCLIENT attribute's value: xtext, or [UNAVAILABLE] */
static void xclient_value(stralloc *line, unsigned int a, struct session *s)
{
  const char *v = NULL;
  int v6 = 0;
  switch (a) {
  case 0: v = session_remote_host(s); break;
  case 1: v = session_remote_ip(s); v6 = v && strchr(v, ':'); if (v && !strcmp(v, "unknown")) v = NULL; break;
  case 2: v = session_remote_port(s); break;
  case 3: v = session_hello_ehlo(s) ? "ESMTP" : "SMTP"; break;
  case 4: v = session_hello_host(s); break;
  case 5: v = session_auth_user(s); break;
  case 6: v = session_local_ip(s); v6 = v && strchr(v, ':'); if (v && !strcmp(v, "unknown")) v = NULL; break;
  case 7: v = session_local_port(s); break;
  }
  if (!v || !*v) { stralloc_cats(line, "[UNAVAILABLE]"); return; }
  if (v6) stralloc_cats(line, "IPV6:");
  dsn_xtext_encode(line, v, strlen(v));
}

/* XCLIENT with the real client's attributes that the server named, in
   commands of at most 512 octets; each is answered with a new greeting */
static int fwd_xclient(struct session *s, struct conn *c, stralloc *msg, const struct fwd *f, int *rc)
{
  stralloc line = {0}, one = {0};
  unsigned int i;
  int r = FWD_ON;
  for (i = 0; r == FWD_ON && (xclient_attrs[i] || line.len); ++i) {
    one.len = 0;
    if (xclient_attrs[i] && (c->xclient & (2u << i))) {
      stralloc_copys(&one, " ");
      stralloc_cats(&one, xclient_attrs[i]);
      stralloc_cats(&one, "=");
      xclient_value(&one, i, s);
    }
    if (line.len && (!xclient_attrs[i] || line.len + one.len > 510)) {
      stralloc_cats(&line, "\r\n");
      conn_put(c, line.s, line.len);
      conn_flush(c);
      conn_reply(c, 0);
      if (!c->code) { *rc = fwd_lost(c, "after XCLIENT", msg, f); r = FWD_OUT; }
      /* never as ourselves, and never for good: a next hop that offers
         XCLIENT and refuses ours is misconfigured */
      else if (c->code != 220) { *rc = fwd_fail2(c, "XCLIENT", msg, f, 0); r = FWD_QUIT; }
      line.len = 0;
    }
    if (!xclient_attrs[i]) break;
    if (one.len && !line.len) stralloc_copys(&line, "XCLIENT");
    stralloc_cat(&line, &one);
  }
  stralloc_free(&line);
  stralloc_free(&one);
  if (r == FWD_ON) qlogm(s, LOGINFO, NAME, "XCLIENT to ", f->host, ": client ", session_remote_ip(s));
  return r;
}

/* the greeting, then EHLO (HELO when EHLO is refused); XCLIENT when
   asked for and offered, and EHLO again */
static int fwd_hello(struct session *s, struct conn *c, stralloc *msg, const struct fwd *f, int *rc)
{
  conn_reply(c, 0);
  if (!c->code) { *rc = fwd_lost(c, "before its greeting", msg, f); return FWD_OUT; }
  if (c->code != 220) { *rc = fwd_fail(c, "our connection", msg, f); return FWD_QUIT; }
  fwd_ehlo(s, c, 0);
  if (c->code >= 500) {
    conn_puts(c, "HELO "); conn_puts(c, session_me(s)); conn_puts(c, "\r\n"); conn_flush(c);
    conn_reply(c, 0);
  }
  if (!c->code) { *rc = fwd_lost(c, "after EHLO", msg, f); return FWD_OUT; }
  if (c->code != 250) { *rc = fwd_fail(c, "EHLO/HELO", msg, f); return FWD_QUIT; }
  if (f->xclient && !c->xclient) qlogm(s, LOGINFO, NAME, f->host, " does not offer XCLIENT: not sent");
  if (f->xclient && c->xclient) {
    int r = fwd_xclient(s, c, msg, f, rc);
    if (r != FWD_ON) return r;
    fwd_ehlo(s, c, 1);
    if (!c->code) { *rc = fwd_lost(c, "after EHLO", msg, f); return FWD_OUT; }
    if (c->code != 250) { *rc = fwd_fail(c, "EHLO", msg, f); return FWD_QUIT; }
  }
  return FWD_ON;
}

/* RCPT's DSN parameters (RFC 3461 4.1, 4.2), from its notes */
static void rcpt_dsn(struct session *s, struct conn *c, const char *rcpt)
{
  const char *v;
  if ((v = txn_rcpt_note_get(s, rcpt, "dsn_notify"))) { conn_puts(c, " NOTIFY="); conn_puts(c, v); }
  if ((v = txn_rcpt_note_get(s, rcpt, "dsn_orcpt"))) {
    stralloc e = {0};
    int utf8 = !strncmp(v, "utf-8;", 6);
    const char *a = strchr(v, ';') + 1;
    if (utf8 ? dsn_utf8addr_encode(&e, a, strlen(a)) : dsn_xtext_encode(&e, a, strlen(a))) {
      conn_puts(c, utf8 ? " ORCPT=utf-8;" : " ORCPT=rfc822;");
      conn_put(c, e.s, e.len);
    }
    stralloc_free(&e);
  }
}

/* whether the transaction holds DSN parameters */
static int has_dsn(struct session *s, unsigned int n)
{
  unsigned int i;
  if (note_txn_get(s, "dsn_ret") || note_txn_get(s, "dsn_envid")) return 1;
  for (i = 0; i < n; ++i)
    if (txn_rcpt_note_get(s, txn_rcpt(s, i), "dsn_notify") || txn_rcpt_note_get(s, txn_rcpt(s, i), "dsn_orcpt")) return 1;
  return 0;
}

/* MAIL, each RCPT and DATA, pipelined when the server offers it, up to
   the reply to DATA */
static int fwd_envelope(struct session *s, struct conn *c, const char *sender, unsigned int n,
                        struct rcpts *r, stralloc *msg, const struct fwd *f, int *rc)
{
  char num[FMT_ULONG];
  unsigned int i;
  int datacode;
  if (txn_smtputf8(s) && !c->smtputf8) {
    /* RFC 6531 3.4: never downgraded */
    qlogm(s, LOGERROR, NAME, "not queued: the message needs SMTPUTF8 and ", f->host, " does not offer it");
    stralloc_copys(msg, "5.6.7 The next hop does not support SMTPUTF8; the message cannot be relayed");
    *rc = DENY;
    return FWD_QUIT;
  }
  conn_puts(c, "MAIL FROM:<"); conn_puts(c, sender); conn_puts(c, ">");
  if (c->size) {
    num[fmt_ulonglong(num, txn_data_size(s))] = 0;
    conn_puts(c, " SIZE="); conn_puts(c, num);
  }
  if (c->eightbit) conn_puts(c, " BODY=8BITMIME");
  if (txn_smtputf8(s)) conn_puts(c, " SMTPUTF8");
  if (c->dsn) {
    const char *v;
    if ((v = note_txn_get(s, "dsn_ret"))) { conn_puts(c, " RET="); conn_puts(c, v); }
    if ((v = note_txn_get(s, "dsn_envid"))) {
      stralloc e = {0};
      if (dsn_xtext_encode(&e, v, strlen(v))) { conn_puts(c, " ENVID="); conn_put(c, e.s, e.len); }
      stralloc_free(&e);
    }
  } else if (has_dsn(s, n))
    qlogm(s, LOGINFO, NAME, f->host, " does not offer DSN: RET, ENVID, NOTIFY and ORCPT not passed on");
  conn_puts(c, "\r\n");
  if (!c->pipelining) {
    conn_flush(c);
    conn_reply(c, 0);
    if (!c->code) { *rc = fwd_lost(c, "after MAIL", msg, f); return FWD_OUT; }
    if (c->code != 250) { *rc = fwd_fail(c, "MAIL FROM", msg, f); return FWD_QUIT; }
  }
  for (i = 0; i < n; ++i) {
    conn_puts(c, "RCPT TO:<"); conn_puts(c, txn_rcpt(s, i)); conn_puts(c, ">");
    if (c->dsn) rcpt_dsn(s, c, txn_rcpt(s, i));
    conn_puts(c, "\r\n");
    if (c->pipelining) continue;
    conn_flush(c);
    conn_reply(c, 0);
    if (!c->code) { *rc = fwd_lost(c, "after RCPT", msg, f); return FWD_OUT; }
    rcpt_tally(c, i, r);
  }
  if (!c->pipelining && r->ok < n) return FWD_RCPTFAIL;
  conn_puts(c, "DATA\r\n");
  conn_flush(c);
  if (c->pipelining) {
    conn_reply(c, 0);
    if (!c->code) { *rc = fwd_lost(c, "after MAIL", msg, f); return FWD_OUT; }
    /* on a refused MAIL the rest of the replies still come; we do not
       need them */
    if (c->code != 250) { *rc = fwd_fail(c, "MAIL FROM", msg, f); return FWD_QUIT; }
    for (i = 0; i < n; ++i) {
      conn_reply(c, 0);
      if (!c->code) { *rc = fwd_lost(c, "after RCPT", msg, f); return FWD_OUT; }
      rcpt_tally(c, i, r);
    }
  }
  conn_reply(c, 0);
  datacode = c->code;
  if (!datacode) { *rc = fwd_lost(c, "after DATA", msg, f); return FWD_OUT; }
  if (r->ok < n) return datacode == 354 ? FWD_RCPTFAIL_CLOSE : FWD_RCPTFAIL;
  if (datacode != 354) { *rc = fwd_fail(c, "DATA", msg, f); return FWD_QUIT; }
  return FWD_ON;
}

/* the message, dot-stuffed, and the server's verdict on it */
static int fwd_message(struct session *s, struct conn *c, stralloc *msg, const struct fwd *f, int *rc)
{
  const char *t;
  c->bol = 1;
  if (txn_each(s, conn_message, c) == -1 && !c->werr) c->werr = errno ? errno : EIO;
  if (!c->bol) conn_puts(c, "\r\n");
  conn_puts(c, ".\r\n");
  conn_flush(c);
  if (c->werr) { *rc = fwd_lost(c, "while we sent the message", msg, f); return FWD_OUT; }
  conn_reply(c, 0);
  if (!c->code) { *rc = fwd_lost(c, "after the message", msg, f); return FWD_OUT; }
  if (c->code < 200 || c->code >= 300) { *rc = fwd_fail(c, "the message", msg, f); return FWD_QUIT; }
  qlogm(s, LOGINFO, NAME, "queued by ", f->host, ": ", c->text.s);
  stralloc_copys(msg, "2.0.0 Queued! (upstream: ");
  /* the server's text without its enhanced code */
  t = c->text.s;
  if (t[0] == '2' && t[1] == '.') { const char *sp = strchr(t, ' '); t = sp ? sp + 1 : t; }
  stralloc_cats(msg, t);
  stralloc_cats(msg, ")");
  *rc = OK;
  return FWD_QUIT;
}

/* the header section of the message as queued, for the notice: at most
   RELAYED_HDR_MAX bytes, whole lines */
#define RELAYED_HDR_MAX 65536
static int hdr_collect(void *ctx, const char *buf, size_t len)
{
  stralloc *h = ctx;
  size_t i;
  for (i = 0; i < len; ++i) {
    if (buf[i] == '\n' && (h->len == 0 || h->s[h->len - 1] == '\n')) return -1;  /* the blank line */
    if (h->len >= RELAYED_HDR_MAX) {
      while (h->len && h->s[h->len - 1] != '\n') --h->len;
      return -1;
    }
    if (!stralloc_append(h, buf + i)) return -1;
  }
  return 0;
}

static int has_8bit(const char *x)
{
  for (; *x; ++x)
    if ((unsigned char)*x >= 0x80) return 1;
  return 0;
}

/* one command of the notice's transaction and its reply's code */
static int notice_cmd(struct conn *c, const char *a, const char *b, const char *z)
{
  conn_puts(c, a);
  if (b) conn_puts(c, b);
  conn_puts(c, z);
  conn_flush(c);
  conn_reply(c, 0);
  return c->code;
}

/* RFC 3461 5.2.2 and RFC 3464: the "relayed" notice to the sender for
   the recipients that asked NOTIFY=SUCCESS, after the server that does
   not offer DSN took the message; LF line ends here, made CRLF and
   dot-stuffed by conn_message */
static void fwd_relayed(struct session *s, struct conn *c, const char *sender, unsigned int n, const struct fwd *f)
{
  stralloc m = {0}, hdr = {0}, b = {0};
  char date[RECEIVED_DATE_MAX], num[FMT_ULONG];
  const char *me = session_me(s), *v, *why = 0;
  unsigned int i, want = 0;
  int utf8 = has_8bit(sender), ok;

  for (i = 0; i < n; ++i)
    if ((v = txn_rcpt_note_get(s, txn_rcpt(s, i), "dsn_notify")) && strstr(v, "SUCCESS")) ++want;
  if (!want || !*sender) return;
  for (i = 0; i < n && !utf8; ++i) utf8 = has_8bit(txn_rcpt(s, i));
  if (utf8 && !c->smtputf8) {
    qlogm(s, LOGWARN, NAME, "relayed notice to <", sender, "> not sent: it needs SMTPUTF8 and ", f->host, " does not offer it");
    return;
  }
  txn_each(s, hdr_collect, &hdr);
  /* the boundary: ours, with the process id and time, never in a line of ours */
  ok = stralloc_copys(&b, "qpsmtpd-relayed-") && stralloc_catb(&b, num, fmt_ulong(num, (unsigned long)getpid()))
       && stralloc_cats(&b, ".") && stralloc_catb(&b, num, fmt_ulong(num, (unsigned long)time(NULL)));
  ok = ok && stralloc_cats(&m, "From: Mail Delivery System <MAILER-DAEMON@") && stralloc_cats(&m, me)
       && stralloc_cats(&m, ">\nTo: <") && stralloc_cats(&m, sender)
       && stralloc_cats(&m, ">\nSubject: Delivery Status Notification (relayed)\nDate: ")
       && stralloc_catb(&m, date, received_date(date, time(NULL)))
       && stralloc_cats(&m, "\nMessage-ID: <") && stralloc_cat(&m, &b) && stralloc_cats(&m, "@") && stralloc_cats(&m, me)
       && stralloc_cats(&m, ">\nAuto-Submitted: auto-replied\nMIME-Version: 1.0\n"
                            "Content-Type: multipart/report; report-type=delivery-status;\n\tboundary=\"")
       && stralloc_cat(&m, &b) && stralloc_cats(&m, "\"\n\n--") && stralloc_cat(&m, &b)
       && stralloc_cats(&m, "\nContent-Type: text/plain; charset=us-ascii\n\n"
                            "Your message was relayed to a mail server that does not offer delivery\n"
                            "status notifications: no further notice of its delivery will come.\n\n--")
       && stralloc_cat(&m, &b)
       && stralloc_cats(&m, utf8 ? "\nContent-Type: message/global-delivery-status\n\nReporting-MTA: dns; "
                                 : "\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; ")
       && stralloc_cats(&m, me);
  if (ok && (v = note_txn_get(s, "dsn_envid")))
    ok = stralloc_cats(&m, "\nOriginal-Envelope-Id: ") && stralloc_cats(&m, v);
  ok = ok && stralloc_cats(&m, "\n");
  for (i = 0; ok && i < n; ++i) {
    const char *r = txn_rcpt(s, i);
    if (!(v = txn_rcpt_note_get(s, r, "dsn_notify")) || !strstr(v, "SUCCESS")) continue;
    ok = stralloc_cats(&m, "\n");
    if (ok && (v = txn_rcpt_note_get(s, r, "dsn_orcpt")))
      ok = stralloc_cats(&m, "Original-Recipient: ") && stralloc_cats(&m, v) && stralloc_cats(&m, "\n");
    ok = ok && stralloc_cats(&m, utf8 ? "Final-Recipient: utf-8; " : "Final-Recipient: rfc822; ") && stralloc_cats(&m, r)
         && stralloc_cats(&m, "\nAction: relayed\nStatus: 2.0.0\nRemote-MTA: dns; ") && stralloc_cats(&m, f->host)
         && stralloc_cats(&m, "\nDiagnostic-Code: smtp; ") && stralloc_catb(&m, num, fmt_ulong(num, (unsigned long)c->code))
         && stralloc_cats(&m, " ") && stralloc_cats(&m, c->text.s) && stralloc_cats(&m, "\n");
  }
  ok = ok && stralloc_cats(&m, "\n--") && stralloc_cat(&m, &b)
       && stralloc_cats(&m, utf8 ? "\nContent-Type: message/global-headers\n\n" : "\nContent-Type: text/rfc822-headers\n\n")
       && stralloc_cat(&m, &hdr) && stralloc_cats(&m, "\n--") && stralloc_cat(&m, &b) && stralloc_cats(&m, "--\n");
  if (!ok) { why = "out of memory"; goto out; }
  if (notice_cmd(c, "MAIL FROM:<>", utf8 ? " SMTPUTF8" : 0, "\r\n") != 250) { why = "MAIL FROM:<>"; goto out; }
  if (notice_cmd(c, "RCPT TO:<", sender, ">\r\n") / 100 != 2) { why = "RCPT TO"; goto out; }
  if (notice_cmd(c, "DATA", 0, "\r\n") != 354) { why = "DATA"; goto out; }
  c->bol = 1;
  conn_message(c, m.s, m.len);
  if (notice_cmd(c, ".", 0, "\r\n") / 100 != 2) { why = "the notice"; goto out; }
  num[fmt_ulong(num, want)] = 0;
  qlogm(s, LOGINFO, NAME, "relayed notice for ", num, want == 1 ? " recipient" : " recipients", " sent to <", sender, ">: ", c->text.s);
out:
  if (why) qlogm(s, LOGWARN, NAME, "relayed notice to <", sender, "> not sent: ", f->host, c->code ? " refused " : " failed at ", why);
  stralloc_free(&m);
  stralloc_free(&hdr);
  stralloc_free(&b);
}

/* a recipient was refused: the reply is the first refusal's, permanent
   when every recipient was refused for good */
static int fwd_rcptfail(struct session *s, struct conn *c, struct rcpts *r, unsigned int n,
                        stralloc *msg, const struct fwd *f)
{
  const char *rcpt = txn_rcpt(s, (unsigned int)r->firstbad);
  stralloc what = {0};
  int rc;
  c->code = r->badcode;
  stralloc_copy(&c->text, &r->badtext);
  stralloc_0(&c->text);
  stralloc_copys(&what, "RCPT TO:<");
  stralloc_cats(&what, rcpt ? rcpt : "");
  stralloc_cats(&what, ">");
  stralloc_0(&what);
  rc = fwd_fail2(c, what.s, msg, f, r->perm == n);
  stralloc_free(&what);
  return rc;
}

static int fwd_queue(struct session *s, void *self, struct msg_args *a)
{
  struct fwd *f = self;
  struct conn *c;
  const char *sender = txn_sender(s);
  unsigned int n = txn_rcpt_count(s);
  int rc = DENYSOFT, step;
  struct sigaction ign, oldpipe;
  struct rcpts r = { 0, 0, -1, 0, {0} };

  if (!sender || !n) {
    qlog(s, LOGERROR, NAME, "no sender or no recipients, not queued");
    stralloc_copys(a->msg, "4.3.0 internal error: no envelope");
    return DENYSOFT;
  }
  c = calloc(1, sizeof *c);
  if (!c) return hook_nomem(a->msg);
  c->s = s;
  c->fd = -1;
  ign.sa_handler = SIG_IGN; sigemptyset(&ign.sa_mask); ign.sa_flags = 0;
  sigaction(SIGPIPE, &ign, &oldpipe);
  watchdog_start(queue_timeout(s), 0, -1);

  if (conn_open(s, f, c) == -1) {
    qlogm(s, LOGERROR, NAME, "not queued: cannot connect to ", f->host, ": ", strerror(errno));
    stralloc_copys(a->msg, "4.4.1 Cannot reach the upstream server");
    step = FWD_OUT;
  } else {
    step = fwd_hello(s, c, a->msg, f, &rc);
    if (step == FWD_ON) step = fwd_envelope(s, c, sender, n, &r, a->msg, f, &rc);
    if (step == FWD_ON) step = fwd_message(s, c, a->msg, f, &rc);
    if (step == FWD_QUIT && rc == OK && !c->dsn) fwd_relayed(s, c, sender, n, f);
  }
  if (step == FWD_RCPTFAIL_CLOSE) {
    close(c->fd);
    c->fd = -1;
  }
  if (step == FWD_RCPTFAIL || step == FWD_RCPTFAIL_CLOSE) {
    rc = fwd_rcptfail(s, c, &r, n, a->msg, f);
    step = c->fd == -1 ? FWD_OUT : FWD_QUIT;
  }
  if (step == FWD_QUIT) {
    conn_puts(c, "QUIT\r\n");
    conn_flush(c);
  }
  watchdog_stop();
  sigaction(SIGPIPE, &oldpipe, NULL);
  if (c->fd != -1) close(c->fd);
  stralloc_free(&c->text);
  stralloc_free(&r.badtext);
  free(c);
  return rc;
}

static int fwd_ehlo_hook(struct session *s, void *self, struct helo_args *a)
{
  (void)self;
  return queue_dsn_ehlo(s) ? DECLINED : hook_nomem(a->msg);
}

const struct plugin plugin_queue_smtp_forward = {
  .name = NAME,
  .init = fwd_init,
  .ehlo = fwd_ehlo_hook,
  .queue = fwd_queue,
  .flags = PLUGIN_DSN,
};
