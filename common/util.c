/* common/util.c: This file implements the allocation helpers that abort on
 * failure and err_str(), the one place that names both errno values and the
 * project's own codes (util.h). */
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Say why we stop, with a single write (no allocation), then abort. */
static void die_oom(size_t n)
{
    char msg[96];
    int len = snprintf(msg, sizeof(msg), "fatal: out of memory allocating %zu bytes\n", n);

    if (len > 0 && write(STDERR_FILENO, msg, (size_t)MIN((size_t)len, sizeof(msg) - 1)) < 0) {
        /* nothing more we can do */
    }
    abort();
}

static const char *project_err_str(int err)
{
    switch (err) {
    case ERR_QUORUM:
        return "fewer than a quorum of replicas succeeded";
    case ERR_ETAG:
        return "body does not match the ETag";
    case ERR_CORRUPT:
        return "stored data failed its checksum";
    case ERR_OLDER:
        return "a newer timestamp already exists";
    case ERR_DELETED:
        return "deleted";
    case ERR_LIMIT:
        return "limit reached";
    case ERR_BADINPUT:
        return "malformed input";
    default:
        return NULL;
    }
}

/* Accepts err as -errno, errno or a project code. strerrordesc_np returns a
 * static string, so this is thread-safe unlike strerror(). */
const char *err_str(int err)
{
    const char *s;

    if (err == 0)
        return "success";
    s = project_err_str(err);
    if (s)
        return s;
    if (err < 0)
        err = -err;
    s = strerrordesc_np(err);
    return s ? s : "unknown error";
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (!p)
        die_oom(n);
    return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
    void *p;

    if (nmemb == 0 || size == 0)
        nmemb = size = 1;
    p = calloc(nmemb, size);
    if (!p)
        die_oom(nmemb * size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);

    if (!q)
        die_oom(n);
    return q;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = xmalloc(len + 1);

    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        die_oom(strlen(fmt));
    return s;
}
