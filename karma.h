/* The karma note (karma.c). */
#ifndef KARMA_H
#define KARMA_H

struct session;

/* Perl's adjust_karma: adds delta to the connection note karma, when the
   karma plugin runs (the note is set) */
void karma_adjust(struct session *s, int delta);

#endif
