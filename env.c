/* env_get: getenv without its per-variable strncmp call. The daemon looks
   up a dozen variables per session in an environment that, under
   tcpserver, holds everything the supervisor had plus the TCP variables;
   musl's getenv makes one strncmp call per variable per lookup, which was
   a sixth of a plain session's instructions, and a plain scan of the
   environment per lookup still a tenth. So the first lookup files every
   variable in a small hash table by its name's first characters, and a
   lookup compares a name or two. env_set and
   env_unset change the environment and drop the table. */
#include <stdlib.h>
#include <string.h>
#include "env.h"

extern char **environ;

#define BUCKETS 64
#define CHAIN_MAX 65536          /* variables filed; past it, plain scans */

static char **chain;             /* per bucket, a run of pointers into environ */
static unsigned int start[BUCKETS + 1];
static int built;                /* 1 filed, -1 too many or no memory: scan */

/* a name's bucket from its first and fourth characters (the fourth of a
   name shorter than four counts as 0): no pass over the whole name, so
   filing the environment costs a few instructions a variable; the TCP
   variables differ in their fourth */
static inline unsigned int bucket(const char *v)
{
  unsigned int a = (unsigned char)v[0], d = 0;
  if (a != '=' && v[1] && v[1] != '=' && v[2] && v[2] != '=' && v[3] != '=') d = (unsigned char)v[3];
  return (a * 5u + d * 11u) % BUCKETS;
}

static void build(void)
{
  unsigned int count[BUCKETS] = { 0 }, fill[BUCKETS], n = 0, b, i;
  unsigned char *bk;
  char **e;
  built = -1;
  if (!environ) return;
  for (e = environ; *e; ++e)
    if (++n > CHAIN_MAX) return;
  free(chain);
  chain = malloc((n ? n : 1) * (sizeof *chain + 1));
  if (!chain) return;
  bk = (unsigned char *)(chain + (n ? n : 1));
  for (i = 0; i < n; ++i) ++count[bk[i] = (unsigned char)bucket(environ[i])];
  start[0] = 0;
  for (b = 0; b < BUCKETS; ++b) { start[b + 1] = start[b] + count[b]; fill[b] = start[b]; }
  for (i = 0; i < n; ++i) chain[fill[bk[i]]++] = environ[i];
  built = 1;
}

static const char *match(const char *v, const char *name, size_t l)
{
  size_t i = 0;
  while (i < l && v[i] == name[i]) ++i;     /* stops at v's NUL too */
  return i == l && v[l] == '=' ? v + l + 1 : NULL;
}

const char *env_get(const char *name)
{
  size_t l = strlen(name);
  const char *r;
  if (!l || !environ) return NULL;
  if (!built) build();
  if (built > 0) {
    unsigned int b = bucket(name), i;
    /* the first one filed wins, as for getenv and the scan below */
    for (i = start[b]; i < start[b + 1]; ++i)
      if ((r = match(chain[i], name, l))) return r;
    return NULL;
  }
  {
    char **e;
    for (e = environ; *e; ++e)
      if ((r = match(*e, name, l))) return r;
  }
  return NULL;
}

int env_set(const char *name, const char *value)
{
  built = 0;
  return setenv(name, value, 1) == 0;
}

void env_unset(const char *name)
{
  built = 0;
  unsetenv(name);
}
