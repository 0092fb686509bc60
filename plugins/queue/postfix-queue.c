/* queue/postfix-queue [POSTDROP] [config DIR]: hands the message to
   Postfix through postdrop(1), as Postfix's own sendmail does.

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
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fmt.h>
#include <scan.h>
#include <stralloc.h>
#include "addr.h"
#include "dsn.h"
#include "pdrecord.h"
#include "plugin.h"

#define NAME "queue/postfix-queue"
#define ATTR_MAX 1024           /* one attribute list from postdrop */
#define STDERR_MAX 2048         /* what we log of postdrop's stderr */

/* Postfix's cleanup_user.h */
#define CLEANUP_STAT_BAD    (1 << 0)
#define CLEANUP_STAT_WRITE  (1 << 1)
#define CLEANUP_STAT_SIZE   (1 << 2)
#define CLEANUP_STAT_NOPERM (1 << 9)

struct pfq {
  const char *postdrop;
  const char *config;
};

static int pfq_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct pfq *q = calloc(1, sizeof *q);
  int i = 0;
  if (!q) { stralloc_copys(err, NAME ": out of memory"); return 0; }
  q->postdrop = "/usr/sbin/postdrop";
  if (argc > 0 && argv[0][0] == '/') q->postdrop = argv[i++];
  for (; i < argc; i += 2) {
    if (!strcmp(argv[i], "config") && i + 1 < argc && argv[i + 1][0] == '/') {
      q->config = argv[i + 1];
      continue;
    }
    stralloc_copys(err, NAME ": usage: queue/postfix-queue [/path/to/postdrop] [config /config/dir]; got: ");
    stralloc_cats(err, argv[i]);
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
};

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

/* the exchange: postdrop speaks first (protocol, from 3.6 on, and
   queue_id), then gets our records (closing *in), then says its status */
static void pfq_talk(struct session *s, struct pdrec *r, int out, int *in, const stralloc *env,
                     unsigned int n, const char *pidstr, struct pfq_run *x)
{
  const char *v, *e;
  unsigned int i;
  if (attr_read(out, &x->attr) == -1) { x->step = "no handshake from postdrop"; return; }
  v = attr_get(&x->attr, "protocol");
  if (v && strcmp(v, "postdrop_protocol")) { x->step = "unknown protocol in postdrop's handshake"; return; }
  v = attr_get(&x->attr, "queue_id");
  if (!v) { x->step = "no queue_id in postdrop's handshake"; return; }
  clean(&x->qid, v, 64);

  pdrec_init(r, pfq_write, in);
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
  close(*in); *in = -1;
  if (r->err) {
    qlogm(s, LOGERROR, NAME, "writing to postdrop pid ", pidstr, " failed: ", strerror(r->err));
    x->step = "write error";
    return;
  }
  if (attr_read(out, &x->attr) == -1) { x->step = "no status from postdrop"; return; }
  v = attr_get(&x->attr, "status");
  if (!v || !*v || v[scan_ulong(v, &x->status)]) { x->step = "no valid status from postdrop"; return; }
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

static int pfq_queue(struct session *s, void *self, struct msg_args *a)
{
  struct pfq *q = self;
  const char *sender = txn_sender(s);
  unsigned int n = txn_rcpt_count(s);
  int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, perr[2] = { -1, -1 };
  struct sigaction oldpipe;
  struct pdrec *r = NULL;
  struct pfq_run x = { {0}, {0}, {0}, 0, 0, NULL };
  stralloc env = {0};
  char pidstr[FMT_ULONG];
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
  pid = pfq_spawn(s, q, pin, pout, perr, &oldpipe);
  if (pid == -1) goto tempfail;
  pidstr[fmt_ulong(pidstr, (unsigned long)pid)] = 0;
  watchdog_start(queue_timeout(s), pid, -1);
  pfq_talk(s, r, pout[0], &pin[1], &env, n, pidstr, &x);
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
