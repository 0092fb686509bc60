/* Limits per client across connections, on the shared store.

   Concurrency: a key's value is a list of slots "host:pid:start:expiry"
   separated by commas: host is a hash of this host's name (hosts sharing
   a Redis must have distinct names), start the process's start time
   (/proc/PID/stat, clock ticks since boot; 0 without /proc), expiry the
   lease's end (epoch seconds). Every update first drops the dead slots:
   past their lease, or of this host with no process of that pid and
   start time (a session killed with -9 frees its slot at the next
   update, not when its lease ends; the start time keeps a reused pid
   from holding a dead session's slot). A slot of another host lives
   until its lease ends: a host that dies with sessions open holds them
   at most that long. A session that runs longer renews its lease.

   Rate: GCRA (the "generic cell rate algorithm"): the key holds the
   theoretical arrival time in ms; a connection is admitted when that time
   is less than window - window/count ahead of now, and pushes it by
   window/count.

   Counters: "count:first" (epoch seconds), living window seconds from the
   first failure. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <fmt.h>
#include <ip4.h>
#include <ip6.h>
#include <scan.h>
#include <str.h>
#include "ipnet.h"
#include "climit.h"

enum { OP_ACQUIRE, OP_RELEASE, OP_RENEW };

struct self { unsigned long host, pid, start; int known; };

static unsigned long fnv32(const char *x, size_t n)
{
  unsigned long h = 2166136261UL;
  while (n--) { h ^= (unsigned char)*x++; h = (h * 16777619UL) & 0xffffffffUL; }
  return h;
}

/* field 22 of /proc/PID/stat: the start time; 0 when it cannot be read */
static unsigned long start_time(unsigned long pid)
{
  char path[48], buf[1024];
  size_t n = 0, i, f;
  ssize_t r;
  int fd;
  unsigned long st = 0;
  n = str_copy(path, "/proc/");
  n += fmt_ulong(path + n, pid);
  str_copy(path + n, "/stat");
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  r = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (r <= 0) return 0;
  n = (size_t)r;
  buf[n] = 0;
  for (i = n; i > 0 && buf[i - 1] != ')'; --i) ;
  if (!i) return 0;
  /* after ") ": field 3 (state) onwards */
  for (f = 3; i < n && f < 22; ++i) if (buf[i] == ' ') ++f;
  if (f != 22 || !scan_ulong(buf + i, &st)) return 0;
  return st;
}

static const struct self *me(void)
{
  static struct self s;
  if (!s.known) {
    struct utsname u;
    if (uname(&u) == 0) s.host = fnv32(u.nodename, strlen(u.nodename));
    s.pid = (unsigned long)getpid();
    s.start = start_time(s.pid);
    s.known = 1;
  }
  return &s;
}

struct slot { unsigned long host, pid, start, expiry; };

/* one slot "h:p:s:e" (h in hex); 0 when malformed */
static int slot_parse(const char *x, size_t n, struct slot *sl)
{
  size_t i = 0, k;
  unsigned long v[4];
  int f;
  for (f = 0; f < 4; ++f) {
    if (f == 0) {
      unsigned long h = 0;
      for (k = 0; i < n && k < 8; ++i, ++k) {
        char c = x[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) break;
        h = h << 4 | (unsigned long)d;
      }
      if (!k) return 0;
      v[0] = h;
    } else {
      size_t m;
      if (i >= n || x[i] < '0' || x[i] > '9') return 0;
      for (m = i; m < n && x[m] >= '0' && x[m] <= '9'; ++m) ;
      if (m - i > 19) return 0;
      v[f] = 0;
      for (; i < m; ++i) v[f] = v[f] * 10 + (unsigned long)(x[i] - '0');
    }
    if (f < 3) { if (i >= n || x[i] != ':') return 0; ++i; }
  }
  if (i != n) return 0;
  sl->host = v[0]; sl->pid = v[1]; sl->start = v[2]; sl->expiry = v[3];
  return 1;
}

static int slot_fmt(stralloc *sa, const struct slot *sl)
{
  char b[96];
  size_t n = fmt_xlong(b, sl->host);
  b[n++] = ':';
  n += fmt_ulong(b + n, sl->pid);
  b[n++] = ':';
  n += fmt_ulong(b + n, sl->start);
  b[n++] = ':';
  n += fmt_ulong(b + n, sl->expiry);
  return (!sa->len || stralloc_append(sa, ",")) && stralloc_catb(sa, b, n);
}

static int slot_live(const struct slot *sl, unsigned long now)
{
  const struct self *m = me();
  if (sl->expiry <= now) return 0;
  if (sl->host != m->host) return 1;
  if (sl->start) return start_time(sl->pid) == sl->start;
  /* no /proc when the slot was taken: the pid alone */
  return kill((pid_t)sl->pid, 0) == 0 || errno == EPERM;
}

struct slots_op {
  int op;
  unsigned long limit, lease, now;
  unsigned long live;           /* others' live slots */
  int taken, mine;
};

static int slots_update(void *ctx, const char *old, size_t oldlen, stralloc *nv, unsigned long *ttl)
{
  struct slots_op *o = ctx;
  const struct self *m = me();
  unsigned long maxexp = 0;
  size_t i = 0;
  int changed = 0;
  struct slot mine;

  o->live = 0;
  nv->len = 0;
  while (old && i < oldlen) {
    size_t j = i;
    struct slot sl;
    while (j < oldlen && old[j] != ',') ++j;
    if (!slot_parse(old + i, j - i, &sl) || !slot_live(&sl, o->now)) changed = 1;
    else if (sl.host == m->host && sl.pid == m->pid && sl.start == m->start) {
      o->mine = 1;
      if (o->op == OP_RENEW) { sl.expiry = o->now + o->lease; changed = 1; }
      if (o->op == OP_RELEASE) changed = 1;
      else {
        if (!slot_fmt(nv, &sl)) return 0;
        if (sl.expiry > maxexp) maxexp = sl.expiry;
      }
    } else if (o->live < CLIMIT_SLOTS_MAX) {
      ++o->live;
      if (!slot_fmt(nv, &sl)) return 0;
      if (sl.expiry > maxexp) maxexp = sl.expiry;
    } else
      changed = 1;
    i = j + 1;
  }
  if (o->op == OP_ACQUIRE && !o->mine && o->live < o->limit) {
    mine.host = m->host; mine.pid = m->pid; mine.start = m->start; mine.expiry = o->now + o->lease;
    if (!slot_fmt(nv, &mine)) return 0;
    if (mine.expiry > maxexp) maxexp = mine.expiry;
    o->taken = 1;
    changed = 1;
  }
  if (o->op == OP_ACQUIRE && o->mine) o->taken = 1;
  *ttl = maxexp > o->now ? maxexp - o->now : 1;
  return changed;
}

static int slots_run(struct kvstore *kv, const char *key, size_t keylen, struct slots_op *o,
                     long long deadline, stralloc *err)
{
  o->now = (unsigned long)time(0);
  return kv_update(kv, key, keylen, slots_update, o, deadline, err);
}

int climit_acquire(struct kvstore *kv, const char *key, size_t keylen, unsigned long limit,
                   unsigned long lease, long long deadline, unsigned long *live, stralloc *err)
{
  struct slots_op o;
  memset(&o, 0, sizeof o);
  o.op = OP_ACQUIRE;
  o.limit = limit;
  o.lease = lease;
  if (slots_run(kv, key, keylen, &o, deadline, err) == -1) return -1;
  *live = o.live;
  return o.taken;
}

int climit_release(struct kvstore *kv, const char *key, size_t keylen, long long deadline, stralloc *err)
{
  struct slots_op o;
  memset(&o, 0, sizeof o);
  o.op = OP_RELEASE;
  return slots_run(kv, key, keylen, &o, deadline, err);
}

int climit_renew(struct kvstore *kv, const char *key, size_t keylen, unsigned long lease,
                 long long deadline, stralloc *err)
{
  struct slots_op o;
  memset(&o, 0, sizeof o);
  o.op = OP_RENEW;
  o.lease = lease;
  return slots_run(kv, key, keylen, &o, deadline, err);
}

/* ---------------------------------------------------------------- rate */

struct rate_op { unsigned long long now, interval, tolerance; int admitted; };

static unsigned long long now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (unsigned long long)ts.tv_sec * 1000 + (unsigned long long)ts.tv_nsec / 1000000;
}

static int rate_update(void *ctx, const char *old, size_t oldlen, stralloc *nv, unsigned long *ttl)
{
  struct rate_op *o = ctx;
  unsigned long long tat = 0;
  char b[24] = {0};
  if (old && oldlen < 21) {
    size_t i;
    for (i = 0; i < oldlen && old[i] >= '0' && old[i] <= '9'; ++i) tat = tat * 10 + (unsigned long long)(old[i] - '0');
    if (i != oldlen) tat = 0;
  }
  if (tat < o->now) tat = o->now;
  if (tat - o->now > o->tolerance) { o->admitted = 0; return 0; }
  o->admitted = 1;
  tat += o->interval;
  nv->len = 0;
  {
    size_t n = fmt_ulonglong(b, tat);
    if (!stralloc_catb(nv, b, n)) return 0;
  }
  *ttl = (unsigned long)((tat - o->now) / 1000 + 1);
  return 1;
}

int climit_rate(struct kvstore *kv, const char *key, size_t keylen, unsigned long count,
                unsigned long window, long long deadline, stralloc *err)
{
  struct rate_op o;
  unsigned long long w = (unsigned long long)window * 1000;
  o.now = now_ms();
  o.interval = w / count;
  if (!o.interval) o.interval = 1;
  o.tolerance = w - o.interval;
  o.admitted = 0;
  if (kv_update(kv, key, keylen, rate_update, &o, deadline, err) == -1) return -1;
  return o.admitted;
}

/* ---------------------------------------------------------------- counters */

struct count_op { int add; unsigned long window, now, count; };

static int count_update(void *ctx, const char *old, size_t oldlen, stralloc *nv, unsigned long *ttl)
{
  struct count_op *o = ctx;
  unsigned long c = 0, first = 0;
  char b[48];
  size_t n;
  if (old) {
    size_t i = 0;
    for (; i < oldlen && old[i] >= '0' && old[i] <= '9' && c < 100000000; ++i) c = c * 10 + (unsigned long)(old[i] - '0');
    if (i < oldlen && old[i] == ':') {
      for (++i; i < oldlen && old[i] >= '0' && old[i] <= '9' && first < 10000000000UL; ++i)
        first = first * 10 + (unsigned long)(old[i] - '0');
    }
    if (i != oldlen || first > o->now || o->now - first >= o->window) c = 0, first = 0;
  }
  if (!c) first = o->now;
  if (!o->add) { o->count = c; return 0; }
  if (c < 100000000) ++c;
  o->count = c;
  n = fmt_ulong(b, c);
  b[n++] = ':';
  n += fmt_ulong(b + n, first);
  nv->len = 0;
  if (!stralloc_catb(nv, b, n)) return 0;
  *ttl = o->window - (o->now - first);
  if (!*ttl) *ttl = 1;
  return 1;
}

int climit_count(struct kvstore *kv, const char *key, size_t keylen, int add, unsigned long window,
                 long long deadline, unsigned long *count, stralloc *err)
{
  struct count_op o;
  o.add = add;
  o.window = window;
  o.now = (unsigned long)time(0);
  o.count = 0;
  if (kv_update(kv, key, keylen, count_update, &o, deadline, err) == -1) return -1;
  *count = o.count;
  return 0;
}

/* ---------------------------------------------------------------- helpers */

int climit_netkey(stralloc *key, const char *prefix, const char *ip, unsigned int bits4, unsigned int bits6)
{
  char a[16], t[IPNET_FMT6 + 8];
  size_t len = str_len(ip), n, i;
  unsigned int bits;
  int v4 = ip[str_chr(ip, ':')] == 0;
  if (v4) {
    if (!len || scan_ip4(ip, a) != len) return 0;
    bits = bits4;
    for (i = 0; i < 4; ++i) {
      unsigned int keep = bits >= 8 * (i + 1) ? 8 : bits > 8 * i ? bits - 8 * (unsigned int)i : 0;
      a[i] = (char)((unsigned char)a[i] & (unsigned char)(0xff00 >> keep));
    }
    n = fmt_ip4(t, a);
  } else {
    if (!len || scan_ip6(ip, a) != len) return 0;
    bits = bits6;
    for (i = 0; i < 16; ++i) {
      unsigned int keep = bits >= 8 * (i + 1) ? 8 : bits > 8 * i ? bits - 8 * (unsigned int)i : 0;
      a[i] = (char)((unsigned char)a[i] & (unsigned char)(0xff00 >> keep));
    }
    n = ipnet_fmt6(t, a);
  }
  t[n++] = '/';
  n += fmt_ulong(t + n, bits);
  return stralloc_copys(key, prefix) && stralloc_catb(key, t, n);
}

int climit_scan_rate(const char *v, unsigned long *count, unsigned long *window)
{
  size_t n = scan_ulong(v, count), m;
  if (!n || v[n] != '/' || !*count || *count > 1000000) return 0;
  m = scan_ulong(v + n + 1, window);
  if (!m || v[n + 1 + m] || !*window || *window > 31536000) return 0;
  return 1;
}
