/* A Thompson-NFA regular expression matcher (see regex.h). The compiler
   emits a program whose jumps are relative, so a compiled piece can be
   moved or copied (for {m,n}) without fixing it up; the matcher runs all
   threads in lock step over the subject (Pike's VM without captures). */
#include <stdlib.h>
#include <string.h>
#include "regex.h"

#define RE_MAX_INST 4000        /* bounds program size, and with it match cost */
#define RE_MAX_SETS 256
#define RE_MAX_REPEAT 255
#define RE_MAX_DEPTH 50         /* nesting of groups */

enum { I_CHAR, I_ANY, I_SET, I_SPLIT, I_JMP, I_BOL, I_EOL, I_WORDB, I_NWORDB, I_MATCH };

struct re_inst {
  unsigned char op;
  unsigned char c;              /* I_CHAR */
  unsigned short set;           /* I_SET */
  int x, y;                     /* I_SPLIT, I_JMP: relative targets */
};

struct comp {
  struct re *re;
  const char *p;
  const char *err;
  unsigned int cap;
  int depth;
};

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }
static int is_word(int c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static int fail(struct comp *c, const char *why)
{
  if (!c->err) c->err = why;
  return 0;
}

static int room(struct comp *c, unsigned int more)
{
  struct re *re = c->re;
  unsigned int want;
  if (more > RE_MAX_INST || re->n > RE_MAX_INST - more) return fail(c, "pattern too large");
  want = re->n + more;
  if (want > c->cap) {
    unsigned int cap = c->cap ? c->cap : 32;
    struct re_inst *np;
    while (cap < want) cap *= 2;
    np = realloc(re->prog, cap * sizeof *np);
    if (!np) return fail(c, "out of memory");
    re->prog = np;
    c->cap = cap;
  }
  return 1;
}

static int emit(struct comp *c, int op, int a, int b)
{
  struct re_inst *i;
  if (!room(c, 1)) return 0;
  i = &c->re->prog[c->re->n++];
  memset(i, 0, sizeof *i);
  i->op = (unsigned char)op;
  i->x = a;
  i->y = b;
  return 1;
}

/* puts a SPLIT in front of the code from at on */
static int insert_split(struct comp *c, unsigned int at, int x, int y)
{
  struct re *re = c->re;
  if (!room(c, 1)) return 0;
  memmove(re->prog + at + 1, re->prog + at, (re->n - at) * sizeof *re->prog);
  ++re->n;
  memset(&re->prog[at], 0, sizeof re->prog[at]);
  re->prog[at].op = I_SPLIT;
  re->prog[at].x = x;
  re->prog[at].y = y;
  return 1;
}

static int new_set(struct comp *c, unsigned char **set)
{
  struct re *re = c->re;
  unsigned char (*ns)[32];
  if (re->nsets >= RE_MAX_SETS) return fail(c, "too many character classes");
  ns = realloc(re->sets, (re->nsets + 1) * sizeof *ns);
  if (!ns) return fail(c, "out of memory");
  re->sets = ns;
  *set = ns[re->nsets];
  memset(*set, 0, 32);
  if (!emit(c, I_SET, 0, 0)) return 0;
  re->prog[re->n - 1].set = (unsigned short)re->nsets++;
  return 1;
}

static void set_add(unsigned char *set, int ch) { set[(unsigned char)ch >> 3] |= (unsigned char)(1 << (ch & 7)); }
static void set_range(unsigned char *set, int a, int b) { for (; a <= b; ++a) set_add(set, a); }

/* \d \w \s and their negations; 0 when e is not one of them */
static int class_escape(unsigned char *set, int e)
{
  unsigned char t[32];
  int i, neg = e >= 'A' && e <= 'Z';
  memset(t, 0, sizeof t);
  switch (lower(e)) {
  case 'd': set_range(t, '0', '9'); break;
  case 'w': set_range(t, 'a', 'z'); set_range(t, 'A', 'Z'); set_range(t, '0', '9'); set_add(t, '_'); break;
  case 's': set_add(t, ' '); set_range(t, '\t', '\r'); break;
  default: return 0;
  }
  for (i = 0; i < 32; ++i) set[i] |= neg ? (unsigned char)~t[i] : t[i];
  return 1;
}

static int hexval(int ch)
{
  if (ch >= '0' && ch <= '9') return ch - '0';
  ch = lower(ch);
  return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* a single-character escape after the backslash at c->p; -1 if not one */
static int char_escape(struct comp *c)
{
  int e = (unsigned char)*c->p;
  switch (e) {
  case 't': ++c->p; return '\t';
  case 'n': ++c->p; return '\n';
  case 'r': ++c->p; return '\r';
  case 'f': ++c->p; return '\f';
  case 'v': ++c->p; return '\v';
  case 'e': ++c->p; return 27;
  case 'x': {
    int h = hexval((unsigned char)c->p[1]), l = h < 0 ? -1 : hexval((unsigned char)c->p[2]);
    if (l < 0) return fail(c, "\\x needs two hex digits"), -1;
    c->p += 3;
    return h * 16 + l;
  }
  }
  if (!e || is_word(e) || e >= 128) return -1;
  ++c->p;
  return e;
}

static const struct { const char *name; const char *ranges; } posix[] = {
  { "alpha", "azAZ" }, { "digit", "09" }, { "alnum", "azAZ09" }, { "upper", "AZ" },
  { "lower", "az" }, { "space", "\t\r  " }, { "blank", "\t\t  " }, { "xdigit", "09afAF" },
  { "punct", "!/:@[`{~" }, { "print", " ~" }, { "graph", "!~" }, { "cntrl", "\001\037\177\177" },
};

static int parse_set(struct comp *c)
{
  unsigned char *set;
  int neg = 0, first = 1, i;
  if (!new_set(c, &set)) return 0;
  if (*c->p == '^') { neg = 1; ++c->p; }
  for (;;) {
    int lo, hi;
    if (!*c->p) return fail(c, "missing ]");
    if (*c->p == ']' && !first) { ++c->p; break; }
    first = 0;
    if (c->p[0] == '[' && c->p[1] == ':') {
      const char *end = strstr(c->p + 2, ":]");
      size_t k, len = end ? (size_t)(end - c->p - 2) : 0;
      for (k = 0; end && k < sizeof posix / sizeof posix[0]; ++k)
        if (strlen(posix[k].name) == len && !memcmp(posix[k].name, c->p + 2, len)) break;
      if (!end || k == sizeof posix / sizeof posix[0]) return fail(c, "unknown [: :] class");
      for (i = 0; posix[k].ranges[i]; i += 2)
        set_range(set, (unsigned char)posix[k].ranges[i], (unsigned char)posix[k].ranges[i + 1]);
      c->p = end + 2;
      continue;
    }
    if (*c->p == '\\') {
      ++c->p;
      if (class_escape(set, (unsigned char)*c->p)) { ++c->p; continue; }
      if (*c->p == 'b') { ++c->p; lo = 8; }
      else if ((lo = char_escape(c)) < 0) return fail(c, "unsupported escape in [ ]");
    } else
      lo = (unsigned char)*c->p++;
    hi = lo;
    if (c->p[0] == '-' && c->p[1] && c->p[1] != ']') {
      ++c->p;
      if (*c->p == '\\') {
        ++c->p;
        if ((hi = char_escape(c)) < 0) return fail(c, "unsupported escape in [ ]");
      } else
        hi = (unsigned char)*c->p++;
      if (hi < lo) return fail(c, "range out of order in [ ]");
    }
    set_range(set, lo, hi);
  }
  if (c->re->icase)
    for (i = 'a'; i <= 'z'; ++i)
      if (set[i >> 3] & (1 << (i & 7)) || set[(i - 32) >> 3] & (1 << ((i - 32) & 7))) {
        set_add(set, i);
        set_add(set, i - 32);
      }
  if (neg)
    for (i = 0; i < 32; ++i) set[i] = (unsigned char)~set[i];
  return 1;
}

static int parse_alt(struct comp *c);

static int parse_atom(struct comp *c)
{
  int ch = (unsigned char)*c->p;
  switch (ch) {
  case '(':
    if (++c->depth > RE_MAX_DEPTH) return fail(c, "groups nested too deep");
    ++c->p;
    if (c->p[0] == '?') {
      if (c->p[1] != ':') return fail(c, "unsupported (? group");
      c->p += 2;
    }
    if (!parse_alt(c)) return 0;
    if (*c->p != ')') return fail(c, "missing )");
    ++c->p;
    --c->depth;
    return 1;
  case '[': ++c->p; return parse_set(c);
  case '.': {
    unsigned char *set;
    ++c->p;
    if (!new_set(c, &set)) return 0;
    memset(set, 0xff, 32);
    set['\n' >> 3] &= (unsigned char)~(1 << ('\n' & 7));
    return 1;
  }
  case '^': ++c->p; return emit(c, I_BOL, 0, 0);
  case '$': ++c->p; return emit(c, I_EOL, 0, 0);
  case '*': case '+': case '?': return fail(c, "nothing to repeat");
  case ')': return fail(c, "unmatched )");
  case '\\': {
    unsigned char *set;
    int e = (unsigned char)*++c->p;
    if (e == 'd' || e == 'D' || e == 'w' || e == 'W' || e == 's' || e == 'S') {
      ++c->p;
      if (!new_set(c, &set)) return 0;
      class_escape(set, e);
      return 1;
    }
    if (e == 'b' || e == 'B') { ++c->p; return emit(c, e == 'b' ? I_WORDB : I_NWORDB, 0, 0); }
    if (e == 'A') { ++c->p; return emit(c, I_BOL, 0, 0); }
    if (e == 'z') { ++c->p; return emit(c, I_EOL, 0, 0); }
    if ((ch = char_escape(c)) < 0) return fail(c, "unsupported escape");
    break;
  }
  default:
    ++c->p;
  }
  if (!emit(c, I_CHAR, 0, 0)) return 0;
  c->re->prog[c->re->n - 1].c = (unsigned char)(c->re->icase ? lower(ch) : ch);
  return 1;
}

/* "{m}", "{m,}" or "{m,n}" at c->p: 1 and the bounds (n -1 for none),
   0 when the text is not a quantifier (then '{' is a literal) */
static int parse_braces(const char *p, int *m, int *n, const char **end)
{
  int a = 0, b, digits = 0;
  if (*p++ != '{') return 0;
  while (*p >= '0' && *p <= '9') { if (a <= RE_MAX_REPEAT) a = a * 10 + (*p - '0'); ++p; ++digits; }
  if (!digits) return 0;
  b = a;
  if (*p == ',') {
    ++p;
    digits = 0;
    b = 0;
    while (*p >= '0' && *p <= '9') { if (b <= RE_MAX_REPEAT) b = b * 10 + (*p - '0'); ++p; ++digits; }
    if (!digits) b = -1;
  }
  if (*p != '}') return 0;
  *m = a;
  *n = b;
  *end = p + 1;
  return 1;
}

static int parse_repeat(struct comp *c)
{
  unsigned int start = c->re->n;
  if (!parse_atom(c)) return 0;
  for (;;) {
    struct re *re = c->re;
    int len = (int)(re->n - start);
    int m, n;
    const char *end;
    if (*c->p == '*') {
      if (!insert_split(c, start, 1, len + 2) || !emit(c, I_JMP, -(len + 1), 0)) return 0;
      ++c->p;
    } else if (*c->p == '+') {
      if (!emit(c, I_SPLIT, -len, 1)) return 0;
      ++c->p;
    } else if (*c->p == '?') {
      if (!insert_split(c, start, 1, len + 1)) return 0;
      ++c->p;
    } else if (parse_braces(c->p, &m, &n, &end)) {
      struct re_inst *frag;
      int k;
      c->p = end;
      if (m > RE_MAX_REPEAT || n > RE_MAX_REPEAT) return fail(c, "repeat count above 255");
      if (n >= 0 && n < m) return fail(c, "repeat range out of order");
      if (len) {                /* an empty group repeated is still empty */
        frag = malloc((size_t)len * sizeof *frag);
        if (!frag) return fail(c, "out of memory");
        memcpy(frag, re->prog + start, (size_t)len * sizeof *frag);
        re->n = start;
        for (k = 0; k < m; ++k) {
          if (!room(c, (unsigned int)len)) { free(frag); return 0; }
          memcpy(re->prog + re->n, frag, (size_t)len * sizeof *frag);
          re->n += (unsigned int)len;
        }
        if (n < 0) {            /* then frag* */
          if (!emit(c, I_SPLIT, 1, len + 2) || !room(c, (unsigned int)len)) { free(frag); return 0; }
          memcpy(re->prog + re->n, frag, (size_t)len * sizeof *frag);
          re->n += (unsigned int)len;
          if (!emit(c, I_JMP, -(len + 1), 0)) { free(frag); return 0; }
        } else
          for (k = m; k < n; ++k) {   /* then (n - m) times frag? */
            if (!emit(c, I_SPLIT, 1, len + 1) || !room(c, (unsigned int)len)) { free(frag); return 0; }
            memcpy(re->prog + re->n, frag, (size_t)len * sizeof *frag);
            re->n += (unsigned int)len;
          }
        free(frag);
      }
    } else
      return 1;
    if (*c->p == '?') ++c->p;       /* lazy: the same yes or no */
  }
}

static int parse_alt(struct comp *c)
{
  unsigned int altstart = c->re->n;
  unsigned int pending = 0;     /* the JMPs to the end, chained through x (index + 1) */
  for (;;) {
    while (*c->p && *c->p != '|' && *c->p != ')')
      if (!parse_repeat(c)) return 0;
    if (*c->p != '|') break;
    ++c->p;
    /* SPLIT to this alternative or the next one; JMP from its end to the end */
    if (!insert_split(c, altstart, 1, 0)) return 0;
    if (!emit(c, I_JMP, (int)pending, 0)) return 0;
    pending = c->re->n;
    c->re->prog[altstart].y = (int)(c->re->n - altstart);
    altstart = c->re->n;
  }
  while (pending) {
    unsigned int j = pending - 1;
    pending = (unsigned int)c->re->prog[j].x;
    c->re->prog[j].x = (int)(c->re->n - j);
  }
  return 1;
}

void re_free(struct re *re)
{
  free(re->prog);
  free(re->sets);
  free(re->mark);
  free(re->list);
  memset(re, 0, sizeof *re);
}

int re_compile(struct re *re, const char *pattern, int flags, const char **err)
{
  struct comp c;
  memset(re, 0, sizeof *re);
  memset(&c, 0, sizeof c);
  re->icase = flags & RE_ICASE;
  c.re = re;
  c.p = pattern;
  if (parse_alt(&c) && *c.p == ')') fail(&c, "unmatched )");
  if (!c.err) emit(&c, I_MATCH, 0, 0);
  if (!c.err) {
    re->mark = calloc(re->n, sizeof *re->mark);
    re->list = calloc((size_t)re->n * 3 + 2, sizeof *re->list);
    if (!re->mark || !re->list) fail(&c, "out of memory");
  }
  if (c.err) {
    re_free(re);
    *err = c.err;
    return 0;
  }
  return 1;
}

/* adds pc and what it reaches without reading a byte to list; 1 when that
   reaches MATCH. pos is the subject position the threads wait at. */
static int add(struct re *re, unsigned int *list, unsigned int *nl, unsigned int pc,
               const char *s, size_t len, size_t pos)
{
  unsigned int *stack = re->list + 2 * (size_t)re->n;
  unsigned int sp = 0;
  stack[sp++] = pc;
  while (sp) {
    const struct re_inst *i;
    pc = stack[--sp];
    if (re->mark[pc] == re->gen) continue;
    re->mark[pc] = re->gen;
    i = &re->prog[pc];
    switch (i->op) {
    case I_MATCH: return 1;
    case I_JMP: stack[sp++] = pc + (unsigned int)i->x; break;
    case I_SPLIT:
      /* each SPLIT is expanded once per step and adds one entry net, so
         the stack never holds more than n + 1 entries */
      stack[sp++] = pc + (unsigned int)i->y;
      stack[sp++] = pc + (unsigned int)i->x;
      break;
    case I_BOL: if (pos == 0) stack[sp++] = pc + 1; break;
    case I_EOL: if (pos == len) stack[sp++] = pc + 1; break;
    case I_WORDB: case I_NWORDB: {
      int a = pos > 0 && is_word((unsigned char)s[pos - 1]);
      int b = pos < len && is_word((unsigned char)s[pos]);
      if ((a != b) == (i->op == I_WORDB)) stack[sp++] = pc + 1;
      break;
    }
    default: list[(*nl)++] = pc;
    }
  }
  return 0;
}

int re_match(struct re *re, const char *s, size_t len)
{
  unsigned int *cl = re->list, *nl = re->list + re->n, *t;
  unsigned int nc = 0, nn, k;
  size_t pos;
  if (!re->prog) return 0;
  for (pos = 0;; ++pos) {
    if (++re->gen == 0) { memset(re->mark, 0, re->n * sizeof *re->mark); re->gen = 1; }
    /* the threads carried over were added with the previous generation's
       marks; re-mark them so the new start thread does not duplicate one */
    for (k = 0; k < nc; ++k) re->mark[cl[k]] = re->gen;
    if (add(re, cl, &nc, 0, s, len, pos)) return 1;
    if (pos == len || !nc) { if (pos == len) return 0; continue; }
    if (++re->gen == 0) { memset(re->mark, 0, re->n * sizeof *re->mark); re->gen = 1; }
    nn = 0;
    for (k = 0; k < nc; ++k) {
      const struct re_inst *i = &re->prog[cl[k]];
      int ch = (unsigned char)s[pos], ok;
      if (i->op == I_CHAR) ok = (re->icase ? lower(ch) : ch) == i->c;
      else ok = (re->sets[i->set][ch >> 3] >> (ch & 7)) & 1;
      if (ok && add(re, nl, &nn, cl[k] + 1, s, len, pos + 1)) return 1;
    }
    t = cl; cl = nl; nl = t;
    nc = nn;
  }
}
