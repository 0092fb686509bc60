/* TLS session resumption across processes (tls_cache.c): BearSSL's
   session cache class on a file every session of the daemon shares. */
#ifndef TLS_CACHE_H
#define TLS_CACHE_H

#include <bearssl.h>

struct tls_key;

#define TLS_CACHE_SLOTS 4096            /* entries; the file is 512 KB */
#define TLS_CACHE_LIFETIME 3600         /* seconds, as Postfix's default */

/* Opens (creates when missing, mode 0600) the cache file at path. The
   entries are sealed with a key derived from the server's private key k.
   1 with *cls set for br_ssl_server_set_cache; 0 with a reason in *err
   when the file cannot be used (not a regular file, not ours, readable
   by others): then the session goes on without resumption. */
int tls_cache_open(const char *path, unsigned long lifetime, const struct tls_key *k,
                   const br_ssl_session_cache_class ***cls, const char **err);

/* An EC key's check against its certificate (tls_key_matches) costs a
   scalar multiplication, 3.8 million instructions: once it has passed,
   the cache keeps a record of it, a MAC over the certificate under the
   key derived from the private key, which only a holder of that key can
   make. checked: 1 when the record is there for cert; mark: writes it. */
int tls_cache_checked(const unsigned char *cert, size_t len);
void tls_cache_mark_checked(const unsigned char *cert, size_t len);

/* 1 when this process's handshake found its session in the cache */
int tls_cache_resumed(void);

#endif
