/* The plugins file parser of make-plugintab: the bytes of one file in, its
   plugin lines and $include lines out, or the first error with its line
   number. Pure: no I/O, so that a fuzzer can call it. */
#ifndef PLUGINTAB_PARSE_H
#define PLUGINTAB_PARSE_H

#include <stddef.h>

#define PTAB_FILE_MAX (1024UL * 1024) /* bytes in one plugins file */
#define PTAB_LINE_MAX 4096            /* bytes in one line, without its LF */
#define PTAB_ARGS_MAX 128             /* arguments after a plugin's name */
#define PTAB_ENTRIES_MAX 1024         /* plugins in a chain, $include lines in a file */

enum ptab_kind { PTAB_PLUGIN, PTAB_INCLUDE };

/* Strings point into the parser's copy of the input and end with a NUL;
   none contains a NUL. A plugin's name matches
   [A-Za-z0-9_][A-Za-z0-9_/-]*(:[0-9]+)?, its arguments are non-empty runs of
   printable ASCII without white space or '#'. */
struct ptab_entry {
  enum ptab_kind kind;
  unsigned long line;
  const char *name;      /* plugin: as written (with :N); include: the path */
  size_t baselen;        /* plugin: length of the name without :N */
  unsigned int argc;
  const char **argv;     /* argc strings, then NULL */
};

struct ptab {
  char *buf;             /* the copy of the input */
  struct ptab_entry *e;
  size_t n, cap;
  /* after a failure: the line (1-based; 0 when out of memory), the reason,
     and a word the reason is about (or NULL) */
  unsigned long errline;
  const char *err;
  const char *errword;
};

/* 1 parsed, 0 the input has an error (p->errline, p->err, p->errword), -1
   out of memory. Either way p must be given to ptab_free. */
int ptab_parse(struct ptab *p, const char *data, size_t len);
void ptab_free(struct ptab *p);

/* s as a C string literal, with its quotes: malloc'd, NUL-terminated, length
   in *outlen; NULL when out of memory. s is printable ASCII. */
char *ptab_cstr(const char *s, size_t len, size_t *outlen);

#endif
