/* common/util.h: allocation helpers that abort on failure, small macros and
 * the project's own error codes.
 *
 * Conventions (see STYLE.md): actions return 0 or a negative errno; codes
 * that are not errno values count down from -4000 and are listed here only.
 * Allocation failure of ordinary sizes aborts the process: a server that
 * cannot allocate 100 bytes cannot answer anything sensible. Sizes a client
 * controls go through struct buf (buf.h), which has a hard cap. */
#ifndef SWIFTLET_COMMON_UTIL_H
#define SWIFTLET_COMMON_UTIL_H

#include <stddef.h>

#define WUR __attribute__((warn_unused_result))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Project error codes (never errno values). */
enum {
    ERR_QUORUM = -4000,    /* fewer than a quorum of replicas succeeded */
    ERR_ETAG = -4001,      /* body MD5 differs from the ETag the client sent */
    ERR_CORRUPT = -4002,   /* a stored file failed its checksum */
    ERR_OLDER = -4003,     /* a newer timestamp already exists: write ignored */
    ERR_DELETED = -4004,   /* the item exists as a tombstone (deleted) */
    ERR_LIMIT = -4005,     /* a configured limit (count, size) was reached */
    ERR_BADINPUT = -4006,  /* malformed input (parse error) */
};

/* A short static description of an error code (errno or project code). */
const char *err_str(int err);

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a new heap string */
char *xasprintf(const char *fmt, ...) PRINTF_LIKE(1, 2);

#endif
