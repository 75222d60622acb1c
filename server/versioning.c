/* server/versioning.c: implements legacy object versioning
 * (server/versioning.h) the way Swift 2.30's versioned_writes/legacy.py
 * does it, with server/objops.h for every storage step.
 *
 * Crash safety is Swift's: the current object is archived (committed on a
 * quorum) before the new one is committed, and a version is deleted from
 * the archive only after it was copied back; a crash in between leaves one
 * extra copy, never a lost one. */
#include "versioning.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/timefmt.h"
#include "objops.h"
#include "path.h"
#include "server.h"

#define HTML "text/html; charset=UTF-8"
#define HDR_VERSIONS "X-Versions-Location"
#define HDR_HISTORY "X-History-Location"
/* Archived versions read per listing page while looking for one to pop. */
#define PAGE 100
#define COPY_CHUNK (1u << 20)

/* ---- containers ---- */

bool versioning_container_meta(struct request *r, struct kv_list *meta)
{
    const char *v = req_header(r, HDR_VERSIONS), *h = req_header(r, HDR_HISTORY);
    const char *rv = req_header(r, "X-Remove-Versions-Location");
    const char *rh = req_header(r, "X-Remove-History-Location");
    const char *val;

    if (v && h) {
        if (!*h) {
            h = NULL;   /* an empty history location defers to the other */
        } else if (*v) {
            resp_text(r, 400, "text/plain",
                      "Only one of x-versions-location or x-history-location may be specified");
            return false;
        } else {
            v = NULL;
        }
    }
    val = v ? v : h;
    if (val && *val) {
        if (strchr(val, '/')) {   /* check_container_format, on the raw value */
            resp_error(r, 412, "Container name cannot contain slashes");
            return false;
        }
        /* One location per container: setting one mode clears the other,
         * and a location wins over a remove header in the same request. */
        kv_set(meta, v ? HDR_VERSIONS : HDR_HISTORY, val);
        kv_set(meta, v ? HDR_HISTORY : HDR_VERSIONS, "");
        return true;
    }
    /* An empty location removes, as does either remove header (any value
     * but an empty one). */
    if (val || (rv && *rv) || (rh && *rh)) {
        kv_set(meta, HDR_VERSIONS, "");
        kv_set(meta, HDR_HISTORY, "");
    }
    return true;
}

char *versioning_location(const struct kv_list *container_meta, bool *history)
{
    const char *v = kv_get(container_meta, HDR_VERSIONS);
    bool hist = false;
    char *out, *slash;

    if (!v || !*v) {
        v = kv_get(container_meta, HDR_HISTORY);
        hist = true;
    }
    if (!v || !*v)
        return NULL;
    out = percent_decode(v, strlen(v), false, NULL);
    slash = strchr(out, '/');
    if (slash)
        *slash = '\0';
    if (history)
        *history = hist;
    return out;
}

/* ---- names, errors ---- */

/* "<len(name) as %03x><name>/": where the versions of name live. */
static char *version_prefix(const char *object)
{
    return xasprintf("%03zx%s/", strlen(object), object);
}

static char *version_name(const char *object, int64_t ts)
{
    char t[TS_STRLEN];

    ts_format(ts, t);
    return xasprintf("%03zx%s/%s", strlen(object), object, t);
}

/* legacy.py's _check_response_error: a step the archive refused for the
 * client's reasons (no such container, a name or limit it breaks) is 412;
 * anything else (storage) is 503. */
int versioning_error_status(int rc)
{
    bool client = rc == -ENOENT || rc == ERR_DELETED || rc == ERR_LIMIT || rc == ERR_ETAG ||
                  rc == ERR_BADINPUT || rc == -E2BIG || rc == -ENAMETOOLONG;

    return client ? 412 : 503;
}

static void answer_error(struct request *r, int rc)
{
    int status = versioning_error_status(rc);

    if (status != 412)
        log_error("msg=\"versioning failed\" tx=%s err=\"%s\"", r->trans_id, err_str(rc));
    resp_error(r, status, NULL);
}

/* ---- copying ---- */

static int stream_body(struct objops_put *p, const struct object_reader *rd)
{
    size_t cap = (size_t)MIN((uint64_t)COPY_CHUNK, rd->meta.size);
    char *b = xmalloc(cap ? cap : 1);
    uint64_t done = 0;
    int rc = 0;

    while (done < rd->meta.size && rc == 0) {
        size_t want = (size_t)MIN((uint64_t)cap, rd->meta.size - done);
        ssize_t got = pread(rd->fd, b, want, (off_t)(rd->body_offset + done));
        if (got <= 0) {
            rc = got < 0 ? -errno : -EIO;
            break;
        }
        rc = objops_put_write(p, b, (size_t)got);
        done += (uint64_t)got;
    }
    free(b);
    return rc;
}

/* Write the open object rd as account/container/object: its body, content
 * type and stored headers (a new timestamp), its ETag verified. As Swift's
 * internal PUT, the name must pass the length limit. 0 or the error. */
static int copy_reader(struct server *srv, const struct object_reader *rd, const char *account,
                       const char *container, const char *object)
{
    struct objops_put *p;
    int rc;

    if (strlen(object) > srv->cfg->max_object_name_length)
        return -ENAMETOOLONG;
    rc = objops_put_open(&p, srv, account, container, object, 0);
    if (rc != 0)
        return rc;
    rc = stream_body(p, rd);
    if (rc != 0) {
        objops_put_abort(p);
        return rc;
    }
    return objops_put_commit(p, rd->meta.content_type, &rd->meta.headers, rd->meta.etag, NULL);
}

/* Copy the current account/container/object, if any, into the archive
 * under its X-Timestamp (the newest .meta's, as Swift's GET reports it).
 * 0 also when there is nothing to archive. */
static int archive_current(struct server *srv, const char *account, const char *archive,
                           const char *container, const char *object)
{
    struct object_reader rd;
    char *name;
    int rc = objops_open(srv, account, container, object, &rd);

    if (rc == 0) {
        name = version_name(object, rd.meta.meta_timestamp);
        rc = copy_reader(srv, &rd, account, archive, name);
        free(name);
    } else if (rc == -ENOENT) {
        rc = 0;
    }
    object_reader_close(&rd);
    return rc;
}

/* Copy archive/version back over container/object; *found is false (and
 * 0 returned) when that version is gone. */
static int restore(struct server *srv, const char *account, const char *archive,
                   const char *version, const char *container, const char *object, bool *found)
{
    struct object_reader rd;
    int rc = objops_open(srv, account, archive, version, &rd);

    *found = rc != -ENOENT;
    if (rc == 0)
        rc = copy_reader(srv, &rd, account, container, object);
    else if (rc == -ENOENT)
        rc = 0;
    object_reader_close(&rd);
    return rc;
}

/* ---- PUT ---- */

bool versioning_put_check(struct request *r, const char *account, const char *archive,
                          const char *container, const char *object)
{
    struct object_meta m;
    struct container_stat cs;
    int rc = objops_stat(r->srv, account, container, object, &m);

    object_meta_release(&m);
    if (rc != 0)
        return true;   /* nothing to archive, or the commit step reports it */
    rc = objops_container_stat(r->srv, account, archive, &cs);
    container_stat_release(&cs);
    if (rc == -ENOENT) {
        answer_error(r, rc);
        return false;
    }
    return true;
}

bool versioning_put(struct request *r, const char *account, const char *archive,
                    const char *container, const char *object)
{
    int rc = archive_current(r->srv, account, archive, container, object);

    if (rc != 0)
        answer_error(r, rc);
    return rc == 0;
}

/* ---- DELETE ---- */

/* The archived versions of one object, newest first, a page at a time. */
struct vw_iter {
    struct server *srv;
    const char *account, *archive;
    char *prefix;
    char *marker;            /* the last name handed out; NULL at the start */
    char *names[PAGE];
    bool deleted[PAGE];      /* a delete marker */
    size_t n, pos;
    bool end;
};

static int page_add(void *ctx, const struct list_entry *e)
{
    struct vw_iter *it = ctx;

    if (it->n == PAGE)
        return -ECANCELED;
    it->deleted[it->n] = e->content_type && strcmp(e->content_type, VERSIONING_DELETE_MARKER) == 0;
    it->names[it->n++] = xstrdup(e->name);
    return 0;
}

static void page_clear(struct vw_iter *it)
{
    for (size_t i = 0; i < it->n; i++)
        free(it->names[i]);
    it->n = it->pos = 0;
}

/* The next version: 0 with *name (the caller frees it; NULL at the end)
 * and *deleted, or a listing error. A missing archive lists nothing. */
static int iter_next(struct vw_iter *it, char **name, bool *deleted)
{
    *name = NULL;
    if (it->pos == it->n && !it->end) {
        struct list_query q = {.prefix = it->prefix, .marker = it->marker, .reverse = true,
                               .limit = PAGE};
        int rc;
        page_clear(it);
        rc = objops_list(it->srv, it->account, it->archive, &q, page_add, it);
        if (rc == -ENOENT)
            rc = 0;
        if (rc != 0 && rc != -ECANCELED)
            return rc;
        it->end = it->n < PAGE;
    }
    if (it->pos == it->n)
        return 0;
    *deleted = it->deleted[it->pos];
    *name = xstrdup(it->names[it->pos++]);
    free(it->marker);
    it->marker = xstrdup(*name);
    return 0;
}

static void iter_release(struct vw_iter *it)
{
    page_clear(it);
    free(it->prefix);
    free(it->marker);
}

/* The object a versioned DELETE is about. */
struct vw_obj {
    struct server *srv;
    const char *account, *container, *object;
};

/* The newest archived entry is the delete marker `mark`: when the object
 * exists again, delete just it (*target stays NULL); else restore the
 * newest version written after an older marker and delete that version,
 * then delete the marker itself (*target). 0 or the error. */
static int pop_marker(const struct vw_obj *o, struct vw_iter *it, const char *mark,
                      char **target)
{
    struct object_meta m;
    char *name;
    bool deleted, found;
    int rc = objops_stat(o->srv, o->account, o->container, o->object, &m);

    object_meta_release(&m);
    if (rc != -ENOENT)
        return rc;   /* 0: the object is there, so just delete it */
    while ((rc = iter_next(it, &name, &deleted)) == 0 && name && !deleted) {
        rc = restore(o->srv, o->account, it->archive, name, o->container, o->object, &found);
        if (rc == 0 && found) {
            rc = objops_delete(o->srv, o->account, it->archive, name);
            if (rc == -ENOENT)
                rc = 0;   /* it lived long enough to be copied */
        }
        free(name);
        name = NULL;
        if (rc != 0 || found)
            break;
    }
    free(name);   /* an older delete marker: nothing to restore */
    if (rc == 0)
        *target = xstrdup(mark);
    return rc;
}

/* Stack mode: pop the newest archived version back into place; *target
 * is then the archive entry to delete instead of the object (NULL: delete
 * the object, there was nothing to restore). 0 or the error. */
static int stack_pop(const struct vw_obj *o, const char *archive, char **target)
{
    struct vw_iter it = {.srv = o->srv, .account = o->account, .archive = archive};
    char *name;
    bool deleted, found;
    int rc;

    *target = NULL;
    it.prefix = version_prefix(o->object);
    while ((rc = iter_next(&it, &name, &deleted)) == 0 && name) {
        if (deleted) {
            rc = pop_marker(o, &it, name, target);
            free(name);
            break;
        }
        rc = restore(o->srv, o->account, archive, name, o->container, o->object, &found);
        if (rc == 0 && found)
            *target = name;
        else
            free(name);
        if (rc != 0 || found)
            break;
    }
    iter_release(&it);
    return rc;
}

/* History mode: archive the object and write a delete marker. */
static int history_mark(const struct vw_obj *o, const char *archive)
{
    char *marker = version_name(o->object, ts_now());
    int rc = archive_current(o->srv, o->account, archive, o->container, o->object);

    if (rc == 0 && strlen(marker) > o->srv->cfg->max_object_name_length)
        rc = -ENAMETOOLONG;
    if (rc == 0)
        rc = objops_put_buffer(o->srv, o->account, archive, marker, "", 0,
                               VERSIONING_DELETE_MARKER, NULL, NULL);
    free(marker);
    return rc;
}

int versioning_delete_object(struct server *srv, const char *account, const char *container,
                             const char *object, bool *versioned, bool *archive_failed)
{
    struct vw_obj o = {srv, account, container, object};
    struct container_stat cs;
    bool history = false;
    char *archive = NULL, *target = NULL;
    int rc;

    *versioned = *archive_failed = false;
    if (objops_container_stat(srv, account, container, &cs) == 0)
        archive = versioning_location(&cs.meta, &history);
    container_stat_release(&cs);
    if (!archive)
        return 0;
    *versioned = true;
    rc = history ? history_mark(&o, archive) : stack_pop(&o, archive, &target);
    if (rc != 0)
        *archive_failed = true;
    else if (target)
        rc = objops_delete(srv, account, archive, target);
    else
        rc = objops_delete(srv, account, container, object);
    free(target);
    free(archive);
    return rc;
}

bool versioning_delete(struct request *r)
{
    bool versioned, archive_failed;
    int rc = versioning_delete_object(r->srv, r->account, r->container, r->object, &versioned,
                                      &archive_failed);

    if (!versioned)
        return false;
    if (rc != 0 && archive_failed)
        answer_error(r, rc);
    else if (rc != 0)
        resp_errno(r, rc);
    else
        resp_text(r, 204, HTML, "");
    return true;
}
