/* limits: limits per client across connections, on a store shared by
   the sessions of one host (a directory) or of several hosts (Redis), as
   greylisting and karma keep theirs:
     concurrency N    sessions at once from one IP (0: no limit)
     per_net N        sessions at once from one network: net4 BITS (24)
                      for IPv4, net6 BITS (64) for IPv6
     rate C/W         connections from one IP: C in W seconds (GCRA, so
                      a burst of C, then one each W/C seconds)
     auth_fail F/W    failed AUTH attempts from one IP, and for one user
                      (auth_fail_user F/W when it differs), in W seconds
                      from the first: past F, AUTH gets 454 4.7.0
     lease S (3600)   how long a session's slot lives without renewal
                      on another host's view (a session renews it when
                      half has passed, at its next command hook)
     db_dir DIR (/var/lib/qpsmtpd/limits), redis ADDR, timeout MS (1000)
   Also read from the control file limits ("key value" per line;
   arguments win). Over a connection limit: 421 4.7.0 at connect and the
   connection is closed; relay clients and whitelisted hosts are not
   counted.

   The store fails open: past timeout, or on any store error, the session
   proceeds and the error is logged. These limits fend off abuse; a shared
   Redis that is down must not stop all mail (greylisting's store is
   different: without it, mail would pass unchecked for good).

   AUTH: the plugin's auth-<mech> hooks (it offers no mechanism) see the
   user before the auth plugins, so put limits before them in the chain;
   whether the attempt failed is known at the next AUTH or at disconnect
   (no auth_user note then), and is counted there. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fmt.h>
#include <scan.h>
#include <str.h>
#include "plugin.h"
#include "kvstore.h"
#include "netio.h"
#include "lib/climit.h"

#define PLUGIN "limits"
#define USER_KEY_MAX 256

enum { K_CONC, K_NET, K_NET4, K_NET6, K_RATE, K_AUTH, K_AUTHUSER, K_LEASE, K_TIMEOUT, K_DBDIR, K_REDIS, K_COUNT };
static const char *const keys[K_COUNT] = { "concurrency", "per_net", "net4", "net6", "rate", "auth_fail",
  "auth_fail_user", "lease", "timeout", "db_dir", "redis" };

struct lcfg {
  unsigned long v[K_COUNT], w[K_COUNT];     /* w: the window of rate, auth_fail, auth_fail_user */
  const char *db_dir, *redis;
};

struct limits {
  struct lcfg args, cfg;
  unsigned int set;             /* which keys the arguments set */
  struct kvstore kv;
  int kv_ready;
  stralloc ipkey, netkey;       /* the slots this session holds (len 0: none) */
  unsigned long renewed;        /* when they were taken or renewed */
  stralloc pending;             /* the user of an AUTH attempt not yet judged */
  int has_pending;
};

static void defaults(struct lcfg *c)
{
  memset(c, 0, sizeof *c);
  c->v[K_NET4] = 24;
  c->v[K_NET6] = 64;
  c->v[K_LEASE] = 3600;
  c->v[K_TIMEOUT] = 1000;
  c->db_dir = "/var/lib/qpsmtpd/limits";
}

static int bad(stralloc *err, const char *k, const char *what, const char *v)
{
  stralloc_copys(err, k);
  stralloc_cats(err, what);
  if (v) stralloc_cats(err, v);
  return 0;
}

static int lim_setkey(struct lcfg *c, const char *k, const char *v, stralloc *err, int *which)
{
  int i;
  size_t n;
  for (i = 0; i < K_COUNT; ++i) if (str_equal(k, keys[i])) break;
  *which = i;
  if (i == K_COUNT) return bad(err, "unknown argument ", k, 0);
  switch (i) {
  case K_CONC: case K_NET:
    n = scan_ulong(v, &c->v[i]);
    if (!n || v[n] || c->v[i] > CLIMIT_SLOTS_MAX) return bad(err, k, " takes a number from 0 to 100, not ", v);
    return 1;
  case K_NET4: case K_NET6:
    n = scan_ulong(v, &c->v[i]);
    if (!n || v[n] || !c->v[i] || c->v[i] > (i == K_NET4 ? 32UL : 128UL))
      return bad(err, k, " takes a prefix length, not ", v);
    return 1;
  case K_RATE: case K_AUTH: case K_AUTHUSER:
    if (!climit_scan_rate(v, &c->v[i], &c->w[i])) return bad(err, k, " takes COUNT/SECONDS, not ", v);
    return 1;
  case K_LEASE:
    n = scan_ulong(v, &c->v[i]);
    if (!n || v[n] || c->v[i] < 10 || c->v[i] > 86400) return bad(err, k, " takes 10 to 86400 seconds, not ", v);
    return 1;
  case K_TIMEOUT:
    n = scan_ulong(v, &c->v[i]);
    if (!n || v[n] || !c->v[i] || c->v[i] > 600000) return bad(err, k, " takes milliseconds, not ", v);
    return 1;
  case K_DBDIR:
    if (v[0] != '/') return bad(err, k, " must be an absolute path: ", v);
    c->db_dir = v;
    return 1;
  default:
    if (!net_addr_ok(v)) return bad(err, k, " takes IP:port, [IPv6]:port or an absolute socket path, not ", v);
    c->redis = v;
    return 1;
  }
}

static void merge(struct lcfg *to, const struct lcfg *from, int i)
{
  to->v[i] = from->v[i];
  to->w[i] = from->w[i];
  if (i == K_DBDIR) to->db_dir = from->db_dir;
  if (i == K_REDIS) to->redis = from->redis;
}

static int limits_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct limits *l = calloc(1, sizeof *l);
  int i, which;
  if (!l) return bad(err, "out of memory", "", 0);
  defaults(&l->args);
  for (i = 0; i < argc; i += 2) {
    if (i + 1 >= argc) return bad(err, "missing value after ", argv[i], 0);
    if (!lim_setkey(&l->args, argv[i], argv[i + 1], err, &which)) return 0;
    l->set |= 1u << which;
  }
  l->cfg = l->args;
  *self = l;
  return 1;
}

static int limits_setup(struct session *s, void *self)
{
  static stralloc lines;
  static struct control_at at;
  struct limits *l = self;
  struct lcfg f;
  size_t i, next;
  stralloc err = {0};
  defaults(&f);
  l->cfg = l->args;
  if (!control_readlist_at(s, "limits", &lines, &at)) return 1;
  for (i = 0; i < lines.len; i = next) {
    char *k = lines.s + i, *v = k;
    int which;
    next = i + strlen(k) + 1;
    while (*v && *v != ' ' && *v != '\t') ++v;
    if (*v) *v++ = 0;
    while (*v == ' ' || *v == '\t') ++v;
    if (!lim_setkey(&f, k, v, &err, &which)) {
      if (!stralloc_0(&err)) die_nomem(s);
      die_control_at(s, &at, &lines, k, "limits", err.s);
    }
    if (!(l->set & (1u << which))) merge(&l->cfg, &f, which);
  }
  return 1;
}

static struct kvstore *store(struct limits *l)
{
  if (!l->kv_ready) {
    kv_init(&l->kv, l->cfg.redis != 0, l->cfg.redis ? l->cfg.redis : l->cfg.db_dir, "limits:");
    l->kv_ready = 1;
  }
  return &l->kv;
}

static void store_error(struct session *s, stralloc *err)
{
  if (stralloc_0(err)) qlogm(s, LOGERROR, PLUGIN, "skip, store error (the session proceeds): ", err->s);
}

static int over(struct session *s, stralloc *msg, const char *text, const char *log1, const char *log2)
{
  const char *ip = session_remote_ip(s);
  qlogm(s, LOGWARN, PLUGIN, "421, ", log1, " from ", ip, log2);
  if (!stralloc_copys(msg, text) || !stralloc_cats(msg, ip) || !stralloc_cats(msg, ", try again later")
      || !stralloc_0(msg)) return hook_nomem(msg);
  session_reply(s, 421, "4.7.0", msg->s);
  msg->len = 0;
  session_disconnect_later(s);
  return DONE;
}

static int limits_connect(struct session *s, void *self, struct msg_args *a)
{
  struct limits *l = self;
  const struct lcfg *c = &l->cfg;
  const char *ip = session_remote_ip(s);
  stralloc err = {0}, key = {0};
  long long deadline;
  unsigned long live = 0;
  char num[FMT_ULONG * 2 + 40];
  size_t n;
  int r, rc = DECLINED;

  if (!c->v[K_CONC] && !c->v[K_NET] && !c->v[K_RATE]) return DECLINED;
  if (session_immune(s, PLUGIN)) return DECLINED;
  deadline = net_deadline(c->v[K_TIMEOUT]);
  if (c->v[K_RATE]) {
    if (!stralloc_copys(&key, "rate:") || !stralloc_cats(&key, ip)) goto nomem;
    r = climit_rate(store(l), key.s, key.len, c->v[K_RATE], c->w[K_RATE], deadline, &err);
    if (r == -1) store_error(s, &err);
    else if (!r) {
      n = str_copy(num, " (rate ");
      n += fmt_ulong(num + n, c->v[K_RATE]);
      num[n++] = '/';
      n += fmt_ulong(num + n, c->w[K_RATE]);
      n += str_copy(num + n, ")");
      num[n] = 0;
      rc = over(s, a->msg, "Too many connections in a short time from ", "too many connections", num);
      goto out;
    }
  }
  if (c->v[K_CONC]) {
    if (!stralloc_copys(&key, "conc:") || !stralloc_cats(&key, ip)) goto nomem;
    r = climit_acquire(store(l), key.s, key.len, c->v[K_CONC], c->v[K_LEASE], deadline, &live, &err);
    if (r == -1) store_error(s, &err);
    else if (!r) {
      n = str_copy(num, ": ");
      n += fmt_ulong(num + n, live);
      n += str_copy(num + n, " sessions open (concurrency ");
      n += fmt_ulong(num + n, c->v[K_CONC]);
      n += str_copy(num + n, ")");
      num[n] = 0;
      rc = over(s, a->msg, "Too many concurrent connections from ", "too many concurrent sessions", num);
      goto out;
    } else if (!stralloc_copy(&l->ipkey, &key)) goto nomem;
  }
  if (c->v[K_NET]) {
    if (!climit_netkey(&key, "net:", ip, (unsigned int)c->v[K_NET4], (unsigned int)c->v[K_NET6])) {
      qlogm(s, LOGWARN, PLUGIN, "skip per_net, cannot parse the client's address ", ip);
      goto out;
    }
    r = climit_acquire(store(l), key.s, key.len, c->v[K_NET], c->v[K_LEASE], deadline, &live, &err);
    if (r == -1) store_error(s, &err);
    else if (!r) {
      if (l->ipkey.len && climit_release(store(l), l->ipkey.s, l->ipkey.len, deadline, &err) == -1)
        store_error(s, &err);
      l->ipkey.len = 0;
      {
        stralloc lg = {0};
        char m[FMT_ULONG * 2 + 40];
        size_t k = str_copy(m, ": ");
        k += fmt_ulong(m + k, live);
        k += str_copy(m + k, " sessions open (per_net ");
        k += fmt_ulong(m + k, c->v[K_NET]);
        k += str_copy(m + k, ")");
        m[k] = 0;
        if (!stralloc_copys(&lg, " in ") || !stralloc_catb(&lg, key.s + 4, key.len - 4)
            || !stralloc_cats(&lg, m) || !stralloc_0(&lg)) goto nomem;
        rc = over(s, a->msg, "Too many concurrent connections from your network, ", "too many concurrent sessions", lg.s);
        stralloc_free(&lg);
      }
      goto out;
    } else if (!stralloc_copy(&l->netkey, &key)) goto nomem;
  }
  if (l->ipkey.len || l->netkey.len) l->renewed = (unsigned long)time(0);
  qlog(s, LOGDEBUG, PLUGIN, "pass");
  goto out;
nomem:
  rc = DECLINED;
  qlog(s, LOGERROR, PLUGIN, "skip, out of memory");
out:
  stralloc_free(&err);
  stralloc_free(&key);
  return rc;
}

/* a long session's slots: renewed when half their lease has passed */
static void renew(struct session *s, struct limits *l)
{
  unsigned long now;
  stralloc err = {0};
  long long deadline;
  if (!l->ipkey.len && !l->netkey.len) return;
  now = (unsigned long)time(0);
  if (now - l->renewed < l->cfg.v[K_LEASE] / 2) return;
  l->renewed = now;
  deadline = net_deadline(l->cfg.v[K_TIMEOUT]);
  if (l->ipkey.len && climit_renew(store(l), l->ipkey.s, l->ipkey.len, l->cfg.v[K_LEASE], deadline, &err) == -1)
    store_error(s, &err);
  if (l->netkey.len && climit_renew(store(l), l->netkey.s, l->netkey.len, l->cfg.v[K_LEASE], deadline, &err) == -1)
    store_error(s, &err);
  stralloc_free(&err);
}

static int limits_helo(struct session *s, void *self, struct helo_args *a) { (void)a; renew(s, self); return DECLINED; }
static int limits_mail(struct session *s, void *self, struct addr_args *a) { (void)a; renew(s, self); return DECLINED; }
static int limits_rcpt(struct session *s, void *self, struct addr_args *a) { (void)a; renew(s, self); return DECLINED; }
static int limits_data_post(struct session *s, void *self, struct msg_args *a) { (void)a; renew(s, self); return DECLINED; }

/* ---------------------------------------------------------------- AUTH */

static int user_key(stralloc *key, const char *user)
{
  size_t n = str_len(user);
  if (!stralloc_copys(key, "authuser:")) return 0;
  if (n <= USER_KEY_MAX) return stralloc_catb(key, user, n);
  {
    /* a long name by its hash: keys stay bounded */
    unsigned long long h = 14695981039346656037ULL;
    char hex[FMT_XLONG * 2 + 2];
    size_t k;
    while (*user) { h ^= (unsigned char)*user++; h *= 1099511628211ULL; }
    k = fmt_xlong(hex, (unsigned long)(h >> 32));
    hex[k++] = '.';
    k += fmt_xlong(hex + k, (unsigned long)(h & 0xffffffffUL));
    return stralloc_cats(key, "#") && stralloc_catb(key, hex, k);
  }
}

/* the attempt before this one failed when it left no auth_user note */
static void judge(struct session *s, struct limits *l)
{
  stralloc key = {0}, err = {0};
  unsigned long ni = 0, nu = 0, wu;
  long long deadline;
  if (!l->has_pending) return;
  l->has_pending = 0;
  if (note_conn_get(s, "auth_user")) return;
  deadline = net_deadline(l->cfg.v[K_TIMEOUT]);
  wu = l->cfg.v[K_AUTHUSER] ? l->cfg.w[K_AUTHUSER] : l->cfg.w[K_AUTH];
  if (!stralloc_copys(&key, "authip:") || !stralloc_cats(&key, session_remote_ip(s))) goto out;
  if (climit_count(store(l), key.s, key.len, 1, l->cfg.w[K_AUTH], deadline, &ni, &err) == -1) store_error(s, &err);
  if (!stralloc_0(&l->pending) || !user_key(&key, l->pending.s)) goto out;
  if (climit_count(store(l), key.s, key.len, 1, wu, deadline, &nu, &err) == -1) store_error(s, &err);
  {
    char a[FMT_ULONG], b[FMT_ULONG];
    a[fmt_ulong(a, ni)] = 0;
    b[fmt_ulong(b, nu)] = 0;
    qlogm(s, LOGINFO, PLUGIN, "AUTH failure counted: ", a, " from this IP, ", b, " for this user");
  }
out:
  stralloc_free(&key);
  stralloc_free(&err);
}

static int locked(struct session *s, struct limits *l, stralloc *msg, const char *key, size_t keylen,
                  unsigned long max, unsigned long window, const char *what)
{
  stralloc err = {0};
  unsigned long n = 0;
  int r = climit_count(store(l), key, keylen, 0, window, net_deadline(l->cfg.v[K_TIMEOUT]), &n, &err);
  if (r == -1) { store_error(s, &err); stralloc_free(&err); return 0; }
  if (n < max) return 0;
  {
    char a[FMT_ULONG];
    a[fmt_ulong(a, n)] = 0;
    qlogm(s, LOGWARN, PLUGIN, "454, AUTH locked out: ", a, " failed attempts ", what);
  }
  if (!stralloc_copys(msg, "Too many failed AUTH attempts, try again later")) return 0;
  return 1;
}

static int limits_auth_parse(struct session *s, void *self, struct parse_args *a)
{
  struct limits *l = self;
  stralloc key = {0};
  int rc = DECLINED;
  judge(s, l);
  if (!l->cfg.v[K_AUTH]) return DECLINED;
  if (stralloc_copys(&key, "authip:") && stralloc_cats(&key, session_remote_ip(s))
      && locked(s, l, a->msg, key.s, key.len, l->cfg.v[K_AUTH], l->cfg.w[K_AUTH], "from this IP"))
    rc = DENYSOFT;
  stralloc_free(&key);
  return rc;
}

static int limits_auth(struct session *s, void *self, struct auth_args *a)
{
  struct limits *l = self;
  stralloc key = {0};
  unsigned long max = l->cfg.v[K_AUTHUSER] ? l->cfg.v[K_AUTHUSER] : l->cfg.v[K_AUTH];
  unsigned long w = l->cfg.v[K_AUTHUSER] ? l->cfg.w[K_AUTHUSER] : l->cfg.w[K_AUTH];
  int rc = DECLINED;
  if (!max) return DECLINED;
  if (user_key(&key, a->user) && locked(s, l, a->msg, key.s, key.len, max, w, "for this user")) {
    rc = DENYSOFT;
  } else if (stralloc_copys(&l->pending, a->user)) {
    l->has_pending = 1;
  }
  stralloc_free(&key);
  return rc;
}

static int limits_disconnect(struct session *s, void *self, struct msg_args *a)
{
  struct limits *l = self;
  stralloc err = {0};
  long long deadline = net_deadline(l->cfg.v[K_TIMEOUT]);
  (void)a;
  judge(s, l);
  if (l->ipkey.len && climit_release(store(l), l->ipkey.s, l->ipkey.len, deadline, &err) == -1)
    store_error(s, &err);
  if (l->netkey.len && climit_release(store(l), l->netkey.s, l->netkey.len, deadline, &err) == -1)
    store_error(s, &err);
  l->ipkey.len = l->netkey.len = 0;
  stralloc_free(&err);
  return DECLINED;
}

const struct plugin plugin_limits = {
  .name = PLUGIN,
  .init = limits_init,
  .setup = limits_setup,
  .connect = limits_connect,
  .helo = limits_helo, .ehlo = limits_helo,
  .mail = limits_mail, .rcpt = limits_rcpt, .data_post = limits_data_post,
  .auth_parse = limits_auth_parse,
  .auth_plain = limits_auth, .auth_login = limits_auth, .auth_cram_md5 = limits_auth,
  .disconnect = limits_disconnect,
  /* checks no credentials: offers no AUTH mechanism */
  .flags = PLUGIN_AUTH_CHECKS_NOTHING,
};
