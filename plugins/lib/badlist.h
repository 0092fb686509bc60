/* Address lists with reasons, shared by badmailfrom and badrcptto.

   One entry a line: "address [reason...]", "@host [reason...]", or, as in
   Perl qpsmtpd, a pattern: an entry holding any of / ^ $ * + ! % ? \ is a
   regular expression (regex.h: compiled from the admin's file only,
   case-insensitive, matched in linear time). Addresses and
   hosts compare case-insensitively, without subdomain wildcards (qmail's
   badmailfrom semantics). An entry that is neither a valid pattern nor holds
   an '@' can never match: like Perl, it is logged (as an error) and skipped. */
#ifndef PLUGINS_BADLIST_H
#define PLUGINS_BADLIST_H

#include "plugin.h"

struct badentry {
  const char *bad;      /* lower case unless a pattern */
  size_t badlen;
  const char *reason;   /* NULL when the line has none */
  struct re *re;        /* NULL unless a pattern */
};

struct badlist {
  stralloc text;        /* the file as read; split in place */
  struct badentry *e;
  size_t n;
};

/* reads the list once, at setup: 1 loaded (an absent file is an empty
   list), 0 out of memory. Entries that cannot match are logged, naming
   the file and line, and skipped */
int badlist_load(struct session *s, struct badlist *l, const char *file, const char *plugin);

/* addr is the lower-cased address, \0-terminated, with its last '@' at
   at; the first entry that matches, or NULL */
const struct badentry *badlist_match(const struct badlist *l, const char *addr,
                                            size_t len, size_t at);

/* an address fit for a reply or a log line: printable ASCII only */
int badlist_printable(stralloc *out, const char *addr, size_t len);

/* does a reason already start with an enhanced status code ("5.7.1 ...")? */
int badlist_has_code(const char *r);

/* the reply text: the reason, after an enhanced code of the reply's class
   (4 or 5 by rc) and the given subject.detail unless it brings its own */
int badlist_reason(stralloc *out, const char *reason, int rc, const char *subject);

#endif
