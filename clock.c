#include <errno.h>
#include <time.h>
#include "clock.h"

long long clock_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void clock_sleep_ms(unsigned long ms)
{
  struct timespec ts, rem;
  ts.tv_sec = (time_t)(ms / 1000);
  ts.tv_nsec = (long)(ms % 1000) * 1000000L;
  while (nanosleep(&ts, &rem) == -1 && errno == EINTR) ts = rem;
}
