/* The SMTP engine (RFC 5321): the command table, the session and
   transaction state, and the reply each hook result produces. Reply texts
   follow Perl qpsmtpd, with RFC 3463 enhanced codes. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <case.h>
#include <fmt.h>
#include <scan.h>
#include "addr.h"
#include "auth.h"
#include "authres.h"
#include "data.h"
#include "hooks.h"
#include "hookreply.h"
#include "io.h"
#include "line.h"
#include "log.h"
#include "notes.h"
#include "received.h"
#include "reply.h"
#include "sasl.h"
#include "session.h"
#include "smtp.h"
#include "smtp_disconnect.h"
#include "spool.h"
#include "tls.h"
#include "wipe.h"
#include "txn.h"

/* AUTH lines may be longer than other commands (see smtp_run) */
static char line[SASL_LINE_MAX + 1];
static size_t line_len;


/* after a framing error: let the client read our reply before the close,
   instead of resetting the connection under it (bounded in time and size) */
static void drain_and_disconnect(struct session *s)
{
  unsigned long total = 0;
  buffer_flush(s->out);
  shutdown(1, SHUT_WR);
  io_set_deadline(s, 2);
  while (total < (1UL << 20)) {
    ssize_t r = buffer_feed(s->in);
    if (r <= 0) break;
    total += (unsigned long)r;
    buffer_seek(s->in, (size_t)r);
  }
  smtp_disconnect(s, 0);
}

static void after(struct session *s, int act)
{
  if (act == ACT_DISCONNECT || s->disconnecting) smtp_disconnect(s, 0);
  if (act == ACT_RESET) txn_reset(s);
}

static void count_error(struct session *s)
{
  if (++s->errors >= ERRORS_MAX) {
    reply_send(s, R_TOO_MANY_ERRORS);
    smtp_disconnect(s, 0);
  }
}

static const struct hook_reply connect_replies[] = {
  { DENY, R_CONNECT_DENIED, ACT_DISCONNECT },
  { DENY_DISCONNECT, R_CONNECT_DENIED, ACT_DISCONNECT },
  { DENYSOFT, R_CONNECT_DENIED_TEMP, ACT_DISCONNECT },
  { DENYSOFT_DISCONNECT, R_CONNECT_DENIED_TEMP, ACT_DISCONNECT },
  { 0, 0, 0 }
};

static void greet(struct session *s)
{
  stralloc g = {0};
  if (s->conf.greeting.len > 1) {
    if (!stralloc_copy(&g, &s->conf.greeting)) die_nomem(s);
    size_t i;
    int esmtp = 0;
    g.len--;
    for (i = 0; i + 5 <= g.len; ++i)
      if (!memcmp(g.s + i, "ESMTP", 5) && (i == 0 || g.s[i - 1] == ' ')
          && (i + 5 == g.len || g.s[i + 5] == ' ')) esmtp = 1;
    if (!esmtp && !stralloc_cats(&g, " ESMTP")) die_nomem(s);
    reply(s, 220, NULL, g.s, g.len);
    notes_set(&s->notes, "smtpgreeting", "1");
  } else {
    if (!stralloc_copys(&g, s->conf.me.s) || !stralloc_cats(&g, " ESMTP qpsmtpd " VERSION
        " ready; send us your mail, but not your spam.")) die_nomem(s);
    reply(s, 220, NULL, g.s, g.len);
  }
  stralloc_free(&g);
}

/* One command being run: its argument, what its check step found, and
   the reply text of its hook. */
struct cmd {
  const char *arg;
  size_t len;
  stralloc *msg;
  stralloc path;                /* MAIL, RCPT: the address, \0-terminated */
  stralloc params;
  stralloc out;
  unsigned long long chunk;     /* BDAT: the chunk's size */
  int last;                     /* BDAT: LAST */
};

static const struct hook_reply helo_replies[] = {
  { DENY, R_HELO_DENIED, ACT_NONE },
  { DENYSOFT, R_HELO_DENIED_TEMP, ACT_NONE },
  { DENY_DISCONNECT, R_HELO_DENIED, ACT_DISCONNECT },
  { DENYSOFT_DISCONNECT, R_HELO_DENIED_TEMP, ACT_DISCONNECT },
  { 0, 0, 0 }
};
static const struct hook_reply ehlo_replies[] = {
  { DENY, R_EHLO_DENIED, ACT_NONE },
  { DENYSOFT, R_EHLO_DENIED_TEMP, ACT_NONE },
  { DENY_DISCONNECT, R_EHLO_DENIED, ACT_DISCONNECT },
  { DENYSOFT_DISCONNECT, R_EHLO_DENIED_TEMP, ACT_DISCONNECT },
  { 0, 0, 0 }
};

static int hello_check(struct session *s, struct cmd *c, int ehlo)
{
  if (!c->len) { reply_send(s, ehlo ? R_EHLO_NOARG : R_HELO_NOARG); return 0; }
  if (c->len > 255) { reply_send(s, R_HELLO_TOOLONG); return 0; }
  /* a fresh transaction first: the hook may leave notes in it
     (capabilities, tls_enabled). A second HELO or EHLO is allowed and
     resets the transaction as RSET does (RFC 5321 4.1.4): the client
     must start again with MAIL. */
  if (s->hello) qlog(s, LOGINFO, NULL, "a new HELO/EHLO: the transaction is reset");
  txn_reset(s);
  s->hello = 0;
  return 1;
}
static int helo_check(struct session *s, struct cmd *c) { return hello_check(s, c, 0); }
static int ehlo_check(struct session *s, struct cmd *c) { return hello_check(s, c, 1); }

static void hello_proceed(struct session *s, struct cmd *c, int ehlo)
{
  stralloc *r = &s->out2;
  s->hello = ehlo ? HELLO_EHLO : HELLO_HELO;
  if (!stralloc_copyb(&s->hello_host, c->arg, c->len) || !stralloc_0(&s->hello_host)) die_nomem(s);
  s->hello_host.len--;
  if (!stralloc_copys(r, s->conf.me.s) || !stralloc_cats(r, " Hi ") || !stralloc_cat(r, &s->remote_desc)
      || !stralloc_cats(r, " [") || !stralloc_cats(r, s->remote_ip) || !stralloc_cats(r, "]")) die_nomem(s);
  if (!ehlo) {
    if (!stralloc_cats(r, "; I am so happy to meet you.")) die_nomem(s);
  } else {
    const char *caps = notes_get(&s->t.notes, "capabilities");
    /* RFC 6531 3.2: SMTPUTF8 goes with 8BITMIME; CHUNKING: RFC 3030 */
    if (!stralloc_cats(r, "\nPIPELINING\n8BITMIME\nSMTPUTF8\nCHUNKING")) die_nomem(s);
    /* RFC 1870 4: "SIZE" alone when there is no fixed maximum */
    if (!stralloc_cats(r, "\nSIZE")) die_nomem(s);
    if (s->conf.databytes) {
      char num[24];
      if (!stralloc_cats(r, " ") || !stralloc_catb(r, num, fmt_ulong(num, s->conf.databytes))) die_nomem(s);
    }
    if (!stralloc_cats(r, "\nENHANCEDSTATUSCODES")) die_nomem(s);
    if (s->conf.limits_set) {
      /* RFC 9422: what the session enforces, so that senders pace themselves */
      char num[24];
      if (!stralloc_cats(r, "\nLIMITS RCPTMAX=") || !stralloc_catb(r, num, fmt_ulong(num, s->conf.rcpt_max)))
        die_nomem(s);
      if (s->conf.mail_max && (!stralloc_cats(r, " MAILMAX=") || !stralloc_catb(r, num, fmt_ulong(num, s->conf.mail_max))))
        die_nomem(s);
    }
    if (caps && *caps && (!stralloc_cats(r, "\n") || !stralloc_cats(r, caps))) die_nomem(s);
    auth_ehlo(s, r);
  }
  reply(s, 250, NULL, r->s, r->len);
}
static int helo_hook(struct session *s, struct cmd *c)
{
  struct helo_args a = { c->arg, c->len, c->msg };
  return hook_run_helo(s, &a);
}
static int ehlo_hook(struct session *s, struct cmd *c)
{
  struct helo_args a = { c->arg, c->len, c->msg };
  return hook_run_ehlo(s, &a);
}
static void helo_proceed(struct session *s, struct cmd *c, int rc) { (void)rc; hello_proceed(s, c, 0); }
static void ehlo_proceed(struct session *s, struct cmd *c, int rc) { (void)rc; hello_proceed(s, c, 1); }

/* whether MAIL's parameters hold SMTPUTF8 (checked again by mail_params) */
static int has_smtputf8(const stralloc *params)
{
  size_t i = 0;
  while (i < params->len) {
    const char *p = params->s + i;
    size_t l = strlen(p);
    if (l == 8 && !memcmp(p, "smtputf8", 8)) return 1;
    i += l + 1;
  }
  return 0;
}

static int get_path(struct session *s, const char *arg, size_t len, const char *kw,
                    stralloc *path, stralloc *params, int rcpt)
{
  size_t kl = strlen(kw), i;
  long pl;
  struct pre_args a;
  int rc, utf8;
  stralloc out = {0};
  if (len < kl || !case_equalb(arg, kl, kw)) { reply_send(s, R_SYNTAX); return 0; }
  for (i = kl; i < len && arg[i] == ' '; ++i) ;
  arg += i;
  len -= i;
  if (rcpt && !len) { reply_send(s, R_SYNTAX_ADDR); return 0; }
  pl = addr_pathlen(arg, len);
  if (pl < 0) { reply_send(s, R_SYNTAX); return 0; }
  if (addr_params(arg + pl, len - (size_t)pl, params) == -1) {
    reply_send(s, R_SYNTAX_PARAMS);
    return 0;
  }
  /* RFC 6531 3.4: UTF-8 in the envelope only in a transaction whose MAIL
     said SMTPUTF8 (MAIL's path included) */
  utf8 = rcpt ? s->t.smtputf8 : (params->len && has_smtputf8(params));
  a.path = arg;
  a.pathlen = (size_t)pl;
  a.out = &out;
  a.msg = NULL;
  if (!pl && !rcpt) { a.path = "<>"; a.pathlen = 2; }   /* "MAIL FROM:" is the null sender */
  rc = rcpt ? hook_run_rcpt_pre(s, &a) : hook_run_mail_pre(s, &a);
  if (rc == OK && out.len) { a.path = out.s; a.pathlen = out.len; }
  rc = addr_parse(a.path, a.pathlen, (rcpt ? ADDR_RCPT : 0) | (utf8 ? ADDR_UTF8 : 0), path);
  stralloc_free(&out);
  if (rc == ADDR_NEED_UTF8) {
    /* RFC 6531 3.7.4.1 */
    reply_send(s, rcpt ? R_RCPT_NEED_UTF8 : R_MAIL_NEED_UTF8);
    return 0;
  }
  if (rc == ADDR_BAD_UTF8) { reply_send(s, R_BAD_UTF8); return 0; }
  if (rc != ADDR_OK) {
    if (rcpt) reply_send(s, R_RCPT_UNPARSABLE);
    else reply_send(s, R_MAIL_UNPARSABLE);
    return 0;
  }
  return 1;
}


/* RFC 4954 5: AUTH=<> or AUTH=xtext(addr-spec) on MAIL. Only an
   authenticated client's value is trusted; anyone else's is accepted and
   treated as <>. The transaction note auth_sender holds the outcome. */
static int mail_auth_param(struct session *s, const char *v)
{
  stralloc dec = {0}, w = {0}, addr = {0};
  int ok = 0;
  if (addr_xtext(v, strlen(v), &dec) == -1) goto bad;
  if (strcmp(dec.s, "<>")) {
    if (!stralloc_copys(&w, "<") || !stralloc_cats(&w, dec.s) || !stralloc_cats(&w, ">")) die_nomem(s);
    if (addr_parse(w.s, w.len, 0, &addr) != ADDR_OK || !addr.s[0]) goto bad;
  }
  if (!s->authenticated && addr.len) {
    qlogm(s, LOGINFO, NULL, "AUTH=<", addr.s, "> from a client that did not authenticate: treated as <>");
    addr.len = 0;
  } else
    qlogm(s, LOGINFO, NULL, "AUTH=<", addr.len ? addr.s : "", "> kept as auth_sender");
  if (!notes_set(&s->t.notes, "auth_sender", addr.len ? addr.s : "")) die_nomem(s);
  ok = 1;
  goto done;
bad:
  reply_send(s, R_SYNTAX_AUTH_PARAM);
done:
  stralloc_free(&dec);
  stralloc_free(&w);
  stralloc_free(&addr);
  return ok;
}

/* SIZE=digits (RFC 1870 6): more digits than an unsigned 64-bit number
   holds is a syntax error, a number above databytes is 552 */
static int mail_size_param(struct session *s, const char *eq, size_t vl)
{
  unsigned long long v = 0;
  size_t j;
  if (!vl || vl > 20) goto bad;
  for (j = 0; j < vl; ++j) {
    unsigned d;
    if (eq[1 + j] < '0' || eq[1 + j] > '9') goto bad;
    d = (unsigned)(eq[1 + j] - '0');
    if (v > (~0ULL - d) / 10) goto bad;
    v = v * 10 + d;
  }
  if (s->conf.databytes && v > s->conf.databytes) {
    reply_send(s, R_SIZE_EXCEEDED);
    return 0;
  }
  s->t.declared_size = v;
  return 1;
bad:
  reply_send(s, R_SYNTAX_SIZE);
  return 0;
}

/* checks the ESMTP parameters we know; 0 after a reply */
static int mail_params(struct session *s, stralloc *params, int rcpt)
{
  size_t i = 0;
  int seen_size = 0, seen_body = 0, seen_auth = 0, seen_utf8 = 0;
  unsigned int seen_dsn = 0;
  while (i < params->len) {
    const char *p = params->s + i;
    size_t l = strlen(p);
    const char *eq = memchr(p, '=', l);
    size_t kl = eq ? (size_t)(eq - p) : l;
    i += l + 1;
    if (!rcpt && kl == 4 && !memcmp(p, "size", 4)) {
      if (seen_size++) { reply_send(s, R_SYNTAX_SIZE); return 0; }
      if (!mail_size_param(s, eq, eq ? l - kl - 1 : 0)) return 0;
    } else if (!rcpt && kl == 4 && !memcmp(p, "body", 4)) {
      if (seen_body++ || !eq || !(case_equals(eq + 1, "7BIT") || case_equals(eq + 1, "8BITMIME"))) {
        reply_send(s, R_SYNTAX_BODY);
        return 0;
      }
    } else if (!rcpt && kl == 8 && !memcmp(p, "smtputf8", 8)) {
      /* RFC 6531 3.4: no value */
      if (seen_utf8++ || eq) { reply_send(s, R_SYNTAX_PARAMS); return 0; }
      s->t.smtputf8 = 1;
    } else if (!rcpt && kl == 4 && !memcmp(p, "auth", 4) && auth_command_known(s)) {
      if (seen_auth++ || !eq) { reply_send(s, R_SYNTAX_AUTH_PARAM); return 0; }
      if (!mail_auth_param(s, eq + 1)) return 0;
    } else {
      stralloc m = {0};
      int r = smtp_dsn_param(s, p, kl, eq ? eq + 1 : NULL, rcpt, &seen_dsn);
      if (r == 0) return 0;
      if (r == 1) continue;
      if (!stralloc_copys(&m, "Unsupported parameter ") || !stralloc_catb(&m, p, kl)) die_nomem(s);
      reply(s, 555, "5.5.4", m.s, m.len);
      stralloc_free(&m);
      return 0;
    }
  }
  return 1;
}


static const struct hook_reply mail_replies[] = {
  { DENY, R_MAIL_DENIED, ACT_NONE },
  { DENYSOFT, R_MAIL_DENIED_TEMP, ACT_NONE },
  { DENY_DISCONNECT, R_MAIL_DENIED, ACT_DISCONNECT },
  { DENYSOFT_DISCONNECT, R_MAIL_DENIED_421, ACT_DISCONNECT },
  { 0, 0, 0 }
};

static int run_parse_hook(struct session *s, struct cmd *c, int rcpt)
{
  struct parse_args a = { c->arg, c->len, &c->out, NULL };
  int rc = rcpt ? hook_run_rcpt_parse(s, &a) : hook_run_mail_parse(s, &a);
  if (rc_is_deny(rc)) {
    reply_with(s, R_SYNTAX, a.msg->s, a.msg->len);
    if (rc_is_disconnect(rc)) smtp_disconnect(s, 0);
    return 0;
  }
  if (rc == OK && c->out.len) { c->arg = c->out.s; c->len = c->out.len; }
  return 1;
}

/* MAIL and RCPT: the parse hook, the path, the parameters */
static int path_check(struct session *s, struct cmd *c, int rcpt)
{
  if (!run_parse_hook(s, c, rcpt)) return 0;
  if (!get_path(s, c->arg, c->len, rcpt ? "to:" : "from:", &c->path, &c->params, rcpt)) return 0;
  return mail_params(s, &c->params, rcpt);
}

static int mail_hook(struct session *s, struct cmd *c)
{
  struct addr_args a = { c->path.s, c->path.len - 1, c->params.s, c->params.len, c->msg };
  hook_lookahead_mail(s, &a);
  return hook_run_mail(s, &a);
}
static int rcpt_hook(struct session *s, struct cmd *c)
{
  struct addr_args a = { c->path.s, c->path.len - 1, c->params.s, c->params.len, c->msg };
  return hook_run_rcpt(s, &a);
}

static int mail_check(struct session *s, struct cmd *c)
{
  /* a second MAIL starts a new transaction, as in qmail-smtpd */
  txn_reset(s);
  if (s->conf.mail_max && s->mails >= s->conf.mail_max) {
    /* RFC 9422 MAILMAX: the client was told; it reconnects for more */
    qlog(s, LOGINFO, NULL, "maxmail reached, closing connection");
    reply_send(s, R_TOO_MANY_MAILS);
    s->disconnecting = 1;
    return 0;
  }
  return path_check(s, c, 0);
}

static void mail_proceed(struct session *s, struct cmd *c, int rc)
{
  stralloc *text = &s->tmp;
  (void)rc;
  if (!stralloc_copy(&s->t.sender, &c->path)) die_nomem(s);
  s->t.have_sender = 1;
  s->mails++;
  if (!stralloc_copys(text, "<") || !stralloc_catb(text, c->path.s, c->path.len - 1)
      || !stralloc_cats(text, ">, sender OK - how exciting to get mail from you!")) die_nomem(s);
  reply(s, 250, "2.1.0", text->s, text->len);
}

static const struct hook_reply rcpt_replies[] = {
  { DENY, R_RELAY_DENIED, ACT_NONE },
  { DENYSOFT, R_RELAY_DENIED_TEMP, ACT_NONE },
  { DENY_DISCONNECT, R_DELIVERY_DENIED, ACT_DISCONNECT },
  { DENYSOFT_DISCONNECT, R_RELAY_DENIED_421, ACT_DISCONNECT },
  { DECLINED, R_RELAY_UNDECIDED, ACT_NONE },
  { 0, 0, 0 }
};

static int rcpt_check(struct session *s, struct cmd *c)
{
  if (!path_check(s, c, 1)) return 0;
  if (s->t.nrcpt >= s->conf.rcpt_max) { reply_send(s, R_TOO_MANY_RCPTS); return 0; }
  return 1;
}

static void rcpt_proceed(struct session *s, struct cmd *c, int rc)
{
  stralloc *text = &s->tmp;
  (void)rc;
  if (!stralloc_cat(&s->t.rcpts, &c->path)) die_nomem(s);
  s->t.nrcpt++;
  if (s->t.dsn_pending) smtp_dsn_rcpt(s, c->path.s);
  if (!stralloc_copys(text, "<") || !stralloc_catb(text, c->path.s, c->path.len - 1)
      || !stralloc_cats(text, ">, recipient ok")) die_nomem(s);
  reply(s, 250, "2.1.5", text->s, text->len);
}

static const struct hook_reply data_replies[] = {
  { DENY, R_MSG_DENIED, ACT_RESET },
  { DENYSOFT, R_MSG_DENIED_TEMP, ACT_RESET },
  { DENY_DISCONNECT, R_MSG_DENIED, ACT_DISCONNECT },
  { DENYSOFT_DISCONNECT, R_MSG_DENIED_TEMP, ACT_DISCONNECT },
  { 0, 0, 0 }
};
static const struct hook_reply data_post_replies[] = {
  { DENY, R_POST_DENIED, ACT_RESET },
  { DENYSOFT, R_POST_DENIED_TEMP, ACT_RESET },
  { DENY_DISCONNECT, R_POST_DENIED, ACT_DISCONNECT },
  { DENYSOFT_DISCONNECT, R_POST_DENIED_TEMP, ACT_DISCONNECT },
  { 0, 0, 0 }
};
static const struct hook_reply queue_pre_replies[] = {
  { DENY, R_MSG_DENIED, ACT_RESET },
  { DENYSOFT, R_QUEUE_PRE_DENIED_TEMP, ACT_RESET },
  { DENY_DISCONNECT, R_MSG_DENIED, ACT_DISCONNECT },
  { DENYSOFT_DISCONNECT, R_QUEUE_PRE_DENIED_TEMP, ACT_DISCONNECT },
  { 0, 0, 0 }
};
static const struct hook_reply queue_replies[] = {
  { OK, R_QUEUED, ACT_RESET },
  { DENY, R_QUEUE_DENIED, ACT_RESET },
  { DENYSOFT, R_QUEUE_DENIED_TEMP, ACT_RESET },
  { DENY_DISCONNECT, R_QUEUE_DENIED, ACT_DISCONNECT },
  { DENYSOFT_DISCONNECT, R_QUEUE_DENIED_TEMP, ACT_DISCONNECT },
  { DECLINED, R_QUEUE_DECLINED, ACT_RESET },
  { 0, 0, 0 }
};
static void smtp_queue(struct session *s)
{
  struct msg_args a = { NULL };
  struct received_args ra;
  stralloc rl = {0}, out = {0}, hdr = {0};
  unsigned long before;
  int rc;

  hook_run_data_post_headers(s, &a);

  ra.proto = received_proto(s);
  ra.out = &out;
  ra.msg = NULL;
  rc = hook_run_received_line(s, &ra);
  if (rc == OK && out.len) { if (!stralloc_copy(&rl, &out) || !stralloc_0(&rl)) die_nomem(s); }
  else if (!received_build(s, &rl) || !stralloc_0(&rl)) die_nomem(s);
  /* Received goes first, above what plugins added */
  if (!stralloc_copy(&hdr, &s->t.newhdrs)) die_nomem(s);
  s->t.newhdrs.len = 0;
  /* Authentication-Results above Received, as Perl qpsmtpd 1.0; the
     client's that claim to be ours are removed first (a header section too
     large to edit never gets here: R_HEADER_TOO_LARGE) */
  if (authres_remove_claims(s) > 0)
    qlog(s, LOGINFO, NULL, "removed the client's Authentication-Results claiming our authserv-id");
  if (!auth_results_header(s)) die_nomem(s);
  if (!txn_add_header(s, "Received", rl.s) || !stralloc_cat(&s->t.newhdrs, &hdr)) die_nomem(s);
  stralloc_free(&rl);
  stralloc_free(&out);
  stralloc_free(&hdr);

  a.msg = NULL;
  before = s->replies;
  rc = hook_run_data_post(s, &a);
  if (rc_is_deny(rc) || rc == DONE) {
    after(s, hook_respond(s, data_post_replies, rc, a.msg, NULL, before));
    if (rc == DONE) txn_reset(s);
    return;
  }
  a.msg = NULL;
  before = s->replies;
  rc = hook_run_queue_pre(s, &a);
  if (rc_is_deny(rc) || rc == DONE) {
    after(s, hook_respond(s, queue_pre_replies, rc, a.msg, NULL, before));
    if (rc == DONE) txn_reset(s);
    return;
  }
  a.msg = NULL;
  before = s->replies;
  rc = hook_run_queue(s, &a);
  {
    int act = hook_respond(s, queue_replies, rc, a.msg, NULL, before);
    struct queue_post_args p = { rc, &s->out2 };
    s->out2.len = 0;
    hook_run_queue_post(s, &p);
    if (rc != OK && rc != DONE && a.msg->len) log_line(s, LOGERROR, "queue", NULL, a.msg->s, a.msg->len);
    after(s, act);
    txn_reset(s);
  }
}

/* the log line of a client cut off for its data rate: what it sent, in
   how long, and the limits it did not meet */
static void log_slow(struct session *s)
{
  unsigned long long bytes = io_rx_bytes - s->data_rx0, ms, rate;
  long long el = io_now() - s->data_start;
  char nb[FMT_ULONG], nt[FMT_ULONG], nr[FMT_ULONG], nm[FMT_ULONG], ng[FMT_ULONG];
  ms = el > 0 ? (unsigned long long)el : 1;
  if (__builtin_mul_overflow(bytes, 1000ULL, &rate)) rate = bytes / (ms / 1000 + 1);
  else rate /= ms;
  nb[fmt_ulonglong(nb, bytes)] = 0;
  nt[fmt_ulonglong(nt, ms)] = 0;
  nr[fmt_ulonglong(nr, rate)] = 0;
  nm[fmt_ulong(nm, s->conf.data_min_rate)] = 0;
  ng[fmt_ulong(ng, s->conf.data_grace)] = 0;
  qlogm(s, LOGNOTICE, NULL, "DATA too slow: ", nb, " bytes in ", nt, " ms (", nr, " bytes/s), below data_min_rate ",
        nm, " bytes/s after data_rate_grace ", ng, " s; nothing queued");
}


static int data_hook(struct session *s, struct cmd *c)
{
  struct msg_args a = { c->msg };
  return hook_run_data(s, &a);
}

static int data_check(struct session *s, struct cmd *c)
{
  if (c->len) { reply_send(s, R_NO_PARAMS); return 0; }
  return 1;
}

/* DATA or a chunk did not arrive whole: the session ends (never returns) */
static void data_failure(struct session *s, int rc)
{
  switch (rc) {
  case DATA_EOF:
  case DATA_ERROR:
    qlog(s, LOGNOTICE, NULL, "client went away during DATA; nothing queued");
    reply_send(s, R_DATA_INCOMPLETE);
    smtp_disconnect(s, 0);
    break;
  case DATA_TIMEOUT:
    if (s->data_slow) {
      log_slow(s);
      reply_send(s, R_DATA_SLOW);
    } else {
      qlog(s, LOGNOTICE, NULL, "timeout during DATA; nothing queued");
      reply_send(s, R_DATA_TIMEOUT);
    }
    smtp_disconnect(s, 0);
    break;
  case DATA_BARELF:
  case DATA_BARECR:
    qlog(s, LOGNOTICE, NULL, rc == DATA_BARELF ? "bare LF in DATA; message rejected" : "bare CR in DATA; message rejected");
    reply_send(s, rc == DATA_BARELF ? R_DATA_BARELF : R_DATA_BARECR);
    drain_and_disconnect(s);
    break;
  }
  smtp_disconnect(s, 0);
}

/* the whole message is in, by DATA or BDAT: the checks on what it held,
   then the queue */
static void message_end(struct session *s)
{
  if (s->t.toobig) { reply_send(s, R_TOO_BIG); txn_reset(s); return; }
  if (s->t.hdr_toolarge) { reply_send(s, R_HEADER_TOO_LARGE); txn_reset(s); return; }
  if (s->t.longline && s->conf.strict_lines) { reply_send(s, R_LONG_LINE); txn_reset(s); return; }
  if (s->t.hops >= MAXHOPS) { reply_send(s, R_LOOPING); txn_reset(s); return; }
  if (s->t.spoolerr || spool_finish(&s->t.spool) == -1) {
    qlogm(s, LOGERROR, NULL, "cannot store the message: ", strerror(s->t.spoolerr ? s->t.spoolerr : errno));
    reply_send(s, R_LOCAL_ERROR);
    txn_reset(s);
    return;
  }
  smtp_queue(s);
}

static void data_proceed(struct session *s, struct cmd *c, int rc)
{
  (void)c;
  txn_spool_prepare(s);
  reply_send(s, R_GO_AHEAD);
  buffer_flush(s->out);
  io_data_start(s);
  rc = data_read(s);
  io_data_stop(s);
  if (rc != DATA_END) data_failure(s, rc);
  message_end(s);
}

/* BDAT (RFC 3030). The message is framed by the chunks' sizes, so the
   session stays in step whatever a chunk holds: a refused BDAT's chunk is
   read and dropped (RFC 3030 2: pipelined chunks after a failed one),
   and only a size that cannot be read ends the session, as the chunk's
   end is then unknown. The data hook runs at the first chunk; the
   message ends only with the chunk of BDAT ... LAST. */
static void bdat_syntax(struct session *s)
{
  qlog(s, LOGNOTICE, NULL, "BDAT without a size we can read; closing");
  reply_send(s, R_BDAT_SYNTAX);
  drain_and_disconnect(s);
}

static void chunk_discard(struct session *s, unsigned long long n)
{
  int rc;
  io_data_start(s);
  rc = data_chunk(s, n, 0);
  io_data_stop(s);
  if (rc != DATA_END) data_failure(s, rc);
}

/* run_command's refusal of a CMD_CHUNK command: the reply, then the chunk goes */
static void bdat_refused(struct session *s, const char *arg, size_t len, enum reply_id no)
{
  unsigned long long n;
  int last;
  if (data_bdat_arg(arg, len, &n, &last) == -1) bdat_syntax(s);
  reply_send(s, no);
  chunk_discard(s, n);
}

static int bdat_check(struct session *s, struct cmd *c)
{
  if (data_bdat_arg(c->arg, c->len, &c->chunk, &c->last) == -1) bdat_syntax(s);
  return 1;
}

static void bdat_proceed(struct session *s, struct cmd *c, int rc)
{
  struct txn *t = &s->t;
  if (!t->bdat) {
    struct msg_args a = { c->msg };
    const struct hook_reply *r;
    unsigned long before = s->replies;
    rc = hook_run_data(s, &a);
    for (r = data_replies; r->rc && r->rc != rc; ++r) ;
    if (r->rc || rc == DONE) {
      int act = hook_respond(s, data_replies, rc, a.msg, NULL, before);
      if (act != ACT_DISCONNECT && !s->disconnecting) chunk_discard(s, c->chunk);
      after(s, act);
      return;
    }
    txn_spool_prepare(s);
    t->bdat = 1;
    io_data_start(s);
  } else
    io_data_resume(s);
  rc = data_chunk(s, c->chunk, 1);
  io_data_stop(s);
  if (rc != DATA_END) data_failure(s, rc);
  if (c->last) {
    rc = data_chunks_end(s);
    if (rc == DATA_DISCONNECT) smtp_disconnect(s, 0);
  }
  if (t->bdat_bare) {
    qlog(s, LOGNOTICE, NULL, t->bdat_bare == DATA_BARELF ? "bare LF in BDAT; message rejected" : "bare CR in BDAT; message rejected");
    reply_send(s, t->bdat_bare == DATA_BARELF ? R_DATA_BARELF : R_DATA_BARECR);
    txn_reset(s);
    return;
  }
  if (t->toobig) { reply_send(s, R_TOO_BIG); txn_reset(s); return; }
  if (t->hdr_toolarge) { reply_send(s, R_HEADER_TOO_LARGE); txn_reset(s); return; }
  if (!c->last) {
    char num[FMT_ULONG + 16];
    size_t l = fmt_ulonglong(num, c->chunk);
    memcpy(num + l, " octets received", 16);
    reply_with(s, R_CHUNK_OK, num, l + 16);
    return;
  }
  message_end(s);
}

static void rset_proceed(struct session *s, struct cmd *c, int rc)
{
  (void)c; (void)rc;
  txn_reset(s);
  reply_send(s, R_OKAY);
}

static const struct hook_reply noop_replies[] = {
  { DENY, R_NOOP_DENIED, ACT_NONE },
  { DENY_DISCONNECT, R_NOOP_DENIED, ACT_DISCONNECT },
  { 0, 0, 0 }
};

static int noop_hook(struct session *s, struct cmd *c)
{
  struct cmd_args a = { c->arg, c->len, c->msg };
  return hook_run_noop(s, &a);
}

static void noop_proceed(struct session *s, struct cmd *c, int rc)
{
  (void)c; (void)rc;
  reply_send(s, R_OKAY);
}

static const struct hook_reply vrfy_replies[] = {
  { DENY, R_VRFY_DENIED, ACT_RESET },
  { DENY_DISCONNECT, R_VRFY_DENIED, ACT_DISCONNECT },
  { OK, R_VRFY_OK, ACT_NONE },
  { 0, 0, 0 }
};

static int vrfy_hook(struct session *s, struct cmd *c)
{
  struct cmd_args a = { c->arg, c->len, c->msg };
  return hook_run_vrfy(s, &a);
}

static void vrfy_proceed(struct session *s, struct cmd *c, int rc)
{
  (void)c; (void)rc;
  reply_send(s, R_VRFY_DEFAULT);
}

static const struct hook_reply help_replies[] = {
  { DENY, R_HELP_DENIED, ACT_NONE },
  { DENY_DISCONNECT, R_HELP_DENIED, ACT_DISCONNECT },
  { 0, 0, 0 }
};

static int help_hook(struct session *s, struct cmd *c)
{
  struct cmd_args a = { c->arg, c->len, c->msg };
  return hook_run_help(s, &a);
}

static void help_proceed(struct session *s, struct cmd *c, int rc)
{
  if (rc == OK && c->msg->len) { reply(s, 214, "2.0.0", c->msg->s, c->msg->len); return; }
  replys(s, 214, "2.0.0", notes_get(&s->notes, "smtpgreeting")
         ? "This is qpsmtpd\nCommands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP VRFY HELP QUIT\nSee the qpsmtpd(8) manual page."
         : "This is qpsmtpd " VERSION "\nCommands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP VRFY HELP QUIT\nSee the qpsmtpd(8) manual page.");
}

/* DONE: the plugin said goodbye itself */
static const struct hook_reply quit_replies[] = {
  { DONE, R_NONE, ACT_DISCONNECT },
  { 0, 0, 0 }
};

static int quit_hook(struct session *s, struct cmd *c)
{
  struct msg_args a = { c->msg };
  return hook_run_quit(s, &a);
}

static void quit_proceed(struct session *s, struct cmd *c, int rc)
{
  (void)rc;
  if (c->msg->len) reply(s, 221, "2.0.0", c->msg->s, c->msg->len);
  else {
    stralloc *t = &s->tmp;
    if (!stralloc_copys(t, s->conf.me.s) || !stralloc_cats(t, " closing connection. Have a wonderful day.")) die_nomem(s);
    reply(s, 221, "2.0.0", t->s, t->len);
  }
  smtp_disconnect(s, 0);
}

/* when the exchange ends, nothing of the credentials stays, neither in
   the command line nor in what the input buffer handed out */
static void auth_proceed(struct session *s, struct cmd *c, int rc)
{
  (void)rc;
  smtp_auth(s, c->arg, c->len);
  wipe(line, line_len);
  line_wipe_consumed(s->in);
}
static void starttls_proceed(struct session *s, struct cmd *c, int rc) { (void)rc; tls_starttls(s, c->arg, c->len); }

void smtp_connect_greet(struct session *s)
{
  struct msg_args a = { NULL };
  unsigned long before = s->replies;
  int rc = hook_run_connect(s, &a);
  s->relay_at_connect = s->relay_client;
  if (rc_is_deny(rc)) after(s, hook_respond(s, connect_replies, rc, a.msg, NULL, before));
  else if (rc != DONE) greet(s);
}

/* The session's state, as RFC 5321 4.1.4 orders the commands */
_Static_assert(R_COUNT <= 256, "commands[].refuse holds a reply_id in a byte");
enum smtp_state { SMTP_INIT, SMTP_HELO, SMTP_EHLO, SMTP_MAIL, SMTP_RCPT, SMTP_BDAT, SMTP_NSTATES };

static enum smtp_state smtp_state(const struct session *s)
{
  if (s->t.bdat) return SMTP_BDAT;
  if (s->t.nrcpt) return SMTP_RCPT;
  if (s->t.have_sender) return SMTP_MAIL;
  return s->hello == HELLO_EHLO ? SMTP_EHLO : s->hello ? SMTP_HELO : SMTP_INIT;
}

/* command flags */
/* no flag for RFC 2920's sync points: io.c flushes our replies before
   every blocking read, which makes every command one */
#define CMD_PRETLS    2u    /* refused once TLS is on (R_TLS_ACTIVE) */
#define CMD_LONGLINE  4u    /* the line may be SASL_LINE_MAX long (RFC 4954 4), not CMDLINE_MAX */
#define CMD_ADDR_TEXT 8u    /* a hook reply's default text follows "<address>, " */
#define CMD_IF_AUTH   16u   /* exists when an auth plugin offers a mechanism */
#define CMD_IF_TLS    32u   /* exists when the tls plugin is in the chain */
#define CMD_CHUNK     64u   /* a chunk follows the line (BDAT): a refusal reads it and drops it */

/* The command table. A command runs in the states in which it has no
   refusal: otherwise the refusal is its reply. Then, in order: the check
   step (arguments, preconditions; 0 after it replied), the hook step (the
   command's hook with its typed arguments, from the argument or what the
   check step set; its code), the reply the hook's result
   chooses from the command's hook reply table (a DONE not in the table:
   the plugin replied), and otherwise the proceed step. */
struct command {
  const char *verb;
  unsigned char refuse[SMTP_NSTATES];   /* enum reply_id: a byte keeps the table small */
  unsigned int flags;
  int (*hook)(struct session *, struct cmd *);
  const struct hook_reply *replies;
  int (*check)(struct session *, struct cmd *);
  void (*proceed)(struct session *, struct cmd *, int rc);
};

#define TXN_ONLY  { [SMTP_INIT] = R_MAIL_BEFORE_RCPT, [SMTP_HELO] = R_MAIL_BEFORE_RCPT, [SMTP_EHLO] = R_MAIL_BEFORE_RCPT, \
                    [SMTP_BDAT] = R_RCPT_AFTER_BDAT }
static const struct command commands[] = {
  { "ehlo", { 0 }, 0, ehlo_hook, ehlo_replies, ehlo_check, ehlo_proceed },
  { "helo", { 0 }, 0, helo_hook, helo_replies, helo_check, helo_proceed },
  { "mail", { [SMTP_INIT] = R_HELLO_FIRST }, CMD_ADDR_TEXT, mail_hook, mail_replies, mail_check, mail_proceed },
  { "rcpt", TXN_ONLY, 0, rcpt_hook, rcpt_replies, rcpt_check, rcpt_proceed },
  { "data", { [SMTP_INIT] = R_MAIL_FIRST, [SMTP_HELO] = R_MAIL_FIRST, [SMTP_EHLO] = R_MAIL_FIRST,
              [SMTP_MAIL] = R_RCPT_FIRST, [SMTP_BDAT] = R_DATA_AFTER_BDAT }, 0, data_hook, data_replies, data_check,
    data_proceed },
  { "rset", { 0 }, 0, NULL, NULL, NULL, rset_proceed },
  { "noop", { 0 }, 0, noop_hook, noop_replies, NULL, noop_proceed },
  { "vrfy", { 0 }, 0, vrfy_hook, vrfy_replies, NULL, vrfy_proceed },
  { "help", { 0 }, 0, help_hook, help_replies, NULL, help_proceed },
  { "quit", { 0 }, 0, quit_hook, quit_replies, NULL, quit_proceed },
  /* AUTH runs its own hooks (auth_parse, auth-<mech>, auth: auth.c) */
  { "auth", { [SMTP_INIT] = R_AUTH_EHLO_FIRST, [SMTP_HELO] = R_AUTH_HELO, [SMTP_MAIL] = R_AUTH_IN_TXN,
              [SMTP_RCPT] = R_AUTH_IN_TXN, [SMTP_BDAT] = R_AUTH_IN_TXN }, CMD_LONGLINE | CMD_IF_AUTH, NULL, NULL, NULL,
    auth_proceed },
  { "starttls", { [SMTP_MAIL] = R_TLS_IN_TXN, [SMTP_RCPT] = R_TLS_IN_TXN, [SMTP_BDAT] = R_TLS_IN_TXN },
    CMD_PRETLS | CMD_IF_TLS, NULL, NULL, NULL, starttls_proceed },
  /* BDAT runs the data hook itself, at the first chunk (last
     in the table: a plain session's verbs are found before it) */
  { "bdat", { [SMTP_INIT] = R_MAIL_FIRST, [SMTP_HELO] = R_MAIL_FIRST, [SMTP_EHLO] = R_MAIL_FIRST,
              [SMTP_MAIL] = R_RCPT_FIRST }, CMD_CHUNK, NULL, NULL, bdat_check, bdat_proceed },
  { NULL, { 0 }, 0, NULL, NULL, NULL, NULL }
};

/* whether a command exists in this build's chain */
static int command_on(const struct command *c)
{
  if (c->flags & CMD_IF_AUTH) return auth_command_known(NULL);
  if (c->flags & CMD_IF_TLS) {
    static int tls = -1;
    if (tls < 0) {
      unsigned int i;
      tls = 0;
      for (i = 0; i < plugin_chain_len; ++i)
        if (plugin_chain[i].p->flags & PLUGIN_STARTTLS) tls = 1;
    }
    return tls;
  }
  return 1;
}

static void run_command(struct session *s, const struct command *c, const char *arg, size_t len)
{
  struct cmd x;
  enum reply_id no;
  unsigned long before;
  int rc = DECLINED;
  if ((c->flags & CMD_PRETLS) && s->tls) { reply_send(s, R_TLS_ACTIVE); return; }
  no = c->refuse[smtp_state(s)];
  if (no != R_NONE) {
    if (c->flags & CMD_CHUNK) bdat_refused(s, arg, len, no);
    else reply_send(s, no);
    return;
  }
  memset(&x, 0, sizeof x);
  x.arg = arg;
  x.len = len;
  x.msg = &s->msg;
  if (!c->check || c->check(s, &x)) {
    before = s->replies;
    if (c->hook) rc = c->hook(s, &x);
    if (c->replies) {
      const struct hook_reply *t;
      for (t = c->replies; t->rc && t->rc != rc; ++t) ;
      if (t->rc || rc == DONE) {
        after(s, hook_respond(s, c->replies, rc, x.msg, (c->flags & CMD_ADDR_TEXT) ? &x.path : NULL, before));
        goto done;
      }
    }
    c->proceed(s, &x, rc);
  }
done:
  stralloc_free(&x.path);
  stralloc_free(&x.params);
  stralloc_free(&x.out);
}

static const struct hook_reply unrec_replies[] = {
  { DENY, R_UNRECOGNIZED, ACT_NONE },
  { DENY_DISCONNECT, R_UNRECOGNIZED_521, ACT_DISCONNECT },
  { DENYSOFT_DISCONNECT, R_UNRECOGNIZED_421, ACT_DISCONNECT },
  { 0, 0, 0 }
};

static void unrecognized(struct session *s, const char *verb, const char *rest, size_t restlen)
{
  struct unrecognized_args a = { verb, strlen(verb), rest, restlen, NULL };
  unsigned long before = s->replies;
  int rc = hook_run_unrecognized_command(s, &a);
  if (rc == DONE) { if (s->replies == before) reply_send(s, R_INTERNAL_DONE); return; }
  if (rc == DENY || rc_is_disconnect(rc)) after(s, hook_respond(s, unrec_replies, rc, a.msg, NULL, before));
  else reply_send(s, R_UNRECOGNIZED);
  count_error(s);
}

static void dispatch(struct session *s, char *x, size_t len)
{
  size_t v = 0, r;
  const struct command *c = NULL;
  char verb[13];
  while (v < len && x[v] != ' ') ++v;
  for (r = v; r < len && x[r] == ' '; ++r) ;
  if (v >= 1 && v <= 12) {
    size_t i;
    for (i = 0; i < v; ++i) {
      char ch = x[i];
      if (ch >= 'A' && ch <= 'Z') ch = (char)(ch + 32);
      verb[i] = ch;
    }
    verb[v] = 0;
    for (c = commands; c->verb; ++c)
      if (!strcmp(c->verb, verb)) break;
    /* a command whose plugin is not in the chain is unknown, as in Perl */
    if (!c->verb || !command_on(c)) c = NULL;
  } else {
    v = v > 12 ? 12 : v;
    memcpy(verb, x, v);
    verb[v] = 0;
  }
  if (len + 2 > CMDLINE_MAX && !(c && (c->flags & CMD_LONGLINE))) {
    reply_send(s, R_LINE_TOOLONG);
    count_error(s);
    return;
  }
  if (c) {
    size_t e = len;
    /* trailing spaces are not part of the argument */
    while (e > r && x[e - 1] == ' ') --e;
    run_command(s, c, x + r, e - r);
    return;
  }
  unrecognized(s, verb, x + r, len - r);
}

void smtp_run(struct session *s)
{
  int rc;
  txn_new(s);
  s->txn_exists = 0;
  tls_session_start(s);
  /* the plugins' control files: a bad one is a 421 instead of the greeting */
  if (!hook_plugins_setup(s)) { reply_send(s, R_CONTROL); reply_flush_exit(s, 111); }
  smtp_connect_greet(s);
  for (;;) {
    size_t len = 0;
    if (s->disconnecting) smtp_disconnect(s, 0);
    io_set_deadline(s, s->conf.timeout);
    /* RFC 4954 4: an AUTH line may be 12288 octets; others CMDLINE_MAX
       (dispatch checks which) */
    rc = line_read(s->in, line, SASL_LINE_MAX, &len);
    line_len = rc == LINE_OK ? len : 0;
    switch (rc) {
    case LINE_EOF:
    case LINE_ERROR:
      qlog(s, LOGINFO, NULL, "client closed the connection");
      smtp_disconnect(s, 0);
      break;
    case LINE_TIMEOUT:
      qlog(s, LOGNOTICE, NULL, "timeout waiting for a command");
      reply_send(s, R_TIMEOUT);
      smtp_disconnect(s, 0);
      break;
    case LINE_TOOLONG:
      reply_send(s, R_LINE_TOOLONG);
      count_error(s);
      break;
    case LINE_BARELF:
      reply_send(s, R_CMD_BARELF);
      count_error(s);
      break;
    case LINE_BARECR:
      reply_send(s, R_CMD_BARECR);
      count_error(s);
      break;
    case LINE_NUL:
      reply_send(s, R_CMD_NUL);
      count_error(s);
      break;
    case LINE_8BIT:
      /* RFC 6531: 8-bit bytes only in MAIL's and RCPT's paths, where the
         address parser decides (and refuses them without SMTPUTF8) */
      if (len <= 5 || !(case_equalb(line, 5, "mail ") || case_equalb(line, 5, "rcpt "))) {
        reply_send(s, R_CMD_8BIT);
        count_error(s);
        break;
      }
      /* fall through */
    case LINE_OK:
      line[len] = 0;
      if (s->conf.loglevel >= LOGINFO) log_line(s, LOGINFO, NULL, NULL, line, auth_log_len(line, len));
      dispatch(s, line, len);
      break;
    }
  }
}
