/* Postfix's record stream (its record.c), as postdrop reads it: one type
   byte, the data length in base-128 digits, least significant first, the
   high bit set on every digit but the last, then the data. The encoder
   gathers records in a buffer and hands full buffers to a write function,
   so it has no I/O of its own. */
#ifndef PDRECORD_H
#define PDRECORD_H

#include <stddef.h>

/* Postfix refuses to set line_length_limit lower than 512, so postdrop
   takes records of that size whatever main.cf says */
#define PDREC_MAX 512
#define PDREC_BUF 65536

struct pdrec {
  int (*write)(void *ctx, const char *buf, size_t len);  /* 0, or -1 and errno */
  void *ctx;
  int err;                      /* errno of the first failure; nothing is written after it */
  size_t len;
  char buf[PDREC_BUF];
  char line[PDREC_MAX];         /* the content line being cut into records */
  size_t linelen;
};

void pdrec_init(struct pdrec *r, int (*write)(void *ctx, const char *buf, size_t len), void *ctx);
/* one record; data longer than PDREC_MAX is refused (err EINVAL) */
void pdrec_put(struct pdrec *r, char type, const char *data, size_t len);
/* message content in pieces of any size, LF line ends: one N record per
   line, without its LF (a CR stays data); a line longer than PDREC_MAX
   goes out as L records of PDREC_MAX, each sent only once more of its
   line follows, then the N with the rest. -1 after a failed write. */
int pdrec_content(void *r, const char *buf, size_t len);
/* after the content: an N for a last line without LF */
void pdrec_content_end(struct pdrec *r);
/* writes what is buffered; -1 when a write failed, now or before */
int pdrec_flush(struct pdrec *r);

#endif
