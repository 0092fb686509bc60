#include <errno.h>
#include <unistd.h>
#include "fdio.h"

int fd_write_all(int fd, const char *buf, size_t len)
{
  while (len) {
    ssize_t w = write(fd, buf, len);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (w == 0) { errno = EIO; return -1; }
    buf += w;
    len -= (size_t)w;
  }
  return 0;
}
