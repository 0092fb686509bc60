/* "$include PATH" in a control or plugins file: the files it names (leaf:
   no project header; built into the daemon and make-plugintab). */
#ifndef INCLUDE_WALK_H
#define INCLUDE_WALK_H

/* Resolves arg against the directory of from (an absolute arg as it is;
   dot is prefixed to a relative one when from has no directory), then
   calls fn with err 0 for the file, or for each regular file of the
   directory not starting with '.', in alphabetical order. When the path
   cannot be read fn gets that path and the errno (dir 1 when it is a
   directory scandir could not read), and on out of memory a NULL path and
   ENOMEM. The walk stops when fn
   returns -1, and returns that; else 0. */
int include_walk(const char *from, const char *arg, const char *dot,
                 int (*fn)(void *ctx, const char *path, int err, int dir), void *ctx);

#endif
