/* The monotonic clock in milliseconds, and sleeping on it (leaf: no
   project header). */
#ifndef CLOCK_H
#define CLOCK_H

long long clock_ms(void);
/* sleeps ms milliseconds, across EINTR */
void clock_sleep_ms(unsigned long ms);

#endif
