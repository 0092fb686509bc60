/* line_read against a reference: each CRLF-terminated piece of the input
   is one line (a bare LF does not end it), too long if it (with its CRLF)
   exceeds the bound, else bare LF if an LF is in its content, else bare CR,
   NUL or 8-bit by its content; the rest after the last CRLF is EOF. Every status and every accepted
   line must agree, whatever the chunking. */
#include <stdlib.h>
#include <buffer.h>
#include "../session.h"
#include "input.h"
#include "line.h"

#define MAX 64

static int ref_status(const uint8_t *x, size_t n)    /* n includes the CRLF */
{
  size_t i;
  int eight = 0;
  if (n > MAX) return LINE_TOOLONG;
  for (i = 0; i + 2 < n; ++i)
    if (x[i] == '\n') return LINE_BARELF;
  for (i = 0; i + 2 < n; ++i) {
    if (x[i] == '\r') return LINE_BARECR;
    if (x[i] == 0) return LINE_NUL;
    if (x[i] >= 128) eight = 1;
  }
  return eight ? LINE_8BIT : LINE_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static char space[128];
  char line[MAX];
  size_t pos = 0;
  buffer b = BUFFER_INIT(fz_read, 0, space, sizeof space);
  fz_start(data, size);
  for (;;) {
    size_t len = 0;
    int st = line_read(&b, line, sizeof line, &len);
    const uint8_t *lf = 0;
    size_t k;
    for (k = pos + 1; k < fz_len; ++k)
      if (fz_data[k] == '\n' && fz_data[k - 1] == '\r') { lf = fz_data + k; break; }
    if (!lf) {
      if (st != LINE_EOF) abort();
      return 0;
    }
    {
      size_t n = (size_t)(lf - (fz_data + pos)) + 1;
      int want = ref_status(fz_data + pos, n);
      if (st != want) abort();
      if (st == LINE_OK || st == LINE_8BIT || st == LINE_NUL || st == LINE_BARECR) {
        if (len != n - 2 || memcmp(line, fz_data + pos, len)) abort();
      }
      pos += n;
    }
  }
}
