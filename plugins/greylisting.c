/* greylisting: defers mail from unknown (client IP[, sender][, recipient])
   triplets, as Perl qpsmtpd's plugins/greylisting. A new triplet is
   answered 4xx and recorded; retries within black_timeout are deferred
   too; a retry after black_timeout and within grey_timeout is let through
   and makes the triplet white; a white triplet stays white for
   white_timeout after its last delivery.

   Arguments (Perl's names), also read from the control file
   denysoft_greylist ("key value" per line; arguments win):
     remote_ip 0|1 (1), sender 0|1 (0), recipient 0|1 (0),
     black_timeout S (3000), grey_timeout S (12000), white_timeout S (3110400),
     deny_late 0|1 (0): defer at DATA instead of MAIL,
     per_recipient 0|1 (0): greylist only the recipients with a true
       recipient note denysoft_greylist (the aliases option), at DATA,
     reject 0|1 (1), mode denysoft|testonly|off: reject 0 / testonly only
       record and log,
     db_dir DIR: the embedded store's directory; without it, Perl's
       search order (its get_db_location / candidate_dirs), with QPHOME
       the directory the daemon runs in: the first of
       /var/lib/qpsmtpd/greylisting, QPHOME/var/db, QPHOME/config that
       exists (Perl's last candidate, ".", is QPHOME itself here and is
       left out). The first is the store itself; in the other two, shared
       directories, the store is their subdirectory greylist (Perl's
       greylist.dbm), made at first use. A db_dir that does not exist is
       an error, not a reason to look further (Perl looks further).
     redis ADDR: a Redis server (IP:port, [IPv6]:port or a socket path)
       shared by several MX hosts, instead of db_dir,
     timeout MS (3000): the whole store update's deadline; past it, or on
       any store error, the mail passes (logged),
     on_unusable_store 421|pass (421): at connect, a directory store that
       cannot be used at all (none found, missing, not a directory, not
       writable) makes every session 421 4.3.0 before the greeting, with
       the reason logged, rather than let all mail pass ungreylisted; pass
       logs the reason at connect and lets mail through. A Redis server
       that cannot be reached is a fault of the moment: the mail passes
       (logged).
   Exempt: relay clients, the notes whitelisthost and whitelistsender, a
   connection note denysoft_greylist set to 0 (client_options), and at
   DATA a transaction whose recipients are all whitelisted (whitelistrcpt). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <fmt.h>
#include <scan.h>
#include <str.h>
#include "plugin.h"
#include "lib/hostport.h"
#include "kvstore.h"
#include "netio.h"

#define PLUGIN "greylisting"
#define DENYMSG "This mail is temporarily denied"
#define DEFAULT_DIR "/var/lib/qpsmtpd/greylisting"
#define UNUSABLE_MSG "greylisting store unavailable, closing connection"
/* under QPHOME (the working directory), after DEFAULT_DIR */
static const char *const homedirs[] = { "var/db", "config", 0 };

struct gcfg {
  unsigned long remote_ip, sender, recipient, deny_late, per_recipient, reject;
  unsigned long black, grey, white, timeout;
  const char *mode;
  const char *db_dir;           /* NULL: the search order */
  const char *redis;
  const char *on_unusable;      /* "421" or "pass" */
};

struct grey {
  struct gcfg args;             /* what the plugins file said */
  unsigned int set;             /* which of them it said (bits) */
  struct gcfg cfg;              /* with the control file merged */
  struct kvstore kv;
  int kv_ready;
  int resolved, usable;         /* the directory store, looked for once */
  stralloc store;               /* its path, \0-terminated */
  stralloc why;                 /* why it cannot be used */
};

enum { B_REMOTE_IP, B_SENDER, B_RECIPIENT, B_DENY_LATE, B_PER_RCPT, B_REJECT, B_BLACK, B_GREY,
       B_WHITE, B_TIMEOUT, B_MODE, B_DBDIR, B_REDIS, B_UNUSABLE };
static const char *const keys[] = { "remote_ip", "sender", "recipient", "deny_late", "per_recipient",
  "reject", "black_timeout", "grey_timeout", "white_timeout", "timeout", "mode", "db_dir", "redis",
  "on_unusable_store", 0 };

static int grey_setkey(struct gcfg *c, const char *k, const char *v, stralloc *err, int *bit)
{
  int i;
  unsigned long *ul[] = { &c->remote_ip, &c->sender, &c->recipient, &c->deny_late, &c->per_recipient,
                          &c->reject, &c->black, &c->grey, &c->white, &c->timeout };
  for (i = 0; keys[i]; ++i) if (str_equal(k, keys[i])) break;
  *bit = i;
  if (!keys[i]) {
    /* Perl's arguments with no counterpart here, and what to use instead */
    if (str_equal(k, "p0f") || str_equal(k, "geoip")) {
      stralloc_copys(err, k);
      stralloc_cats(err, " (exempting clients by operating system or country) is not supported: nothing here"
                         " fingerprints or locates clients; exempt known clients with whitelisthosts"
                         " (whitelist) or a connection note denysoft_greylist 0 (client_options), or drop it");
    } else if (str_equal(k, "nfslock") || str_equal(k, "per_recipient_db")) {
      stralloc_copys(err, k);
      stralloc_cats(err, " is not supported: to share the store between servers use redis HOST[:port]");
    } else {
      stralloc_copys(err, "unknown argument ");
      stralloc_cats(err, k);
    }
    return 0;
  }
  if (i <= B_TIMEOUT) {
    size_t n = scan_ulong(v, ul[i]);
    if (!n || v[n] || (i <= B_REJECT && *ul[i] > 1) || (i == B_TIMEOUT && (*ul[i] < 1 || *ul[i] > 600000))) {
      stralloc_copys(err, k);
      stralloc_cats(err, i <= B_REJECT ? " takes 0 or 1, not " : " takes a number, not ");
      stralloc_cats(err, v);
      return 0;
    }
    return 1;
  }
  if (i == B_MODE) {
    if (!str_equal(v, "denysoft") && !str_equal(v, "testonly") && !str_equal(v, "off")) {
      stralloc_copys(err, "mode takes denysoft, testonly or off, not ");
      stralloc_cats(err, v);
      return 0;
    }
    c->mode = v;
    return 1;
  }
  if (i == B_DBDIR) {
    if (v[0] != '/') { stralloc_copys(err, "db_dir must be an absolute path: "); stralloc_cats(err, v); return 0; }
    c->db_dir = v;
    return 1;
  }
  if (i == B_UNUSABLE) {
    if (!str_equal(v, "421") && !str_equal(v, "pass")) {
      stralloc_copys(err, "on_unusable_store takes 421 or pass, not ");
      stralloc_cats(err, v);
      return 0;
    }
    c->on_unusable = v;
    return 1;
  }
  /* Perl's "redis HOST": Redis's port 6379 */
  if (!(c->redis = hostport_default(v, 6379))) {
    stralloc_copys(err, "redis takes IP, IP:port, [IPv6]:port, localhost[:port] or an absolute socket path, not ");
    stralloc_cats(err, v);
    return 0;
  }
  return 1;
}

static void defaults(struct gcfg *c)
{
  memset(c, 0, sizeof *c);
  c->remote_ip = 1;
  c->reject = 1;
  c->black = 50 * 60;
  c->grey = 3 * 3600 + 20 * 60;
  c->white = 36 * 24 * 3600;
  c->timeout = 3000;
  c->mode = "denysoft";
  c->on_unusable = "421";
}

static int grey_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct grey *g = calloc(1, sizeof *g);
  int i, bit;
  if (!g) { stralloc_copys(err, "out of memory"); return 0; }
  defaults(&g->args);
  for (i = 0; i < argc; i += 2) {
    if (i + 1 >= argc) { stralloc_copys(err, "missing value after "); stralloc_cats(err, argv[i]); return 0; }
    if (!grey_setkey(&g->args, argv[i], argv[i + 1], err, &bit)) return 0;
    g->set |= 1u << bit;
  }
  *self = g;
  return 1;
}

/* the control file's settings under the arguments, before the greeting;
   strings live as long as the process */
static int grey_setup(struct session *s, void *self)
{
  static stralloc lines;
  static struct control_at at;
  struct grey *g = self;
  struct gcfg c = g->args, f;
  size_t i, next;
  stralloc err = {0};
  defaults(&f);
  if (control_readlist_at(s, "denysoft_greylist", &lines, &at)) {
    for (i = 0; i < lines.len; i = next) {
      char *k = lines.s + i, *v = k;
      next = i + strlen(k) + 1;
      int bit;
      while (*v && *v != ' ' && *v != '\t') ++v;
      if (*v) *v++ = 0;
      while (*v == ' ' || *v == '\t') ++v;
      if (!grey_setkey(&f, k, v, &err, &bit)) {
        /* a file that cannot be parsed is an error, never a silent default */
        if (!stralloc_0(&err)) die_nomem(s);
        die_control_at(s, &at, &lines, k, "denysoft_greylist", err.s);
      }
      if (g->set & (1u << bit)) continue;
      switch (bit) {
      case B_REMOTE_IP: c.remote_ip = f.remote_ip; break;
      case B_SENDER: c.sender = f.sender; break;
      case B_RECIPIENT: c.recipient = f.recipient; break;
      case B_DENY_LATE: c.deny_late = f.deny_late; break;
      case B_PER_RCPT: c.per_recipient = f.per_recipient; break;
      case B_REJECT: c.reject = f.reject; break;
      case B_BLACK: c.black = f.black; break;
      case B_GREY: c.grey = f.grey; break;
      case B_WHITE: c.white = f.white; break;
      case B_TIMEOUT: c.timeout = f.timeout; break;
      case B_MODE: c.mode = f.mode; break;
      case B_DBDIR: c.db_dir = f.db_dir; break;
      case B_REDIS: c.redis = f.redis; break;
      case B_UNUSABLE: c.on_unusable = f.on_unusable; break;
      }
    }
  }
  stralloc_free(&err);
  g->cfg = c;
  return 1;
}

struct verdict { struct grey *g; time_t now; int deny; char what[64]; };

static unsigned long field(const char **p, const char *end)
{
  unsigned long u = 0;
  const char *x = *p;
  while (x < end && *x >= '0' && *x <= '9') { u = u * 10 + (unsigned long)(*x - '0'); ++x; }
  if (x < end && *x == ':') ++x;
  *p = x;
  return u;
}

/* the decision, on the entry "ts:new:black:white" */
static int decide(void *ctx, const char *old, size_t oldlen, stralloc *nv, unsigned long *ttl)
{
  struct verdict *v = ctx;
  const struct gcfg *c = &v->g->cfg;
  unsigned long ts = 0, nnew = 0, black = 0, white = 0, age;
  char num[24];
  if (old) {
    const char *p = old, *end = old + oldlen;
    ts = field(&p, end); nnew = field(&p, end); black = field(&p, end); white = field(&p, end);
  }
  age = (unsigned long)v->now >= ts ? (unsigned long)v->now - ts : 0;
  v->deny = 1;
  if (old && !white && age < c->black) {
    ++black;                                /* black: deny, keep the time */
    str_copy(v->what, "black, deferred again");
  } else if (old && !white && age < c->grey) {
    ts = (unsigned long)v->now; white = 1;
    v->deny = 0;
    str_copy(v->what, "grey, now white");
  } else if (old && white && age < c->white) {
    ts = (unsigned long)v->now; ++white;
    v->deny = 0;
    str_copy(v->what, "white");
  } else {
    ts = (unsigned long)v->now; ++nnew; white = 0;
    str_copy(v->what, old ? "timed out, deferred" : "unknown, deferred");
  }
  *ttl = white ? c->white : (c->grey > c->black ? c->grey : c->black);
  nv->len = 0;
  if (!stralloc_catb(nv, num, fmt_ulong(num, ts)) || !stralloc_append(nv, ":")
      || !stralloc_catb(nv, num, fmt_ulong(num, nnew)) || !stralloc_append(nv, ":")
      || !stralloc_catb(nv, num, fmt_ulong(num, black)) || !stralloc_append(nv, ":")
      || !stralloc_catb(nv, num, fmt_ulong(num, white)))
    return 0;
  return 1;
}

static int isdir(const char *d)
{
  struct stat st;
  return stat(d, &st) == 0 && S_ISDIR(st.st_mode);
}

/* g->why = "<store><what>[: <strerror(e)>]"; empty when out of memory */
static int unusable(struct grey *g, const char *what, int e)
{
  g->why.len = 0;
  if (!stralloc_catb(&g->why, g->store.s, g->store.len ? g->store.len - 1 : 0) || !stralloc_cats(&g->why, what)
      || (e && (!stralloc_cats(&g->why, ": ") || !stralloc_cats(&g->why, strerror(e))))
      || !stralloc_0(&g->why))
    g->why.len = 0;
  return 0;
}

static int nomem(struct grey *g)
{
  g->why.len = 0;
  return 0;
}

/* the directory store: db_dir, or the first candidate that exists; 1 when
   it exists (made here in a shared directory) and is writable, else 0 with
   the reason in g->why */
static int resolve(struct grey *g)
{
  char cwd[4096];
  struct stat st;
  unsigned int i;
  if (g->resolved) return g->usable;
  g->resolved = 1;
  g->store.len = 0;
  if (g->cfg.db_dir || isdir(DEFAULT_DIR)) {
    if (!stralloc_copys(&g->store, g->cfg.db_dir ? g->cfg.db_dir : DEFAULT_DIR) || !stralloc_0(&g->store))
      return nomem(g);
  } else {
    if (!getcwd(cwd, sizeof cwd)) str_copy(cwd, ".");
    for (i = 0; homedirs[i]; ++i) {
      g->store.len = 0;
      if (!stralloc_copys(&g->store, cwd) || !stralloc_append(&g->store, "/")
          || !stralloc_cats(&g->store, homedirs[i]) || !stralloc_0(&g->store))
        return nomem(g);
      if (isdir(g->store.s)) break;
    }
    if (!homedirs[i]) {
      g->store.len = 0;
      if (!stralloc_copys(&g->why, "no db_dir, and none of " DEFAULT_DIR ", ") || !stralloc_cats(&g->why, cwd)
          || !stralloc_cats(&g->why, "/var/db, ") || !stralloc_cats(&g->why, cwd)
          || !stralloc_cats(&g->why, "/config exists") || !stralloc_0(&g->why))
        g->why.len = 0;
      return 0;
    }
    --g->store.len;
    if (!stralloc_cats(&g->store, "/greylist") || !stralloc_0(&g->store)) return nomem(g);
    if (mkdir(g->store.s, 0700) == -1 && errno != EEXIST) return unusable(g, ": cannot create", errno);
  }
  if (stat(g->store.s, &st) == -1) return unusable(g, "", errno);
  if (!S_ISDIR(st.st_mode)) return unusable(g, ": not a directory", 0);
  if (access(g->store.s, W_OK | X_OK) == -1) return unusable(g, ": not writable", errno);
  g->usable = 1;
  return 1;
}

/* DENYSOFT with the message, or DECLINED */
static int check(struct session *s, struct grey *g, const char *rcpt, stralloc *msg)
{
  const struct gcfg *c = &g->cfg;
  const char *sender = txn_sender(s), *cn;
  stralloc key = {0}, err = {0};
  struct verdict v;
  int rc = DECLINED;

  if (str_equal(c->mode, "off")) return DECLINED;
  if (session_immune(s, PLUGIN)) return DECLINED;
  cn = note_conn_get(s, "denysoft_greylist");
  if (cn && !note_true(cn)) { qlog(s, LOGINFO, PLUGIN, "skip, client exempt (denysoft_greylist 0)"); return DECLINED; }

  if (c->remote_ip && !stralloc_cats(&key, session_remote_ip(s))) goto nomem;
  if (c->sender && (!stralloc_append(&key, ":") || !stralloc_cats(&key, sender ? sender : ""))) goto nomem;
  if (rcpt && c->recipient && (!stralloc_append(&key, ":") || !stralloc_cats(&key, rcpt))) goto nomem;
  if (!g->kv_ready) {
    if (!c->redis && !resolve(g)) {
      qlogm(s, LOGERROR, PLUGIN, "pass, store error: ", g->why.len ? g->why.s : "out of memory");
      goto out;
    }
    kv_init(&g->kv, c->redis != 0, c->redis ? c->redis : g->store.s, "greylisting:");
    g->kv_ready = 1;
  }
  v.g = g;
  v.now = time(0);
  v.deny = 0;
  v.what[0] = 0;
  if (kv_update(&g->kv, key.s, key.len, decide, &v, net_deadline(c->timeout), &err) == -1) {
    if (stralloc_0(&err)) qlogm(s, LOGERROR, PLUGIN, "pass, store error: ", err.s);
    goto out;
  }
  if (!stralloc_0(&key)) goto nomem;
  if (!v.deny) { qlogm(s, LOGINFO, PLUGIN, "pass, key ", key.s, " ", v.what); goto out; }
  if (!c->reject || str_equal(c->mode, "testonly")) {
    qlogm(s, LOGINFO, PLUGIN, "pass, testonly, key ", key.s, " ", v.what);
    goto out;
  }
  qlogm(s, LOGINFO, PLUGIN, "fail, key ", key.s, " ", v.what);
  stralloc_copys(msg, DENYMSG);
  rc = DENYSOFT;
  goto out;
nomem:
  hook_nomem(msg);
  rc = DENYSOFT;
out:
  stralloc_free(&key);
  stralloc_free(&err);
  return rc;
}

/* a directory store that cannot be used at all is the site's fault, and
   would let every message pass ungreylisted: say so before the greeting */
static int grey_connect(struct session *s, void *self, struct msg_args *a)
{
  struct grey *g = self;
  const char *why;
  if (str_equal(g->cfg.mode, "off") || g->cfg.redis) return DECLINED;
  if (resolve(g)) {
    qlogm(s, LOGDEBUG, PLUGIN, "store ", g->store.s);
    return DECLINED;
  }
  why = g->why.len ? g->why.s : "out of memory";
  if (str_equal(g->cfg.on_unusable, "pass")) {
    qlogm(s, LOGERROR, PLUGIN, "store unusable, mail passes ungreylisted (on_unusable_store pass): ", why);
    return DECLINED;
  }
  qlogm(s, LOGERROR, PLUGIN, "421, store unusable: ", why);
  session_reply(s, 421, "4.3.0", UNUSABLE_MSG);
  session_disconnect_later(s);
  return DONE;
}

static int rcpt_mode(const struct gcfg *c) { return c->recipient || c->per_recipient; }

/* a late deferral waits in the transaction note denysoft_greylist */
static int defer(struct session *s, stralloc *msg)
{
  if (!stralloc_0(msg) || !note_txn_set(s, "denysoft_greylist", msg->s)) {
    return hook_nomem(msg);
  }
  msg->len = 0;
  return DECLINED;
}

static int grey_mail(struct session *s, void *self, struct addr_args *a)
{
  struct grey *g = self;
  if (rcpt_mode(&g->cfg)) return DECLINED;
  if (check(s, g, 0, a->msg) != DENYSOFT) return DECLINED;
  if (g->cfg.deny_late) return defer(s, a->msg);
  return DENYSOFT;
}

static int grey_rcpt(struct session *s, void *self, struct addr_args *a)
{
  struct grey *g = self;
  const char *sender;
  char rcpt[1024];
  if (!rcpt_mode(&g->cfg) || g->cfg.per_recipient) return DECLINED;
  if (a->addrlen >= sizeof rcpt) return DECLINED;
  memcpy(rcpt, a->addr, a->addrlen);
  rcpt[a->addrlen] = 0;
  if (check(s, g, rcpt, a->msg) != DENYSOFT) return DECLINED;
  /* the null sender is deferred at DATA, so that address probes work */
  sender = txn_sender(s);
  if (g->cfg.deny_late || !sender || !*sender) return defer(s, a->msg);
  return DENYSOFT;
}

/* per_recipient: the recipients that asked for greylisting (a true
   recipient note denysoft_greylist, the aliases option) are checked at
   DATA, when every plugin that sets recipient notes has run */
static int per_rcpt(struct session *s, struct grey *g, stralloc *msg)
{
  unsigned int i, n = txn_rcpt_count(s), asked = 0;
  int rc = DECLINED;
  for (i = 0; i < n; ++i) {
    const char *r = txn_rcpt(s, i);
    if (!note_true(txn_rcpt_note_get(s, r, "denysoft_greylist"))) continue;
    ++asked;
    if (check(s, g, r, msg) == DENYSOFT) rc = DENYSOFT;
  }
  if (!asked) qlog(s, LOGINFO, PLUGIN, "skip, no recipient asked for greylisting");
  if (rc == DENYSOFT) stralloc_copys(msg, DENYMSG);
  return rc;
}

static int grey_data(struct session *s, void *self, struct msg_args *a)
{
  struct grey *g = self;
  const char *note = note_txn_get(s, "denysoft_greylist"), *w;
  unsigned long n = 0;
  if (g->cfg.per_recipient) return per_rcpt(s, g, a->msg);
  if (!note_true(note)) return DECLINED;
  w = note_txn_get(s, "whitelistrcpt");
  if (w && scan_ulong(w, &n) && n >= txn_rcpt_count(s)) {
    qlog(s, LOGINFO, PLUGIN, "skip, all recipients whitelisted");
    return DECLINED;
  }
  stralloc_copys(a->msg, note);
  return DENYSOFT;
}

const struct plugin plugin_greylisting = {
  .name = PLUGIN,
  .init = grey_init,
  .setup = grey_setup,
  .connect = grey_connect, .mail = grey_mail, .rcpt = grey_rcpt, .data = grey_data,
};
