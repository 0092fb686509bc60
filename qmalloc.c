/* The allocator of the static musl build (like fortify.c, it is left out
   of glibc builds, whose sanitizers bring their own).

   Why: a session lives for a few milliseconds and allocates a few dozen
   kilobytes. musl's mallocng gives every size class a group of its own,
   mapped with mmap and read before it is written, so a plain session paid
   five to seven mmap/munmap calls and about ten page faults for its heap.
   A fault costs about 4 microseconds on the benchmark machine: the heap
   cost a session more than all its instructions. Here every small block
   comes from one arena, carved in order, so a session's heap is a few
   neighbouring pages.

   How: blocks of 32 bytes to 64 KB in power-of-two classes, each class
   with a free list; a freed block goes back to its class's list, so a
   long session's heap does not grow with the number of transactions.
   The arena is a static 256 KB (untouched pages cost nothing), then
   1 MB mmaps. A request over 64 KB gets a mapping of its own, unmapped
   on free.

   Checks, since heap corruption is how overflows become exploits: every
   block has a header whose check word mixes its address, its class and a
   per-process secret (from AT_RANDOM); free and realloc abort on a header
   that does not check out or on a block already free (double free), and
   malloc aborts when the block it takes from a free list, or the one it
   links to, is not a free block of that class inside the heap (a
   use-after-free that overwrote the list). Small blocks take at most 256
   chunks (about 256 MB); past that, malloc fails with ENOMEM. List
   links are stored XORed with the secret. Size arithmetic is checked;
   an impossible size is ENOMEM. The daemon is single-threaded: no locks. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>

#define HDR 16                  /* header bytes before each block's data */
#define MINSHIFT 5              /* smallest block: 32 bytes with its header */
#define MAXSHIFT 16             /* largest class: 64 KB */
#define NCLASS (MAXSHIFT - MINSHIFT + 1)
#define LARGE 0xffffu           /* class of a block with a mapping of its own */
#define INUSE 0x1a55u
#define FREE 0x2aa5u
#define ARENA0 (256u * 1024)
#define CHUNK (1024u * 1024)
#define MAXCHUNKS 256           /* small blocks: at most 256 MB and a quarter */

struct hdr {
  uintptr_t check;
  uint16_t cls, state;
};
typedef char hdr_fits[sizeof(struct hdr) <= HDR ? 1 : -1];

static unsigned char arena0[ARENA0] __attribute__((aligned(HDR)));
static unsigned char *cur, *end;
static uintptr_t secret;
static void *freelist[NCLASS];  /* links XORed with secret */
static struct { unsigned char *lo, *hi; } chunks[MAXCHUNKS];
static unsigned int nchunks;

static void init(void)
{
  const unsigned char *r = (const unsigned char *)getauxval(AT_RANDOM);
  uintptr_t v = (uintptr_t)&v;
  if (r) memcpy(&v, r + 8, sizeof v);   /* bytes 0-7 seed the stack canary */
  secret = v | 1;
  cur = arena0;
  end = arena0 + ARENA0;
  nchunks = 1;                  /* chunk 0 is arena0, not written in chunks[]: a
                                   session that never leaves it never touches the table */
}

static uintptr_t check_of(const struct hdr *h, unsigned int cls)
{
  return ((uintptr_t)h ^ secret) + (uintptr_t)cls * 0x9e3779b1u;
}

/* is h the header of a free block of class c, inside the heap? */
static int free_block(const struct hdr *h, unsigned int c)
{
  unsigned int i;
  if ((uintptr_t)h % HDR) return 0;
  if ((const unsigned char *)h >= arena0 && (const unsigned char *)h + HDR <= arena0 + ARENA0) i = 0;
  else for (i = 1; i < nchunks; ++i)
    if ((const unsigned char *)h >= chunks[i].lo && (const unsigned char *)h + HDR <= chunks[i].hi) break;
  if (i == nchunks) return 0;
  return h->state == FREE && h->cls == c && h->check == check_of(h, c);
}

static void mark(struct hdr *h, unsigned int cls, unsigned int state)
{
  h->check = check_of(h, cls);
  h->cls = (uint16_t)cls;
  h->state = (uint16_t)state;
}

/* the header of p, aborting unless it is a block in use */
static struct hdr *inuse(void *p)
{
  struct hdr *h = (struct hdr *)((unsigned char *)p - HDR);
  if ((uintptr_t)p % HDR || h->state != INUSE || h->check != check_of(h, h->cls)
      || (h->cls != LARGE && h->cls >= NCLASS))
    abort();
  return h;
}

static void *large(size_t n)
{
  size_t len;
  unsigned char *m;
  if (__builtin_add_overflow(n, 2 * HDR + 4095, &len)) { errno = ENOMEM; return NULL; }
  len &= ~(size_t)4095;
  m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) { errno = ENOMEM; return NULL; }
  memcpy(m, &len, sizeof len);          /* the mapping's length, before the header */
  mark((struct hdr *)(m + HDR), LARGE, INUSE);
  return m + 2 * HDR;
}

/* a block of n bytes; *fresh is set when its data has never been written
   (carved where the arena or a new chunk was never used, or a mapping of
   its own: zero pages, which calloc need not clear, and must not, or it
   touches every page of a big array a session uses the start of) */
static void *alloc(size_t n, int *fresh)
{
  unsigned int c = 0;
  size_t bs;
  struct hdr *h;
  if (!secret) init();
  *fresh = 1;
  if (n > ((size_t)1 << MAXSHIFT) - HDR) return large(n);
  while (((size_t)1 << (c + MINSHIFT)) - HDR < n) ++c;
  bs = (size_t)1 << (c + MINSHIFT);
  if (freelist[c]) {
    *fresh = 0;
    h = (struct hdr *)((uintptr_t)freelist[c] ^ secret);
    if (!free_block(h, c)) abort();
    memcpy(&freelist[c], (unsigned char *)h + HDR, sizeof freelist[c]);
    /* the next block must be a free one of this class too */
    if (freelist[c] && !free_block((const struct hdr *)((uintptr_t)freelist[c] ^ secret), c)) abort();
  } else {
    if ((size_t)(end - cur) < bs) {
      unsigned char *m;
      if (nchunks == MAXCHUNKS) { errno = ENOMEM; return NULL; }
      m = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (m == MAP_FAILED) { errno = ENOMEM; return NULL; }
      cur = m;                          /* the old chunk's tail is left unused */
      end = m + CHUNK;
      chunks[nchunks].lo = m;
      chunks[nchunks].hi = end;
      ++nchunks;
    }
    h = (struct hdr *)cur;
    cur += bs;
  }
  mark(h, c, INUSE);
  return (unsigned char *)h + HDR;
}

void *malloc(size_t n)
{
  int fresh;
  return alloc(n, &fresh);
}

void free(void *p)
{
  struct hdr *h;
  void *link;
  if (!p) return;
  h = inuse(p);
  if (h->cls == LARGE) {
    size_t len;
    unsigned char *m = (unsigned char *)h - HDR;
    memcpy(&len, m, sizeof len);
    h->state = FREE;
    munmap(m, len);
    return;
  }
  mark(h, h->cls, FREE);
  link = freelist[h->cls];
  memcpy(p, &link, sizeof link);
  freelist[h->cls] = (void *)((uintptr_t)h ^ secret);
}

/* how many bytes the block at p can hold */
static size_t room(const struct hdr *h)
{
  size_t len;
  if (h->cls != LARGE) return ((size_t)1 << (h->cls + MINSHIFT)) - HDR;
  memcpy(&len, (const unsigned char *)h - HDR, sizeof len);
  return len - 2 * HDR;
}

void *realloc(void *p, size_t n)
{
  struct hdr *h;
  void *q;
  size_t have;
  if (!p) return malloc(n);
  h = inuse(p);
  have = room(h);
  if (n <= have) return p;
  /* the last block carved grows where it is, into a bigger class: a
     buffer that grows step by step (a stralloc taking the message)
     leaves no trail of smaller blocks behind it */
  if (h->cls != LARGE && n <= ((size_t)1 << MAXSHIFT) - HDR
      && (unsigned char *)h + ((size_t)1 << (h->cls + MINSHIFT)) == cur) {
    unsigned int c = h->cls;
    while (((size_t)1 << (c + MINSHIFT)) - HDR < n) ++c;
    if ((size_t)(end - (unsigned char *)h) >= (size_t)1 << (c + MINSHIFT)) {
      cur = (unsigned char *)h + ((size_t)1 << (c + MINSHIFT));
      mark(h, c, INUSE);
      return p;
    }
  }
  q = malloc(n);
  if (!q) return NULL;
  memcpy(q, p, have);
  free(p);
  return q;
}

void *calloc(size_t k, size_t n)
{
  size_t t;
  void *p;
  int fresh;
  if (__builtin_mul_overflow(k, n, &t)) { errno = ENOMEM; return NULL; }
  p = alloc(t, &fresh);
  if (p && !fresh) memset(p, 0, t);
  return p;
}

size_t malloc_usable_size(void *p)
{
  return p ? room(inuse(p)) : 0;
}

/* nothing here asks for more than the natural alignment */
void *aligned_alloc(size_t align, size_t n)
{
  if (!align || align & (align - 1) || align > HDR) { errno = EINVAL; return NULL; }
  return malloc(n);
}

int posix_memalign(void **r, size_t align, size_t n)
{
  void *p;
  if (align < sizeof(void *) || align & (align - 1) || align > HDR) return EINVAL;
  p = malloc(n);
  if (!p) return ENOMEM;
  *r = p;
  return 0;
}

void *memalign(size_t align, size_t n)
{
  return aligned_alloc(align, n);
}
