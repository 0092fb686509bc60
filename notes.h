/* Notes (notes.c): "key\0value\0" stores, the connection's and the
   transaction's. */
#ifndef NOTES_H
#define NOTES_H

#include <stralloc.h>

struct session;
struct notes;                   /* session.h */

const char *notes_get(struct notes *n, const char *key);
int notes_set(struct notes *n, const char *key, const char *value);
void notes_clear(struct notes *n);

/* notes: connection notes live as long as the session, transaction notes
   until the transaction is reset. get returns NULL when unset. */
const char *note_conn_get(struct session *s, const char *key);
int note_conn_set(struct session *s, const char *key, const char *value);
const char *note_txn_get(struct session *s, const char *key);
int note_txn_set(struct session *s, const char *key, const char *value);

/* an ehlo hook's EHLO keyword: a line added to the transaction note
   capabilities (the engine lists it in its EHLO reply); 0 out of memory */
int note_add_capability(struct session *s, const char *keyword);

/* a note's value is true as in Perl: set, not "" and not "0" */
int note_true(const char *value);

#endif
