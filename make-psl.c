/* make-psl FILE: the Public Suffix List (publicsuffix.org's format, Debian's
   /usr/share/publicsuffix/public_suffix_list.dat) as C for psl.c: an
   open-addressing hash table (psl_slot, FNV-1a, linear probing) of offsets
   into psl_names, where each name is a flags byte (psl.h) and the name in
   lower-case ASCII, non-ASCII labels as IDNA A-labels (punycode, RFC 3492),
   ending in \0. Every proper suffix of a rule gets an entry too (flag
   PSL_INNER, alone when it is no rule itself), so that a lookup walking a
   name's labels from the right stops at the first suffix with no entry.
   Runs on the build machine; a line it cannot read fails the build. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "psl.h"

#define NAME_MAX_ 256
#define RULES_MAX (PSL_SLOTS / 4 * 3)

struct entry { char name[NAME_MAX_]; unsigned int flags; };
static struct entry ent[RULES_MAX];
static unsigned int nent;
static unsigned int slot[PSL_SLOTS];

static void die(const char *why, unsigned long line)
{
  fprintf(stderr, "make-psl: line %lu: %s\n", line, why);
  exit(1);
}

static unsigned int adapt(unsigned long delta, unsigned long points, int first)
{
  unsigned int k = 0;
  delta = first ? delta / 700 : delta / 2;
  delta += delta / points;
  while (delta > 455) { delta /= 35; k += 36; }
  return k + (unsigned int)(36 * delta / (delta + 38));
}

static char digit(unsigned long d) { return (char)(d < 26 ? 'a' + d : '0' + d - 26); }

/* RFC 3492 section 6.3, for one label of n code points */
static int punycode(const unsigned long *cp, size_t n, char *out, size_t max, size_t *olen)
{
  unsigned long code = 128, delta = 0, m, q, k, t;
  unsigned int bias = 72;
  size_t o = 0, h, b, j;
  for (j = 0; j < n; j++)
    if (cp[j] < 128) { if (o >= max) return 0; out[o++] = (char)cp[j]; }
  h = b = o;
  if (b) { if (o >= max) return 0; out[o++] = '-'; }
  while (h < n) {
    m = 0x110000;
    for (j = 0; j < n; j++) if (cp[j] >= code && cp[j] < m) m = cp[j];
    delta += (m - code) * (h + 1);
    code = m;
    for (j = 0; j < n; j++) {
      if (cp[j] < code) delta++;
      if (cp[j] != code) continue;
      for (q = delta, k = 36;; k += 36) {
        t = k <= bias ? 1 : k >= bias + 26 ? 26 : k - bias;
        if (q < t) break;
        if (o >= max) return 0;
        out[o++] = digit(t + (q - t) % (36 - t));
        q = (q - t) / (36 - t);
      }
      if (o >= max) return 0;
      out[o++] = digit(q);
      bias = adapt(delta, h + 1, h == b);
      delta = 0;
      h++;
    }
    delta++;
    code++;
  }
  *olen = o;
  return 1;
}

/* one label of UTF-8 into out as ASCII (lower case) or xn--punycode */
static int label(const unsigned char *s, size_t len, char *out, size_t max, size_t *olen)
{
  unsigned long cp[64];
  size_t n = 0, i = 0, k, p;
  int ascii = 1;
  while (i < len) {
    unsigned long c = s[i];
    size_t more = 0;
    if (c >= 0x80) {
      ascii = 0;
      if ((c & 0xe0) == 0xc0) { c &= 0x1f; more = 1; }
      else if ((c & 0xf0) == 0xe0) { c &= 0x0f; more = 2; }
      else if ((c & 0xf8) == 0xf0) { c &= 0x07; more = 3; }
      else return 0;
    } else if (c >= 'A' && c <= 'Z') c += 32;
    for (k = 1; k <= more; k++) {
      if (i + k >= len || (s[i + k] & 0xc0) != 0x80) return 0;
      c = (c << 6) | (s[i + k] & 0x3f);
    }
    if (!more && !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return 0;
    if (n >= sizeof cp / sizeof cp[0]) return 0;
    cp[n++] = c;
    i += more + 1;
  }
  if (!n) return 0;
  if (ascii) {
    if (n > max) return 0;
    for (p = 0; p < n; p++) out[p] = (char)cp[p];
    *olen = n;
    return 1;
  }
  if (max < 4) return 0;
  memcpy(out, "xn--", 4);
  if (!punycode(cp, n, out + 4, max - 4, olen)) return 0;
  *olen += 4;
  return 1;
}

static unsigned int find(const char *name)
{
  unsigned int i = psl_hash(name, strlen(name)) & (PSL_SLOTS - 1);
  while (slot[i] && strcmp(ent[slot[i] - 1].name, name)) i = (i + 1) & (PSL_SLOTS - 1);
  return i;
}

static void add(const char *name, unsigned int flags, unsigned long line)
{
  unsigned int i = find(name);
  if (!slot[i]) {
    if (nent >= RULES_MAX) die("too many rules for PSL_SLOTS", line);
    strcpy(ent[nent].name, name);
    ent[nent].flags = 0;
    slot[i] = ++nent;
  }
  ent[slot[i] - 1].flags |= flags;
}

int main(int argc, char **argv)
{
  char buf[1024], name[NAME_MAX_];
  unsigned long line = 0;
  unsigned int i;
  unsigned long off = 1;
  FILE *f;

  if (argc != 2) { fprintf(stderr, "usage: make-psl public_suffix_list.dat\n"); return 100; }
  f = fopen(argv[1], "r");
  if (!f) { perror(argv[1]); return 111; }
  while (fgets(buf, sizeof buf, f)) {
    unsigned char *s = (unsigned char *)buf, *e, *dot;
    unsigned int flags = PSL_RULE;
    size_t n = 0, l;
    line++;
    if (!strchr(buf, '\n') && !feof(f)) die("line too long", line);
    while (*s == ' ' || *s == '\t') s++;
    if (!*s || *s == '\n' || *s == '\r' || (s[0] == '/' && s[1] == '/')) continue;
    for (e = s; *e && *e != ' ' && *e != '\t' && *e != '\n' && *e != '\r'; e++) {}
    if (*s == '!') { flags = PSL_EXCEPTION; s++; }
    else if (s[0] == '*' && s[1] == '.') { flags = PSL_WILDCARD; s += 2; }
    if (s >= e) die("empty rule", line);
    for (;;) {
      for (dot = s; dot < e && *dot != '.'; dot++) {}
      if (n && n + 1 >= sizeof name) die("name too long", line);
      if (n) name[n++] = '.';
      if (!label(s, (size_t)(dot - s), name + n, sizeof name - 1 - n, &l)) die("bad label", line);
      n += l;
      if (dot == e) break;
      s = dot + 1;
    }
    if (n > 253) die("name too long", line);
    name[n] = 0;
    add(name, flags, line);
    for (l = 0; l < n; l++) if (name[l] == '.') add(name + l + 1, PSL_INNER, line);
  }
  if (ferror(f)) { perror(argv[1]); return 111; }
  fclose(f);
  if (!nent) die("no rules", line);

  printf("/* generated by make-psl from %s: do not edit */\n#include \"psl.h\"\n\n", argv[1]);
  printf("const unsigned int psl_rules = %u;\n\n", nent);
  printf("const char psl_names[] =\n\"\\000\"\n");
  for (i = 0; i < PSL_SLOTS; i++) {
    if (!slot[i]) continue;
    printf("\"\\%03o%s\\000\"\n", ent[slot[i] - 1].flags, ent[slot[i] - 1].name);
    ent[slot[i] - 1].flags = (unsigned int)off;   /* now: its offset */
    off += strlen(ent[slot[i] - 1].name) + 2;
  }
  printf(";\n\nconst unsigned int psl_slot[PSL_SLOTS] = {\n");
  for (i = 0; i < PSL_SLOTS; i++)
    printf("%u,%s", slot[i] ? ent[slot[i] - 1].flags : 0, i % 16 == 15 ? "\n" : "");
  printf("};\n");
  return ferror(stdout) ? 111 : 0;
}
