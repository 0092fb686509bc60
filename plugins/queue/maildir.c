/* queue/maildir DIR [SUBDIR [MODE]]: delivers the message into a Maildir,
   like Perl qpsmtpd's plugins/queue/maildir.

   Without SUBDIR, one copy goes to DIR, headed by "Return-Path: <sender>"
   and a "Delivered-To: rcpt" line per recipient. With SUBDIR (which must
   hold %l, %d or %u: the recipient's local part, domain or whole address,
   each byte outside [-A-Za-z0-9+_.,@=] made '_'), every recipient gets its
   own copy in DIR/SUBDIR with its own Delivered-To. MODE is three octal
   digits for the directories (default 700); files get it without the
   execute bits. Missing directories are made at the first delivery.

   Each copy is written to tmp/, synced, and linked into new/ (the Maildir
   protocol). Either every copy is in new/ and the client hears 250, or none
   is (copies already linked are taken back) and it hears 451. */
#define _POSIX_C_SOURCE 200809L
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <byte.h>
#include <fmt.h>
#include <str.h>
#include "plugin.h"

#define PLUGIN "queue/maildir"

struct maildir {
  const char *dir;
  const char *subdirs;  /* NULL: deliver to dir itself */
  mode_t mode;
  unsigned long count;  /* deliveries by this process, for unique names */
  char host[256];       /* our host name, fit for a file name */
};

struct copy {
  stralloc tmp;
  stralloc new;
  int linked;
};

static int maildir_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct maildir *m;
  unsigned int mode = 0700;

  if (argc < 1 || argc > 3 || !argv[0][0]) {
    stralloc_copys(err, "usage: queue/maildir DIR [SUBDIR [MODE]]");
    return 0;
  }
  if (argc > 1 && !strstr(argv[1], "%l") && !strstr(argv[1], "%d") && !strstr(argv[1], "%u")) {
    stralloc_copys(err, "the sub directory holds none of %l, %d, %u");
    return 0;
  }
  if (argc > 2) {
    const char *p = argv[2];
    if (str_len(p) != 3 || p[0] < '0' || p[0] > '7' || p[1] < '0' || p[1] > '7' ||
        p[2] < '0' || p[2] > '7') {
      stralloc_copys(err, "the mode is not three octal digits");
      return 0;
    }
    mode = (unsigned int)((p[0] - '0') << 6 | (p[1] - '0') << 3 | (p[2] - '0'));
    if ((mode & 0700) != 0700) {
      stralloc_copys(err, "the mode must give the owner rwx (7..)");
      return 0;
    }
  }
  m = calloc(1, sizeof *m);
  if (!m) {
    stralloc_copys(err, "out of memory");
    return 0;
  }
  m->dir = argv[0];
  m->subdirs = argc > 1 ? argv[1] : 0;
  m->mode = (mode_t)mode;
  *self = m;
  return 1;
}

static void host_setup(struct maildir *m)
{
  size_t i;

  if (m->host[0]) return;
  if (gethostname(m->host, sizeof m->host - 1) == -1) m->host[0] = 0;
  m->host[sizeof m->host - 1] = 0;
  /* '/' and ':' have a meaning in Maildir names; keep it plain */
  for (i = 0; m->host[i]; ++i) {
    char c = m->host[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '.' || c == '-' || c == '_'))
      m->host[i] = '_';
  }
  if (!m->host[0]) byte_copy(m->host, 10, "localhost");
}

/* mkdir -p; path is \0-terminated and writable */
static int mkdirs(char *path, mode_t mode)
{
  size_t i;
  struct stat st;

  if (stat(path, &st) == 0) {
    if (S_ISDIR(st.st_mode)) return 0;
    errno = ENOTDIR;
    return -1;
  }
  for (i = 1; path[i]; ++i) {
    if (path[i] != '/') continue;
    path[i] = 0;
    if (mkdir(path, mode) == -1 && errno != EEXIST) {
      path[i] = '/';
      return -1;
    }
    path[i] = '/';
  }
  if (mkdir(path, mode) == -1 && errno != EEXIST) return -1;
  return 0;
}

/* DIR/tmp, DIR/new, DIR/cur */
static int maildir_make(stralloc *dir, mode_t mode)
{
  static const char *const sub[3] = { "/tmp", "/new", "/cur" };
  size_t len = dir->len;
  int i;

  for (i = 0; i < 3; ++i) {
    dir->len = len;
    if (!stralloc_cats(dir, sub[i]) || !stralloc_0(dir)) return -1;
    if (mkdirs(dir->s, mode) == -1) {
      dir->len = len;
      return -1;
    }
  }
  dir->len = len;
  return 0;
}

/* header values from the envelope: no control characters */
static int cat_clean(stralloc *sa, const char *s)
{
  for (; *s; ++s) {
    char c = (unsigned char)*s < 32 || *s == 127 ? '?' : *s;
    if (!stralloc_append(sa, &c)) return 0;
  }
  return 1;
}

/* Perl's tr/-A-Za-z0-9+_.,@=/_/c, and no leading dot (no "..") */
static int cat_safe(stralloc *sa, const char *s, size_t len)
{
  size_t i;

  for (i = 0; i < len; ++i) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '-' || c == '+' || c == '_' || c == '.' || c == ',' || c == '@' || c == '='))
      c = '_';
    if (i == 0 && c == '.') c = '_';
    if (!stralloc_append(sa, &c)) return 0;
  }
  return 1;
}

/* DIR/SUBDIR with %l, %d, %u of this recipient */
static int subdir_path(stralloc *sa, const struct maildir *m, const char *rcpt)
{
  size_t len = str_len(rcpt);
  size_t at = byte_rchr(rcpt, len, '@');
  const char *host = at < len ? rcpt + at + 1 : "";
  size_t hlen = at < len ? len - at - 1 : 0;
  const char *p;

  if (!stralloc_copys(sa, m->dir) || !stralloc_cats(sa, "/")) return 0;
  for (p = m->subdirs; *p; ++p) {
    int ok = 1;
    if (p[0] == '%' && p[1] == 'l') ok = cat_safe(sa, rcpt, at);
    else if (p[0] == '%' && p[1] == 'd') ok = cat_safe(sa, host, hlen);
    else if (p[0] == '%' && p[1] == 'u')
      ok = cat_safe(sa, rcpt, at) && stralloc_cats(sa, "@") && cat_safe(sa, host, hlen);
    else {
      if (!stralloc_append(sa, p)) return 0;
      continue;
    }
    if (!ok) return 0;
    ++p;
  }
  return 1;
}

static int fsync_dir(const char *path)
{
  int fd = open(path, O_RDONLY);
  int r;

  if (fd == -1) return -1;
  r = fsync(fd);
  if (r == -1 && (errno == EINVAL || errno == EROFS)) r = 0;   /* cannot sync a directory here */
  close(fd);
  return r;
}

/* writes one copy into dir/tmp; on error, *why names the step */
static int copy_write(struct session *s, struct maildir *m, struct copy *c, stralloc *dir,
                      const char *delivered_to, stralloc *hdr, stralloc *id, const char **why)
{
  struct timeval tv;
  char num[FMT_ULONG];
  size_t base;
  int fd = -1;
  int tries;
  unsigned int i;

  for (tries = 0; tries < 10; ++tries) {
    gettimeofday(&tv, 0);
    num[fmt_ulong(num, (unsigned long)tv.tv_sec)] = 0;
    if (!stralloc_copys(id, num) || !stralloc_cats(id, ".M")) goto nomem;
    num[fmt_ulong(num, (unsigned long)tv.tv_usec)] = 0;
    if (!stralloc_cats(id, num) || !stralloc_cats(id, "P")) goto nomem;
    num[fmt_ulong(num, (unsigned long)getpid())] = 0;
    if (!stralloc_cats(id, num) || !stralloc_cats(id, "Q")) goto nomem;
    num[fmt_ulong(num, m->count++)] = 0;
    if (!stralloc_cats(id, num)) goto nomem;

    if (!stralloc_copy(&c->tmp, dir) || !stralloc_cats(&c->tmp, "/tmp/")) goto nomem;
    base = c->tmp.len;
    if (!stralloc_catb(&c->tmp, id->s, id->len) || !stralloc_cats(&c->tmp, ".") ||
        !stralloc_cats(&c->tmp, m->host) || !stralloc_0(&c->tmp))
      goto nomem;
    if (!stralloc_copy(&c->new, dir) || !stralloc_cats(&c->new, "/new/") ||
        !stralloc_cats(&c->new, c->tmp.s + base) || !stralloc_0(&c->new))
      goto nomem;
    fd = open(c->tmp.s, O_WRONLY | O_CREAT | O_EXCL, m->mode & 0666);
    if (fd != -1 || errno != EEXIST) break;
  }
  if (fd == -1) {
    c->tmp.len = 0;
    *why = "open";
    return -1;
  }

  if (!stralloc_copys(hdr, "Return-Path: <") || !cat_clean(hdr, txn_sender(s) ? txn_sender(s) : "") ||
      !stralloc_cats(hdr, ">\n"))
    goto nomem_fd;
  if (delivered_to) {
    if (!stralloc_cats(hdr, "Delivered-To: ") || !cat_clean(hdr, delivered_to) || !stralloc_cats(hdr, "\n"))
      goto nomem_fd;
  } else
    for (i = 0; i < txn_rcpt_count(s); ++i)
      if (!stralloc_cats(hdr, "Delivered-To: ") || !cat_clean(hdr, txn_rcpt(s, i)) ||
          !stralloc_cats(hdr, "\n"))
        goto nomem_fd;

  if (fd_write_all(fd, hdr->s, hdr->len) == -1 || txn_write_message(s, fd) == -1) {
    *why = "write";
    goto fail_fd;
  }
  if (fsync(fd) == -1) {
    *why = "fsync";
    goto fail_fd;
  }
  if (close(fd) == -1) {
    fd = -1;
    *why = "close";
    goto fail_fd;
  }
  return 0;

nomem:
  *why = "out of memory";
  c->tmp.len = 0;
  return -1;
nomem_fd:
  *why = "out of memory";
fail_fd:
  if (fd != -1) close(fd);
  return -1;
}

static int copy_link(struct copy *c, stralloc *dir, const char **why)
{
  if (link(c->tmp.s, c->new.s) == -1) {
    /* file systems without hard links; the name is unique, rename is safe */
    if ((errno != EPERM && errno != ENOSYS && errno != EOPNOTSUPP) || rename(c->tmp.s, c->new.s) == -1) {
      *why = "link";
      return -1;
    }
  }
  c->linked = 1;
  if (!stralloc_copy(dir, &c->new)) {
    *why = "out of memory";
    return -1;
  }
  dir->len = byte_rchr(dir->s, dir->len, '/');
  if (!stralloc_0(dir)) {
    *why = "out of memory";
    return -1;
  }
  if (fsync_dir(dir->s) == -1) {
    *why = "fsync";
    return -1;
  }
  return 0;
}

static int maildir_queue(struct session *s, void *self, struct msg_args *a)
{
  struct maildir *m = self;
  unsigned int n = m->subdirs ? txn_rcpt_count(s) : 1;
  struct copy *copies;
  stralloc dir = { 0 };
  stralloc hdr = { 0 };
  stralloc id = { 0 };
  stralloc first = { 0 };
  const char *why = "out of memory";
  mode_t old;
  unsigned int i;
  int rc = DENYSOFT;

  if (!n) n = 1;
  host_setup(m);
  copies = calloc(n, sizeof *copies);
  if (!copies) goto out;
  old = umask(0);

  for (i = 0; i < n; ++i) {
    const char *rcpt = m->subdirs ? txn_rcpt(s, i) : 0;
    int e;
    if (m->subdirs ? !subdir_path(&dir, m, rcpt ? rcpt : "") : !stralloc_copys(&dir, m->dir)) break;
    if (maildir_make(&dir, m->mode) == -1) {
      e = errno;
      why = "mkdir";
      if (stralloc_0(&dir)) qlogm(s, LOGERROR, PLUGIN, "cannot make the Maildir ", dir.s, ": ", strerror(e));
      break;
    }
    if (copy_write(s, m, &copies[i], &dir, rcpt, &hdr, &id, &why) == -1) {
      e = errno;
      if (stralloc_0(&dir)) qlogm(s, LOGERROR, PLUGIN, "cannot write into ", dir.s, "/tmp: ", why, ": ", strerror(e));
      break;
    }
    if (i == 0 && !stralloc_copy(&first, &id)) break;
  }
  if (i == n) {
    for (i = 0; i < n; ++i)
      if (copy_link(&copies[i], &dir, &why) == -1) {
        qlogm(s, LOGERROR, PLUGIN, "cannot move ", copies[i].tmp.s, " into new/: ", why, ": ", strerror(errno));
        break;
      }
    if (i == n) rc = OK;
  }

  for (i = 0; i < n; ++i) {
    if (copies[i].tmp.len) unlink(copies[i].tmp.s);
    if (rc != OK && copies[i].linked) unlink(copies[i].new.s);
  }
  umask(old);

out:
  if (rc == OK) {
    if (stralloc_0(&first)) qlogm(s, LOGINFO, PLUGIN, "queued as ", first.s);
    if (!stralloc_copys(a->msg, "Queued! ") || !stralloc_cats(a->msg, first.s ? first.s : ""))
      stralloc_copys(a->msg, "Queued");
  } else {
    if (!stralloc_copys(a->msg, "4.3.0 Unable to queue message (") || !stralloc_cats(a->msg, why) ||
        !stralloc_cats(a->msg, ")"))
      stralloc_copys(a->msg, "4.3.0 Unable to queue message");
  }
  if (copies)
    for (i = 0; i < n; ++i) {
      stralloc_free(&copies[i].tmp);
      stralloc_free(&copies[i].new);
    }
  free(copies);
  stralloc_free(&dir);
  stralloc_free(&hdr);
  stralloc_free(&id);
  stralloc_free(&first);
  return rc;
}

const struct plugin plugin_queue_maildir = {
  .name = "queue/maildir",
  .init = maildir_init,
  .queue = maildir_queue,
};
