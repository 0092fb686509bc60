/* rcpt_callahead IP [PORT] [key value...]: asks the next hop (the server
   queue/smtp-forward relays to, or the back end behind any queue) whether
   it takes a recipient before we answer RCPT, so that mail we could not
   deliver is refused at RCPT instead of bounced later (backscatter).

   One connection per session, opened at the first recipient to check:
   greeting, EHLO (HELO when refused), MAIL FROM:<>, then one RCPT TO per
   recipient on the same transaction; QUIT at the end of the session. The
   next hop's 2xx: DECLINED (the next rcpt plugin, rcpt_ok, decides); its
   5xx: 550 5.1.1; its 4xx: 450 with its text (tempfail pass: DECLINED);
   down, slow or talking nonsense: 450 4.4.1 (on_error pass: DECLINED),
   and the rest of the session does not try again. Each check has one
   deadline (timeout). Relay clients are not checked.

   Answers are cached in the shared store (db_dir or redis, as greylisting
   and karma use), keyed by the lower-cased address: a 2xx for
   cache_positive seconds, a 5xx for cache_negative; a 4xx or a failure is
   never cached. Without db_dir and redis nothing is cached. A non-ASCII
   (SMTPUTF8) address is not checked: we do not send SMTPUTF8.

   Arguments after IP [PORT], in pairs: cache_positive S (86400),
   cache_negative S (3600), db_dir DIR, redis ADDR, timeout S (10),
   on_error defer|pass (defer), tempfail defer|pass (defer),
   relayclient skip|check (skip). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <case.h>
#include <fmt.h>
#include <scan.h>
#include <str.h>
#include "plugin.h"
#include "netio.h"
#include "kvstore.h"

#define PLUGIN "rcpt_callahead"
#define TEXT_MAX 200

struct ca {
  stralloc spec;                /* "IP:port" / "[IPv6]:port" */
  unsigned long pos_ttl, neg_ttl, timeout;
  const char *db_dir, *redis;
  int pass_error, pass_temp, check_relay;
  /* the session's */
  struct kvstore kv;
  int kv_ready;
  int fd;
  int down;                     /* gave up on the next hop for this session */
  char in[2048];
  size_t inpos, inlen;
  int code;
  stralloc text;
};

static int secs(const char *v, unsigned long *out, unsigned long max)
{
  size_t n = scan_ulong(v, out);
  return n && !v[n] && *out <= max;
}

static int ca_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct ca *c = calloc(1, sizeof *c);
  unsigned long port = 25;
  int i = 1, v6;
  if (!c) return arg_error(err, "out of memory", 0);
  if (argc < 1) return arg_error(err, "usage: rcpt_callahead IP [PORT] [key value...]", 0);
  if (argc > 1 && argv[1][0] >= '0' && argv[1][0] <= '9') {
    if (!secs(argv[1], &port, 65535) || !port) return arg_error(err, "the port is not a number from 1 to 65535: ", argv[1]);
    i = 2;
  }
  v6 = !!strchr(argv[0], ':');
  {
    char num[FMT_ULONG];
    num[fmt_ulong(num, port)] = 0;
    if (!stralloc_copys(&c->spec, v6 ? "[" : "") || !stralloc_cats(&c->spec, argv[0]) || !stralloc_cats(&c->spec, v6 ? "]:" : ":")
        || !stralloc_cats(&c->spec, num) || !stralloc_0(&c->spec)) return arg_error(err, "out of memory", 0);
  }
  if (!net_addr_ok(c->spec.s)) return arg_error(err, "the next hop must be an IPv4 or IPv6 address: ", argv[0]);
  c->pos_ttl = 86400;
  c->neg_ttl = 3600;
  c->timeout = 10;
  c->fd = -1;
  for (; i < argc; i += 2) {
    const char *k = argv[i], *v;
    if (i + 1 >= argc) return arg_error(err, "missing value after ", k);
    v = argv[i + 1];
    if (str_equal(k, "cache_positive")) {
      if (!secs(v, &c->pos_ttl, 86400UL * 365)) return arg_error(err, "cache_positive takes seconds, not ", v);
    } else if (str_equal(k, "cache_negative")) {
      if (!secs(v, &c->neg_ttl, 86400UL * 365)) return arg_error(err, "cache_negative takes seconds, not ", v);
    } else if (str_equal(k, "timeout")) {
      if (!secs(v, &c->timeout, 3600) || !c->timeout) return arg_error(err, "timeout takes seconds (1-3600), not ", v);
    } else if (str_equal(k, "db_dir")) {
      if (v[0] != '/') return arg_error(err, "db_dir must be an absolute path: ", v);
      c->db_dir = v;
    } else if (str_equal(k, "redis")) {
      if (!net_addr_ok(v)) return arg_error(err, "redis takes IP:port, [IPv6]:port or an absolute socket path, not ", v);
      c->redis = v;
    } else if (str_equal(k, "on_error") || str_equal(k, "tempfail")) {
      int *f = k[0] == 'o' ? &c->pass_error : &c->pass_temp;
      if (str_equal(v, "pass")) *f = 1;
      else if (str_equal(v, "defer")) *f = 0;
      else return arg_error(err, "takes defer or pass: ", k);
    } else if (str_equal(k, "relayclient")) {
      if (str_equal(v, "check")) c->check_relay = 1;
      else if (str_equal(v, "skip")) c->check_relay = 0;
      else return arg_error(err, "relayclient takes skip or check, not ", v);
    } else
      return arg_error(err, "unknown argument ", k);
  }
  *self = c;
  return 1;
}

/* one line of a reply into line (cut at max), 0 ok, -1 EOF/error/timeout */
static int ca_line(struct ca *c, char *line, size_t max, size_t *n, long long deadline)
{
  *n = 0;
  for (;;) {
    char ch;
    if (c->inpos == c->inlen) {
      ssize_t r = net_read(c->fd, c->in, sizeof c->in, deadline);
      if (r <= 0) return -1;
      c->inpos = 0;
      c->inlen = (size_t)r;
    }
    ch = c->in[c->inpos++];
    if (ch == '\n') break;
    if (*n < max) line[(*n)++] = ch;
  }
  if (*n && line[*n - 1] == '\r') --*n;
  return 0;
}

/* a whole reply: c->code (0 on EOF, timeout or garbage), c->text the
   first line's text, printable */
static void ca_reply(struct ca *c, long long deadline)
{
  char line[1024];
  unsigned int lines;
  c->code = 0;
  c->text.len = 0;
  for (lines = 0; lines < 100; ++lines) {
    size_t n, i;
    int code;
    if (ca_line(c, line, sizeof line, &n, deadline) == -1) return;
    if (n < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' || line[2] < '0' || line[2] > '9'
        || (n > 3 && line[3] != ' ' && line[3] != '-')) return;
    code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (lines && code != c->code) { c->code = 0; return; }
    if (!lines)
      for (i = 4; i < n && c->text.len < TEXT_MAX; ++i) {
        char x = (unsigned char)line[i] >= 0x20 && (unsigned char)line[i] < 0x7f ? line[i] : '?';
        if (!stralloc_append(&c->text, &x)) return;
      }
    if (n <= 3 || line[3] == ' ') {
      if (!stralloc_0(&c->text)) return;
      --c->text.len;
      c->code = code;
      return;
    }
    c->code = code;
  }
  c->code = 0;
}

static int ca_send(struct ca *c, const char *a, const char *b, const char *d, long long deadline)
{
  stralloc x = {0};
  int r = -1;
  if (stralloc_copys(&x, a) && stralloc_cats(&x, b) && stralloc_cats(&x, d))
    r = net_write_all(c->fd, x.s, x.len, deadline);
  stralloc_free(&x);
  return r;
}

static void ca_close(struct ca *c)
{
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
  c->inpos = c->inlen = 0;
}

/* connects and opens a transaction with MAIL FROM:<>: NULL ok, else why not */
static const char *ca_open(struct session *s, struct ca *c, long long deadline)
{
  c->fd = net_connect(c->spec.s, deadline);
  if (c->fd < 0) return errno == ETIMEDOUT ? "timed out connecting" : "cannot connect";
  ca_reply(c, deadline);
  if (c->code != 220) return c->code ? "refused the connection" : "no greeting";
  if (ca_send(c, "EHLO ", session_me(s), "\r\n", deadline) == -1) return "cannot write";
  ca_reply(c, deadline);
  if (c->code >= 500) {
    if (ca_send(c, "HELO ", session_me(s), "\r\n", deadline) == -1) return "cannot write";
    ca_reply(c, deadline);
  }
  if (c->code != 250) return c->code ? "refused EHLO and HELO" : "no answer to EHLO";
  if (ca_send(c, "MAIL FROM:<>", "", "\r\n", deadline) == -1) return "cannot write";
  ca_reply(c, deadline);
  if (c->code != 250) return c->code ? "refused MAIL FROM:<>" : "no answer to MAIL";
  return 0;
}

/* the next hop's answer to RCPT TO:<addr>: its code, or 0 with why */
static int ca_ask(struct session *s, struct ca *c, const char *addr, const char **why)
{
  long long deadline = net_deadline(c->timeout * 1000);
  int tries;
  *why = 0;
  for (tries = 0; tries < 2; ++tries) {
    errno = 0;
    c->code = 0;
    if (c->fd < 0 && (*why = ca_open(s, c, deadline))) { ca_close(c); return 0; }
    if (ca_send(c, "RCPT TO:<", addr, ">\r\n", deadline) == 0) {
      ca_reply(c, deadline);
      /* 421 or a lost connection on a reused one: once more, afresh */
      if (c->code && c->code != 421) return c->code;
    }
    *why = errno == ETIMEDOUT ? "timed out" : c->code == 421 ? "closing (421)" : "connection lost";
    ca_close(c);
    if (errno == ETIMEDOUT) break;
  }
  return 0;
}

/* the cache: "code text" */
struct cget { stralloc *v; };
static int cache_read(void *ctx, const char *old, size_t oldlen, stralloc *nv, unsigned long *ttl)
{
  struct cget *g = ctx;
  (void)nv; (void)ttl;
  if (old && !stralloc_copyb(g->v, old, oldlen)) g->v->len = 0;
  return 0;
}
struct cput { const char *v; unsigned long ttl; };
static int cache_write(void *ctx, const char *old, size_t oldlen, stralloc *nv, unsigned long *ttl)
{
  struct cput *p = ctx;
  (void)old; (void)oldlen;
  *ttl = p->ttl;
  return stralloc_copys(nv, p->v);
}

static int ca_kv(struct ca *c)
{
  if (!c->db_dir && !c->redis) return 0;
  if (!c->kv_ready) { kv_init(&c->kv, c->redis != 0, c->redis ? c->redis : c->db_dir, 0); c->kv_ready = 1; }
  return 1;
}

/* the next hop's text without its enhanced code */
static const char *plain_text(const char *t)
{
  size_t i = 0;
  if ((t[0] == '4' || t[0] == '5') && t[1] == '.') {
    for (i = 2; (t[i] >= '0' && t[i] <= '9') || t[i] == '.'; ++i) ;
    if (t[i] != ' ') i = 0; else ++i;
  }
  return t + i;
}

/* 550 5.1.1 with the next hop's text, or ours when it gave none */
static int ca_refuse(struct session *s, struct addr_args *a, const char *addr, const char *text, int cached)
{
  qlogm(s, LOGINFO, PLUGIN, "deny, ", addr, cached ? " (cached): " : ": ", text);
  stralloc_copys(a->msg, "5.1.1 ");
  if (*text) stralloc_cats(a->msg, text);
  else { stralloc_cats(a->msg, "<"); stralloc_cats(a->msg, addr); stralloc_cats(a->msg, ">: Recipient address rejected"); }
  return DENY;
}

static int ca_rcpt(struct session *s, void *self, struct addr_args *a)
{
  struct ca *c = self;
  stralloc key = {0}, v = {0}, err = {0};
  const char *why;
  int code, rc = DECLINED;
  size_t i;

  if (!c->check_relay && session_relay_client(s)) return DECLINED;
  if (!a->addrlen) return DECLINED;               /* <>: not a recipient we check */
  /* an SMTPUTF8 address needs SMTPUTF8 on MAIL, which we do not send:
     left to the next plugin rather than refused for the wrong reason */
  for (i = 0; i < a->addrlen; ++i)
    if ((unsigned char)a->addr[i] >= 0x80) { qlog(s, LOGINFO, PLUGIN, "skip, a non-ASCII address"); return DECLINED; }
  if (!stralloc_copys(&key, "callahead:") || !stralloc_catb(&key, a->addr, a->addrlen)) goto nomem;
  case_lowerb(key.s, key.len);
  if (!stralloc_copyb(&v, a->addr, a->addrlen) || !stralloc_0(&v)) goto nomem;

  if (ca_kv(c)) {
    stralloc hit = {0};
    struct cget g = { &hit };
    if (kv_update(&c->kv, key.s, key.len, cache_read, &g, net_deadline(1000), &err) == -1)
      qlogm(s, LOGWARN, PLUGIN, "cache: ", stralloc_0(&err) ? err.s : "error");
    else if (hit.len >= 1 && (hit.s[0] == '2' || hit.s[0] == '5') && stralloc_0(&hit)) {
      if (hit.s[0] == '2') qlogm(s, LOGINFO, PLUGIN, "pass, ", v.s, " (cached)");
      else rc = ca_refuse(s, a, v.s, hit.s + (hit.len > 2 ? 2 : 1), 1);
      stralloc_free(&hit);
      goto out;
    }
    stralloc_free(&hit);
  }

  if (c->down) { why = "down earlier in this session"; goto down; }
  code = ca_ask(s, c, v.s, &why);
  if (!code) { c->down = 1; goto down; }

  if (code >= 200 && code < 300) {
    qlogm(s, LOGINFO, PLUGIN, "pass, ", v.s, ": ", c->text.s);
    if (c->pos_ttl && ca_kv(c)) {
      struct cput p = { "2", c->pos_ttl };
      if (kv_update(&c->kv, key.s, key.len, cache_write, &p, net_deadline(1000), &err) == -1)
        qlog(s, LOGWARN, PLUGIN, "cache: cannot store");
    }
  } else if (code >= 500) {
    rc = ca_refuse(s, a, v.s, plain_text(c->text.s), 0);
    if (c->neg_ttl && ca_kv(c)) {
      stralloc nv = {0};
      struct cput p = { 0, c->neg_ttl };
      if (stralloc_copys(&nv, "5 ") && stralloc_cats(&nv, plain_text(c->text.s)) && stralloc_0(&nv)) {
        p.v = nv.s;
        if (kv_update(&c->kv, key.s, key.len, cache_write, &p, net_deadline(1000), &err) == -1)
          qlog(s, LOGWARN, PLUGIN, "cache: cannot store");
      }
      stralloc_free(&nv);
    }
  } else {
    qlogm(s, LOGINFO, PLUGIN, c->pass_temp ? "pass, " : "defer, ", v.s, ": ", c->text.s);
    if (!c->pass_temp) {
      stralloc_copys(a->msg, "4.1.1 <");
      stralloc_cats(a->msg, v.s);
      stralloc_cats(a->msg, ">: Recipient address verification deferred: ");
      stralloc_cats(a->msg, plain_text(c->text.s));
      rc = DENYSOFT;
    }
  }
  goto out;
down:
  qlogm(s, LOGERROR, PLUGIN, c->pass_error ? "pass, " : "defer, ", v.s, ": next hop ", c->spec.s, " ", why);
  if (!c->pass_error) {
    stralloc_copys(a->msg, "4.4.1 Recipient address verification unavailable, try again later");
    rc = DENYSOFT;
  }
  goto out;
nomem:
  rc = hook_nomem(a->msg);
out:
  stralloc_free(&key);
  stralloc_free(&v);
  stralloc_free(&err);
  return rc;
}

static int ca_disconnect(struct session *s, void *self, struct msg_args *a)
{
  struct ca *c = self;
  (void)s; (void)a;
  if (c->fd >= 0) {
    net_write_all(c->fd, "QUIT\r\n", 6, net_deadline(500));   /* send() with MSG_NOSIGNAL */
    ca_close(c);
  }
  if (c->kv_ready) kv_close(&c->kv);
  return DECLINED;
}

const struct plugin plugin_rcpt_callahead = {
  .name = PLUGIN,
  .init = ca_init,
  .rcpt = ca_rcpt,
  .disconnect = ca_disconnect,
};
