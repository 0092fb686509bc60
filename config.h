/* The core's configuration: every control file the core reads, read once
   into struct config (session.h) by config_read, before the greeting, so
   that a bad one is found at connect, not in the middle of a session. The
   cdb maps and the plugins' files are not in it (plugins read theirs
   in their setup, hooks.h). */
#ifndef CONFIG_H
#define CONFIG_H

struct session;

/* reads them all into s->conf; a bad one is fatal (421, exit 111) */
void config_read(struct session *s);

#endif
