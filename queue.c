/* What every queue back end needs from the core: a deadline on a back
   end that hangs (the watchdog) and how long it may take. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "queue.h"
#include "session.h"
#include "reply.h"

/* The watchdog: SIGALRM kills the back end's process group (so a blocked
   write to its pipe fails with EPIPE and waitpid returns) or shuts its
   socket down (so a blocked read returns 0). Both are async-signal-safe,
   and they act whatever the main flow is doing when the alarm comes. */
static volatile sig_atomic_t wd_fired;
static volatile pid_t wd_pid;
static volatile int wd_fd = -1;
static struct sigaction wd_old;

static void wd_alarm(int sig)
{
  (void)sig;
  wd_fired = 1;
  if (wd_pid > 0) { kill(-wd_pid, SIGKILL); kill(wd_pid, SIGKILL); }
  if (wd_fd >= 0) shutdown(wd_fd, SHUT_RDWR);
}

void watchdog_start(unsigned long seconds, pid_t pid, int fd)
{
  struct sigaction sa;
  wd_fired = 0;
  wd_pid = pid;
  wd_fd = fd;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = wd_alarm;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;              /* no SA_RESTART: blocking calls see EINTR */
  sigaction(SIGALRM, &sa, &wd_old);
  alarm(seconds > 86400 ? 86400 : (unsigned int)(seconds ? seconds : 1));
}

void watchdog_set(pid_t pid, int fd)
{
  wd_pid = pid;
  wd_fd = fd;
  if (wd_fired) wd_alarm(SIGALRM);
}

int watchdog_fired(void) { return wd_fired; }

int watchdog_stop(void)
{
  alarm(0);
  sigaction(SIGALRM, &wd_old, NULL);
  wd_pid = 0;
  wd_fd = -1;
  return wd_fired;
}

unsigned long queue_timeout(struct session *s)
{
  return s->conf.queue_timeout;
}
