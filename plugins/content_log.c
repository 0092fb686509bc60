/* content_log: appends every message, as it will be queued, to a log file
   (Perl qpsmtpd's plugins/content_log, HEAD). The file name comes from the
   control file content_log_file, passed through strftime(3) in local
   time (default mail/%Y%m%d, relative to the working directory); the
   control file content_log_enabled turns it off with false, no, off or 0.
   Nothing the client sends goes into the name. Messages are written one
   after the other, as Perl does, into a file opened with O_APPEND (mode
   0600, never through a symbolic link).

   Argument: max_size BYTES (default 10485760): a larger message is not
   logged, and the log says so. The plugin never refuses a message: when
   the file cannot be written it logs why and the message goes on. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <case.h>
#include <fmt.h>
#include <scan.h>
#include <str.h>
#include "plugin.h"

#define PLUGIN "content_log"

struct clog { unsigned long long max; int on; stralloc pat; };

static int clog_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct clog *c = calloc(1, sizeof *c);
  int i;
  if (!c) { stralloc_copys(err, "out of memory"); return 0; }
  c->max = 10485760;
  for (i = 0; i < argc; i += 2) {
    unsigned long v;
    size_t n;
    if (!str_equal(argv[i], "max_size") || i + 1 >= argc) {
      stralloc_copys(err, "takes only max_size BYTES");
      free(c);
      return 0;
    }
    n = scan_ulong(argv[i + 1], &v);
    if (!n || argv[i + 1][n] || n > 12) {
      stralloc_copys(err, "max_size takes a number of bytes");
      free(c);
      return 0;
    }
    c->max = v;
  }
  *self = c;
  return 1;
}

/* content_log_enabled and content_log_file, before the greeting; a
   pattern that gives no file name is a 421 at connect */
static int clog_setup(struct session *s, void *self)
{
  struct clog *c = self;
  stralloc v = {0};
  struct control_at at = { {0}, {0} };
  char path[4096];
  time_t now = time(NULL);
  struct tm *tm;
  c->on = 1;
  if (control_readline(s, "content_log_enabled", &v) && v.len > 1) {
    const char *x = v.s;
    if (case_equals(x, "false") || case_equals(x, "no") || case_equals(x, "off") || str_equal(x, "0")
        || case_equals(x, "disabled"))
      c->on = 0;
  }
  stralloc_free(&v);
  if (!c->on) return 1;
  if (!control_readlist_at(s, "content_log_file", &c->pat, &at) || !c->pat.len) {
    if (!stralloc_copys(&c->pat, "mail/%Y%m%d") || !stralloc_0(&c->pat)) return 0;
    return 1;
  }
  c->pat.len = str_len(c->pat.s) + 1;     /* the first line */
  tm = localtime(&now);
  if (!tm || !strftime(path, sizeof path, c->pat.s, tm))
    die_control_at(s, &at, &c->pat, c->pat.s, "content_log_file", "the pattern gives an empty or over-long file name");
  stralloc_free(&at.files);
  stralloc_free(&at.lines);
  return 1;
}

static int clog_data_post(struct session *s, void *self, struct msg_args *a)
{
  struct clog *c = self;
  char path[4096];
  char num[24];
  struct tm *tm;
  time_t now = time(NULL);
  size_t n;
  int fd;
  (void)a;
  if (!c->on) return DECLINED;
  if (txn_data_size(s) > c->max) {
    num[fmt_ulonglong(num, txn_data_size(s))] = 0;
    qlogm(s, LOGNOTICE, PLUGIN, "skip, message of ", num, " bytes is larger than max_size");
    return DECLINED;
  }
  tm = localtime(&now);
  n = tm ? strftime(path, sizeof path, c->pat.s, tm) : 0;
  if (!n) die_control(s, "content_log_file", "the pattern gives an empty or over-long file name");
  fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    qlogm(s, LOGERROR, PLUGIN, "Could not open log file ", path, ": ", strerror(errno), "; continuing anyway");
    return DECLINED;
  }
  if (txn_write_message(s, fd) == -1) {
    qlogm(s, LOGERROR, PLUGIN, "cannot write to ", path, ": ", strerror(errno), "; continuing anyway");
    close(fd);
    return DECLINED;
  }
  if (close(fd) == -1) {
    qlogm(s, LOGERROR, PLUGIN, "cannot write to ", path, ": ", strerror(errno), "; continuing anyway");
    return DECLINED;
  }
  qlogm(s, LOGINFO, PLUGIN, "successfully saved message to ", path);
  return DECLINED;
}

const struct plugin plugin_content_log = {
  .name = "content_log",
  .init = clog_init,
  .setup = clog_setup,
  .data_post = clog_data_post,
};
