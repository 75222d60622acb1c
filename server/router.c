/* server/router.c: implements the (level, verb) handler table
 * (server/handlers.h). */
#include "handlers.h"

#include <stddef.h>

static const struct handler_ops *const table[3][M_OTHER] = {
    [LEVEL_ACCOUNT] = {[M_GET] = &account_get_ops,
                       [M_HEAD] = &account_head_ops,
                       [M_POST] = &account_post_ops},
    [LEVEL_CONTAINER] = {[M_GET] = &container_get_ops,
                         [M_HEAD] = &container_head_ops,
                         [M_PUT] = &container_put_ops,
                         [M_POST] = &container_post_ops,
                         [M_DELETE] = &container_delete_ops},
    [LEVEL_OBJECT] = {[M_GET] = &object_get_ops,
                      [M_HEAD] = &object_head_ops,
                      [M_PUT] = &object_put_ops,
                      [M_POST] = &object_post_ops,
                      [M_DELETE] = &object_delete_ops,
                      [M_COPY] = &object_copy_ops},
};

const struct handler_ops *handler_lookup(enum api_level level, enum http_method m)
{
    if ((unsigned)level > LEVEL_OBJECT || m >= M_OTHER)
        return NULL;
    return table[level][m];
}

const char *handler_allow(enum api_level level)
{
    /* Swift's order (its controllers' allowed_methods, reversed). */
    switch (level) {
    case LEVEL_ACCOUNT: /* PUT and DELETE answer 403 unless reseller */
    case LEVEL_CONTAINER:
        return "DELETE, OPTIONS, HEAD, POST, PUT, GET";
    case LEVEL_OBJECT:
    default:
        return "DELETE, OPTIONS, HEAD, POST, PUT, GET"; /* COPY is a middleware verb in Swift */
    }
}
