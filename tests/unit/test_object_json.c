/* tests/unit/test_object_json.c: unit tests of a .data's metadata JSON
 * (storage/object.c, storage/object_meta_decode.c): the fast decoder reads
 * what data_json writes and agrees with the jansson parse, and it declines,
 * leaving the record untouched, whatever it does not fully understand, which
 * data_meta_parse then still parses (or rejects) through jansson. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../common/kv.h"
#include "../../storage/object_int.h"

#define ETAG "0123456789abcdef0123456789abcdef"

static void meta_fill(struct object_meta *m, const char *name, const char *ctype)
{
    object_meta_init(m);
    m->name = strdup(name);
    m->timestamp = 173274999912345;     /* 10 µs units */
    m->meta_timestamp = m->timestamp;
    m->size = 4096;
    memcpy(m->etag, ETAG, 33);
    m->crc32c = 0xdeadbeef;
    m->content_type = ctype ? strdup(ctype) : NULL;
}

static void assert_meta_equal(const struct object_meta *a, const struct object_meta *b)
{
    assert_string_equal(a->name, b->name);
    assert_int_equal(a->timestamp, b->timestamp);
    assert_int_equal(a->meta_timestamp, b->meta_timestamp);
    assert_int_equal(a->size, b->size);
    assert_string_equal(a->etag, b->etag);
    assert_int_equal(a->crc32c, b->crc32c);
    if (a->content_type || b->content_type) {
        assert_non_null(a->content_type);
        assert_non_null(b->content_type);
        assert_string_equal(a->content_type, b->content_type);
    }
    assert_int_equal(a->headers.n, b->headers.n);
    for (size_t i = 0; i < a->headers.n; i++) {
        assert_string_equal(a->headers.items[i].key, b->headers.items[i].key);
        assert_string_equal(a->headers.items[i].value, b->headers.items[i].value);
    }
}

/* data_json's output: the decoder answers, with what jansson reads. */
static void check_decoded(const struct object_meta *want)
{
    char *json = data_json(want);
    struct object_meta fast, slow;

    object_meta_init(&fast);
    object_meta_init(&slow);
    assert_int_equal(data_meta_decode(json, strlen(json), want->size, &fast), 0);
    assert_int_equal(data_meta_parse_json(json, strlen(json), want->size, &slow), 0);
    assert_meta_equal(&fast, want);
    assert_meta_equal(&slow, want);
    object_meta_release(&fast);
    object_meta_release(&slow);
    free(json);
}

static void test_decode_reads_what_data_json_writes(void **state)
{
    struct object_meta m;

    (void)state;
    meta_fill(&m, "/AUTH_test/photos/2024/a b\"c\\d/e.jpg", "image/jpeg");
    kv_add(&m.headers, "X-Object-Meta-Color", "blue");
    kv_add(&m.headers, "Content-Disposition", "attachment; filename=\"x\\y.txt\"");
    kv_add(&m.headers, "X-Object-Meta-Tabbed", "a\tb/c");
    kv_add(&m.headers, "X-Delete-At", "1999999999");
    check_decoded(&m);
    object_meta_release(&m);

    meta_fill(&m, "/a/c/no-type-no-headers", NULL);     /* no content_type key */
    m.size = 0;
    m.crc32c = 0;
    check_decoded(&m);
    object_meta_release(&m);
}

/* JSON the decoder must decline. parse_json_rc: what jansson then says. */
static void check_declined(const char *json, uint64_t body_len, int parse_json_rc)
{
    struct object_meta m;

    object_meta_init(&m);
    assert_int_equal(data_meta_decode(json, strlen(json), body_len, &m), -1);
    assert_null(m.name);                 /* untouched */
    assert_int_equal(m.headers.n, 0);
    assert_int_equal(data_meta_parse(json, strlen(json), body_len, &m), parse_json_rc);
    object_meta_release(&m);
}

#define FIELDS "\"timestamp\":\"1732749999.12345\",\"size\":5,\"etag\":\"" ETAG "\",\"crc32c\":7"

static void test_decode_declines_the_unusual(void **state)
{
    (void)state;
    /* valid, but for jansson to read */
    check_declined("{\"name\":\"/a/c/caf\xc3\xa9\"," FIELDS ",\"headers\":{}}", 5, 0);
    check_declined("{\"name\":\"/a/c/\\u00e9\"," FIELDS ",\"headers\":{}}", 5, 0);
    check_declined("{\"name\":\"/a/c/o\"," FIELDS ",\"headers\":{\"X-Object-Meta-B\":{\"hex\":\"ff\"}}}",
                   5, 0);
    check_declined("{\"name\":\"/a/c/o\"," FIELDS ",\"headers\":{},\"future\":1}", 5, 0);
    check_declined("{\"name\":\"/a/c/o\"," FIELDS ",\"headers\":{\"A\":\"1\",\"A\":\"2\"}}", 5, 0);
    check_declined("{\"name\":\"/a/c/o\",\"name\":\"/a/c/p\"," FIELDS ",\"headers\":{}}", 5, 0);
    check_declined("{\"na\\u006de\":\"/a/c/o\"," FIELDS ",\"headers\":{}}", 5, 0);
    /* corrupt: jansson rejects them too */
    check_declined("{\"name\":\"/a/c/o\"," FIELDS ",\"headers\":{}}", 6, ERR_CORRUPT);
    check_declined("{\"name\":\"/a/c/o\"," FIELDS "}", 5, ERR_CORRUPT);
    check_declined("{\"name\":\"/a/c/o\"," FIELDS ",\"headers\":{}} x", 5, ERR_CORRUPT);
    check_declined("{\"name\":\"/a/c/o\"," FIELDS ",\"headers\":{}", 5, ERR_CORRUPT);
    check_declined("{\"name\":\"/a/c/o\",\"timestamp\":\"1732749999.12345\",\"size\":05,\"etag\":\"" ETAG
                   "\",\"crc32c\":7,\"headers\":{}}", 5, ERR_CORRUPT);
    check_declined("{\"name\":\"/a/c/o\",\"timestamp\":\"1732749999.12345\",\"size\":5.0,\"etag\":\"" ETAG
                   "\",\"crc32c\":7,\"headers\":{}}", 5, ERR_CORRUPT);
    check_declined("{\"name\":\"/a/c/o\",\"timestamp\":\"x\",\"size\":5,\"etag\":\"" ETAG
                   "\",\"crc32c\":7,\"headers\":{}}", 5, ERR_CORRUPT);
    check_declined("{\"name\":\"/a/c/o\",\"timestamp\":\"1732749999.12345\",\"size\":5,\"etag\":\"abc\","
                   "\"crc32c\":7,\"headers\":{}}", 5, ERR_CORRUPT);
    check_declined("{\"name\":null," FIELDS ",\"headers\":{}}", 5, ERR_CORRUPT);
    check_declined("", 0, ERR_CORRUPT);
}

/* Spacing JSON allows (jansson's non-compact output) is read the same. */
static void test_decode_allows_whitespace(void **state)
{
    const char *json = " {\n \"name\" : \"/a/c/o\" ,\t\"timestamp\":\"1732749999.12345\",\r\n"
                       "\"size\": 5, \"etag\":\"" ETAG "\", \"crc32c\" :7, \"headers\": { \"A\" : \"1\" } } \n";
    struct object_meta m;

    (void)state;
    object_meta_init(&m);
    assert_int_equal(data_meta_decode(json, strlen(json), 5, &m), 0);
    assert_string_equal(m.name, "/a/c/o");
    assert_int_equal(m.size, 5);
    assert_int_equal(m.crc32c, 7);
    assert_int_equal(m.headers.n, 1);
    assert_string_equal(kv_get(&m.headers, "A"), "1");
    object_meta_release(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_reads_what_data_json_writes),
        cmocka_unit_test(test_decode_declines_the_unusual),
        cmocka_unit_test(test_decode_allows_whitespace),
    };

    return cmocka_run_group_tests_name("object metadata JSON", tests, NULL, NULL);
}
