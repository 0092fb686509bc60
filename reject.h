/* Plugins' reject convention (reject.c) and Perl's is_immune. */
#ifndef REJECT_H
#define REJECT_H

#include <stralloc.h>
#include "hooks.h"

/* The reject convention of Perl's Plugin.pm. A plugin keeps a struct
   reject (mode REJECT_YES and type NULL unless it has other defaults) and
   passes every argument pair to reject_arg, which returns 2 when it took
   "reject"/"reject_type" and its value, 0 when the key is not one of
   them, -1 on a bad value (reason in err). */
#define REJECT_LOG     0        /* reject 0: log only */
#define REJECT_YES     1        /* reject 1 */
#define REJECT_NAUGHTY 2        /* reject naughty: the naughty plugin rejects later */
struct reject { int mode; const char *type; };

int reject_arg(struct reject *r, const char *key, const char *value, stralloc *err);
/* for a plugin whose only arguments are reject and reject_type: parses
   them all; 1 ok, 0 with the reason in err */
int reject_args(struct reject *r, int argc, const char *const *argv, stralloc *err);
/* the code for a reject_type name (perm|hard, temp|soft, disconnect,
   temp_disconnect); deftype when name is NULL or unknown */
int reject_type_code(const char *name, int deftype);
/* Perl's get_reject: logs "fail..." with logtext, then by mode returns
   DECLINED (reject 0), DECLINED after appending "(plugin) text" to the
   connection note "naughty" (reject naughty), or the reject_type's code
   (deftype when none) with text in msg. */
int reject_get(struct session *s, const struct reject *r, int deftype, const char *plugin,
               const char *text, const char *logtext, stralloc *msg);

/* Perl's is_immune: relay client, "whitelisthost" connection note or
   "whitelistsender" transaction note; logs the reason */
int session_immune(struct session *s, const char *plugin);

#endif
