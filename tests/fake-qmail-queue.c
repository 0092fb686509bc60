/* A strict stand-in for qmail-queue(8), for the tests only.

   Reads fd 0 (the message) to EOF first, then fd 1 (the envelope) to EOF,
   as qmail-queue does, and checks both strictly:
     message   non-empty, no CR anywhere, ends with LF         else exit 91
     envelope  F<addr>\0 (T<addr>\0)+ \0 and nothing after it  else exit 91
               EOF before the final \0                         exit 54
               an address of 1003 bytes or more (with its \0)  exit 11
               CR or LF inside an address                      exit 91
   Only when it is about to exit 0 does it store $FAKEQ_DIR/N.msg and N.env
   (N = 1, 2, ... taken with O_EXCL). Every invocation appends one line to
   $FAKEQ_DIR/log: "N ok" or "fail CODE reason", and one line to
   $FAKEQ_DIR/fds listing its open descriptors.

   $FAKEQ_EXIT   exit code after a valid message (default 0; nothing is
                 stored unless it is 0)
   $FAKEQ_MODE   noread  close fds 0 and 1 unread and exit $FAKEQ_EXIT
                 crash   read everything, then die of SIGSEGV
                 msg82   read everything, write $FAKEQ_MSG to fd 6, exit 82
                 slow    sleep $FAKEQ_SLEEP seconds (default 5), then as usual */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define ADDR 1003

static const char *dir;

struct buf { char *s; size_t len, a; };

static void logline(const char *line)
{
  char path[4096];
  int fd;
  size_t n = strlen(line);
  snprintf(path, sizeof path, "%s/log", dir);
  fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
  if (fd == -1) return;
  if (write(fd, line, n) != (ssize_t)n) { /* nothing to do */ }
  close(fd);
}

static void fail(int code, const char *why)
{
  char line[512];
  snprintf(line, sizeof line, "fail %d %s\n", code, why);
  logline(line);
  _exit(code);
}

static void record_fds(void)
{
  char path[4096], line[1024];
  size_t n = 0;
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  int self, fd;
  if (!d) return;
  self = dirfd(d);
  n += (size_t)snprintf(line, sizeof line, "fds:");
  while ((e = readdir(d)) && n < sizeof line - 16) {
    if (e->d_name[0] == '.') continue;
    if (atoi(e->d_name) == self) continue;
    n += (size_t)snprintf(line + n, sizeof line - n, " %s", e->d_name);
  }
  closedir(d);
  snprintf(line + n, sizeof line - n, "\n");
  snprintf(path, sizeof path, "%s/fds", dir);
  fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
  if (fd == -1) return;
  if (write(fd, line, strlen(line)) < 0) { /* ignore */ }
  close(fd);
}

static void readall(int fd, struct buf *b)
{
  for (;;) {
    ssize_t r;
    if (b->a - b->len < 65536) {
      size_t na = b->a ? b->a * 2 : 131072;
      char *ns = realloc(b->s, na);
      if (!ns) fail(51, "out of memory");
      b->s = ns;
      b->a = na;
    }
    r = read(fd, b->s + b->len, b->a - b->len);
    if (r == -1) {
      if (errno == EINTR) continue;
      fail(54, fd ? "read error on envelope" : "read error on message");
    }
    if (r == 0) return;
    b->len += (size_t)r;
  }
}

static void check_message(const struct buf *m)
{
  if (!m->len) fail(91, "empty message");
  if (memchr(m->s, '\r', m->len)) fail(91, "CR in message");
  if (m->s[m->len - 1] != '\n') fail(91, "message does not end with LF");
}

/* the envelope grammar of qmail-queue.c, strictly */
static void check_envelope(const struct buf *e)
{
  size_t i = 0, nrcpt = 0;
  int first = 1;
  for (;;) {
    size_t start;
    if (i >= e->len) fail(54, "envelope EOF before the final NUL");
    if (!first && e->s[i] == 0) {
      ++i;
      break;
    }
    if (e->s[i] != (first ? 'F' : 'T'))
      fail(91, first ? "envelope does not start with F" : "envelope record does not start with T");
    start = ++i;
    while (i < e->len && e->s[i]) {
      if (e->s[i] == '\r' || e->s[i] == '\n') fail(91, "CR or LF in an envelope address");
      ++i;
    }
    if (i >= e->len) fail(54, "envelope EOF inside an address");
    if (i - start + 1 >= ADDR) fail(11, "envelope address too long");
    ++i;
    if (!first) ++nrcpt;
    first = 0;
  }
  if (!nrcpt) fail(91, "envelope without recipients");
  if (i != e->len) fail(91, "bytes after the final NUL of the envelope");
}

static void store(const char *name, const struct buf *b)
{
  char path[4096];
  size_t off = 0;
  int fd;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd == -1) fail(53, "cannot create a queue file");
  while (off < b->len) {
    ssize_t w = write(fd, b->s + off, b->len - off);
    if (w == -1) { if (errno == EINTR) continue; fail(53, "write error"); }
    off += (size_t)w;
  }
  if (close(fd) == -1) fail(53, "close error");
}

int main(void)
{
  const char *mode = getenv("FAKEQ_MODE");
  const char *ex = getenv("FAKEQ_EXIT");
  struct buf m = { 0, 0, 0 }, e = { 0, 0, 0 };
  int code = 0;
  unsigned long n;
  char name[64], line[128];

  dir = getenv("FAKEQ_DIR");
  if (!dir || !*dir) { fputs("fake-qmail-queue: FAKEQ_DIR not set\n", stderr); return 81; }
  if (!mode) mode = "";
  if (ex && *ex) {
    char *end;
    long v = strtol(ex, &end, 10);
    if (*end || v < 0 || v > 255) fail(81, "bad FAKEQ_EXIT");
    code = (int)v;
  }
  record_fds();

  if (!strcmp(mode, "noread")) {
    close(0);
    close(1);
    snprintf(line, sizeof line, "fail %d noread\n", code);
    logline(line);
    _exit(code);
  }
  if (!strcmp(mode, "slow")) {
    const char *sl = getenv("FAKEQ_SLEEP");
    sleep(sl && *sl ? (unsigned)atoi(sl) : 5);
  }

  readall(0, &m);
  readall(1, &e);
  check_message(&m);
  check_envelope(&e);

  if (!strcmp(mode, "crash")) {
    struct rlimit rl = { 0, 0 };
    setrlimit(RLIMIT_CORE, &rl);
    logline("fail SEGV crash\n");
    signal(SIGSEGV, SIG_DFL);
    kill(getpid(), SIGSEGV);
    _exit(81);
  }
  if (!strcmp(mode, "msg82")) {
    const char *msg = getenv("FAKEQ_MSG");
    if (!msg) msg = "";
    if (write(6, msg, strlen(msg)) != (ssize_t)strlen(msg)) fail(81, "cannot write to fd 6");
    fail(82, "msg82");
  }
  if (*mode && strcmp(mode, "slow")) fail(81, "unknown FAKEQ_MODE");
  if (code) fail(code, "FAKEQ_EXIT");

  for (n = 1;; ++n) {
    char path[4096];
    int fd;
    snprintf(path, sizeof path, "%s/%lu.msg", dir, n);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd >= 0) { close(fd); break; }
    if (errno != EEXIST) fail(53, "cannot create a queue file");
  }
  snprintf(name, sizeof name, "%lu.msg", n);
  store(name, &m);
  snprintf(name, sizeof name, "%lu.env", n);
  store(name, &e);
  snprintf(line, sizeof line, "%lu ok\n", n);
  logline(line);
  return 0;
}
