/* Parses one plugins file (Perl qpsmtpd's syntax): a line starting with
   "$include" names a file to read in its place; in any other line '#' starts
   a comment, blanks and tabs around it are trimmed (and CRs at its end), an
   empty line is skipped, and the rest is "name [arg ...]" split on blanks
   and tabs. */
#include <stdlib.h>
#include <string.h>
#include "plugintab_parse.h"

static int is_blank(char c) { return c == ' ' || c == '\t'; }
static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }
static int is_namechar(char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

static int fail(struct ptab *p, unsigned long line, const char *err, const char *word)
{
  p->errline = line;
  p->err = err;
  p->errword = word;
  return 0;
}

static struct ptab_entry *entry_new(struct ptab *p)
{
  if (p->n == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 16, bytes;
    struct ptab_entry *e;
    if (cap > PTAB_ENTRIES_MAX) cap = PTAB_ENTRIES_MAX;
    if (__builtin_mul_overflow(cap, sizeof *e, &bytes)) return NULL;
    e = realloc(p->e, bytes);
    if (!e) return NULL;
    p->e = e;
    p->cap = cap;
  }
  memset(&p->e[p->n], 0, sizeof p->e[p->n]);
  return &p->e[p->n++];
}

/* the length of name without its ":N", or 0 when it is not a plugin name */
static size_t name_base(const char *name)
{
  size_t i = 0, base;
  if (!is_namechar(name[0])) return 0;
  while (is_namechar(name[i]) || name[i] == '/' || name[i] == '-') ++i;
  base = i;
  if (name[i] == ':') {
    if (name[++i] < '0' || name[i] > '9') return 0;
    while (name[i] >= '0' && name[i] <= '9') ++i;
  }
  return name[i] ? 0 : base;
}

/* "$include PATH": b points at the '$', e at the line's end */
static int parse_include(struct ptab *p, unsigned long line, char *b, char *e)
{
  struct ptab_entry *ent;
  char *s = b + 8, *c;
  while (s < e && is_space(*s)) ++s;
  while (e > s && is_space(e[-1])) --e;
  if (s == e) return fail(p, line, "$include names no file", NULL);
  for (c = s; c < e; ++c)
    if ((unsigned char)*c < 0x20 && *c != '\t') return fail(p, line, "unsafe characters in $include path", NULL);
    else if (*c == 0x7f) return fail(p, line, "unsafe characters in $include path", NULL);
  if (p->n >= PTAB_ENTRIES_MAX) return fail(p, line, "too many lines (the limit is 1024 plugins and $include lines)", NULL);
  if (!(ent = entry_new(p))) return -1;
  *e = 0;
  ent->kind = PTAB_INCLUDE;
  ent->line = line;
  ent->name = s;
  ent->argv = NULL;
  return 1;
}

static int parse_plugin(struct ptab *p, unsigned long line, char *b, char *e)
{
  struct ptab_entry *ent;
  const char **argv;
  char *c, *words[PTAB_ARGS_MAX + 1];
  size_t n = 0, bytes;
  char *hash = memchr(b, '#', (size_t)(e - b));
  if (hash) e = hash;
  while (b < e && is_blank(*b)) ++b;
  while (e > b && (is_blank(e[-1]) || e[-1] == '\r')) --e;
  if (b == e) return 1;
  for (c = b; c < e; ++c)
    if (*c != '\t' && (*c < 0x20 || *c > 0x7e)) return fail(p, line, "unsafe characters in plugins line", NULL);
  for (c = b; c < e;) {
    if (n > PTAB_ARGS_MAX) return fail(p, line, "too many arguments (the limit is 128)", NULL);
    words[n++] = c;
    while (c < e && !is_blank(*c)) ++c;
    if (c < e) *c++ = 0;
    while (c < e && is_blank(*c)) ++c;
  }
  *e = 0;
  if (!name_base(words[0])) return fail(p, line, "bad plugin name", words[0]);
  if (p->n >= PTAB_ENTRIES_MAX) return fail(p, line, "too many lines (the limit is 1024 plugins and $include lines)", NULL);
  if (__builtin_mul_overflow(n, sizeof *argv, &bytes)) return -1;
  if (!(argv = malloc(bytes))) return -1;
  if (!(ent = entry_new(p))) { free(argv); return -1; }
  memcpy(argv, words + 1, (n - 1) * sizeof *argv);
  argv[n - 1] = NULL;
  ent->kind = PTAB_PLUGIN;
  ent->line = line;
  ent->name = words[0];
  ent->baselen = name_base(words[0]);
  ent->argc = (unsigned int)(n - 1);
  ent->argv = argv;
  return 1;
}

int ptab_parse(struct ptab *p, const char *data, size_t len)
{
  size_t i = 0, alloc;
  unsigned long line = 0;
  memset(p, 0, sizeof *p);
  if (len > PTAB_FILE_MAX) return fail(p, 1, "file too large (the limit is 1048576 bytes)", NULL);
  if (__builtin_add_overflow(len, 1, &alloc) || !(p->buf = malloc(alloc))) return -1;
  if (len) memcpy(p->buf, data, len);
  p->buf[len] = 0;
  while (i < len) {
    char *b = p->buf + i, *e = memchr(b, '\n', len - i);
    int r;
    if (!e) e = p->buf + len;
    i = (size_t)(e - p->buf) + 1;
    ++line;
    if ((size_t)(e - b) > PTAB_LINE_MAX) return fail(p, line, "line too long (the limit is 4096 bytes)", NULL);
    if (e - b >= 8 && !memcmp(b, "$include", 8) && (e - b == 8 || is_space(b[8])))
      r = parse_include(p, line, b, e);
    else
      r = parse_plugin(p, line, b, e);
    if (r != 1) return r;
  }
  return 1;
}

void ptab_free(struct ptab *p)
{
  size_t i;
  for (i = 0; i < p->n; ++i) free(p->e[i].argv);
  free(p->e);
  free(p->buf);
  memset(p, 0, sizeof *p);
}

/* Backslash and double quote are escaped; so is the second '?' of a "??"
   that would make a trigraph, for compilers that still read them. */
char *ptab_cstr(const char *s, size_t len, size_t *outlen)
{
  size_t i, n = 0, max;
  char *out;
  if (__builtin_mul_overflow(len, 2, &max) || __builtin_add_overflow(max, 3, &max)) return NULL;
  if (!(out = malloc(max))) return NULL;
  out[n++] = '"';
  for (i = 0; i < len; ++i) {
    char c = s[i];
    if (c == '\\' || c == '"'
        || (c == '?' && i > 0 && s[i - 1] == '?' && i + 1 < len && strchr("=(/)'<!>-", s[i + 1]) && s[i + 1]))
      out[n++] = '\\';
    out[n++] = c;
  }
  out[n++] = '"';
  out[n] = 0;
  *outlen = n;
  return out;
}
