/* The plugins file parser of make-plugintab. For an accepted file: a simple
   reference tokenizer (a line starting with "$include" is an include; else
   cut at '#', trim, split on blanks and tabs) finds the same plugins,
   arguments and includes on the same lines; every name matches the
   documented grammar; every argument and name, written as a C string
   literal, reads back as the same bytes and holds no trigraph. For a
   rejected file: the error is on one of its lines, after every entry. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../plugintab_parse.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static int blank(int c) { return c == ' ' || c == '\t'; }
static int space(int c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

/* name := [A-Za-z0-9_] [A-Za-z0-9_/-]* (":" [0-9]+)?; returns the length
   before ':', or -1 */
static long grammar(const char *s)
{
  static const char first[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_";
  size_t n = strlen(s), colon = n, i;
  const char *c = strchr(s, ':');
  if (c) colon = (size_t)(c - s);
  if (colon == 0 || !strchr(first, s[0])) return -1;
  for (i = 1; i < colon; ++i)
    if (!strchr(first, s[i]) && s[i] != '/' && s[i] != '-') return -1;
  if (c) {
    if (colon + 1 == n) return -1;
    for (i = colon + 1; i < n; ++i)
      if (s[i] < '0' || s[i] > '9') return -1;
  }
  return (long)colon;
}

/* decodes a C string literal (quotes included) into out; -1 if it is not
   one, or if it could be read differently with trigraphs */
static long unliteral(const char *lit, size_t n, char *out)
{
  size_t i, o = 0;
  for (i = 0; i + 2 < n; ++i)
    if (lit[i] == '?' && lit[i + 1] == '?' && strchr("=(/)'<!>-", lit[i + 2])) return -1;
  if (n < 2 || lit[0] != '"' || lit[n - 1] != '"') return -1;
  for (i = 1; i < n - 1; ++i) {
    unsigned char c = (unsigned char)lit[i];
    if (c == '"' || c == '\n' || c < 0x20 || c > 0x7e) return -1;
    if (c != '\\') { out[o++] = (char)c; continue; }
    if (++i >= n - 1) return -1;
    switch (lit[i]) {
    case '\\': out[o++] = '\\'; break;
    case '"': out[o++] = '"'; break;
    case '\'': out[o++] = '\''; break;
    case '?': out[o++] = '?'; break;
    case 'n': out[o++] = '\n'; break;
    case 't': out[o++] = '\t'; break;
    case 'r': out[o++] = '\r'; break;
    case 'a': out[o++] = '\a'; break;
    case 'b': out[o++] = '\b'; break;
    case 'f': out[o++] = '\f'; break;
    case 'v': out[o++] = '\v'; break;
    default:
      if (lit[i] >= '0' && lit[i] <= '7') {
        unsigned v = 0, k;
        for (k = 0; k < 3 && i < n - 1 && lit[i] >= '0' && lit[i] <= '7'; ++k, ++i) v = v * 8 + (unsigned)(lit[i] - '0');
        --i;
        if (v > 255) return -1;
        out[o++] = (char)v;
      } else {
        return -1;                        /* \x and the rest: never emitted */
      }
    }
  }
  return (long)o;
}

static void roundtrip(const char *s)
{
  size_t len = strlen(s), n;
  char *lit = ptab_cstr(s, len, &n), *back;
  long got;
  if (!lit) return;
  CHECK(strlen(lit) == n);
  back = malloc(n + 1);
  CHECK(back);
  got = unliteral(lit, n, back);
  CHECK(got >= 0 && (size_t)got == len && !memcmp(back, s, len));
  free(back);
  free(lit);
}

/* the reference's reasons to reject line [b, e) when the file has n entries
   before it */
static int line_is_bad(const char *b, const char *e, size_t n)
{
  const char *c;
  unsigned long words = 0;
  if (e - b > PTAB_LINE_MAX) return 1;
  if (e - b >= 8 && !memcmp(b, "$include", 8) && (e - b == 8 || space(b[8]))) {
    const char *s = b + 8;
    while (s < e && space(*s)) ++s;
    while (e > s && space(e[-1])) --e;
    if (s == e || n >= PTAB_ENTRIES_MAX) return 1;
    for (c = s; c < e; ++c)
      if (((unsigned char)*c < 0x20 && *c != '\t') || *c == 0x7f) return 1;
    return 0;
  }
  for (c = b; c < e; ++c)
    if (*c == '#') { e = c; break; }
  while (b < e && blank(*b)) ++b;
  while (e > b && (blank(e[-1]) || e[-1] == '\r')) --e;
  if (b == e) return 0;
  for (c = b; c < e; ++c)
    if (*c != '\t' && ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)) return 1;
  for (c = b; c < e;) {
    char word[PTAB_LINE_MAX + 1];
    const char *t = c;
    while (t < e && !blank(*t)) ++t;
    if (!words) {
      memcpy(word, c, (size_t)(t - c));
      word[t - c] = 0;
      if (grammar(word) < 0) return 1;
    }
    ++words;
    c = t;
    while (c < e && blank(*c)) ++c;
  }
  return words - 1 > PTAB_ARGS_MAX || n >= PTAB_ENTRIES_MAX;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct ptab p;
  const char *in = (const char *)data;
  size_t off = 0, k = 0, lines = 0, i;
  int r = ptab_parse(&p, in, size);

  for (i = 0; i < size; ++i) lines += in[i] == '\n';
  if (size && in[size - 1] != '\n') ++lines;
  if (r < 0) { ptab_free(&p); return 0; }
  if (r == 0) {
    CHECK(p.err && p.errline >= 1 && p.errline <= lines);
    for (i = 0; i < p.n; ++i) CHECK(p.e[i].line < p.errline);
    if (size <= PTAB_FILE_MAX) {
      const char *b = in, *e;
      for (i = 1; i < p.errline; ++i) b = (const char *)memchr(b, '\n', size - (size_t)(b - in)) + 1;
      e = memchr(b, '\n', size - (size_t)(b - in));
      CHECK(line_is_bad(b, e ? e : in + size, p.n));
    }
  }

  /* the reference, line by line, up to the error if there is one */
  for (unsigned long line = 1; off < size && (r == 1 || line < p.errline); ++line) {
    const char *b = in + off, *nl = memchr(b, '\n', size - off), *e = nl ? nl : in + size;
    off = (size_t)(e - in) + 1;
    if (e - b >= 8 && !memcmp(b, "$include", 8) && (e - b == 8 || space(b[8]))) {
      const char *s = b + 8;
      while (s < e && space(*s)) ++s;
      while (e > s && space(e[-1])) --e;
      CHECK(k < p.n && p.e[k].kind == PTAB_INCLUDE && p.e[k].line == line);
      CHECK(strlen(p.e[k].name) == (size_t)(e - s) && !memcmp(p.e[k].name, s, (size_t)(e - s)));
      ++k;
      continue;
    }
    for (const char *h = b; h < e; ++h)
      if (*h == '#') { e = h; break; }
    while (b < e && blank(*b)) ++b;
    while (e > b && (blank(e[-1]) || e[-1] == '\r')) --e;
    if (b == e) continue;
    CHECK(k < p.n && p.e[k].kind == PTAB_PLUGIN && p.e[k].line == line);
    {
      const struct ptab_entry *ent = &p.e[k++];
      unsigned int w = 0;
      long base = grammar(ent->name);
      CHECK(base > 0 && (size_t)base == ent->baselen);
      roundtrip(ent->name);
      while (b < e) {
        const char *t = b;
        const char *word;
        while (t < e && !blank(*t)) ++t;
        word = w == 0 ? ent->name : ent->argv[w - 1];
        CHECK(w <= ent->argc && word);
        CHECK(strlen(word) == (size_t)(t - b) && !memcmp(word, b, (size_t)(t - b)));
        for (i = 0; word[i]; ++i) CHECK(word[i] > ' ' && word[i] < 0x7f && word[i] != '#');
        if (w) roundtrip(word);
        ++w;
        b = t;
        while (b < e && blank(*b)) ++b;
      }
      CHECK(w == ent->argc + 1 && ent->argv[ent->argc] == NULL);
    }
  }
  CHECK(k == p.n);
  ptab_free(&p);
  return 0;
}
