/* Blocking writes of a whole buffer (leaf: no project header). */
#ifndef FDIO_H
#define FDIO_H

#include <stddef.h>

/* writes all of buf, across short writes and EINTR; 0 ok, -1 with errno */
int fd_write_all(int fd, const char *buf, size_t len);

#endif
