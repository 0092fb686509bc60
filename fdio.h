/* Blocking writes of a whole buffer (leaf: no project header). */
#ifndef FDIO_H
#define FDIO_H

#include <stddef.h>

/* writes all of buf, across short writes and EINTR; 0 ok, -1 with errno */
int fd_write_all(int fd, const char *buf, size_t len);

/* writes all of a, then all of b, in one writev when it takes both */
int fd_write_two(int fd, const char *a, size_t alen, const char *b, size_t blen);

#endif
