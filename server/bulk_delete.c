/* server/bulk_delete.c: implements POST/DELETE ?bulk-delete (server/bulk.h)
 * as Swift 2.30's Bulk.handle_delete_iter: the body's paths are parsed as
 * it arrives, then a worker deletes the objects (in body order), then the
 * containers, each as its own DELETE would (authorization, name checks,
 * objops), and reports counts and failures in the streamed 200. */
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "bulk.h"
#include "bulk_int.h"
#include "constraints.h"
#include "objops.h"
#include "server.h"
#include "versioning.h"

struct bulk_delete {
    struct bulk_parser parser;
    int early;        /* a status decided from the headers (406, 411) */
};

static void bulk_delete_free(void *op)
{
    struct bulk_delete *d = op;
    bulk_parser_release(&d->parser);
    free(d);
}

/* A name that holds a '/' between other characters names an object. */
static bool names_object(const struct bulk_name *n)
{
    size_t a = 0, b = n->len;
    while (a < b && n->s[a] == '/')
        a++;
    while (b > a && n->s[b - 1] == '/')
        b--;
    return memchr(n->s + a, '/', b - a) != NULL;
}

/* The status Swift's DELETE subrequest for name would answer. */
static int delete_one(struct request *r, const struct bulk_name *n)
{
    const char *path = n->s;
    while (*path == '/')
        path++;
    const char *slash = strchr(path, '/');
    char *container = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(path);
    const char *object = slash && slash[1] ? slash + 1 : NULL;
    char msg[256];
    int status = bulk_authorize(r, container, object);

    if (status == 0 && !container[0])
        status = 403; /* the account itself: reseller business */
    if (status == 0)
        status = check_names_for(r->srv->cfg, M_DELETE, r->account, container, object, msg,
                                 sizeof(msg));
    if (status == 0 && object) {
        /* As in Swift's pipeline, a sub-delete passes through versioned
         * writes: a versioned object pops back or leaves a marker. */
        bool versioned, archive_failed;
        int rc = versioning_delete_object(r->srv, r->account, container, object, &versioned,
                                          &archive_failed);
        if (!versioned)
            rc = objops_delete(r->srv, r->account, container, object);
        status = rc == 0 ? 204 : archive_failed ? versioning_error_status(rc)
                                                : bulk_errno_status(rc);
    } else if (status == 0) {
        int rc = objops_container_delete(r->srv, r->account, container);
        status = rc == 0 ? 204 : bulk_errno_status(rc);
    }
    free(container);
    return status;
}

static void record(struct bulk_result *res, const struct bulk_name *n, int status)
{
    bulk_errors_quote(&res->errors, n->s, n->len, bulk_status_text(status));
}

/* Delete the names of one kind; false when the work must stop (too many
 * failures: res says so; or the client is gone). */
static bool delete_pass(struct bulk_job *job, struct bulk_delete *d, bool objects,
                        int *failed_type)
{
    struct request *r = job->r;
    struct bulk_result *res = &job->res;
    unsigned max_failed = r->srv->cfg->bulk_max_failed_deletes;

    for (size_t i = 0; i < d->parser.n; i++) {
        const struct bulk_name *n = &d->parser.names[i];
        if (n->len == 0 || names_object(n) != objects)
            continue;
        if (!utf8_valid(n->s, n->len)) {
            record(res, n, 412);
            continue;
        }
        if (req_cancelled(r))
            return false;
        int status = delete_one(r, n);
        bulk_job_tick(job);
        if (status / 100 == 2) {
            res->counts[0]++;
        } else if (status == 404) {
            res->counts[1]++;
        } else {
            if (status / 100 == 5)
                *failed_type = 502;
            record(res, n, status);
        }
        if (res->errors.n >= max_failed) {
            res->status = 400;
            res->body = xstrdup("Max delete failures exceeded");
            return false;
        }
    }
    return true;
}

static void delete_work(struct request *r)
{
    struct bulk_job *job = r->state;
    struct bulk_delete *d = job->op;
    struct bulk_result *res = &job->res;
    int failed_type = 400;

    res->status = 200;
    if (d->early) {
        res->status = d->early;
    } else if (d->parser.status == 413) {
        res->status = 413;
        res->body = xasprintf("Maximum Bulk Deletes: %u per request",
                              r->srv->cfg->bulk_max_deletes_per_request);
    } else if (d->parser.status) {
        res->status = 400;
        res->body = xstrdup("Invalid File Name");
    } else if (delete_pass(job, d, true, &failed_type) &&
               delete_pass(job, d, false, &failed_type)) {
        if (res->errors.n) {
            res->status = failed_type;
        } else if (!res->counts[0] && !res->counts[1]) {
            res->status = 400;
            res->body = xstrdup("Invalid bulk delete.");
        }
    }
    bulk_job_finish(job);
}

static enum step bulk_delete_start(struct request *r)
{
    const struct config *cfg = r->srv->cfg;
    struct bulk_job *job = bulk_job_new(r, "delete");
    struct bulk_delete *d = xcalloc(1, sizeof(*d));
    const char *ctype = req_header(r, "Content-Type");

    job->op = d;
    job->op_free = bulk_delete_free;
    job->res.count_names[0] = "Number Deleted";
    job->res.count_names[1] = "Number Not Found";
    bulk_parser_init(&d->parser,
                     (size_t)cfg->max_object_name_length + cfg->max_container_name_length + 2,
                     cfg->bulk_max_deletes_per_request);
    /* Swift's order of checks: the answer's format, the list's format,
     * then a body must be announced. */
    if (!job->format || (ctype && strncmp(ctype, "text/plain", 10) != 0))
        d->early = 406;
    else if (!r->has_length && !r->chunked)
        d->early = 411;
    return STEP_BODY;
}

static enum step bulk_delete_body(struct request *r, const char *p, size_t n)
{
    struct bulk_job *job = r->state;
    struct bulk_delete *d = job->op;
    if (!d->early)
        (void)bulk_parser_feed(&d->parser, p, n);
    return STEP_BODY;
}

static enum step bulk_delete_end(struct request *r)
{
    struct bulk_job *job = r->state;
    struct bulk_delete *d = job->op;
    if (!d->early)
        (void)bulk_parser_finish(&d->parser);
    return bulk_job_start(job, delete_work);
}

const struct handler_ops bulk_delete_ops = {
    .start = bulk_delete_start, .body = bulk_delete_body, .end = bulk_delete_end};
