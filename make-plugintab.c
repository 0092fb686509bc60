/* make-plugintab FILE: writes the C table of the plugin chain in FILE (Perl
   qpsmtpd's plugins syntax, see plugintab_parse.c) to stdout. $include
   reads a file, or every regular file of a directory whose name does not
   start with a dot in sorted order, in the line's place; a relative path is
   taken from the including file's directory. Nothing is written unless the
   whole chain is good: otherwise the first error is printed, naming the
   file and line, and the exit code is 1. Runs on the build machine. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "include_walk.h"
#include "plugintab_parse.h"

#define INCLUDE_DEPTH 8     /* files open at once, the top one included */
#define INCLUDE_FILES 256   /* files read in all */

struct open_file { dev_t dev; ino_t ino; };

static struct open_file stack[INCLUDE_DEPTH];
static int depth;
static unsigned long files_read;
static struct ptab *parsed[INCLUDE_FILES];
static const struct ptab_entry *chain[PTAB_ENTRIES_MAX];
static size_t chain_len;

static void die(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(1);
}

static void die_nomem(void) { die("make-plugintab: out of memory"); }

static void *xmalloc(size_t n)
{
  void *p = malloc(n ? n : 1);
  if (!p) die_nomem();
  return p;
}

/* a + b + c as one string */
static char *cat3(const char *a, size_t alen, const char *b, const char *c)
{
  size_t blen = strlen(b), clen = strlen(c), n;
  char *s;
  if (__builtin_add_overflow(alen, blen, &n) || __builtin_add_overflow(n, clen, &n)
      || __builtin_add_overflow(n, 1, &n)) die_nomem();
  s = xmalloc(n);
  memcpy(s, a, alen);
  memcpy(s + alen, b, blen);
  memcpy(s + alen + blen, c, clen + 1);
  return s;
}

/* the whole of a regular file, or -1 with errno set */
static int read_file(const char *path, char **data, size_t *len, struct stat *st)
{
  size_t cap = 4096, n = 0;
  char *buf;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return -1;
  if (fstat(fd, st) < 0) { close(fd); return -1; }
  if (S_ISDIR(st->st_mode)) { close(fd); errno = EISDIR; return -1; }
  buf = xmalloc(cap);
  for (;;) {
    ssize_t r;
    if (n == cap) {
      if (cap > PTAB_FILE_MAX) break;      /* the parser says it is too large */
      cap *= 2;
      if (!(buf = realloc(buf, cap))) die_nomem();
    }
    r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) { int e = errno; free(buf); close(fd); errno = e; return -1; }
    if (r == 0) break;
    n += (size_t)r;
  }
  close(fd);
  *data = buf;
  *len = n;
  return 0;
}

static void plugin_check(const char *file, const struct ptab_entry *e)
{
  char *base = xmalloc(e->baselen + 1), *src;
  struct stat st;
  int fd;
  memcpy(base, e->name, e->baselen);
  base[e->baselen] = 0;
  /* plugins/lib/ and plugins/tests/lib/ hold helpers, not plugins */
  if (!strncmp(base, "lib/", 4) || strstr(base, "/lib/"))
    die("%s:%lu: \"%s\" is not a plugin (lib/ holds the plugins' helpers)", file, e->line, base);
  src = cat3("plugins/", 8, base, ".c");
  fd = open(src, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    /* Perl qpsmtpd's plugins that have no counterpart here, with what to use instead */
    static const char *const instead[][2] = {
      { "ident/p0f", "passive OS fingerprinting (p0f) is not built in: drop the line; for reputation use karma, dnsbl or fcrdns" },
      { "ident/geoip", "GeoIP is not built in: drop the line; to refuse countries use dnsbl with a country zone, or hosts_allow with their networks" },
      { "ident/geoip2", "GeoIP is not built in: drop the line; to refuse countries use dnsbl with a country zone, or hosts_allow with their networks" },
      { "logging/warn", "the core logs to fd 2 itself, filtered by the control file loglevel: drop the line and set loglevel" },
      { "logging/file", "log lines go to fd 2, for multilog or another logger to write: drop the line, or use logging/syslog" },
      { "logging/devnull", "set the control file loglevel to 0 instead" },
    };
    size_t k;
    for (k = 0; k < sizeof instead / sizeof instead[0]; ++k)
      if (!strcmp(base, instead[k][0])) die("%s:%lu: %s: %s", file, e->line, base, instead[k][1]);
    die("%s:%lu: unknown plugin \"%s\" (there is no %s)", file, e->line, base, src);
  }
  close(fd);
  free(base);
  free(src);
}

static void read_plugins(const char *path, const char *from, unsigned long fromline);

struct include_ctx { const char *file; unsigned long line; };

static int include_file(void *ctx, const char *path, int err, int dir)
{
  struct include_ctx *c = ctx;
  (void)dir;
  if (!path) die_nomem();
  if (err) die("%s:%lu: $include: cannot read %s: %s", c->file, c->line, path, strerror(err));
  read_plugins(path, c->file, c->line);
  return 0;
}

static void include(const char *file, const struct ptab_entry *e)
{
  struct include_ctx c = { file, e->line };
  include_walk(file, e->name, "./", include_file, &c);
}

/* reads path, which from's line fromline includes (from is NULL for the
   top file), and appends its plugins to the chain */
static void read_plugins(const char *path, const char *from, unsigned long fromline)
{
  struct ptab *p;
  struct stat st;
  char *data;
  size_t len, i;
  int r, k;
  if (read_file(path, &data, &len, &st) < 0) {
    if (!from) die("make-plugintab: cannot read plugins file %s: %s", path, strerror(errno));
    die("%s:%lu: $include: cannot read %s: %s", from, fromline, path, strerror(errno));
  }
  for (k = 0; k < depth; ++k)
    if (stack[k].dev == st.st_dev && stack[k].ino == st.st_ino)
      die("%s:%lu: $include loop: %s is already being read", from, fromline, path);
  if (depth == INCLUDE_DEPTH)
    die("%s:%lu: $include nested too deeply (the limit is %d files): %s", from, fromline, INCLUDE_DEPTH, path);
  if (files_read == INCLUDE_FILES)
    die("%s:%lu: $include: too many files (the limit is %d): %s", from, fromline, INCLUDE_FILES, path);
  p = xmalloc(sizeof *p);
  parsed[files_read++] = p;
  r = ptab_parse(p, data, len);
  free(data);
  if (r < 0) die_nomem();
  stack[depth].dev = st.st_dev;
  stack[depth].ino = st.st_ino;
  ++depth;
  /* the lines before an error come first, so the first error is reported */
  for (i = 0; i < p->n; ++i) {
    const struct ptab_entry *e = &p->e[i];
    if (e->kind == PTAB_INCLUDE) {
      include(path, e);
      continue;
    }
    plugin_check(path, e);
    if (chain_len == PTAB_ENTRIES_MAX)
      die("%s:%lu: too many plugins in the chain (the limit is %d)", path, e->line, PTAB_ENTRIES_MAX);
    chain[chain_len++] = e;
  }
  --depth;
  if (!r) {
    if (p->errword) die("%s:%lu: %s \"%s\"", path, p->errline, p->err, p->errword);
    die("%s:%lu: %s", path, p->errline, p->err);
  }
}

static void out_cstr(const char *s, size_t len)
{
  size_t n;
  char *lit = ptab_cstr(s, len, &n);
  if (!lit) die_nomem();
  fwrite(lit, 1, n, stdout);
  free(lit);
}

/* the symbol after plugin_: the name without :N, '/' and '-' made '_' */
static char *symbol(const struct ptab_entry *e)
{
  char *s = xmalloc(e->baselen + 1);
  size_t i;
  for (i = 0; i < e->baselen; ++i) s[i] = e->name[i] == '/' || e->name[i] == '-' ? '_' : e->name[i];
  s[e->baselen] = 0;
  return s;
}

static void emit(void)
{
  char **sym = xmalloc(chain_len * sizeof *sym);
  size_t i, j, a;
  for (i = 0; i < chain_len; ++i) sym[i] = symbol(chain[i]);
  fputs("/* generated by make-plugintab: do not edit */\n#include \"plugin.h\"\n", stdout);
  for (i = 0; i < chain_len; ++i) {
    for (j = 0; j < i && strcmp(sym[j], sym[i]); ++j) ;
    if (j == i) printf("extern const struct plugin plugin_%s;\n", sym[i]);
  }
  for (i = 0; i < chain_len; ++i) {
    printf("static const char *const argv_%zu[] = { ", i + 1);
    for (a = 0; a < chain[i]->argc; ++a) {
      out_cstr(chain[i]->argv[a], strlen(chain[i]->argv[a]));
      fputs(", ", stdout);
    }
    fputs("NULL };\n", stdout);
  }
  fputs("struct plugin_inst plugin_chain[] = {\n", stdout);
  for (i = 0; i < chain_len; ++i) {
    printf("  { &plugin_%s, ", sym[i]);
    out_cstr(chain[i]->name, strlen(chain[i]->name));
    /* where Perl's "loglevel" argument is (1 + its index; 0: none), so
       that a session start looks only at the plugins that have one */
    for (a = 0; a + 1 < chain[i]->argc && strcmp(chain[i]->argv[a], "loglevel"); ++a) ;
    printf(", %u, argv_%zu, NULL, 0, 0, %zu },\n", chain[i]->argc, i + 1,
           a + 1 < chain[i]->argc && a < 255 ? a + 1 : 0);
  }
  if (!chain_len) fputs("  { NULL, NULL, 0, NULL, NULL, 0, 0, 0 }\n", stdout);
  printf("};\nconst unsigned int plugin_chain_len = %zu;\n", chain_len);
  for (i = 0; i < chain_len; ++i) free(sym[i]);
  free(sym);
}

int main(int argc, char **argv)
{
  unsigned long i;
  if (argc != 2 && argc != 3) die("usage: make-plugintab FILE [LOGGING]");
  /* Perl's logging file: its plugins come before those of FILE */
  if (argc == 3) read_plugins(argv[2], NULL, 0);
  read_plugins(argv[1], NULL, 0);
  emit();
  if (fflush(stdout) != 0 || ferror(stdout)) die("make-plugintab: cannot write the table: %s", strerror(errno));
  for (i = 0; i < files_read; ++i) {
    ptab_free(parsed[i]);
    free(parsed[i]);
  }
  return 0;
}
