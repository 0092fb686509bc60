/* Control files (control.c): found in the control directories, read
   whole, parsed by control_parse.c. */
#ifndef CONTROL_H
#define CONTROL_H

#include <stddef.h>
#include <stralloc.h>

struct session;

/* where the values of a list came from, for errors that name the file and
   the line: the files read (paths, each ending in \0) and one struct
   control_line (control_parse.h) per value */
struct control_at { stralloc files; stralloc lines; };

/* control files: 1 found, 0 missing; a file that exists but cannot be read
   or parsed makes the core answer 421 and exit (it does not return), with
   a log line naming the file (and the line, where one is at fault). */
int control_readline(struct session *s, const char *name, stralloc *sa);
int control_readlist(struct session *s, const char *name, stralloc *sa); /* lines, each ending in \0 */
/* the same, and where each value came from into at (emptied first) */
int control_readlist_at(struct session *s, const char *name, stralloc *sa, struct control_at *at);
/* the first value: a decimal number from min to max, else fatal */
int control_readulong(struct session *s, const char *name, unsigned long *u,
                      unsigned long min, unsigned long max);
/* "PATH line N" (\0-terminated) into where, for the value at v of the
   list sa read with at; 0 when unknown or out of memory */
int control_where(const struct control_at *at, const stralloc *sa, const char *v, stralloc *where);
/* 421 and exit, logging "control file PATH line N: why" for the value at v
   (or "control file NAME: why" when its line is unknown) */
void die_control_at(struct session *s, const struct control_at *at, const stralloc *sa,
                    const char *v, const char *name, const char *why);
/* a list of networks (ipnet_parse): the first word of each line, into
   nets as 17 bytes each (ipnet_listed); a line that is not one is fatal,
   naming the file and the line. 1 found, 0 missing */
int control_readnets(struct session *s, const char *name, stralloc *nets);
/* cdb map NAME.cdb: 1 key present, 0 absent or no map */
int control_cdb_has(struct session *s, const char *name, const char *key, size_t keylen);

/* opens the first NAME of the control directories: 1 (fd and path set),
   0 none, -1 error (errno; path names the file) */
int control_open(struct session *s, const char *name, stralloc *path, int *fd);

#endif
