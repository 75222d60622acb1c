/* tests/fuzz/fuzz_query.c: libFuzzer target for listing query parsing and
 * formatting (server/listing.h): the first line is the Accept header, the
 * rest a query string ("format=json&marker=...", %-decoded by path.h's
 * query_parse). Parses it at both levels, then formats rows named after
 * the parameters in every format, and cleans the input as a content type.
 *
 * It asserts the contract: statuses are 0, 400, 406 or 412 with a message;
 * a parsed limit never exceeds the maximum. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/listing.h"
#include "../../server/path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *get(void *ctx, const char *key)
{
    return kv_get(ctx, key);
}

static void format_rows(enum listing_level level, const struct listing_params *p,
                        const char *accept)
{
    static const char *const types[] = {"text/plain", "application/json", "application/xml",
                                        "text/xml"};
    const char *names[] = {p->q.prefix, p->q.marker, p->q.end_marker, p->q.delimiter, accept};

    for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
        struct listing_out o;

        listing_out_init(&o, level, types[t], accept);
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            struct list_entry e = {.name = names[i] ? names[i] : "",
                                   .is_subdir = i == 3,
                                   .timestamp = (int64_t)i * 123456789,
                                   .bytes = i,
                                   .count = i,
                                   .content_type = accept,
                                   .etag = p->q.marker};
            if (p->has_path)
                (void)listing_path_skip(p->path_prefix, &e);
            assert(listing_out_add(&o, &e) == 0);
        }
        assert(listing_out_finish(&o) == 0);
        assert(strlen(o.body.data) <= o.body.len);
        listing_out_release(&o);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1), *query, msg[256];
    struct kv_list q;

    memcpy(s, data, size);
    s[size] = '\0';
    query = strchr(s, '\n');
    if (query)
        *query++ = '\0';
    kv_init(&q);
    query_parse(query ? query : "", &q);
    for (int level = 0; level < 2; level++) {
        for (int head = 0; head < 2; head++) {
            struct listing_params p;
            const char *mt = NULL;

            msg[0] = '\0';
            int status = listing_parse(&p, level ? LISTING_CONTAINER : LISTING_ACCOUNT, head, 10000,
                                       get, &q, s, msg, sizeof(msg), &mt);
            assert(status == 0 || status == 400 || status == 406 || status == 412);
            assert(status == 0 || (msg[0] && mt));
            if (status == 0) {
                assert(p.q.limit <= 10000);
                assert(p.content_type);
                format_rows(level ? LISTING_CONTAINER : LISTING_ACCOUNT, &p, s);
            }
            listing_params_release(&p);
        }
    }
    {
        struct buf b;
        uint64_t bytes = 0;

        buf_init(&b, 0);
        assert(listing_clean_content_type(s, &b, &bytes) == 0);
        buf_release(&b);
    }
    kv_release(&q);
    free(s);
    return 0;
}
