/* The clock of the static musl build, as system calls (like fortify.c and
   qmalloc.c, it is left out of glibc builds).

   Why: musl reads the clock through the vDSO, whose first call looks up
   its symbols and touches two pages the kernel maps specially. A session
   process reads the clock about twenty times and then exits, so it pays
   that first call every time: measured on the benchmark machine (a VM),
   100 to 260 microseconds, against about 1.1 microseconds a system call.
   Twenty system calls cost a tenth of one first vDSO call, and the
   process maps no vDSO page at all.

   These definitions take the place of musl's (clock_gettime is a weak
   alias there; time and gettimeofday are objects of their own that the
   link then leaves out); libowfat, BearSSL and our code all call these.
   Semantics are the libc's: -1 and errno from clock_gettime on a bad
   clock, time and gettimeofday as musl has them. */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE         /* syscall */
#endif
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int clock_gettime(clockid_t clk, struct timespec *ts)
{
  return (int)syscall(SYS_clock_gettime, clk, ts);
}

time_t time(time_t *t)
{
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) == -1) return (time_t)-1;
  if (t) *t = ts.tv_sec;
  return ts.tv_sec;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
  struct timespec ts;
  (void)tz;
  if (!tv) return 0;
  if (clock_gettime(CLOCK_REALTIME, &ts) == -1) return -1;
  tv->tv_sec = ts.tv_sec;
  tv->tv_usec = (suseconds_t)(ts.tv_nsec / 1000);
  return 0;
}
