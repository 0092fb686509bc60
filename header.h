/* Header fields in a header section with LF line ends: a pure function,
   no I/O. */
#ifndef HEADER_H
#define HEADER_H

#include <stddef.h>
#include <stralloc.h>

/* Appends to sa the value of the field whose line ends at end (the LF or
   len), from x[j] (after the colon) on, with its continuation lines
   unfolded and the leading white space dropped while sa is empty. *next is
   the offset of the line after the field. 1 ok, 0 out of memory. */
int header_unfold(const char *x, size_t len, size_t j, size_t end, stralloc *sa, size_t *next);

#endif
