/* Exercises qmalloc.c (the musl build's allocator) directly. With no
   argument: the normal cases, exit 0 when all hold. With an argument,
   one misuse the allocator must stop by aborting: double-free,
   bad-pointer, uaf-link, realloc-freed. */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static int fails;
#define CHECK(c) do { if (!(c)) { printf("FAIL line %d: %s\n", __LINE__, #c); ++fails; } } while (0)

static void normal(void)
{
  unsigned char *p[64], *q, *r;
  size_t i, j;
  /* first, in the untouched arena: calloc of fresh memory clears nothing,
     so the pages of a big array stay untouched until used (a session's
     DKIM signature table is 32 KB, of which it uses the first entry) */
  {
    unsigned char vec[8];
    uintptr_t page;
    q = calloc(1, 40000);
    CHECK(q != NULL);
    page = ((uintptr_t)q + 8191) & ~(uintptr_t)4095;
    CHECK(mincore((void *)page, 4 * 4096, vec) == 0);
    for (i = 0; i < 4; ++i) CHECK(!(vec[i] & 1));
    for (i = 0; i < 40000; ++i) if (q[i]) { CHECK(!"fresh calloc not zero"); break; }
    memset(q, 0xee, 40000);
    free(q);
    /* the same block again: reused, so calloc clears it */
    r = calloc(4, 10000);
    CHECK(r == q);
    for (i = 0; i < 40000; ++i) if (r[i]) { CHECK(!"reused calloc not zero"); break; }
    free(r);
  }
  /* every size from 0 to 70000 in steps: writable, aligned, distinct */
  for (i = 0, j = 0; j < 64; i = i * 2 + 1, ++j) {
    size_t n = i % 70001;
    p[j] = malloc(n);
    CHECK(p[j] != NULL);
    CHECK((uintptr_t)p[j] % 16 == 0);
    memset(p[j], (int)j, n);
    CHECK(malloc_usable_size(p[j]) >= (size_t)n);
  }
  for (j = 0; j < 64; ++j) {
    size_t n = 0, k;
    for (k = 0, i = 0; k < j; ++k) i = i * 2 + 1;
    n = i % 70001;
    for (k = 0; k < n; ++k) if (p[j][k] != (unsigned char)j) { CHECK(!"block overwritten"); break; }
  }
  for (j = 0; j < 64; ++j) free(p[j]);
  /* a freed block of a class is reused for the next request of that class */
  q = malloc(100);
  free(q);
  r = malloc(90);
  CHECK(r == q);
  free(r);
  /* realloc keeps the contents across classes and into a mapping of its own */
  q = malloc(10);
  memcpy(q, "0123456789", 10);
  for (i = 16; i <= 300000; i *= 3) {
    q = realloc(q, i);
    CHECK(q != NULL);
    CHECK(!memcmp(q, "0123456789", 10));
  }
  free(q);
  /* calloc zeroes a reused block and refuses an overflowing product */
  q = malloc(200);
  memset(q, 0xff, 200);
  free(q);
  r = calloc(50, 4);
  CHECK(r == q);
  for (i = 0; i < 200; ++i) if (r[i]) { CHECK(!"calloc did not zero"); break; }
  free(r);
  errno = 0;
  CHECK(calloc((size_t)1 << 40, (size_t)1 << 40) == NULL && errno == ENOMEM);
  errno = 0;
  CHECK(malloc((size_t)-1) == NULL && errno == ENOMEM);
  /* many transactions' worth of allocate-and-free does not grow the heap */
  q = malloc(1000);
  free(q);
  for (i = 0; i < 100000; ++i) { r = malloc(1000); CHECK(r == q); free(r); if (fails) break; }
  /* more than the static arena: the heap grows into mapped chunks */
  for (j = 0; j < 40; ++j) { p[j] = malloc(30000); CHECK(p[j] != NULL); memset(p[j], 1, 30000); }
  for (j = 0; j < 40; ++j) free(p[j]);
}

int main(int argc, char **argv)
{
  char *p, *q;
  if (argc < 2) {
    normal();
    if (!fails) printf("ok\n");
    return fails != 0;
  }
  p = malloc(40);
  q = malloc(40);
  if (!strcmp(argv[1], "double-free")) { free(p); free(p); }
  else if (!strcmp(argv[1], "bad-pointer")) free(p + 16);
  else if (!strcmp(argv[1], "uaf-link")) {
    /* through a volatile pointer: the compiler may drop a store to freed memory */
    char *volatile w = p;
    size_t i;
    free(q);
    free(p);
    for (i = 0; i < 16; ++i) ((volatile char *)w)[i] = 'A';
    p = malloc(40);
    q = malloc(40);
  }
  else if (!strcmp(argv[1], "realloc-freed")) { free(q); q = realloc(q, 4000); }
  else return 2;
  printf("not stopped %p %p\n", (void *)p, (void *)q);
  return 0;
}
