/* tests/fuzz/fuzz_keystone.c: libFuzzer target for the v2.0 and v3 login
 * body parsers (server/keystone.h), which take untrusted JSON. */
#include <stddef.h>
#include <stdint.h>

#include "../../server/keystone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct login_req q;
    if (keystone_v2_parse((const char *)data, size, &q) == 0)
        login_req_release(&q);
    if (keystone_v3_parse((const char *)data, size, &q) == 0)
        login_req_release(&q);
    return 0;
}
