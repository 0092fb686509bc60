/* Starting a child (spawn.c). */
#ifndef SPAWN_H
#define SPAWN_H

#include <stddef.h>
#include <sys/types.h>

struct session;

/* Starting a child (spawn.c), the one way every plugin runs a program.
   from[i] (our descriptor, or SPAWN_NULL for /dev/null) becomes to[i] in
   the child; fds 0 and 1 not in the map get /dev/null (ours are the
   client's), fd 2 not in the map stays our log, or gets /dev/null when fd
   2 is not a log (the client's socket under xinetd, or closed). The child
   leads a process group of its own (the watchdog kills the group), starts
   with no signal blocked and SIGPIPE, SIGXFSZ at their defaults, and exits
   failcode when exec fails. fast: a clone sharing our memory that we do
   not wait for while it execs (QPSMTPD_SPAWN_VFORK=1: vfork, for
   valgrind); one fast child at a time, until spawn_wait has reaped it.
   Returns the pid, or -1 with errno. */
#define SPAWN_FDS 4
#define SPAWN_NULL (-2)
struct spawn {
  const char *path;
  char *const *argv;
  char *const *envp;            /* NULL: our environment */
  int nfd;
  int from[SPAWN_FDS];
  int to[SPAWN_FDS];
  int failcode;
  int fast;
};
pid_t spawn_start(struct session *s, const struct spawn *sp);
/* waitpid across EINTR (flags as waitpid's) */
pid_t spawn_wait(pid_t pid, int *wstat, int flags);
/* after the child has exited: what fd holds now, up to max bytes, without
   waiting for EOF (a grandchild may keep the other end open) */
size_t spawn_readnow(int fd, char *buf, size_t max);

#endif
