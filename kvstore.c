/* The key/value store behind greylisting.

   Directory store: one file per key, named by a 64-bit FNV-1a hash of the
   key under a subdirectory of its first two hex digits. A file holds
   "expiry-epoch\nkey\nvalue". An update takes an exclusive flock on the
   key's file, writes the new content to a temporary file and renames it
   over the old one, so a crash never leaves half an entry; a process that
   waited for the lock sees that the file it locked was replaced and
   starts again. Expired entries read as absent, and now and then an
   update removes the expired files of its subdirectory.

   Redis store: the same update as WATCH key, GET key, then MULTI, SET key
   value EX ttl, EXEC; EXEC answers nil when another client changed the
   key in between, and the update is tried again. */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <fmt.h>
#include <scan.h>
#include "clock.h"
#include "kvstore.h"
#include "netio.h"

#define RETRIES 20

void kv_init(struct kvstore *kv, int redis, const char *where, const char *prefix)
{
  kv->redis = redis;
  kv->where = where;
  kv->prefix = prefix ? prefix : "";
  kv->fd = -1;
  kv->in.s = 0; kv->in.len = 0; kv->in.a = 0;
  kv->inpos = 0;
}

void kv_close(struct kvstore *kv)
{
  if (kv->fd >= 0) close(kv->fd);
  kv->fd = -1;
}

static int fail(stralloc *err, const char *a, const char *b)
{
  int e = errno;
  if (stralloc_copys(err, a) && b) stralloc_cats(err, b);
  errno = e;
  return -1;
}

/* ---------------------------------------------------------------- directory */

static unsigned long long fnv(const char *x, size_t n)
{
  unsigned long long h = 14695981039346656037ULL;
  while (n--) { h ^= (unsigned char)*x++; h *= 1099511628211ULL; }
  return h;
}

static void hex64(char *out, unsigned long long h)
{
  static const char d[] = "0123456789abcdef";
  int i;
  for (i = 15; i >= 0; --i) { out[i] = d[h & 15]; h >>= 4; }
  out[16] = 0;
}

/* parses "expiry\nkey\nvalue": the value when the key matches and the
   entry has not expired */
static const char *entry_value(const char *buf, size_t len, const char *key, size_t keylen,
                               size_t *vlen, unsigned long long *expiry)
{
  const char *nl = memchr(buf, '\n', len);
  unsigned long long ex = 0;
  size_t n;
  if (!nl) return 0;
  n = scan_ulonglong(buf, &ex);
  if (!n || buf + n != nl) return 0;
  *expiry = ex;
  ++nl;
  len -= (size_t)(nl - buf);
  if (len < keylen + 1 || memcmp(nl, key, keylen) || nl[keylen] != '\n') return 0;
  if (ex <= (unsigned long long)time(0)) return 0;
  *vlen = len - keylen - 1;
  return nl + keylen + 1;
}

static int lock_until(int fd, long long deadline)
{
  for (;;) {
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) return 0;
    if (errno != EWOULDBLOCK && errno != EINTR) return -1;
    if (clock_ms() >= deadline) { errno = ETIMEDOUT; return -1; }
    clock_sleep_ms(2);
  }
}

/* removes the expired entries of one subdirectory, each under its lock */
static void dir_prune(const char *sub)
{
  DIR *d = opendir(sub);
  struct dirent *e;
  char path[4096], buf[64];
  if (!d) return;
  while ((e = readdir(d))) {
    size_t n = strlen(sub), m = strlen(e->d_name);
    int fd;
    ssize_t r;
    unsigned long long ex = 0;
    struct stat a, b;
    if (e->d_name[0] == '.' || n + m + 2 > sizeof path) continue;
    memcpy(path, sub, n); path[n] = '/'; memcpy(path + n + 1, e->d_name, m + 1);
    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) continue;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &a) == 0 && stat(path, &b) == 0
        && a.st_ino == b.st_ino && (r = read(fd, buf, sizeof buf - 1)) > 0) {
      buf[r] = 0;
      if (scan_ulonglong(buf, &ex) && ex <= (unsigned long long)time(0)) unlink(path);
    }
    close(fd);
  }
  closedir(d);
}

static int dir_update(struct kvstore *kv, const char *key, size_t keylen, kv_update_fn fn,
                      void *ctx, long long deadline, stralloc *err)
{
  char h[17], buf[KV_VALUE_MAX + 4096];
  stralloc path = {0}, tmp = {0}, nv = {0}, out = {0};
  size_t dirlen;
  int fd = -1, rc = -1, attempt;
  unsigned long ttl = 0;

  if (keylen > 2048 || memchr(key, '\n', keylen)) { errno = EINVAL; return fail(err, "bad key", 0); }
  hex64(h, fnv(key, keylen));
  if (!stralloc_copys(&path, kv->where) || !stralloc_cats(&path, "/")
      || !stralloc_catb(&path, h, 2)) goto nomem;
  dirlen = path.len;
  if (!stralloc_0(&path)) goto nomem;
  if (mkdir(path.s, 0700) == -1 && errno != EEXIST) { fail(err, "cannot create ", path.s); goto out; }
  path.len = dirlen;
  if (!stralloc_cats(&path, "/") || !stralloc_cats(&path, h) || !stralloc_0(&path)) goto nomem;

  for (attempt = 0; attempt < 1000; ++attempt) {
    struct stat a, b;
    ssize_t r;
    size_t len = 0, vlen = 0;
    unsigned long long ex = 0;
    const char *v;
    char num[40];
    int tfd;

    fd = open(path.s, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) { fail(err, "cannot open ", path.s); goto out; }
    if (lock_until(fd, deadline) == -1) { fail(err, "cannot lock ", path.s); goto out; }
    if (fstat(fd, &a) == -1 || stat(path.s, &b) == -1 || a.st_ino != b.st_ino) {
      close(fd); fd = -1;       /* replaced or removed while we waited */
      continue;
    }
    for (;;) {
      r = read(fd, buf + len, sizeof buf - len);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) { fail(err, "cannot read ", path.s); goto out; }
      if (r == 0 || (len += (size_t)r) == sizeof buf) break;
    }
    v = entry_value(buf, len, key, keylen, &vlen, &ex);
    nv.len = 0;
    if (!fn(ctx, v, v ? vlen : 0, &nv, &ttl)) {
      /* nothing to store: a file this call created empty goes again */
      if (!len) unlink(path.s);
      rc = 0;
      goto out;
    }
    if (nv.len > KV_VALUE_MAX) { errno = EINVAL; fail(err, "value too long", 0); goto out; }
    out.len = 0;
    if (!stralloc_catb(&out, num, fmt_ulonglong(num, (unsigned long long)time(0) + ttl))
        || !stralloc_append(&out, "\n") || !stralloc_catb(&out, key, keylen)
        || !stralloc_append(&out, "\n") || !stralloc_cat(&out, &nv)) goto nomem;
    tmp.len = 0;
    if (!stralloc_copyb(&tmp, path.s, path.len - 1) || !stralloc_cats(&tmp, ".")
        || !stralloc_catb(&tmp, num, fmt_ulong(num, (unsigned long)getpid())) || !stralloc_0(&tmp))
      goto nomem;
    tfd = open(tmp.s, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (tfd < 0) { fail(err, "cannot create ", tmp.s); goto out; }
    if (write(tfd, out.s, out.len) != (ssize_t)out.len || close(tfd) == -1) {
      fail(err, "cannot write ", tmp.s);
      unlink(tmp.s);
      goto out;
    }
    if (rename(tmp.s, path.s) == -1) { fail(err, "cannot rename ", tmp.s); unlink(tmp.s); goto out; }
    rc = 0;
    break;
  }
  if (rc == -1) fail(err, "too many retries on ", path.s);
  else if ((fnv(key, keylen) >> 20 & 255) == (unsigned long long)(time(0) & 255)) {
    path.len = dirlen;
    if (stralloc_0(&path)) dir_prune(path.s);
  }
  goto out;
nomem:
  errno = ENOMEM;
  fail(err, "out of memory", 0);
out:
  if (fd >= 0) close(fd);      /* releases the lock */
  stralloc_free(&path); stralloc_free(&tmp); stralloc_free(&nv); stralloc_free(&out);
  return rc;
}

/* ---------------------------------------------------------------- Redis */

static int resp_cmd(stralloc *o, int argc, const char *const *argv, const size_t *len)
{
  char num[24];
  int i;
  if (!stralloc_cats(o, "*") || !stralloc_catb(o, num, fmt_ulong(num, (unsigned long)argc))
      || !stralloc_cats(o, "\r\n")) return 0;
  for (i = 0; i < argc; ++i)
    if (!stralloc_cats(o, "$") || !stralloc_catb(o, num, fmt_ulong(num, len[i]))
        || !stralloc_cats(o, "\r\n") || !stralloc_catb(o, argv[i], len[i]) || !stralloc_cats(o, "\r\n"))
      return 0;
  return 1;
}

/* makes sure n bytes are buffered from inpos */
static int r_need(struct kvstore *kv, size_t n, long long deadline)
{
  while (kv->in.len - kv->inpos < n) {
    char buf[4096];
    ssize_t r;
    if (kv->in.len > 65536) { errno = EPROTO; return -1; }
    r = net_read(kv->fd, buf, sizeof buf, deadline);
    if (r < 0) return -1;
    if (r == 0) { errno = ECONNRESET; return -1; }
    if (!stralloc_catb(&kv->in, buf, (size_t)r)) return -1;
  }
  return 0;
}

/* one line without CRLF */
static int r_line(struct kvstore *kv, const char **l, size_t *n, long long deadline)
{
  for (;;) {
    const char *s = kv->in.s + kv->inpos;
    size_t have = kv->in.len - kv->inpos, i;
    for (i = 0; i + 1 < have; ++i)
      if (s[i] == '\r' && s[i + 1] == '\n') { *l = s; *n = i; kv->inpos += i + 2; return 0; }
    if (r_need(kv, have + 1, deadline) == -1) return -1;
  }
}

/* One reply. type: the first byte; for '$' the bulk string (NULL for nil)
   in val; for '*' the count in *count (-1 for nil) and its elements are
   read with further calls. */
static int r_reply(struct kvstore *kv, char *type, const char **val, size_t *vlen, long *count,
                   long long deadline)
{
  const char *l;
  size_t n, k;
  long num = 0;
  int neg = 0;
  if (r_line(kv, &l, &n, deadline) == -1) return -1;
  if (!n) { errno = EPROTO; return -1; }
  *type = l[0];
  *val = l + 1; *vlen = n - 1;
  if (l[0] == '+' || l[0] == '-') return 0;
  k = 1;
  if (k < n && l[k] == '-') { neg = 1; ++k; }
  if (k == n) { errno = EPROTO; return -1; }
  for (; k < n; ++k) {
    if (l[k] < '0' || l[k] > '9' || num > 100000000) { errno = EPROTO; return -1; }
    num = num * 10 + (l[k] - '0');
  }
  if (neg) num = -num;
  if (l[0] == ':') { *count = num; return 0; }
  if (l[0] == '*') { *count = num; return 0; }
  if (l[0] != '$') { errno = EPROTO; return -1; }
  if (num < 0) { *val = 0; *vlen = 0; return 0; }
  if ((size_t)num > KV_VALUE_MAX + 64) { errno = EPROTO; return -1; }
  {
    size_t off;
    if (r_need(kv, (size_t)num + 2, deadline) == -1) return -1;
    off = kv->inpos;
    kv->inpos += (size_t)num + 2;
    *val = kv->in.s + off;
    *vlen = (size_t)num;
  }
  return 0;
}

static int r_expect(struct kvstore *kv, char want, long long deadline, stralloc *err)
{
  char t; const char *v; size_t n; long c;
  if (r_reply(kv, &t, &v, &n, &c, deadline) == -1) return fail(err, "redis: read error", 0);
  if (t == '-') {
    stralloc_copys(err, "redis: ");
    stralloc_catb(err, v, n > 200 ? 200 : n);
    return -1;
  }
  if (t != want) { errno = EPROTO; return fail(err, "redis: unexpected reply", 0); }
  return 0;
}

static int redis_update(struct kvstore *kv, const char *rawkey, size_t rawlen, kv_update_fn fn,
                        void *ctx, long long deadline, stralloc *err)
{
  stralloc o = {0}, nv = {0}, old = {0}, k = {0};
  const char *key;
  size_t keylen;
  int attempt, rc = -1;
  unsigned long ttl = 0;

  if (!stralloc_copys(&k, kv->prefix) || !stralloc_catb(&k, rawkey, rawlen)) goto nomem;
  key = k.s;
  keylen = k.len;
  if (kv->fd < 0) {
    kv->fd = net_connect(kv->where, deadline);
    if (kv->fd < 0) { fail(err, "redis: cannot connect to ", kv->where); stralloc_free(&k); return -1; }
  }
  for (attempt = 0; attempt < RETRIES; ++attempt) {
    const char *a[5];
    size_t l[5];
    char t, num[24];
    const char *v;
    size_t vn;
    long c;
    int store;

    kv->in.len = 0; kv->inpos = 0;
    o.len = 0;
    a[0] = "WATCH"; l[0] = 5; a[1] = key; l[1] = keylen;
    if (!resp_cmd(&o, 2, a, l)) goto nomem;
    a[0] = "GET";   l[0] = 3;
    if (!resp_cmd(&o, 2, a, l)) goto nomem;
    if (net_write_all(kv->fd, o.s, o.len, deadline) == -1) { fail(err, "redis: write error", 0); goto out; }
    if (r_expect(kv, '+', deadline, err) == -1) goto out;
    if (r_reply(kv, &t, &v, &vn, &c, deadline) == -1) { fail(err, "redis: read error", 0); goto out; }
    if (t != '$') { errno = EPROTO; fail(err, "redis: unexpected reply to GET", 0); goto out; }
    if (v && !stralloc_copyb(&old, v, vn)) goto nomem;
    nv.len = 0;
    store = fn(ctx, v ? old.s : 0, v ? old.len : 0, &nv, &ttl);
    o.len = 0;
    if (!store) {
      a[0] = "UNWATCH"; l[0] = 7;
      if (!resp_cmd(&o, 1, a, l)) goto nomem;
      if (net_write_all(kv->fd, o.s, o.len, deadline) == -1) { fail(err, "redis: write error", 0); goto out; }
      if (r_expect(kv, '+', deadline, err) == -1) goto out;
      rc = 0;
      goto out;
    }
    if (nv.len > KV_VALUE_MAX) { errno = EINVAL; fail(err, "value too long", 0); goto out; }
    a[0] = "MULTI"; l[0] = 5;
    if (!resp_cmd(&o, 1, a, l)) goto nomem;
    a[0] = "SET"; l[0] = 3; a[1] = key; l[1] = keylen; a[2] = nv.s; l[2] = nv.len;
    a[3] = "EX"; l[3] = 2; a[4] = num; l[4] = fmt_ulong(num, ttl ? ttl : 1);
    if (!resp_cmd(&o, 5, a, l)) goto nomem;
    a[0] = "EXEC"; l[0] = 4;
    if (!resp_cmd(&o, 1, a, l)) goto nomem;
    if (net_write_all(kv->fd, o.s, o.len, deadline) == -1) { fail(err, "redis: write error", 0); goto out; }
    if (r_expect(kv, '+', deadline, err) == -1) goto out;      /* OK to MULTI */
    if (r_expect(kv, '+', deadline, err) == -1) goto out;      /* QUEUED */
    if (r_reply(kv, &t, &v, &vn, &c, deadline) == -1) { fail(err, "redis: read error", 0); goto out; }
    if (t == '-') { fail(err, "redis: EXEC failed", 0); goto out; }
    if (t != '*') { errno = EPROTO; fail(err, "redis: unexpected reply to EXEC", 0); goto out; }
    if (c < 0) continue;                 /* the key changed under us: again */
    if (c != 1 || r_expect(kv, '+', deadline, err) == -1) { fail(err, "redis: SET failed", 0); goto out; }
    rc = 0;
    goto out;
  }
  fail(err, "redis: too many concurrent updates of one key", 0);
  goto out;
nomem:
  errno = ENOMEM;
  fail(err, "out of memory", 0);
out:
  if (rc == -1) kv_close(kv);   /* never reuse a connection in an unknown state */
  stralloc_free(&o); stralloc_free(&nv); stralloc_free(&old); stralloc_free(&k);
  return rc;
}

int kv_update(struct kvstore *kv, const char *key, size_t keylen, kv_update_fn fn, void *ctx,
              long long deadline, stralloc *err)
{
  if (kv->redis) return redis_update(kv, key, keylen, fn, ctx, deadline, err);
  return dir_update(kv, key, keylen, fn, ctx, deadline, err);
}
