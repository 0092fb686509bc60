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
#include "control.h"
#include "data.h"
#include "hooks.h"
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
#include "txn.h"

/* AUTH lines may be longer than other commands (see smtp_run) */
static char line[SASL_LINE_MAX + 1];

/* what a hook's result makes the core say: per code, the reply code, the
   enhanced code, the default text and what happens next */
enum { ACT_NONE, ACT_RESET, ACT_DISCONNECT };
struct hook_reply { int rc; unsigned short code; const char *ecode; const char *text; int act; };

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

/* sends the reply for rc from table t (terminated by rc 0); returns the
   action; a->msg text replaces the default. DONE sends nothing, but if the
   plugin did not reply itself the client would hang: then 451. */
static int hook_respond(struct session *s, const struct hook_reply *t, int rc, stralloc *msg,
                        const char *deftext, unsigned long replies_before)
{
  for (; t->rc; ++t) {
    if (t->rc != rc) continue;
    if (msg->len) reply(s, t->code, t->ecode, msg->s, msg->len);
    else replys(s, t->code, t->ecode, t->text ? t->text : deftext);
    if (t->act == ACT_DISCONNECT) { s->disconnecting = 1; }
    return t->act;
  }
  if (rc == DONE && s->replies == replies_before) {
    qlog(s, LOGERROR, NULL, "a plugin returned DONE without replying");
    replys(s, 451, "4.3.0", "Internal error - try again later");
  }
  return ACT_NONE;
}

static void after(struct session *s, int act)
{
  if (act == ACT_DISCONNECT || s->disconnecting) smtp_disconnect(s, 0);
  if (act == ACT_RESET) txn_reset(s);
}

static void count_error(struct session *s)
{
  if (++s->errors >= ERRORS_MAX) {
    replys(s, 421, "4.7.0", "Too many errors, closing connection");
    smtp_disconnect(s, 0);
  }
}

static const struct hook_reply connect_replies[] = {
  { DENY, 550, "5.7.1", "Connection from you denied, bye bye.", ACT_DISCONNECT },
  { DENY_DISCONNECT, 550, "5.7.1", "Connection from you denied, bye bye.", ACT_DISCONNECT },
  { DENYSOFT, 450, "4.7.1", "Connection from you temporarily denied, bye bye.", ACT_DISCONNECT },
  { DENYSOFT_DISCONNECT, 450, "4.7.1", "Connection from you temporarily denied, bye bye.", ACT_DISCONNECT },
  { 0, 0, 0, 0, 0 }
};

static void greet(struct session *s)
{
  stralloc g = {0};
  if (control_readline(s, "smtpgreeting", &g) && g.len > 1) {
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
    if (!stralloc_copys(&g, s->me.s) || !stralloc_cats(&g, " ESMTP qpsmtpd " VERSION
        " ready; send us your mail, but not your spam.")) die_nomem(s);
    reply(s, 220, NULL, g.s, g.len);
  }
  stralloc_free(&g);
}

static const struct hook_reply helo_replies[] = {
  { DENY, 550, "5.7.1", NULL, ACT_NONE },
  { DENYSOFT, 450, "4.7.1", NULL, ACT_NONE },
  { DENY_DISCONNECT, 550, "5.7.1", NULL, ACT_DISCONNECT },
  { DENYSOFT_DISCONNECT, 450, "4.7.1", NULL, ACT_DISCONNECT },
  { 0, 0, 0, 0, 0 }
};

static void smtp_hello(struct session *s, const char *arg, size_t len, int ehlo)
{
  struct hook_args a;
  unsigned long before = s->replies;
  int rc;
  stralloc *r = &s->out2;
  if (!len) {
    replys(s, 501, "5.5.4", ehlo ? "ehlo requires domain/address - see RFC-2821 4.1.1.1"
                                 : "helo requires domain/address - see RFC-2821 4.1.1.1");
    return;
  }
  if (len > 255) { replys(s, 501, "5.5.4", "Syntax error: domain/address too long"); return; }
  /* a fresh transaction first: the hook may leave notes in it
     (capabilities, tls_enabled). A second HELO or EHLO is allowed and
     resets the transaction as RSET does (RFC 5321 4.1.4): the client
     must start again with MAIL. */
  if (s->hello) qlog(s, LOGINFO, NULL, "a new HELO/EHLO: the transaction is reset");
  txn_reset(s);
  s->hello = 0;
  memset(&a, 0, sizeof a);
  a.arg = arg;
  a.arglen = len;
  rc = hook_run(s, ehlo ? HOOK_EHLO : HOOK_HELO, &a);
  if (rc == DENY || rc == DENYSOFT || rc == DENY_DISCONNECT || rc == DENYSOFT_DISCONNECT || rc == DONE) {
    after(s, hook_respond(s, helo_replies, rc, a.msg, ehlo ? "EHLO denied" : "HELO denied", before));
    return;
  }
  s->hello = ehlo ? HELLO_EHLO : HELLO_HELO;
  if (!stralloc_copyb(&s->hello_host, arg, len) || !stralloc_0(&s->hello_host)) die_nomem(s);
  s->hello_host.len--;
  if (!stralloc_copys(r, s->me.s) || !stralloc_cats(r, " Hi ") || !stralloc_cat(r, &s->remote_desc)
      || !stralloc_cats(r, " [") || !stralloc_cats(r, s->remote_ip) || !stralloc_cats(r, "]")) die_nomem(s);
  if (!ehlo) {
    if (!stralloc_cats(r, "; I am so happy to meet you.")) die_nomem(s);
  } else {
    const char *caps = notes_get(&s->t.notes, "capabilities");
    if (!stralloc_cats(r, "\nPIPELINING\n8BITMIME")) die_nomem(s);
    /* RFC 1870 4: "SIZE" alone when there is no fixed maximum */
    if (!stralloc_cats(r, "\nSIZE")) die_nomem(s);
    if (s->databytes) {
      char num[24];
      if (!stralloc_cats(r, " ") || !stralloc_catb(r, num, fmt_ulong(num, s->databytes))) die_nomem(s);
    }
    if (!stralloc_cats(r, "\nENHANCEDSTATUSCODES")) die_nomem(s);
    if (caps && *caps && (!stralloc_cats(r, "\n") || !stralloc_cats(r, caps))) die_nomem(s);
    auth_ehlo(s, r);
  }
  reply(s, 250, NULL, r->s, r->len);
}

/* MAIL and RCPT share the path and parameter handling */
static int get_path(struct session *s, const char *arg, size_t len, const char *kw,
                    enum hook pre, stralloc *path, stralloc *params, int rcpt)
{
  size_t kl = strlen(kw), i;
  long pl;
  struct hook_args a;
  int rc;
  stralloc out = {0};
  if (len < kl || !case_equalb(arg, kl, kw)) { replys(s, 501, "5.5.4", "Syntax error in command"); return 0; }
  for (i = kl; i < len && arg[i] == ' '; ++i) ;
  arg += i;
  len -= i;
  if (rcpt && !len) { replys(s, 501, "5.5.4", "Syntax error in address"); return 0; }
  if (rcpt && !s->t.have_sender) { replys(s, 503, "5.5.1", "Use MAIL before RCPT"); return 0; }
  pl = addr_pathlen(arg, len);
  if (pl < 0) { replys(s, 501, "5.5.4", "Syntax error in command"); return 0; }
  if (addr_params(arg + pl, len - (size_t)pl, params) == -1) {
    replys(s, 501, "5.5.4", "Syntax error in parameters");
    return 0;
  }
  memset(&a, 0, sizeof a);
  a.arg = arg;
  a.arglen = (size_t)pl;
  a.out = &out;
  if (!pl && !rcpt) { a.arg = "<>"; a.arglen = 2; }   /* "MAIL FROM:" is the null sender */
  rc = hook_run(s, pre, &a);
  if (rc == OK && out.len) { a.arg = out.s; a.arglen = out.len; }
  rc = addr_parse(a.arg, a.arglen, rcpt, path);
  stralloc_free(&out);
  if (rc != ADDR_OK) {
    if (rcpt) replys(s, 501, "5.1.3", "could not parse recipient");
    else replys(s, 501, "5.1.7", "could not parse your mail from command");
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
  replys(s, 501, "5.5.4", "Syntax error in AUTH parameter");
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
  if (s->databytes && v > s->databytes) {
    replys(s, 552, "5.3.4", "Message size exceeds fixed maximum message size");
    return 0;
  }
  s->t.declared_size = v;
  return 1;
bad:
  replys(s, 501, "5.5.4", "Syntax error in SIZE parameter");
  return 0;
}

/* checks the ESMTP parameters we know; 0 after a reply */
static int mail_params(struct session *s, stralloc *params, int rcpt)
{
  size_t i = 0;
  int seen_size = 0, seen_body = 0, seen_auth = 0;
  while (i < params->len) {
    const char *p = params->s + i;
    size_t l = strlen(p);
    const char *eq = memchr(p, '=', l);
    size_t kl = eq ? (size_t)(eq - p) : l;
    i += l + 1;
    if (!rcpt && kl == 4 && !memcmp(p, "size", 4)) {
      if (seen_size++) { replys(s, 501, "5.5.4", "Syntax error in SIZE parameter"); return 0; }
      if (!mail_size_param(s, eq, eq ? l - kl - 1 : 0)) return 0;
    } else if (!rcpt && kl == 4 && !memcmp(p, "body", 4)) {
      if (seen_body++ || !eq || !(case_equals(eq + 1, "7BIT") || case_equals(eq + 1, "8BITMIME"))) {
        replys(s, 501, "5.5.4", "Syntax error in BODY parameter");
        return 0;
      }
    } else if (!rcpt && kl == 4 && !memcmp(p, "auth", 4) && auth_command_known(s)) {
      if (seen_auth++ || !eq) { replys(s, 501, "5.5.4", "Syntax error in AUTH parameter"); return 0; }
      if (!mail_auth_param(s, eq + 1)) return 0;
    } else {
      stralloc m = {0};
      if (!stralloc_copys(&m, "Unsupported parameter ") || !stralloc_catb(&m, p, kl)) die_nomem(s);
      reply(s, 555, "5.5.4", m.s, m.len);
      stralloc_free(&m);
      return 0;
    }
  }
  return 1;
}

static const struct hook_reply mail_replies[] = {
  { DENY, 550, "5.7.1", NULL, ACT_NONE },
  { DENYSOFT, 450, "4.7.1", NULL, ACT_NONE },
  { DENY_DISCONNECT, 550, "5.7.1", NULL, ACT_DISCONNECT },
  { DENYSOFT_DISCONNECT, 421, "4.7.1", NULL, ACT_DISCONNECT },
  { 0, 0, 0, 0, 0 }
};

static int run_parse_hook(struct session *s, enum hook h, const char **arg, size_t *len, stralloc *out)
{
  struct hook_args a;
  int rc;
  memset(&a, 0, sizeof a);
  a.arg = *arg;
  a.arglen = *len;
  a.out = out;
  rc = hook_run(s, h, &a);
  if (rc == DENY || rc == DENYSOFT || rc == DENY_DISCONNECT || rc == DENYSOFT_DISCONNECT) {
    if (a.msg->len) reply(s, 501, "5.5.4", a.msg->s, a.msg->len);
    else replys(s, 501, "5.5.4", "Syntax error in command");
    if (rc == DENY_DISCONNECT || rc == DENYSOFT_DISCONNECT) smtp_disconnect(s, 0);
    return 0;
  }
  if (rc == OK && out->len) { *arg = out->s; *len = out->len; }
  return 1;
}

static void smtp_mail(struct session *s, const char *arg, size_t len)
{
  stralloc path = {0}, params = {0}, out = {0}, text = {0};
  struct hook_args a;
  unsigned long before;
  int rc;
  if (!s->hello) { replys(s, 503, "5.5.1", "please say hello first ..."); return; }
  /* a second MAIL starts a new transaction, as in qmail-smtpd */
  txn_reset(s);
  if (!run_parse_hook(s, HOOK_MAIL_PARSE, &arg, &len, &out)) goto done;
  if (!get_path(s, arg, len, "from:", HOOK_MAIL_PRE, &path, &params, 0)) goto done;
  if (!mail_params(s, &params, 0)) goto done;
  memset(&a, 0, sizeof a);
  a.addr = path.s;
  a.addrlen = path.len - 1;
  a.params = params.s;
  a.paramslen = params.len;
  before = s->replies;
  rc = hook_run(s, HOOK_MAIL, &a);
  if (!stralloc_copys(&text, "<") || !stralloc_catb(&text, path.s, path.len - 1)) die_nomem(s);
  if (rc == DENY || rc == DENY_DISCONNECT) { if (!stralloc_cats(&text, ">, denied")) die_nomem(s); }
  else if (!stralloc_cats(&text, ">, temporarily denied")) die_nomem(s);
  if (!stralloc_0(&text)) die_nomem(s);
  if (rc == DENY || rc == DENYSOFT || rc == DENY_DISCONNECT || rc == DENYSOFT_DISCONNECT || rc == DONE) {
    after(s, hook_respond(s, mail_replies, rc, a.msg, text.s, before));
    goto done;
  }
  if (!stralloc_copy(&s->t.sender, &path)) die_nomem(s);
  s->t.have_sender = 1;
  text.len = 0;
  if (!stralloc_copys(&text, "<") || !stralloc_catb(&text, path.s, path.len - 1)
      || !stralloc_cats(&text, ">, sender OK - how exciting to get mail from you!")) die_nomem(s);
  reply(s, 250, "2.1.0", text.s, text.len);
done:
  stralloc_free(&path);
  stralloc_free(&params);
  stralloc_free(&out);
  stralloc_free(&text);
}

static const struct hook_reply rcpt_replies[] = {
  { DENY, 550, "5.7.1", "relaying denied", ACT_NONE },
  { DENYSOFT, 450, "4.7.1", "relaying denied", ACT_NONE },
  { DENY_DISCONNECT, 550, "5.7.1", "delivery denied", ACT_DISCONNECT },
  { DENYSOFT_DISCONNECT, 421, "4.7.1", "relaying denied", ACT_DISCONNECT },
  { DECLINED, 450, "4.7.1", "No plugin decided if relaying is allowed", ACT_NONE },
  { 0, 0, 0, 0, 0 }
};

static void smtp_rcpt(struct session *s, const char *arg, size_t len)
{
  stralloc path = {0}, params = {0}, out = {0}, text = {0};
  struct hook_args a;
  unsigned long before;
  int rc;
  if (!run_parse_hook(s, HOOK_RCPT_PARSE, &arg, &len, &out)) goto done;
  if (!get_path(s, arg, len, "to:", HOOK_RCPT_PRE, &path, &params, 1)) goto done;
  if (!mail_params(s, &params, 1)) goto done;
  if (s->t.nrcpt >= RCPT_MAX) { replys(s, 452, "4.5.3", "Too many recipients"); goto done; }
  memset(&a, 0, sizeof a);
  a.addr = path.s;
  a.addrlen = path.len - 1;
  a.params = params.s;
  a.paramslen = params.len;
  before = s->replies;
  rc = hook_run(s, HOOK_RCPT, &a);
  if (rc != OK) {
    after(s, hook_respond(s, rcpt_replies, rc, a.msg, NULL, before));
    goto done;
  }
  if (!stralloc_cat(&s->t.rcpts, &path)) die_nomem(s);
  s->t.nrcpt++;
  if (!stralloc_copys(&text, "<") || !stralloc_catb(&text, path.s, path.len - 1)
      || !stralloc_cats(&text, ">, recipient ok")) die_nomem(s);
  reply(s, 250, "2.1.5", text.s, text.len);
done:
  stralloc_free(&path);
  stralloc_free(&params);
  stralloc_free(&out);
  stralloc_free(&text);
}

static const struct hook_reply data_replies[] = {
  { DENY, 554, "5.7.1", "Message denied", ACT_RESET },
  { DENYSOFT, 451, "4.7.1", "Message denied temporarily", ACT_RESET },
  { DENY_DISCONNECT, 554, "5.7.1", "Message denied", ACT_DISCONNECT },
  { DENYSOFT_DISCONNECT, 451, "4.7.1", "Message denied temporarily", ACT_DISCONNECT },
  { 0, 0, 0, 0, 0 }
};
static const struct hook_reply data_post_replies[] = {
  { DENY, 552, "5.7.1", "Message denied", ACT_RESET },
  { DENYSOFT, 452, "4.7.1", "Message denied temporarily", ACT_RESET },
  { DENY_DISCONNECT, 552, "5.7.1", "Message denied", ACT_DISCONNECT },
  { DENYSOFT_DISCONNECT, 452, "4.7.1", "Message denied temporarily", ACT_DISCONNECT },
  { 0, 0, 0, 0, 0 }
};
static const struct hook_reply queue_pre_replies[] = {
  { DENY, 554, "5.7.1", "Message denied", ACT_RESET },
  { DENYSOFT, 451, "4.3.0", "Message denied temporarily", ACT_RESET },
  { DENY_DISCONNECT, 554, "5.7.1", "Message denied", ACT_DISCONNECT },
  { DENYSOFT_DISCONNECT, 451, "4.3.0", "Message denied temporarily", ACT_DISCONNECT },
  { 0, 0, 0, 0, 0 }
};
static const struct hook_reply queue_replies[] = {
  { OK, 250, "2.0.0", "Queued", ACT_RESET },
  { DENY, 554, "5.3.0", "Message denied", ACT_RESET },
  { DENYSOFT, 451, "4.3.0", "Message denied temporarily", ACT_RESET },
  { DENY_DISCONNECT, 554, "5.3.0", "Message denied", ACT_DISCONNECT },
  { DENYSOFT_DISCONNECT, 451, "4.3.0", "Message denied temporarily", ACT_DISCONNECT },
  { DECLINED, 451, "4.3.0", "Queuing declined or disabled; try again later", ACT_RESET },
  { 0, 0, 0, 0, 0 }
};

/* after the final dot: headers, data_post, the queue */
static void smtp_queue(struct session *s)
{
  struct hook_args a;
  stralloc rl = {0}, out = {0}, hdr = {0};
  const char *proto;
  unsigned long before;
  int rc;

  memset(&a, 0, sizeof a);
  hook_run(s, HOOK_DATA_POST_HEADERS, &a);

  if (s->hello == HELLO_EHLO)
    proto = s->tls ? (s->authenticated ? "ESMTPSA" : "ESMTPS") : (s->authenticated ? "ESMTPA" : "ESMTP");
  else proto = "SMTP";
  memset(&a, 0, sizeof a);
  a.arg = proto;
  a.arglen = strlen(proto);
  a.out = &out;
  rc = hook_run(s, HOOK_RECEIVED_LINE, &a);
  if (rc == OK && out.len) { if (!stralloc_copy(&rl, &out) || !stralloc_0(&rl)) die_nomem(s); }
  else if (!received_build(s, &rl) || !stralloc_0(&rl)) die_nomem(s);
  /* Received goes first, above what plugins added */
  if (!stralloc_copy(&hdr, &s->t.newhdrs)) die_nomem(s);
  s->t.newhdrs.len = 0;
  /* Authentication-Results above Received, as Perl qpsmtpd 1.0 */
  if (!auth_results_header(s)) die_nomem(s);
  if (!txn_add_header(s, "Received", rl.s) || !stralloc_cat(&s->t.newhdrs, &hdr)) die_nomem(s);
  stralloc_free(&rl);
  stralloc_free(&out);
  stralloc_free(&hdr);

  memset(&a, 0, sizeof a);
  before = s->replies;
  rc = hook_run(s, HOOK_DATA_POST, &a);
  if (rc == DENY || rc == DENYSOFT || rc == DENY_DISCONNECT || rc == DENYSOFT_DISCONNECT || rc == DONE) {
    after(s, hook_respond(s, data_post_replies, rc, a.msg, NULL, before));
    if (rc == DONE) txn_reset(s);
    return;
  }
  memset(&a, 0, sizeof a);
  before = s->replies;
  rc = hook_run(s, HOOK_QUEUE_PRE, &a);
  if (rc == DENY || rc == DENYSOFT || rc == DENY_DISCONNECT || rc == DENYSOFT_DISCONNECT || rc == DONE) {
    after(s, hook_respond(s, queue_pre_replies, rc, a.msg, NULL, before));
    if (rc == DONE) txn_reset(s);
    return;
  }
  memset(&a, 0, sizeof a);
  before = s->replies;
  rc = hook_run(s, HOOK_QUEUE, &a);
  {
    int act = hook_respond(s, queue_replies, rc, a.msg, NULL, before);
    struct hook_args p;
    memset(&p, 0, sizeof p);
    p.rc = rc;
    p.msg = &s->out2;
    s->out2.len = 0;
    hook_run(s, HOOK_QUEUE_POST, &p);
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
  nm[fmt_ulong(nm, s->data_min_rate)] = 0;
  ng[fmt_ulong(ng, s->data_grace)] = 0;
  qlogm(s, LOGNOTICE, NULL, "DATA too slow: ", nb, " bytes in ", nt, " ms (", nr, " bytes/s), below data_min_rate ",
        nm, " bytes/s after data_rate_grace ", ng, " s; nothing queued");
}

static void smtp_data(struct session *s, const char *arg, size_t len)
{
  struct hook_args a;
  unsigned long before;
  int rc;
  if (len) { replys(s, 501, "5.5.4", "Syntax error (no parameters allowed)"); return; }
  if (!s->t.have_sender) { replys(s, 503, "5.5.1", "MAIL first"); return; }
  if (!s->t.nrcpt) { replys(s, 503, "5.5.1", "RCPT first"); return; }
  control_data_setup(s);
  memset(&a, 0, sizeof a);
  before = s->replies;
  rc = hook_run(s, HOOK_DATA, &a);
  if (rc == DENY || rc == DENYSOFT || rc == DENY_DISCONNECT || rc == DENYSOFT_DISCONNECT || rc == DONE) {
    after(s, hook_respond(s, data_replies, rc, a.msg, NULL, before));
    return;
  }
  txn_spool_prepare(s);
  replys(s, 354, NULL, "go ahead");
  buffer_flush(s->out);
  io_data_start(s);
  rc = data_read(s);
  io_data_stop(s);
  switch (rc) {
  case DATA_EOF:
  case DATA_ERROR:
    qlog(s, LOGNOTICE, NULL, "client went away during DATA; nothing queued");
    replys(s, 451, "4.3.0", "Incomplete DATA");
    smtp_disconnect(s, 0);
    break;
  case DATA_TIMEOUT:
    if (s->data_slow) {
      log_slow(s);
      replys(s, 451, "4.4.2", "Data rate too low, closing connection");
    } else {
      qlog(s, LOGNOTICE, NULL, "timeout during DATA; nothing queued");
      replys(s, 451, "4.4.2", "Timeout during DATA, closing connection");
    }
    smtp_disconnect(s, 0);
    break;
  case DATA_BARELF:
  case DATA_BARECR:
    qlog(s, LOGNOTICE, NULL, rc == DATA_BARELF ? "bare LF in DATA; message rejected" : "bare CR in DATA; message rejected");
    replys(s, 550, "5.5.2", rc == DATA_BARELF ? "Bare LF received; lines must end with CRLF (RFC 5321 2.3.8). Message not accepted"
                                               : "Bare CR received; lines must end with CRLF (RFC 5321 2.3.8). Message not accepted");
    drain_and_disconnect(s);
    break;
  case DATA_DISCONNECT:
    smtp_disconnect(s, 0);
    break;
  }
  if (s->t.toobig) { replys(s, 552, "5.3.4", "Message too big!"); txn_reset(s); return; }
  if (s->t.hdr_toolarge) { replys(s, 552, "5.3.4", "Header section too large"); txn_reset(s); return; }
  if (s->t.longline && s->strict_lines) {
    replys(s, 552, "5.6.0", "Message has a line longer than 998 characters (RFC 5322 2.1.1)");
    txn_reset(s);
    return;
  }
  if (s->t.hops >= MAXHOPS) { replys(s, 554, "5.4.6", "Too many hops, this message is looping"); txn_reset(s); return; }
  if (s->t.spoolerr || spool_finish(&s->t.spool) == -1) {
    qlogm(s, LOGERROR, NULL, "cannot store the message: ", strerror(s->t.spoolerr ? s->t.spoolerr : errno));
    replys(s, 451, "4.3.0", "Local error in processing; try again later");
    txn_reset(s);
    return;
  }
  smtp_queue(s);
}

static void smtp_rset(struct session *s, const char *arg, size_t len)
{
  (void)arg; (void)len;
  txn_reset(s);
  replys(s, 250, "2.0.0", "OK");
}

static const struct hook_reply noop_replies[] = {
  { DENY, 500, "5.5.1", "Stop wasting my time.", ACT_NONE },
  { DENY_DISCONNECT, 500, "5.5.1", "Stop wasting my time.", ACT_DISCONNECT },
  { 0, 0, 0, 0, 0 }
};

static void smtp_noop(struct session *s, const char *arg, size_t len)
{
  struct hook_args a;
  unsigned long before = s->replies;
  int rc;
  memset(&a, 0, sizeof a);
  a.arg = arg;
  a.arglen = len;
  rc = hook_run(s, HOOK_NOOP, &a);
  if (rc == DENY || rc == DENY_DISCONNECT || rc == DONE) { after(s, hook_respond(s, noop_replies, rc, a.msg, NULL, before)); return; }
  replys(s, 250, "2.0.0", "OK");
}

static const struct hook_reply vrfy_replies[] = {
  { DENY, 554, "5.7.1", "Access Denied", ACT_RESET },
  { DENY_DISCONNECT, 554, "5.7.1", "Access Denied", ACT_DISCONNECT },
  { OK, 250, "2.1.5", "User OK", ACT_NONE },
  { 0, 0, 0, 0, 0 }
};

static void smtp_vrfy(struct session *s, const char *arg, size_t len)
{
  struct hook_args a;
  unsigned long before = s->replies;
  int rc;
  memset(&a, 0, sizeof a);
  a.arg = arg;
  a.arglen = len;
  rc = hook_run(s, HOOK_VRFY, &a);
  if (rc == DENY || rc == DENY_DISCONNECT || rc == OK || rc == DONE) { after(s, hook_respond(s, vrfy_replies, rc, a.msg, NULL, before)); return; }
  replys(s, 252, "2.5.2", "Just try sending a mail and we'll see how it turns out ...");
}

static void smtp_help(struct session *s, const char *arg, size_t len)
{
  struct hook_args a;
  unsigned long before = s->replies;
  int rc;
  memset(&a, 0, sizeof a);
  a.arg = arg;
  a.arglen = len;
  rc = hook_run(s, HOOK_HELP, &a);
  if (rc == DENY || rc == DENY_DISCONNECT) {
    if (a.msg->len) reply(s, 500, "5.5.1", a.msg->s, a.msg->len);
    else replys(s, 500, "5.5.1", "Syntax error, command not recognized");
    if (rc == DENY_DISCONNECT) smtp_disconnect(s, 0);
    return;
  }
  if (rc == DONE) { if (s->replies == before) replys(s, 451, "4.3.0", "Internal error - try again later"); return; }
  if (rc == OK && a.msg->len) { reply(s, 214, "2.0.0", a.msg->s, a.msg->len); return; }
  replys(s, 214, "2.0.0", notes_get(&s->notes, "smtpgreeting")
         ? "This is qpsmtpd\nCommands: HELO EHLO MAIL RCPT DATA RSET NOOP VRFY HELP QUIT\nSee the qpsmtpd(8) manual page."
         : "This is qpsmtpd " VERSION "\nCommands: HELO EHLO MAIL RCPT DATA RSET NOOP VRFY HELP QUIT\nSee the qpsmtpd(8) manual page.");
}

static void smtp_quit(struct session *s, const char *arg, size_t len)
{
  struct hook_args a;
  int rc;
  (void)arg; (void)len;
  memset(&a, 0, sizeof a);
  rc = hook_run(s, HOOK_QUIT, &a);
  if (rc != DONE) {
    if (a.msg->len) reply(s, 221, "2.0.0", a.msg->s, a.msg->len);
    else {
      stralloc t = {0};
      if (!stralloc_copys(&t, s->me.s) || !stralloc_cats(&t, " closing connection. Have a wonderful day.")) die_nomem(s);
      reply(s, 221, "2.0.0", t.s, t.len);
    }
  }
  smtp_disconnect(s, 0);
}

static void smtp_ehlo(struct session *s, const char *arg, size_t len) { smtp_hello(s, arg, len, 1); }
static void smtp_helo(struct session *s, const char *arg, size_t len) { smtp_hello(s, arg, len, 0); }

struct command { const char *verb; void (*fn)(struct session *, const char *, size_t); };
static const struct command commands[] = {
  { "ehlo", smtp_ehlo }, { "helo", smtp_helo }, { "mail", smtp_mail }, { "rcpt", smtp_rcpt },
  { "data", smtp_data }, { "rset", smtp_rset }, { "noop", smtp_noop }, { "vrfy", smtp_vrfy },
  { "help", smtp_help }, { "quit", smtp_quit }, { "auth", smtp_auth }, { NULL, NULL }
};

static const struct hook_reply unrec_replies[] = {
  { DENY, 500, "5.5.1", "Unrecognized command", ACT_NONE },
  { DENY_DISCONNECT, 521, "5.5.1", "Unrecognized command", ACT_DISCONNECT },
  { DENYSOFT_DISCONNECT, 421, "4.5.1", "Unrecognized command", ACT_DISCONNECT },
  { 0, 0, 0, 0, 0 }
};

static void dispatch(struct session *s, char *x, size_t len)
{
  size_t v = 0, r;
  const struct command *c;
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
      if (!strcmp(c->verb, verb)) {
        size_t e = len;
        /* without an auth plugin AUTH is an unknown command, as in Perl */
        if (c->fn == smtp_auth && !auth_command_known(s)) break;
        /* trailing spaces are not part of the argument */
        while (e > r && x[e - 1] == ' ') --e;
        c->fn(s, x + r, e - r);
        return;
      }
  } else {
    v = v > 12 ? 12 : v;
    memcpy(verb, x, v);
    verb[v] = 0;
  }
  {
    struct hook_args a;
    unsigned long before = s->replies;
    int rc;
    memset(&a, 0, sizeof a);
    a.arg = verb;
    a.arglen = strlen(verb);
    a.rest = x + r;
    a.restlen = len - r;
    rc = hook_run(s, HOOK_UNRECOGNIZED_COMMAND, &a);
    if (rc == DONE) { if (s->replies == before) replys(s, 451, "4.3.0", "Internal error - try again later"); return; }
    if (rc == DENY || rc == DENY_DISCONNECT || rc == DENYSOFT_DISCONNECT) {
      after(s, hook_respond(s, unrec_replies, rc, a.msg, NULL, before));
      count_error(s);
      return;
    }
    replys(s, 500, "5.5.1", "Unrecognized command");
    count_error(s);
  }
}

void smtp_run(struct session *s)
{
  struct hook_args a;
  unsigned long before = s->replies;
  int rc;
  txn_new(s);
  s->txn_exists = 0;
  tls_session_start(s);
  memset(&a, 0, sizeof a);
  rc = hook_run(s, HOOK_CONNECT, &a);
  s->relay_at_connect = s->relay_client;
  if (rc == DENY || rc == DENYSOFT || rc == DENY_DISCONNECT || rc == DENYSOFT_DISCONNECT) {
    after(s, hook_respond(s, connect_replies, rc, a.msg, NULL, before));
  } else if (rc != DONE) greet(s);
  for (;;) {
    size_t len = 0;
    if (s->disconnecting) smtp_disconnect(s, 0);
    io_set_deadline(s, s->timeout);
    /* RFC 4954 4: an AUTH line may be 12288 octets; others CMDLINE_MAX */
    rc = line_read(s->in, line, SASL_LINE_MAX, &len);
    if (rc == LINE_OK && len + 2 > CMDLINE_MAX && !(len >= 5 && case_equalb(line, 5, "auth ")))
      rc = LINE_TOOLONG;
    switch (rc) {
    case LINE_OK:
      line[len] = 0;
      if (s->loglevel >= LOGINFO) log_line(s, LOGINFO, NULL, NULL, line, auth_log_len(line, len));
      dispatch(s, line, len);
      break;
    case LINE_EOF:
    case LINE_ERROR:
      qlog(s, LOGINFO, NULL, "client closed the connection");
      smtp_disconnect(s, 0);
      break;
    case LINE_TIMEOUT:
      qlog(s, LOGNOTICE, NULL, "timeout waiting for a command");
      replys(s, 421, "4.4.2", "Connection timed out, closing connection");
      smtp_disconnect(s, 0);
      break;
    case LINE_TOOLONG:
      replys(s, 500, "5.5.2", "Line too long");
      count_error(s);
      break;
    case LINE_BARELF:
      replys(s, 500, "5.5.2", "Syntax error: command lines must end with CRLF (bare LF received)");
      count_error(s);
      break;
    case LINE_BARECR:
      replys(s, 500, "5.5.2", "Syntax error: bare CR in command");
      count_error(s);
      break;
    case LINE_NUL:
      replys(s, 500, "5.5.2", "Syntax error: NUL byte in command");
      count_error(s);
      break;
    case LINE_8BIT:
      replys(s, 500, "5.5.2", "Syntax error: 8-bit characters in a command (SMTPUTF8 is not offered)");
      count_error(s);
      break;
    }
  }
}
