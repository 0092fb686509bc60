/* The client's connection (io.c): buffered, under deadlines, through the
   TLS engine after STARTTLS. */
#ifndef IO_H
#define IO_H

#include <stddef.h>
#include <sys/types.h>
#include <buffer.h>

struct session;

extern buffer io_in;
extern buffer io_out;
long long io_now(void);
void io_set_deadline(struct session *s, unsigned long seconds);
extern unsigned long long io_rx_bytes;
void io_data_start(struct session *s);
void io_data_stop(struct session *s);
void io_data_resume(struct session *s);
void io_init(struct session *s);
ssize_t io_raw_read(int fd, char *buf, size_t len);
ssize_t io_raw_write(int fd, const char *buf, size_t len);
extern ssize_t (*io_tls_read)(char *buf, size_t len);
extern ssize_t (*io_tls_write)(const char *buf, size_t len);
size_t io_discard_input(void);
/* reads until the client's input buffer holds need bytes (at most its
   size) or more, within the session deadline: 1; 0 at the end of input;
   -1 on an error or the deadline */
int io_fill(size_t need);

#endif
