/* Wiping secrets (passwords, keys) so that the compiler keeps the stores
   (leaf: no project header). */
#ifndef WIPE_H
#define WIPE_H

#include <stddef.h>

void wipe(void *p, size_t n);

#endif
