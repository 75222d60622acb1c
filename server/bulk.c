/* server/bulk.c: implements the shared parts of bulk operations
 * (server/bulk.h, server/bulk_int.h): routing, the bulk-delete path-list
 * parser, the result (rendered by server/bulk_body.c), and the streamed 200
 * whose body a worker thread produces (heartbeat, then the result). */
#include "bulk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/timefmt.h"
#include "../common/util.h"
#include "acl.h"
#include "auth.h"
#include "bulk_int.h"
#include "path.h"
#include "server.h"

/* Appending to an uncapped buffer cannot fail (allocation aborts). */
static void put(struct buf *b, const void *p, size_t n)
{
    int rc = buf_append(b, p, n);
    (void)rc;
}

static void puts_(struct buf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* ------------------------------------------------------------------ */
/* routing                                                             */

const struct handler_ops *bulk_route(const struct request *r)
{
    /* Swift's __call__: extract-archive on PUT, bulk-delete on POST and
     * DELETE (it wins when both are given). */
    if ((r->method == M_POST || r->method == M_DELETE) && req_query(r, "bulk-delete"))
        return &bulk_delete_ops;
    if (r->method == M_PUT && req_query(r, "extract-archive"))
        return &bulk_extract_ops;
    return NULL;
}

int bulk_authorize(struct request *r, const char *container, const char *object)
{
    if (!r->who.authenticated) {
        const char *token = req_header(r, "X-Auth-Token");
        if (!token)
            token = req_header(r, "X-Storage-Token");
        if (token && auth_check(r->srv->auth, token, &r->who) != 0)
            return 401;
    }
    /* Each path as its own sub-request would be authorized: a DELETE for
     * bulk delete, a PUT for extraction (server/acl.h). */
    enum http_method m = r->method == M_PUT ? M_PUT : M_DELETE;
    if (acl_check(r, r->account, container, object != NULL, m) != ACL_DENY)
        return 0;
    return r->who.authenticated ? 403 : 401;
}

int bulk_errno_status(int err)
{
    switch (err) {
    case 0:
        return 200;
    case -ENOENT:
    case ERR_DELETED:
        return 404;
    case -ENOTEMPTY:
        return 409;
    case ERR_ETAG:
        return 422;
    case -E2BIG:
        return 413;
    case ERR_LIMIT:
        return 403;
    case ERR_BADINPUT:
        return 400;
    case -ENOSPC:
        return 507;
    case ERR_QUORUM:
    case -EIO:
        return 503;
    default:
        return 500;
    }
}

/* ------------------------------------------------------------------ */
/* the path list                                                       */

void bulk_parser_init(struct bulk_parser *p, size_t max_path, size_t max_names)
{
    memset(p, 0, sizeof(*p));
    p->max_path = max_path ? max_path : 1;
    p->max_names = max_names;
    buf_init(&p->line, 0);
    buf_init(&p->chunk, 0);
}

void bulk_parser_release(struct bulk_parser *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->names[i].s);
    free(p->names);
    buf_release(&p->line);
    buf_release(&p->chunk);
    memset(p, 0, sizeof(*p));
}

static bool py_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* strip() then unquote() one line, appended to the list. */
static void add_name(struct bulk_parser *p, const char *s, size_t n)
{
    while (n && py_space(*s))
        s++, n--;
    while (n && py_space(s[n - 1]))
        n--;
    size_t k;
    char *d = percent_decode(s, n, false, &k);
    if (p->n == p->alloc) {
        p->alloc = p->alloc ? p->alloc * 2 : 64;
        p->names = xrealloc(p->names, p->alloc * sizeof(*p->names));
    }
    p->names[p->n].s = d;
    p->names[p->n].len = k;
    p->n++;
}

/* The checks at the end of each turn of Swift's loop. */
static int check_turn(struct bulk_parser *p)
{
    if (p->n > p->max_names)
        p->status = 413;
    else if (p->line.len > p->max_path * 2)
        p->status = 400;
    return p->status;
}

/* Split every complete line off p->line (one turn each). */
static int split_lines(struct bulk_parser *p)
{
    char *nl;
    while (!p->status && (nl = memchr(p->line.data, '\n', p->line.len))) {
        size_t n = (size_t)(nl - p->line.data);
        add_name(p, p->line.data, n);
        memmove(p->line.data, nl + 1, p->line.len - n - 1);
        p->line.len -= n + 1;
        p->line.data[p->line.len] = '\0';
        check_turn(p);
    }
    return p->status;
}

/* One read of Swift's: line += data, then the turn's checks. */
static int take_read(struct bulk_parser *p, const char *data, size_t n)
{
    put(&p->line, data, n);
    if (check_turn(p))
        return p->status;
    return split_lines(p);
}

int bulk_parser_feed(struct bulk_parser *p, const char *data, size_t n)
{
    while (n && !p->status) {
        size_t want = p->max_path - p->chunk.len;
        size_t take = n < want ? n : want;
        if (p->chunk.len == 0 && take == p->max_path) {
            take_read(p, data, take);          /* a whole read, no copy */
        } else {
            put(&p->chunk, data, take);
            if (p->chunk.len == p->max_path) {
                take_read(p, p->chunk.data, p->chunk.len);
                buf_reset(&p->chunk);
            }
        }
        data += take;
        n -= take;
    }
    return p->status;
}

int bulk_parser_finish(struct bulk_parser *p)
{
    if (p->status)
        return p->status;
    if (p->chunk.len) {       /* the last, short read */
        take_read(p, p->chunk.data, p->chunk.len);
        buf_reset(&p->chunk);
        if (p->status)
            return p->status;
    }
    /* The read that returns nothing: what is left is the last name. */
    size_t before = p->n;
    add_name(p, p->line.data, p->line.len);
    if (p->names[before].len == 0) {
        free(p->names[before].s);
        p->n = before;
    }
    buf_reset(&p->line);
    return check_turn(p);
}

/* ------------------------------------------------------------------ */
/* the result body                                                     */

const char *bulk_status_text(int code)
{
    static const struct {
        int code;
        const char *text;
    } t[] = {
        {200, "200 OK"},
        {201, "201 Created"},
        {202, "202 Accepted"},
        {204, "204 No Content"},
        {400, "400 Bad Request"},
        {401, "401 Unauthorized"},
        {403, "403 Forbidden"},
        {404, "404 Not Found"},
        {405, "405 Method Not Allowed"},
        {406, "406 Not Acceptable"},
        {409, "409 Conflict"},
        {411, "411 Length Required"},
        {412, "412 Precondition Failed"},
        {413, "413 Request Entity Too Large"},
        {422, "422 Unprocessable Entity"},
        {498, "498 Rate Limited"},
        {500, "500 Internal Error"},
        {502, "502 Bad Gateway"},
        {503, "503 Service Unavailable"},
        {507, "507 Insufficient Storage"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(t); i++)
        if (t[i].code == code)
            return t[i].text;
    return "500 Internal Error";
}

void bulk_result_release(struct bulk_result *res)
{
    bulk_errors_release(&res->errors);
    free(res->body);
    res->body = NULL;
}

int bulk_render_result(struct buf *out, const char *format, const struct bulk_result *res)
{
    /* the dict's insertion order (JSON): status, body, counts */
    struct bulk_field f[4] = {
        {"Response Status", bulk_status_text(res->status), 0},
        {"Response Body", res->body ? res->body : "", 0},
    };
    size_t n = 2;

    for (size_t i = 0; i < 2 && res->count_names[i]; i++)
        f[n++] = (struct bulk_field){res->count_names[i], NULL, (long long)res->counts[i]};
    return bulk_body_render(out, format, f, n, res->errors.v, res->errors.n, res->root);
}

/* ------------------------------------------------------------------ */
/* the streamed response                                               */

static void job_free(void *state)
{
    struct bulk_job *job = state;
    if (job->op_free && job->op)
        job->op_free(job->op);
    bulk_result_release(&job->res);
    buf_release(&job->out);
    pthread_mutex_destroy(&job->lock);
    free(job);
}

struct bulk_job *bulk_job_new(struct request *r, const char *root)
{
    struct bulk_job *job = xcalloc(1, sizeof(*job));
    job->r = r;
    job->res.root = root;
    if (bulk_body_format(req_header(r, "Accept"), &job->format) != 0)
        job->format = NULL;   /* Swift ignores a malformed Accept: 406 */
    buf_init(&job->out, 0);
    pthread_mutex_init(&job->lock, NULL);
    r->state = job;
    r->state_free = job_free;
    return job;
}

static ssize_t job_read(void *ctx, uint64_t pos, char *dst, size_t max)
{
    struct bulk_job *job = ctx;
    ssize_t n;
    (void)pos;
    pthread_mutex_lock(&job->lock);
    size_t have = job->out.len - job->out_pos;
    if (have) {
        n = (ssize_t)(have < max ? have : max);
        memcpy(dst, job->out.data + job->out_pos, (size_t)n);
        job->out_pos += (size_t)n;
        if (job->out_pos == job->out.len) {
            buf_reset(&job->out);
            job->out_pos = 0;
        }
    } else if (job->done) {
        n = 0;
    } else {
        job->waiting = true;
        req_stream_pause(job->r);
        n = STREAM_AGAIN;
    }
    pthread_mutex_unlock(&job->lock);
    return n;
}

/* Hand bytes to the stream (any thread but the stream's). */
static void job_emit(struct bulk_job *job, const char *p, size_t n, bool last)
{
    pthread_mutex_lock(&job->lock);
    put(&job->out, p, n);
    if (last)
        job->done = true;
    if (job->waiting) {
        job->waiting = false;
        req_stream_resume(job->r);
    }
    pthread_mutex_unlock(&job->lock);
}

enum step bulk_job_start(struct bulk_job *job, void (*work)(struct request *r))
{
    struct request *r = job->r;
    r->status = 200;
    resp_header(r, "Content-Type", bulk_body_content_type(job->format));
    r->stream_read = job_read;
    r->stream_ctx = job;
    r->stream_free = NULL;    /* the job is r's state */
    r->stream_len = UINT64_MAX;
    job->last_yield_ns = mono_ns();
    req_stream_work(r, work);
    return STEP_RESPOND;
}

void bulk_job_tick(struct bulk_job *job)
{
    uint64_t now = mono_ns();
    uint64_t every = (uint64_t)job->r->srv->cfg->bulk_yield_frequency * 1000000000ull;
    if (every && now - job->last_yield_ns < every)
        return;
    job->last_yield_ns = now;
    /* Swift's first yield is the XML declaration for XML, a space for the
     * rest; from then on a space, and the body follows "\r\n\r\n". */
    if (!job->yielded && job->format && strstr(job->format, "/xml")) {
        static const char decl[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
        job_emit(job, decl, sizeof(decl) - 1, false);
    } else {
        job_emit(job, " ", 1, false);
    }
    job->yielded = true;
}

void bulk_job_finish(struct bulk_job *job)
{
    struct buf body;
    buf_init(&body, 0);
    if (job->yielded)
        puts_(&body, "\r\n\r\n");
    if (bulk_render_result(&body, job->format, &job->res) != 0)
        abort();   /* uncapped buffer */
    job_emit(job, body.data, body.len, true);
    buf_release(&body);
}
