/* Notes: small key/value stores shared by plugins, as "key\0value\0". */
#include <string.h>
#include "notes.h"
#include "session.h"

const char *notes_get(struct notes *n, const char *key)
{
  size_t i = 0, kl = strlen(key);
  while (i < n->kv.len) {
    const char *k = n->kv.s + i;
    size_t l = strlen(k);
    const char *v = k + l + 1;
    if (l == kl && !memcmp(k, key, kl)) return v;
    i += l + 1 + strlen(v) + 1;
  }
  return NULL;
}

int notes_set(struct notes *n, const char *key, const char *value)
{
  size_t i = 0, kl = strlen(key);
  while (i < n->kv.len) {
    const char *k = n->kv.s + i;
    size_t l = strlen(k);
    size_t vl = strlen(k + l + 1);
    if (l == kl && !memcmp(k, key, kl)) {
      size_t end = i + l + 1 + vl + 1;
      memmove(n->kv.s + i, n->kv.s + end, n->kv.len - end);
      n->kv.len -= end - i;
      break;
    }
    i += l + 1 + vl + 1;
  }
  if (!value) return 1;
  return stralloc_catb(&n->kv, key, kl + 1) && stralloc_catb(&n->kv, value, strlen(value) + 1);
}

void notes_clear(struct notes *n) { n->kv.len = 0; }

const char *note_conn_get(struct session *s, const char *key) { return notes_get(&s->notes, key); }
const char *note_txn_get(struct session *s, const char *key) { return notes_get(&s->t.notes, key); }
int note_conn_set(struct session *s, const char *key, const char *value) { return notes_set(&s->notes, key, value); }
int note_txn_set(struct session *s, const char *key, const char *value) { return notes_set(&s->t.notes, key, value); }

int note_add_capability(struct session *s, const char *keyword)
{
  const char *caps = note_txn_get(s, "capabilities");
  stralloc c = {0};
  int ok = (!caps || !*caps || (stralloc_copys(&c, caps) && stralloc_cats(&c, "\n")))
           && stralloc_cats(&c, keyword) && stralloc_0(&c) && note_txn_set(s, "capabilities", c.s);
  stralloc_free(&c);
  return ok;
}

int note_true(const char *v) { return v && *v && !(v[0] == '0' && !v[1]); }
