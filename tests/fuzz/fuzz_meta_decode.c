/* tests/fuzz/fuzz_meta_decode.c: libFuzzer target for the fast decoder of
 * a .data's metadata JSON (storage/object_meta_decode.c), differential:
 * whenever the decoder accepts an input, jansson's parse must accept it
 * too and fill the record identically. The first two bytes are the body
 * length the "size" field must match (little-endian); the rest is the JSON. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../storage/object_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct object_meta fast, slow;

    if (size < 2)
        return 0;
    uint64_t body_len = (uint64_t)data[0] | (uint64_t)data[1] << 8;
    const char *json = (const char *)data + 2;
    size_t n = size - 2;

    object_meta_init(&fast);
    object_meta_init(&slow);
    if (data_meta_decode(json, n, body_len, &fast) == 0) {
        if (data_meta_parse_json(json, n, body_len, &slow) != 0)
            abort();
        if (!same(fast.name, slow.name) || !same(fast.content_type, slow.content_type) ||
            fast.timestamp != slow.timestamp || fast.meta_timestamp != slow.meta_timestamp ||
            fast.size != slow.size || strcmp(fast.etag, slow.etag) != 0 ||
            fast.crc32c != slow.crc32c || fast.headers.n != slow.headers.n)
            abort();
        for (size_t i = 0; i < fast.headers.n; i++) {
            if (!same(fast.headers.items[i].key, slow.headers.items[i].key) ||
                !same(fast.headers.items[i].value, slow.headers.items[i].value))
                abort();
        }
    } else if (fast.name || fast.headers.n) {
        abort();    /* a declined record must be left untouched */
    }
    object_meta_release(&fast);
    object_meta_release(&slow);
    return 0;
}
