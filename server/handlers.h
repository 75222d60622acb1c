/* server/handlers.h: the (level, verb) table of Swift API handlers.
 *
 * One file per level: account.c, container.c, object.c. Each exports one
 * handler_ops per verb it supports; handler_lookup() returns NULL for a verb
 * a level does not support, and http.c answers 405 with an Allow header
 * (handler_allow) as Swift does. */
#ifndef SWIFTLET_SERVER_HANDLERS_H
#define SWIFTLET_SERVER_HANDLERS_H

#include "request.h"

enum api_level { LEVEL_ACCOUNT, LEVEL_CONTAINER, LEVEL_OBJECT };

extern const struct handler_ops account_get_ops, account_head_ops, account_post_ops;
extern const struct handler_ops container_get_ops, container_head_ops, container_put_ops,
    container_post_ops, container_delete_ops;
extern const struct handler_ops object_get_ops, object_head_ops, object_put_ops, object_post_ops,
    object_delete_ops, object_copy_ops;

const struct handler_ops *handler_lookup(enum api_level level, enum http_method m);
/* "GET, HEAD, ..." for the Allow header of a 405 at this level. */
const char *handler_allow(enum api_level level);

#endif
