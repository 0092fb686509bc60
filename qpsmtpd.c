/* qpsmtpd: one SMTP session on fd 0/1, log on fd 2. */
#include <string.h>
#include <buffer.h>
#include "connection.h"
#include "hooks.h"
#include "session.h"
#include "smtp.h"

static struct session sess;

int main(int argc, char **argv)
{
  if (argc == 2 && !strcmp(argv[1], "-V")) return hook_check_chain();
  if (argc > 1) { buffer_putsflush(buffer_2, "usage: qpsmtpd [-V]\n"); return 100; }
  session_start(&sess);
  smtp_run(&sess);
  return 0;
}
