/* quit_fortune: answers QUIT after HELO (not EHLO: such a client is "too
   sophisticated to enjoy the fun") with "221 <me> closing connection."
   and the lines of a short fortune, each after "  / ", like Perl qpsmtpd's
   plugins/quit_fortune. Runs Debian's fortune-mod, /usr/games/fortune -s
   (or the program given as the one argument) with an argv, no shell, no
   environment, stdin from /dev/null, stderr our log (or /dev/null when
   fd 2 is the client, see spawn.c); at most 4 KB of its output and 2
   seconds are used, then it is killed. Without the program, or when it
   fails or says nothing, the usual 221 goes out. */
#define _GNU_SOURCE             /* pipe2 in glibc */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include "netio.h"
#include "plugin.h"

#define PLUGIN "quit_fortune"
#define OUT_MAX 4096
#define TIME_MS 2000

struct qf { const char *prog; stralloc text; };

static int qf_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct qf *q;
  if (argc > 1 || (argc == 1 && argv[0][0] != '/'))
    return stralloc_copys(err, "takes at most one argument, the absolute path of fortune"), 0;
  q = calloc(1, sizeof *q);
  if (!q) return stralloc_copys(err, "out of memory"), 0;
  q->prog = argc ? argv[0] : "/usr/games/fortune";
  *self = q;
  return 1;
}

/* the program's output, bounded in size and time; 0 on failure */
static int run(struct session *s, const char *prog, char *buf, size_t *len)
{
  int p[2];
  pid_t pid;
  long long deadline;
  int status, killed = 0;
  char *const argv[] = { (char *)prog, (char *)"-s", 0 };
  char *const envp[] = { 0 };
  struct spawn sp;

  *len = 0;
  if (pipe2(p, O_CLOEXEC) == -1) return 0;
  /* fd 0 on /dev/null (ours is the client), fd 1 the pipe, fd 2 our log
     or /dev/null (spawn_start) */
  memset(&sp, 0, sizeof sp);
  sp.path = prog;
  sp.argv = argv;
  sp.envp = envp;
  sp.nfd = 1;
  sp.from[0] = p[1]; sp.to[0] = 1;
  sp.failcode = 111;
  pid = spawn_start(s, &sp);
  if (pid == -1) { close(p[0]); close(p[1]); return 0; }
  close(p[1]);
  deadline = net_deadline(TIME_MS);
  for (;;) {
    ssize_t r;
    if (*len >= OUT_MAX || net_wait(p[0], POLLIN, deadline) == -1) { killed = 1; break; }
    r = read(p[0], buf + *len, OUT_MAX - *len);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    *len += (size_t)r;
  }
  close(p[0]);
  if (killed) {
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    qlogm(s, LOGWARN, PLUGIN, prog, *len >= OUT_MAX ? " said too much, killed" : " took too long, killed");
  }
  spawn_wait(pid, &status, 0);
  if (killed) return *len > 0;
  if (!WIFEXITED(status) || WEXITSTATUS(status)) {
    qlogm(s, LOGWARN, PLUGIN, prog, " failed");
    return 0;
  }
  return 1;
}

static int qf_quit(struct session *s, void *self, struct msg_args *a)
{
  struct qf *q = self;
  char buf[OUT_MAX];
  size_t len, i, start;

  (void)a;
  if (session_hello_ehlo(s)) return DECLINED;
  if (access(q->prog, X_OK) == -1) {
    qlogm(s, LOGDEBUG, PLUGIN, "skip, no ", q->prog);
    return DECLINED;
  }
  if (!run(s, q->prog, buf, &len) || !len) return DECLINED;
  if (!stralloc_copys(&q->text, session_me(s)) || !stralloc_cats(&q->text, " closing connection.")) return DECLINED;
  for (start = 0, i = 0; i <= len; ++i) {
    if (i < len && buf[i] != '\n') {
      if (buf[i] == '\t') buf[i] = ' ';
      continue;
    }
    if (i > start || i < len) {
      if (!stralloc_cats(&q->text, "\n  / ") || !stralloc_catb(&q->text, buf + start, i - start)) return DECLINED;
    }
    start = i + 1;
  }
  if (!stralloc_0(&q->text)) return DECLINED;
  session_reply(s, 221, "2.0.0", q->text.s);
  return DONE;
}

const struct plugin plugin_quit_fortune = {
  .name = "quit_fortune",
  .init = qf_init,
  .quit = qf_quit,
};
