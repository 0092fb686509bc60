/* What plugins may do with the recipients beyond txn.c: per-recipient
   notes, and replacing a recipient by others (aliases). */
#include <errno.h>
#include <string.h>
#include "notes.h"
#include "reply.h"
#include "session.h"
#include "txn.h"

/* per-recipient notes live in one store, keyed "address\nkey": an
   address never holds a LF */
static int rcpt_key(struct session *s, const char *rcpt, const char *key)
{
  stralloc *k = &s->tmp;
  return stralloc_copys(k, rcpt) && stralloc_append(k, "\n") && stralloc_cats(k, key) && stralloc_0(k);
}

const char *txn_rcpt_note_get(struct session *s, const char *rcpt, const char *key)
{
  if (!rcpt_key(s, rcpt, key)) die_nomem(s);
  return notes_get(&s->t.rcpt_notes, s->tmp.s);
}

int txn_rcpt_note_set(struct session *s, const char *rcpt, const char *key, const char *value)
{
  stralloc k = {0};
  int r;
  if (!rcpt_key(s, rcpt, key) || !stralloc_copy(&k, &s->tmp)) return 0;
  r = notes_set(&s->t.rcpt_notes, k.s, value);
  stralloc_free(&k);
  return r;
}

int txn_rcpt_replace(struct session *s, unsigned int i, const char *const *addrs, unsigned int n)
{
  struct txn *t = &s->t;
  stralloc r = {0};
  size_t off = 0, l;
  unsigned int k;
  if (i >= t->nrcpt) return 0;
  if (t->nrcpt - 1 + n > RCPT_MAX) { errno = E2BIG; return 0; }
  for (k = 0; k < i; ++k) off += strlen(t->rcpts.s + off) + 1;
  l = strlen(t->rcpts.s + off) + 1;
  if (!stralloc_copyb(&r, t->rcpts.s, off)) return 0;
  for (k = 0; k < n; ++k)
    if (!stralloc_catb(&r, addrs[k], strlen(addrs[k]) + 1)) { stralloc_free(&r); return 0; }
  if (!stralloc_catb(&r, t->rcpts.s + off + l, t->rcpts.len - off - l)) { stralloc_free(&r); return 0; }
  if (!stralloc_copy(&t->rcpts, &r)) { stralloc_free(&r); return 0; }
  stralloc_free(&r);
  t->nrcpt = t->nrcpt - 1 + n;
  return 1;
}
