/* What message plugins may ask of the transaction beyond txn.c: every
   header field of a name, per-recipient notes, replacing a recipient
   (aliases), appending to the body (addsig), and a control file error
   for a plugin's own files. */
#include <errno.h>
#include <string.h>
#include <case.h>
#include "session.h"
#include "header.h"

/* calls f for each header field named name (all when name is NULL) with
   its value unfolded into sa; stops when f returns 0 */
static int header_walk(struct session *s, const char *name, stralloc *sa,
                       int (*f)(void *ctx), void *ctx)
{
  const char *x = s->t.hdr.s;
  size_t len = s->t.hdr.len, i = 0, nl = name ? strlen(name) : 0;
  while (i < len) {
    const char *e = memchr(x + i, '\n', len - i);
    size_t end = e ? (size_t)(e - x) : len;
    const char *colon = memchr(x + i, ':', end - i);
    size_t fl = colon ? (size_t)(colon - (x + i)) : 0;
    if (colon && fl && (!name || (fl == nl && !case_diffb(x + i, nl, name)))) {
      size_t start;
      sa->len = 0;
      if (!header_unfold(x, len, i + fl + 1, end, sa, &i)) return -1;
      start = sa->len;
      while (start && (sa->s[start - 1] == ' ' || sa->s[start - 1] == '\t')) --start;
      sa->len = start;
      if (!f(ctx)) return 1;
      continue;
    }
    i = end + 1;
  }
  return 0;
}

struct nth { unsigned int want, seen; };

static int nth_f(void *ctx)
{
  struct nth *n = ctx;
  return n->seen++ != n->want;
}

int txn_header_nth(struct session *s, const char *name, unsigned int n, stralloc *sa)
{
  struct nth c = { n, 0 };
  int r = header_walk(s, name, sa, nth_f, &c);
  if (r < 0) die_nomem(s);
  return r;
}

static int count_f(void *ctx)
{
  ++*(unsigned int *)ctx;
  return 1;
}

unsigned int txn_header_count(struct session *s, const char *name)
{
  unsigned int n = 0;
  stralloc sa = {0};
  if (header_walk(s, name, &sa, count_f, &n) < 0) die_nomem(s);
  stralloc_free(&sa);
  return n;
}

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

int txn_body_append(struct session *s, const char *x, size_t len)
{
  struct txn *t = &s->t;
  /* a message of header fields only gets the empty line that starts a body */
  if (t->size == (t->hdr_edited ? t->hdr_spoollen : t->hdr.len)) {
    if (spool_put(&t->spool, "\n", 1) == -1) return 0;
    t->size++;
  }
  if (spool_put(&t->spool, x, len) == -1) return 0;
  t->size += len;
  return 1;
}

void control_fail(struct session *s, const char *name, const char *why)
{
  die_control(s, name, why);
}
