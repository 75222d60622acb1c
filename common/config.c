/* common/config.c: This file implements swiftlet's configuration (config.h):
 * one static table of options drives the defaults, the INI parser (inih),
 * config_set() for command-line flags, --dump-config and docs/config.md.
 * Adding a key means adding a field to struct config and a row below. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

enum opt_type {
    OPT_STRING,   /* char *, never NULL after config_init */
    OPT_BOOL,     /* bool */
    OPT_UINT,     /* unsigned */
    OPT_U64,      /* uint64_t */
    OPT_LIST,     /* repeatable; disk_groups / n_disk_groups */
    OPT_USER,     /* repeatable; users / n_users via config_add_user */
    OPT_DOUBLE,   /* double in min..max */
    OPT_TIERS,    /* key prefix + size: container_ratelimits (struct config_rate) */
    OPT_ACCT_RATE,    /* repeatable ACCOUNT:RATE: account_container_ratelimits */
};

struct config_opt {
    const char *section;
    const char *key;
    enum opt_type type;
    const char *def;       /* default as the INI file spells it; NULL: none */
    uint64_t min, max;     /* OPT_UINT, OPT_U64 */
    const char *choices;   /* OPT_STRING: "a|b|c" when only these are valid */
    size_t off;            /* offsetof(struct config, field) */
    const char *doc;       /* one line for docs/config.md and --dump-config */
};

#define OFF(f) offsetof(struct config, f)
#define STR(s, k, d, f, doc) {s, k, OPT_STRING, d, 0, 0, NULL, OFF(f), doc}
#define CHOICE(s, k, d, ch, f, doc) {s, k, OPT_STRING, d, 0, 0, ch, OFF(f), doc}
#define BOOL(s, k, d, f, doc) {s, k, OPT_BOOL, d, 0, 0, NULL, OFF(f), doc}
#define UINT(s, k, d, lo, hi, f, doc) {s, k, OPT_UINT, d, lo, hi, NULL, OFF(f), doc}
#define U64(s, k, d, lo, hi, f, doc) {s, k, OPT_U64, d, lo, hi, NULL, OFF(f), doc}
#define DBL(s, k, d, lo, hi, f, doc) {s, k, OPT_DOUBLE, d, lo, hi, NULL, OFF(f), doc}

static const char SRV[] = "server", STO[] = "storage", CON[] = "swift-constraints",
                  AUT[] = "auth", AUD[] = "auditor", EXP[] = "expirer", REP[] = "replicator",
                  RL[] = "ratelimit", BLK[] = "bulk";
/* The size tiers' key prefix: container_ratelimit_<N>. */
static const char TIER_PREFIX[] = "container_ratelimit_";

static const struct config_opt options[] = {
    STR(SRV, "listen", "127.0.0.1:8080", listen, "address and port to serve HTTP on (HOST:PORT)"),
    UINT(SRV, "threads", "0", 0, 1024, threads, "HTTP threads; 0 means one per CPU"),
    UINT(SRV, "workers", "64", 1, 4096, workers,
         "threads for blocking work (fsync, database writes)"),
    CHOICE(SRV, "log_level", "info", "debug|info|warn|error|off", log_level,
           "least severe log level written to stderr"),
    BOOL(SRV, "access_log", "true", access_log, "log one line per request"),
    BOOL(SRV, "batch_scheduling", "true", batch_scheduling,
         "run every thread under SCHED_BATCH: a woken thread waits for the running one to block"),
    UINT(SRV, "token_ttl", "86400", 1, 315360000, token_ttl, "lifetime of auth tokens in seconds"),

    STR(STO, "data_dir", "", data_dir,
        "directory for disk groups and the ring when no disk_group is given"),
    {STO, "disk_group", OPT_LIST, NULL, 0, 0, NULL, OFF(disk_groups),
     "a disk group directory; give at least 3"},
    UINT(STO, "part_power", "10", 4, 20, part_power, "the ring has 2^part_power partitions"),
    STR(STO, "ring_file", "", ring_file, "ring file; empty means `<data_dir>/ring.txt`, or `swiftlet.ring` beside the first disk_group"),
    CHOICE(STO, "io", "auto", "auto|uring|sync", io_mode,
           "replica I/O: io_uring, plain syscalls, or io_uring when it works"),
    BOOL(STO, "fsync", "true", fsync, "fsync data and directories; false only for throwaway data"),
    BOOL(STO, "journal", "true", journal,
         "make small object files (up to 64 KiB) durable through a journal per filesystem, "
         "synced once for many writes, instead of syncing each file"),
    UINT(STO, "journal_checkpoint_ms", "2000", 10, 3600000, journal_checkpoint_ms,
         "how long journal records wait before the filesystem is synced and the journal emptied"),
    UINT(STO, "db_cache", "1024", 1, 1000000, db_cache, "open SQLite handles kept in a cache"),

    U64(CON, "max_file_size", "5368709122", 1, 1ULL << 50, max_file_size,
        "largest object (or segment) a single PUT may store, bytes"),
    UINT(CON, "max_meta_name_length", "128", 1, UINT_MAX, max_meta_name_length,
         "longest metadata name (after the `X-*-Meta-` prefix), bytes"),
    UINT(CON, "max_meta_value_length", "256", 1, UINT_MAX, max_meta_value_length,
         "longest metadata value, bytes"),
    UINT(CON, "max_meta_count", "90", 1, UINT_MAX, max_meta_count,
         "most metadata items on one account, container or object"),
    UINT(CON, "max_meta_overall_size", "4096", 1, UINT_MAX, max_meta_overall_size,
         "most bytes of metadata (names and values) on one item"),
    UINT(CON, "max_header_size", "8192", 1, UINT_MAX, max_header_size,
         "longest request header line, bytes"),
    UINT(CON, "max_object_name_length", "1024", 1, UINT_MAX, max_object_name_length,
         "longest object name, bytes"),
    UINT(CON, "container_listing_limit", "10000", 1, UINT_MAX, container_listing_limit,
         "most objects returned by one container listing"),
    UINT(CON, "account_listing_limit", "10000", 1, UINT_MAX, account_listing_limit,
         "most containers returned by one account listing"),
    UINT(CON, "max_account_name_length", "256", 1, UINT_MAX, max_account_name_length,
         "longest account name, bytes"),
    UINT(CON, "max_container_name_length", "256", 1, UINT_MAX, max_container_name_length,
         "longest container name, bytes"),
    UINT(CON, "extra_header_count", "0", 0, UINT_MAX, extra_header_count,
         "headers allowed on a request beyond max_meta_count + 36"),
    UINT(CON, "max_containers_per_account", "500000", 0, UINT_MAX, max_containers_per_account,
         "most containers one account may hold (Cloud Files: 500,000); creating one more "
         "answers 403; 0 means no limit"),

    BOOL(AUD, "enabled", "true", auditor, "run the auditor in `serve` (`swiftlet audit` runs it by hand)"),
    UINT(AUD, "interval", "3600", 1, 31536000, auditor_interval,
         "seconds from the start of one audit pass to the start of the next"),
    U64(AUD, "bytes_per_second", "10000000", 0, 1ULL << 40, auditor_bytes_per_second,
        "most bytes the auditor reads per second; 0 means no limit"),
    UINT(AUD, "files_per_second", "20", 0, 1000000, auditor_files_per_second,
         "most files (objects, DBs) the auditor checks per second; 0 means no limit"),

    BOOL(EXP, "enabled", "true", expirer, "run the expirer in `serve` (`swiftlet expire` runs it by hand)"),
    UINT(EXP, "interval", "300", 1, 86400, expirer_interval,
         "seconds between passes that delete objects whose X-Delete-At has passed"),

    {AUT, "user", OPT_USER, NULL, 0, 0, NULL, OFF(users),
     "a user as `ACCOUNT:USER:KEY[:admin]`"},
    STR(AUT, "reseller_prefix", "AUTH_", reseller_prefix,
        "prefix of account names in storage URLs (`/v1/AUTH_<account>`)"),
    /* identity (v2.0 / v3 logins, `swiftlet user`) */
    STR(AUT, "users_db", "", users_db,
        "users database (`swiftlet user`); empty means `<data_dir>/users.db`, or "
        "`swiftlet-users.db` beside the first disk_group"),
    STR(AUT, "region", "RegionOne", region,
        "region named in the v2.0 / v3 service catalog (and RAX-AUTH:defaultRegion)"),
    STR(AUT, "internal_url", "", internal_url,
        "base URL (`http://HOST:PORT`) of the catalog's internal (ServiceNet) endpoint; "
        "empty means the public one"),

    BOOL(REP, "enabled", "true", replicator_enabled,
         "run the replicator in the background of `serve`"),
    UINT(REP, "interval", "30", 1, 86400, replicator_interval,
         "seconds from the end of one replication pass to the start of the next"),
    UINT(REP, "nice", "10", 0, 19, replicator_nice,
         "niceness of the replicator thread of `serve`: a pass walks every hash directory, "
         "and requests come first"),
    UINT(REP, "files_per_second", "200", 0, UINT_MAX, replicator_files_per_second,
         "most files (and DBs) copied or merged per second; 0 means no limit"),
    U64(REP, "bytes_per_second", "104857600", 0, 1ULL << 50, replicator_bytes_per_second,
        "most bytes copied per second; 0 means no limit"),
    UINT(REP, "reclaim_age", "604800", 1, UINT_MAX, reclaim_age,
         "seconds a tombstone (`.ts` file, deleted DB row) is kept before it is reaped"),
    UINT("health", "probe_interval_ms", "2000", 50, 3600000, health_probe_interval_ms,
         "how often every disk group is probed (identity, a small write + fsync, free space); "
         "an unhealthy one comes back to use at the first probe that passes"),
    UINT("health", "min_free_percent", "1", 0, 99, health_min_free_percent,
         "a disk group with less free space than this is `full` and takes no new writes"),

    BOOL(RL, "enabled", "true", ratelimit_enabled,
         "limit object writes per container (`--no-ratelimit` turns it off)"),
    CHOICE(RL, "mode", "swift", "swift|reject", ratelimit_mode,
           "`swift`: delay an over-limit write, `498 Rate Limited` past max_sleep_time_seconds; "
           "`reject`: answer `429 Too Many Requests` with `Retry-After` at once"),
    {RL, TIER_PREFIX, OPT_TIERS, "100", 0, 1000000, NULL, OFF(container_ratelimits),
     "object PUT/POST/DELETE/COPY per second per container holding N or more objects; rates "
     "between two sizes are interpolated linearly (as Swift); 0 means no limit"},
    {RL, "account_container_ratelimit", OPT_ACCT_RATE, NULL, 0, 1000000, NULL,
     OFF(account_container_ratelimits),
     "`ACCOUNT:RATE`: writes per second per container for one account's containers, "
     "whatever their size (`AUTH_test:20`); 0 means no limit"},
    DBL(RL, "account_ratelimit", "0", 0, 1000000, account_ratelimit,
        "container PUT/DELETE per second per account (Swift's); 0 means no limit"),
    DBL(RL, "max_sleep_time_seconds", "60", 0, 86400, max_sleep_time_seconds,
        "a write that would wait longer is answered `498 Rate Limited` (swift mode)"),
    DBL(RL, "log_sleep_time_seconds", "0", 0, 86400, log_sleep_time_seconds,
        "log delays longer than this; 0 means never"),
    UINT(RL, "rate_buffer_seconds", "5", 0, 3600, rate_buffer_seconds,
         "seconds of unused rate an idle container may catch up on in a burst"),
    UINT(RL, "clock_accuracy", "1000", 1, 1000000000, clock_accuracy,
         "ticks per second of the limiter's clock (Swift's; no rate should exceed it)"),
    BOOL(RL, "exempt_empty_containers", "false", exempt_empty_containers,
         "never limit a container holding 0 objects, as Swift does (Cloud Files does not)"),

    UINT(BLK, "max_deletes_per_request", "10000", 1, 1000000, bulk_max_deletes_per_request,
         "most paths one `?bulk-delete` request may list"),
    UINT(BLK, "max_failed_deletes", "1000", 1, 1000000, bulk_max_failed_deletes,
         "a bulk delete stops after this many failures"),
    UINT(BLK, "max_containers_per_extraction", "10000", 1, 1000000,
         bulk_max_containers_per_extraction,
         "most containers one `?extract-archive` request may create"),
    UINT(BLK, "max_failed_extractions", "1000", 1, 1000000, bulk_max_failed_extractions,
         "an archive extraction stops after this many failures"),
    UINT(BLK, "yield_frequency", "10", 0, 3600, bulk_yield_frequency,
         "seconds between the whitespace a bulk request sends while it works"),
};

static const struct {
    const char *name;
    const char *doc;
} sections[] = {
    {SRV, "The HTTP front end."},
    {STO, "Where and how data is stored."},
    {CON, "Limits, with the names and defaults of Swift's `swift.conf` section (Swift 2.30)."},
    {AUT, "Users and tokens."},
    {AUD, "The auditor: re-reads every replica at a bounded rate and quarantines corrupt ones."},
    {EXP, "The expirer: deletes objects whose `X-Delete-At` has passed."},
    {REP, "The replicator: restores missing replicas, moves handoffs home, reaps tombstones."},
    {"health", "Disk group health: probes that take failed disk groups out of use and bring "
               "them back."},
    {RL, "Per-container write throttling, after Swift's ratelimit middleware (same option "
         "names and meanings); 100 writes/s per container by default, as Cloud Files."},
    {BLK, "Bulk delete and archive extraction, after Swift's bulk middleware (same option "
          "names and defaults)."},
};

#define FIELD(c, o, type) ((type *)(void *)((char *)(c) + (o)->off))
#define CFIELD(c, o, type) ((const type *)(const void *)((const char *)(c) + (o)->off))

/* Does key name a size tier: TIER_PREFIX followed by decimal digits? */
static bool is_tier_key(const char *key)
{
    size_t n = strlen(TIER_PREFIX);

    if (strncasecmp(key, TIER_PREFIX, n) != 0 || !key[n])
        return false;
    return strspn(key + n, "0123456789") == strlen(key + n);
}

static const struct config_opt *find_opt(const char *section, const char *key)
{
    for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
        if (strcasecmp(options[i].section, section) != 0)
            continue;
        if (options[i].type == OPT_TIERS ? is_tier_key(key)
                                         : strcasecmp(options[i].key, key) == 0)
            return &options[i];
    }
    return NULL;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...) PRINTF_LIKE(3, 4);
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Swift's config_true_value spellings, and their opposites. */
static int parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "1", "yes", "on", "t", "y"};
    static const char *const no[] = {"false", "0", "no", "off", "f", "n"};

    for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -EINVAL;
}

/* Plain decimal digits, no sign, no overflow. */
static int parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;

    if (!*s)
        return -EINVAL;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return -EINVAL;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 0;
}

/* Is value one of the '|'-separated choices? */
static bool is_choice(const char *choices, const char *value)
{
    size_t n = strlen(value);

    for (const char *p = choices; *p;) {
        size_t len = strcspn(p, "|");

        if (len == n && strncmp(p, value, n) == 0)
            return true;
        p += len + (p[len] == '|');
    }
    return false;
}

static int set_number(struct config *c, const struct config_opt *o, const char *value, char *err,
                      size_t errlen)
{
    uint64_t v;

    if (parse_u64(value, &v) || v < o->min || v > o->max) {
        set_err(err, errlen,
                "invalid value '%s' for key '%s' in [%s]: expected an integer in %llu..%llu",
                value, o->key, o->section, (unsigned long long)o->min,
                (unsigned long long)o->max);
        return -EINVAL;
    }
    if (o->type == OPT_UINT)
        *FIELD(c, o, unsigned) = (unsigned)v;
    else
        *FIELD(c, o, uint64_t) = v;
    return 0;
}

static int set_string(struct config *c, const struct config_opt *o, const char *value, char *err,
                      size_t errlen)
{
    char **field = FIELD(c, o, char *);

    if (o->choices && !is_choice(o->choices, value)) {
        set_err(err, errlen, "invalid value '%s' for key '%s' in [%s]: expected one of %s",
                value, o->key, o->section, o->choices);
        return -EINVAL;
    }
    free(*field);
    *field = xstrdup(value);
    return 0;
}

/* A finite number in o->min..o->max ("2.5", "100"). */
static int parse_double(const struct config_opt *o, const char *value, double *out, char *err,
                        size_t errlen)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(value, &end);
    if (errno || end == value || *end || !isfinite(v) || v < (double)o->min ||
        v > (double)o->max) {
        set_err(err, errlen, "invalid value '%s' for key '%s' in [%s]: expected a number in "
                "%llu..%llu", value, o->key, o->section, (unsigned long long)o->min,
                (unsigned long long)o->max);
        return -EINVAL;
    }
    *out = v;
    return 0;
}

/* container_ratelimit_<size> = rate: insert in size order, replacing a
 * tier of the same size; the first one set replaces the default tier. */
static int set_tier(struct config *c, const struct config_opt *o, const char *key,
                    const char *value, char *err, size_t errlen)
{
    struct config_rate t;
    size_t i;

    if (parse_u64(key + strlen(TIER_PREFIX), &t.size)) {
        set_err(err, errlen, "invalid size in key '%s' in [%s]", key, o->section);
        return -EINVAL;
    }
    if (parse_double(o, value, &t.rate, err, errlen))
        return -EINVAL;
    if (c->container_ratelimits_default) {
        c->n_container_ratelimits = 0;
        c->container_ratelimits_default = false;
    }
    for (i = 0; i < c->n_container_ratelimits && c->container_ratelimits[i].size < t.size; i++)
        ;
    if (i < c->n_container_ratelimits && c->container_ratelimits[i].size == t.size) {
        c->container_ratelimits[i] = t;
        return 0;
    }
    c->container_ratelimits = xrealloc(c->container_ratelimits,
                                       (c->n_container_ratelimits + 1) * sizeof(t));
    memmove(&c->container_ratelimits[i + 1], &c->container_ratelimits[i],
            (c->n_container_ratelimits - i) * sizeof(t));
    c->container_ratelimits[i] = t;
    c->n_container_ratelimits++;
    return 0;
}

/* account_container_ratelimit = ACCOUNT:RATE (split at the last ':'); a
 * second entry for the same account replaces the first. */
static int add_account_rate(struct config *c, const struct config_opt *o, const char *value,
                            char *err, size_t errlen)
{
    const char *colon = strrchr(value, ':');
    struct config_account_rate a;

    if (!colon || colon == value) {
        set_err(err, errlen, "invalid value '%s' for key '%s' in [%s]: expected ACCOUNT:RATE",
                value, o->key, o->section);
        return -EINVAL;
    }
    if (parse_double(o, colon + 1, &a.rate, err, errlen))
        return -EINVAL;
    a.account = xstrndup(value, (size_t)(colon - value));
    for (size_t i = 0; i < c->n_account_container_ratelimits; i++) {
        if (strcmp(c->account_container_ratelimits[i].account, a.account) == 0) {
            free(a.account);
            c->account_container_ratelimits[i].rate = a.rate;
            return 0;
        }
    }
    c->account_container_ratelimits =
        xrealloc(c->account_container_ratelimits,
                 (c->n_account_container_ratelimits + 1) * sizeof(a));
    c->account_container_ratelimits[c->n_account_container_ratelimits++] = a;
    return 0;
}

static int add_disk_group(struct config *c, const struct config_opt *o, const char *value,
                          char *err, size_t errlen)
{
    if (!*value) {
        set_err(err, errlen, "empty value for key '%s' in [%s]", o->key, o->section);
        return -EINVAL;
    }
    c->disk_groups = xrealloc(c->disk_groups, (c->n_disk_groups + 1) * sizeof(char *));
    c->disk_groups[c->n_disk_groups++] = xstrdup(value);
    return 0;
}

/* Apply one key = value; the message in err names key and section but not
 * the file (config_load adds "file:line: "). */
static int apply(struct config *c, const char *section, const char *key, const char *value,
                 char *err, size_t errlen)
{
    const struct config_opt *o = find_opt(section, key);
    bool b;

    if (!o) {
        set_err(err, errlen, "unknown key '%s' in [%s]", key, section);
        return -EINVAL;
    }
    switch (o->type) {
    case OPT_STRING:
        return set_string(c, o, value, err, errlen);
    case OPT_BOOL:
        if (parse_bool(value, &b)) {
            set_err(err, errlen, "invalid value '%s' for key '%s' in [%s]: expected true or false",
                    value, o->key, o->section);
            return -EINVAL;
        }
        *FIELD(c, o, bool) = b;
        return 0;
    case OPT_UINT:
    case OPT_U64:
        return set_number(c, o, value, err, errlen);
    case OPT_LIST:
        return add_disk_group(c, o, value, err, errlen);
    case OPT_USER:
        if (config_add_user(c, value)) {
            /* The value holds a key: do not echo it. */
            set_err(err, errlen, "invalid value for key '%s' in [%s]: expected "
                    "ACCOUNT:USER:KEY[:admin]", o->key, o->section);
            return -EINVAL;
        }
        return 0;
    case OPT_DOUBLE:
        return parse_double(o, value, FIELD(c, o, double), err, errlen);
    case OPT_TIERS:
        return set_tier(c, o, key, value, err, errlen);
    case OPT_ACCT_RATE:
        return add_account_rate(c, o, value, err, errlen);
    }
    return -EINVAL;
}

void config_init(struct config *c)
{
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
        const struct config_opt *o = &options[i];

        /* The defaults are in the table and valid by construction; a tier
         * default is the tier of size 0. */
        const char *key = o->type == OPT_TIERS ? "container_ratelimit_0" : o->key;

        if (o->def && apply(c, o->section, key, o->def, NULL, 0))
            abort();
    }
    c->container_ratelimits_default = true;
}

void config_release(struct config *c)
{
    for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
        if (options[i].type == OPT_STRING)
            free(*FIELD(c, &options[i], char *));
    }
    for (size_t i = 0; i < c->n_disk_groups; i++)
        free(c->disk_groups[i]);
    free(c->disk_groups);
    for (size_t i = 0; i < c->n_users; i++) {
        free(c->users[i].account);
        free(c->users[i].user);
        free(c->users[i].key);
    }
    free(c->users);
    free(c->container_ratelimits);
    for (size_t i = 0; i < c->n_account_container_ratelimits; i++)
        free(c->account_container_ratelimits[i].account);
    free(c->account_container_ratelimits);
    memset(c, 0, sizeof(*c));
}

int config_set(struct config *c, const char *section, const char *key, const char *value,
               char *err, size_t errlen)
{
    return apply(c, section, key, value, err, errlen);
}

/* "ACCOUNT:USER:KEY[:admin]": the key may itself contain ':'; a trailing
 * ":admin" is the flag. A second entry for the same ACCOUNT:USER replaces
 * the first, so a file can override command-line users and vice versa. */
int config_add_user(struct config *c, const char *spec)
{
    const char *u, *k;
    size_t klen;
    struct config_user nu;

    u = strchr(spec, ':');
    k = u ? strchr(u + 1, ':') : NULL;
    if (!k || u == spec || k == u + 1 || !k[1])
        return -EINVAL;
    k++;
    klen = strlen(k);
    nu.admin = klen > 6 && strcmp(k + klen - 6, ":admin") == 0;
    if (nu.admin)
        klen -= 6;
    nu.account = xstrndup(spec, (size_t)(u - spec));
    nu.user = xstrndup(u + 1, (size_t)(k - 1 - (u + 1)));
    nu.key = xstrndup(k, klen);
    for (size_t i = 0; i < c->n_users; i++) {
        struct config_user *old = &c->users[i];

        if (strcmp(old->account, nu.account) == 0 && strcmp(old->user, nu.user) == 0) {
            free(old->account);
            free(old->user);
            free(old->key);
            *old = nu;
            return 0;
        }
    }
    c->users = xrealloc(c->users, (c->n_users + 1) * sizeof(*c->users));
    c->users[c->n_users++] = nu;
    return 0;
}

/* State for one config_load: inih's handler has no line number, so the
 * reader counts the lines it hands out (inih counts reader calls too). */
struct load_ctx {
    struct config *c;
    FILE *f;
    int line;          /* lines read so far = line being parsed */
    int err_line;      /* line of our first error, 0: none; its text in msg */
    char msg[256];
};

/* Note the first error of a load (later ones are not reported). */
static void load_fail(struct load_ctx *lc, const char *msg)
{
    if (lc->err_line)
        return;
    lc->err_line = lc->line;
    snprintf(lc->msg, sizeof(lc->msg), "%s", msg);
}

/* inih cuts lines at num - 1 bytes and would parse the rest as a new line,
 * silently truncating a value and shifting line numbers. Reject such a line
 * instead, and hand inih one chunk per physical line. */
static char *load_reader(char *str, int num, void *stream)
{
    struct load_ctx *lc = stream;
    size_t len;
    char msg[64];
    int ch;

    if (!fgets(str, num, lc->f))
        return NULL;
    lc->line++;
    len = strlen(str);
    if (len == 0 || str[len - 1] == '\n')
        return str;
    ch = getc(lc->f);
    if (ch == EOF || ch == '\n')
        return str;   /* last line without '\n', or exactly num - 1 bytes */
    while (ch != EOF && ch != '\n')
        ch = getc(lc->f);
    snprintf(msg, sizeof(msg), "line longer than %d bytes", num - 2);
    load_fail(lc, msg);
    str[0] = '\n';
    str[1] = '\0';
    return str;
}

static int load_handler(void *user, const char *section, const char *key, const char *value)
{
    struct load_ctx *lc = user;

    if (lc->err_line)   /* report the first error only; apply nothing after it */
        return 1;
    if (apply(lc->c, section, key, value, lc->msg, sizeof(lc->msg)) == 0)
        return 1;
    lc->err_line = lc->line;   /* lc->msg is already set */
    return 0;
}

int config_load(struct config *c, const char *path, char *err, size_t errlen)
{
    struct load_ctx lc = {.c = c};
    int rc;

    lc.f = fopen(path, "r");
    if (!lc.f) {
        rc = -errno;
        set_err(err, errlen, "%s: cannot open: %s", path, err_str(rc));
        return rc;
    }
    rc = ini_parse_stream(load_reader, &lc, load_handler, &lc);
    if (rc == 0 && ferror(lc.f)) {
        set_err(err, errlen, "%s: read error", path);
        rc = -EIO;
        goto out_close;
    }
    if (rc > 0 && (!lc.err_line || rc < lc.err_line))
        set_err(err, errlen, "%s:%d: syntax error (expected [section] or key = value)", path, rc);
    else if (rc > 0 || lc.err_line)
        set_err(err, errlen, "%s:%d: %s", path, lc.err_line, lc.msg);
    else if (rc < 0)
        set_err(err, errlen, "%s: out of memory", path);
    rc = (rc != 0 || lc.err_line) ? -EINVAL : 0;
out_close:
    fclose(lc.f);
    return rc;
}

/* The value of a scalar option as the INI file spells it. */
static void format_value(const struct config *c, const struct config_opt *o, char *out,
                         size_t outlen)
{
    switch (o->type) {
    case OPT_STRING:
        snprintf(out, outlen, "%s", *CFIELD(c, o, char *) ? *CFIELD(c, o, char *) : "");
        break;
    case OPT_BOOL:
        snprintf(out, outlen, "%s", *CFIELD(c, o, bool) ? "true" : "false");
        break;
    case OPT_UINT:
        snprintf(out, outlen, "%u", *CFIELD(c, o, unsigned));
        break;
    case OPT_U64:
        snprintf(out, outlen, "%llu", (unsigned long long)*CFIELD(c, o, uint64_t));
        break;
    case OPT_DOUBLE:
        snprintf(out, outlen, "%g", *CFIELD(c, o, double));
        break;
    case OPT_LIST:
    case OPT_USER:
    case OPT_TIERS:
    case OPT_ACCT_RATE:
        out[0] = '\0';
        break;
    }
}

static void dump_option(const struct config *c, const struct config_opt *o, FILE *out)
{
    char val[64];

    fprintf(out, "; %s\n", o->doc);
    if (o->type == OPT_LIST) {
        for (size_t i = 0; i < c->n_disk_groups; i++)
            fprintf(out, "%s = %s\n", o->key, c->disk_groups[i]);
        if (!c->n_disk_groups)
            fprintf(out, ";%s =\n", o->key);
    } else if (o->type == OPT_USER) {
        for (size_t i = 0; i < c->n_users; i++) {
            const struct config_user *u = &c->users[i];

            fprintf(out, "%s = %s:%s:%s%s\n", o->key, u->account, u->user, u->key,
                    u->admin ? ":admin" : "");
        }
        if (!c->n_users)
            fprintf(out, ";%s =\n", o->key);
    } else if (o->type == OPT_TIERS) {
        for (size_t i = 0; i < c->n_container_ratelimits; i++)
            fprintf(out, "%s%llu = %g\n", TIER_PREFIX,
                    (unsigned long long)c->container_ratelimits[i].size,
                    c->container_ratelimits[i].rate);
    } else if (o->type == OPT_ACCT_RATE) {
        for (size_t i = 0; i < c->n_account_container_ratelimits; i++)
            fprintf(out, "%s = %s:%g\n", o->key, c->account_container_ratelimits[i].account,
                    c->account_container_ratelimits[i].rate);
        if (!c->n_account_container_ratelimits)
            fprintf(out, ";%s =\n", o->key);
    } else if (o->type == OPT_STRING) {
        fprintf(out, "%s = %s\n", o->key, *CFIELD(c, o, char *) ? *CFIELD(c, o, char *) : "");
    } else {
        format_value(c, o, val, sizeof(val));
        fprintf(out, "%s = %s\n", o->key, val);
    }
}

void config_dump(const struct config *c, FILE *out)
{
    fprintf(out, "# swiftlet configuration (swiftlet --dump-config)\n");
    for (size_t s = 0; s < ARRAY_SIZE(sections); s++) {
        fprintf(out, "\n[%s]\n", sections[s].name);
        for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
            if (options[i].section == sections[s].name)
                dump_option(c, &options[i], out);
        }
    }
}

/* Markdown table cell text: '|' would end the cell. */
static void put_cell(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", out);
        else
            fputc(*s, out);
    }
}

static void doc_option(const struct config_opt *o, FILE *out)
{
    if (o->type == OPT_TIERS)
        fprintf(out, "| `%s<N>` | `%s0` = `%s`", o->key, o->key, o->def);
    else
        fprintf(out, "| `%s` | ", o->key);
    if (o->type == OPT_LIST || o->type == OPT_USER || o->type == OPT_ACCT_RATE)
        fputs("*(none)*", out);
    else if (o->type != OPT_TIERS && o->def && *o->def)
        fprintf(out, "`%s`", o->def);
    else if (o->type != OPT_TIERS)
        fputs("*(empty)*", out);
    fputs(" | ", out);
    put_cell(out, o->doc);
    if (o->type == OPT_LIST || o->type == OPT_USER || o->type == OPT_ACCT_RATE ||
        o->type == OPT_TIERS)
        fputs(" (repeatable)", out);
    else if (o->type == OPT_UINT || o->type == OPT_U64 || o->type == OPT_DOUBLE)
        fprintf(out, " (%llu..%llu)", (unsigned long long)o->min, (unsigned long long)o->max);
    else if (o->type == OPT_BOOL)
        fputs(" (true/false)", out);
    else if (o->choices) {
        fputs(" (one of ", out);
        for (const char *p = o->choices; *p; p++) {
            if (*p == '|')
                fputs(", ", out);
            else
                fputc(*p, out);
        }
        fputc(')', out);
    }
    fputs(" |\n", out);
}

void config_write_docs(FILE *out)
{
    fputs("# Configuration reference\n\n"
          "<!-- Generated by `swiftlet --config-docs` from the option table in\n"
          "     common/config.c (`make docs-config`); do not edit by hand. -->\n\n"
          "swiftlet reads one INI file. Keys are grouped in the sections below; an\n"
          "unknown section or key, or a value out of range, is an error reported as\n"
          "`file:line`. Keys marked repeatable may appear several times.\n"
          "`swiftlet --dump-config` prints the effective configuration in the same\n"
          "format.\n",
          out);
    for (size_t s = 0; s < ARRAY_SIZE(sections); s++) {
        fprintf(out, "\n## [%s]\n\n%s\n\n", sections[s].name, sections[s].doc);
        fputs("| key | default | meaning |\n| --- | --- | --- |\n", out);
        for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
            if (options[i].section == sections[s].name)
                doc_option(&options[i], out);
        }
    }
}
