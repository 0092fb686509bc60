/* The DATA state machine (data.c). */
#ifndef DATA_H
#define DATA_H

struct session;

enum data_status { DATA_END, DATA_EOF, DATA_TIMEOUT, DATA_ERROR, DATA_BARELF, DATA_BARECR, DATA_DISCONNECT };
int data_read(struct session *s);

#endif
