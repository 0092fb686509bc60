/* The karma note plugins adjust (Perl's adjust_karma), apart from the
   karma plugin that sets it and acts on it. */
#include <fmt.h>
#include <scan.h>
#include "karma.h"
#include "notes.h"

/* Perl's adjust_karma: lowers or raises the connection note karma, when
   the karma plugin set it */
void karma_adjust(struct session *s, int delta)
{
  const char *note = note_conn_get(s, "karma");
  long v = 0;
  unsigned long u;
  char num[24];
  size_t n = 0;
  if (!note) return;
  if (note[0] == '-') { if (scan_ulong(note + 1, &u)) v = -(long)u; }
  else if (scan_ulong(note, &u)) v = (long)u;
  v += delta;
  if (v < 0) num[n++] = '-';
  n += fmt_ulong(num + n, (unsigned long)(v < 0 ? -v : v));
  num[n] = 0;
  note_conn_set(s, "karma", num);
}
