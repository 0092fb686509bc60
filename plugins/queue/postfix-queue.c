/* queue/postfix-queue [POSTDROP] [config DIR]: hands the message to
   Postfix through postdrop(1), as Postfix's own sendmail does.
   queue/postfix-queue [SOCKET] [FLAG_...]: Perl qpsmtpd's form, straight
   to Postfix's cleanup service (its unix socket, public/cleanup, or an
   inet cleanup service IP:port or host:port), with cleanup's processing
   flags. The
   sockets tried in order: $POSTFIXQUEUE, else the control file
   cleanup_sockets (one a line), else SOCKET, else
   /var/spool/postfix/public/cleanup; without any argument, postdrop is
   used unless POSTFIXQUEUE or cleanup_sockets is set. cleanup speaks
   first, as postdrop does (queue_id); we answer "flags\0N\0\0" (its
   attr_scan0), then send the records postdrop would get, headed by the
   arrival time T "seconds microseconds" that postdrop adds itself. A
   transaction that declared SMTPUTF8 adds CLEANUP_FLAG_SMTPUTF8 to the
   flags, as Postfix's smtpd does (postdrop has no way to carry it: there
   cleanup's own detection of UTF-8 is all there is). A message a milter
   quarantined (the transaction note milter_quarantine) adds
   CLEANUP_FLAG_HOLD: it waits in Postfix's hold queue, as with Postfix's
   smtpd; postdrop cannot ask for that, and the message is queued as usual.

   postdrop (default /usr/sbin/postdrop, run as "postdrop -r", with
   "-c DIR" when a config directory is given) speaks first: an attribute
   list "name\0value\0...\0" holding the queue id. We then send the record
   stream of Postfix's record.c (pdrecord.c): one type byte, the length as
   base-128 digits, least significant first, then the data. Envelope: A
   rewrite_context=remote, A encoding=8bit after BODY=8BITMIME, S sender,
   one R per recipient; then M, the content lines as N records (a line
   longer than PDREC_MAX, 512, is cut into L records and a final N), X
   and E. postdrop answers "status\0N\0reason\0text\0\0". The message is
   queued only when that status was read and is 0: postdrop also exits 0
   when it cancels a stream cut short, so its exit code proves nothing. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE             /* pipe2 */
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fmt.h>
#include <scan.h>
#include <stralloc.h>
#include "addr.h"
#include "dsn.h"
#include "netio.h"
#include "../lib/hostport.h"
#include "pdrecord.h"
#include "plugin.h"

#define NAME "queue/postfix-queue"
#define ATTR_MAX 1024           /* one attribute list from postdrop */
#define STDERR_MAX 2048         /* what we log of postdrop's stderr */

/* Postfix's cleanup_user.h */
#define CLEANUP_STAT_BAD    (1 << 0)
#define CLEANUP_STAT_WRITE  (1 << 1)
#define CLEANUP_STAT_SIZE   (1 << 2)
#define CLEANUP_STAT_CONT   (1 << 3)
#define CLEANUP_STAT_HOPS   (1 << 4)
#define CLEANUP_STAT_RCPT   (1 << 6)
#define CLEANUP_STAT_PROXY  (1 << 7)
#define CLEANUP_STAT_DEFER  (1 << 8)
#define CLEANUP_STAT_NOPERM (1 << 9)

#define CLEANUP_SOCKET "/var/spool/postfix/public/cleanup"
#define CLEANUP_FLAG_HOLD (1 << 2)
#define CLEANUP_FLAG_SMTPUTF8 (1 << 8)

/* cleanup_user.h's client flags, by the names Perl takes (FLAG_...) */
static const struct { const char *name; unsigned int bits; } pfq_flags[] = {
  { "FLAG_NONE", 0 }, { "FLAG_BOUNCE", 1 << 0 }, { "FLAG_FILTER", 1 << 1 },
  { "FLAG_HOLD", 1 << 2 }, { "FLAG_DISCARD", 1 << 3 }, { "FLAG_BCC_OK", 1 << 4 },
  { "FLAG_MAP_OK", 1 << 5 }, { "FLAG_MILTER", 1 << 6 }, { "FLAG_SMTP_REPLY", 1 << 7 },
  { "FLAG_SMTPUTF8", 1 << 8 }, { "FLAG_AUTOUTF8", 1 << 9 },
  { "FLAG_FILTER_ALL", (1 << 1) | (1 << 6) },
  { "FLAG_MASK_EXTERNAL", (1 << 1) | (1 << 6) | (1 << 4) | (1 << 5) },
  { "FLAG_MASK_INTERNAL", 1 << 5 }, { "FLAG_MASK_EXTRA", (1 << 2) | (1 << 3) },
};

struct pfq {
  const char *postdrop;
  const char *config;
  const char *socket;           /* Perl's socket argument */
  unsigned int flags;
  int cleanup;                  /* Perl's arguments: the cleanup service */
  int postdrop_args;            /* a postdrop path or config: postdrop */
};

/* the accepted FLAG_ names, for the build's error */
static void pfq_flag_names(stralloc *err)
{
  size_t i;
  for (i = 0; i < sizeof pfq_flags / sizeof pfq_flags[0]; ++i) {
    stralloc_cats(err, i ? ", " : "");
    stralloc_cats(err, pfq_flags[i].name);
  }
}

/* a path naming postdrop (postdrop, fake-postdrop, ...) rather than a
   cleanup socket */
static int is_postdrop(const char *path)
{
  const char *b = strrchr(path, '/');
  return strstr(b ? b + 1 : path, "postdrop") != NULL;
}

static int pfq_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct pfq *q = calloc(1, sizeof *q);
  int i = 0;
  if (!q) { stralloc_copys(err, NAME ": out of memory"); return 0; }
  q->postdrop = "/usr/sbin/postdrop";
  if (argc > 0 && argv[0][0] == '/') {
    if (is_postdrop(argv[0])) { q->postdrop = argv[i++]; q->postdrop_args = 1; }
    else { q->socket = argv[i++]; q->cleanup = 1; }
  }
  while (i < argc) {
    size_t k;
    if (!strcmp(argv[i], "config") && i + 1 < argc && argv[i + 1][0] == '/') {
      q->config = argv[i + 1];
      q->postdrop_args = 1;
      i += 2;
      continue;
    }
    if (!strncmp(argv[i], "FLAG_", 5)) {
      for (k = 0; k < sizeof pfq_flags / sizeof pfq_flags[0]; ++k)
        if (!strcmp(argv[i], pfq_flags[k].name)) break;
      if (k == sizeof pfq_flags / sizeof pfq_flags[0]) {
        stralloc_copys(err, "unknown cleanup flag ");
        stralloc_cats(err, argv[i]);
        stralloc_cats(err, "; the flags are ");
        pfq_flag_names(err);
        free(q);
        return 0;
      }
      q->flags |= pfq_flags[k].bits;
      q->cleanup = 1;
      ++i;
      continue;
    }
    stralloc_copys(err, NAME ": usage: queue/postfix-queue [/path/to/postdrop] [config /config/dir],"
                        " or Perl's queue/postfix-queue [/path/to/cleanup/socket] [FLAG_...]; got: ");
    stralloc_cats(err, argv[i]);
    free(q);
    return 0;
  }
  if (q->cleanup && q->postdrop_args) {
    stralloc_copys(err, "postdrop (a path ending in postdrop, config DIR) and the cleanup"
                        " service (a socket path, FLAG_...) are two ways in; name one");
    free(q);
    return 0;
  }
  *self = q;
  return 1;
}

/* BODY=8BITMIME of MAIL FROM, for the encoding attribute */
static int pfq_mail(struct session *s, void *self, struct addr_args *a)
{
  size_t i = 0;
  (void)self;
  while (i < a->paramslen) {
    const char *p = a->params + i;
    size_t l = strnlen(p, a->paramslen - i);
    if (l == 13 && !strncasecmp(p, "body=8bitmime", 13)) note_txn_set(s, "postfix-queue.8bit", "1");
    i += l + 1;
  }
  return DECLINED;
}

/* the record stream goes to postdrop's stdin */
static int pfq_write(void *ctx, const char *buf, size_t len)
{
  return fd_write_all(*(int *)ctx, buf, len);
}

/* reads one attribute list "name\0value\0...\0" into sa (bounded);
   0 ok, -1 EOF, error or too long */
static int attr_read(int fd, stralloc *sa)
{
  size_t fstart = 0, fields = 0;
  char c;
  sa->len = 0;
  for (;;) {
    ssize_t r = read(fd, &c, 1);
    if (r < 0 && errno == EINTR && !watchdog_fired()) continue;
    if (r <= 0) return -1;
    if (sa->len >= ATTR_MAX || !stralloc_append(sa, &c)) return -1;
    if (c) continue;
    /* an empty name ends the list */
    if (sa->len - 1 == fstart && fields % 2 == 0) return 0;
    ++fields;
    fstart = sa->len;
  }
}

static const char *attr_get(stralloc *sa, const char *name)
{
  size_t i = 0;
  while (i < sa->len) {
    const char *n = sa->s + i;
    size_t l = strnlen(n, sa->len - i);
    const char *v;
    if (!l) return NULL;
    i += l + 1;
    if (i >= sa->len) return NULL;
    v = sa->s + i;
    i += strnlen(v, sa->len - i) + 1;
    if (!strcmp(n, name)) return v;
  }
  return NULL;
}

/* printable ASCII only, for reply texts and the log */
static void clean(stralloc *sa, const char *x, size_t max)
{
  sa->len = 0;
  for (; *x && sa->len < max; ++x) {
    char c = (unsigned char)*x >= 0x20 && (unsigned char)*x < 0x7f ? *x : '?';
    if (!stralloc_append(sa, &c)) break;
  }
  stralloc_0(sa);
}

static int envelope_ok(const char *x)
{
  size_t n = strlen(x);
  return n <= PDREC_MAX && !memchr(x, '\r', n) && !memchr(x, '\n', n);
}

/* postdrop's stderr, once it has exited: what the pipe holds now, not
   what a grandchild might still write before EOF */
static void log_stderr(struct session *s, int fd)
{
  char buf[STDERR_MAX];
  size_t n, i, start = 0;
  n = spawn_readnow(fd, buf, sizeof buf - 1);
  buf[n] = 0;
  for (i = 0; i <= n; ++i) {
    if (i < n && buf[i] != '\n') {
      if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] >= 0x7f) buf[i] = '?';
      continue;
    }
    buf[i] = 0;
    if (i > start) qlogm(s, LOGWARN, NAME, "postdrop said: ", buf + start);
    start = i + 1;
  }
}

static void closep(int *p)
{
  if (p[0] >= 0) close(p[0]);
  if (p[1] >= 0) close(p[1]);
  p[0] = p[1] = -1;
}

/* what postdrop said, and where the exchange stopped short (step) */
struct pfq_run {
  stralloc attr, qid, reason;
  unsigned long status;
  int have_status;
  const char *step;
  long flags;                   /* cleanup's flags; -1: postdrop */
};

/* postdrop's or cleanup's wording of a step */
#define STEP(x, pd, cl) ((x)->flags < 0 ? (pd) : (cl))

/* Postfix's records hold addresses in internal form (unquoted), as its
   smtpd and sendmail write them; its smtp client quotes them again. The
   sender, then each recipient, each ending in \0: 1 ok, 0 out of memory,
   -1 an address postdrop cannot take */
static int pfq_envelope(struct session *s, const char *sender, unsigned int n, stralloc *env)
{
  stralloc ia = {0};
  unsigned int i;
  int r = 1;
  for (i = 0; r == 1 && i <= n; ++i) {
    if (!addr_internal(i ? txn_rcpt(s, i - 1) : sender, &ia) || !stralloc_cat(env, &ia)) r = 0;
    else if (!envelope_ok(ia.s)) r = -1;
  }
  stralloc_free(&ia);
  return r;
}

/* postdrop -r [-c config] with its stdin, stdout and stderr on our pipes,
   SIGPIPE ignored (the old action in *oldpipe); the pid, or -1 logged */
static pid_t pfq_spawn(struct session *s, const struct pfq *q, int *pin, int *pout, int *perr,
                       struct sigaction *oldpipe)
{
  const char *argv[5];
  struct sigaction ign;
  struct spawn sp;
  pid_t pid;
  argv[0] = q->postdrop;
  argv[1] = "-r";
  argv[2] = q->config ? "-c" : NULL;
  argv[3] = q->config;
  argv[4] = NULL;
  if (pipe2(pin, O_CLOEXEC) == -1 || pipe2(pout, O_CLOEXEC) == -1 || pipe2(perr, O_CLOEXEC) == -1) {
    qlogm(s, LOGERROR, NAME, "cannot create pipes: ", strerror(errno));
    return -1;
  }
  ign.sa_handler = SIG_IGN; sigemptyset(&ign.sa_mask); ign.sa_flags = 0;
  sigaction(SIGPIPE, &ign, oldpipe);
  memset(&sp, 0, sizeof sp);
  sp.path = argv[0];
  sp.argv = (char *const *)argv;
  sp.nfd = 3;
  sp.from[0] = pin[0]; sp.to[0] = 0;
  sp.from[1] = pout[1]; sp.to[1] = 1;
  sp.from[2] = perr[1]; sp.to[2] = 2;
  sp.failcode = 127;
  pid = spawn_start(s, &sp);
  if (pid == -1) {
    qlogm(s, LOGERROR, NAME, "cannot start postdrop: ", strerror(errno));
    sigaction(SIGPIPE, oldpipe, NULL);
    return -1;
  }
  close(pin[0]); pin[0] = -1;
  close(pout[1]); pout[1] = -1;
  close(perr[1]); perr[1] = -1;
  return pid;
}

/* DSN (RFC 3461) as Postfix's smtpd and sendmail write it: the
   envelope's ENVID and RET (rcpt NULL), or a recipient's NOTIFY and
   ORCPT, before its R record, as A records (mail_proto.h, dsn_mask.h) */
static void pfq_dsn(struct session *s, struct pdrec *r, const char *rcpt)
{
  stralloc a = {0};
  const char *v;
  int ok = 1, mask;
  if (!rcpt) {
    if ((v = note_txn_get(s, "dsn_envid")) && (ok = stralloc_copys(&a, "envelope_id=") && stralloc_cats(&a, v)))
      pdrec_put(r, 'A', a.s, a.len);
    if ((v = note_txn_get(s, "dsn_ret"))) pdrec_put(r, 'A', *v == 'F' ? "ret_flags=1" : "ret_flags=2", 11);
  } else {
    /* the note holds what dsn_parse_notify took, written out again */
    if ((v = txn_rcpt_note_get(s, rcpt, "dsn_notify")) && !dsn_parse_notify(v, strlen(v), &mask)) {
      char num[FMT_ULONG];
      num[fmt_ulong(num, (unsigned long)mask)] = 0;
      if ((ok = stralloc_copys(&a, "notify_flags=") && stralloc_cats(&a, num))) pdrec_put(r, 'A', a.s, a.len);
    }
    if (ok && (v = txn_rcpt_note_get(s, rcpt, "dsn_orcpt"))
        && (ok = stralloc_copys(&a, "dsn_orig_rcpt=") && stralloc_cats(&a, v))) {
      /* ORCPT's 500 characters and the name can pass postdrop's record */
      if (a.len <= PDREC_MAX) pdrec_put(r, 'A', a.s, a.len);
      else qlogm(s, LOGINFO, NAME, "the ORCPT of ", rcpt, " is too long for a Postfix record: left out");
    }
  }
  if (!ok && !r->err) r->err = ENOMEM;
  stralloc_free(&a);
}

/* the exchange: postdrop (or cleanup) speaks first (protocol, from 3.6
   on, and queue_id); cleanup then gets our flags; then our records
   (closing *in when it is postdrop's pipe), then it says its status */
static void pfq_talk(struct session *s, struct pdrec *r, int out, int *in, const stralloc *env,
                     unsigned int n, const char *who, struct pfq_run *x)
{
  const char *v, *e;
  unsigned int i;
  if (attr_read(out, &x->attr) == -1) { x->step = STEP(x, "no handshake from postdrop", "no handshake from cleanup"); return; }
  v = attr_get(&x->attr, "protocol");
  if (v && strcmp(v, STEP(x, "postdrop_protocol", "cleanup_protocol"))) {
    x->step = STEP(x, "unknown protocol in postdrop's handshake", "unknown protocol in cleanup's handshake");
    return;
  }
  v = attr_get(&x->attr, "queue_id");
  if (!v) { x->step = STEP(x, "no queue_id in postdrop's handshake", "no queue_id in cleanup's handshake"); return; }
  clean(&x->qid, v, 64);

  pdrec_init(r, pfq_write, in);
  if (x->flags >= 0) {
    /* attr_print0: "flags\0N\0" and the empty name ending the list */
    char buf[40];
    struct timeval tv;
    size_t k = fmt_str(buf, "flags");
    buf[k++] = 0;
    k += fmt_ulong(buf + k, (unsigned long)x->flags);
    buf[k++] = 0;
    buf[k++] = 0;
    if (fd_write_all(*in, buf, k) == -1 && !r->err) r->err = errno ? errno : EIO;
    gettimeofday(&tv, NULL);
    k = fmt_ulong(buf, (unsigned long)tv.tv_sec);
    buf[k++] = ' ';
    k += fmt_ulong(buf + k, (unsigned long)tv.tv_usec);
    pdrec_put(r, 'T', buf, k);
  }
  pdrec_put(r, 'A', "rewrite_context=remote", 22);
  if (note_txn_get(s, "postfix-queue.8bit")) pdrec_put(r, 'A', "encoding=8bit", 13);
  pfq_dsn(s, r, NULL);
  for (i = 0, e = env->s; i <= n; ++i) {
    size_t el = strlen(e);
    if (i) pfq_dsn(s, r, txn_rcpt(s, i - 1));
    pdrec_put(r, i ? 'R' : 'S', e, el);
    e += el + 1;
  }
  pdrec_put(r, 'M', "", 0);
  if (txn_each(s, pdrec_content, r) == -1 && !r->err) r->err = errno ? errno : EIO;
  pdrec_content_end(r);
  pdrec_put(r, 'X', "", 0);
  pdrec_put(r, 'E', "", 0);
  pdrec_flush(r);
  if (*in != out) { close(*in); *in = -1; }
  if (r->err) {
    qlogm(s, LOGERROR, NAME, "writing to ", who, " failed: ", strerror(r->err));
    x->step = "write error";
    return;
  }
  if (attr_read(out, &x->attr) == -1) { x->step = STEP(x, "no status from postdrop", "no status from cleanup"); return; }
  v = attr_get(&x->attr, "status");
  if (!v || !*v || v[scan_ulong(v, &x->status)]) { x->step = STEP(x, "no valid status from postdrop", "no valid status from cleanup"); return; }
  x->have_status = 1;
  v = attr_get(&x->attr, "reason");
  clean(&x->reason, v ? v : "", 200);
}

/* the reply and the log line for what postdrop said and how it ended (w:
   what waitpid returned) */
static int pfq_verdict(struct session *s, const struct pfq *q, const char *pidstr, pid_t pid, pid_t w,
                       int wstat, int timedout, struct pfq_run *x, stralloc *msg)
{
  char num[FMT_ULONG];
  if (x->have_status && x->status == 0) {
    if (w != pid || !WIFEXITED(wstat) || WEXITSTATUS(wstat))
      qlogm(s, LOGWARN, NAME, "postdrop pid ", pidstr, " reported status 0 but did not exit 0");
    qlogm(s, LOGINFO, NAME, "queued as ", x->qid.s, " by ", q->postdrop, " pid ", pidstr);
    stralloc_copys(msg, "2.0.0 Queued as ");
    stralloc_cats(msg, x->qid.s);
    return OK;
  }
  if (timedout) {
    num[fmt_ulong(num, queue_timeout(s))] = 0;
    qlogm(s, LOGERROR, NAME, "not queued: ", q->postdrop, " pid ", pidstr, " did not finish within ",
          num, " seconds (timeoutqueue) and was killed");
    stralloc_copys(msg, "4.3.0 postdrop timeout");
    return DENYSOFT;
  }
  if (x->have_status) {
    num[fmt_ulong(num, x->status)] = 0;
    qlogm(s, LOGERROR, NAME, "not queued: ", q->postdrop, " pid ", pidstr, " status ", num,
          x->reason.len > 1 ? ": " : "", x->reason.s);
    if (x->status & CLEANUP_STAT_NOPERM) {
      stralloc_copys(msg, "5.7.1 Postfix does not permit this sender");
      return DENY;
    }
    if (x->status & CLEANUP_STAT_SIZE) {
      stralloc_copys(msg, "5.3.4 Message too big for Postfix (message_size_limit)");
      return DENY;
    }
    if (x->status & CLEANUP_STAT_WRITE)
      stralloc_copys(msg, "4.3.0 postdrop write error or disk full");
    else
      stralloc_copys(msg, "4.3.0 postdrop refused the message, try again later");
    return DENYSOFT;
  }
  if (w == pid && WIFSIGNALED(wstat)) {
    num[fmt_ulong(num, (unsigned long)WTERMSIG(wstat))] = 0;
    qlogm(s, LOGERROR, NAME, "not queued: ", q->postdrop, " pid ", pidstr, " killed by signal ", num,
          x->step ? ": " : "", x->step ? x->step : "");
    stralloc_copys(msg, "4.3.0 postdrop crashed");
  } else if (w == pid && WIFEXITED(wstat) && WEXITSTATUS(wstat) == 127) {
    qlogm(s, LOGERROR, NAME, "not queued: cannot run ", q->postdrop);
    stralloc_copys(msg, "4.3.0 unable to run postdrop");
  } else {
    num[fmt_ulong(num, w == pid && WIFEXITED(wstat) ? (unsigned long)WEXITSTATUS(wstat) : 999)] = 0;
    qlogm(s, LOGERROR, NAME, "not queued: ", q->postdrop, " pid ", pidstr, " exit ", num,
          ": ", x->step ? x->step : "no status");
    stralloc_copys(msg, "4.3.0 postdrop failed, try again later");
  }
  return DENYSOFT;
}

/* cleanup's status as the reply: its soft failures first, as Perl
   checks them, then the hard ones; cleanup's own reason when it gave one */
static int cleanup_verdict(struct session *s, const char *sock, struct pfq_run *x, int timedout, stralloc *msg)
{
  static const struct { unsigned int bit; int rc; const char *text; } st[] = {
    { CLEANUP_STAT_DEFER, DENYSOFT, "4.7.1 Postfix cleanup: service unavailable" },
    { CLEANUP_STAT_PROXY, DENYSOFT, "4.3.0 Postfix cleanup: queue file write error" },
    { CLEANUP_STAT_BAD, DENYSOFT, "4.3.0 Postfix cleanup: internal protocol error" },
    { CLEANUP_STAT_WRITE, DENYSOFT, "4.3.0 Postfix cleanup: queue file write error" },
    { CLEANUP_STAT_NOPERM, DENY, "5.7.1 Postfix does not permit this sender" },
    { CLEANUP_STAT_RCPT, DENY, "5.1.0 Postfix cleanup: no recipients specified" },
    { CLEANUP_STAT_HOPS, DENY, "5.4.0 Postfix cleanup: too many hops" },
    { CLEANUP_STAT_SIZE, DENY, "5.3.4 Message too big for Postfix (message_size_limit)" },
    { CLEANUP_STAT_CONT, DENY, "5.7.1 Postfix cleanup: message content rejected" },
  };
  char num[FMT_ULONG];
  size_t i;
  if (x->have_status && x->status == 0) {
    qlogm(s, LOGINFO, NAME, "queued as ", x->qid.s, " by cleanup at ", sock);
    stralloc_copys(msg, "2.0.0 Queued as ");
    stralloc_cats(msg, x->qid.s);
    return OK;
  }
  if (timedout) {
    num[fmt_ulong(num, queue_timeout(s))] = 0;
    qlogm(s, LOGERROR, NAME, "not queued: cleanup at ", sock, " did not finish within ", num,
          " seconds (timeoutqueue)");
    stralloc_copys(msg, "4.3.0 Postfix cleanup timeout");
    return DENYSOFT;
  }
  if (!x->have_status) {
    qlogm(s, LOGERROR, NAME, "not queued: cleanup at ", sock, ": ", x->step ? x->step : "no status");
    stralloc_copys(msg, "4.3.0 Postfix cleanup failed, try again later");
    return DENYSOFT;
  }
  num[fmt_ulong(num, x->status)] = 0;
  qlogm(s, LOGERROR, NAME, "not queued: cleanup at ", sock, " status ", num,
        x->reason.len > 1 ? ": " : "", x->reason.s);
  for (i = 0; i < sizeof st / sizeof st[0]; ++i) {
    if (!(x->status & st[i].bit)) continue;
    stralloc_copyb(msg, st[i].text, 6);
    if (x->reason.len > 1) {
      /* "5.7.1 text" from cleanup keeps its own code */
      const char *r = x->reason.s;
      if (r[0] >= '2' && r[0] <= '5' && r[1] == '.') msg->len = 0;
      stralloc_cats(msg, r);
    } else
      stralloc_cats(msg, st[i].text + 6);
    return st[i].rc;
  }
  stralloc_copys(msg, "4.3.0 Postfix cleanup refused the message, try again later");
  return DENYSOFT;
}

/* Perl's way in: the first cleanup socket that answers, then the same
   records as for postdrop, over the one socket */
static int pfq_cleanup(struct session *s, const stralloc *socks, const stralloc *env, unsigned int n,
                       struct pdrec *r, struct pfq_run *x, stralloc *msg)
{
  long long deadline = net_deadline(queue_timeout(s) * 1000);
  struct sigaction ign, oldpipe;
  const char *sock = NULL;
  size_t i;
  int fd = -1, timedout, rc;
  for (i = 0; i < socks->len; i += strlen(socks->s + i) + 1) {
    sock = socks->s + i;
    if (!*sock) continue;
    fd = hostport_connect(s, sock, deadline);
    if (fd >= 0) break;
    qlogm(s, LOGWARN, NAME, "cannot connect to cleanup at ", sock, ": ", strerror(errno));
  }
  if (fd < 0) {
    qlog(s, LOGERROR, NAME, "not queued: no cleanup socket answered");
    stralloc_copys(msg, "4.3.0 unable to reach Postfix's cleanup service");
    return DENYSOFT;
  }
  /* blocking from here, under the watchdog, which shuts the socket down */
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  ign.sa_handler = SIG_IGN; sigemptyset(&ign.sa_mask); ign.sa_flags = 0;
  sigaction(SIGPIPE, &ign, &oldpipe);
  watchdog_start(queue_timeout(s), 0, fd);
  pfq_talk(s, r, fd, &fd, env, n, sock, x);
  timedout = watchdog_stop();
  sigaction(SIGPIPE, &oldpipe, NULL);
  rc = cleanup_verdict(s, sock, x, timedout, msg);
  close(fd);
  return rc;
}

/* the cleanup sockets to try, when this message goes to cleanup: 1 (in
   socks), 0 postdrop */
static int pfq_sockets(struct session *s, const struct pfq *q, stralloc *socks)
{
  const char *e;
  if (q->postdrop_args) return 0;
  e = env_get("POSTFIXQUEUE");
  if (e && *e) return stralloc_copys(socks, e) && stralloc_0(socks) ? 1 : -1;
  if (control_readlist(s, "cleanup_sockets", socks) && socks->len) return 1;
  if (!q->cleanup) return 0;
  return stralloc_copys(socks, q->socket ? q->socket : CLEANUP_SOCKET) && stralloc_0(socks) ? 1 : -1;
}

static int pfq_queue(struct session *s, void *self, struct msg_args *a)
{
  struct pfq *q = self;
  const char *sender = txn_sender(s);
  unsigned int n = txn_rcpt_count(s);
  int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, perr[2] = { -1, -1 };
  struct sigaction oldpipe;
  struct pdrec *r = NULL;
  struct pfq_run x = { {0}, {0}, {0}, 0, 0, NULL, -1 };
  stralloc env = {0}, socks = {0};
  char pidstr[FMT_ULONG], who[16 + FMT_ULONG];
  int wstat = 0, rc = DENYSOFT, timedout, e;
  pid_t pid, w;

  if (!sender || !n) {
    qlog(s, LOGERROR, NAME, "no sender or no recipients, not queued");
    stralloc_copys(a->msg, "4.3.0 internal error: no envelope");
    return DENYSOFT;
  }
  e = pfq_envelope(s, sender, n, &env);
  if (e == -1) {
    qlog(s, LOGERROR, NAME, "an envelope address is too long for postdrop or holds CR/LF; not queued");
    stralloc_copys(a->msg, "5.1.3 envelope address too long or malformed for postdrop");
    rc = DENY;
    goto out;
  }
  if (e == 0 || !(r = malloc(sizeof *r))) { qlog(s, LOGERROR, NAME, "out of memory"); goto tempfail; }
  e = pfq_sockets(s, q, &socks);
  if (e == -1) { qlog(s, LOGERROR, NAME, "out of memory"); goto tempfail; }
  if (e == 1) {
    /* RFC 6531: a transaction that declared SMTPUTF8 asks cleanup for it,
       as Postfix's smtpd does, so its qmgr and smtp client keep it */
    x.flags = (long)(q->flags | (txn_smtputf8(s) ? CLEANUP_FLAG_SMTPUTF8 : 0));
    /* a milter's quarantine: Postfix's hold queue, as its smtpd does */
    if (note_txn_get(s, "milter_quarantine")) {
      x.flags |= CLEANUP_FLAG_HOLD;
      qlog(s, LOGINFO, NAME, "a milter quarantined the message: it goes to Postfix's hold queue");
    }
    rc = pfq_cleanup(s, &socks, &env, n, r, &x, a->msg);
    goto out;
  }
  pid = pfq_spawn(s, q, pin, pout, perr, &oldpipe);
  if (pid == -1) goto tempfail;
  pidstr[fmt_ulong(pidstr, (unsigned long)pid)] = 0;
  who[fmt_str(who, "postdrop pid ") + fmt_str(who + 13, pidstr)] = 0;
  watchdog_start(queue_timeout(s), pid, -1);
  pfq_talk(s, r, pout[0], &pin[1], &env, n, who, &x);
  close(pout[0]); pout[0] = -1;
  w = spawn_wait(pid, &wstat, 0);
  timedout = watchdog_stop();
  if (w == pid) log_stderr(s, perr[0]);
  sigaction(SIGPIPE, &oldpipe, NULL);
  rc = pfq_verdict(s, q, pidstr, pid, w, wstat, timedout, &x, a->msg);
  goto out;

tempfail:
  stralloc_copys(a->msg, "4.3.0 unable to run postdrop");
out:
  closep(pin);
  closep(pout);
  closep(perr);
  free(r);
  stralloc_free(&x.attr);
  stralloc_free(&x.qid);
  stralloc_free(&x.reason);
  stralloc_free(&env);
  stralloc_free(&socks);
  return rc;
}

static int pfq_ehlo(struct session *s, void *self, struct helo_args *a)
{
  (void)self;
  return queue_dsn_ehlo(s) ? DECLINED : hook_nomem(a->msg);
}

const struct plugin plugin_queue_postfix_queue = {
  .name = NAME,
  .init = pfq_init,
  .ehlo = pfq_ehlo, .mail = pfq_mail, .queue = pfq_queue,
  .flags = PLUGIN_DSN,
};
