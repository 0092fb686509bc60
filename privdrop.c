/* Never read a client byte as root. Started as root (inetd, xinetd,
   a supervisor without tcpserver -u), the session becomes the user named
   by UID and GID, the variables daemontools' envuidgid sets (as for
   qmail's tcpserver -U), before anything else: control files, plugins and
   the client are all handled as that user. Without them, or when they
   name root, it refuses with 421. */
#define _GNU_SOURCE             /* getresuid */
#include <grp.h>
#include <stdlib.h>
#include <unistd.h>
#include <scan.h>
#include "env.h"
#include "log.h"
#include "privdrop.h"
#include "reply.h"

static void refuse(struct session *s, const char *why)
{
  qlogm(s, LOGCRIT, NULL, "started as root: ", why, "; refusing to read client input as root");
  replys(s, 421, "4.3.0", "configuration error, closing connection");
  reply_flush_exit(s, 100);
}

/* a whole decimal number, not 0 (root), not -1 ((uid_t)-1 means "no change") */
static int id_parse(const char *v, unsigned long *id)
{
  size_t n;
  if (!v || !*v) return 0;
  n = scan_ulong(v, id);
  if (!n || v[n] || *id == 0 || *id >= 0xffffffffUL) return 0;
  return 1;
}

/* started as root: become UID/GID for good. A function of its own, so
   that a session started as a user (tcpserver -u -g) runs (and maps)
   only priv_drop's test. */
static __attribute__((noinline)) void drop_root(struct session *s)
{
  unsigned long u, g;
  uid_t uid;
  gid_t gid;

  if (!env_get("UID") || !env_get("GID")) refuse(s, "UID and GID are not set");
  if (!id_parse(env_get("UID"), &u)) refuse(s, "UID is not a user id other than 0");
  if (!id_parse(env_get("GID"), &g)) refuse(s, "GID is not a group id other than 0");
  uid = (uid_t)u;
  gid = (gid_t)g;
  if ((unsigned long)uid != u || (unsigned long)gid != g) refuse(s, "UID or GID out of range");
  if (setgroups(1, &gid) == -1) refuse(s, "setgroups failed");
  if (setgid(gid) == -1) refuse(s, "setgid failed");
  if (setuid(uid) == -1) refuse(s, "setuid failed");
  /* verify: real, effective and saved ids are gone for good */
  if (getuid() != uid || geteuid() != uid || getgid() != gid || getegid() != gid)
    refuse(s, "the ids did not change");
  if (setuid(0) != -1 || seteuid(0) != -1) refuse(s, "root could be regained");
}

void priv_drop(struct session *s)
{
  uid_t r, e, sv;
  /* one system call, not getuid and geteuid */
  if (getresuid(&r, &e, &sv) == -1) { r = getuid(); e = geteuid(); }
  if (r == 0 || e == 0) drop_root(s);
}
