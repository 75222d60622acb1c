/* tests/fuzz/fuzz_path.c: libFuzzer target for request-target parsing
 * (server/path.h): percent-decoding, the API path split, query strings. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';

    size_t n;
    free(percent_decode(s, size, true, &n));

    struct api_path p;
    char msg[256];
    (void)api_path_parse(s, &p, msg, sizeof(msg));
    api_path_release(&p);

    struct kv_list q;
    kv_init(&q);
    query_parse(s, &q);
    kv_release(&q);

    free(s);
    return 0;
}
