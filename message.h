/* The message as plugins and queue back ends see it (message.c). */
#ifndef MESSAGE_H
#define MESSAGE_H

#include <stddef.h>
#include <sys/types.h>

struct session;

/* writes the message as it will be queued (new headers first, LF line
   ends) to fd; 0 ok, -1 on a write error (errno set) */
int txn_write_message(struct session *s, int fd);
/* calls fn with the same bytes in order, in chunks of any size; returns
   -1 as soon as fn does, else 0 (-1 with errno on a spool read error) */
int txn_each(struct session *s, int (*fn)(void *ctx, const char *buf, size_t len), void *ctx);
/* the same without the fields the core and plugins added: the client's
   message (its header section as plugins edited it), for checking the
   client's signatures (DKIM) */
int txn_each_client(struct session *s, int (*fn)(void *ctx, const char *buf, size_t len), void *ctx);

/* the message in chunks, for streaming it to a daemon: its size, and
   up to max bytes from offset off (>0 read, 0 at the end, -1 error) */
unsigned long long txn_message_size(struct session *s);
ssize_t txn_message_read(struct session *s, unsigned long long off, char *buf, size_t max);
/* in txn_message_read's offsets: where the client's header section starts
   (after the fields added here) and where the body starts (with the empty
   line that ended the header section, when there was one: Perl's
   body_start) */
void txn_message_parts(struct session *s, unsigned long long *headers, unsigned long long *body);
/* empties the message body (from data_post on), for txn_body_append to
   write a new one: 1 ok, 0 out of memory, a spool error, or a header
   section too large to tell where the body starts */
int txn_body_replace(struct session *s);
/* appends to the message body (LF line ends), from data_post on */
int txn_body_append(struct session *s, const char *x, size_t len);

#endif
