/* spamassassin: scores the message with spamd (SpamAssassin's daemon) at
   data_post, as Perl qpsmtpd's plugins/spamassassin, and adds spamd's
   X-Spam-* header fields.

   Protocol (spamd's PROTOCOL, SPAMC/1.5): "HEADERS SPAMC/1.5", a
   Content-length and a User line, an empty line, then the message,
   streamed from the spool in chunks (never whole in memory), with an
   X-Envelope-From field in front as Perl sends it. spamd answers
   "SPAMD/1.1 0 EX_OK", a "Spam: True|False ; score / required" line and
   the message's header section with its X-Spam-* fields.

   The spamd user is the recipient when there is exactly one (so spamd's
   per-user preferences apply), otherwise spamd_user; several recipients
   get an X-Spam-User field saying so, as in Perl.

   Arguments:
     spamd_socket ADDR     IP:port, [IPv6]:port, NAME:port (looked up through
                           the resolver, as Perl's spamd.host:port) or a socket
                           path (127.0.0.1:783)
     headers none          add no X-Spam-* field (Perl's); the score still
                           decides reject and munge_subject_threshold
     subject_prefix WORD   the Subject's prefix, instead of the control file
                           subject_prefix (Perl documented the argument)
     reject N|userprefs    reject at score >= N, or >= the required_score spamd
                           reports for the user (reject_threshold N: the same)
     reject_type T         perm (default), temp, disconnect, temp_disconnect
     munge_subject_threshold N   prefix Subject (control file subject_prefix,
                           default "*** SPAM ***") at score >= N
     size_limit BYTES      skip larger messages (500000)
     spamd_user NAME       the user for several recipients (qpsmtpd's user)
     leave_old_headers rename|drop|keep   X-Spam-* fields already in the
                           message: renamed to X-Old-Spam-* (default), dropped, kept
     relayclient skip      do not scan relay clients' mail
     timeout S             the deadline for the whole exchange (30)
     on_error pass|defer   spamd down, slow or confused: the mail passes
                           unscanned (default, as Perl) or gets 451 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE             /* memmem */
#endif
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <case.h>
#include <fmt.h>
#include <scan.h>
#include <str.h>
#include "plugin.h"
#include "netio.h"
#include "lib/scanner.h"
#include "lib/hostport.h"

#define PLUGIN "spamassassin"
#define REPLY_MAX (1024 * 1024)   /* spamd's answer: the header section and its own fields */

struct sa {
  const char *socket;
  long reject;                  /* hundredths; LONG_MIN: none */
  int reject_userprefs;
  long munge;
  int munge_set;
  const char *user;
  int leave;                    /* 0 rename, 1 drop, 2 keep */
  int noheaders;                /* headers none */
  const char *prefix;           /* the subject_prefix argument */
  struct scanner_opts o;
};

/* "-12.5" as hundredths; 0 when not a number */
static int scan_score(const char *x, size_t len, long *out)
{
  size_t i = 0;
  int neg = 0, digits = 0;
  long v = 0, frac = 0, scale = 100;
  if (i < len && (x[i] == '-' || x[i] == '+')) { neg = x[i] == '-'; ++i; }
  for (; i < len && x[i] >= '0' && x[i] <= '9'; ++i, ++digits) {
    if (v > 100000000) return 0;
    v = v * 10 + (x[i] - '0');
  }
  if (i < len && x[i] == '.') {
    for (++i; i < len && x[i] >= '0' && x[i] <= '9'; ++i, ++digits)
      if (scale > 1) { scale /= 10; frac += (x[i] - '0') * scale; }
  }
  if (!digits || i != len) return 0;
  *out = (v * 100 + frac) * (neg ? -1 : 1);
  return 1;
}

static int clean(const char *x)
{
  for (; *x; ++x) if ((unsigned char)*x <= ' ' || *x == 0x7f) return 0;
  return 1;
}

static int sa_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct sa *c = calloc(1, sizeof *c);
  int i;
  if (!c) return arg_error(err, "out of memory", 0);
  c->socket = "127.0.0.1:783";
  c->o.rc = DENY;
  c->o.size_limit = 500000;
  c->o.timeout = 30;
  for (i = 0; i < argc; i += 2) {
    const char *k = argv[i], *v;
    int r;
    if (i + 1 >= argc) return arg_error(err, "missing value after ", k);
    v = argv[i + 1];
    if ((r = scanner_arg(&c->o, k, v, err)) >= 0) {
      if (!r) return 0;
    } else if (str_equal(k, "spamd_socket")) {
      if (!hostport_ok(v)) return arg_error(err, "spamd_socket takes IP:port, [IPv6]:port, host.name:port or an absolute socket path, not ", v);
      c->socket = v;
    } else if (str_equal(k, "headers")) {
      if (str_equal(v, "none")) c->noheaders = 1;
      else if (str_equal(v, "all")) c->noheaders = 0;
      else return arg_error(err, "headers takes none or all, not ", v);
    } else if (str_equal(k, "subject_prefix")) {
      if (!clean(v)) return arg_error(err, "bad subject_prefix ", v);
      c->prefix = v;
    } else if (str_equal(k, "reject") || str_equal(k, "reject_threshold")) {
      if (str_equal(v, "userprefs")) c->reject_userprefs = 1;
      else if (!scan_score(v, strlen(v), &c->reject)) return arg_error(err, "reject takes a score or userprefs, not ", v);
      else c->reject_userprefs = 2;     /* a number */
    } else if (str_equal(k, "munge_subject_threshold")) {
      if (!scan_score(v, strlen(v), &c->munge)) return arg_error(err, "munge_subject_threshold takes a score, not ", v);
      c->munge_set = 1;
    } else if (str_equal(k, "spamd_user")) {
      size_t j;
      for (j = 0; v[j]; ++j) if ((unsigned char)v[j] <= ' ' || v[j] == 0x7f) return arg_error(err, "bad spamd_user ", v);
      if (j > 256) return arg_error(err, "spamd_user too long", 0);
      c->user = v;
    } else if (str_equal(k, "leave_old_headers")) {
      if (str_equal(v, "rename")) c->leave = 0;
      else if (str_equal(v, "drop")) c->leave = 1;
      else if (str_equal(v, "keep")) c->leave = 2;
      else return arg_error(err, "leave_old_headers takes rename, drop or keep, not ", v);
    } else
      return arg_error(err, "unknown argument ", k);
  }
  *self = c;
  return 1;
}

/* the printable user name for spamd */
static const char *spamd_user(struct sa *c)
{
  struct passwd *pw;
  if (c->user) return c->user;
  pw = getpwuid(geteuid());
  if (pw && pw->pw_name && *pw->pw_name) return pw->pw_name;
  return "nobody";
}

/* renames or drops the X-Spam-* field name that spamd is about to add */
static void old_field(struct session *s, struct sa *c, const char *name)
{
  stralloc v = {0}, old = {0};
  if (c->leave == 2) return;
  if (c->leave == 0 && txn_header_get(s, name, &v) == 1 && stralloc_copys(&old, "X-Old-")
      && stralloc_cats(&old, name + 2) && stralloc_0(&old) && stralloc_0(&v))
    txn_add_header(s, old.s, v.s);
  txn_header_delete(s, name);
  stralloc_free(&v);
  stralloc_free(&old);
}

/* the request's head, the message, then spamd's whole answer into rep
   under one deadline: NULL ok, else why it failed (*nomem set when out
   of memory) */
static const char *sa_exchange(struct session *s, struct sa *c, const char *user, stralloc *rep, int *nomem)
{
  const char *sender = txn_sender(s), *why = "out of memory";
  unsigned long long size = txn_message_size(s), total;
  stralloc req = {0}, f = {0};
  char num[40];

  *nomem = 1;
  if (!stralloc_copys(&req, "X-Envelope-From: <") || !stralloc_cats(&req, sender ? sender : "")
      || !stralloc_cats(&req, ">\n")) goto out;
  if (__builtin_add_overflow(size, (unsigned long long)req.len, &total)) goto out;
  if (!stralloc_cats(&f, "HEADERS SPAMC/1.5\r\nContent-length: ")
      || !stralloc_catb(&f, num, fmt_ulonglong(num, total)) || !stralloc_cats(&f, "\r\nUser: ")
      || !stralloc_cats(&f, user) || !stralloc_cats(&f, "\r\n\r\n") || !stralloc_cat(&f, &req)) goto out;
  why = scanner_exchange(s, &c->o, c->socket, "spamd", &f, 1, rep, REPLY_MAX, nomem);
out:
  stralloc_free(&req);
  stralloc_free(&f);
  return why;
}

/* "Spam: True ; 8.0 / 20.0": 1 with the verdict and both numbers, else 0 */
static int sa_spam_line(const char *x, const char *end, int *is_spam, long *score, long *required)
{
  const char *semi, *slash, *p, *q;
  *is_spam = (end - x >= 4 && !case_diffb(x, 4, "true")) || (end - x >= 3 && !case_diffb(x, 3, "yes"));
  semi = memchr(x, ';', (size_t)(end - x));
  slash = semi ? memchr(semi, '/', (size_t)(end - semi)) : 0;
  if (!semi || !slash) return 0;
  p = semi + 1;
  q = slash;
  while (p < q && *p == ' ') ++p;
  while (q > p && q[-1] == ' ') --q;
  if (!scan_score(p, (size_t)(q - p), score)) return 0;
  p = slash + 1;
  while (p < end && *p == ' ') ++p;
  q = end;
  while (q > p && q[-1] == ' ') --q;
  return scan_score(p, (size_t)(q - p), required);
}

/* the status line and spamd's own header lines, up to the empty line (*pos
   then at the header section spamd returned): NULL ok, else why not */
static const char *sa_status(const stralloc *rep, size_t *pos, int *is_spam, long *score, long *required)
{
  int first = 1, have_result = 0;
  for (;;) {
    char *e = memchr(rep->s + *pos, '\n', rep->len - *pos);
    size_t l;
    if (!e) return "spamd's answer is truncated";
    l = (size_t)(e - (rep->s + *pos));
    if (l && rep->s[*pos + l - 1] == '\r') --l;
    if (first) {
      if (l < 12 || memcmp(rep->s + *pos, "SPAMD/", 6) || !memmem(rep->s + *pos, l, " EX_OK", 6))
        return "spamd answered with an error";
      first = 0;
    } else if (!l) {
      *pos = (size_t)(e - rep->s) + 1;
      break;
    } else if (l > 6 && !case_diffb(rep->s + *pos, 6, "Spam: ")) {
      if (sa_spam_line(rep->s + *pos + 6, rep->s + *pos + l, is_spam, score, required)) have_result = 1;
    }
    *pos = (size_t)(e - rep->s) + 1;
  }
  return have_result ? NULL : "spamd's answer has no Spam line";
}

/* the X-Spam-* fields of the header section spamd returned, from pos on,
   replace ours (old_field); 1 ok, 0 out of memory */
static int sa_fields(struct session *s, struct sa *c, const stralloc *rep, size_t pos, const char *user,
                     unsigned int nrcpt)
{
  stralloc f = {0}, v = {0};
  char num[FMT_ULONG];
  int ok = 0;
  if (nrcpt > 1) {
    old_field(s, c, "X-Spam-User");
    if (!stralloc_copys(&v, user) || !stralloc_cats(&v, ", ")
        || !stralloc_catb(&v, num, fmt_ulong(num, nrcpt)) || !stralloc_cats(&v, " recipients")
        || !stralloc_0(&v) || !txn_add_header(s, "X-Spam-User", v.s)) goto out;
  }
  while (pos < rep->len) {
    char *e = memchr(rep->s + pos, '\n', rep->len - pos);
    size_t l = e ? (size_t)(e - (rep->s + pos)) : rep->len - pos, colon, j;
    const char *x = rep->s + pos;
    pos += l + 1;
    if (l && x[l - 1] == '\r') --l;
    if (!l) break;
    if (l < 7 || case_diffb(x, 7, "X-Spam-")) continue;
    colon = 0;
    for (j = 0; j < l && j < 80; ++j) if (x[j] == ':') { colon = j; break; }
    if (!colon) continue;
    f.len = 0;
    v.len = 0;
    if (!stralloc_copyb(&f, x, colon) || !stralloc_0(&f)) goto out;
    j = colon + 1;
    while (j < l && (x[j] == ' ' || x[j] == '\t')) ++j;
    if (!stralloc_copyb(&v, x + j, l - j)) goto out;
    /* continuation lines */
    while (pos < rep->len && (rep->s[pos] == ' ' || rep->s[pos] == '\t')) {
      char *e2 = memchr(rep->s + pos, '\n', rep->len - pos);
      size_t l2 = e2 ? (size_t)(e2 - (rep->s + pos)) : rep->len - pos, k;
      const char *y = rep->s + pos;
      pos += l2 + 1;
      if (l2 && y[l2 - 1] == '\r') --l2;
      for (k = 0; k < l2 && (y[k] == ' ' || y[k] == '\t'); ++k) ;
      if (!stralloc_cats(&v, "\n\t") || !stralloc_catb(&v, y + k, l2 - k)) goto out;
    }
    if (!case_diffs(f.s, "X-Spam-Prev-Subject") || !case_diffs(f.s, "X-Spam-Report")) continue;
    for (j = 0; j < v.len; ++j)
      if ((unsigned char)v.s[j] < 0x20 && v.s[j] != '\n' && v.s[j] != '\t') v.s[j] = ' ';
    if (!stralloc_0(&v)) goto out;
    old_field(s, c, f.s);
    if (!txn_add_header(s, f.s, v.s)) goto out;
  }
  ok = 1;
out:
  stralloc_free(&f);
  stralloc_free(&v);
  return ok;
}

/* a score in hundredths as spamd writes it, with one decimal: "-1.5" */
static int cat_score(stralloc *sa, long score)
{
  char sc[48];
  size_t n = 0;
  long x = score < 0 ? -score : score;
  if (score < 0) sc[n++] = '-';
  n += fmt_ulong(sc + n, (unsigned long)(x / 100));
  sc[n++] = '.';
  sc[n++] = (char)('0' + x / 10 % 10);
  return stralloc_catb(sa, sc, n);
}

/* The threshold: each recipient's own (the recipient note
   spamassassin_reject_threshold, from aliases), else the client's (the
   connection note, from client_options) or the transaction's, else the
   argument or what spamd said the user requires. The message is refused
   only at or above the highest of them, so that no recipient loses mail
   below its own threshold. NULL when some recipient has no threshold
   (never refuse), else non-NULL with *threshold set. */
static const char *sa_threshold(struct session *s, const struct sa *c, unsigned int nrcpt, long required,
                                long *threshold)
{
  const char *cn = note_conn_get(s, "spamassassin_reject_threshold");
  const char *tn = note_txn_get(s, "spamassassin_reject_threshold");
  const char *note = 0;
  long t, dflt = 0;
  int have_dflt = 1;
  unsigned int r;
  if (cn && scan_score(cn, strlen(cn), &t)) dflt = t;
  else if (tn && scan_score(tn, strlen(tn), &t)) dflt = t;
  else if (c->reject_userprefs == 2) dflt = c->reject;
  else if (c->reject_userprefs == 1) dflt = required;
  else have_dflt = 0;
  *threshold = dflt;
  for (r = 0; r < nrcpt; ++r) {
    const char *rn = txn_rcpt_note_get(s, txn_rcpt(s, r), "spamassassin_reject_threshold");
    if (rn && scan_score(rn, strlen(rn), &t)) {
      if (!note || t > *threshold) *threshold = t;
      note = rn;
    } else if (have_dflt) {
      if (!note || dflt > *threshold) *threshold = dflt;
      note = "";
    } else
      return 0;             /* a recipient without a threshold: never refuse */
  }
  if (!nrcpt && have_dflt) note = "";
  return note;
}

/* subject_prefix: the argument, else the control file */
static int sa_setup(struct session *s, void *self)
{
  struct sa *c = self;
  return scanner_prefix(s, c->prefix);
}

static int sa_data_post(struct session *s, void *self, struct msg_args *a)
{
  struct sa *c = self;
  const char *user, *note, *why;
  unsigned int nrcpt = txn_rcpt_count(s);
  stralloc rep = {0}, v = {0};
  long score = 0, required = 0, threshold = 0;
  int rc = DECLINED, is_spam = 0, nomem;
  size_t pos = 0;

  if (scanner_skip(s, &c->o, PLUGIN)) return DECLINED;

  user = nrcpt == 1 && clean(txn_rcpt(s, 0)) && *txn_rcpt(s, 0) ? txn_rcpt(s, 0) : spamd_user(c);
  why = sa_exchange(s, c, user, &rep, &nomem);
  if (nomem) goto nomem;
  if (!why) why = sa_status(&rep, &pos, &is_spam, &score, &required);
  if (why) { rc = scanner_failed(s, &c->o, PLUGIN, a->msg, why); goto out; }
  if (!c->noheaders && !sa_fields(s, c, &rep, pos, user, nrcpt)) goto nomem;

  /* the result for other plugins: "Yes|No score required" */
  if (!stralloc_copys(&v, is_spam ? "Yes " : "No ") || !cat_score(&v, score) || !stralloc_cats(&v, " ")
      || !cat_score(&v, required) || !stralloc_0(&v) || !note_txn_set(s, "spamassassin", v.s)) goto nomem;

  note = sa_threshold(s, c, nrcpt, required, &threshold);
  /* karma (Perl's adjust_karma): spam lowers it, clear ham raises it */
  if (is_spam || (note && score >= threshold)) karma_adjust(s, -1);
  else if (score < 0) karma_adjust(s, 1);
  if (note && score >= threshold) {
    qlogm(s, LOGINFO, PLUGIN, "deny, ", is_spam ? "Spam, " : "Ham, ", v.s, ", user ", user);
    stralloc_copys(a->msg, "5.6.1 spam score exceeded threshold");
    if (c->o.rc == DENYSOFT || c->o.rc == DENYSOFT_DISCONNECT) stralloc_copys(a->msg, "4.6.1 spam score exceeded threshold");
    rc = c->o.rc;
    goto out;
  }
  qlogm(s, LOGINFO, PLUGIN, "pass, ", is_spam ? "Spam, " : "Ham, ", v.s, ", user ", user);
  if (c->munge_set && score >= c->munge && !scanner_subject(s, PLUGIN, 0)) goto nomem;
  goto out;
nomem:
  hook_nomem(a->msg);
  rc = DENYSOFT;
out:
  stralloc_free(&rep);
  stralloc_free(&v);
  return rc;
}

const struct plugin plugin_spamassassin = {
  .name = PLUGIN,
  .init = sa_init,
  .setup = sa_setup,
  .data_post = sa_data_post,
};
