#include <stdlib.h>
#include <string.h>
#include "regex.h"
#include <byte.h>
#include <str.h>
#include <case.h>
#include "badlist.h"

static int badlist_is_pattern(const char *bad)
{
  return bad[strcspn(bad, "/^$*+!%?\\")] != 0;
}

/* the entries of a file that exists: a function of its own, so that a
   site without the file runs (and maps) none of the parsing; 0 when out
   of memory */
static __attribute__((noinline)) int load_entries(struct session *s, struct badlist *l, struct control_at *at,
                                                   stralloc *where, const char *plugin)
{
  size_t i;
  size_t max;

  max = 0;
  for (i = 0; i < l->text.len; ++i)
    if (!l->text.s[i]) ++max;
  if (max) {
    l->e = calloc(max, sizeof *l->e);
    if (!l->e) return 0;
  }
  for (i = 0; i < l->text.len && l->n < max; ) {
    char *line = l->text.s + i;
    size_t len = str_len(line);
    size_t sp = strcspn(line, " \t");
    struct badentry *e = &l->e[l->n];

    i += len + 1;
    if (!control_where(at, &l->text, line, where)) return 0;
    e->bad = line;
    e->reason = 0;
    if (sp < len) {
      char *r = line + sp;
      *r++ = 0;
      while (*r == ' ' || *r == '\t') ++r;
      if (*r) e->reason = r;
    }
    e->badlen = str_len(line);
    if (!e->badlen) continue;
    if (badlist_is_pattern(line)) {
      const char *why;
      e->re = malloc(sizeof *e->re);
      if (!e->re) return 0;
      if (!re_compile(e->re, line, RE_ICASE, &why)) {
        qlogm(s, LOGERROR, plugin, "bad pattern in ", where->s, ": ", line, " (", why, "), ignored");
        free(e->re);
        e->re = 0;
        continue;
      }
    } else {
      if (byte_chr(line, e->badlen, '@') == e->badlen) {
        qlogm(s, LOGERROR, plugin, "entry without @ in ", where->s, ": ", line, ", ignored");
        continue;
      }
      case_lowerb(line, e->badlen);
    }
    ++l->n;
  }
  return 1;
}

int badlist_load(struct session *s, struct badlist *l, const char *file, const char *plugin)
{
  struct control_at at = { {0}, {0} };
  stralloc where = {0};
  int ok = 1;

  if (control_readlist_at(s, file, &l->text, &at)) ok = load_entries(s, l, &at, &where, plugin);
  stralloc_free(&where);
  stralloc_free(&at.files);
  stralloc_free(&at.lines);
  return ok;
}

const struct badentry *badlist_match(const struct badlist *l, const char *addr,
                                            size_t len, size_t at)
{
  int plain = byte_chr(addr, len, 0) == len;   /* a NUL would cut a pattern's subject short */
  size_t i;

  for (i = 0; i < l->n; ++i) {
    const struct badentry *e = &l->e[i];
    if (e->re) {
      if (plain && re_match(e->re, addr, len)) return e;
    } else if (e->bad[0] == '@') {
      if (e->badlen == len - at && byte_equal(e->bad, e->badlen, addr + at)) return e;
    } else if (e->badlen == len && byte_equal(e->bad, len, addr))
      return e;
  }
  return 0;
}

int badlist_printable(stralloc *out, const char *addr, size_t len)
{
  size_t i;

  for (i = 0; i < len; ++i) {
    char c = addr[i];
    if ((unsigned char)c <= ' ' || (unsigned char)c >= 127) c = '?';
    if (!stralloc_append(out, &c)) return 0;
  }
  return 1;
}

int badlist_has_code(const char *r)
{
  return (r[0] == '2' || r[0] == '4' || r[0] == '5') && r[1] == '.';
}

int badlist_reason(stralloc *out, const char *reason, int rc, const char *subject)
{
  int temp = rc == DENYSOFT || rc == DENYSOFT_DISCONNECT;
  if (badlist_has_code(reason)) return stralloc_copys(out, reason) && stralloc_0(out);
  return stralloc_copys(out, temp ? "4." : "5.") && stralloc_cats(out, subject)
         && stralloc_cats(out, " ") && stralloc_cats(out, reason) && stralloc_0(out);
}
