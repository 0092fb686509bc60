/* tests/setnote conn|txn KEY VALUE: sets a note for the test suite, as
   the whitelist, aliases or client_options plugins would: a connection
   note at connect, a transaction note at MAIL. */
#include <str.h>
#include "plugin.h"

struct setnote { int txn; const char *k, *v; };
static struct setnote notes[8];
static unsigned int nnotes;

static int setnote_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  if (argc != 3 || (!str_equal(argv[0], "conn") && !str_equal(argv[0], "txn")) || nnotes >= 8) {
    stralloc_copys(err, "takes conn|txn KEY VALUE");
    return 0;
  }
  notes[nnotes].txn = str_equal(argv[0], "txn");
  notes[nnotes].k = argv[1];
  notes[nnotes].v = argv[2];
  *self = &notes[nnotes++];
  return 1;
}

static int setnote_connect(struct session *s, void *self, struct msg_args *a)
{
  struct setnote *n = self;
  if (!n->txn && !note_conn_set(s, n->k, n->v)) return DENYSOFT;
  return DECLINED;
}

static int setnote_mail(struct session *s, void *self, struct addr_args *a)
{
  struct setnote *n = self;
  if (n->txn && !note_txn_set(s, n->k, n->v)) return DENYSOFT;
  return DECLINED;
}

const struct plugin plugin_tests_setnote = {
  .name = "tests/setnote",
  .init = setnote_init,
  .connect = setnote_connect, .mail = setnote_mail,
};
