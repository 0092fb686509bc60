/* UCSPI-TLS (sslserver -n, s6-ucspitlsd): fd 0/1 are the plain socket
   until we ask for TLS by writing "Y" to SSLCTLFD; sslserver then runs
   the handshake, answers with "VAR=value\0...\0" (an extra NUL at the
   end), and from then on the decrypted stream is on SSLREADFD and
   SSLWRITEFD, which become our fd 0 and 1. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <scan.h>
#include "env.h"
#include "io.h"
#include "notes.h"
#include "session.h"
#include "tls.h"

#define ENV_MAX 65536

static int envfd(const char *name)
{
  const char *e = env_get(name);
  unsigned long u;
  size_t n;
  if (!e || !*e) return -1;
  n = scan_ulong(e, &u);
  if (!n || e[n] || u > 65535) return -1;
  return (int)u;
}

int ucspitls_available(void)
{
  return envfd("SSLCTLFD") >= 0 && envfd("SSLREADFD") >= 0 && envfd("SSLWRITEFD") >= 0;
}

/* keeps what the session uses from sslserver's variables */
static void import(struct session *s, const char *var, size_t len)
{
  static const struct { const char *var; const char *note; } map[] = {
    { "SSL_PROTOCOL=", "tls_version" }, { "SSL_CIPHER=", "tls_cipher" },
  };
  size_t i;
  for (i = 0; i < sizeof map / sizeof map[0]; ++i) {
    size_t l = strlen(map[i].var);
    if (len > l && !memcmp(var, map[i].var, l)) notes_set(&s->notes, map[i].note, var + l);
  }
}

int ucspitls_start(struct session *s, unsigned long seconds, const char **err)
{
  int ctl = envfd("SSLCTLFD"), rfd = envfd("SSLREADFD"), wfd = envfd("SSLWRITEFD");
  stralloc env = {0};
  long long saved = s->deadline;
  size_t i;
  int ok = 0;

  io_set_deadline(s, seconds);
  if (io_raw_write(ctl, "Y", 1) != 1) { *err = "cannot write to SSLCTLFD"; goto done; }
  /* the handshake happens now; then the variables come */
  for (;;) {
    ssize_t r;
    if (env.len >= ENV_MAX) { *err = "sslserver sent too many variables"; goto done; }
    if (!stralloc_readyplus(&env, 4096)) { *err = "out of memory"; goto done; }
    r = io_raw_read(ctl, env.s + env.len, 4096);
    if (r == 0) { *err = "sslserver closed SSLCTLFD: the handshake failed"; goto done; }
    if (r < 0) { *err = errno == ETIMEDOUT ? "handshake timed out" : "cannot read SSLCTLFD"; goto done; }
    env.len += (size_t)r;
    if (env.len == 1 && env.s[0] == 0) break;                 /* no variables */
    if (env.len >= 2 && !env.s[env.len - 1] && !env.s[env.len - 2]) break;
  }
  for (i = 0; i < env.len && env.s[i];) {
    size_t l = strlen(env.s + i);
    import(s, env.s + i, l);
    i += l + 1;
  }
  if (dup2(rfd, 0) == -1 || dup2(wfd, 1) == -1) { *err = "cannot move the TLS pipes to fd 0 and 1"; goto done; }
  if (rfd > 1) close(rfd);
  if (wfd > 1 && wfd != rfd) close(wfd);
  ok = 1;
done:
  s->deadline = saved;
  stralloc_free(&env);
  return ok;
}
