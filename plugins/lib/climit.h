/* Limits per client across connections (climit.c), on the shared
   key/value store (kvstore.h): concurrent sessions held as leased slots,
   a connection rate, and failure counters over a window. Used by the
   limits plugin and by hosts_allow's -m. */
#ifndef PLUGINS_CLIMIT_H
#define PLUGINS_CLIMIT_H

#include <stddef.h>
#include <stralloc.h>
#include "kvstore.h"

/* the most slots a key can hold: limits above it are refused at init */
#define CLIMIT_SLOTS_MAX 100

/* Takes a slot of this process under key when fewer than limit live
   slots are held: 1 taken, 0 full, -1 store error (err). *live: the live
   slots found, this one not counted. A slot lives while its process
   does (same host: the pid with its start time in /proc) and, for every
   host, until lease seconds after it was taken or renewed. */
int climit_acquire(struct kvstore *kv, const char *key, size_t keylen, unsigned long limit,
                   unsigned long lease, long long deadline, unsigned long *live, stralloc *err);
/* gives this process's slot back (0, or -1 on a store error) */
int climit_release(struct kvstore *kv, const char *key, size_t keylen, long long deadline, stralloc *err);
/* extends this process's slot by lease seconds from now */
int climit_renew(struct kvstore *kv, const char *key, size_t keylen, unsigned long lease,
                 long long deadline, stralloc *err);

/* A rate of count per window seconds (GCRA: one timestamp per key, the
   burst up to count): 1 admitted (and counted), 0 over the rate, -1
   store error. */
int climit_rate(struct kvstore *kv, const char *key, size_t keylen, unsigned long count,
                unsigned long window, long long deadline, stralloc *err);

/* Failures in a window of seconds from the first: add 1 when add is set.
   *count: the failures in the current window (after adding). 0, or -1
   on a store error. */
int climit_count(struct kvstore *kv, const char *key, size_t keylen, int add, unsigned long window,
                 long long deadline, unsigned long *count, stralloc *err);

/* the key of the network holding ip (text): prefix, then e.g.
   "198.51.100.0/24" or "2001:db8:1:2::/64"; 0 when ip does not parse */
int climit_netkey(stralloc *key, const char *prefix, const char *ip, unsigned int bits4, unsigned int bits6);

/* parses "count/seconds" */
int climit_scan_rate(const char *v, unsigned long *count, unsigned long *window);

#endif
