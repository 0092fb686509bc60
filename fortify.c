/* Debian's libowfat.a, libbearssl.a and libsodium.a are built with glibc's
   _FORTIFY_SOURCE; musl has no checking variants, so provide them:
   check the length against the object size and abort on overflow. */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE         /* explicit_bzero */
#endif
#include <stdlib.h>
#include <string.h>

void *__memcpy_chk(void *d, const void *s, size_t n, size_t dl);
void *__memmove_chk(void *d, const void *s, size_t n, size_t dl);
void *__memset_chk(void *d, int c, size_t n, size_t dl);
void __explicit_bzero_chk(void *d, size_t n, size_t dl);   /* libsodium.a */

void *__memcpy_chk(void *d, const void *s, size_t n, size_t dl) { if (n > dl) abort(); return memcpy(d, s, n); }
void *__memmove_chk(void *d, const void *s, size_t n, size_t dl) { if (n > dl) abort(); return memmove(d, s, n); }
void *__memset_chk(void *d, int c, size_t n, size_t dl) { if (n > dl) abort(); return memset(d, c, n); }
void __explicit_bzero_chk(void *d, size_t n, size_t dl) { if (n > dl) abort(); explicit_bzero(d, n); }
