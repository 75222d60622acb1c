/* server/info.h: the body of GET /info (Swift's capabilities document). */
#ifndef SWIFTLET_SERVER_INFO_H
#define SWIFTLET_SERVER_INFO_H

#include "../common/buf.h"
#include "server.h"

#define SWIFTLET_VERSION "0.1.0"
/* The Swift release whose API and constraints swiftlet matches; clients
 * read swift.version from /info. */
#define SWIFT_COMPAT_VERSION "2.30.1"

/* Append the JSON document to out. 0 or -E2BIG. */
int info_render(const struct server *srv, struct buf *out) WUR;

#endif
