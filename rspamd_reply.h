/* rspamd's answer to POST /checkv2 (rspamd_reply.c): the HTTP status
   line and header section, then the JSON body, read into fixed, bounded
   fields. Pure bytes in, no I/O: the rspamd plugin calls it, and a
   libFuzzer harness (fuzz/fuzz_rspamd.c). */
#ifndef RSPAMD_REPLY_H
#define RSPAMD_REPLY_H

#include <stddef.h>

#define RSPAMD_NAME_MAX 64      /* symbol and header names: longer ones are dropped */
#define RSPAMD_TEXT_MAX 998     /* subject, header values, smtp_message: cut */
#define RSPAMD_SYMBOLS_MAX 100  /* symbols past this are counted, not kept */
#define RSPAMD_HEADERS_MAX 16   /* milter add_headers / remove_headers kept */
#define RSPAMD_SCORE_MAX 1000000000L    /* scores (hundredths) clamp here */

enum rspamd_action {
  RSPAMD_NONE = 0,              /* "no action", or no action field */
  RSPAMD_GREYLIST,
  RSPAMD_ADD_HEADER,
  RSPAMD_REWRITE_SUBJECT,
  RSPAMD_SOFT_REJECT,
  RSPAMD_REJECT,
  RSPAMD_DISCARD,
  RSPAMD_OTHER                  /* an action this reader does not know */
};

/* Every name holds only the bytes '!'..'~' except ':'; every text holds
   no byte below 0x20 and no 0x7f (escaped control characters become
   spaces); all are NUL-terminated. Scores are in hundredths, truncated
   toward zero and clamped to +-RSPAMD_SCORE_MAX. */
struct rspamd_result {
  int action;
  long score, required;
  int have_score, have_required;
  char subject[RSPAMD_TEXT_MAX + 1];
  int have_subject;
  char message[RSPAMD_TEXT_MAX + 1];    /* messages.smtp_message */
  int have_message;
  unsigned int nsym, nsym_seen;
  struct { char name[RSPAMD_NAME_MAX + 1]; long score; } sym[RSPAMD_SYMBOLS_MAX];
  unsigned int nadd, nremove;
  struct { char name[RSPAMD_NAME_MAX + 1]; char value[RSPAMD_TEXT_MAX + 1]; } add[RSPAMD_HEADERS_MAX];
  struct { char name[RSPAMD_NAME_MAX + 1]; } remove[RSPAMD_HEADERS_MAX];
};

/* the whole answer (status line, fields, empty line, JSON): NULL when it
   is a 200 with a JSON object, else why not; r is cleared first */
const char *rspamd_reply_parse(const char *x, size_t len, struct rspamd_result *r);
/* the action's name as rspamd writes it */
const char *rspamd_action_name(int action);

#endif
