/* tests/fuzz/fuzz_slo.c: libFuzzer target for the SLO manifest parser and
 * validator of server/slo.c (the body of a client's
 * PUT ?multipart-manifest=put). Checks what slo_parse_input promises: on
 * success no error text and every segment either a path (with an object
 * part) or at least one byte of inline data, at least one a path; on
 * failure an error text ending in a newline and no segments. The same
 * input is also tried as a segment range spec. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/slo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct buf err = BUF_INIT;
    struct slo_input *in = NULL;
    size_t n = 0, paths = 0;
    int rc = slo_parse_input((const char *)data, size, "c", "o", &in, &n, &err);

    if (rc == 0) {
        if (err.len != 0)
            abort();
        for (size_t i = 0; i < n; i++) {
            if (in[i].path) {
                paths++;
                if (!strchr(in[i].path, '/') || in[i].data)
                    abort();
            } else if (!in[i].data || in[i].data_len < 1) {
                abort();
            }
        }
        if (n && !paths)
            abort();
    } else if (err.len == 0 || err.data[err.len - 1] != '\n' || in || n) {
        abort();
    }
    slo_input_free(in, n);
    buf_release(&err);

    char *spec = malloc(size + 1);
    if (spec) {
        uint64_t a = 0, b = 0;
        memcpy(spec, data, size);
        spec[size] = '\0';
        int cnt = slo_range_resolve(spec, 1000, &a, &b);
        if (cnt > 0 && (a >= b || b > 1000))
            abort();
        free(spec);
    }
    return 0;
}
