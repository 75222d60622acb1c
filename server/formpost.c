/* server/formpost.c: implements the FormPost handler of server/formpost.h
 * with the checks, order and answers of Swift 2.30's formpost middleware.
 *
 * The body is fed to the multipart parser (formpost_mime.c) as it arrives.
 * Form fields before a file are kept (4096 bytes each, as Swift); at each
 * file the form is checked (count, sizes, expiry, then the HMAC of
 * "path\nredirect\nmax_file_size\nmax_file_count\nexpires" under the
 * account's and container's Temp-URL keys) and an object writer opened on
 * "<path>[/]<filename>"; the file's bytes go straight to the replicas. A
 * streamed file waits for its commit (fsyncs, listing row), which runs on a
 * worker thread once the body is in, in form order: the first that fails
 * decides the answer and the later ones are dropped, as Swift stops at the
 * first failed upload. A form with more than FP_PENDING_MAX files commits
 * each batch of that many on the HTTP thread (the handler cannot suspend
 * mid-body). */
#include "formpost.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../common/log.h"
#include "../common/timefmt.h"
#include "../replication/cluster.h"
#include "../storage/object.h"
#include "constraints.h"
#include "mime.h"
#include "objops.h"
#include "path.h"
#include "range.h"
#include "server.h"
#include "tempurl.h"

#define MAX_VALUE_LENGTH 4096
#define FP_PENDING_MAX 32

enum fp_outcome {
    FP_STATUS,      /* the status of the last upload (or 400 with a message) */
    FP_INVALID,     /* Swift's FormInvalid / EOFError: 400 "FormPost: <msg>" */
    FP_UNAUTH,      /* FormUnauthorized: 401 "FormPost: <Msg Titled>" */
    FP_BAD_START,   /* MimeInvalid */
};

/* One file of the form, streamed into its writer. */
struct fp_file {
    char *object;
    struct placement pl;
    int64_t ts;
    struct object_writer *w;
    struct object_meta meta;
    uint64_t size;
};

struct formpost {
    struct fp_mime mime;
    char *path;                   /* the decoded request path (Swift's PATH_INFO) */
    struct kv_list keys;          /* Temp-URL keys of the account, then the container */
    struct kv_list attrs;         /* form fields so far, names lower case */
    unsigned file_count;
    bool in_file, in_field;
    char *field_name;             /* NULL: a part without a name */
    struct buf field;
    int64_t max_file_size;
    struct fp_file cur;           /* the file being received (cur.w set) */
    struct fp_file pending[FP_PENDING_MAX];
    size_t npending;
    /* the answer so far */
    enum fp_outcome outcome;
    int status;                   /* 0: no upload yet */
    const char *message;          /* FP_STATUS: "" or Swift's message */
    char error[96];               /* FP_INVALID / FP_UNAUTH text */
    bool stopped;
};

/* ---- matching ---- */

bool formpost_match(const struct request *r)
{
    const char *ct = req_header(r, "Content-Type");
    struct kv_list attrs = KV_LIST_INIT;
    char type[64];
    bool match;

    if (r->method != M_POST || !ct)
        return false;
    fp_parse_disposition(ct, type, sizeof(type), &attrs);
    match = strcmp(type, "multipart/form-data") == 0 && kv_get(&attrs, "boundary");
    kv_release(&attrs);
    return match;
}

/* ---- state ---- */

static void file_release(struct fp_file *f)
{
    object_writer_abort(f->w);
    object_meta_release(&f->meta);
    free(f->object);
    memset(f, 0, sizeof(*f));
}

static void formpost_free(void *p)
{
    struct formpost *fp = p;

    fp_mime_release(&fp->mime);
    free(fp->path);
    kv_release(&fp->keys);
    kv_release(&fp->attrs);
    free(fp->field_name);
    buf_release(&fp->field);
    file_release(&fp->cur);
    for (size_t i = 0; i < fp->npending; i++)
        file_release(&fp->pending[i]);
    free(fp);
}

static void add_keys(struct kv_list *keys, const struct kv_list *meta, const char *k1,
                     const char *k2)
{
    const char *v1 = kv_get(meta, k1), *v2 = kv_get(meta, k2);

    if (v1 && *v1)
        kv_add(keys, "key", v1);
    if (v2 && *v2)
        kv_add(keys, "key", v2);
}

/* Swift's _get_keys: none unless the path names a container. */
static void load_keys(struct request *r, struct formpost *fp)
{
    struct placement pl;
    struct account_stat as;
    struct container_stat cs;

    if (!r->container)
        return;
    memset(&as, 0, sizeof(as));
    memset(&cs, 0, sizeof(cs));
    kv_init(&as.meta);
    kv_init(&cs.meta);
    cluster_locate(r->srv->cluster, ITEM_ACCOUNT, r->account, NULL, NULL, &pl);
    if (db_account_stat(r->srv->db, &pl, &as) == 0)
        add_keys(&fp->keys, &as.meta, "X-Account-Meta-Temp-Url-Key",
                 "X-Account-Meta-Temp-Url-Key-2");
    cluster_locate(r->srv->cluster, ITEM_CONTAINER, r->account, r->container, NULL, &pl);
    if (db_container_stat(r->srv->db, &pl, &cs) == 0)
        add_keys(&fp->keys, &cs.meta, "X-Container-Meta-Temp-Url-Key",
                 "X-Container-Meta-Temp-Url-Key-2");
    account_stat_release(&as);
    container_stat_release(&cs);
}

/* ---- outcomes ---- */

static int fail(struct formpost *fp, enum fp_outcome o, const char *msg)
{
    fp->outcome = o;
    snprintf(fp->error, sizeof(fp->error), "%s", msg);
    fp->stopped = true;
    return 1;
}

/* An upload answered status (Swift's subrequest status). */
static int upload_status(struct formpost *fp, int status, const char *message)
{
    fp->outcome = FP_STATUS;
    fp->status = status;
    fp->message = message;
    if (status < 200 || status > 299)
        fp->stopped = true;
    return fp->stopped ? 1 : 0;
}

/* ---- a file: the checks of _perform_subrequest and the PUT's own ---- */

static const char *attr(const struct formpost *fp, const char *name)
{
    return kv_get(&fp->attrs, name);
}

/* int(attr or "0") as Swift evaluates it; false when it is not an int. */
static bool attr_int(const struct formpost *fp, const char *name, int64_t *out)
{
    const char *v = attr(fp, name);

    if (!v || !*v)
        v = "0";
    return py_int(v, strlen(v), out);
}

static bool signature_ok(struct formpost *fp)
{
    const char *sig = attr(fp, "signature");
    char digest[8], hex[129];
    const char *keys[8];
    size_t nkeys = 0;

    if (tempurl_parse_sig(sig ? sig : "", digest, hex) != 0)
        return false;
    for (size_t i = 0; i < fp->keys.n && nkeys < ARRAY_SIZE(keys); i++)
        keys[nkeys++] = fp->keys.items[i].value;
#define OR0(v) ((v) && *(v) ? (v) : "0")
    char *body = xasprintf("%s\n%s\n%s\n%s\n%s", fp->path,
                           attr(fp, "redirect") ? attr(fp, "redirect") : "",
                           OR0(attr(fp, "max_file_size")), OR0(attr(fp, "max_file_count")),
                           OR0(attr(fp, "expires")));
#undef OR0
    bool ok = tempurl_hmac_match(digest, keys, nkeys, body, strlen(body), hex);
    free(body);
    return ok;
}

/* The form's own checks, in _perform_subrequest's order; 0 or stop. */
static int check_form(struct formpost *fp, int64_t *delete_at, int64_t *delete_after,
                      bool *has_at, bool *has_after)
{
    int64_t expires;

    if (fp->keys.n == 0)
        return fail(fp, FP_UNAUTH, "Invalid Signature");
    if (!attr_int(fp, "max_file_size", &fp->max_file_size))
        return fail(fp, FP_INVALID, "max_file_size not an integer");
    *has_at = attr(fp, "x_delete_at") != NULL;
    *has_after = attr(fp, "x_delete_after") != NULL;
    if (*has_at && !py_int(attr(fp, "x_delete_at"), strlen(attr(fp, "x_delete_at")), delete_at))
        return fail(fp, FP_INVALID, "x_delete_at not an integer: Unix timestamp required.");
    if (*has_after &&
        !py_int(attr(fp, "x_delete_after"), strlen(attr(fp, "x_delete_after")), delete_after))
        return fail(fp, FP_INVALID, "x_delete_after not an integer: Number of seconds required.");
    if (!attr_int(fp, "expires", &expires))
        return fail(fp, FP_INVALID, "expired not an integer");
    if (expires < (int64_t)time(NULL))
        return fail(fp, FP_UNAUTH, "Form Expired");
    if (!signature_ok(fp))
        return fail(fp, FP_UNAUTH, "Invalid Signature");
    return 0;
}

/* The object a file goes to: path, a '/' when the path names only a
 * container, then the filename; what follows "/v1/a/c/". */
static char *file_object(const struct formpost *fp, const char *filename)
{
    size_t n = strlen(fp->path), slashes = 0;
    const char *p = fp->path;

    for (size_t i = 0; i < n; i++)
        slashes += p[i] == '/';
    char *full = xasprintf("%s%s%s", p, (n && p[n - 1] == '/') || slashes >= 4 ? "" : "/",
                           filename);
    const char *o = full;
    for (int i = 0; i < 4 && o; i++) {
        o = strchr(o, '/');
        o = o ? o + 1 : NULL;
    }
    char *object = o && *o ? xstrdup(o) : NULL;
    free(full);
    return object;
}

/* The object server's X-Delete-At rules for the PUT at now (the second
 * of its timestamp: X-Delete-After counts from there, so the object is
 * always older than its X-Delete-At, which the expirer requires). 0 or
 * 400. */
static int delete_time(int64_t now, int64_t at, bool has_at, int64_t after, bool has_after,
                       int64_t *out)
{
    *out = 0;
    if (has_after) {
        at = after > INT64_MAX - now ? INT64_MAX : now + after;
        has_at = true;
    }
    if (!has_at)
        return 0;
    if (at <= now)
        return 400;
    *out = MIN(at, 9999999999LL);
    return 0;
}

static bool swift_param(const char *ct)
{
    for (const char *p = strchr(ct, ';'); p; p = strchr(p + 1, ';')) {
        const char *q = p + 1;
        while (*q == ' ' || *q == '\t')
            q++;
        if (strncmp(q, "swift_", 6) == 0)
            return true;
    }
    return false;
}

static bool container_exists(struct request *r)
{
    struct placement pl;
    struct container_stat cs;
    int rc;

    memset(&cs, 0, sizeof(cs));
    kv_init(&cs.meta);
    cluster_locate(r->srv->cluster, ITEM_CONTAINER, r->account, r->container, NULL, &pl);
    rc = db_container_stat(r->srv->db, &pl, &cs);
    container_stat_release(&cs);
    return rc == 0;
}

/* Open the upload of one file (the PUT subrequest up to its body). */
static int open_file(struct request *r, struct formpost *fp, const struct kv_list *hdrs,
                     const char *filename)
{
    int64_t at = 0, after = 0, delete_at;
    bool has_at, has_after;
    char msg[256];
    int rc = check_form(fp, &at, &after, &has_at, &has_after);

    if (rc)
        return rc;
    struct fp_file *f = &fp->cur;
    f->object = file_object(fp, filename);
    if (!f->object)
        return upload_status(fp, 404, "");
    int st = check_names_for(r->srv->cfg, M_PUT, r->account, r->container, f->object, msg,
                             sizeof(msg));
    if (st)
        return upload_status(fp, st, "");
    if (!container_exists(r))
        return upload_status(fp, 404, "");
    f->ts = ts_now();
    if (delete_time(f->ts / TS_TICKS_PER_SEC, at, has_at, after, has_after, &delete_at))
        return upload_status(fp, 400, "");
    const char *ct = attr(fp, "content-type") ? attr(fp, "content-type")
                                              : kv_get(hdrs, "Content-Type");
    const char *ce = attr(fp, "content-encoding") ? attr(fp, "content-encoding")
                                                  : kv_get(hdrs, "Content-Encoding");
    if (ct && !*ct)
        ct = "application/octet-stream";
    if (ct && swift_param(ct))
        return upload_status(fp, 400, "");
    object_meta_init(&f->meta);
    f->meta.content_type = xstrdup(ct ? ct : mime_guess(f->object));
    if (ce)
        kv_set(&f->meta.headers, "Content-Encoding", ce);
    if (delete_at) {
        char norm[24];
        snprintf(norm, sizeof(norm), "%010lld", (long long)delete_at);
        kv_set(&f->meta.headers, "X-Delete-At", norm);
    }
    cluster_locate(r->srv->cluster, ITEM_OBJECT, r->account, r->container, f->object, &f->pl);
    char *name = xasprintf("/%s/%s/%s", r->account, r->container, f->object);
    rc = object_writer_open(&f->w, &f->pl, name, f->ts);
    free(name);
    if (rc != 0) {
        f->w = NULL;
        return upload_status(fp, 503, "");
    }
    fp->in_file = true;
    return 0;
}

/* ---- commits ---- */

/* Commit one streamed file: replicas, listing row, expiry queue. */
static int commit_file(struct request *r, struct fp_file *f)
{
    int rc = objops_commit_writer(r->srv, &f->pl, r->account, r->container, f->object, f->ts,
                                  f->w, &f->meta, NULL);

    f->w = NULL;   /* consumed by the commit */
    return rc;
}

static int status_of(int err)
{
    return err == -ENOENT ? 404 : err == -E2BIG ? 413 : 503;
}

/* Commit the streamed files in order; the first failure decides. */
static void commit_pending(struct request *r, struct formpost *fp)
{
    for (size_t i = 0; i < fp->npending; i++) {
        int rc = commit_file(r, &fp->pending[i]);
        if (rc != 0) {
            log_error("msg=\"formpost upload failed\" tx=%s err=\"%s\"", r->trans_id,
                      err_str(rc));
            upload_status(fp, status_of(rc), "");
            for (size_t j = i + 1; j < fp->npending; j++)
                file_release(&fp->pending[j]);
            fp->npending = i + 1;
            break;
        }
    }
    for (size_t i = 0; i < fp->npending; i++)
        file_release(&fp->pending[i]);
    fp->npending = 0;
}

/* ---- parser callbacks ---- */

static int on_part_begin(void *ctx, const struct kv_list *hdrs)
{
    struct request *r = ctx;
    struct formpost *fp = r->state;
    struct kv_list d = KV_LIST_INIT;
    char disp[32];
    int rc = 0;

    fp_parse_disposition(kv_get(hdrs, "Content-Disposition") ? kv_get(hdrs, "Content-Disposition")
                                                             : "",
                         disp, sizeof(disp), &d);
    const char *filename = kv_get(&d, "filename");
    if (strcmp(disp, "form-data") == 0 && filename && *filename) {
        int64_t max_count;
        fp->file_count++;
        if (!attr_int(fp, "max_file_count", &max_count))
            rc = fail(fp, FP_INVALID, "max_file_count not an integer");
        else if ((int64_t)fp->file_count > max_count)
            rc = upload_status(fp, 400, "max file count exceeded");
        else
            rc = open_file(r, fp, hdrs, filename);
    } else {
        const char *name = kv_get(&d, "name");
        fp->in_field = true;
        free(fp->field_name);
        fp->field_name = name ? xstrdup(name) : NULL;
        buf_reset(&fp->field);
    }
    kv_release(&d);
    return rc;
}

static int on_part_data(void *ctx, const char *p, size_t n)
{
    struct request *r = ctx;
    struct formpost *fp = r->state;

    if (fp->in_field) {
        size_t room = MAX_VALUE_LENGTH - fp->field.len;
        if (buf_append(&fp->field, p, n < room ? n : room) != 0)
            abort();   /* under MAX_VALUE_LENGTH, the buffer's cap */
        return 0;
    }
    if (!fp->in_file)
        return 0;
    fp->cur.size += n;
    if ((int64_t)fp->cur.size > fp->max_file_size) {
        file_release(&fp->cur);
        return fail(fp, FP_INVALID, "max_file_size exceeded");
    }
    if (fp->cur.size > r->srv->cfg->max_file_size) {
        file_release(&fp->cur);
        return upload_status(fp, 413, "");
    }
    if (object_writer_write(fp->cur.w, p, n) != 0) {
        file_release(&fp->cur);
        return upload_status(fp, 503, "");
    }
    return 0;
}

static int on_part_end(void *ctx)
{
    struct request *r = ctx;
    struct formpost *fp = r->state;

    if (fp->in_field) {
        fp->in_field = false;
        if (fp->field_name) {
            /* data.rstrip('\r\n--'), the name lower-cased */
            size_t n = fp->field.len;
            while (n > 0 && strchr("\r\n-", fp->field.data[n - 1]))
                n--;
            char *v = xstrndup(fp->field.data ? fp->field.data : "", n);
            for (char *k = fp->field_name; *k; k++)
                *k = (*k >= 'A' && *k <= 'Z') ? (char)(*k - 'A' + 'a') : *k;
            kv_set(&fp->attrs, fp->field_name, v);
            free(v);
        }
        return 0;
    }
    if (!fp->in_file)
        return 0;
    fp->in_file = false;
    fp->pending[fp->npending++] = fp->cur;
    memset(&fp->cur, 0, sizeof(fp->cur));
    upload_status(fp, 201, "");
    if (fp->npending == FP_PENDING_MAX)
        commit_pending(r, fp);   /* on this thread: see the top of the file */
    return fp->stopped ? 1 : 0;
}

static const struct fp_mime_ops mime_ops = {on_part_begin, on_part_data, on_part_end};

/* ---- the answer ---- */

static const char *reason(int status)
{
    switch (status) {
    case 201: return "Created";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 412: return "Precondition Failed";
    case 413: return "Request Entity Too Large";
    default: return "Service Unavailable";
    }
}

/* Python's str.title(). */
static void title(char *s)
{
    bool prev_letter = false;

    for (; *s; s++) {
        bool letter = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z');
        if (letter && !prev_letter && *s >= 'a')
            *s = (char)(*s - 'a' + 'A');
        else if (letter && prev_letter && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
        prev_letter = letter;
    }
}

static void quote_append(struct buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool keep = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || strchr("_.-~/", *p);
        if ((keep ? buf_append(b, (const char *)p, 1) : buf_appendf(b, "%%%02X", *p)) != 0)
            abort();   /* no cap */
    }
}

static void answer_status(struct request *r, struct formpost *fp)
{
    const char *redirect = attr(fp, "redirect");
    int status = fp->status ? fp->status : 400;
    const char *message = fp->status ? fp->message : "no files to process";
    char text[160];

    if (!redirect || !*redirect) {
        char msg[64];
        snprintf(msg, sizeof(msg), "%s", message);
        title(msg);
        snprintf(text, sizeof(text), "%d %s%s%s", status, reason(status),
                 *msg ? "\r\nFormPost: " : "", msg);
        resp_text(r, status, "text/plain", text);
        return;
    }
    struct buf loc;
    buf_init(&loc, 0);
    if (buf_appendf(&loc, "%s%sstatus=%d&message=", redirect, strchr(redirect, '?') ? "&" : "?",
                    status) != 0)
        abort();
    quote_append(&loc, message);
    char *location = buf_detach(&loc, NULL);
    char *body = xasprintf("<html><body><p><a href=\"%s\">Click to continue...</a></p></body>"
                           "</html>",
                           location);
    resp_text(r, 303, "text/html; charset=UTF-8", body);
    resp_header(r, "Location", location);
    free(body);
    free(location);
}

static void answer(struct request *r, struct formpost *fp)
{
    char text[128];

    switch (fp->outcome) {
    case FP_BAD_START:
        resp_text(r, 400, "text/plain", "FormPost: invalid starting boundary");
        return;
    case FP_INVALID:
        snprintf(text, sizeof(text), "FormPost: %s", fp->error);
        resp_text(r, 400, "text/plain", text);
        return;
    case FP_UNAUTH:
        snprintf(text, sizeof(text), "FormPost: %s", fp->error);
        resp_error(r, 401, text);
        resp_header(r, "Www-Authenticate", "Swift realm=\"unknown\"");
        return;
    case FP_STATUS:
        answer_status(r, fp);
        return;
    }
}

/* ---- handler ---- */

static enum step commit_work(struct request *r)
{
    struct formpost *fp = r->state;

    commit_pending(r, fp);
    answer(r, fp);
    return STEP_RESPOND;
}

/* After the parser stopped or finished: answer now, or once the streamed
 * files are committed (worker thread). */
static enum step conclude(struct request *r, struct formpost *fp, bool body_done)
{
    if (fp->npending == 0) {
        answer(r, fp);
        return STEP_RESPOND;
    }
    if (!body_done)
        return STEP_BODY;   /* the rest of the body is read and ignored */
    req_defer(r, commit_work);
    return STEP_DEFER;
}

static enum step fp_start(struct request *r)
{
    struct formpost *fp = xcalloc(1, sizeof(*fp));
    struct kv_list attrs = KV_LIST_INIT;
    char type[64];
    size_t n;

    r->state = fp;
    r->state_free = formpost_free;
    kv_init(&fp->keys);
    kv_init(&fp->attrs);
    buf_init(&fp->field, MAX_VALUE_LENGTH);
    fp->path = percent_decode(r->raw_path, strlen(r->raw_path), false, &n);
    fp_parse_disposition(req_header(r, "Content-Type"), type, sizeof(type), &attrs);
    int rc = fp_mime_init(&fp->mime, kv_get(&attrs, "boundary"), &mime_ops, r);
    kv_release(&attrs);
    if (rc != 0) {
        fp->outcome = FP_BAD_START;
        answer(r, fp);
        return STEP_RESPOND;
    }
    load_keys(r, fp);
    return STEP_BODY;
}

static enum step fp_body(struct request *r, const char *p, size_t n)
{
    struct formpost *fp = r->state;

    if (fp->stopped || fp_mime_done(&fp->mime))
        return fp->stopped ? conclude(r, fp, false) : STEP_BODY;
    int rc = fp_mime_feed(&fp->mime, p, n);
    if (rc == -EBADMSG)
        fp->outcome = FP_BAD_START;
    if (rc == -EBADMSG || fp->stopped)
        return conclude(r, fp, false);
    return STEP_BODY;
}

static enum step fp_end(struct request *r)
{
    struct formpost *fp = r->state;

    if (!fp->stopped && fp_mime_finish(&fp->mime) == -EBADMSG)
        fp->outcome = FP_BAD_START;
    return conclude(r, fp, true);
}

const struct handler_ops formpost_ops = {.start = fp_start, .body = fp_body, .end = fp_end};
