/* Message storage: in memory up to a threshold, then an unlinked temporary
   file in spool_dir. */
#ifndef SPOOL_H
#define SPOOL_H

#include <stddef.h>
#include <sys/types.h>
#include <stralloc.h>

struct spool {
  stralloc mem;
  int fd;                       /* -1 while in memory */
  char *wbuf;                   /* write buffer once on file */
  size_t wlen;
  unsigned long long len;       /* bytes stored */
  unsigned long threshold;
  const char *dir;
};

void spool_init(struct spool *sp, const char *dir, unsigned long threshold);
int spool_put(struct spool *sp, const char *buf, size_t len);   /* 0 ok, -1 error */
int spool_finish(struct spool *sp);                              /* flush; 0 ok */
int spool_write_to(struct spool *sp, int fd, const char *head, size_t hlen); /* head, then all, to fd */
/* calls fn with the stored bytes in order, in chunks; stops at its -1 */
int spool_each(struct spool *sp, int (*fn)(void *ctx, const char *buf, size_t len), void *ctx);
void spool_free(struct spool *sp);
/* up to len bytes from offset off: >0 read, 0 at the end, -1 error */
ssize_t spool_read_at(struct spool *sp, unsigned long long off, char *buf, size_t len);

#endif
