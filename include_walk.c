#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "include_walk.h"

static char *cat3(const char *a, size_t alen, const char *b, const char *c)
{
  size_t bl = strlen(b), cl = strlen(c), n;
  char *x;
  if (__builtin_add_overflow(alen, bl, &n) || __builtin_add_overflow(n, cl + 1, &n)) return NULL;
  x = malloc(n);
  if (!x) return NULL;
  memcpy(x, a, alen);
  memcpy(x + alen, b, bl);
  memcpy(x + alen + bl, c, cl + 1);
  return x;
}

int include_walk(const char *from, const char *arg, const char *dot,
                 int (*fn)(void *ctx, const char *path, int err, int dir), void *ctx)
{
  const char *slash = strrchr(from, '/');
  struct stat st;
  char *path;
  int r = 0;
  if (arg[0] == '/') path = cat3("", 0, arg, "");
  else if (slash) path = cat3(from, (size_t)(slash - from + 1), arg, "");
  else path = cat3(dot, strlen(dot), arg, "");
  if (!path) return fn(ctx, NULL, ENOMEM, 0);
  if (stat(path, &st) == -1) r = fn(ctx, path, errno, 0);
  else if (S_ISDIR(st.st_mode)) {
    struct dirent **ents;
    int k, n = scandir(path, &ents, NULL, alphasort);
    if (n < 0) r = fn(ctx, path, errno, 1);
    for (k = 0; k < n; ++k) {
      if (!r && ents[k]->d_name[0] != '.') {
        char *f = cat3(path, strlen(path), "/", ents[k]->d_name);
        if (!f) r = fn(ctx, NULL, ENOMEM, 0);
        else if (stat(f, &st) == 0 && S_ISREG(st.st_mode)) r = fn(ctx, f, 0, 0);
        free(f);
      }
      free(ents[k]);
    }
    if (n >= 0) free(ents);
  } else r = fn(ctx, path, 0, 0);
  free(path);
  return r;
}
