/* Log lines on fd 2: "pid level (hook) plugin: text", filtered by loglevel.
   Nothing goes to fd 2 when it is the client's socket (xinetd). */
#include <sys/stat.h>
#include <unistd.h>
#include <stdarg.h>
#include <string.h>
#include <fmt.h>
#include "log.h"
#include "session.h"

static const char *const levelname[8] = {
  "emerg", "alert", "crit", "error", "warn", "notice", "info", "debug"
};

void log_init(struct session *s)
{
  struct stat st0, st2;
  s->logok = 1;
  if (fstat(2, &st2) == -1) { s->logok = 0; return; }
  if (S_ISSOCK(st2.st_mode) && fstat(0, &st0) == 0
      && st0.st_dev == st2.st_dev && st0.st_ino == st2.st_ino)
    s->logok = 0;
}

/* where log lines go instead of fd 2 (hooks.c sets it when a plugin
   has the logging hook); NULL: fd 2 */
static log_sink *sink;

void log_set_sink(log_sink *f)
{
  sink = f;
}

static log_adjust *adjust;

void log_set_adjust(log_adjust *f)
{
  adjust = f;
}

static unsigned long logpid;

/* inlined in both callers: a log line costs no extra call */
static inline __attribute__((always_inline)) void line_at(struct session *s, int level, const char *hook, const char *plugin,
                    const char *text, size_t len)
{
  char buf[1024];
  size_t n = 0, i, t;
  if (!sink && (!s->logok || level > s->conf.loglevel)) return;
  if (level < 0) level = 0;
  if (level > 7) level = 7;
  /* read once: the session process never forks (its children exec at
     once) and musl's getpid is a system call each time */
  if (!logpid) logpid = (unsigned long)getpid();
  n += fmt_ulong(buf + n, logpid);
  buf[n++] = ' ';
  n += fmt_str(buf + n, levelname[level]);
  if (hook) { n += fmt_str(buf + n, " ("); n += fmt_str(buf + n, hook); buf[n++] = ')'; }
  if (plugin) { buf[n++] = ' '; n += fmt_str(buf + n, plugin); buf[n++] = ':'; }
  buf[n++] = ' ';
  t = n;
  /* client bytes may be in text: no control characters reach the log */
  for (i = 0; i < len && n < sizeof buf - 2; ++i) {
    unsigned char c = (unsigned char)text[i];
    buf[n++] = (c < 32 || c == 127) ? '?' : (char)c;
  }
  if (sink) { buf[n] = 0; sink(s, level, hook, plugin, buf + t, n - t); return; }
  buf[n++] = '\n';
  (void)!write(2, buf, n);
}

void log_line(struct session *s, int level, const char *hook, const char *plugin,
              const char *text, size_t len)
{
  if (adjust && plugin) level = adjust(plugin, level);
  line_at(s, level, hook, plugin, text, len);
}

void qlog(struct session *s, int level, const char *plugin, const char *text)
{
  log_line(s, level, s->hookname, plugin, text, text ? strlen(text) : 0);
}

static inline __attribute__((always_inline)) void vlogm(struct session *s, int level, const char *plugin,
                                                        int adjusted, va_list ap)
{
  char buf[900];
  size_t n = 0;
  const char *x;
  if (adjusted && adjust && plugin) level = adjust(plugin, level);
  if (!sink && (!s->logok || level > s->conf.loglevel)) return;
  while ((x = va_arg(ap, const char *))) {
    while (*x && n < sizeof buf) buf[n++] = *x++;
  }
  line_at(s, level, s->hookname, plugin, buf, n);
}

void qlogm_internal(struct session *s, int level, const char *plugin, ...)
{
  va_list ap;
  va_start(ap, plugin);
  vlogm(s, level, plugin, 1, ap);
  va_end(ap);
}

void qlogm_core_internal(struct session *s, int level, const char *plugin, ...)
{
  va_list ap;
  va_start(ap, plugin);
  vlogm(s, level, plugin, 0, ap);
  va_end(ap);
}

void log_line_core(struct session *s, int level, const char *hook, const char *plugin,
                   const char *text, size_t len)
{
  line_at(s, level, hook, plugin, text, len);
}
