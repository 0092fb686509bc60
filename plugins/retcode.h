/* Perl qpsmtpd's return code names (Qpsmtpd::Constants::return_code), for
   plugins whose control files name a code per line (rcpt_map,
   rcpt_regexp, hosts_allow). A header of static functions, so that each
   plugin stays one object file. */
#ifndef PLUGINS_RETCODE_H
#define PLUGINS_RETCODE_H

#include <str.h>
#include <case.h>
#include "plugin.h"

/* the code for a name such as "DENY" (any case); 0 for an unknown name */
static inline int retcode_parse(const char *name)
{
  static const struct { const char *n; int c; } t[] = {
    { "OK", OK }, { "DENY", DENY }, { "DENYSOFT", DENYSOFT },
    { "DENY_DISCONNECT", DENY_DISCONNECT }, { "DENYHARD", DENY_DISCONNECT },
    { "DENYSOFT_DISCONNECT", DENYSOFT_DISCONNECT }, { "DECLINED", DECLINED }, { "DONE", DONE },
  };
  unsigned int i;
  for (i = 0; i < sizeof t / sizeof t[0]; ++i)
    if (case_equals(name, t[i].n)) return t[i].c;
  return 0;
}

static inline int retcode_deny(int c)
{
  return c == DENY || c == DENYSOFT || c == DENY_DISCONNECT || c == DENYSOFT_DISCONNECT;
}

static inline int retcode_temp(int c)
{
  return c == DENYSOFT || c == DENYSOFT_DISCONNECT;
}

#endif
