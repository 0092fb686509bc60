/* The DATA state machine (data.c). */
#ifndef DATA_H
#define DATA_H

#include <stddef.h>

struct session;

enum data_status { DATA_END, DATA_EOF, DATA_TIMEOUT, DATA_ERROR, DATA_BARELF, DATA_BARECR, DATA_DISCONNECT };
int data_read(struct session *s);

/* BDAT (RFC 3030): the argument "size [LAST]", size in digits that fit
   in 64 bits, LAST in any case; 0, or -1 for a syntax error */
int data_bdat_arg(const char *arg, size_t len, unsigned long long *size, int *last);
/* reads a chunk of exactly n bytes into the message (keep 0: reads it and
   drops it); DATA_END when it was read, else as data_read (no DATA_BARE*:
   a stray CR or LF is noted in s->t.bdat_bare) */
int data_chunk(struct session *s, unsigned long long n, int keep);
/* ends a chunked message after its LAST chunk: DATA_END, DATA_BARELF or
   DATA_BARECR (the message is refused), or DATA_DISCONNECT */
int data_chunks_end(struct session *s);

#endif
