/* Privileges (privdrop.c). */
#ifndef PRIVDROP_H
#define PRIVDROP_H

struct session;

/* as root: become UID/GID or refuse */
void priv_drop(struct session *s);

#endif
