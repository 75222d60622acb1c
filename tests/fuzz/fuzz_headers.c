/* tests/fuzz/fuzz_headers.c: libFuzzer target for the header value parsers
 * that take client input: HTTP dates, Swift timestamps, metadata JSON. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../common/kv.h"
#include "../../common/timefmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';

    time_t t;
    (void)http_date_parse(s, &t);
    int64_t ts;
    if (ts_parse(s, &ts) == 0) {
        char out[TS_STRLEN + 8];
        ts_format(ts, out);
    }
    struct kv_list kv;
    kv_init(&kv);
    if (kv_from_json(&kv, s, size) == 0)
        free(kv_to_json(&kv));
    kv_release(&kv);

    free(s);
    return 0;
}
