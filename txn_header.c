/* The client's header section as plugins see it: a field by name, the
   n-th field, how many, and removing fields (data_post and later). */
#include <errno.h>
#include <string.h>
#include <case.h>
#include "header.h"
#include "reply.h"
#include "session.h"
#include "txn.h"

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

int txn_header_get(struct session *s, const char *name, stralloc *sa)
{
  const char *x = s->t.hdr.s;
  size_t len = s->t.hdr.len, i = 0, nl = strlen(name);
  sa->len = 0;
  while (i < len) {
    const char *e = memchr(x + i, '\n', len - i);
    size_t end = e ? (size_t)(e - x) : len;
    if (end - i > nl && x[i + nl] == ':' && !case_diffb(x + i, nl, name)) {
      return header_unfold(x, len, i + nl + 1, end, sa, &i);
    }
    i = end + 1;
  }
  return 0;
}

int txn_header_delete_if(struct session *s, const char *name,
                         int (*pred)(const char *value, size_t len, void *ctx), void *ctx)
{
  struct txn *t = &s->t;
  size_t nl = strlen(name), i = 0, o = 0;
  int removed = 0;
  if (t->hdr_toolarge || t->in_headers) return -1;
  if (!t->hdr_edited) { t->hdr_spoollen = t->hdr.len; }
  while (i < t->hdr.len) {
    /* one field: its first line and every continuation line under it */
    const char *x = t->hdr.s + i;
    size_t l = 0;
    int drop;
    do {
      const char *e = memchr(x + l, '\n', t->hdr.len - i - l);
      l = e ? (size_t)(e - x) + 1 : t->hdr.len - i;
    } while (i + l < t->hdr.len && (x[l] == ' ' || x[l] == '\t'));
    drop = x[0] != ' ' && x[0] != '\t' && l > nl && x[nl] == ':' && !case_diffb(x, nl, name)
           && (!pred || pred(x + nl + 1, l - nl - 1, ctx));
    if (drop) ++removed;
    else {
      if (o != i) memmove(t->hdr.s + o, x, l);
      o += l;
    }
    i += l;
  }
  t->hdr.len = o;
  if (removed) t->hdr_edited = 1;
  return removed;
}

int txn_header_delete(struct session *s, const char *name)
{
  return txn_header_delete_if(s, name, NULL, NULL);
}

/* the field in x[0..len) that is the *left-th with this name (counting
   down): 1 with its offset and length (continuation lines included) */
static int field_nth(const char *x, size_t len, const char *name, size_t nl, unsigned long *left,
                     size_t *fs, size_t *fl)
{
  size_t i = 0;
  while (i < len) {
    size_t l = 0;
    do {
      const char *e = memchr(x + i + l, '\n', len - i - l);
      l = e ? (size_t)(e - (x + i)) + 1 : len - i;
    } while (i + l < len && (x[i + l] == ' ' || x[i + l] == '\t'));
    if (x[i] != ' ' && x[i] != '\t' && l > nl && x[i + nl] == ':' && !case_diffb(x + i, nl, name) && !--*left) {
      *fs = i;
      *fl = l;
      return 1;
    }
    i += l;
  }
  return 0;
}

/* sa[fs..fs+fl) replaced by the field in f (empty: removed) */
static int splice(stralloc *sa, size_t fs, size_t fl, const stralloc *f)
{
  stralloc r = {0};
  int ok = stralloc_copyb(&r, sa->s, fs) && stralloc_cat(&r, f)
           && stralloc_catb(&r, sa->s + fs + fl, sa->len - fs - fl) && stralloc_copy(sa, &r);
  stralloc_free(&r);
  return ok;
}

int txn_header_change(struct session *s, const char *name, unsigned long index, const char *value)
{
  struct txn *t = &s->t;
  stralloc f = {0}, keep;
  unsigned long left = index ? index : 1;
  size_t nl = strlen(name), fs, fl;
  int r = -1;
  if (value) {
    /* the field as txn_add_header writes it, built in newhdrs' place */
    keep = t->newhdrs;
    t->newhdrs = f;
    if (!txn_add_header(s, name, value)) { f = t->newhdrs; t->newhdrs = keep; goto out; }
    f = t->newhdrs;
    t->newhdrs = keep;
  }
  if (field_nth(t->newhdrs.s, t->newhdrs.len, name, nl, &left, &fs, &fl)) {
    r = splice(&t->newhdrs, fs, fl, &f) ? 1 : -1;
    goto out;
  }
  if (t->hdr_toolarge || t->in_headers) goto out;
  if (!field_nth(t->hdr.s, t->hdr.len, name, nl, &left, &fs, &fl)) { r = 0; goto out; }
  if (!t->hdr_edited) t->hdr_spoollen = t->hdr.len;
  if (!splice(&t->hdr, fs, fl, &f)) goto out;
  t->hdr_edited = 1;
  r = 1;
out:
  stralloc_free(&f);
  return r;
}
