/* common/config.h: swiftlet's settings, one table for the INI parser, the
 * defaults, --dump-config and docs/config.md.
 *
 * As in redis' static_configs[], a single table (config.c) lists every key
 * with its section, type, default, range and one line of documentation. The
 * INI parser (inih) rejects unknown keys with "file:line". A test checks that
 * docs/config.md is what config_write_docs() produces. */
#ifndef SWIFTLET_COMMON_CONFIG_H
#define SWIFTLET_COMMON_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "util.h"

/* A user from the config ([auth] user = ACCOUNT:USER:KEY[:admin]). */
struct config_user {
    char *account;
    char *user;
    char *key;
    bool admin;
};

/* A size tier of the [ratelimit] section: container_ratelimit_<size> = rate. */
struct config_rate {
    uint64_t size;     /* objects in the container */
    double rate;       /* writes per second; 0 = unlimited */
};

/* [ratelimit] account_container_ratelimit = ACCOUNT:RATE. */
struct config_account_rate {
    char *account;     /* "AUTH_test" */
    double rate;       /* writes per second per container; 0 = unlimited */
};

/* After config_init every char * field is a heap string, never NULL ("" when
 * unset). INI keys are the field names except: disk_group -> disk_groups,
 * io -> io_mode, user -> users, and the [auditor], [expirer] and [replicator]
 * keys, which drop their section's prefix ([auditor] interval ->
 * auditor_interval, [replicator] enabled -> replicator_enabled). */
struct config {
    /* [server] */
    char *listen;               /* "HOST:PORT" */
    unsigned threads;           /* HTTP threads; 0 = number of CPUs */
    unsigned workers;           /* blocking-work threads (fsync, DB writes) */
    char *log_level;
    bool access_log;
    bool batch_scheduling;      /* SCHED_BATCH for every thread (main.c) */
    unsigned token_ttl;         /* seconds */

    /* [storage] */
    char *data_dir;             /* where --data keeps disk groups and the ring */
    char **disk_groups;         /* paths; at least 3 */
    size_t n_disk_groups;
    unsigned part_power;        /* 2^part_power partitions */
    char *ring_file;            /* default <data_dir>/ring or next to first dg */
    char *io_mode;              /* "auto", "uring", "sync" */
    bool fsync;                 /* false only for throwaway test data */
    bool journal;               /* small files durable through storage/journal.h */
    unsigned journal_checkpoint_ms;
    unsigned db_cache;          /* open SQLite handles kept */

    /* [swift-constraints]: as Swift's swift.conf section of that name */
    uint64_t max_file_size;
    unsigned max_meta_name_length;
    unsigned max_meta_value_length;
    unsigned max_meta_count;
    unsigned max_meta_overall_size;
    unsigned max_header_size;
    unsigned max_object_name_length;
    unsigned container_listing_limit;
    unsigned account_listing_limit;
    unsigned max_account_name_length;
    unsigned max_container_name_length;
    unsigned extra_header_count;
    unsigned max_containers_per_account; /* 0 = no limit */

    /* [auditor] */
    bool auditor;               /* run the auditor thread in serve */
    unsigned auditor_interval;  /* seconds from one pass's start to the next */
    uint64_t auditor_bytes_per_second;
    unsigned auditor_files_per_second;

    /* [expirer] */
    bool expirer;               /* run the expirer thread in serve */
    unsigned expirer_interval;  /* seconds between passes */

    /* [auth] */
    struct config_user *users;
    size_t n_users;
    char *reseller_prefix;      /* "AUTH_" */
    char *users_db;             /* users database; "" = the default path */
    char *region;               /* catalog region of v2.0 / v3 logins */
    char *internal_url;         /* base URL of the internal endpoint; "" = public */

    /* [replicator] (INI keys drop the replicator_ prefix) */
    bool replicator_enabled;    /* run the background thread in serve */
    unsigned replicator_interval;       /* seconds between passes */
    unsigned replicator_nice;           /* the background thread's niceness */
    unsigned replicator_files_per_second;   /* copies; 0 = unlimited */
    uint64_t replicator_bytes_per_second;   /* 0 = unlimited */
    unsigned reclaim_age;       /* seconds before tombstones are reaped */
    /* [health] */
    unsigned health_probe_interval_ms;
    unsigned health_min_free_percent;

    /* [ratelimit] (enabled -> ratelimit_enabled, mode -> ratelimit_mode) */
    bool ratelimit_enabled;
    char *ratelimit_mode;                 /* "swift" (delay, then 498) or "reject" (429) */
    double account_ratelimit;             /* container PUT/DELETE per account; 0 = off */
    double max_sleep_time_seconds;
    double log_sleep_time_seconds;        /* 0 = never log */
    unsigned rate_buffer_seconds;
    unsigned clock_accuracy;              /* ticks per second of the running time */
    bool exempt_empty_containers;         /* Swift: no limit on a 0-object container */
    struct config_rate *container_ratelimits;   /* sorted by size, sizes unique */
    size_t n_container_ratelimits;
    bool container_ratelimits_default;    /* still the default tier (replaced on first set) */
    struct config_account_rate *account_container_ratelimits;
    size_t n_account_container_ratelimits;

    /* [bulk]: Swift's bulk middleware options (keys drop the bulk_ prefix) */
    unsigned bulk_max_deletes_per_request;
    unsigned bulk_max_failed_deletes;
    unsigned bulk_max_containers_per_extraction;
    unsigned bulk_max_failed_extractions;
    unsigned bulk_yield_frequency;        /* seconds between heartbeat spaces */
};

/* Fill every field with its default (no disk groups, no users). */
void config_init(struct config *c);
void config_release(struct config *c);

/* Read an INI file over the current values; on error writes a message
 * naming "file:line" into err (errlen bytes) and returns -EINVAL (or -errno
 * when the file cannot be read). */
int config_load(struct config *c, const char *path, char *err, size_t errlen) WUR;
/* Set one key as the INI file would ("section", "key", "value"); used by
 * command-line flags. 0 or -EINVAL with a message in err. */
int config_set(struct config *c, const char *section, const char *key, const char *value,
               char *err, size_t errlen) WUR;
/* Parse "ACCOUNT:USER:KEY[:admin]" and append it. 0 or -EINVAL. */
int config_add_user(struct config *c, const char *spec) WUR;

/* The effective configuration as an INI file. */
void config_dump(const struct config *c, FILE *out);
/* The configuration reference (docs/config.md) in Markdown. */
void config_write_docs(FILE *out);

#endif
