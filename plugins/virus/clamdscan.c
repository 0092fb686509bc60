/* virus/clamdscan: scans the message with clamd at data_post, as Perl
   qpsmtpd's plugins/virus/clamdscan, but over clamd's INSTREAM command,
   so clamd needs no access to the spool: "zINSTREAM\0", then chunks of
   the message read from the spool, each a 4-byte big-endian length and
   the bytes, then a zero length. clamd answers "stream: OK",
   "stream: NAME FOUND" or "... ERROR", NUL-terminated.

   Arguments:
     clamd_socket ADDR   a socket path or IP:port (/var/run/clamav/clamd.ctl)
     clamd_port N        127.0.0.1:N (Perl's), instead of clamd_socket
     clamd_host HOST     with clamd_port (3310 without it): an IP address or
                         a host name looked up through the resolver (Perl's)
     deny_viruses yes|no yes: reject ("Virus found: NAME"); no: add
                         X-Virus-Found and X-Virus-Details and accept
     max_size KB         skip larger messages (128)
     scan_all 0|1        0: only multipart messages, as Perl's default (1)
     timeout S           the deadline for the whole exchange (30)
     on_error defer|pass clamd down, slow or failing: 451 (default, as Perl)
                         or accept unscanned
     defer_on_error 1|0  Perl's name for on_error defer (1, yes) or pass (0, no)
   A clean message gets "X-Virus-Checked: Checked by ClamAV on ME". */
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
#include "../lib/hostport.h"

#define PLUGIN "virus/clamdscan"
#define CHUNK 65536

struct clam {
  const char *socket;
  char tcp[300];
  int deny;
  unsigned long max_kb;
  int scan_all;
  unsigned long timeout;
  int pass;
};

static int clam_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct clam *c = calloc(1, sizeof *c);
  int i;
  unsigned long port = 0;
  const char *host = NULL;
  if (!c) return arg_error(err, "out of memory", 0);
  c->socket = "/var/run/clamav/clamd.ctl";
  c->deny = 1;
  c->max_kb = 128;
  c->scan_all = 1;
  c->timeout = 30;
  for (i = 0; i < argc; i += 2) {
    const char *k = argv[i], *v;
    size_t n;
    unsigned long u;
    if (i + 1 >= argc) return arg_error(err, "missing value after ", k);
    v = argv[i + 1];
    if (str_equal(k, "clamd_socket")) {
      if (!net_addr_ok(v)) return arg_error(err, "clamd_socket takes an absolute socket path or IP:port, not ", v);
      c->socket = v;
    } else if (str_equal(k, "clamd_port")) {
      n = scan_ulong(v, &u);
      if (!n || v[n] || !u || u > 65535) return arg_error(err, "clamd_port takes a port number, not ", v);
      port = u;
    } else if (str_equal(k, "clamd_host")) {
      if (strlen(v) > 253 || strchr(v, ':') || strchr(v, '/'))
        return arg_error(err, "clamd_host takes an IPv4 address or a host name, not ", v);
      host = v;
    } else if (str_equal(k, "defer_on_error")) {
      if (str_equal(v, "1") || !case_diffs(v, "yes")) c->pass = 0;
      else if (str_equal(v, "0") || !case_diffs(v, "no")) c->pass = 1;
      else return arg_error(err, "defer_on_error takes 1 (yes) or 0 (no), not ", v);
    } else if (str_equal(k, "deny_viruses")) {
      if (!case_diffs(v, "yes")) c->deny = 1;
      else if (!case_diffs(v, "no")) c->deny = 0;
      else return arg_error(err, "deny_viruses takes yes or no, not ", v);
    } else if (str_equal(k, "max_size")) {
      n = scan_ulong(v, &c->max_kb);
      if (!n || v[n] || c->max_kb > 4UL * 1024 * 1024) return arg_error(err, "max_size takes kilobytes, not ", v);
    } else if (str_equal(k, "scan_all")) {
      if (str_equal(v, "0")) c->scan_all = 0;
      else if (str_equal(v, "1")) c->scan_all = 1;
      else return arg_error(err, "scan_all takes 0 or 1, not ", v);
    } else if (str_equal(k, "timeout")) {
      n = scan_ulong(v, &c->timeout);
      if (!n || v[n] || !c->timeout || c->timeout > 3600) return arg_error(err, "timeout takes seconds (1-3600), not ", v);
    } else if (str_equal(k, "on_error")) {
      if (str_equal(v, "defer")) c->pass = 0;
      else if (str_equal(v, "pass")) c->pass = 1;
      else return arg_error(err, "on_error takes defer or pass, not ", v);
    } else
      return arg_error(err, "unknown argument ", k);
  }
  if (port || host) {
    size_t n = str_copy(c->tcp, host ? host : "127.0.0.1");
    c->tcp[n++] = ':';
    c->tcp[n + fmt_ulong(c->tcp + n, port ? port : 3310)] = 0;
    if (!hostport_ok(c->tcp)) return arg_error(err, "clamd_host takes an IPv4 address or a host name, not ", host);
    c->socket = c->tcp;
  }
  *self = c;
  return 1;
}

static int failed(struct session *s, struct clam *c, stralloc *msg, const char *why, const char *detail)
{
  qlogm(s, LOGERROR, PLUGIN, c->pass ? "pass, not scanned, " : "defer, ", why, detail ? detail : "");
  if (c->pass) return DECLINED;
  stralloc_copys(msg, "4.3.0 virus scanner unavailable, try again later");
  return DENYSOFT;
}

static int multipart(struct session *s)
{
  stralloc ct = {0};
  size_t i;
  int yes = 0;
  if (txn_header_get(s, "Content-Type", &ct) == 1)
    for (i = 0; i + 10 <= ct.len; ++i)
      if (!case_diffb(ct.s + i, 10, "multipart/")) { yes = 1; break; }
  stralloc_free(&ct);
  return yes;
}

static int clam_data_post(struct session *s, void *self, struct msg_args *a)
{
  struct clam *c = self;
  unsigned long long size = txn_message_size(s), off = 0, limit;
  long long deadline;
  char *buf = 0, reply[512], num[24];
  size_t rlen = 0;
  int fd = -1, rc = DECLINED;

  if (__builtin_mul_overflow((unsigned long long)c->max_kb, 1024ULL, &limit)) limit = ~0ULL;
  if (txn_data_size(s) > limit) {
    num[fmt_ulonglong(num, txn_data_size(s))] = 0;
    qlogm(s, LOGNOTICE, PLUGIN, "skip, too large (", num, " bytes)");
    return DECLINED;
  }
  if (!c->scan_all && !multipart(s)) { qlog(s, LOGNOTICE, PLUGIN, "skip, not multipart"); return DECLINED; }
  if (!(buf = malloc(CHUNK + 4))) return hook_nomem(a->msg);

  deadline = net_deadline(c->timeout * 1000);
  fd = hostport_connect(s, c->socket, deadline);
  if (fd < 0) { rc = failed(s, c, a->msg, "cannot connect to clamd at ", c->socket); goto out; }
  if (net_write_all(fd, "zINSTREAM", 10, deadline) == -1) { rc = failed(s, c, a->msg, "cannot write to clamd", 0); goto out; }
  for (;;) {
    ssize_t r = off < size ? txn_message_read(s, off, buf + 4, CHUNK) : 0;
    if (r < 0) { rc = failed(s, c, a->msg, "cannot read the spool", 0); goto out; }
    buf[0] = (char)((unsigned long)r >> 24); buf[1] = (char)((unsigned long)r >> 16);
    buf[2] = (char)((unsigned long)r >> 8);  buf[3] = (char)r;
    /* clamd may stop reading and answer early (size limit): a failed
       write is then followed by its answer */
    if (net_write_all(fd, buf, (size_t)r + 4, deadline) == -1) break;
    if (r == 0) break;
    off += (unsigned long long)r;
  }
  for (;;) {
    ssize_t r = net_read(fd, reply + rlen, sizeof reply - 1 - rlen, deadline);
    if (r < 0) {
      if (errno == ETIMEDOUT) { rc = failed(s, c, a->msg, "clamd timed out", 0); goto out; }
      if (errno == ECONNRESET && rlen) break;
      rc = failed(s, c, a->msg, "cannot read from clamd", 0);
      goto out;
    }
    if (r == 0) break;
    rlen += (size_t)r;
    if (memchr(reply, 0, rlen) || rlen == sizeof reply - 1) break;
  }
  reply[rlen] = 0;
  rlen = strlen(reply);
  while (rlen && (reply[rlen - 1] == '\n' || reply[rlen - 1] == '\r')) reply[--rlen] = 0;
  {
    size_t i;
    for (i = 0; i < rlen; ++i) if ((unsigned char)reply[i] < 0x20 || (unsigned char)reply[i] > 0x7e) reply[i] = '?';
  }
  if (rlen >= 6 && str_equal(reply + rlen - 6, " FOUND") && !strncmp(reply, "stream: ", 8)) {
    char *name = reply + 8;
    reply[rlen - 6] = 0;
    qlogm(s, LOGERROR, PLUGIN, "virus found: ", name);
    karma_adjust(s, -1);
    if (c->deny) {
      stralloc_copys(a->msg, "5.7.1 Virus found: ");
      stralloc_cats(a->msg, name);
      rc = DENY;
      goto out;
    }
    if (!txn_add_header(s, "X-Virus-Found", "Yes") || !txn_add_header(s, "X-Virus-Details", name)) {
      hook_nomem(a->msg);
      rc = DENYSOFT;
    }
    goto out;
  }
  if (!str_equal(reply, "stream: OK")) { rc = failed(s, c, a->msg, "clamd answered: ", reply); goto out; }
  {
    stralloc h = {0};
    if (!stralloc_copys(&h, "Checked by ClamAV on ") || !stralloc_cats(&h, session_me(s)) || !stralloc_0(&h)
        || !txn_add_header(s, "X-Virus-Checked", h.s)) {
      hook_nomem(a->msg);
      rc = DENYSOFT;
    } else
      qlog(s, LOGINFO, PLUGIN, "pass, clean");
    stralloc_free(&h);
  }
out:
  if (fd >= 0) close(fd);
  free(buf);
  return rc;
}

const struct plugin plugin_virus_clamdscan = {
  .name = PLUGIN,
  .init = clam_init,
  .data_post = clam_data_post,
};
