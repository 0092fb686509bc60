/* qmalloc.c, the allocator of the static musl build, under ASan and UBSan
   (the other builds with sanitizers use glibc's allocator, so this is
   where qmalloc's code runs checked). Its functions are renamed qm_* here,
   so that ASan keeps the process's own malloc. ASan cannot see inside
   qmalloc's arena, so the property is checked against a shadow: each live
   block is filled with a pattern of its own (its first and last 512 bytes
   and every 4096th, where the allocator's own writes would land), verified
   before it is freed or grown and at the end; a block must be aligned, hold what was asked
   for, overlap no other live block, come zeroed from calloc, and keep its
   bytes through realloc; every free list must hold only free blocks of
   its class. The allocator is reset after each input.

   Input: operations of 4 bytes each: what (malloc, free, realloc, calloc,
   aligned_alloc, posix_memalign) and a size range, a slot, and 16 bits of
   size, so that sizes fall in every class and past 64 KB (a mapping of
   their own), and the heap grows past the static arena (1 MB chunks). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define malloc qm_malloc
#define free qm_free
#define realloc qm_realloc
#define calloc qm_calloc
#define malloc_usable_size qm_malloc_usable_size
#define aligned_alloc qm_aligned_alloc
#define posix_memalign qm_posix_memalign
#define memalign qm_memalign
#include "../qmalloc.c"
#undef malloc
#undef free
#undef realloc
#undef calloc
#undef malloc_usable_size
#undef aligned_alloc
#undef posix_memalign
#undef memalign

#define SLOTS 64
#define LIVE_MAX (3u << 20)     /* bytes live at once */
#define WORK_MAX (4u << 20)     /* bytes allocated per input */
#define EDGE 512
#define STRIDE 4096

static struct { unsigned char *p; size_t n; unsigned char seed; } slot[SLOTS];
static size_t live;
static unsigned char seeds;

static unsigned char pat(unsigned char seed, size_t i) { return (unsigned char)(seed + i * 131 + (i >> 8)); }

/* the byte of a block of n bytes checked after byte i */
static size_t next(size_t i, size_t n)
{
  ++i;
  if (i < EDGE || i + EDGE >= n) return i;
  i = (i + STRIDE - 1) / STRIDE * STRIDE;
  return i + EDGE < n ? i : n - EDGE;
}

static void fill(unsigned int s)
{
  size_t i;
  for (i = 0; i < slot[s].n; i = next(i, slot[s].n)) slot[s].p[i] = pat(slot[s].seed, i);
}

/* the block's bytes below lim, as filled when it held n */
static void verify(unsigned int s, size_t n, size_t lim)
{
  size_t i;
  for (i = 0; i < n && i < lim; i = next(i, n))
    if (slot[s].p[i] != pat(slot[s].seed, i)) abort();      /* overwritten */
}

/* a new block: aligned, as big as asked, apart from every other live one */
static void take(unsigned int s, void *p, size_t n)
{
  unsigned int k;
  size_t room;
  if (!p) abort();
  if ((uintptr_t)p % HDR) abort();
  room = qm_malloc_usable_size(p);
  if (room < n) abort();
  for (k = 0; k < SLOTS; ++k) {
    unsigned char *q = slot[k].p;
    if (k == s || !q) continue;
    if ((unsigned char *)p < q + (slot[k].n ? slot[k].n : 1) && q < (unsigned char *)p + (room ? room : 1)) abort();
  }
  slot[s].p = p;
  slot[s].n = n;
  slot[s].seed = ++seeds;
  live += n;
}

static void drop(unsigned int s)
{
  if (!slot[s].p) return;
  verify(s, slot[s].n, slot[s].n);
  qm_free(slot[s].p);
  live -= slot[s].n;
  slot[s].p = NULL;
}

/* every free list holds free blocks of its class, and no cycle */
static void check_lists(void)
{
  unsigned int c;
  for (c = 0; c < NCLASS; ++c) {
    size_t steps = 0;
    void *l = freelist[c];
    while (l) {
      const struct hdr *h = (const struct hdr *)((uintptr_t)l ^ secret);
      if (!free_block(h, c)) abort();
      if (++steps > (size_t)MAXCHUNKS * CHUNK / 32 + ARENA0 / 32) abort();
      memcpy(&l, (const unsigned char *)h + HDR, sizeof l);
    }
  }
}

/* back to a fresh process's allocator */
static void reset(void)
{
  unsigned int i;
  /* the static arena zero again up to where it was carved: calloc
     clears nothing it carves there fresh, as in a new process */
  if (secret) memset(arena0, 0, nchunks > 1 || !cur ? ARENA0 : (size_t)(cur - arena0));
  for (i = 1; i < nchunks; ++i) munmap(chunks[i].lo, CHUNK);
  memset(freelist, 0, sizeof freelist);
  memset(chunks, 0, sizeof chunks);
  nchunks = 0;
  secret = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  size_t off, work = 0;
  unsigned int s;
  for (off = 0; off + 4 <= size && work < WORK_MAX; off += 4) {
    unsigned int op = data[off] & 7, range = data[off] >> 6;
    size_t n = (size_t)data[off + 2] << 8 | data[off + 3];
    void *p;
    s = data[off + 1] % SLOTS;
    switch (range) {                   /* up to 64 B, 4 KB, 64 KB, 256 KB */
    case 0: n %= 65; break;
    case 1: n %= 4097; break;
    case 2: break;
    default: n *= 4; break;
    }
    if (op != 1 && op != 7 && live + n > LIVE_MAX) continue;
    work += n;
    switch (op) {
    case 0: case 6:
      drop(s);
      take(s, qm_malloc(n), n);
      fill(s);
      break;
    case 1: case 7:
      drop(s);
      break;
    case 2:
      if (!slot[s].p) { take(s, qm_realloc(NULL, n), n); fill(s); break; }
      {
        size_t old = slot[s].n, keep = old < n ? old : n;
        unsigned char seed = slot[s].seed;
        verify(s, old, old);
        p = qm_realloc(slot[s].p, n);
        live -= old;
        slot[s].p = NULL;
        take(s, p, n);
        slot[s].seed = seed;           /* the old bytes kept, then the pattern goes on */
        verify(s, old, keep);
        fill(s);
      }
      break;
    case 3:
      drop(s);
      {
        size_t k = 1 + (data[off] >> 3 & 7), i;
        take(s, qm_calloc(k, n / k), n / k * k);
        for (i = 0; i < slot[s].n; i = next(i, slot[s].n))
          if (slot[s].p[i]) abort();
        fill(s);
      }
      break;
    case 4: {
      size_t align = (size_t)1 << (data[off + 3] % 6);
      drop(s);
      errno = 0;
      p = qm_aligned_alloc(align, n);
      if (align > HDR) { if (p || errno != EINVAL) abort(); break; }
      take(s, p, n);
      if ((uintptr_t)p % align) abort();
      fill(s);
      break;
    }
    case 5: {
      size_t align = (size_t)1 << (data[off + 3] % 6);
      int r;
      drop(s);
      p = NULL;
      r = qm_posix_memalign(&p, align, n);
      if (align < sizeof(void *) || align > HDR) { if (r != EINVAL) abort(); break; }
      if (r) abort();
      take(s, p, n);
      fill(s);
      break;
    }
    }
  }
  if (secret) check_lists();
  for (s = 0; s < SLOTS; ++s) drop(s);
  if (secret) check_lists();
  reset();
  return 0;
}
