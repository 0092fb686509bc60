/* A small key/value store shared by the processes of one host (a
   directory) or of several hosts (Redis), for plugins that keep state
   across connections (greylisting). */
#ifndef KVSTORE_H
#define KVSTORE_H

#include <stddef.h>
#include <stralloc.h>

#define KV_VALUE_MAX 8192

struct kvstore {
  int redis;                  /* 0: directory, 1: Redis */
  const char *where;          /* the directory, or the Redis address */
  const char *prefix;         /* Redis: in front of every key, e.g. "karma:" */
  int fd;                     /* Redis connection, -1 when closed */
  stralloc in;                /* Redis reply buffer */
  size_t inpos;
};

/* Called with the current value (NULL when there is none or it expired);
   puts the new value in nv and its lifetime in seconds in *ttl. Returns 1
   to store nv, 0 to leave the entry as it is. */
typedef int (*kv_update_fn)(void *ctx, const char *old, size_t oldlen, stralloc *nv, unsigned long *ttl);

/* prefix: Redis only, keeps the plugins sharing one Redis apart */
void kv_init(struct kvstore *kv, int redis, const char *where, const char *prefix);
/* reads, computes and writes one key atomically before the deadline
   (monotonic ms); 0 ok, -1 error with a reason in err */
int kv_update(struct kvstore *kv, const char *key, size_t keylen, kv_update_fn fn, void *ctx,
              long long deadline, stralloc *err);
void kv_close(struct kvstore *kv);

#endif
