/* auth/auth_checkpassword: AUTH PLAIN and LOGIN against a program with
   djb's checkpassword interface (cr.yp.to/checkpwd/interface.html), such
   as vchkpw, as Perl qpsmtpd's plugin.

     auth/auth_checkpassword checkpw /path/checkpassword true /bin/true [timeout N]

   or, without checkpw/true arguments, the smtpauth-checkpassword control
   file: "/path/checkpassword /bin/true" (the checkpassword program, then
   the program it runs on success and that program's arguments).

   The program is run with that argv (no shell), fd 3 reading
   "user\0password\0\0" (an empty timestamp: there is no challenge for
   PLAIN and LOGIN; at most 512 bytes, as the interface allows), fds 0 and
   1 on /dev/null, fd 2 on our log (on /dev/null when it is the client's
   socket, as under xinetd). Exit 0: OK. Exit 1: the password is
   wrong; DECLINED as in Perl, so later plugins may still accept. Exit 111,
   any other exit, a crash, or no exit within the timeout (default 30 s;
   the program's process group is killed): a temporary failure, DENYSOFT,
   which the core answers 454. Our copy of the password is wiped after the
   write. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE             /* pipe2 */
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <fmt.h>
#include <scan.h>
#include "plugin.h"
#include "clock.h"
#include "sasl.h"
#include "wipe.h"

#define NAME "auth/auth_checkpassword"
#define CONTROL "smtpauth-checkpassword"
#define ARGV_MAX 16
#define DATA_MAX 512            /* the interface's limit for fd 3 */

struct cpw {
  const char *argv[ARGV_MAX + 1];   /* from the plugin arguments; argv[0] NULL: use the control file */
  const char *cargv[ARGV_MAX + 1];  /* from the control file (setup); cargv[0] NULL: none */
  stralloc ctl;
  unsigned long timeout;
};

static int cpw_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct cpw *c = calloc(1, sizeof *c);
  const char *checkpw = NULL, *truep = NULL;
  int i;
  if (!c) { stralloc_copys(err, "out of memory"); return 0; }
  c->timeout = 30;
  if (argc % 2) { stralloc_copys(err, "arguments come in pairs: checkpw PATH true PATH [timeout SECONDS]"); return 0; }
  for (i = 0; i < argc; i += 2) {
    const char *k = argv[i], *v = argv[i + 1];
    if (!strcmp(k, "checkpw")) checkpw = v;
    else if (!strcmp(k, "true")) truep = v;
    else if (!strcmp(k, "timeout")) {
      unsigned long u;
      size_t n = scan_ulong(v, &u);
      if (!n || v[n] || !u || u > 3600) { stralloc_copys(err, "timeout must be 1 to 3600 seconds"); return 0; }
      c->timeout = u;
    } else {
      stralloc_copys(err, "unknown argument ");
      stralloc_cats(err, k);
      return 0;
    }
  }
  if (!checkpw != !truep) { stralloc_copys(err, "checkpw and true go together"); return 0; }
  if (checkpw) {
    if (checkpw[0] != '/' || truep[0] != '/') { stralloc_copys(err, "checkpw and true must be absolute paths"); return 0; }
    c->argv[0] = checkpw;
    c->argv[1] = truep;
  }
  *self = c;
  return 1;
}

/* argv from the control file, split on white space, into sa and av; a
   bad file is a 421 at connect naming its file and line */
static int from_control(struct session *s, stralloc *sa, const char **av)
{
  struct control_at at = { {0}, {0} };
  size_t i = 0;
  int n = 0;
  if (!control_readlist_at(s, CONTROL, sa, &at) || !sa->len) return 0;
  sa->len = strlen(sa->s) + 1;        /* the first line */
  while (i < sa->len - 1) {
    while (i < sa->len - 1 && (sa->s[i] == ' ' || sa->s[i] == '\t')) sa->s[i++] = 0;
    if (i >= sa->len - 1) break;
    if (n == ARGV_MAX) die_control_at(s, &at, sa, sa->s, CONTROL, "too many words");
    av[n++] = sa->s + i;
    while (i < sa->len - 1 && sa->s[i] != ' ' && sa->s[i] != '\t') ++i;
  }
  av[n] = NULL;
  if (n < 2) die_control_at(s, &at, sa, sa->s, CONTROL, "needs the checkpassword program and the program it runs");
  if (av[0][0] != '/' || av[1][0] != '/') die_control_at(s, &at, sa, sa->s, CONTROL, "the programs must be absolute paths");
  stralloc_free(&at.files);
  stralloc_free(&at.lines);
  return 1;
}

static int cpw_setup(struct session *s, void *self)
{
  struct cpw *c = self;
  if (!c->argv[0]) from_control(s, &c->ctl, c->cargv);
  return 1;
}

static int cpw_auth(struct session *s, void *self, struct auth_args *a)
{
  struct cpw *c = self;
  const char *av[ARGV_MAX + 1];
  char data[DATA_MAX];
  size_t ul = strlen(a->user), dl;
  int p[2], wstat = 0, rc, shortwrite;
  pid_t pid, r;
  long long deadline;
  long wait = 1;
  char num[FMT_ULONG];
  struct sigaction ign, oldpipe;
  struct spawn sp;

  if (!a->pass) return DECLINED;
  if (c->argv[0]) memcpy(av, c->argv, sizeof av);
  else if (c->cargv[0]) memcpy(av, c->cargv, sizeof av);
  else {
    qlog(s, LOGERROR, NAME, "disabled: no checkpw/true arguments and no " CONTROL " file");
    return DECLINED;
  }
  /* user \0 password \0 timestamp \0 */
  if (ul + a->passlen + 3 > DATA_MAX) {
    qlogm(s, LOGINFO, NAME, "fail: user name and password too long for checkpassword");
    return DECLINED;
  }
  memcpy(data, a->user, ul + 1);
  memcpy(data + ul + 1, a->pass, a->passlen);
  data[ul + 1 + a->passlen] = 0;
  data[ul + 2 + a->passlen] = 0;
  dl = ul + a->passlen + 3;

  if (pipe2(p, O_CLOEXEC) == -1) {
    wipe(data, sizeof data);
    qlogm(s, LOGERROR, NAME, "cannot create a pipe: ", strerror(errno));
    stralloc_copys(a->msg, "auth_checkpassword - temporary failure");
    return DENYSOFT;
  }
  ign.sa_handler = SIG_IGN; sigemptyset(&ign.sa_mask); ign.sa_flags = 0;
  sigaction(SIGPIPE, &ign, &oldpipe);
  /* fds 0 and 1 on /dev/null, fd 2 our log or /dev/null (spawn_start) */
  memset(&sp, 0, sizeof sp);
  sp.path = av[0];
  sp.argv = (char *const *)av;
  sp.nfd = 1;
  sp.from[0] = p[0]; sp.to[0] = 3;
  sp.failcode = 111;
  pid = spawn_start(s, &sp);
  close(p[0]);
  if (pid == -1) {
    int e = errno;
    close(p[1]);
    wipe(data, sizeof data);
    sigaction(SIGPIPE, &oldpipe, NULL);
    qlogm(s, LOGERROR, NAME, "cannot start ", av[0], ": ", strerror(e));
    stralloc_copys(a->msg, "auth_checkpassword - temporary failure");
    return DENYSOFT;
  }
  /* at most 512 bytes: the pipe takes them without blocking */
  shortwrite = write(p[1], data, dl) != (ssize_t)dl;
  wipe(data, sizeof data);
  close(p[1]);

  deadline = clock_ms() + (long long)c->timeout * 1000;
  for (;;) {
    r = spawn_wait(pid, &wstat, WNOHANG);
    if (r == pid) break;
    if (r == -1 && errno != EINTR) break;
    if (clock_ms() >= deadline) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      spawn_wait(pid, &wstat, 0);
      r = 0;
      break;
    }
    clock_sleep_ms((unsigned long)wait);
    if (wait < 50) wait *= 2;
  }
  sigaction(SIGPIPE, &oldpipe, NULL);

  if (r == 0) {
    num[fmt_ulong(num, c->timeout)] = 0;
    qlogm(s, LOGERROR, NAME, av[0], " did not finish within ", num, " seconds; killed");
    rc = DENYSOFT;
  } else if (r != pid) {
    qlogm(s, LOGERROR, NAME, "waitpid for ", av[0], " failed: ", strerror(errno));
    rc = DENYSOFT;
  } else if (WIFSIGNALED(wstat)) {
    num[fmt_ulong(num, (unsigned long)WTERMSIG(wstat))] = 0;
    qlogm(s, LOGERROR, NAME, av[0], " crashed (signal ", num, ")");
    rc = DENYSOFT;
  } else {
    int code = WEXITSTATUS(wstat);
    num[fmt_ulong(num, (unsigned long)code)] = 0;
    if (code == 0 && !shortwrite) {
      qlogm(s, LOGINFO, NAME, "pass: ", av[0], " accepted ", a->user);
      rc = OK;
    } else if (code == 1) {
      qlogm(s, LOGNOTICE, NAME, "fail: ", av[0], " rejected ", a->user, " (exit 1)");
      rc = DECLINED;
    } else {
      qlogm(s, LOGERROR, NAME, av[0], " failed temporarily (exit ", num, shortwrite ? ", short write)" : ")");
      rc = DENYSOFT;
    }
  }
  if (rc == OK) {
    note_conn_set(s, "authuser", a->user);
    stralloc_copys(a->msg, "auth_checkpassword");
  } else if (rc == DENYSOFT) stralloc_copys(a->msg, "auth_checkpassword - temporary failure");
  return rc;
}

const struct plugin plugin_auth_auth_checkpassword = {
  .name = NAME,
  .init = cpw_init,
  .setup = cpw_setup,
  .auth_plain = cpw_auth,
  .auth_login = cpw_auth,
};
