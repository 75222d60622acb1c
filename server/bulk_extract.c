/* server/bulk_extract.c: implements PUT ?extract-archive=tar|tar.gz|tar.bz2
 * (server/bulk.h) as Swift 2.30's Bulk.handle_extract_iter.
 *
 * The body arrives on an HTTP thread, where nothing may block on storage,
 * while each object the archive holds must be committed (fsyncs, listing
 * rows) before the next one. So the body is first written to an unnamed
 * scratch file on a disk group (storage/scratch.h: never in memory, gone
 * with its descriptor); once it is complete a worker reads it back through
 * libarchive and stores every regular file with objops, sending Swift's
 * heartbeat meanwhile. Only libarchive parses tar; bzip2 and gzip are its
 * filters. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "../common/timefmt.h"
#include "../common/util.h"
#include "../replication/cluster.h"
#include "../storage/scratch.h"
#include "bulk.h"
#include "bulk_int.h"
#include "constraints.h"
#include "objops.h"
#include "server.h"

#define READ_CHUNK (256 * 1024)

/* The names of the containers already seen (a small open hash set). */
struct name_set {
    char **slot;
    size_t cap, n;
};

struct bulk_extract {
    int filter;               /* ARCHIVE_FILTER_NONE / _GZIP / _BZIP2 */
    int early;                /* a status decided from the headers */
    int fd;                   /* the scratch file holding the body */
    int io_error;             /* writing the scratch file failed */
    uint64_t size;            /* body bytes received */
    char *base;               /* "container[/prefix]" without trailing '/' */
    struct kv_list headers;   /* copied to every object */
    int headers_status;       /* 400 when X-Delete-* is invalid */
    struct name_set seen;
    char *in;                 /* READ_CHUNK bytes: the scratch file for libarchive */
    char *buf;                /* READ_CHUNK bytes: an entry's data from libarchive */
};

static uint64_t set_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Add s; false when it was there already. */
static bool set_add(struct name_set *set, const char *s)
{
    if ((set->n + 1) * 2 > set->cap) {
        struct name_set grown = {xcalloc(set->cap ? set->cap * 2 : 64, sizeof(char *)),
                                 set->cap ? set->cap * 2 : 64, 0};
        for (size_t i = 0; i < set->cap; i++)
            if (set->slot[i])
                set_add(&grown, set->slot[i]), free(set->slot[i]);
        free(set->slot);
        *set = grown;
    }
    size_t i = set_hash(s) & (set->cap - 1);
    for (; set->slot[i]; i = (i + 1) & (set->cap - 1))
        if (strcmp(set->slot[i], s) == 0)
            return false;
    set->slot[i] = xstrdup(s);
    set->n++;
    return true;
}

static bool set_has(const struct name_set *set, const char *s)
{
    if (!set->cap)
        return false;
    for (size_t i = set_hash(s) & (set->cap - 1); set->slot[i]; i = (i + 1) & (set->cap - 1))
        if (strcmp(set->slot[i], s) == 0)
            return true;
    return false;
}

static void bulk_extract_free(void *op)
{
    struct bulk_extract *x = op;
    if (x->fd >= 0)
        close(x->fd);
    for (size_t i = 0; i < x->seen.cap; i++)
        free(x->seen.slot[i]);
    free(x->seen.slot);
    kv_release(&x->headers);
    free(x->base);
    free(x->in);
    free(x->buf);
    free(x);
}

/* ------------------------------------------------------------------ */
/* one file of the archive                                             */

/* The state of one pass over the archive. */
struct extract_run {
    struct bulk_job *job;
    struct bulk_extract *x;
    struct archive *a;
    unsigned containers_created;
    int failed_type;          /* 400, or 502 after a server error */
    bool stop;                /* the result is decided */
};

static void fail_quoted(struct extract_run *run, const char *name, size_t max, int status)
{
    size_t n = strlen(name);
    bulk_errors_quote(&run->job->res.errors, name, n < max ? n : max, bulk_status_text(status));
}

static size_t max_path(const struct server *srv)
{
    return (size_t)srv->cfg->max_object_name_length + srv->cfg->max_container_name_length + 2;
}

/* Swift's create_container(): 0 (exists or made), or the failure status
 * (run->stop when the whole request ends: 401, too many containers). */
static int ensure_container(struct extract_run *run, const char *container)
{
    struct request *r = run->job->r;
    struct container_stat cs;
    char msg[256];
    bool created = false;
    int status = bulk_authorize(r, container, NULL);

    if (status == 0)
        status = check_names_for(r->srv->cfg, M_PUT, r->account, container, NULL, msg,
                                 sizeof(msg));
    if (status)
        goto out;
    int rc = objops_container_stat(r->srv, r->account, container, &cs);
    container_stat_release(&cs);
    if (rc == -ENOENT || rc == ERR_DELETED)
        rc = objops_container_create(r->srv, r->account, container, NULL, &created);
    status = rc ? bulk_errno_status(rc) : 0;
    if (created && ++run->containers_created > r->srv->cfg->bulk_max_containers_per_extraction) {
        run->job->res.status = 400;
        run->job->res.body = xasprintf("More than %u containers to create from tar.",
                                       r->srv->cfg->bulk_max_containers_per_extraction);
        run->stop = true;
    }
out:
    if (status == 401) {
        run->job->res.status = 401;
        run->stop = true;
    }
    return status;
}

/* The headers of one object: the request's, then the entry's xattrs
 * (user.mime_type is its Content-Type, user.meta.* its metadata). */
static char *entry_headers(struct extract_run *run, struct archive_entry *e, struct kv_list *h)
{
    const char *name;
    const void *value;
    size_t size;
    char *ctype = NULL;

    kv_copy(h, &run->x->headers);
    archive_entry_xattr_reset(e);
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
        char *v = xstrndup(value, size);
        if (strcmp(name, "user.mime_type") == 0) {
            free(ctype);
            ctype = xstrdup(v);
        } else if (strncmp(name, "user.meta.", 10) == 0 && name[10]) {
            char *key = xasprintf("X-Object-Meta-%s", name + 10);
            header_title_case(key);
            kv_set(h, key, v);
            free(key);
        }
        free(v);
    }
    return ctype;
}

/* Copy the entry's data into p; 0, or the status of the failure. */
static int copy_data(struct extract_run *run, struct objops_put *p)
{
    for (;;) {
        la_ssize_t n = archive_read_data(run->a, run->x->buf, READ_CHUNK);
        if (n == 0)
            return 0;
        if (n < 0)
            return 500; /* the archive broke off: the next header says why */
        if (objops_put_write(p, run->x->buf, (size_t)n) != 0)
            return 503;
        bulk_job_tick(run->job);
    }
}

/* Store the entry's data as account/container/object: 0 or a status. */
static int put_object(struct extract_run *run, struct archive_entry *e, const char *container,
                      const char *object)
{
    struct request *r = run->job->r;
    struct kv_list h;
    struct objops_put *p = NULL;
    char msg[256];
    int status = bulk_authorize(r, container, object);

    kv_init(&h);
    char *ctype = entry_headers(run, e, &h);
    if (status == 0)
        status = check_names_for(r->srv->cfg, M_PUT, r->account, container, object, msg,
                                 sizeof(msg));
    if (status == 0)
        status = run->x->headers_status;
    if (status == 0)
        status = check_metadata(r->srv->cfg, "X-Object-Meta-", &h, msg, sizeof(msg));
    /* X-Delete-After counts from each object's own timestamp, as from each
     * of Swift's subrequests' (the expirer deletes only objects older than
     * their X-Delete-At); the request's values were checked up front. */
    int64_t ts = ts_now();
    if (status == 0 &&
        check_delete_headers(req_header(r, "X-Delete-After"), req_header(r, "X-Delete-At"),
                             ts / TS_TICKS_PER_SEC, &h, msg, sizeof(msg)) != 0)
        status = 400;
    if (status == 0) {
        int rc = objops_put_open(&p, r->srv, r->account, container, object, ts);
        status = rc ? bulk_errno_status(rc) : copy_data(run, p);
        if (status == 0) {
            rc = objops_put_commit(p, ctype, &h, NULL, NULL);
            p = NULL;
            status = rc ? bulk_errno_status(rc) : 0;
        }
    }
    objops_put_abort(p);
    kv_release(&h);
    free(ctype);
    return status;
}

/* The object path of a regular file entry, or NULL when Swift ignores it. */
static char *entry_path(struct extract_run *run, struct archive_entry *e)
{
    const char *name = archive_entry_pathname_utf8(e);
    if (!name)
        name = archive_entry_pathname(e); /* the raw header bytes */
    if (!name)
        return NULL;
    if (strncmp(name, "./", 2) == 0)
        name += 2;
    while (*name == '/')
        name++;
    char *path = run->x->base[0] ? xasprintf("%s/%s", run->x->base, name) : xstrdup(name);
    if (!strchr(path, '/')) {
        free(path); /* a file at the base of the account */
        return NULL;
    }
    return path;
}

static void extract_entry(struct extract_run *run, struct archive_entry *e)
{
    struct request *r = run->job->r;
    size_t mp = max_path(r->srv);
    char *path = entry_path(run, e);
    if (!path)
        return;
    char *slash = strchr(path, '/');
    char *container = xstrndup(path, (size_t)(slash - path));
    const char *object = slash + 1;
    int cont_status = 0, status;

    if (!utf8_valid(path, strlen(path))) {
        fail_quoted(run, path, mp, 412);
        goto out;
    }
    if ((uint64_t)archive_entry_size(e) > r->srv->cfg->max_file_size) {
        fail_quoted(run, path, mp, 413);
        goto out;
    }
    if (!set_has(&run->x->seen, container)) {
        cont_status = ensure_container(run, container);
        if (run->stop)
            goto out;
    }
    status = put_object(run, e, container, object);
    set_add(&run->x->seen, container);
    if (status == 0) {
        run->job->res.counts[0]++;
        goto out;
    }
    if (cont_status) {
        char *cpath = xasprintf("/%s/%s/%s", r->version, r->account, container);
        fail_quoted(run, cpath, mp, cont_status);
        free(cpath);
    }
    fail_quoted(run, path, mp, status);
    if (status == 401) {
        run->job->res.status = 401;
        run->stop = true;
    } else if (status / 100 == 5) {
        run->failed_type = 502;
    }
out:
    free(container);
    free(path);
}

/* ------------------------------------------------------------------ */
/* the archive                                                         */

static la_ssize_t scratch_read(struct archive *a, void *ctx, const void **out)
{
    struct bulk_extract *x = ctx;
    ssize_t n = read(x->fd, x->in, READ_CHUNK);
    if (n < 0) {
        archive_set_error(a, errno, "read error");
        return -1;
    }
    *out = x->in;
    return n;
}

static void tar_error(struct extract_run *run, const char *why)
{
    struct bulk_result *res = &run->job->res;
    res->status = 400;
    free(res->body);
    res->body = xasprintf("Invalid Tar File: %s", why && why[0] ? why : "invalid header");
    run->stop = true;
}

/* Python tarfile's words for libarchive's complaints, where they differ
 * ("Invalid Tar File: ..." is what clients see). */
static const char *tar_why(struct extract_run *run)
{
    const char *why = archive_error_string(run->a);
    unsigned char magic[3] = {0};

    if (run->x->filter != ARCHIVE_FILTER_NONE && pread(run->x->fd, magic, 3, 0) >= 0) {
        if (run->x->filter == ARCHIVE_FILTER_GZIP && (magic[0] != 0x1f || magic[1] != 0x8b))
            return "not a gzip file";
        if (run->x->filter == ARCHIVE_FILTER_BZIP2 && memcmp(magic, "BZh", 3) != 0)
            return "invalid compressed data";
    }
    if (!why || strncmp(why, "Unrecognized archive format", 27) == 0)
        return "invalid header";
    if (strncmp(why, "Truncated", 9) == 0)
        return "unexpected end of data";
    return why;
}

/* A header read: false when the pass is over. */
static bool next_entry(struct extract_run *run, struct archive_entry **e)
{
    int rc = archive_read_next_header(run->a, e);
    if (rc == ARCHIVE_EOF)
        return false;
    if (rc < ARCHIVE_WARN) {
        tar_error(run, tar_why(run));
        return false;
    }
    /* Swift opens "r|gz" and "r|bz2": the data must be compressed so. */
    if (run->x->filter != ARCHIVE_FILTER_NONE && archive_filter_code(run->a, 0) != run->x->filter) {
        tar_error(run, run->x->filter == ARCHIVE_FILTER_GZIP ? "not a gzip file"
                                                              : "invalid compressed data");
        return false;
    }
    return true;
}

static void extract_archive(struct extract_run *run)
{
    struct bulk_extract *x = run->x;
    struct archive_entry *e;
    unsigned max_failed = run->job->r->srv->cfg->bulk_max_failed_extractions;

    run->a = archive_read_new();
    archive_read_support_format_tar(run->a);
    if (x->filter == ARCHIVE_FILTER_GZIP)
        archive_read_support_filter_gzip(run->a);
    else if (x->filter == ARCHIVE_FILTER_BZIP2)
        archive_read_support_filter_bzip2(run->a);
    if (archive_read_open(run->a, x, NULL, scratch_read, NULL) != ARCHIVE_OK) {
        tar_error(run, tar_why(run));
        goto out;
    }
    for (;;) {
        bulk_job_tick(run->job);
        if (req_cancelled(run->job->r) || !next_entry(run, &e) ||
            run->job->res.errors.n >= max_failed)
            break;
        /* Only regular files; a hard link carries no data of its own. */
        if (archive_entry_filetype(e) == AE_IFREG && !archive_entry_hardlink(e))
            extract_entry(run, e);
        if (run->stop)
            break;
    }
out:
    archive_read_free(run->a);
}

static void extract_work(struct request *r)
{
    struct bulk_job *job = r->state;
    struct bulk_extract *x = job->op;
    struct extract_run run = {.job = job, .x = x, .failed_type = 400};
    struct bulk_result *res = &job->res;

    res->status = 201;
    if (x->early) {
        res->status = x->early;
    } else if (x->io_error || lseek(x->fd, 0, SEEK_SET) < 0) {
        res->status = 500;
    } else if (x->size == 0) {
        tar_error(&run, "empty file");
    } else {
        x->in = xmalloc(READ_CHUNK);
        x->buf = xmalloc(READ_CHUNK);
        extract_archive(&run);
        if (!run.stop) {
            if (res->errors.n) {
                res->status = run.failed_type;
            } else if (!res->counts[0]) {
                res->status = 400;
                res->body = xstrdup("Invalid Tar File: No Valid Files");
            }
        }
    }
    bulk_job_finish(job);
}

/* ------------------------------------------------------------------ */
/* the request                                                         */

/* The request's X-Delete-At / X-Delete-After as the X-Delete-At every
 * object gets (each of Swift's subrequests checks them alike). */
static int delete_headers(struct request *r, struct kv_list *out)
{
    char msg[128];

    return check_delete_headers(req_header(r, "X-Delete-After"), req_header(r, "X-Delete-At"),
                                (int64_t)time(NULL), out, msg, sizeof(msg));
}

/* The archive type of the query value (Swift lower-cases it and strips
 * dots at both ends): 0 with *filter, or -EINVAL. */
static int archive_type(const char *v, int *filter)
{
    while (*v == '.')
        v++;
    size_t n = strlen(v);
    while (n && v[n - 1] == '.')
        n--;
    if (n == 3 && strncasecmp(v, "tar", 3) == 0)
        *filter = ARCHIVE_FILTER_NONE;
    else if (n == 6 && strncasecmp(v, "tar.gz", 6) == 0)
        *filter = ARCHIVE_FILTER_GZIP;
    else if (n == 7 && strncasecmp(v, "tar.bz2", 7) == 0)
        *filter = ARCHIVE_FILTER_BZIP2;
    else
        return -EINVAL;
    return 0;
}

/* Open the scratch file on the first usable disk group. */
static int open_scratch(struct server *srv)
{
    int rc = -ENOSPC;
    for (size_t i = 0; i < cluster_dg_count(srv->cluster); i++) {
        struct disk_group *dg = cluster_dg(srv->cluster, i);
        if (dg_usable(dg) && (rc = scratch_open(dg)) >= 0)
            return rc;
    }
    return rc;
}

static enum step bulk_extract_start(struct request *r)
{
    int filter;
    if (archive_type(req_query(r, "extract-archive"), &filter) != 0) {
        resp_error(r, 400, "Unsupported archive format");
        return STEP_RESPOND;
    }
    struct bulk_job *job = bulk_job_new(r, "extract");
    struct bulk_extract *x = xcalloc(1, sizeof(*x));
    job->op = x;
    job->op_free = bulk_extract_free;
    job->res.count_names[0] = "Number Files Created";
    x->filter = filter;
    x->fd = -1;
    kv_init(&x->headers);
    collect_meta(r, "X-Object-Meta-", false, &x->headers);
    x->headers_status = delete_headers(r, &x->headers);
    x->base = r->object ? xasprintf("%s/%s", r->container, r->object)
                        : xstrdup(r->container ? r->container : "");
    for (size_t n = strlen(x->base); n && x->base[n - 1] == '/'; n--)
        x->base[n - 1] = '\0';
    if (!job->format)
        x->early = 406;
    else if (!r->has_length && !r->chunked)
        x->early = 411;
    else if ((x->fd = open_scratch(r->srv)) < 0)
        x->early = 507;
    return STEP_BODY;
}

static enum step bulk_extract_body(struct request *r, const char *p, size_t n)
{
    struct bulk_job *job = r->state;
    struct bulk_extract *x = job->op;
    if (x->early || x->io_error)
        return STEP_BODY;
    x->size += n;
    while (n) {
        ssize_t w = write(x->fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            x->io_error = w < 0 ? -errno : -EIO;
            break;
        }
        p += w;
        n -= (size_t)w;
    }
    return STEP_BODY;
}

static enum step bulk_extract_end(struct request *r)
{
    return bulk_job_start(r->state, extract_work);
}

const struct handler_ops bulk_extract_ops = {
    .start = bulk_extract_start, .body = bulk_extract_body, .end = bulk_extract_end};
