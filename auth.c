/* SMTP AUTH (RFC 4954) with PLAIN (RFC 4616), LOGIN and CRAM-MD5
   (RFC 2195), checked by the auth-<mech> hooks and then the generic auth
   hook, as in Perl qpsmtpd's Qpsmtpd::Auth.

   Differences from Perl, on purpose: AUTH before EHLO, after HELO or in a
   transaction gets 503 (not 500); a cancel (*) always gets 501; malformed
   base64 or a malformed SASL message gets 501; a temporary failure of a
   plugin (DENYSOFT) gets 454; tls_before_auth looks at the channel itself
   (s->tls), not at whether STARTTLS was offered, and gets 538 (RFC 4954 6);
   every failure is counted, a 535 comes after a delay, and the failure that
   reaches the limit gets 421 and the connection is closed. Every 535 has
   the same text (FAILED), whatever the reason: the reply must not tell a
   client whether the user exists or the password was wrong (Perl adds the
   user and the plugin's message); the reason goes to the log. Continuation
   lines have the command deadline. Credentials are never logged and are
   wiped from our buffers after use. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <case.h>
#include <fmt.h>
#include "auth.h"
#include "clock.h"
#include "control.h"
#include "hooks.h"
#include "io.h"
#include "line.h"
#include "log.h"
#include "notes.h"
#include "reply.h"
#include "sasl.h"
#include "session.h"
#include "smtp_disconnect.h"
#include "wipe.h"

#define MECH_PLAIN 1u
#define MECH_LOGIN 2u
#define MECH_CRAM  4u

static const struct mech {
  const char *name;     /* as advertised and in replies */
  const char *lc;       /* as passed to plugins */
  unsigned int bit;
  int (*hook)(struct session *, struct auth_args *);   /* the auth-<mech> hook */
} mechs[] = {
  { "PLAIN", "plain", MECH_PLAIN, hook_run_auth_plain },
  { "LOGIN", "login", MECH_LOGIN, hook_run_auth_login },
  { "CRAM-MD5", "cram-md5", MECH_CRAM, hook_run_auth_cram_md5 },
};
#define NMECHS (sizeof mechs / sizeof mechs[0])

/* Perl's rule: a mechanism is offered when some plugin hooks auth-<mech>;
   a plugin hooking the generic auth hook offers all of them. authdeny
   hooks auth but can check nothing, so it offers nothing. */
static unsigned int mechs_in_chain(void)
{
  static int done;
  static unsigned int m;
  unsigned int i;
  if (done) return m;
  done = 1;
  for (i = 0; i < plugin_chain_len; ++i) {
    const struct plugin *p = plugin_chain[i].p;
    if (p->flags & PLUGIN_AUTH_CHECKS_NOTHING) continue;
    if (p->auth_plain) m |= MECH_PLAIN;
    if (p->auth_login) m |= MECH_LOGIN;
    if (p->auth_cram_md5) m |= MECH_CRAM;
    if (p->auth)
      m |= MECH_PLAIN | MECH_LOGIN | MECH_CRAM;
  }
  return m;
}

int auth_command_known(struct session *s)
{
  (void)s;
  return mechs_in_chain() != 0;
}

/* the EHLO line; nothing when no mechanism may be used now */
void auth_ehlo(struct session *s, stralloc *r)
{
  unsigned int m = mechs_in_chain(), k;
  if (!m) return;
  if (s->conf.tls_before_auth && !s->tls) return;
  if (!stralloc_cats(r, "\nAUTH")) die_nomem(s);
  for (k = 0; k < NMECHS; ++k)
    if (m & mechs[k].bit)
      if (!stralloc_cats(r, " ") || !stralloc_cats(r, mechs[k].name)) die_nomem(s);
}

/* how much of a command line may be logged: for AUTH, only up to the
   mechanism, never the initial response */
size_t auth_log_len(const char *line, size_t len)
{
  size_t i;
  if (len < 5 || !case_equalb(line, 5, "auth ")) return len;
  for (i = 4; i < len && line[i] == ' '; ++i) ;
  while (i < len && line[i] != ' ') ++i;
  return i;
}

/* buffers for client responses and what they decode to; wiped after use.
   Allocated at the first AUTH, so that sessions without AUTH do not carry
   them in their memory. */
struct bufs {
  char r[SASL_LINE_MAX + 1];
  unsigned char u[SASL_DECODED_MAX + 1];
  unsigned char p[SASL_DECODED_MAX + 1];
};
static struct bufs *bufs;
#define rbuf (bufs->r)
#define ubuf (bufs->u)
#define pbuf (bufs->p)

enum { AR_OK, AR_CANCEL, AR_BADB64, AR_MALFORMED, AR_AUTHZID, AR_TOOLONG };

static void wipe_all(struct session *s)
{
  if (bufs) wipe(bufs, sizeof *bufs);
  /* what the input buffer handed out (smtp.c wipes the command line) */
  line_wipe_consumed(s->in);
}

static int decode(const char *x, size_t len, unsigned char *out, size_t *outlen)
{
  long n;
  if (len == 1 && x[0] == '=') { *outlen = 0; return AR_OK; }   /* RFC 4954: empty initial response */
  n = sasl_b64decode(x, len, out, SASL_DECODED_MAX);
  if (n < 0) return AR_BADB64;
  *outlen = (size_t)n;
  return AR_OK;
}

/* sends the challenge and reads one response; a client that goes away or
   times out ends the session here */
static int challenge(struct session *s, const char *b64, size_t b64len, unsigned char *out, size_t *outlen)
{
  size_t len = 0;
  int rc;
  reply(s, 334, NULL, b64, b64len);
  io_set_deadline(s, s->conf.timeout);
  rc = line_read(s->in, rbuf, SASL_LINE_MAX, &len);
  switch (rc) {
  case LINE_OK:
    break;
  case LINE_TOOLONG:
    return AR_TOOLONG;
  case LINE_EOF:
  case LINE_ERROR:
    wipe_all(s);
    qlog(s, LOGINFO, NULL, "client closed the connection during AUTH");
    smtp_disconnect(s, 0);
    return AR_CANCEL;           /* not reached */
  case LINE_TIMEOUT:
    wipe_all(s);
    qlog(s, LOGNOTICE, NULL, "timeout waiting for an AUTH response");
    reply_send(s, R_TIMEOUT);
    smtp_disconnect(s, 0);
    return AR_CANCEL;
  default:
    return AR_BADB64;
  }
  if (len == 1 && rbuf[0] == '*') return AR_CANCEL;
  return decode(rbuf, len, out, outlen);
}

static void make_ticket(struct session *s, stralloc *t)
{
  unsigned char rnd[8];
  char hex[17];
  static const char hd[] = "0123456789abcdef";
  unsigned int i;
  char num[FMT_XLONG];
  const char *me = s->conf.me.s;
  size_t ml = strlen(me);
  if (getrandom(rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t)sizeof rnd) {
    /* uniqueness is what matters here; the time and pid still give it */
    unsigned long v = (unsigned long)getpid() * 2654435761UL ^ (unsigned long)io_now();
    for (i = 0; i < sizeof rnd; ++i) { rnd[i] = (unsigned char)v; v = v * 6364136223846793005ULL + 1; }
  }
  for (i = 0; i < sizeof rnd; ++i) { hex[2 * i] = hd[rnd[i] >> 4]; hex[2 * i + 1] = hd[rnd[i] & 15]; }
  hex[16] = 0;
  if (ml > 255) ml = 255;
  if (!stralloc_copys(t, "<") || !stralloc_cats(t, hex) || !stralloc_cats(t, ".")
      || !stralloc_catb(t, num, fmt_xlong(num, (unsigned long)time(NULL)))
      || !stralloc_cats(t, "@") || !stralloc_catb(t, me, ml) || !stralloc_cats(t, ">")
      || !stralloc_0(t)) die_nomem(s);
  t->len--;
}

/* reply text "<MECH> <what> for <user>[ - <msg's first line>]" */
static void result_text(struct session *s, stralloc *t, const struct mech *m, const char *what,
                        const char *user, const stralloc *msg)
{
  if (!stralloc_copys(t, m->name) || !stralloc_cats(t, what) || !stralloc_cats(t, user)) die_nomem(s);
  if (msg && msg->len) {
    const char *nl = memchr(msg->s, '\n', msg->len);
    if (!stralloc_cats(t, " - ") || !stralloc_catb(t, msg->s, nl ? (size_t)(nl - msg->s) : msg->len))
      die_nomem(s);
  }
}

/* counts a failed attempt; at the limit the reply is 421 and the session ends */
static int failure_limit(struct session *s)
{
  if (++s->auth_failures < s->conf.auth_limit) return 0;
  wipe_all(s);
  qlogm(s, LOGWARN, NULL, "too many failed AUTH attempts from ", s->remote_ip, ", closing connection");
  reply_send(s, R_AUTH_TOO_MANY);
  smtp_disconnect(s, 0);
  return 1;
}

static void set_tried(struct session *s, const struct mech *m, const char *user)
{
  s->auth_tried = 1;
  memcpy(s->auth_mech, m->lc, strlen(m->lc) + 1);
  if (!stralloc_copys(&s->auth_user, user) || !stralloc_0(&s->auth_user)) die_nomem(s);
}

/* runs the hooks and answers; user and the credentials are set */
static void check(struct session *s, const struct mech *m, struct auth_args *aa)
{
  stralloc t = {0};
  const char *user;
  int rc;
  set_tried(s, m, aa->user);
  user = s->auth_user.s;        /* a copy: the credentials are wiped below */
  aa->msg = NULL;
  rc = m->hook(s, aa);
  if (rc == DECLINED) rc = hook_run_auth(s, aa);
  wipe_all(s);
  if (rc == OK) {
    result_text(s, &t, m, " authentication successful for ", user, aa->msg);
    s->authenticated = 1;
    s->relay_client = 1;
    if (!notes_set(&s->notes, "naughty", NULL) || !notes_set(&s->notes, "auth_user", user)
        || !notes_set(&s->notes, "auth_mechanism", m->lc)) die_nomem(s);
    qlogm(s, LOGINFO, NULL, "AUTH ", m->name, " succeeded for ", user, " from ", s->remote_ip);
    reply(s, 235, "2.7.0", t.s, t.len);
  } else if (rc == DENYSOFT || rc == DENYSOFT_DISCONNECT) {
    result_text(s, &t, m, " temporary authentication failure for ", user, aa->msg);
    qlogm(s, LOGWARN, NULL, "AUTH ", m->name, " temporary failure for ", user, " from ", s->remote_ip);
    if (!failure_limit(s)) reply(s, 454, "4.7.0", t.s, t.len);
    if (rc == DENYSOFT_DISCONNECT) smtp_disconnect(s, 0);
  } else {
    /* the plugin's reason (e.g. "wrong password") only in the log */
    t.len = 0;
    if (aa->msg && aa->msg->len) {
      const char *nl = memchr(aa->msg->s, '\n', aa->msg->len);
      if (!stralloc_cats(&t, ": ") || !stralloc_catb(&t, aa->msg->s, nl ? (size_t)(nl - aa->msg->s) : aa->msg->len))
        die_nomem(s);
    }
    if (!stralloc_0(&t)) die_nomem(s);
    qlogm(s, LOGWARN, NULL, "AUTH ", m->name, " failed for ", user, " from ", s->remote_ip, t.s);
    clock_sleep_ms(s->conf.auth_delay_ms);
    if (!failure_limit(s)) reply_send(s, R_AUTH_FAILED);
    if (rc == DENY_DISCONNECT) smtp_disconnect(s, 0);
  }
  stralloc_free(&t);
}

/* the answer to an exchange that never reached the check */
static void refuse(struct session *s, int r)
{
  wipe_all(s);
  if (failure_limit(s)) return;
  switch (r) {
  case AR_CANCEL: reply_send(s, R_AUTH_CANCELED); break;
  case AR_BADB64: reply_send(s, R_AUTH_BADB64); break;
  case AR_TOOLONG: reply_send(s, R_AUTH_TOOLONG); break;
  case AR_AUTHZID:
    clock_sleep_ms(s->conf.auth_delay_ms);
    reply_send(s, R_AUTH_FAILED);
    break;
  default: reply_send(s, R_AUTH_INVALID); break;
  }
}

static void do_plain(struct session *s, const struct mech *m, const char *ir, size_t irl)
{
  size_t n = 0;
  int r;
  const char *user = NULL, *pass = NULL;
  struct auth_args aa;
  if (ir) r = decode(ir, irl, pbuf, &n);
  else r = challenge(s, "", 0, pbuf, &n);
  if (r == AR_OK) {
    r = sasl_plain_parse(pbuf, n, &user, &pass);
    r = r == SASL_OK ? AR_OK : r == SASL_AUTHZID ? AR_AUTHZID : AR_MALFORMED;
  }
  if (r == AR_AUTHZID) {
    set_tried(s, m, user);
    user = s->auth_user.s;
    qlogm(s, LOGWARN, NULL, "AUTH PLAIN for ", user, " from ", s->remote_ip,
          " failed: it asked for another authorization identity");
  }
  if (r != AR_OK) { refuse(s, r); return; }
  memset(&aa, 0, sizeof aa);
  aa.mech = m->lc;
  aa.user = user;
  aa.pass = pass;
  aa.passlen = strlen(pass);
  check(s, m, &aa);
}

static void do_login(struct session *s, const struct mech *m, const char *ir, size_t irl)
{
  size_t un = 0, pn = 0;
  int r;
  struct auth_args aa;
  static const char askuser[] = "VXNlcm5hbWU6", askpass[] = "UGFzc3dvcmQ6";   /* Username:, Password: */
  if (ir) r = decode(ir, irl, ubuf, &un);
  else r = challenge(s, askuser, sizeof askuser - 1, ubuf, &un);
  if (r == AR_OK && sasl_login_field(ubuf, un) != SASL_OK) r = AR_MALFORMED;
  if (r == AR_OK) r = challenge(s, askpass, sizeof askpass - 1, pbuf, &pn);
  if (r == AR_OK && sasl_login_field(pbuf, pn) != SASL_OK) r = AR_MALFORMED;
  if (r != AR_OK) { refuse(s, r); return; }
  memset(&aa, 0, sizeof aa);
  aa.mech = m->lc;
  aa.user = (const char *)ubuf;
  aa.pass = (const char *)pbuf;
  aa.passlen = pn;
  check(s, m, &aa);
}

static void do_cram(struct session *s, const struct mech *m, const char *ir)
{
  stralloc ticket = {0};
  char enc[4 * ((300 + 2) / 3) + 4];
  size_t n = 0;
  int r;
  const char *user = NULL, *digest = NULL;
  struct auth_args aa;
  if (ir) { refuse(s, AR_MALFORMED); return; }   /* the server speaks first */
  make_ticket(s, &ticket);
  r = challenge(s, enc, sasl_b64encode((const unsigned char *)ticket.s, ticket.len, enc), pbuf, &n);
  if (r == AR_OK && sasl_cram_parse(pbuf, n, &user, &digest) != SASL_OK) r = AR_MALFORMED;
  if (r != AR_OK) { stralloc_free(&ticket); refuse(s, r); return; }
  memset(&aa, 0, sizeof aa);
  aa.mech = m->lc;
  aa.user = user;
  aa.hash = digest;
  aa.ticket = ticket.s;
  check(s, m, &aa);
  stralloc_free(&ticket);
}

void smtp_auth(struct session *s, const char *arg, size_t len)
{
  struct parse_args a;
  stralloc out = {0};
  size_t ml, i;
  const char *ir = NULL;
  size_t irl = 0;
  const struct mech *m = NULL;
  unsigned int avail = mechs_in_chain();
  int rc;

  if (!bufs && !(bufs = malloc(sizeof *bufs))) die_nomem(s);
  /* the states AUTH is allowed in: smtp.c's command table */
  if (s->authenticated) { reply_send(s, R_AUTH_AGAIN); goto done; }
  if (s->conf.tls_before_auth && !s->tls) { reply_send(s, R_AUTH_TLS_FIRST); goto done; }

  a.line = arg;
  a.len = len;
  a.out = &out;
  a.msg = NULL;
  rc = hook_run_auth_parse(s, &a);
  if (rc == DENYSOFT || rc == DENYSOFT_DISCONNECT) {
    /* a plugin's lockout (limits): a temporary refusal, not a syntax error */
    reply(s, 454, "4.7.0", a.msg->s, a.msg->len);
    if (rc == DENYSOFT_DISCONNECT) { wipe_all(s); smtp_disconnect(s, 0); }
    goto done;
  }
  if (rc_is_deny(rc)) {
    reply_with(s, R_SYNTAX, a.msg->s, a.msg->len);
    if (rc_is_disconnect(rc)) { wipe_all(s); smtp_disconnect(s, 0); }
    goto done;
  }
  if (rc == OK && out.len) { arg = out.s; len = out.len; }

  for (ml = 0; ml < len && arg[ml] != ' '; ++ml) ;
  for (i = ml; i < len && arg[i] == ' '; ++i) ;
  if (i < len) { ir = arg + i; irl = len - i; }
  if (!ml) { reply_send(s, R_AUTH_NOMECH); goto done; }
  if (ir && memchr(ir, ' ', irl)) { refuse(s, AR_BADB64); goto done; }
  for (i = 0; i < NMECHS; ++i)
    if ((avail & mechs[i].bit) && strlen(mechs[i].name) == ml && case_equalb(arg, ml, mechs[i].name))
      m = &mechs[i];
  if (!m) {
    stralloc t = {0};
    if (!stralloc_copys(&t, "Unimplemented authentication mechanism: ")) die_nomem(s);
    for (i = 0; i < ml && i < 20; ++i) {
      char c = arg[i];
      if (c >= 'A' && c <= 'Z') c = (char)(c + 32);
      if (!stralloc_append(&t, &c)) die_nomem(s);
    }
    reply(s, 504, "5.5.4", t.s, t.len);
    stralloc_free(&t);
    goto done;
  }
  if (m->bit == MECH_PLAIN) do_plain(s, m, ir, irl);
  else if (m->bit == MECH_LOGIN) do_login(s, m, ir, irl);
  else do_cram(s, m, ir);
done:
  wipe_all(s);
  if (out.s) wipe(out.s, out.a);
  stralloc_free(&out);
}
