/* sink: a stand-in qmail-queue for the benchmark.
 * Reads the message on fd 0 to EOF, then the envelope on fd 1 to EOF,
 * and exits 0 (message accepted). Exits 54/53 on a read error,
 * as qmail-queue does. Static, no libc stdio. */
#include <unistd.h>
#include <errno.h>

static char buf[65536];

static int drain(int fd)
{
  for (;;) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r == 0) return 0;
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
  }
}

int main(void)
{
  if (drain(0) == -1) _exit(54);
  if (drain(1) == -1) _exit(53);
  _exit(0);
}
