/* tests/fuzz/fuzz_range.c: libFuzzer target for the Range and If-Match
 * parsers of server/range.c. The input's first 8 bytes pick the object
 * size; the rest is the header value. Checks the invariants range_eval
 * promises: partial ranges are non-empty, inside the object, at most
 * RANGE_MAX, and the multipart length is at least the bytes they carry. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/range.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t objsize = 0;
    struct byte_range out[RANGE_MAX];
    size_t n = 0;
    char *h;

    if (size >= 8) {
        memcpy(&objsize, data, 8);
        objsize %= 1u << 20;
        data += 8;
        size -= 8;
    }
    h = malloc(size + 1);
    if (!h)
        return 0;
    memcpy(h, data, size);
    h[size] = '\0';

    enum range_result rr = range_eval(h, objsize, out, &n);
    if (rr == RANGE_PARTIAL) {
        uint64_t bytes = 0;
        if (n == 0 || n > RANGE_MAX || !range_valid(h))
            abort();
        for (size_t i = 0; i < n; i++) {
            if (out[i].start >= out[i].end || out[i].end > objsize)
                abort();
            bytes += out[i].end - out[i].start;
        }
        if (range_multipart_length(out, n, objsize, 32, 10) < bytes)
            abort();
    } else if (n != 0) {
        abort();
    }
    if (rr != RANGE_IGNORE && !range_valid(h))
        abort();
    (void)etag_list_match(h, "d41d8cd98f00b204e9800998ecf8427e");
    int64_t v;
    (void)py_int(h, size, &v);
    free(h);
    return 0;
}
