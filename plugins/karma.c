/* karma: remembers how each client IP behaved, as Perl qpsmtpd's
   plugins/karma, on the greylisting store (a directory, or Redis shared
   by several MX hosts). An entry is "penalty_start:naughty:nice:connects".

   At connect the connection note karma is set to 0 and karma_history to
   nice - naughty; a client in the penalty box (sent to it less than
   penalty_days ago) is refused: "You were naughty. You are penalized for
   N more days." (reject 1, the default, with reject_type disconnect: 550
   and the connection is closed; reject 0 only logs). Relay clients and
   whitelisted hosts are not checked.

   Other plugins lower or raise the note karma (spamassassin and
   virus/clamdscan lower it for spam and viruses, raise it for ham); a
   connection note naughty (Perl's "reject naughty") lowers it too. At
   disconnect a karma of -strikes or less counts a naughty connection
   and, when nice - naughty <= -negative, starts a penalty; one of
   strikes or more counts a nice connection; one between is neutral (the
   visit is counted, nothing else).

   Arguments: negative N (1), strikes N (1: every point counts; Perl's
   default is 3), penalty_days D (1; decimals allowed, e.g.
   0.5), reject 0|1 (1), reject_type (disconnect), db_dir DIR
   (/var/lib/qpsmtpd/karma), redis ADDR, timeout MS (3000). Entries live
   for 90 days after their last update. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fmt.h>
#include <scan.h>
#include <str.h>
#include "plugin.h"
#include "lib/hostport.h"
#include "kvstore.h"
#include "netio.h"

#define PLUGIN "karma"
#define TTL (90UL * 86400)

struct karma {
  unsigned long negative;
  unsigned long strikes;
  unsigned long penalty;        /* seconds */
  struct reject rej;
  const char *db_dir;
  const char *redis;
  unsigned long timeout;
  struct kvstore kv;
  int kv_ready;
};

struct entry { unsigned long start, naughty, nice, connects; };

/* "1.5" days as seconds */
static int scan_days(const char *v, unsigned long *secs)
{
  unsigned long d = 0, frac = 0, scale = 1;
  size_t i = 0;
  for (; v[i] >= '0' && v[i] <= '9'; ++i) { d = d * 10 + (unsigned long)(v[i] - '0'); if (d > 36500) return 0; }
  if (!i) return 0;
  if (v[i] == '.')
    for (++i; v[i] >= '0' && v[i] <= '9'; ++i) if (scale < 1000000) { frac = frac * 10 + (unsigned long)(v[i] - '0'); scale *= 10; }
  if (v[i]) return 0;
  *secs = d * 86400 + frac * 86400 / scale;
  return *secs > 0;
}

static int karma_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct karma *k = calloc(1, sizeof *k);
  int i;
  if (!k) return arg_error(err, "out of memory", 0);
  k->negative = 1;
  k->strikes = 1;
  k->penalty = 86400;
  k->rej.mode = REJECT_YES;
  k->rej.type = "disconnect";
  k->db_dir = "/var/lib/qpsmtpd/karma";
  k->timeout = 3000;
  for (i = 0; i < argc; i += 2) {
    const char *key = argv[i], *v;
    size_t n;
    int r;
    if (i + 1 >= argc) return arg_error(err, "missing value after ", key);
    v = argv[i + 1];
    r = reject_arg(&k->rej, key, v, err);
    if (r < 0) return 0;
    if (r) continue;
    if (str_equal(key, "negative")) {
      n = scan_ulong(v, &k->negative);
      if (!n || v[n] || !k->negative || k->negative > 1000000) return arg_error(err, "negative takes a number, not ", v);
    } else if (str_equal(key, "strikes")) {
      n = scan_ulong(v, &k->strikes);
      if (!n || v[n] || !k->strikes || k->strikes > 1000) return arg_error(err, "strikes takes a number from 1 to 1000, not ", v);
    } else if (str_equal(key, "penalty_days")) {
      if (!scan_days(v, &k->penalty)) return arg_error(err, "penalty_days takes a number of days, not ", v);
    } else if (str_equal(key, "db_dir")) {
      if (v[0] != '/') return arg_error(err, "db_dir must be an absolute path: ", v);
      k->db_dir = v;
    } else if (str_equal(key, "redis")) {
      /* Perl's "redis HOST": Redis's port 6379 */
      if (!(k->redis = hostport_default(v, 6379)))
        return arg_error(err, "redis takes IP, IP:port, [IPv6]:port, localhost[:port] or an absolute socket path, not ", v);
    } else if (str_equal(key, "timeout")) {
      n = scan_ulong(v, &k->timeout);
      if (!n || v[n] || !k->timeout || k->timeout > 600000) return arg_error(err, "timeout takes milliseconds, not ", v);
    } else
      return arg_error(err, "unknown argument ", key);
  }
  *self = k;
  return 1;
}

static void parse(const char *x, size_t len, struct entry *e)
{
  unsigned long *f[4];
  const char *end = x + len;
  int i;
  f[0] = &e->start; f[1] = &e->naughty; f[2] = &e->nice; f[3] = &e->connects;
  memset(e, 0, sizeof *e);
  if (!x) return;
  for (i = 0; i < 4 && x < end; ++i) {
    while (x < end && *x >= '0' && *x <= '9') { *f[i] = *f[i] * 10 + (unsigned long)(*x - '0'); ++x; }
    if (x < end && *x == ':') ++x;
  }
}

static int format(stralloc *sa, const struct entry *e)
{
  char num[24];
  const unsigned long *f[4];
  int i;
  f[0] = &e->start; f[1] = &e->naughty; f[2] = &e->nice; f[3] = &e->connects;
  sa->len = 0;
  for (i = 0; i < 4; ++i) {
    size_t n = fmt_ulong(num, *f[i]);
    if ((i && !stralloc_append(sa, ":")) || !stralloc_catb(sa, num, n)) return 0;
  }
  return 1;
}

struct op {
  struct karma *k;
  int disconnect;
  long karma;                   /* at disconnect */
  time_t now;
  struct entry e;               /* as found (connect) or as stored (disconnect) */
  int found, penalized, sent_to_box;
};

static int update(void *ctx, const char *old, size_t oldlen, stralloc *nv, unsigned long *ttl)
{
  struct op *o = ctx;
  parse(old, oldlen, &o->e);
  o->found = old != 0;
  *ttl = TTL;
  if (!o->disconnect) {
    /* connect: only a penalized client's visit is recorded */
    if (!o->e.start || (unsigned long)o->now - o->e.start >= o->k->penalty) return 0;
    o->penalized = 1;
    o->e.connects++;
    return format(nv, &o->e);
  }
  if (o->karma <= -(long)o->k->strikes) {
    o->e.naughty++;
    if ((long)o->e.nice - (long)o->e.naughty <= -(long)o->k->negative) {
      o->e.start = (unsigned long)o->now;
      o->sent_to_box = 1;
    }
  } else if (o->karma >= (long)o->k->strikes)
    o->e.nice++;
  o->e.connects++;
  return format(nv, &o->e);
}

static int run(struct session *s, struct karma *k, struct op *o)
{
  stralloc err = {0};
  const char *ip = session_remote_ip(s);
  int r;
  if (!k->kv_ready) {
    kv_init(&k->kv, k->redis != 0, k->redis ? k->redis : k->db_dir, "karma:");
    k->kv_ready = 1;
  }
  o->k = k;
  o->now = time(0);
  r = kv_update(&k->kv, ip, strlen(ip), update, o, net_deadline(k->timeout), &err);
  if (r == -1 && stralloc_0(&err)) qlogm(s, LOGERROR, PLUGIN, "skip, store error: ", err.s);
  stralloc_free(&err);
  return r;
}

static int karma_connect(struct session *s, void *self, struct msg_args *a)
{
  struct karma *k = self;
  struct op o;
  char num[24], summary[96], left[32];
  long hist;
  unsigned long rem;
  size_t n;

  note_conn_set(s, "karma", "0");
  if (session_immune(s, PLUGIN)) return DECLINED;
  memset(&o, 0, sizeof o);
  if (run(s, k, &o) == -1) return DECLINED;
  if (!o.found) { qlog(s, LOGINFO, PLUGIN, "pass, no record"); return DECLINED; }
  hist = (long)o.e.nice - (long)o.e.naughty;
  n = 0;
  if (hist < 0) num[n++] = '-';
  n += fmt_ulong(num + n, (unsigned long)(hist < 0 ? -hist : hist));
  num[n] = 0;
  note_conn_set(s, "karma_history", num);
  n = fmt_ulong(summary, o.e.naughty);
  n += str_copy(summary + n, " naughty, ");
  n += fmt_ulong(summary + n, o.e.nice);
  n += str_copy(summary + n, " nice, ");
  n += fmt_ulong(summary + n, o.e.connects);
  n += str_copy(summary + n, " connects");
  summary[n] = 0;
  if (!o.penalized) { qlogm(s, LOGINFO, PLUGIN, "pass, no penalty (", summary, ")"); return DECLINED; }
  /* what is left of the penalty, in days with two decimals */
  rem = k->penalty - ((unsigned long)o.now - o.e.start);
  rem = (rem * 100 + 86399) / 86400;
  n = fmt_ulong(left, rem / 100);
  left[n++] = '.';
  left[n++] = (char)('0' + rem / 10 % 10);
  left[n++] = (char)('0' + rem % 10);
  left[n] = 0;
  {
    stralloc m = {0}, l = {0};
    int rc;
    if (!stralloc_copys(&m, "You were naughty. You are penalized for ") || !stralloc_cats(&m, left)
        || !stralloc_cats(&m, " more days.") || !stralloc_0(&m)
        || !stralloc_copys(&l, summary) || !stralloc_0(&l)) {
      return hook_nomem(a->msg);
    }
    rc = reject_get(s, &k->rej, DENY_DISCONNECT, PLUGIN, m.s, l.s, a->msg);
    stralloc_free(&m);
    stralloc_free(&l);
    return rc;
  }
}

static int karma_disconnect(struct session *s, void *self, struct msg_args *a)
{
  struct karma *k = self;
  const char *note = note_conn_get(s, "karma");
  struct op o;
  long v = 0;
  (void)a;
  if (!note) return DECLINED;         /* connect did not run: nothing to judge */
  if (note[0] == '-') { unsigned long u; if (scan_ulong(note + 1, &u)) v = -(long)u; }
  else { unsigned long u; if (scan_ulong(note, &u)) v = (long)u; }
  if (note_true(note_conn_get(s, "naughty")) && v > -(long)k->strikes) v = -(long)k->strikes;
  if (!v) { qlog(s, LOGDEBUG, PLUGIN, "no karma"); return DECLINED; }
  if (session_relay_client(s) && v < 0) return DECLINED;
  memset(&o, 0, sizeof o);
  o.disconnect = 1;
  o.karma = v;
  if (run(s, k, &o) == -1) return DECLINED;
  qlog(s, LOGINFO, PLUGIN, o.sent_to_box ? "negative, sent to the penalty box"
       : v <= -(long)k->strikes ? "negative" : v >= (long)k->strikes ? "positive" : "neutral");
  return DECLINED;
}

const struct plugin plugin_karma = {
  .name = PLUGIN,
  .init = karma_init,
  .connect = karma_connect, .disconnect = karma_disconnect,
};
