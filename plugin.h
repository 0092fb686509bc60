/* The interface between the core and the compiled-in plugins: the
   headers of the modules that offer plugins their services. A plugin
   includes this, never session.h (the core's private state). */
#ifndef PLUGIN_H
#define PLUGIN_H

#include "authres.h"
#include "clock.h"
#include "connection.h"
#include "control.h"
#include "dns_query.h"
#include "fdio.h"
#include "hooks.h"
#include "karma.h"
#include "log.h"
#include "message.h"
#include "notes.h"
#include "queue.h"
#include "reject.h"
#include "env.h"
#include "reply.h"
#include "spawn.h"
#include "txn.h"
#include "wipe.h"

#endif
