/* rusage: run a program and write what it cost to a file.
 *
 *   rusage [-u UID -g GID] FILE PROGRAM [ARG...]
 *
 * Starts PROGRAM (with posix_spawn, so nothing of ours is counted: no
 * copy-on-write faults of a forked parent) with our descriptors and
 * environment, waits for it and writes to FILE
 *   minflt=N majflt=N cpu_ms=F
 * from wait4: the program's own minor and major page faults and CPU time,
 * with those of the children it waited for (the queue program). With -u
 * and -g (as root) it first becomes that user, with no supplementary
 * groups, as tcpserver -u -g does. Exits with the program's exit code.
 * Static, for the benchmark only. */
#include <grp.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
  long uid = -1, gid = -1;
  struct rusage ru;
  pid_t pid;
  int st, i = 1;
  FILE *f;
  while (i + 1 < argc && argv[i][0] == '-') {
    if (!strcmp(argv[i], "-u")) uid = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "-g")) gid = atol(argv[i + 1]);
    else break;
    i += 2;
  }
  if (argc - i < 2) { fputs("usage: rusage [-u UID -g GID] FILE PROGRAM [ARG...]\n", stderr); return 100; }
  f = fopen(argv[i], "we");     /* before we become the user */
  if (!f) { perror("rusage: output file"); return 111; }
  if (gid >= 0 && (setgroups(0, NULL) == -1 || setgid((gid_t)gid) == -1)) { perror("rusage: setgid"); return 111; }
  if (uid >= 0 && setuid((uid_t)uid) == -1) { perror("rusage: setuid"); return 111; }
  if (posix_spawn(&pid, argv[i + 1], NULL, NULL, argv + i + 1, environ)) { perror("rusage: spawn"); return 111; }
  if (wait4(pid, &st, 0, &ru) != pid) { perror("rusage: wait4"); return 111; }
  fprintf(f, "minflt=%ld majflt=%ld cpu_ms=%.3f\n", ru.ru_minflt, ru.ru_majflt,
          (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3);
  fclose(f);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 111;
}
