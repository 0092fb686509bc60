/* The transaction (txn.c), its header section (txn_header.c) and its
   recipients (txn_rcpt.c). */
#ifndef TXN_H
#define TXN_H

#include <stralloc.h>

struct session;

void txn_new(struct session *s);
void txn_reset(struct session *s);
void txn_spool_prepare(struct session *s);

const char *txn_sender(struct session *s);       /* NULL before MAIL; "" for <> */
unsigned int txn_rcpt_count(struct session *s);
int txn_smtputf8(struct session *s);             /* MAIL said SMTPUTF8 (RFC 6531) */
const char *txn_rcpt(struct session *s, unsigned int i);  /* no brackets */
int txn_add_header(struct session *s, const char *name, const char *value);
/* the same, above every field added so far (a DKIM-Signature, RFC 6376
   5.6); 0 out of memory */
int txn_add_header_top(struct session *s, const char *name, const char *value);
/* the first header field with this name (case-insensitive), its value
   unfolded into sa; 1 found, 0 not */
int txn_header_get(struct session *s, const char *name, stralloc *sa);
unsigned long long txn_data_size(struct session *s);
/* the n-th (from 0) field with this name, or of any name when name is
   NULL, value unfolded into sa; 1 found, 0 not; and how many there are */
int txn_header_nth(struct session *s, const char *name, unsigned int n, stralloc *sa);
unsigned int txn_header_count(struct session *s, const char *name);
/* per-recipient notes (Perl's $rcpt->notes), keyed by the address as
   accepted at RCPT, without brackets; they end with the transaction */
const char *txn_rcpt_note_get(struct session *s, const char *rcpt, const char *key);
int txn_rcpt_note_set(struct session *s, const char *rcpt, const char *key, const char *value);
/* replaces recipient i by the n addresses in addrs (n = 0 removes it);
   0 when out of memory or past the recipient limit */
int txn_rcpt_replace(struct session *s, unsigned int i, const char *const *addrs, unsigned int n);
/* removes every field with this name (case-insensitive) from the client's
   header section (data_post and later): the number removed, -1 when the
   header section is too large to edit */
int txn_header_delete(struct session *s, const char *name);
/* the same for the fields whose raw value (after the colon, folded, with
   its line ends) pred says yes to */
/* replaces the index-th (from 1) field with this name, counting the
   fields added here first, then the client's, by "name: value" (value
   NULL: removes it; folds kept, other CR/LF dropped): 1 done, 0 no such
   field, -1 the header section is too large to edit or out of memory */
int txn_header_change(struct session *s, const char *name, unsigned long index, const char *value);
/* sets the envelope sender (no brackets; "" the null sender): 0 out of memory */
int txn_set_sender(struct session *s, const char *addr);
int txn_header_delete_if(struct session *s, const char *name,
                         int (*pred)(const char *value, size_t len, void *ctx), void *ctx);

#endif
