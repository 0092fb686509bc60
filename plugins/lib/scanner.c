/* The content scanners' shared parts (scanner.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fmt.h>
#include <scan.h>
#include <str.h>
#include "netio.h"
#include "scanner.h"
#include "hostport.h"

#define CHUNK 65536

int scanner_arg(struct scanner_opts *o, const char *k, const char *v, stralloc *err)
{
  size_t n;
  if (str_equal(k, "size_limit")) {
    n = scan_ulong(v, &o->size_limit);
    if (!n || v[n]) return arg_error(err, "size_limit takes a number of bytes, not ", v);
  } else if (str_equal(k, "relayclient")) {
    if (!str_equal(v, "skip")) return arg_error(err, "relayclient takes skip, not ", v);
    o->relay_skip = 1;
  } else if (str_equal(k, "timeout")) {
    n = scan_ulong(v, &o->timeout);
    if (!n || v[n] || !o->timeout || o->timeout > 3600) return arg_error(err, "timeout takes seconds (1-3600), not ", v);
  } else if (str_equal(k, "on_error")) {
    if (str_equal(v, "pass")) o->defer = 0;
    else if (str_equal(v, "defer")) o->defer = 1;
    else return arg_error(err, "on_error takes pass or defer, not ", v);
  } else if (str_equal(k, "reject_type")) {
    int rc = reject_type_code(v, 0);
    if (!rc) return arg_error(err, "reject_type takes perm, hard, temp, soft, disconnect or temp_disconnect, not ", v);
    o->rc = rc;
  } else
    return -1;
  return 1;
}

int scanner_skip(struct session *s, const struct scanner_opts *o, const char *plugin)
{
  char num[FMT_ULONG];
  if (txn_data_size(s) > o->size_limit) {
    num[fmt_ulonglong(num, txn_data_size(s))] = 0;
    qlogm(s, LOGINFO, plugin, "skip, too large (", num, ")");
    return 1;
  }
  if (o->relay_skip && session_relay_client(s)) { qlog(s, LOGINFO, plugin, "skip, relay client"); return 1; }
  return 0;
}

/* "cannot write to spamd", or "spamd timed out" past the deadline */
static const char *why(stralloc *w, const char *what, const char *daemon)
{
  int t = errno == ETIMEDOUT;
  w->len = 0;
  if (!stralloc_copys(w, t ? daemon : what) || !stralloc_cats(w, t ? " timed out" : daemon) || !stralloc_0(w))
    return "out of memory";
  return w->s;
}

const char *scanner_exchange(struct session *s, const struct scanner_opts *o, const char *addr, const char *daemon,
                             const stralloc *head, int half_close, stralloc *rep, size_t max, int *nomem)
{
  static stralloc w;
  unsigned long long off = 0;
  const char *y = 0;
  long long deadline = net_deadline(o->timeout * 1000);
  char *buf = malloc(CHUNK);
  int fd = -1;

  *nomem = !buf;
  if (!buf) return "out of memory";
  fd = hostport_connect(s, addr, deadline);
  if (fd < 0) { y = why(&w, "cannot connect to ", daemon); goto out; }
  if (net_write_all(fd, head->s, head->len, deadline) == -1) { y = why(&w, "cannot write to ", daemon); goto out; }
  for (;;) {
    ssize_t r = txn_message_read(s, off, buf, CHUNK);
    if (r < 0) { y = "cannot read the spool"; goto out; }
    if (r == 0) break;
    off += (unsigned long long)r;
    if (net_write_all(fd, buf, (size_t)r, deadline) == -1) { y = why(&w, "cannot write to ", daemon); goto out; }
  }
  if (half_close) shutdown(fd, SHUT_WR);
  for (;;) {
    ssize_t r = net_read(fd, buf, CHUNK, deadline);
    if (r < 0) { y = why(&w, "cannot read from ", daemon); goto out; }
    if (r == 0) break;
    if (rep->len + (size_t)r > max) { errno = 0; y = why(&w, "answer too long from ", daemon); goto out; }
    if (!stralloc_catb(rep, buf, (size_t)r)) { *nomem = 1; y = "out of memory"; goto out; }
  }
out:
  if (fd >= 0) close(fd);
  free(buf);
  return y;
}

int scanner_failed(struct session *s, const struct scanner_opts *o, const char *plugin, stralloc *msg, const char *why)
{
  qlogm(s, LOGERROR, plugin, o->defer ? "defer, " : "pass, not scanned, ", why);
  if (!o->defer) return DECLINED;
  stralloc_copys(msg, "4.3.0 spam scanner unavailable, try again later");
  return DENYSOFT;
}

static stralloc prefix;

int scanner_prefix(struct session *s, const char *arg)
{
  if (arg) return stralloc_copys(&prefix, arg) && stralloc_0(&prefix);
  if (!control_readline(s, "subject_prefix", &prefix) || prefix.len <= 1)
    if (!stralloc_copys(&prefix, "*** SPAM ***") || !stralloc_0(&prefix)) return 0;
  return 1;
}

int scanner_setup(struct session *s, void *self)
{
  (void)self;
  return scanner_prefix(s, 0);
}

int scanner_subject(struct session *s, const char *plugin, const char *subject)
{
  stralloc f = {0}, v = {0};
  int ok = 0;
  if (subject) {
    if (!stralloc_copys(&f, subject)) goto out;
  } else {
    if (!stralloc_copyb(&f, prefix.s, prefix.len - 1) || !stralloc_cats(&f, " ")) goto out;
    if (txn_header_get(s, "Subject", &v) == 1 && !stralloc_cat(&f, &v)) goto out;
  }
  if (!stralloc_0(&f)) goto out;
  if (txn_header_delete(s, "Subject") >= 0) {
    if (!txn_add_header(s, "Subject", f.s)) goto out;
  } else
    qlog(s, LOGWARN, plugin, "header section too large to change the Subject");
  ok = 1;
out:
  stralloc_free(&f);
  stralloc_free(&v);
  return ok;
}
