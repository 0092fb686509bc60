/* rcpt_postfix_maps: refuses, at RCPT, a recipient that the Postfix
   behind us would refuse, by looking it up in the same tables Postfix
   uses (virtual_alias_maps, virtual_mailbox_maps, local_recipient_maps'
   tables...) with Postfix's own postmap, so every table type Postfix
   knows (hash, lmdb, cdb, texthash, pcre, ldap...) works unchanged.

   For a recipient user@domain the keys are, in order, "user@domain",
   "@domain" (a catch-all), and with localpart yes also "user" (the key
   of local tables such as aliases); one `postmap -q - MAP...` (keys on
   its standard input, exec'd without a shell) looks them all up in every
   map. Found: DECLINED (rcpt_ok still decides on relaying); not found:
   550 5.1.1; postmap failing or slower than timeout: 450 4.3.0
   (on_error pass: DECLINED). Relay clients are not checked.

   Arguments (in pairs, map and domain repeatable):
     map TYPE:NAME     a table to search (at least one)
     domain NAME       check only recipients of these domains (default: all)
     localpart yes|no  also look up the bare local part (no)
     postmap PATH      (/usr/sbin/postmap)
     config_dir DIR    postmap -c DIR (Postfix's main.cf there)
     timeout S         (5)
     on_error defer|pass   (defer) */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE             /* pipe2 */
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <byte.h>
#include <case.h>
#include <scan.h>
#include <str.h>
#include "plugin.h"
#include "netio.h"

#define PLUGIN "rcpt_postfix_maps"
#define MAPS_MAX 8
#define DOMAINS_MAX 64
#define OUT_MAX 16384

struct pm {
  const char *maps[MAPS_MAX];
  unsigned int nmaps;
  const char *domains[DOMAINS_MAX];
  unsigned int ndomains;
  int localpart, pass_error;
  const char *postmap, *config_dir;
  unsigned long timeout;
};

static int pm_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct pm *c = calloc(1, sizeof *c);
  int i;
  if (!c) return arg_error(err, "out of memory", 0);
  c->postmap = "/usr/sbin/postmap";
  c->timeout = 5;
  for (i = 0; i < argc; i += 2) {
    const char *k = argv[i], *v;
    if (i + 1 >= argc) return arg_error(err, "missing value after ", k);
    v = argv[i + 1];
    if (str_equal(k, "map")) {
      if (c->nmaps == MAPS_MAX) return arg_error(err, "too many maps", 0);
      if (!strchr(v, ':') || v[0] == '-') return arg_error(err, "map takes TYPE:NAME, not ", v);
      c->maps[c->nmaps++] = v;
    } else if (str_equal(k, "domain")) {
      if (c->ndomains == DOMAINS_MAX) return arg_error(err, "too many domains", 0);
      c->domains[c->ndomains++] = v;
    } else if (str_equal(k, "localpart")) {
      if (str_equal(v, "yes")) c->localpart = 1;
      else if (str_equal(v, "no")) c->localpart = 0;
      else return arg_error(err, "localpart takes yes or no, not ", v);
    } else if (str_equal(k, "postmap") || str_equal(k, "config_dir")) {
      if (v[0] != '/') return arg_error(err, "takes an absolute path: ", k);
      if (k[0] == 'p') c->postmap = v; else c->config_dir = v;
    } else if (str_equal(k, "timeout")) {
      size_t n = scan_ulong(v, &c->timeout);
      if (!n || v[n] || !c->timeout || c->timeout > 3600) return arg_error(err, "timeout takes seconds (1-3600), not ", v);
    } else if (str_equal(k, "on_error")) {
      if (str_equal(v, "pass")) c->pass_error = 1;
      else if (str_equal(v, "defer")) c->pass_error = 0;
      else return arg_error(err, "on_error takes defer or pass, not ", v);
    } else
      return arg_error(err, "unknown argument ", k);
  }
  if (!c->nmaps) return arg_error(err, "needs at least one map TYPE:NAME", 0);
  *self = c;
  return 1;
}

/* runs postmap -q - over keys: 1 when a line of its output starts with
   one of the keys, 0 when none does, -1 (why) when it failed */
static int pm_lookup(struct session *s, const struct pm *c, const stralloc *keys, const char **why)
{
  char *argv[MAPS_MAX + 6];
  char *const envp[] = { 0 };
  char out[OUT_MAX + 1];
  size_t len = 0, i, start;
  int in[2] = { -1, -1 }, o[2] = { -1, -1 }, n = 0, status = 0, killed = 0, found = 0, fatal = 0;
  unsigned int m;
  long long deadline;
  struct spawn sp;
  pid_t pid;

  argv[n++] = (char *)c->postmap;
  if (c->config_dir) { argv[n++] = (char *)"-c"; argv[n++] = (char *)c->config_dir; }
  argv[n++] = (char *)"-q";
  argv[n++] = (char *)"-";
  for (m = 0; m < c->nmaps; ++m) argv[n++] = (char *)c->maps[m];
  argv[n] = 0;
  *why = "cannot start postmap";
  if (pipe2(in, O_CLOEXEC) == -1 || pipe2(o, O_CLOEXEC) == -1) goto fail;
  memset(&sp, 0, sizeof sp);
  sp.path = c->postmap;
  sp.argv = argv;
  sp.envp = envp;
  sp.nfd = 3;
  sp.from[0] = in[0]; sp.to[0] = 0;
  sp.from[1] = o[1]; sp.to[1] = 1;
  sp.from[2] = o[1]; sp.to[2] = 2;
  sp.failcode = 111;
  pid = spawn_start(s, &sp);
  if (pid == -1) goto fail;
  close(in[0]); in[0] = -1;
  close(o[1]); o[1] = -1;
  deadline = net_deadline(c->timeout * 1000);
  /* the keys are a few hundred bytes: the pipe takes them whole */
  if (fd_write_all(in[1], keys->s, keys->len) == -1) killed = 1;
  close(in[1]); in[1] = -1;
  while (!killed) {
    ssize_t r;
    if (len >= OUT_MAX || net_wait(o[0], POLLIN, deadline) == -1) { killed = 1; break; }
    r = read(o[0], out + len, OUT_MAX - len);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    len += (size_t)r;
  }
  close(o[0]); o[0] = -1;
  if (killed) { kill(-pid, SIGKILL); kill(pid, SIGKILL); }
  spawn_wait(pid, &status, 0);
  if (killed) { *why = "postmap took too long (killed)"; return -1; }
  out[len] = 0;
  for (start = 0, i = 0; i <= len; ++i) {
    size_t k, l;
    if (i < len && out[i] != '\n') continue;
    l = i - start;
    if (l > 9 && !memcmp(out + start, "postmap: ", 9)) {
      char line[201];
      for (k = 0; k < l && k < 200; ++k) line[k] = (unsigned char)out[start + k] < 0x20 || out[start + k] == 0x7f ? '?' : out[start + k];
      line[k] = 0;
      if (l >= 15 && byte_equal(out + start + 9, 6, "fatal:")) fatal = 1;
      qlog(s, LOGWARN, PLUGIN, line);
    } else
      for (k = 0; k < keys->len;) {
        const char *key = keys->s + k, *nl = memchr(key, '\n', keys->len - k);
        size_t kl = nl ? (size_t)(nl - key) : keys->len - k;
        if (l > kl && !case_diffb(out + start, kl, key) && (out[start + kl] == ' ' || out[start + kl] == '\t')) found = 1;
        k += kl + 1;
      }
    start = i + 1;
  }
  if (!WIFEXITED(status) || (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 1) || fatal) {
    *why = "postmap failed";
    return -1;
  }
  return found;
fail:
  if (in[0] >= 0) close(in[0]);
  if (in[1] >= 0) close(in[1]);
  if (o[0] >= 0) close(o[0]);
  if (o[1] >= 0) close(o[1]);
  return -1;
}

static int pm_rcpt(struct session *s, void *self, struct addr_args *a)
{
  struct pm *c = self;
  stralloc keys = {0}, addr = {0};
  size_t at, i;
  unsigned int d;
  const char *why = 0;
  int r, rc = DECLINED;

  if (session_relay_client(s) || !a->addrlen) return DECLINED;
  at = byte_rchr(a->addr, a->addrlen, '@');
  if (at == a->addrlen || !at || at + 1 == a->addrlen) return DECLINED;
  /* a key is one line of postmap's input: no control bytes, no space */
  for (i = 0; i < a->addrlen; ++i) if ((unsigned char)a->addr[i] <= ' ' || a->addr[i] == 0x7f) return DECLINED;
  if (c->ndomains) {
    for (d = 0; d < c->ndomains; ++d)
      if (str_len(c->domains[d]) == a->addrlen - at - 1 && !case_diffb(c->domains[d], a->addrlen - at - 1, a->addr + at + 1)) break;
    if (d == c->ndomains) return DECLINED;
  }
  if (!stralloc_copyb(&addr, a->addr, a->addrlen) || !stralloc_0(&addr)
      || !stralloc_copyb(&keys, a->addr, a->addrlen) || !stralloc_cats(&keys, "\n")
      || !stralloc_catb(&keys, a->addr + at, a->addrlen - at) || !stralloc_cats(&keys, "\n")
      || (c->localpart && (!stralloc_catb(&keys, a->addr, at) || !stralloc_cats(&keys, "\n")))) {
    rc = hook_nomem(a->msg);
    goto out;
  }
  r = pm_lookup(s, c, &keys, &why);
  if (r == 1) qlogm(s, LOGINFO, PLUGIN, "pass, ", addr.s, " found");
  else if (r == 0) {
    qlogm(s, LOGINFO, PLUGIN, "deny, ", addr.s, " not found");
    stralloc_copys(a->msg, "5.1.1 <");
    stralloc_cats(a->msg, addr.s);
    stralloc_cats(a->msg, ">: Recipient address rejected: User unknown");
    rc = DENY;
  } else {
    qlogm(s, LOGERROR, PLUGIN, c->pass_error ? "pass, " : "defer, ", addr.s, ": ", why);
    if (!c->pass_error) {
      stralloc_copys(a->msg, "4.3.0 Recipient lookup failed, try again later");
      rc = DENYSOFT;
    }
  }
out:
  stralloc_free(&keys);
  stralloc_free(&addr);
  return rc;
}

const struct plugin plugin_rcpt_postfix_maps = {
  .name = PLUGIN,
  .init = pm_init,
  .rcpt = pm_rcpt,
};
