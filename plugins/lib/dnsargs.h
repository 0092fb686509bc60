/* Arguments shared by the DNS plugins: Perl's reject/reject_type (through
   reject_arg), "timeout N" (seconds, the deadline for all of a plugin's
   queries together) and "failclosed 0|1" (rblsmtpd's -c: a lookup that
   fails temporarily answers 4xx instead of letting the client through). */
#ifndef DNSARGS_H
#define DNSARGS_H

#include "plugin.h"

struct dnsargs {
  struct reject r;
  unsigned long timeout;
  int failclosed;
};

/* allowed: a mask of DNSARG_* the plugin takes */
#define DNSARG_FAILCLOSED 1
int dnsargs_parse(struct dnsargs *d, int argc, const char *const *argv, int allowed, stralloc *err);

/* "4.4.3 " or "5.1.8 "-style prefix for the code a reject will give */
int dnsargs_soft(const struct dnsargs *d, int deftype);

#endif
