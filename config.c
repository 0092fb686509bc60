/* The core's control files, read once before the greeting into struct
   config (config.h): a file that exists but does not parse ends the
   session with 421 at connect, naming the file and the line. A missing
   file costs nothing but a look at the control directories' listings
   (control.c), so every session reads them all. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <scan.h>
#include "auth.h"
#include "config.h"
#include "control.h"
#include "env.h"
#include "ipnet.h"
#include "log.h"
#include "notes.h"
#include "reply.h"
#include "session.h"

/* the first value of NAME into sa (\0-terminated), with where it came
   from in at: 1, or 0 when the file is missing or holds no value */
static int first_value(struct session *s, const char *name, stralloc *sa, struct control_at *at)
{
  if (!control_readlist_at(s, name, sa, at) || !sa->len) return 0;
  sa->len = strlen(sa->s) + 1;
  return 1;
}

static void read_me(struct session *s, struct config *c)
{
  if (!control_readline(s, "me", &c->me)) {
    char h[256];
    if (gethostname(h, sizeof h - 1) == -1) die_control(s, "me", "no me and no host name");
    h[sizeof h - 1] = 0;
    if (!stralloc_copys(&c->me, h) || !stralloc_0(&c->me)) die_nomem(s);
  }
  c->greeting.len = 0;
  if (control_readline(s, "smtpgreeting", &c->greeting) && c->greeting.len < 2) c->greeting.len = 0;
}

/* spool_perms and spool_dir; the directory is made here when missing */
static void read_spool(struct session *s, struct config *c)
{
  stralloc p = {0};
  struct control_at at = { {0}, {0} };
  c->spool_perms = 0700;
  if (first_value(s, "spool_perms", &p, &at)) {
    size_t n = scan_8long(p.s, &c->spool_perms);
    if (!n || n != p.len - 1 || c->spool_perms > 07777)
      die_control_at(s, &at, &p, p.s, "spool_perms", "not an octal mode");
  }
  if (first_value(s, "spool_dir", &c->spool_dir, &at)) {
    stralloc *d = &c->spool_dir;
    struct stat st;
    while (d->len > 2 && d->s[d->len - 2] == '/') { d->s[d->len - 2] = 0; d->len--; }
    if (stat(d->s, &st) == -1) {
      /* chmod: mkdir's mode went through the umask */
      if (errno != ENOENT || mkdir(d->s, (mode_t)c->spool_perms) == -1 || chmod(d->s, (mode_t)c->spool_perms) == -1)
        die_control_at(s, &at, d, d->s, "spool_dir", "cannot create the spool directory");
    } else if ((st.st_mode & 07777) != c->spool_perms)
      qlogm(s, LOGWARN, NULL, "Permissions on spool_dir ", d->s, " are not as spool_perms says");
  } else {
    const char *t = env_get("TMPDIR");
    if (!stralloc_copys(&c->spool_dir, t && *t ? t : "/tmp") || !stralloc_0(&c->spool_dir)) die_nomem(s);
  }
  stralloc_free(&p);
  stralloc_free(&at.files);
  stralloc_free(&at.lines);
}

static void read_auth(struct session *s, struct config *c)
{
  stralloc sa = {0};
  unsigned long u;
  c->tls_before_auth = 0;
  c->auth_delay_ms = 3000;
  c->auth_limit = 3;
  if (!auth_command_known(s)) return;       /* no AUTH: its files do not matter */
  if (control_readline(s, "tls_before_auth", &sa)) c->tls_before_auth = note_true(sa.s);
  stralloc_free(&sa);
  if (control_readulong(s, "auth_failure_delay", &u, 0, 600000)) c->auth_delay_ms = u;
  if (control_readulong(s, "auth_failure_limit", &u, 1, 1000)) c->auth_limit = u;
}

/* maxrcpt and maxmail, advertised as LIMITS RCPTMAX and MAILMAX */
static void read_limits(struct session *s, struct config *c)
{
  unsigned long u;
  c->rcpt_max = RCPT_MAX;
  c->mail_max = 0;
  c->limits_set = 0;
  if (control_readulong(s, "maxrcpt", &u, 1, RCPT_MAX)) { c->rcpt_max = u; c->limits_set = 1; }
  if (control_readulong(s, "maxmail", &u, 1, 1000000)) { c->mail_max = u; c->limits_set = 1; }
}

/* proxyclients: one network a line, "10.0.0.0/8", "2001:db8::/32" or a
   bare address; anything after white space is a comment */
static void read_proxy(struct session *s, struct config *c)
{
  unsigned long u;
  c->proxy_timeout = 5;
  if (!control_readnets(s, "proxyclients", &c->proxy_nets)) return;
  if (control_readulong(s, "timeoutproxy", &u, 1, 300)) c->proxy_timeout = u;
}

void config_read(struct session *s)
{
  struct config *c = &s->conf;
  unsigned long u;
  read_me(s, c);
  c->timeout = 1200;
  /* Perl's fallback: timeout when there is no timeoutsmtpd */
  if (control_readulong(s, "timeoutsmtpd", &u, 1, 86400) || control_readulong(s, "timeout", &u, 1, 86400))
    c->timeout = u;
  c->databytes = 0;
  if (control_readulong(s, "databytes", &u, 0, (unsigned long)-1 >> 1)) c->databytes = u;
  c->loglevel = LOGWARN;
  if (control_readulong(s, "loglevel", &u, 0, 7)) c->loglevel = (int)u;
  c->size_threshold = 10000;
  if (control_readulong(s, "size_threshold", &u, 0, 1UL << 30)) c->size_threshold = u;
  c->strict_lines = 0;
  if (control_readulong(s, "strict_line_length", &u, 0, 1)) c->strict_lines = (int)u;
  c->data_min_rate = 500;
  if (control_readulong(s, "data_min_rate", &u, 0, 1000000000UL)) c->data_min_rate = u;
  c->data_grace = 30;
  if (control_readulong(s, "data_rate_grace", &u, 0, 86400)) c->data_grace = u;
  c->queue_timeout = 300;
  if (control_readulong(s, "timeoutqueue", &u, 1, 86400)) c->queue_timeout = u;
  read_spool(s, c);
  read_auth(s, c);
  read_proxy(s, c);
  read_limits(s, c);
  /* the Authentication-Results id: me-auth-results, else me */
  if (!control_readline(s, "me-auth-results", &c->authres_id) || c->authres_id.len < 2)
    c->authres_id.len = 0;
}
