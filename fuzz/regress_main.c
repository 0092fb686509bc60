/* A fuzz harness without libFuzzer: runs LLVMFuzzerTestOneInput once on
   each file named, or on each file of a directory named (sorted, dot
   files skipped), and says which input made it fail. Built with ASan and
   UBSan by make fuzz-regress, which runs every harness over its seed
   corpus and over fuzz/regress/NAME/, the inputs that once failed. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sanitizer/common_interface_defs.h>

#define INPUT_MAX (1 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *current;

static void say_input(void)
{
  if (!current) return;
  write(2, "fuzz-regress: failed on ", 24);
  write(2, current, strlen(current));
  write(2, "\n", 1);
}

static void on_signal(int sig)
{
  say_input();
  signal(sig, SIG_DFL);
  raise(sig);
}

static int run_file(const char *path)
{
  static uint8_t buf[INPUT_MAX + 1];
  size_t n = 0;
  int fd = open(path, O_RDONLY);
  uint8_t *copy;
  if (fd < 0) { perror(path); return -1; }
  for (;;) {
    ssize_t r = read(fd, buf + n, sizeof buf - n);
    if (r < 0) { perror(path); close(fd); return -1; }
    if (r == 0) break;
    n += (size_t)r;
    if (n > INPUT_MAX) { fprintf(stderr, "%s: over %d bytes\n", path, INPUT_MAX); close(fd); return -1; }
  }
  close(fd);
  copy = malloc(n ? n : 1);                    /* exactly n bytes: ASan sees overreads */
  if (!copy) { perror("malloc"); return -1; }
  memcpy(copy, buf, n);
  current = path;
  LLVMFuzzerTestOneInput(copy, n);
  current = NULL;
  free(copy);
  return 0;
}

int main(int argc, char **argv)
{
  unsigned long count = 0;
  int i;
  __sanitizer_set_death_callback(say_input);
  signal(SIGABRT, on_signal);
  signal(SIGSEGV, on_signal);
  signal(SIGBUS, on_signal);
  signal(SIGFPE, on_signal);
  for (i = 1; i < argc; ++i) {
    struct stat st;
    if (stat(argv[i], &st) == -1) { perror(argv[i]); return 1; }
    if (S_ISDIR(st.st_mode)) {
      struct dirent **ents;
      int k, cnt = scandir(argv[i], &ents, NULL, alphasort);
      if (cnt < 0) { perror(argv[i]); return 1; }
      for (k = 0; k < cnt; ++k) {
        if (ents[k]->d_name[0] != '.') {
          char *p = malloc(strlen(argv[i]) + strlen(ents[k]->d_name) + 2);
          if (!p) { perror("malloc"); return 1; }
          strcpy(p, argv[i]);
          strcat(p, "/");
          strcat(p, ents[k]->d_name);
          if (run_file(p) == -1) return 1;
          ++count;
          free(p);
        }
        free(ents[k]);
      }
      free(ents);
    } else {
      if (run_file(argv[i]) == -1) return 1;
      ++count;
    }
  }
  printf("%s: %lu inputs ok\n", argv[0], count);
  return 0;
}
