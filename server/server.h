/* server/server.h: the state shared by every request of one running server.
 *
 * Built once at start (server/main.c) and read-only afterwards, except for
 * the parts that carry their own locks (auth tokens, metrics, the DB pool). */
#ifndef SWIFTLET_SERVER_SERVER_H
#define SWIFTLET_SERVER_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/config.h"
#include "../replication/cluster.h"
#include "../storage/meta.h"

struct auth;
struct metrics;
struct pending;
struct ratelimit;

struct server {
    const struct config *cfg;
    struct cluster *cluster;
    struct db_pool *db;
    struct auth *auth;
    struct metrics *metrics;
    struct pending *pending;    /* listing updates in flight (storage/pending.h) */
    struct journals *journals;  /* small-write journals (storage/journal.h), or NULL */
    struct ratelimit *ratelimit;    /* write throttling (server/ratelimit.h); NULL: off */
    char *storage_url_base;     /* "http://127.0.0.1:8080" as clients reach us */
    uint64_t started_ns;        /* mono_ns() at start */
};

#endif
