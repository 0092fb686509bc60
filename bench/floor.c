/* floor: the cheapest SMTP server that still does the job, for the benchmark.
 *
 * It answers a minimal dialogue on fd 0/1 (tcpserver style): 220 greeting,
 * 250 to HELO/EHLO/MAIL/RCPT/RSET/NOOP, 354 to DATA, reads the message until
 * CRLF.CRLF (undoing dot-stuffing, CRLF -> LF), 250, and 221 to QUIT.
 *
 *   floor            discard the message
 *   floor PROGRAM    fork+exec PROGRAM as qmail-queue: message on its fd 0,
 *                    envelope (F<from>\0T<rcpt>\0...\0) on its fd 1; wait for it;
 *                    250 if it exits 0, else 451.
 *
 * It is the cost of fork+exec itself (plus one exec of the queue program):
 * what no SMTP daemon under tcpserver can beat. No checks, no limits. */
#include <unistd.h>
#include <string.h>
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>

static char in[65536];
static size_t inpos, inlen;
static char out[65536];
static size_t outlen;
static char env[2048];
static size_t envlen;

static void die(void) { _exit(1); }

static void wall(int fd, const char *s, size_t n)
{
  while (n) {
    ssize_t w = write(fd, s, n);
    if (w < 0) { if (errno == EINTR) continue; die(); }
    s += w; n -= (size_t)w;
  }
}

static void reply(const char *s) { wall(1, s, strlen(s)); }

static int fill(void)
{
  for (;;) {
    ssize_t r = read(0, in, sizeof in);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return 0;
    inpos = 0; inlen = (size_t)r;
    return 1;
  }
}

/* one command line into l (truncated at n-1), without CRLF */
static int getcmd(char *l, size_t n)
{
  size_t k = 0;
  for (;;) {
    if (inpos == inlen && !fill()) return 0;
    char c = in[inpos++];
    if (c == '\n') break;
    if (k + 1 < n) l[k++] = c;
  }
  if (k && l[k - 1] == '\r') --k;
  l[k] = 0;
  return 1;
}

static void envaddr(char kind, const char *l)
{
  const char *a = strchr(l, '<');
  const char *b = a ? strchr(a, '>') : 0;
  size_t n = (a && b) ? (size_t)(b - a - 1) : 0;
  if (envlen + n + 3 > sizeof env) return;
  env[envlen++] = kind;
  if (n) memcpy(env + envlen, a + 1, n);
  envlen += n;
  env[envlen++] = 0;
}

static int outfd = -1;
static void flushout(void)
{
  if (outfd >= 0 && outlen) wall(outfd, out, outlen);
  outlen = 0;
}
static void putn(const char *s, size_t n)
{
  if (outlen + n > sizeof out) {
    flushout();
    if (n > sizeof out) { if (outfd >= 0) wall(outfd, s, n); return; }
  }
  memcpy(out + outlen, s, n);
  outlen += n;
}

/* copy the message body until CRLF.CRLF, undoing dot-stuffing, CRLF -> LF.
   bol: at the start of a line; dot: the line so far is one (dropped) dot;
   cr: a CR was seen and not yet written. Lines are found with memchr. */
static int body(void)
{
  int bol = 1, dot = 0, cr = 0;
  for (;;) {
    if (inpos == inlen && !fill()) return 0;
    while (inpos < inlen) {
      const char *b = in + inpos;
      size_t n = inlen - inpos;
      if (bol) {
        bol = 0;
        if (*b == '.') { dot = 1; ++inpos; continue; }
      }
      if (dot) {
        if (cr) {
          if (*b == '\n') { ++inpos; return 1; }
          cr = 0; dot = 0; putn("\r", 1);
          continue;
        }
        if (*b == '\r') { cr = 1; ++inpos; continue; }
        dot = 0;
      }
      if (cr) {
        cr = 0;
        if (*b == '\n') { putn("\n", 1); ++inpos; bol = 1; continue; }
        putn("\r", 1);
      }
      const char *nl = memchr(b, '\n', n);
      if (!nl) {
        size_t k = n;
        if (b[k - 1] == '\r') { --k; cr = 1; }
        putn(b, k);
        inpos = inlen;
        break;
      }
      size_t k = (size_t)(nl - b);
      putn(b, (k && b[k - 1] == '\r') ? k - 1 : k);
      putn("\n", 1);
      inpos += k + 1;
      bol = 1;
    }
  }
}

int main(int argc, char **argv)
{
  char l[1024];
  const char *qq = argc > 1 ? argv[1] : 0;
  signal(SIGPIPE, SIG_IGN);
  reply("220 floor.example ESMTP\r\n");
  while (getcmd(l, sizeof l)) {
    char v[5];
    int i;
    for (i = 0; i < 4 && l[i]; ++i) v[i] = (char)(l[i] | 0x20);
    v[i] = 0;
    if (!strcmp(v, "mail")) { envlen = 0; envaddr('F', l); reply("250 ok\r\n"); }
    else if (!strcmp(v, "rcpt")) { envaddr('T', l); reply("250 ok\r\n"); }
    else if (!strcmp(v, "helo") || !strcmp(v, "ehlo") || !strcmp(v, "rset") ||
             !strcmp(v, "noop")) reply("250 floor.example\r\n");
    else if (!strcmp(v, "quit")) { reply("221 bye\r\n"); _exit(0); }
    else if (!strcmp(v, "data")) {
      int pm[2], pe[2], ok = 1;
      pid_t pid = -1;
      reply("354 go\r\n");
      if (qq) {
        if (pipe(pm) || pipe(pe)) die();
        pid = fork();
        if (pid < 0) die();
        if (pid == 0) {
          dup2(pm[0], 0); dup2(pe[0], 1);
          close(pm[0]); close(pm[1]); close(pe[0]); close(pe[1]);
          execl(qq, qq, (char *)0);
          _exit(120);
        }
        close(pm[0]); close(pe[0]);
        outfd = pm[1];
      }
      if (!body()) die();
      flushout();
      if (qq) {
        int status;
        close(pm[1]); outfd = -1;
        if (envlen < sizeof env) env[envlen++] = 0;
        wall(pe[1], env, envlen);
        close(pe[1]);
        while (waitpid(pid, &status, 0) < 0) if (errno != EINTR) die();
        ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      }
      reply(ok ? "250 ok\r\n" : "451 queue failed\r\n");
    }
    else reply("502 unimplemented\r\n");
  }
  _exit(0);
}
