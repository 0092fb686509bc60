/* Message storage. Up to the threshold in memory; past it in a file in
   the spool directory that is unlinked as soon as it is created, so no
   message is ever left behind, whatever happens to the process. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <time.h>
#include <unistd.h>
#include <fmt.h>
#include "fdio.h"
#include "spool.h"

#define WBUF 65536

void spool_init(struct spool *sp, const char *dir, unsigned long threshold)
{
  sp->mem.len = 0;
  sp->fd = -1;
  sp->wlen = 0;
  sp->len = 0;
  sp->threshold = threshold;
  sp->dir = dir;
}

static int spool_open(struct spool *sp)
{
  static unsigned long counter;
  char name[64];
  stralloc path = {0};
  int fd;
  size_t n = 0;
  n += fmt_ulong(name + n, (unsigned long)time(NULL));
  name[n++] = ':';
  n += fmt_ulong(name + n, (unsigned long)getpid());
  name[n++] = ':';
  n += fmt_ulong(name + n, counter++);
  name[n] = 0;
  if (!stralloc_copys(&path, sp->dir) || !stralloc_append(&path, "/")
      || !stralloc_cats(&path, name) || !stralloc_0(&path)) return -1;
  fd = open(path.s, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) unlink(path.s);
  stralloc_free(&path);
  if (fd < 0) return -1;
  sp->wbuf = malloc(WBUF);
  if (!sp->wbuf) { close(fd); return -1; }
  if (fd_write_all(fd, sp->mem.s, sp->mem.len) == -1) { close(fd); return -1; }
  sp->fd = fd;
  sp->mem.len = 0;
  return 0;
}

/* a message past the threshold, in the spool file: a function of its own,
   so that a session of small messages runs (and maps) only spool_put */
static __attribute__((noinline)) int put_file(struct spool *sp, const char *buf, size_t len)
{
  if (sp->fd < 0 && spool_open(sp) == -1) return -1;
  sp->len += len;
  if (sp->wlen + len > WBUF) {
    if (fd_write_all(sp->fd, sp->wbuf, sp->wlen) == -1) return -1;
    sp->wlen = 0;
  }
  if (len >= WBUF / 4 && !sp->wlen) return fd_write_all(sp->fd, buf, len);   /* big pieces: no copy */
  memcpy(sp->wbuf + sp->wlen, buf, len);
  sp->wlen += len;
  return 0;
}

int spool_put(struct spool *sp, const char *buf, size_t len)
{
  if (sp->fd < 0 && (sp->mem.len + len <= sp->threshold || !sp->dir)) {
    if (!stralloc_catb(&sp->mem, buf, len)) return -1;
    sp->len += len;
    return 0;
  }
  return put_file(sp, buf, len);
}

int spool_finish(struct spool *sp)
{
  if (sp->fd < 0 || !sp->wlen) return 0;
  if (fd_write_all(sp->fd, sp->wbuf, sp->wlen) == -1) return -1;
  sp->wlen = 0;
  return 0;
}

int spool_write_to(struct spool *sp, int fd, const char *head, size_t hlen)
{
  off_t off = 0;
  char *buf;
  if (sp->fd < 0) return fd_write_two(fd, head, hlen, sp->mem.s, sp->mem.len);
  if (fd_write_all(fd, head, hlen) == -1) return -1;
  if (spool_finish(sp) == -1) return -1;
  while ((unsigned long long)off < sp->len) {
    ssize_t r = sendfile(fd, sp->fd, &off, sp->len - (unsigned long long)off > (1 << 30) ? (1 << 30) : (size_t)(sp->len - (unsigned long long)off));
    if (r > 0) continue;
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EINVAL || errno == ENOSYS)) break;
    return -1;
  }
  if ((unsigned long long)off >= sp->len) return 0;
  /* sendfile not possible here: copy through memory */
  buf = sp->wbuf;
  while ((unsigned long long)off < sp->len) {
    ssize_t r = pread(sp->fd, buf, WBUF, off);
    if (r < 0) { if (errno == EINTR) continue; return -1; }
    if (r == 0) { errno = EIO; return -1; }
    if (fd_write_all(fd, buf, (size_t)r) == -1) return -1;
    off += r;
  }
  return 0;
}

int spool_each(struct spool *sp, int (*fn)(void *ctx, const char *buf, size_t len), void *ctx)
{
  off_t off = 0;
  if (sp->fd < 0) return sp->mem.len ? fn(ctx, sp->mem.s, sp->mem.len) : 0;
  if (spool_finish(sp) == -1) return -1;
  while ((unsigned long long)off < sp->len) {
    ssize_t r = pread(sp->fd, sp->wbuf, WBUF, off);
    if (r < 0) { if (errno == EINTR) continue; return -1; }
    if (r == 0) { errno = EIO; return -1; }
    if (fn(ctx, sp->wbuf, (size_t)r) == -1) return -1;
    off += r;
  }
  return 0;
}

void spool_free(struct spool *sp)
{
  if (sp->fd >= 0) close(sp->fd);
  sp->fd = -1;
  free(sp->wbuf);
  sp->wbuf = NULL;
  sp->wlen = 0;
  sp->len = 0;
  if (sp->mem.a > 1024 * 1024) stralloc_free(&sp->mem);
  sp->mem.len = 0;
}

ssize_t spool_read_at(struct spool *sp, unsigned long long off, char *buf, size_t len)
{
  unsigned long long left;
  if (off >= sp->len) return 0;
  left = sp->len - off;
  if (len > left) len = (size_t)left;
  if (sp->fd < 0) {
    memcpy(buf, sp->mem.s + off, len);
    return (ssize_t)len;
  }
  if (spool_finish(sp) == -1) return -1;
  for (;;) {
    ssize_t r = pread(sp->fd, buf, len, (off_t)off);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) { errno = EIO; return -1; }
    return r;
  }
}
