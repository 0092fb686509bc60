#include <errno.h>
#include <sys/uio.h>
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

int fd_write_two(int fd, const char *a, size_t alen, const char *b, size_t blen)
{
  while (alen && blen) {
    struct iovec v[2];
    ssize_t w;
    v[0].iov_base = (void *)a; v[0].iov_len = alen;
    v[1].iov_base = (void *)b; v[1].iov_len = blen;
    w = writev(fd, v, 2);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (w == 0) { errno = EIO; return -1; }
    if ((size_t)w >= alen) {
      b += (size_t)w - alen;
      blen -= (size_t)w - alen;
      alen = 0;
    } else {
      a += w;
      alen -= (size_t)w;
    }
  }
  if (fd_write_all(fd, a, alen) == -1) return -1;
  return fd_write_all(fd, b, blen);
}
