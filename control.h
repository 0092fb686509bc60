/* Control files (control.c): found in the control directories, read
   whole, parsed by control_parse.c. */
#ifndef CONTROL_H
#define CONTROL_H

#include <stddef.h>
#include <stralloc.h>

struct session;

/* control files: 1 found, 0 missing; a file that exists but cannot be read
   or parsed makes the core answer 421 and exit (it does not return). */
int control_readline(struct session *s, const char *name, stralloc *sa);
int control_readlist(struct session *s, const char *name, stralloc *sa); /* lines, each ending in \0 */
int control_readulong(struct session *s, const char *name, unsigned long *u, unsigned long max);
/* cdb map NAME.cdb: 1 key present, 0 absent or no map */
int control_cdb_has(struct session *s, const char *name, const char *key, size_t keylen);

/* the core's control files, before the greeting, and DATA's, at DATA */
void control_setup(struct session *s);
void control_data_setup(struct session *s);
/* opens the first NAME of the control directories: 1 (fd and path set),
   0 none, -1 error (errno; path names the file) */
int control_open(struct session *s, const char *name, stralloc *path, int *fd);

#endif
