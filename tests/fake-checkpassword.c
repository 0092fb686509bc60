/* A checkpassword (cr.yp.to/checkpwd/interface.html) for the tests. It
   checks its input strictly and can fail on demand.

   usage: fake-checkpassword prog [args...]
   Reads fd 3 to EOF: at most 512 bytes, exactly "user\0password\0timestamp\0"
   (three NUL-terminated fields, nothing after), else exit 2. fd 0 and 1
   must not be sockets (the SMTP client must never reach it), else exit 2.
   Users come from $FAKECP_USERS ("user:password" lines). Some users act
   out failures: temp@... exits 111, odd@... exits 7, crash@... dies of
   SIGSEGV, hang@... sleeps. On a match it sets $USER and runs prog with
   its args (exit 111 if that fails); otherwise exits 1. Each call appends
   one line to $FAKECP_LOG: argv, user, password length, timestamp, and
   the kind of fds 0, 1 and 2 (never the password), and says on fd 2 whom
   it checks. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static const char *kind(int fd)
{
  struct stat st;
  if (fstat(fd, &st) == -1) return "closed";
  if (S_ISSOCK(st.st_mode)) return "socket";
  if (S_ISCHR(st.st_mode)) return "chardev";
  if (S_ISFIFO(st.st_mode)) return "fifo";
  return "file";
}

static void logline(const char *fmt, const char *a, size_t b, const char *c, char **argv)
{
  const char *path = getenv("FAKECP_LOG");
  FILE *f;
  int i;
  if (!path) return;
  f = fopen(path, "a");
  if (!f) return;
  fprintf(f, "pid=%d argv=", (int)getpid());
  for (i = 0; argv[i]; ++i) fprintf(f, "%s%s", i ? "," : "", argv[i]);
  fprintf(f, " ");
  fprintf(f, fmt, a, b, c, kind(0), kind(1), kind(2));
  fprintf(f, "\n");
  fclose(f);
}

int main(int argc, char **argv)
{
  char buf[513];
  size_t n = 0, ul, pl, tl;
  const char *user, *pass, *ts;
  FILE *f;
  char line[1100];
  const char *users = getenv("FAKECP_USERS");

  if (argc < 2) { fprintf(stderr, "fake-checkpassword: usage: fake-checkpassword prog\n"); return 2; }
  for (;;) {
    ssize_t r = read(3, buf + n, sizeof buf - n);
    if (r == -1 && errno == EINTR) continue;
    if (r < 0) { fprintf(stderr, "fake-checkpassword: cannot read fd 3\n"); return 2; }
    if (r == 0) break;
    n += (size_t)r;
    if (n > 512) { fprintf(stderr, "fake-checkpassword: more than 512 bytes on fd 3\n"); return 2; }
  }
  close(3);
  user = buf;
  ul = strnlen(user, n);
  if (ul == n) { fprintf(stderr, "fake-checkpassword: user not NUL-terminated\n"); return 2; }
  pass = buf + ul + 1;
  pl = strnlen(pass, n - ul - 1);
  if (ul + 1 + pl == n) { fprintf(stderr, "fake-checkpassword: password not NUL-terminated\n"); return 2; }
  ts = pass + pl + 1;
  tl = strnlen(ts, n - ul - pl - 2);
  if (ul + pl + tl + 2 == n) { fprintf(stderr, "fake-checkpassword: timestamp not NUL-terminated\n"); return 2; }
  if (ul + pl + tl + 3 != n) { fprintf(stderr, "fake-checkpassword: bytes after the timestamp\n"); return 2; }
  logline("user=%s passlen=%zu ts=%s fd0=%s fd1=%s fd2=%s", user, pl, ts, argv);
  fprintf(stderr, "fake-checkpassword: checking %s\n", user);
  if (!strcmp(kind(0), "socket") || !strcmp(kind(1), "socket")) {
    fprintf(stderr, "fake-checkpassword: fd 0 or 1 is a socket\n");
    return 2;
  }
  if (!strncmp(user, "temp@", 5)) return 111;
  if (!strncmp(user, "odd@", 4)) return 7;
  if (!strncmp(user, "crash@", 6)) { signal(SIGSEGV, SIG_DFL); raise(SIGSEGV); return 3; }
  if (!strncmp(user, "hang@", 5)) { for (;;) pause(); }
  if (!users || !(f = fopen(users, "r"))) return 1;
  while (fgets(line, sizeof line, f)) {
    char *colon = strchr(line, ':');
    size_t l = strlen(line);
    if (l && line[l - 1] == '\n') line[--l] = 0;
    if (!colon) continue;
    *colon = 0;
    if (!strcmp(line, user) && !strcmp(colon + 1, pass)) {
      fclose(f);
      setenv("USER", user, 1);
      execv(argv[1], argv + 1);
      return 111;
    }
  }
  fclose(f);
  return 1;
}
