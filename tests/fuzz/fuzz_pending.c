/* tests/fuzz/fuzz_pending.c: libFuzzer target for the pending log's line
 * decoder (storage/pending.c), which reads back files a crash may have
 * torn. Checks that what decodes re-encodes to the same line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../storage/pending.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pending_update u;

    if (pending_line_decode((const char *)data, size, &u) != 0)
        return 0;
    char *again = pending_line_encode(u.ts, u.account, u.container, u.object);
    struct pending_update v;
    if (pending_line_decode(again, strlen(again), &v) != 0 || v.ts != u.ts ||
        strcmp(v.account, u.account) != 0 || strcmp(v.container, u.container) != 0 ||
        strcmp(v.object, u.object) != 0)
        abort();
    pending_update_release(&v);
    pending_update_release(&u);
    free(again);
    return 0;
}
