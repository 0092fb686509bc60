/* What the content scanners that talk to a daemon share (spamassassin,
   rspamd): their common arguments, one exchange under one deadline, and
   the Subject prefix. */
#ifndef PLUGINS_SCANNER_H
#define PLUGINS_SCANNER_H

#include "plugin.h"

struct scanner_opts {
  unsigned long size_limit;     /* skip larger messages */
  unsigned long timeout;        /* seconds, the whole exchange */
  int relay_skip;               /* relayclient skip */
  int defer;                    /* on_error defer */
  int rc;                       /* reject_type */
};

/* one key/value pair among size_limit, relayclient, timeout, on_error
   and reject_type: 1 taken, 0 a bad value (err set), -1 not one of them */
int scanner_arg(struct scanner_opts *o, const char *k, const char *v, stralloc *err);
/* DECLINED-worthy: the message is too large or from a relay client to be
   scanned (logged); 0 otherwise */
int scanner_skip(struct session *s, const struct scanner_opts *o, const char *plugin);
/* connects to addr, writes head, then the message from the spool (with
   half_close, shuts the write side down after it), and reads the whole
   answer into rep (at most max bytes; addr as hostport_connect takes it), all before one deadline of
   o->timeout. NULL ok, else why not, naming the daemon; *nomem set when
   out of memory. */
const char *scanner_exchange(struct session *s, const struct scanner_opts *o, const char *addr, const char *daemon,
                             const stralloc *head, int half_close, stralloc *rep, size_t max, int *nomem);
/* the daemon could not be used: DECLINED (on_error pass) or 452 4.3.0 */
int scanner_failed(struct session *s, const struct scanner_opts *o, const char *plugin, stralloc *msg, const char *why);
/* the Subject's prefix: arg when not NULL, else the control file
   subject_prefix (default "*** SPAM ***"); 0 out of memory */
int scanner_prefix(struct session *s, const char *arg);
/* scanner_prefix from the control file: the setup hook */
int scanner_setup(struct session *s, void *self);
/* replaces the Subject by subject, or when NULL puts subject_prefix in
   front of it; 1 ok, 0 out of memory */
int scanner_subject(struct session *s, const char *plugin, const char *subject);

#endif
