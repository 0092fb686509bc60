/* rspamd: scores the message with rspamd at data_post, over rspamd's HTTP
   protocol (POST /checkv2 to its normal worker or proxy), and acts on the
   action rspamd chooses.

   The request carries the envelope and the connection as rspamd's
   request fields: From (the sender), Rcpt (one per recipient), IP, Helo,
   Hostname (the client's verified name, when known), User (the
   authenticated user), TLS-Version and TLS-Cipher (after STARTTLS), and
   Settings-ID when configured; the message follows, streamed from the
   spool. HTTP/1.0: rspamd closes after its answer, which is read whole
   (bounded) and parsed by rspamd_reply.c. The whole exchange has one
   deadline.

   Actions: reject 5xx (reject_type), soft reject and greylist 451,
   rewrite subject (rspamd's subject, or subject_prefix before the
   Subject), add header (X-Spam: Yes), no action; discard is taken as
   reject. X-Rspamd-Score ("score / required") and X-Rspamd-Symbols
   ("NAME(score), ...") are added to every scanned message, and
   milter.add_headers / remove_headers (rspamd's milter_headers module)
   are applied.

   Arguments (Perl style, in pairs):
     rspamd_socket ADDR    IP:port, [IPv6]:port or a socket path (127.0.0.1:11333)
     reject action|no|N    act on rspamd's reject (default), never reject,
                           or reject at score >= N whatever the action
     reject_type T         perm (default), temp, disconnect, temp_disconnect
     soft_reject yes|no    451 on soft reject (yes)
     greylist yes|no       451 on greylist (yes)
     rewrite_subject yes|no   (yes)
     add_header yes|no     X-Spam: Yes on add header (yes)
     milter_headers yes|no apply rspamd's header changes (yes)
     headers yes|no        X-Rspamd-Score and X-Rspamd-Symbols (yes)
     settings_id ID        rspamd's Settings-ID
     size_limit BYTES      skip larger messages (2000000)
     relayclient skip      do not scan relay clients' mail
     timeout S             the deadline for the whole exchange (20)
     on_error pass|defer   rspamd down, slow or confused: the mail passes
                           unscanned (default) or gets 451 */
#include <stdlib.h>
#include <string.h>
#include <fmt.h>
#include <scan.h>
#include <str.h>
#include "plugin.h"
#include "netio.h"
#include "rspamd_reply.h"
#include "lib/scanner.h"

#define PLUGIN "rspamd"
#define REPLY_MAX (512 * 1024)

struct rs {
  const char *socket;
  int reject;                   /* 0 no, 1 the action, 2 a score */
  long reject_score;
  int soft, grey, subject, addh, milter, headers;
  const char *settings;
  struct scanner_opts o;
};

/* "12.5" as hundredths */
static int scan_hundredths(const char *x, long *out)
{
  unsigned long i = 0, f = 0;
  size_t n, k = 0;
  int neg = *x == '-';
  if (neg) ++x;
  n = scan_ulong(x, &i);
  if (!n || i > 10000000) return 0;
  if (x[n] == '.') {
    for (++n; x[n] >= '0' && x[n] <= '9'; ++n, ++k) if (k < 2) f = f * 10 + (unsigned long)(x[n] - '0');
    if (!k) return 0;
    if (k == 1) f *= 10;
  }
  if (x[n]) return 0;
  *out = (long)(i * 100 + f) * (neg ? -1 : 1);
  return 1;
}

static int yesno(const char *v, int *out)
{
  if (str_equal(v, "yes") || str_equal(v, "1")) *out = 1;
  else if (str_equal(v, "no") || str_equal(v, "0")) *out = 0;
  else return 0;
  return 1;
}

static int printable(const char *x, size_t max)
{
  size_t i;
  for (i = 0; x[i]; ++i) if ((unsigned char)x[i] <= ' ' || x[i] == 0x7f || i >= max) return 0;
  return i > 0;
}

static int rs_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct rs *c = calloc(1, sizeof *c);
  int i;
  if (!c) return arg_error(err, "out of memory", 0);
  c->socket = "127.0.0.1:11333";
  c->reject = 1;
  c->o.rc = DENY;
  c->soft = c->grey = c->subject = c->addh = c->milter = c->headers = 1;
  c->o.size_limit = 2000000;
  c->o.timeout = 20;
  for (i = 0; i < argc; i += 2) {
    const char *k = argv[i], *v;
    int *flag = 0, r;
    if (i + 1 >= argc) return arg_error(err, "missing value after ", k);
    v = argv[i + 1];
    if ((r = scanner_arg(&c->o, k, v, err)) >= 0) {
      if (!r) return 0;
    } else if (str_equal(k, "rspamd_socket")) {
      if (!net_addr_ok(v)) return arg_error(err, "rspamd_socket takes IP:port, [IPv6]:port or an absolute socket path, not ", v);
      c->socket = v;
    } else if (str_equal(k, "reject")) {
      if (str_equal(v, "action")) c->reject = 1;
      else if (str_equal(v, "no")) c->reject = 0;
      else if (scan_hundredths(v, &c->reject_score)) c->reject = 2;
      else return arg_error(err, "reject takes action, no or a score, not ", v);
    } else if (str_equal(k, "soft_reject")) flag = &c->soft;
    else if (str_equal(k, "greylist")) flag = &c->grey;
    else if (str_equal(k, "rewrite_subject")) flag = &c->subject;
    else if (str_equal(k, "add_header")) flag = &c->addh;
    else if (str_equal(k, "milter_headers")) flag = &c->milter;
    else if (str_equal(k, "headers")) flag = &c->headers;
    else if (str_equal(k, "settings_id")) {
      if (!printable(v, 128)) return arg_error(err, "bad settings_id ", v);
      c->settings = v;
    } else
      return arg_error(err, "unknown argument ", k);
    if (flag && !yesno(v, flag)) return arg_error(err, "takes yes or no: ", k);
  }
  *self = c;
  return 1;
}

/* a request field when the value is clean (no control bytes, bounded) */
static int field(stralloc *f, const char *name, const char *v)
{
  size_t i;
  if (!v) return 1;
  for (i = 0; v[i]; ++i) if ((unsigned char)v[i] < ' ' || v[i] == 0x7f || i > 1000) return 1;
  return stralloc_cats(f, name) && stralloc_cats(f, ": ") && stralloc_cats(f, v) && stralloc_cats(f, "\r\n");
}

static int rs_request(struct session *s, const struct rs *c, stralloc *f)
{
  const char *sender = txn_sender(s), *host = session_remote_host(s);
  unsigned int i, n = txn_rcpt_count(s);
  char num[FMT_ULONG];
  if (!stralloc_copys(f, "POST /checkv2 HTTP/1.0\r\nContent-Length: ")
      || !stralloc_catb(f, num, fmt_ulonglong(num, txn_message_size(s))) || !stralloc_cats(f, "\r\n")
      || !field(f, "From", sender && *sender ? sender : "<>")) return 0;
  for (i = 0; i < n; ++i) if (!field(f, "Rcpt", txn_rcpt(s, i))) return 0;
  if (!field(f, "IP", session_remote_ip(s)) || !field(f, "Helo", session_hello_host(s))
      || !field(f, "Hostname", host && *host && !str_equal(host, "unknown") ? host : 0)
      || !field(f, "User", note_conn_get(s, "auth_user")) || !field(f, "Settings-ID", c->settings)
      || !field(f, "MTA-Name", session_me(s))) return 0;
  if (note_conn_get(s, "tls_enabled")
      && (!field(f, "TLS-Version", note_conn_get(s, "tls_version")) || !field(f, "TLS-Cipher", note_conn_get(s, "tls_cipher"))))
    return 0;
  return stralloc_cats(f, "\r\n");
}

static int cat_score(stralloc *sa, long v)
{
  char b[48];
  size_t n = 0;
  unsigned long u = v < 0 ? (unsigned long)-v : (unsigned long)v;
  if (v < 0) b[n++] = '-';
  n += fmt_ulong(b + n, u / 100);
  b[n++] = '.';
  b[n++] = (char)('0' + u / 10 % 10);
  b[n++] = (char)('0' + u % 10);
  return stralloc_catb(sa, b, n);
}

/* X-Rspamd-Score and X-Rspamd-Symbols (ours replace any the message had);
   1 ok, 0 out of memory */
static int rs_headers(struct session *s, const struct rspamd_result *r)
{
  stralloc v = {0};
  unsigned int i;
  int ok = 0;
  txn_header_delete(s, "X-Rspamd-Score");
  txn_header_delete(s, "X-Rspamd-Symbols");
  if (!cat_score(&v, r->score) || !stralloc_cats(&v, " / ") || !cat_score(&v, r->required) || !stralloc_0(&v)
      || !txn_add_header(s, "X-Rspamd-Score", v.s)) goto out;
  v.len = 0;
  for (i = 0; i < r->nsym; ++i) {
    if (i && !stralloc_cats(&v, i % 4 ? ", " : ",\n\t")) goto out;
    if (!stralloc_cats(&v, r->sym[i].name) || !stralloc_cats(&v, "(") || !cat_score(&v, r->sym[i].score)
        || !stralloc_cats(&v, ")")) goto out;
  }
  if (r->nsym_seen > r->nsym && !stralloc_cats(&v, ", ...")) goto out;
  if (!stralloc_0(&v) || (r->nsym && !txn_add_header(s, "X-Rspamd-Symbols", v.s))) goto out;
  ok = 1;
out:
  stralloc_free(&v);
  return ok;
}

static int rs_milter(struct session *s, const struct rspamd_result *r)
{
  unsigned int i;
  for (i = 0; i < r->nremove; ++i) txn_header_delete(s, r->remove[i].name);
  for (i = 0; i < r->nadd; ++i) {
    txn_header_delete(s, r->add[i].name);
    if (!txn_add_header(s, r->add[i].name, r->add[i].value)) return 0;
  }
  return 1;
}

/* the reply text: rspamd's smtp_message when it gave one */
static void rs_text(stralloc *msg, const struct rspamd_result *r, const char *code, const char *dflt)
{
  stralloc_copys(msg, code);
  stralloc_cats(msg, " ");
  if (r->have_message && r->message[0]) stralloc_catb(msg, r->message, str_len(r->message) > 200 ? 200 : str_len(r->message));
  else stralloc_cats(msg, dflt);
}

static int rs_act(struct session *s, const struct rs *c, const struct rspamd_result *r, stralloc *msg, const char *note)
{
  int act = r->action;
  if (act == RSPAMD_DISCARD) act = RSPAMD_REJECT;
  if (c->reject == 2) act = r->score >= c->reject_score ? RSPAMD_REJECT : act == RSPAMD_REJECT ? RSPAMD_ADD_HEADER : act;
  else if (!c->reject && act == RSPAMD_REJECT) act = RSPAMD_ADD_HEADER;
  if (act == RSPAMD_REJECT) {
    qlogm(s, LOGINFO, PLUGIN, "deny, ", note);
    karma_adjust(s, -1);
    if (c->o.rc == DENYSOFT || c->o.rc == DENYSOFT_DISCONNECT) rs_text(msg, r, "4.7.1", "Spam message rejected, try again later");
    else rs_text(msg, r, "5.7.1", "Spam message rejected");
    return c->o.rc;
  }
  if (act == RSPAMD_SOFT_REJECT && c->soft) {
    qlogm(s, LOGINFO, PLUGIN, "defer, ", note);
    rs_text(msg, r, "4.7.1", "Try again later");
    return DENYSOFT;
  }
  if (act == RSPAMD_GREYLIST && c->grey) {
    qlogm(s, LOGINFO, PLUGIN, "greylist, ", note);
    stralloc_copys(msg, "4.7.1 Greylisted, try again later");
    return DENYSOFT;
  }
  qlogm(s, LOGINFO, PLUGIN, "pass, ", note);
  if (r->score < 0) karma_adjust(s, 1);
  if (act == RSPAMD_REWRITE_SUBJECT && c->subject && !scanner_subject(s, PLUGIN, r->have_subject && r->subject[0] ? r->subject : 0))
    return hook_nomem(msg);
  if ((act == RSPAMD_ADD_HEADER || act == RSPAMD_REWRITE_SUBJECT) && c->addh) {
    txn_header_delete(s, "X-Spam");
    if (!txn_add_header(s, "X-Spam", "Yes")) return hook_nomem(msg);
  }
  return DECLINED;
}

static int rs_data_post(struct session *s, void *self, struct msg_args *a)
{
  struct rs *c = self;
  struct rspamd_result *r = 0;
  stralloc rep = {0}, note = {0}, head = {0};
  const char *why;
  int rc = DECLINED, nomem;

  if (scanner_skip(s, &c->o, PLUGIN)) return DECLINED;
  if (!rs_request(s, c, &head)) goto nomem;
  why = scanner_exchange(s, &c->o, c->socket, "rspamd", &head, 0, &rep, REPLY_MAX, &nomem);
  if (nomem || !(r = malloc(sizeof *r))) goto nomem;
  if (!why) why = rspamd_reply_parse(rep.s, rep.len, r);
  if (why) { rc = scanner_failed(s, &c->o, PLUGIN, a->msg, why); goto out; }
  /* the result for other plugins and the log: "action score required" */
  if (!stralloc_copys(&note, rspamd_action_name(r->action)) || !stralloc_cats(&note, " ") || !cat_score(&note, r->score)
      || !stralloc_cats(&note, " ") || !cat_score(&note, r->required) || !stralloc_0(&note)
      || !note_txn_set(s, "rspamd", note.s)) goto nomem;
  if (c->headers && !rs_headers(s, r)) goto nomem;
  if (c->milter && !rs_milter(s, r)) goto nomem;
  rc = rs_act(s, c, r, a->msg, note.s);
  goto out;
nomem:
  rc = hook_nomem(a->msg);
out:
  free(r);
  stralloc_free(&rep);
  stralloc_free(&note);
  stralloc_free(&head);
  return rc;
}

const struct plugin plugin_rspamd = {
  .name = PLUGIN,
  .init = rs_init,
  .setup = scanner_setup,
  .data_post = rs_data_post,
};
