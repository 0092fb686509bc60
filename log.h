/* Log lines (log.c): "pid level (hook) plugin: text" on fd 2, filtered
   by loglevel, or to a sink (the plugins' logging hook). */
#ifndef LOG_H
#define LOG_H

#include <stddef.h>

/* log levels, as Perl qpsmtpd (and syslog) */
#define LOGEMERG  0
#define LOGALERT  1
#define LOGCRIT   2
#define LOGERROR  3
#define LOGWARN   4
#define LOGNOTICE 5
#define LOGINFO   6
#define LOGDEBUG  7

struct session;

void qlog(struct session *s, int level, const char *plugin, const char *text);
void qlogm_internal(struct session *s, int level, const char *plugin, ...);
#define qlogm(s, level, plugin, ...) qlogm_internal(s, level, plugin, __VA_ARGS__, (char *)0)
/* the core's lines about a plugin (the dispatcher's): never moved by the
   plugin's own loglevel */
void qlogm_core_internal(struct session *s, int level, const char *plugin, ...);
#define qlogm_core(s, level, plugin, ...) qlogm_core_internal(s, level, plugin, __VA_ARGS__, (char *)0)
void log_line_core(struct session *s, int level, const char *hook, const char *plugin, const char *text, size_t len);

/* fd 2 may be written: not when it is the client's socket (xinetd) */
void log_init(struct session *s);
/* one line; text may hold client bytes (control bytes become '?') */
void log_line(struct session *s, int level, const char *hook, const char *plugin, const char *text, size_t len);
/* where lines go instead of fd 2, with no level filter: text without the
   "pid level (hook) plugin: " prefix; NULL: fd 2 again */
typedef void log_sink(struct session *s, int level, const char *hook, const char *plugin,
                      const char *text, size_t len);
void log_set_sink(log_sink *f);
/* a plugin's own log level (Perl's "loglevel N|+N|-N" argument): the
   level a line of that plugin is logged at; NULL: none has one */
typedef int log_adjust(const char *plugin, int level);
void log_set_adjust(log_adjust *f);

#endif
