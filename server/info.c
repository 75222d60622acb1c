/* server/info.c: implements GET /info (server/info.h): the "swift" section
 * with the constraints in force, in the order and form Swift 2.30 reports
 * them, plus a "swiftlet" section naming this server. */
#include "info.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>

static json_t *swift_section(const struct config *c)
{
    json_t *policy = json_pack("{s:s, s:s, s:b}", "name", "Policy-0", "aliases", "Policy-0",
                               "default", 1);
    json_t *s = json_object();
    json_object_set_new(s, "version", json_string(SWIFT_COMPAT_VERSION));
    json_object_set_new(s, "strict_cors_mode", json_true());
    json_object_set_new(s, "policies", json_pack("[o]", policy));
    /* Accounts are created on first use; PUT/DELETE of accounts is not offered. */
    json_object_set_new(s, "allow_account_management", json_false());
    json_object_set_new(s, "account_autocreate", json_true());
    json_object_set_new(s, "max_file_size", json_integer((json_int_t)c->max_file_size));
    json_object_set_new(s, "max_meta_name_length", json_integer(c->max_meta_name_length));
    json_object_set_new(s, "max_meta_value_length", json_integer(c->max_meta_value_length));
    json_object_set_new(s, "max_meta_count", json_integer(c->max_meta_count));
    json_object_set_new(s, "max_meta_overall_size", json_integer(c->max_meta_overall_size));
    json_object_set_new(s, "max_header_size", json_integer(c->max_header_size));
    json_object_set_new(s, "max_object_name_length", json_integer(c->max_object_name_length));
    json_object_set_new(s, "container_listing_limit", json_integer(c->container_listing_limit));
    json_object_set_new(s, "account_listing_limit", json_integer(c->account_listing_limit));
    json_object_set_new(s, "max_account_name_length", json_integer(c->max_account_name_length));
    json_object_set_new(s, "max_container_name_length",
                        json_integer(c->max_container_name_length));
    json_object_set_new(s, "extra_header_count", json_integer(c->extra_header_count));
    /* Swift's proxy option, which Swift does not advertise; Cloud Files
     * clients need it, so it is here while a limit is set. */
    if (c->max_containers_per_account > 0)
        json_object_set_new(s, "max_containers_per_account",
                            json_integer(c->max_containers_per_account));
    return s;
}

int info_render(const struct server *srv, struct buf *out)
{
    json_t *doc = json_object();
    json_object_set_new(doc, "swift", swift_section(srv->cfg));
    json_object_set_new(doc, "swiftlet", json_pack("{s:s}", "version", SWIFTLET_VERSION));
    char *text = json_dumps(doc, JSON_PRESERVE_ORDER | JSON_COMPACT);
    json_decref(doc);
    if (!text)
        return -ENOMEM;
    int rc = buf_appends(out, text);
    free(text);
    return rc;
}
