/* Perl qpsmtpd's return code names (Qpsmtpd::Constants::return_code), for
   plugins whose control files name a code per line (rcpt_map,
   rcpt_regexp, hosts_allow). */
#ifndef PLUGINS_RETCODE_H
#define PLUGINS_RETCODE_H

#include "plugin.h"

/* the code for a name such as "DENY" (any case); 0 for an unknown name */
int retcode_parse(const char *name);
/* 1 for DENY, DENYSOFT and their _DISCONNECT forms */
int retcode_deny(int c);
/* 1 for DENYSOFT and DENYSOFT_DISCONNECT */
int retcode_temp(int c);

#endif
