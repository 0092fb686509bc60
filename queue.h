/* What queue back ends need from the core (queue.c). */
#ifndef QUEUE_H
#define QUEUE_H

#include <sys/types.h>

struct session;

/* seconds a back end may take (control file timeoutqueue, default 300) */
unsigned long queue_timeout(struct session *s);
/* After seconds, SIGALRM kills process group and process pid (if > 0) and
   shuts socket fd down (if >= 0), so that whatever blocks on them returns;
   watchdog_set changes pid and fd later. watchdog_stop returns 1 when the
   deadline passed. One at a time. */
void watchdog_start(unsigned long seconds, pid_t pid, int fd);
void watchdog_set(pid_t pid, int fd);
int watchdog_fired(void);
int watchdog_stop(void);

/* 1 when every queue plugin of the chain carries DSN's parameters
   (PLUGIN_DSN) and there is one: DSN is offered (a queue plugin's ehlo
   hook advertises it) and RET, ENVID, NOTIFY and ORCPT are accepted */
int queue_dsn_offered(void);
/* for a DSN queue plugin's ehlo hook: adds DSN to EHLO's keywords when
   offered (once); 0 out of memory */
int queue_dsn_ehlo(struct session *s);

#endif
