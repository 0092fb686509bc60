/* TLS session resumption across processes (tls_cache.h). Each session is
   a process of its own, so BearSSL's in-memory cache would never be hit:
   this one is a file of TLS_CACHE_SLOTS fixed-size slots, a session's
   slot chosen by its (random) session ID.

   A slot holds the session ID, then a nonce and, sealed with
   ChaCha20-Poly1305 under a key derived from the server's private key,
   the master secret, version, cipher suite and expiry time; the ID is the
   associated data. A slot that is torn by two writers, tampered with,
   sealed under another key (a new certificate), expired or for another ID
   is a miss, and a miss only costs a full handshake. So the file needs no
   lock: a write is one pwrite of one slot, a read one pread.

   Entries are written by BearSSL's save call, which comes once the full
   handshake has completed. The file must be a regular file owned by the
   daemon's user with no group or other access: it holds (sealed) master
   secrets. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "tls_cache.h"
#include "tls_pem.h"
#include "wipe.h"

#define SLOT 128
/* slot: id[32] idlen nonce[12] sealed[60] tag[16], zero padding */
#define O_ID     0
#define O_IDLEN  32
#define O_NONCE  33
#define O_SEALED 45
#define SEALED   60                     /* master[48] version[2] suite[2] expires[8] */
#define O_TAG    (O_SEALED + SEALED)

static struct {
  const br_ssl_session_cache_class *vtable;
  int fd;
  unsigned long lifetime;
  unsigned char key[32];
} cache = { NULL, -1, TLS_CACHE_LIFETIME, { 0 } };

static int resumed;

int tls_cache_resumed(void) { return resumed; }

static off_t slot_of(const unsigned char *id)
{
  unsigned long h = (unsigned long)id[0] | (unsigned long)id[1] << 8 | (unsigned long)id[2] << 16;
  return (off_t)(h % TLS_CACHE_SLOTS) * SLOT;
}

static void put64(unsigned char *b, unsigned long long v)
{
  int i;
  for (i = 7; i >= 0; --i) { b[i] = (unsigned char)v; v >>= 8; }
}

static unsigned long long get64(const unsigned char *b)
{
  unsigned long long v = 0;
  int i;
  for (i = 0; i < 8; ++i) v = v << 8 | b[i];
  return v;
}

static void seal(unsigned char *s, int encrypt, unsigned char tag[16])
{
  br_chacha20_run cc = br_chacha20_sse2_get();
  if (!cc) cc = br_chacha20_ct_run;
  br_poly1305_ctmul_run(cache.key, s + O_NONCE, s + O_SEALED, SEALED, s + O_ID, 33, tag, cc, encrypt);
}

static void save(const br_ssl_session_cache_class **ctx, br_ssl_server_context *sc,
                 const br_ssl_session_parameters *p)
{
  unsigned char s[SLOT], *m = s + O_SEALED;
  time_t now = time(NULL);
  if (cache.fd < 0 || p->session_id_len != 32 || now < 0) return;
  memset(s, 0, sizeof s);
  memcpy(s + O_ID, p->session_id, 32);
  s[O_IDLEN] = 32;
  if (getrandom(s + O_NONCE, 12, 0) != 12) return;
  memcpy(m, p->master_secret, 48);
  m[48] = (unsigned char)(p->version >> 8);
  m[49] = (unsigned char)p->version;
  m[50] = (unsigned char)(p->cipher_suite >> 8);
  m[51] = (unsigned char)p->cipher_suite;
  put64(m + 52, (unsigned long long)now + cache.lifetime);
  seal(s, 1, s + O_TAG);
  (void)!pwrite(cache.fd, s, sizeof s, slot_of(p->session_id));
  wipe(s, sizeof s);
}

static int load(const br_ssl_session_cache_class **ctx, br_ssl_server_context *sc,
                br_ssl_session_parameters *p)
{
  unsigned char s[SLOT], tag[16], *m = s + O_SEALED;
  time_t now = time(NULL);
  int ok = 0;
  if (cache.fd < 0 || p->session_id_len != 32) return 0;
  if (pread(cache.fd, s, sizeof s, slot_of(p->session_id)) != (ssize_t)sizeof s) return 0;
  if (s[O_IDLEN] != 32 || memcmp(s + O_ID, p->session_id, 32)) return 0;
  seal(s, 0, tag);
  /* the tag in constant time; then the expiry */
  {
    unsigned char d = 0;
    int i;
    for (i = 0; i < 16; ++i) d |= (unsigned char)(tag[i] ^ s[O_TAG + i]);
    if (!d && now >= 0 && get64(m + 52) > (unsigned long long)now) {
      memcpy(p->master_secret, m, 48);
      p->version = (uint16_t)(m[48] << 8 | m[49]);
      p->cipher_suite = (uint16_t)(m[50] << 8 | m[51]);
      ok = resumed = 1;
    }
  }
  wipe(s, sizeof s);
  return ok;
}

/* after the slots: the record of the key's check */
#define O_CHECK ((off_t)TLS_CACHE_SLOTS * SLOT)
#define FILE_SIZE (O_CHECK + 64)

static void check_mac(const unsigned char *cert, size_t len, unsigned char out[32])
{
  br_hmac_key_context kc;
  br_hmac_context hc;
  static const char label[] = "key matches certificate";
  br_hmac_key_init(&kc, &br_sha256_vtable, cache.key, sizeof cache.key);
  br_hmac_init(&hc, &kc, 0);
  br_hmac_update(&hc, label, sizeof label);
  br_hmac_update(&hc, cert, len);
  br_hmac_out(&hc, out);
  wipe(&kc, sizeof kc);
  wipe(&hc, sizeof hc);
}

int tls_cache_checked(const unsigned char *cert, size_t len)
{
  unsigned char want[32], have[32], d = 0;
  int i;
  if (cache.fd < 0 || pread(cache.fd, have, sizeof have, O_CHECK) != (ssize_t)sizeof have) return 0;
  check_mac(cert, len, want);
  for (i = 0; i < 32; ++i) d |= (unsigned char)(want[i] ^ have[i]);
  return !d;
}

void tls_cache_mark_checked(const unsigned char *cert, size_t len)
{
  unsigned char mac[32];
  if (cache.fd < 0) return;
  check_mac(cert, len, mac);
  (void)!pwrite(cache.fd, mac, sizeof mac, O_CHECK);
}

static const br_ssl_session_cache_class file_cache = { sizeof cache, save, load };

/* the sealing key: SHA-256 over a label and the private key's secret */
static void derive(const struct tls_key *k)
{
  br_sha256_context h;
  static const char label[] = "qpsmtpd TLS session cache v1";
  br_sha256_init(&h);
  br_sha256_update(&h, label, sizeof label);
  if (k->type == BR_KEYTYPE_RSA) {
    const br_rsa_private_key *r = br_skey_decoder_get_rsa(&k->dc);
    br_sha256_update(&h, r->p, r->plen);
    br_sha256_update(&h, r->q, r->qlen);
  } else {
    const br_ec_private_key *e = br_skey_decoder_get_ec(&k->dc);
    br_sha256_update(&h, e->x, e->xlen);
  }
  br_sha256_out(&h, cache.key);
  wipe(&h, sizeof h);
}

int tls_cache_open(const char *path, unsigned long lifetime, const struct tls_key *k,
                   const br_ssl_session_cache_class ***cls, const char **err)
{
  struct stat st;
  int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
  if (fd < 0) { *err = strerror(errno); return 0; }
  if (fstat(fd, &st) == -1) { *err = strerror(errno); close(fd); return 0; }
  if (!S_ISREG(st.st_mode)) { *err = "not a regular file"; close(fd); return 0; }
  if (st.st_uid != geteuid()) { *err = "not owned by the daemon's user"; close(fd); return 0; }
  if (st.st_mode & 077) { *err = "group or others may access it (it must be mode 0600)"; close(fd); return 0; }
  if (st.st_size < FILE_SIZE && ftruncate(fd, FILE_SIZE) == -1) {
    *err = strerror(errno);
    close(fd);
    return 0;
  }
  cache.fd = fd;
  cache.lifetime = lifetime;
  cache.vtable = &file_cache;
  derive(k);
  *cls = &cache.vtable;
  return 1;
}
