/* server/bulk_int.h: what bulk.c, bulk_delete.c and bulk_extract.c share;
 * private to those files (the public surface is server/bulk.h).
 *
 * A bulk request is a struct bulk_job: the handler reads the body in
 * start/body/end, then bulk_job_start() answers 200 with a streamed body
 * and runs the work on a worker thread. The work calls bulk_job_tick()
 * between steps (the whitespace heartbeat) and bulk_job_finish() once,
 * which appends the result body and ends the stream. */
#ifndef SWIFTLET_SERVER_BULK_INT_H
#define SWIFTLET_SERVER_BULK_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../common/buf.h"
#include "bulk.h"
#include "request.h"

struct bulk_job {
    struct request *r;
    const char *format;           /* bulk_body_format's; NULL: 406 */
    struct bulk_result res;
    uint64_t last_yield_ns;
    bool yielded;                 /* a heartbeat went out: "\r\n\r\n" first */

    pthread_mutex_t lock;         /* the fields below: work vs stream_read */
    struct buf out;               /* produced, from out_pos not yet sent */
    size_t out_pos;
    bool done;                    /* out holds the whole rest of the body */
    bool waiting;                 /* stream_read paused the connection */

    void *op;                     /* the handler's own state */
    void (*op_free)(void *op);
};

/* A job for r with result root tag root, installed as r's state. */
struct bulk_job *bulk_job_new(struct request *r, const char *root);
/* Answer 200 and run work(r) on a worker thread while the body streams. */
enum step bulk_job_start(struct bulk_job *job, void (*work)(struct request *r));
/* Between two steps of the work: send the heartbeat when it is due. */
void bulk_job_tick(struct bulk_job *job);
/* The work is over: send the result body and end the stream. job may be
 * freed as soon as this returns. */
void bulk_job_finish(struct bulk_job *job);

/* May r's identity change account/container[/object] (a write)? 0, or the
 * status of the refusal: 401 without a valid token, 403 otherwise.
 * Authenticates r (r->who) on its first call. */
int bulk_authorize(struct request *r, const char *container, const char *object);

/* The status Swift's subrequest would answer for a storage error. */
int bulk_errno_status(int err);

extern const struct handler_ops bulk_delete_ops, bulk_extract_ops;

#endif
