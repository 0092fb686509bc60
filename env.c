/* env_get: getenv without its per-variable strncmp call. The daemon looks
   up a dozen variables per session in an environment that, under
   tcpserver, holds everything the supervisor had plus the TCP variables;
   musl's getenv makes one strncmp call per variable per lookup, which was
   a sixth of a plain session's instructions. */
#include <string.h>
#include "env.h"

extern char **environ;

const char *env_get(const char *name)
{
  size_t l = strlen(name);
  char **e;
  if (!l || !environ) return NULL;
  for (e = environ; *e; ++e) {
    const char *v = *e;
    size_t i = 0;
    while (i < l && v[i] == name[i]) ++i;     /* stops at v's NUL too */
    if (i == l && v[l] == '=') return v + l + 1;
  }
  return NULL;
}
