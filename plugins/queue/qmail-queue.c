/* queue/qmail-queue [path]: hand the message to qmail-queue (or any
   program speaking its protocol, see qmail-queue(8)).

   fd 0 gets the message (new headers first, LF line ends), fd 1 the
   envelope "F<sender>\0T<rcpt>\0...\0", written only after fd 0 is closed
   because qmail-queue reads the message to EOF first. fd 6 is the notqmail
   custom-error channel: a program exiting 82 may have written "D<text>"
   (permanent) or "Z<text>" (temporary) there. Exit codes map as in
   qmail.c qmail_close(): 11-40 permanent, everything else temporary, and
   250 only for exit 0 with every byte written. The exit status decides:
   we wait for qmail-queue's exit, never for EOF on a pipe, which a
   grandchild (a wrapper's background job) may hold open for ever. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE             /* pipe2 */
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <fmt.h>
#include <stralloc.h>
#include "addr.h"
#include "ecode.h"
#include "plugin.h"

#define NAME "queue/qmail-queue"
#define ERRTEXT_MAX 255         /* what qmail.c reads from fd 6 */
#define MSGID_MAX 200           /* keeps the 250 line well under 512 */

/* the reply table: exit code -> result and text (qmail.c qmail_close).
   The texts are in the table, not pointers to literals, so that the table
   and its texts are one section, which layout.ld puts with the read-only
   data a queued message never reads */
static const struct qq_reply {
  int code;
  int rc;
  char text[48];
} qq_replies[] = {
  {  11, DENY,     "5.1.3 envelope address too long for qq" },
  { 115, DENY,     "5.1.3 envelope address too long for qq" },
  {  31, DENY,     "5.3.0 mail server permanently rejected message" },
  {  51, DENYSOFT, "4.3.0 qq out of memory" },
  {  52, DENYSOFT, "4.3.0 qq timeout" },
  {  53, DENYSOFT, "4.3.0 qq write error or disk full" },
  {  54, DENYSOFT, "4.3.0 qq read error" },
  {  55, DENYSOFT, "4.3.0 qq unable to read configuration" },
  {  56, DENYSOFT, "4.3.0 qq trouble making network connection" },
  {  61, DENYSOFT, "4.3.0 qq trouble in home directory" },
  {  62, DENYSOFT, "4.3.0 qq trouble creating files in queue" },
  {  63, DENYSOFT, "4.3.0 qq trouble creating files in queue" },
  {  64, DENYSOFT, "4.3.0 qq trouble creating files in queue" },
  {  65, DENYSOFT, "4.3.0 qq trouble creating files in queue" },
  {  66, DENYSOFT, "4.3.0 qq trouble creating files in queue" },
  {  71, DENYSOFT, "4.3.0 mail server temporarily rejected message" },
  {  72, DENYSOFT, "4.4.1 connection to mail server timed out" },
  {  73, DENYSOFT, "4.4.1 connection to mail server rejected" },
  {  74, DENYSOFT, "4.4.2 communication with mail server failed" },
  {  81, DENYSOFT, "4.3.0 qq internal bug" },
  {  91, DENYSOFT, "4.3.0 qq internal bug" },
  { 120, DENYSOFT, "4.3.0 unable to exec qq" },
};
static const char txt_readerr[]   = "4.3.0 qq read error";
static const char txt_perm[]      = "5.3.0 qq permanent problem";
static const char txt_temp[]      = "4.3.0 qq temporary problem";
static const char txt_crashed[]   = "4.3.0 qq crashed";
static const char txt_surprise[]  = "4.3.0 qq waitpid surprise";
static const char txt_qqt[]       = "4.3.0 qqt failure";
static const char txt_timeout[]   = "4.3.0 qq timeout";
static const char txt_noenv[]     = "4.3.0 qq internal bug";

static int qq_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  *self = 0;
  if (argc > 1) {
    stralloc_copys(err, NAME ": takes at most one argument, the path of qmail-queue");
    return 0;
  }
  if (argc == 1) {
    if (argv[0][0] != '/') {
      stralloc_copys(err, NAME ": the qmail-queue path must be absolute: ");
      stralloc_cats(err, argv[0]);
      return 0;
    }
    *self = (void *)argv[0];
  }
  return 1;
}

static int is_ecode(const char *x, size_t len, char cls)
{
  return len && x[0] == cls && ecode_scan(x, len) == len;
}

/* The custom text from fd 6, "D..." or "Z...": keep one line of printable
   ASCII, and turn qmail's trailing "(#5.7.1)" into a leading enhanced code
   when its class fits; otherwise use the class's default code. */
static int qq_custom(const char *buf, size_t len, stralloc *msg)
{
  char cls = buf[0] == 'D' ? '5' : '4';
  const char *t = buf + 1;
  size_t n = 0, i, sp;
  char line[ERRTEXT_MAX];

  for (i = 0; i < len - 1 && n < sizeof line; ++i) {
    unsigned char c = (unsigned char)t[i];
    if (c == '\r' || c == '\n' || c == 0) break;
    line[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
  }
  while (n && line[n - 1] == ' ') --n;
  i = 0;
  while (i < n && line[i] == ' ') ++i;

  stralloc_zero(msg);
  if (i == n) return 0;
  if (n - i >= 4 && line[n - 1] == ')' ) {
    /* "... (#d.d.d)" */
    size_t open = n - 1;
    while (open > i && line[open] != '(') --open;
    sp = open;
    while (sp > i && line[sp - 1] == ' ') --sp;
    if (sp > i && line[open] == '(' && line[open + 1] == '#'
        && is_ecode(line + open + 2, n - 1 - (open + 2), cls)) {
      stralloc_catb(msg, line + open + 2, n - 1 - (open + 2));
      stralloc_cats(msg, " ");
      stralloc_catb(msg, line + i, sp - i);
      return msg->len > 0;
    }
  }
  for (sp = i; sp < n && line[sp] != ' '; ++sp) ;
  if (sp == n || !is_ecode(line + i, sp - i, cls))
    stralloc_cats(msg, cls == '5' ? "5.3.0 " : "4.3.0 ");
  stralloc_catb(msg, line + i, n - i);
  return msg->len > 0;
}

/* The result of a qmail-queue that did not queue, or of whose input
   a write failed: rc and reply text in msg. A function of its own, so that
   a session that queues runs (and maps) only qq_result's test. */
static __attribute__((noinline)) int qq_failure(int wstat, int werr, const char *errbuf, size_t errlen, stralloc *msg)
{
  int code;
  unsigned int i;

  if (WIFSIGNALED(wstat)) { stralloc_copys(msg, txt_crashed); return DENYSOFT; }
  if (!WIFEXITED(wstat)) { stralloc_copys(msg, txt_surprise); return DENYSOFT; }
  code = WEXITSTATUS(wstat);
  if (code == 0) {
    if (!werr) return OK;
    stralloc_copys(msg, txt_readerr);
    return DENYSOFT;
  }
  if (code == 82 && errlen > 2 && (errbuf[0] == 'D' || errbuf[0] == 'Z')) {
    if (qq_custom(errbuf, errlen, msg)) return errbuf[0] == 'D' ? DENY : DENYSOFT;
  }
  for (i = 0; i < sizeof qq_replies / sizeof qq_replies[0]; ++i)
    if (qq_replies[i].code == code) {
      stralloc_copys(msg, qq_replies[i].text);
      return qq_replies[i].rc;
    }
  if (code >= 11 && code <= 40) { stralloc_copys(msg, txt_perm); return DENY; }
  stralloc_copys(msg, txt_temp);
  return DENYSOFT;
}

/* The result of a finished qmail-queue: rc and reply text in msg. */
static int qq_result(int wstat, int werr, const char *errbuf, size_t errlen, stralloc *msg)
{
  if (WIFEXITED(wstat) && WEXITSTATUS(wstat) == 0 && !werr) return OK;
  return qq_failure(wstat, werr, errbuf, errlen, msg);
}

/* Message-Id for the 250 line: its first token, printable ASCII only,
   in one pair of angle brackets as Perl's plugin shows it. */
static void msgid_get(struct session *s, stralloc *id)
{
  stralloc h = {0};
  size_t i = 0;

  stralloc_zero(id);
  if (txn_header_get(s, "Message-Id", &h) != 1) { stralloc_free(&h); return; }
  while (i < h.len && (h.s[i] == ' ' || h.s[i] == '\t' || h.s[i] == '\n' || h.s[i] == '\r')) ++i;
  if (!stralloc_copys(id, "<")) goto out;
  for (; i < h.len && id->len <= MSGID_MAX; ++i) {
    unsigned char c = (unsigned char)h.s[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') break;
    if (c > 0x20 && c < 0x7f && c != '<' && c != '>')
      if (!stralloc_append(id, (const char *)&c)) break;
  }
  if (id->len == 1 || !stralloc_cats(id, ">")) stralloc_zero(id);
out:
  stralloc_free(&h);
}

static void pipes_close(int *p, int n)
{
  int i;
  for (i = 0; i < n; ++i) if (p[i] >= 0) { close(p[i]); p[i] = -1; }
}

/* the program: $QMAILQUEUE, the plugin's argument, or $QMAIL/bin/qmail-queue;
   NULL when out of memory */
static const char *qq_prog(void *self, stralloc *sa)
{
  const char *prog = env_get("QMAILQUEUE");
  const char *q;
  if (prog && *prog) return prog;
  if (self) return (const char *)self;
  q = env_get("QMAIL");
  if (!q || !*q) q = "/var/qmail";
  if (!stralloc_copys(sa, q) || !stralloc_cats(sa, "/bin/qmail-queue") || !stralloc_0(sa)) return NULL;
  return sa->s;
}

/* one started qmail-queue: our ends of its three pipes */
struct qq_child {
  pid_t pid;
  int pm, pe, px;
  char prog[256];
};

/* starts prog with the message pipe on its fd 0, the envelope pipe on fd 1
   and the error pipe on fd 6 (spawn_start's fast child: the previous one
   is always reaped first); 0 ok, -1 with a log line */
static int qq_spawn(struct session *s, const char *prog, struct qq_child *c)
{
  static char *argv[2];
  int pm[2] = { -1, -1 }, pe[2] = { -1, -1 }, px[2] = { -1, -1 };
  int all[6], saved;
  struct spawn sp;

  if (strlen(prog) >= sizeof c->prog) {
    qlogm(s, LOGERROR, NAME, "program path too long: ", prog);
    return -1;
  }
  if (pipe2(pm, O_CLOEXEC) == -1 || pipe2(pe, O_CLOEXEC) == -1 || pipe2(px, O_CLOEXEC) == -1) {
    saved = errno;
    all[0] = pm[0]; all[1] = pm[1]; all[2] = pe[0]; all[3] = pe[1]; all[4] = px[0]; all[5] = px[1];
    pipes_close(all, 6);
    qlogm(s, LOGERROR, NAME, "cannot create pipes: ", strerror(saved));
    return -1;
  }
  /* a dead qmail-queue does not kill us: the session ignores SIGPIPE
     from its start (session_start), and a write to it fails with EPIPE */
  /* a fast child may read path and argv after we return: c->prog and
     the static argv stay as they are until it is reaped (qq_queue's copy
     of early leaves early.prog in place) */
  memcpy(c->prog, prog, strlen(prog) + 1);
  memset(&sp, 0, sizeof sp);
  sp.path = c->prog;
  argv[0] = c->prog;
  argv[1] = 0;
  sp.argv = argv;
  sp.nfd = 3;
  sp.from[0] = pm[0]; sp.to[0] = 0;
  sp.from[1] = pe[0]; sp.to[1] = 1;
  sp.from[2] = px[1]; sp.to[2] = 6;
  sp.failcode = 120;            /* "unable to exec qq" */
  sp.fast = 1;
  c->pid = spawn_start(s, &sp);
  saved = errno;
  if (c->pid == -1) {
    all[0] = pm[0]; all[1] = pm[1]; all[2] = pe[0]; all[3] = pe[1]; all[4] = px[0]; all[5] = px[1];
    pipes_close(all, 6);
    c->pid = 0;
    qlogm(s, LOGERROR, NAME, "cannot start a process: ", strerror(saved));
    return -1;
  }
  close(pm[0]); close(pe[0]); close(px[1]);
  c->pm = pm[1]; c->pe = pe[1]; c->px = px[0];
  return 0;
}

/* qmail-queue started at DATA, as qmail-smtpd does, so that its fork and
   exec overlap the client's sending of the message instead of delaying
   the reply to the final dot. It is fed at queue time; a transaction that
   ends otherwise closes its pipes, so it reads EOF before the envelope's
   final \0 and queues nothing (qmail-queue(8)). */
static struct qq_child early;

static void qq_abandon(struct session *s)
{
  int wstat;
  if (early.pid <= 0) return;
  close(early.pm); close(early.pe); close(early.px);
  watchdog_start(queue_timeout(s), early.pid, -1);
  spawn_wait(early.pid, &wstat, 0);
  watchdog_stop();
  early.pid = 0;
}

static int qq_data(struct session *s, void *self, struct msg_args *a)
{
  stralloc progsa = {0};
  const char *prog;
  qq_abandon(s);
  prog = qq_prog(self, &progsa);
  if (prog && qq_spawn(s, prog, &early) == -1) early.pid = 0;
  stralloc_free(&progsa);
  return DECLINED;
}

static int qq_reset(struct session *s, void *self, struct msg_args *a)
{
  qq_abandon(s);
  return DECLINED;
}

/* The envelope in one buffer, sent after the message, with the addresses
   in internal form (unquoted) as qmail-smtpd writes them: qmail-remote
   quotes a local part again when it needs it. A parsed address holds no
   NUL, so none can end a record early. 1 ok, 0 out of memory. */
static int qq_envelope(struct session *s, const char *sender, unsigned int n, stralloc *env)
{
  stralloc ia = {0};
  unsigned int i;
  int ok = addr_internal(sender, &ia) && stralloc_copys(env, "F") && stralloc_cat(env, &ia);
  for (i = 0; ok && i < n; ++i) {
    const char *to = txn_rcpt(s, i);
    if (!to) continue;
    ok = addr_internal(to, &ia) && stralloc_cats(env, "T") && stralloc_cat(env, &ia);
  }
  ok = ok && stralloc_0(env);
  stralloc_free(&ia);
  return ok;
}

/* Writes the message, then the envelope; what failed goes in *what (with
   errno in *err). After a failed message write the envelope is not sent:
   qmail-queue then sees EOF before the final \0 and queues nothing. */
static void qq_feed(struct session *s, struct qq_child *c, const stralloc *env, int *err, const char **what)
{
  if (txn_write_message(s, c->pm) == -1) { *err = errno; *what = "message"; }
  close(c->pm);
  if (!*what && fd_write_all(c->pe, env->s, env->len) == -1) { *err = errno; *what = "envelope"; }
  close(c->pe);
}

/* the log line of a qmail-queue that did not queue; rc is what qq_result
   made of its exit (a function of its own, as qq_failure) */
static __attribute__((noinline)) int qq_report_failure(struct session *s, const char *prog, const char *pidstr,
                                                        int wstat, int timedout, int rc, stralloc *msg)
{
  char codestr[FMT_ULONG];
  if (timedout) {
    codestr[fmt_ulong(codestr, queue_timeout(s))] = 0;
    stralloc_copys(msg, txt_timeout);
    qlogm(s, LOGERROR, NAME, "not queued: ", prog, " pid ", pidstr, " did not finish within ",
          codestr, " seconds (timeoutqueue) and was killed");
    return DENYSOFT;
  }
  if (WIFSIGNALED(wstat)) {
    codestr[fmt_ulong(codestr, (unsigned long)WTERMSIG(wstat))] = 0;
    qlogm(s, LOGERROR, NAME, "not queued: ", prog, " pid ", pidstr, " killed by signal ",
          codestr, ": ", txt_crashed);
    return rc;
  }
  codestr[fmt_ulong(codestr, (unsigned long)WEXITSTATUS(wstat))] = 0;
  stralloc_0(msg);
  --msg->len;
  qlogm(s, LOGERROR, NAME, "not queued: ", prog, " pid ", pidstr, " exit ", codestr,
        ": ", msg->s);
  return rc;
}

/* the reply text and the log line for qmail-queue's exit; rc is what
   qq_result made of it */
static int qq_report(struct session *s, const char *prog, const char *pidstr, int wstat, int timedout,
                     int rc, stralloc *msgid, stralloc *msg)
{
  char codestr[FMT_ULONG], timestr[FMT_ULONG];
  if (timedout || WIFSIGNALED(wstat) || rc != OK)
    return qq_report_failure(s, prog, pidstr, wstat, timedout, rc, msg);
  codestr[fmt_ulong(codestr, (unsigned long)WEXITSTATUS(wstat))] = 0;
  timestr[fmt_ulong(timestr, (unsigned long)time(0))] = 0;
  stralloc_copys(msg, "Queued! ");
  stralloc_cats(msg, timestr);
  stralloc_cats(msg, " qp ");
  stralloc_cats(msg, pidstr);
  if (msgid->len) {
    stralloc_cats(msg, " ");
    stralloc_cat(msg, msgid);
  }
  stralloc_0(msgid);
  qlogm(s, LOGINFO, NAME, "queued: ", prog, " pid ", pidstr, " exit ", codestr,
        msgid->len > 1 ? " " : "", msgid->len > 1 ? msgid->s : "");
  return rc;
}

static int qq_queue(struct session *s, void *self, struct msg_args *a)
{
  const char *prog;
  stralloc progsa = {0}, env = {0}, msgid = {0};
  struct qq_child c;
  pid_t pid, r;
  int wstat = 0, werr = 0, rc, saved, timedout;
  const char *werrwhat = 0;
  unsigned int n;
  char errbuf[ERRTEXT_MAX + 1];
  size_t errlen = 0;
  char pidstr[FMT_ULONG];
  const char *sender = txn_sender(s);

  prog = qq_prog(self, &progsa);
  if (!prog) {
    stralloc_copys(a->msg, txt_qqt);
    qlogm(s, LOGERROR, NAME, "out of memory");
    qq_abandon(s);
    return DENYSOFT;
  }

  n = txn_rcpt_count(s);
  if (!sender || !n) {
    qlogm(s, LOGERROR, NAME, "no sender or no recipients, not queued");
    stralloc_copys(a->msg, txt_noenv);
    stralloc_free(&progsa);
    return DENYSOFT;
  }
  if (!qq_envelope(s, sender, n, &env)) {
    qlogm(s, LOGERROR, NAME, "out of memory");
    goto qqt;
  }
  msgid_get(s, &msgid);

  if (early.pid > 0 && !strcmp(early.prog, prog)) {
    c = early;                  /* started at DATA */
    early.pid = 0;
  } else {
    qq_abandon(s);
    if (qq_spawn(s, prog, &c) == -1) goto qqt;
  }
  pid = c.pid;
  watchdog_start(queue_timeout(s), pid, -1);
  qq_feed(s, &c, &env, &werr, &werrwhat);

  /* Success is qmail-queue's exit status: wait for its exit, not for EOF
     on fd 6, which a grandchild it leaves behind (a wrapper's background
     job) may hold open. Its custom error text is in the pipe by the time
     it has exited: take what is there now. */
  r = spawn_wait(pid, &wstat, 0);
  saved = errno;
  timedout = watchdog_stop();
  if (r == pid) errlen = spawn_readnow(c.px, errbuf, ERRTEXT_MAX);
  close(c.px);

  pidstr[fmt_ulong(pidstr, (unsigned long)pid)] = 0;
  if (werrwhat)
    qlogm(s, LOGERROR, NAME, "writing the ", werrwhat, " to ", prog, " pid ", pidstr,
          " failed: ", strerror(werr));
  if (r != pid) {
    qlogm(s, LOGERROR, NAME, "waitpid for ", prog, " pid ", pidstr, " failed: ", strerror(saved));
    stralloc_copys(a->msg, txt_surprise);
    rc = DENYSOFT;
    goto done;
  }
  rc = qq_report(s, prog, pidstr, wstat, timedout, qq_result(wstat, werrwhat != 0, errbuf, errlen, a->msg),
                 &msgid, a->msg);
  goto done;

qqt:
  stralloc_copys(a->msg, txt_qqt);
  rc = DENYSOFT;
done:
  stralloc_free(&progsa);
  stralloc_free(&env);
  stralloc_free(&msgid);
  return rc;
}

const struct plugin plugin_queue_qmail_queue = {
  .name = NAME,
  .init = qq_init,
  .data = qq_data, .queue = qq_queue,
  .reset_transaction = qq_reset, .disconnect = qq_reset,
};
