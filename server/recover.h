/* server/recover.h: repairs made at start, before the first request. */
#ifndef SWIFTLET_SERVER_RECOVER_H
#define SWIFTLET_SERVER_RECOVER_H
#include "server.h"

/* Replay the listing updates a crashed run left unfinished (srv->pending
 * must be set, srv->cluster and srv->db open). 0 or -errno. */
int recover_listings(struct server *srv);
/* Set the listing row of name ("/account/container/object", len bytes)
 * from what its replicas hold now; journals_open's callback (arg is the
 * server). Errors are logged. Its rows commit relaxed (meta.h): the
 * journals sync every filesystem after the last name. */
void recover_listing_name(const char *name, size_t len, void *arg);
#endif
