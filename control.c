/* qmail-compatible control files. For each name the first of
   $QPSMTPD_CONFIG/NAME, ./config/NAME and $QMAIL/control/NAME that exists
   is read. One value per line; blank lines and # comments are skipped and
   white space is trimmed; "$include PATH" pulls in a file or every file of
   a directory. A file that exists but cannot be read or parsed is fatal.
   The parsing of a file's bytes is control_parse.c. */
#include <limits.h>
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cdb.h>
#include <fmt.h>
#include "control.h"
#include "ipnet.h"
#include "control_parse.h"
#include "env.h"
#include "include_walk.h"
#include "log.h"
#include "reply.h"
#include "session.h"

#define CONTROL_MAXSIZE (64UL * 1024 * 1024)
#define INCLUDE_DEPTH 8

/* The three directories are listed once per session: a name whose first
   component is not in a directory's listing is not opened there, so a
   session does not pay one failed open(2) per directory for every control
   file it does not have (most of them). A directory that cannot be listed
   (no read permission, too many entries) is tried name by name as before;
   one that does not exist is skipped. */
#define LIST_MAX 65536          /* bytes of names kept per directory */

static struct cdir {
  const char *path;
  int state;                    /* 0 absent, 1 listed, 2 try every name */
  stralloc names;               /* each name after a byte holding its length, when listed */
} cdirs[3];
static int ncdirs = -1;

/* Files are opened with openat, not open: musl's open follows an
   O_CLOEXEC open with an fcntl for kernels older than 2.6.23, one system
   call more per file. The listing is read with getdents64 into a 2 KB
   block, not through opendir, whose open has the same fcntl. */
static int open_cloexec(const char *path, int flags)
{
  return openat(AT_FDCWD, path, flags | O_CLOEXEC);
}

struct dirent64_raw {          /* the kernel's struct linux_dirent64 */
  unsigned long long ino;
  long long off;
  unsigned short reclen;
  unsigned char type;
  char name[];
};

static int list_names(struct cdir *d, const char *buf, long n)
{
  long i = 0;
  while (i < n) {
    const struct dirent64_raw *e = (const struct dirent64_raw *)(buf + i);
    const char *name = e->name;
    size_t l;
    unsigned char lb;
    if (e->reclen <= offsetof(struct dirent64_raw, name) || e->reclen > n - i) return -1;
    i += e->reclen;
    l = strnlen(name, (size_t)(e->reclen - offsetof(struct dirent64_raw, name)));
    if (name[0] == '.' && (l == 1 || (l == 2 && name[1] == '.'))) continue;
    lb = (unsigned char)l;
    if (l > 255 || d->names.len >= LIST_MAX || !stralloc_catb(&d->names, (const char *)&lb, 1)
        || !stralloc_catb(&d->names, name, l)) return -1;
  }
  return 0;
}

static void list_dir(struct cdir *d)
{
  enum { BUFLEN = 2032 };       /* with the allocator's header, a 2 KB block */
  char *buf;
  int fd = open_cloexec(d->path, O_RDONLY | O_DIRECTORY);
  if (fd == -1) {
    d->state = (errno == ENOENT || errno == ENOTDIR) ? 0 : 2;
    return;
  }
  buf = malloc(BUFLEN);         /* not on the stack: a page more of it per session */
  if (!buf) {
    d->state = 2;
    close(fd);
    return;
  }
  d->state = 1;
  for (;;) {
    long n = syscall(SYS_getdents64, fd, buf, BUFLEN);
    if (n == -1 && errno == EINTR) continue;
    if (n <= 0) {
      if (n < 0) d->state = 2;
      break;
    }
    if (list_names(d, buf, n) == -1) {
      d->state = 2;
      break;
    }
  }
  free(buf);
  close(fd);
}

static int dir_setup(void)
{
  static stralloc qmailctl;
  const char *q;
  int i;
  if (ncdirs >= 0) return ncdirs;
  q = env_get("QPSMTPD_CONFIG");
  ncdirs = 0;
  if (q && *q) cdirs[ncdirs++].path = q;
  cdirs[ncdirs++].path = "./config";
  {
    const char *qm = env_get("QMAIL");
    if (!qm || !*qm) qm = "/var/qmail";
    if (!stralloc_copys(&qmailctl, qm) || !stralloc_cats(&qmailctl, "/control") || !stralloc_0(&qmailctl)) {
      ncdirs = -1;
      return -1;
    }
  }
  cdirs[ncdirs++].path = qmailctl.s;
  for (i = 0; i < ncdirs; ++i) list_dir(&cdirs[i]);
  return ncdirs;
}

/* may NAME be in the directory? its first path component must be listed */
static int may_hold(const struct cdir *d, const char *name)
{
  size_t n = 0, i = 0;
  if (d->state != 1) return d->state;
  while (name[n] && name[n] != '/') ++n;
  while (i < d->names.len) {
    size_t l = (unsigned char)d->names.s[i];
    if (l == n && !memcmp(d->names.s + i + 1, name, n)) return 1;
    i += l + 1;
  }
  return 0;
}

/* 1: *fd is open on the first NAME found, path holds its path; 0: there
   is none (path is left as it was); -1: error in errno, path names the file */
int control_open(struct session *s, const char *name, stralloc *path, int *fd)
{
  int n = dir_setup(), i;
  if (n < 0) die_nomem(s);
  for (i = 0; i < n; ++i) {
    if (!may_hold(&cdirs[i], name)) continue;
    if (!stralloc_copys(path, cdirs[i].path) || !stralloc_append(path, "/")
        || !stralloc_cats(path, name) || !stralloc_0(path)) die_nomem(s);
    *fd = open_cloexec(path->s, O_RDONLY | O_NONBLOCK);
    if (*fd >= 0) return 1;
    if (errno != ENOENT && errno != ENOTDIR) return -1;
  }
  return 0;
}

/* opens the first NAME found; 1 with fd and path set, 0 none, dies on error */
static int control_find(struct session *s, const char *name, stralloc *path, int *fd)
{
  int r = control_open(s, name, path, fd);
  if (r < 0) die_control(s, path->s, strerror(errno));
  return r;
}

/* reads the file: into small (*x set to it, the length returned) when it
   fits, as control files mostly do, else into big */
static size_t read_all(struct session *s, int fd, const char *path, char *small, size_t smallsize,
                       stralloc *big, const char **x)
{
  size_t n = 0;
  for (;;) {                            /* the small buffer first: no allocation */
    ssize_t r = read(fd, small + n, smallsize - n);
    if (r == 0) { *x = small; return n; }
    if (r < 0) {
      if (errno == EINTR) continue;
      die_control(s, path, strerror(errno));
    }
    n += (size_t)r;
    if (n == smallsize) break;
  }
  if (!stralloc_copyb(big, small, n)) die_nomem(s);
  for (;;) {
    ssize_t r;
    if (big->len >= CONTROL_MAXSIZE) die_control(s, path, "file too large");
    if (!stralloc_readyplus(big, 8192)) die_nomem(s);
    r = read(fd, big->s + big->len, 8192);
    if (r == 0) break;
    if (r < 0) {
      if (errno == EINTR) continue;
      die_control(s, path, strerror(errno));
    }
    big->len += (size_t)r;
  }
  *x = big->s;
  return big->len;
}

static void parse_into(struct session *s, const char *path, int fd, stralloc *out,
                       struct control_at *at, int depth);

struct include_ctx { struct session *s; const char *path; stralloc *out; struct control_at *at; int depth; unsigned int line; };

/* "PATH line N" into where, \0-terminated; 0 out of memory */
static int where_is(stralloc *where, const char *path, unsigned int line)
{
  char num[FMT_ULONG];
  num[fmt_ulong(num, line)] = 0;
  return stralloc_copys(where, path) && stralloc_cats(where, " line ") && stralloc_cats(where, num)
         && stralloc_0(where);
}

static void die_line(struct session *s, const char *path, unsigned int line, const char *why)
{
  stralloc w = {0};
  if (!where_is(&w, path, line)) die_nomem(s);
  die_control(s, w.s, why);
}

static int include_file(void *ctx, const char *path, int err, int dir)
{
  struct include_ctx *c = ctx;
  int fd;
  if (!path) die_nomem(c->s);
  if (err && !dir) die_line(c->s, c->path, c->line, "$include names a file that cannot be read");
  if (err) die_control(c->s, path, strerror(err));
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die_control(c->s, path, strerror(errno));
  parse_into(c->s, path, fd, c->out, c->at, c->depth + 1);
  return 0;
}

static int include_cb(void *ctx, const char *arg, unsigned int line)
{
  struct include_ctx *c = ctx;
  c->line = line;
  if (c->depth >= INCLUDE_DEPTH) die_line(c->s, c->path, line, "$include nested too deeply (a loop?)");
  return include_walk(c->path, arg, "", include_file, c);
}

static void parse_into(struct session *s, const char *path, int fd, stralloc *out,
                       struct control_at *at, int depth)
{
  stralloc raw = {0};
  struct include_ctx c = { s, path, out, at, depth, 0 };
  unsigned int file = 0;
  char small[2048];
  const char *x;
  size_t len;
  int r;
  len = read_all(s, fd, path, small, sizeof small, &raw, &x);
  close(fd);
  if (at) {
    if (at->files.len > UINT_MAX) die_control(s, path, "too many files");
    file = (unsigned int)at->files.len;
    if (!stralloc_cats(&at->files, path) || !stralloc_0(&at->files)) die_nomem(s);
  }
  r = control_parse(x, len, out, at ? &at->lines : NULL, file, include_cb, &c);
  if (r == CONTROL_PARSE_NUL) die_control(s, path, "NUL byte in file");
  if (r) die_nomem(s);
  stralloc_free(&raw);
}

int control_readlist_at(struct session *s, const char *name, stralloc *sa, struct control_at *at)
{
  static stralloc path;                 /* not reentered: $include is parse_into's */
  int fd;
  sa->len = 0;
  if (at) at->files.len = at->lines.len = 0;
  if (!control_find(s, name, &path, &fd)) return 0;
  parse_into(s, path.s, fd, sa, at, 0);
  return 1;
}

int control_readnets(struct session *s, const char *name, stralloc *nets)
{
  stralloc l = {0};
  struct control_at at = { {0}, {0} };
  size_t i;
  nets->len = 0;
  if (!control_readlist_at(s, name, &l, &at)) return 0;
  for (i = 0; i < l.len; i += strlen(l.s + i) + 1) {
    char net[17];
    unsigned int bits;
    const char *e = l.s + i;
    size_t n = 0;
    while (e[n] && e[n] != ' ' && e[n] != '\t') ++n;
    if (!n) continue;
    if (!ipnet_parse(e, n, net, &bits)) die_control_at(s, &at, &l, e, name, "not an address or network");
    net[16] = (char)bits;
    if (!stralloc_catb(nets, net, 17)) die_nomem(s);
  }
  stralloc_free(&l);
  stralloc_free(&at.files);
  stralloc_free(&at.lines);
  return 1;
}

int control_readlist(struct session *s, const char *name, stralloc *sa)
{
  return control_readlist_at(s, name, sa, NULL);
}

/* the value's record: the last whose offset is at or before v, so that
   a value a plugin split in place is still found */
int control_where(const struct control_at *at, const stralloc *sa, const char *v, stralloc *where)
{
  size_t lo = 0, hi, off;
  struct control_line l;
  if (!at || !sa->s || v < sa->s || v >= sa->s + sa->len) return 0;
  off = (size_t)(v - sa->s);
  hi = at->lines.len / sizeof l;
  if (!hi) return 0;
  while (hi - lo > 1) {                 /* the records rise by offset */
    size_t mid = lo + (hi - lo) / 2;
    memcpy(&l, at->lines.s + mid * sizeof l, sizeof l);
    if (l.off <= off) lo = mid; else hi = mid;
  }
  memcpy(&l, at->lines.s + lo * sizeof l, sizeof l);
  if (l.off > off || l.file >= at->files.len) return 0;
  return where_is(where, at->files.s + l.file, l.line);
}

void die_control_at(struct session *s, const struct control_at *at, const stralloc *sa,
                    const char *v, const char *name, const char *why)
{
  stralloc w = {0};
  if (!control_where(at, sa, v, &w)) die_control(s, name, why);
  die_control(s, w.s, why);
}

int control_readline(struct session *s, const char *name, stralloc *sa)
{
  size_t l;
  if (!control_readlist(s, name, sa)) return 0;
  if (!sa->len) { if (!stralloc_0(sa)) die_nomem(s); return 1; }
  l = strlen(sa->s);
  sa->len = l + 1;          /* keep the first line and its \0 */
  return 1;
}

int control_readulong(struct session *s, const char *name, unsigned long *u,
                      unsigned long min, unsigned long max)
{
  stralloc sa = {0};
  struct control_at at = { {0}, {0} };
  unsigned long v;
  if (!control_readlist_at(s, name, &sa, &at)) return 0;
  if (!sa.len) die_control(s, at.files.s, "no value, not a number");
  if (!control_scanulong(sa.s, max, &v)) die_control_at(s, &at, &sa, sa.s, name, "not a number in range");
  if (v < min) die_control_at(s, &at, &sa, sa.s, name, min == 1 ? "must be at least 1" : "number too small");
  stralloc_free(&sa);
  stralloc_free(&at.files);
  stralloc_free(&at.lines);
  *u = v;
  return 1;
}

/* cdb maps: NAME.cdb, kept open once found */
static struct { const char *name; int fd; } cdbs[8];

int control_cdb_has(struct session *s, const char *name, const char *key, size_t keylen)
{
  struct cdb c;
  int i, fd = -1, r;
  for (i = 0; i < 8 && cdbs[i].name; ++i)
    if (!strcmp(cdbs[i].name, name)) { fd = cdbs[i].fd; break; }
  if (i == 8 || !cdbs[i].name) {
    stralloc n = {0};
    if (!stralloc_copys(&n, name) || !stralloc_cats(&n, ".cdb") || !stralloc_0(&n)) die_nomem(s);
    if (!control_find(s, n.s, &s->tmp, &fd)) fd = -1;
    if (i < 8) { cdbs[i].name = name; cdbs[i].fd = fd; }
    stralloc_free(&n);
  }
  if (fd < 0) return 0;
  cdb_init(&c, fd);
  r = cdb_find(&c, (const unsigned char *)key, keylen);
  cdb_free(&c);
  if (r < 0) die_control(s, name, "cdb read error");
  return r > 0;
}
