/* Feeds a fuzz input to a libowfat read buffer in pieces whose sizes come
   from the input's first byte, so chunk boundaries fall everywhere. */
#ifndef FUZZ_INPUT_H
#define FUZZ_INPUT_H

#include <stdint.h>
#include <string.h>
#include <sys/types.h>

static const uint8_t *fz_data;
static size_t fz_len, fz_off;
static uint32_t fz_rng;

static ssize_t fz_read(int fd, char *buf, size_t len)
{
  size_t k;
  (void)fd;
  if (fz_off >= fz_len) return 0;
  fz_rng = fz_rng * 1103515245u + 12345u;
  k = 1 + (fz_rng >> 16) % 97;
  if (fz_rng & 0x100) k = len;
  if (k > len) k = len;
  if (k > fz_len - fz_off) k = fz_len - fz_off;
  memcpy(buf, fz_data + fz_off, k);
  fz_off += k;
  return (ssize_t)k;
}

/* the first byte seeds the chunk sizes; the rest is the stream */
static void fz_start(const uint8_t *data, size_t size)
{
  fz_rng = size ? data[0] : 0;
  fz_data = size ? data + 1 : data;
  fz_len = size ? size - 1 : 0;
  fz_off = 0;
}

#endif
