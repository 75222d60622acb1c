/* server/info.c: implements GET /info (server/info.h): the "swift" section
 * with the constraints in force, in the order and form Swift 2.30 reports
 * them, the sections of the middleware swiftlet implements (tempurl,
 * formpost, tempauth, ratelimit), plus a "swiftlet" section naming this
 * server. */
#include "info.h"

#include "slo.h"

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

/* Swift's [size, rate] pairs (interpret_conf_limits' info list). */
static json_t *rate_pairs(const struct config_rate *t, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_pack("[I, f]", (json_int_t)t[i].size, t[i].rate));
    return a;
}

/* What Swift's ratelimit filter registers (register_swift_info); absent
 * when the limiter is off, as when Swift's pipeline has no ratelimit. */
static json_t *ratelimit_section(const struct config *c)
{
    json_t *s = json_object();
    json_object_set_new(s, "account_ratelimit", json_real(c->account_ratelimit));
    json_object_set_new(s, "max_sleep_time_seconds", json_real(c->max_sleep_time_seconds));
    json_object_set_new(s, "container_ratelimits",
                        rate_pairs(c->container_ratelimits, c->n_container_ratelimits));
    /* Listings are reads, and reads are never limited. */
    json_object_set_new(s, "container_listing_ratelimits", json_array());
    return s;
}

/* What Swift's tempurl and formpost filters register, with their defaults
 * (swiftlet has no options for them); sha1 is allowed but, as in 2.30,
 * marked deprecated. */
static json_t *tempurl_section(void)
{
    return json_pack("{s:[s,s,s,s,s], s:[s], s:[], s:[s], s:[s], s:[s,s,s], s:[s]}", "methods",
                     "GET", "HEAD", "PUT", "POST", "DELETE", "incoming_remove_headers",
                     "x-timestamp", "incoming_allow_headers", "outgoing_remove_headers",
                     "x-object-meta-*", "outgoing_allow_headers", "x-object-meta-public-*",
                     "allowed_digests", "sha1", "sha256", "sha512", "deprecated_digests", "sha1");
}

static json_t *formpost_section(void)
{
    return json_pack("{s:[s,s,s], s:[s]}", "allowed_digests", "sha1", "sha256", "sha512",
                     "deprecated_digests", "sha1");
}

/* versioned_writes with allow_versioned_writes on (server/versioning.h). */
static json_t *versioned_writes_section(void)
{
    return json_pack("{s:[s,s]}", "allowed_flags", "x-versions-location", "x-history-location");
}

/* Swift's slo register_swift_info, in its order. Segments are deleted
 * as the request runs: there is no async delete. */
static json_t *slo_section(void)
{
    json_t *s = json_object();
    json_object_set_new(s, "max_manifest_segments", json_integer(SLO_MAX_SEGMENTS));
    json_object_set_new(s, "max_manifest_size", json_integer(SLO_MAX_MANIFEST_SIZE));
    json_object_set_new(s, "yield_frequency", json_integer(SLO_YIELD_FREQUENCY));
    json_object_set_new(s, "min_segment_size", json_integer(SLO_MIN_SEGMENT_SIZE));
    json_object_set_new(s, "allow_async_delete", json_false());
    return s;
}

int info_render(const struct server *srv, struct buf *out)
{
    json_t *doc = json_object();
    json_object_set_new(doc, "swift", swift_section(srv->cfg));
    json_object_set_new(doc, "tempurl", tempurl_section());
    json_object_set_new(doc, "formpost", formpost_section());
    /* tempauth's register_swift_info: X-Account-Access-Control is honoured */
    json_object_set_new(doc, "tempauth", json_pack("{s:b}", "account_acls", 1));
    json_object_set_new(doc, "versioned_writes", versioned_writes_section());
    json_object_set_new(doc, "slo", slo_section());
    if (srv->cfg->ratelimit_enabled)
        json_object_set_new(doc, "ratelimit", ratelimit_section(srv->cfg));
    /* Swift's bulk middleware registers both (server/bulk.h) */
    json_object_set_new(doc, "bulk_upload",
                        json_pack("{s:i, s:i}", "max_containers_per_extraction",
                                  (int)srv->cfg->bulk_max_containers_per_extraction,
                                  "max_failed_extractions",
                                  (int)srv->cfg->bulk_max_failed_extractions));
    json_object_set_new(doc, "bulk_delete",
                        json_pack("{s:i, s:i}", "max_deletes_per_request",
                                  (int)srv->cfg->bulk_max_deletes_per_request,
                                  "max_failed_deletes", (int)srv->cfg->bulk_max_failed_deletes));
    /* swiftlet's own: its version and the login APIs it answers. */
    json_object_set_new(doc, "swiftlet", json_pack("{s:s, s:{s:s, s:s, s:s}}", "version",
                                                   SWIFTLET_VERSION, "auth", "v1.0", "/auth/v1.0",
                                                   "v2.0", "/v2.0/tokens", "v3",
                                                   "/v3/auth/tokens"));
    char *text = json_dumps(doc, JSON_PRESERVE_ORDER | JSON_COMPACT);
    json_decref(doc);
    if (!text)
        return -ENOMEM;
    int rc = buf_appends(out, text);
    free(text);
    return rc;
}
