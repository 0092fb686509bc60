/* help: answers HELP, like Perl qpsmtpd's plugins/help. Arguments, in
   pairs:
     not_implemented 1     HELP is answered "502 Not implemented."
     help_dir DIR          HELP CMD sends the file DIR/cmd (default
                           ./help when no argument is given)
     CMD FILE              HELP CMD sends FILE (a name without '/' is
                           taken from ./help)
   HELP alone answers "Try 'HELP COMMAND' for getting help on COMMAND"; a
   command without a file, or with an empty one, "No help available for
   SMTP command: cmd". A command name must be letters, digits and '_'
   (else "502 Invalid command name"), so a client cannot name other files.
   At most 64 KB of a file are sent. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <case.h>
#include <str.h>
#include "plugin.h"

#define PLUGIN "help"
#define HELP_MAX 65536

struct help {
  int not_implemented;
  const char *dir;
  int npairs;
  const char *const *pairs;     /* CMD FILE ... from the plugins line */
  stralloc path, text;
};

static int valid_name(const char *x)
{
  size_t i;
  if (!*x) return 0;
  for (i = 0; x[i]; ++i)
    if (!((x[i] >= 'a' && x[i] <= 'z') || (x[i] >= 'A' && x[i] <= 'Z') || (x[i] >= '0' && x[i] <= '9') || x[i] == '_'))
      return 0;
  return 1;
}

static int valid_path(const char *x)
{
  size_t i;
  if (!*x) return 0;
  for (i = 0; x[i]; ++i)
    if (!((x[i] >= 'a' && x[i] <= 'z') || (x[i] >= 'A' && x[i] <= 'Z') || (x[i] >= '0' && x[i] <= '9')
          || x[i] == '_' || x[i] == '.' || x[i] == '-' || x[i] == '/'))
      return 0;
  return 1;
}

static int help_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct help *h = calloc(1, sizeof *h);
  int i;

  if (!h) return stralloc_copys(err, "out of memory"), 0;
  if (argc % 2) return stralloc_copys(err, "takes pairs of arguments"), 0;
  if (!argc) h->dir = "./help";
  for (i = 0; i < argc; i += 2) {
    const char *k = argv[i], *v = argv[i + 1];
    if (str_equal(k, "not_implemented")) h->not_implemented = !str_equal(v, "0");
    else if (!valid_name(k) || !valid_path(v)) {
      if (stralloc_copys(err, "bad command or file name: ") && stralloc_cats(err, k) && stralloc_cats(err, " "))
        stralloc_cats(err, v);
      return 0;
    } else if (str_equal(k, "help_dir")) h->dir = v;
  }
  h->npairs = argc;
  h->pairs = argv;
  *self = h;
  return 1;
}

/* 1 read (maybe empty), 0 no such file, -1 error */
static int read_file(stralloc *out, const char *path)
{
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd == -1) return errno == ENOENT ? 0 : -1;
  out->len = 0;
  if (!stralloc_ready(out, HELP_MAX)) { close(fd); return -1; }
  while (out->len < HELP_MAX) {
    ssize_t r = read(fd, out->s + out->len, HELP_MAX - out->len);
    if (r < 0) { if (errno == EINTR) continue; close(fd); return -1; }
    if (!r) break;
    out->len += (size_t)r;
  }
  close(fd);
  return 1;
}

static int help_help(struct session *s, void *self, struct cmd_args *a)
{
  struct help *h = self;
  char cmd[64];
  size_t n = 0;
  const char *file = 0;
  int i, r;

  if (h->not_implemented) {
    session_reply(s, 502, "5.5.1", "Not implemented.");
    return DONE;
  }
  while (n < a->arglen && a->arg[n] != ' ') ++n;
  if (!n) {
    stralloc_copys(a->msg, "Try 'HELP COMMAND' for getting help on COMMAND");
    return OK;
  }
  if (n >= sizeof cmd) n = sizeof cmd - 1;   /* too long to be valid anyway */
  memcpy(cmd, a->arg, n);
  cmd[n] = 0;
  case_lowers(cmd);
  if (!valid_name(cmd) || n == sizeof cmd - 1) {
    session_reply(s, 502, "5.5.2", "Invalid command name");
    return DONE;
  }
  for (i = 0; i + 1 < h->npairs; i += 2)
    if (!str_equal(h->pairs[i], "help_dir") && !str_equal(h->pairs[i], "not_implemented")
        && case_equals(h->pairs[i], cmd))
      file = h->pairs[i + 1];
  h->path.len = 0;
  if (file) {
    if (!file[str_chr(file, '/')] && !stralloc_copys(&h->path, "help/")) goto nomem;
    if (!stralloc_cats(&h->path, file)) goto nomem;
  } else if (h->dir) {
    if (!stralloc_copys(&h->path, h->dir) || !stralloc_cats(&h->path, "/") || !stralloc_cats(&h->path, cmd)) goto nomem;
  }
  h->text.len = 0;
  if (h->path.len) {
    if (!stralloc_0(&h->path)) goto nomem;
    r = read_file(&h->text, h->path.s);
    if (r < 0) qlogm(s, LOGERROR, PLUGIN, "failed to open help file ", h->path.s, " for ", cmd);
    if (r <= 0) h->text.len = 0;
  }
  while (h->text.len && (h->text.s[h->text.len - 1] == '\n' || h->text.s[h->text.len - 1] == '\r')) --h->text.len;
  if (!h->text.len) {
    if (!stralloc_copys(a->msg, "No help available for SMTP command: ") || !stralloc_cats(a->msg, cmd)) goto nomem;
    return OK;
  }
  for (n = 0; n < h->text.len; ++n)
    if (h->text.s[n] == '\r') h->text.s[n] = ' ';
  if (!stralloc_copy(a->msg, &h->text)) goto nomem;
  return OK;
nomem:
  return DECLINED;
}

const struct plugin plugin_help = {
  .name = "help",
  .init = help_init,
  .help = help_help,
};
