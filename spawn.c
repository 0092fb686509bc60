/* Starting a child: the one place that forks. Every program a plugin runs
   (qmail-queue, postdrop, checkpassword, fortune) starts here, with the
   descriptors it is given and nothing of the client's: fds 0 and 1 are
   the client's socket (or sslserver's pipes to it), and under xinetd or
   inetd so is fd 2, so a child's stderr is our log when fd 2 is one
   (session.logok) and /dev/null otherwise. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE             /* clone, vfork */
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "env.h"
#include "session.h"
#include "spawn.h"

#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

extern char **environ;

/* what the child needs, in memory the parent leaves alone until the
   child has exec'd: the fast slot until it is reaped, a vfork child's
   on our stack (we are suspended until its exec) */
struct kid {
  const char *path;
  char *const *argv;
  char *const *envp;
  int nfd, low, failcode;
  int from[SPAWN_FDS + 3];
  int to[SPAWN_FDS + 3];
};

static struct {
  char stack[8192] __attribute__((aligned(16)));
  struct kid k;
  pid_t pid;                    /* the fast child using the slot; 0: free */
} fast;

/* the child: raw system calls only (it may share our memory and libc
   state), then exec or exit with failcode */
__attribute__((no_sanitize_address))
static int kid_main(void *arg)
{
  const struct kid *k = arg;
  long moved[SPAWN_FDS + 3];
  unsigned long none[2] = { 0, 0 };
  /* the kernel's struct sigaction all zero, on every architecture:
     SIG_DFL, no flags, an empty mask (larger than any kernel's struct) */
  unsigned long dfl[16] = { 0 };
  int i, fd;
  /* Move every source above every target first, so no dup3 below
     clobbers another source, and none is a no-op that keeps FD_CLOEXEC. */
  for (i = 0; i < k->nfd; ++i) {
    moved[i] = syscall(SYS_fcntl, k->from[i], F_DUPFD_CLOEXEC, k->low);
    if (moved[i] < 0) syscall(SYS_exit, k->failcode);
  }
  for (i = 0; i < k->nfd; ++i)
    if (syscall(SYS_dup3, moved[i], k->to[i], 0) < 0) syscall(SYS_exit, k->failcode);
  /* Nothing else crosses the exec, not even what our parent left open
     without close-on-exec (sslserver's SSLCTLFD, SSLREADFD and SSLWRITEFD,
     an inetd's extra descriptors): below low every fd that is not a
     target is closed, from low up all are marked close-on-exec (the moved
     copies already are). An old kernel without close_range keeps the
     descriptors' own flags. */
  for (fd = 3; fd < k->low; ++fd) {
    int j, target = 0;
    for (j = 0; j < k->nfd; ++j) target |= k->to[j] == fd;
    if (!target) syscall(SYS_close, fd);
  }
  syscall(SYS_close_range, (unsigned)k->low, ~0U, CLOSE_RANGE_CLOEXEC);
  syscall(SYS_setpgid, 0, 0);
  /* we ignore SIGPIPE and SIGXFSZ, and an ignored signal stays ignored
     across exec: the child puts them back to their defaults itself (a
     clone without CLONE_SIGHAND has its own copy of the actions), so
     that our own are never changed and put back around every start */
  syscall(SYS_rt_sigaction, SIGPIPE, dfl, 0, _NSIG / 8);
  syscall(SYS_rt_sigaction, SIGXFSZ, dfl, 0, _NSIG / 8);
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, none, 0, _NSIG / 8);
  syscall(SYS_execve, k->path, k->argv, k->envp);
  syscall(SYS_exit, k->failcode);
  return k->failcode;
}

/* vfork in a frame of its own, so that nothing of spawn_start's lives
   across it; the child never returns from here */
__attribute__((noinline))
static pid_t start_vfork(struct kid *k)
{
  pid_t pid = vfork();
  if (pid == 0) kid_main(k);
  return pid;
}

static int map_add(struct kid *k, int from, int to)
{
  if (to < 0 || k->nfd >= SPAWN_FDS + 3) { errno = EINVAL; return -1; }
  k->from[k->nfd] = from;
  k->to[k->nfd] = to;
  ++k->nfd;
  if (to >= k->low) k->low = to + 1;
  return 0;
}

pid_t spawn_start(struct session *s, const struct spawn *sp)
{
  struct kid local, *k;
  int nul = -1, i, saved, mapped[3] = { 0, 0, 0 };
  int usefast = sp->fast && !fast.pid && !env_get("QPSMTPD_SPAWN_VFORK");
  sigset_t every, old;
  struct sigaction dfl, oldchld;
  pid_t pid;

  if (sp->nfd < 0 || sp->nfd > SPAWN_FDS || !sp->path || !sp->argv) { errno = EINVAL; return -1; }
  k = usefast ? &fast.k : &local;
  k->path = sp->path;
  k->argv = sp->argv;
  k->envp = sp->envp ? sp->envp : environ;
  k->failcode = sp->failcode;
  k->nfd = 0;
  k->low = 3;
  for (i = 0; i < sp->nfd; ++i) {
    int from = sp->from[i];
    if (from == SPAWN_NULL) {
      if (nul == -1 && (nul = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1) return -1;
      from = nul;
    }
    if (map_add(k, from, sp->to[i]) == -1) goto fail;
    if (sp->to[i] < 3) mapped[sp->to[i]] = 1;
  }
  for (i = 0; i < 3; ++i) {
    if (mapped[i] || (i == 2 && s->logok)) continue;
    if (nul == -1 && (nul = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1) return -1;
    if (map_add(k, nul, i) == -1) goto fail;
  }

  /* waitpid needs SIGCHLD not ignored; the child must run no handler of
     ours before its exec, so every signal is blocked around the start
     (it puts SIGPIPE and SIGXFSZ back to their defaults itself) */
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  if (sigaction(SIGCHLD, 0, &oldchld) == 0 && oldchld.sa_handler == SIG_IGN)
    sigaction(SIGCHLD, &dfl, 0);
  sigfillset(&every);
  sigprocmask(SIG_BLOCK, &every, &old);
  /* The fast child is a clone that shares our memory (CLONE_VM) on a
     stack of its own, and we go on at once: no copy of our page tables,
     no copy-on-write fault for every page either process then writes
     (about fifteen per session, at several microseconds each), and unlike
     vfork we do not wait while it execs. Valgrind cannot follow such a
     child: QPSMTPD_SPAWN_VFORK=1 makes it a vfork child like the others. */
  if (usefast)
    pid = clone(kid_main, fast.stack + sizeof fast.stack, CLONE_VM | SIGCHLD, k);
  else
    pid = start_vfork(k);
  saved = errno;
  sigprocmask(SIG_SETMASK, &old, 0);
  if (nul >= 0) close(nul);     /* the child has its own descriptor table */
  if (pid > 0 && usefast) fast.pid = pid;
  errno = saved;
  return pid;

fail:
  saved = errno;
  if (nul >= 0) close(nul);
  errno = saved;
  return -1;
}

pid_t spawn_wait(pid_t pid, int *wstat, int flags)
{
  pid_t r;
  do r = waitpid(pid, wstat, flags); while (r == -1 && errno == EINTR);
  if (r == pid && pid > 0 && fast.pid == pid) fast.pid = 0;
  return r;
}

/* a read only after a poll that found the pipe readable or closed, so
   it never blocks (we are its only reader), and no fcntl to make it
   non-blocking: two system calls for the usual empty pipe, not three */
size_t spawn_readnow(int fd, char *buf, size_t max)
{
  size_t n = 0;
  while (n < max) {
    struct pollfd p;
    ssize_t r;
    p.fd = fd; p.events = POLLIN; p.revents = 0;
    r = poll(&p, 1, 0);
    if (r == -1 && errno == EINTR) continue;
    if (r != 1 || !(p.revents & (POLLIN | POLLHUP))) break;
    r = read(fd, buf + n, max - n);
    if (r == -1 && errno == EINTR) continue;
    if (r <= 0) break;
    n += (size_t)r;
  }
  return n;
}
