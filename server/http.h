/* server/http.h: the HTTP front end (libmicrohttpd) and its worker pool.
 *
 * http.c is the only file that includes microhttpd.h: it turns MHD's
 * callbacks into the start / body / end steps of server/request.h, routes
 * requests (auth, /info, /healthcheck, /metrics, the /v1 API), runs
 * deferred work on a pool of worker threads while the connection is
 * suspended, and writes the access log line and metrics of each request. */
#ifndef SWIFTLET_SERVER_HTTP_H
#define SWIFTLET_SERVER_HTTP_H

#include <stdint.h>

#include "../common/util.h"
#include "server.h"

struct http_server;

/* Listen on host:port ("127.0.0.1:8080", "[::1]:8080"; port 0 picks a free
 * one) and start serving. Returns once the socket accepts connections.
 * 0, -EADDRINUSE, -EINVAL, -errno. */
int http_start(struct http_server **out, struct server *srv, const char *listen) WUR;
/* The port actually bound. */
uint16_t http_port(const struct http_server *h);
/* Stop accepting, finish or abort what is running, free everything. */
void http_stop(struct http_server *h);

#endif
