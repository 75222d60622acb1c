/* server/recover.h: repairs made at start, before the first request. */
#ifndef SWIFTLET_SERVER_RECOVER_H
#define SWIFTLET_SERVER_RECOVER_H
#include "server.h"

/* Replay the listing updates a crashed run left unfinished (srv->pending
 * must be set, srv->cluster and srv->db open). 0 or -errno. */
int recover_listings(struct server *srv);
#endif
