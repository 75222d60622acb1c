/* tests/fuzz/fuzz_journal.c: libFuzzer target for the journal record
 * decoder (storage/journal.c), which reads back files a power cut may have
 * torn. Walks the input record by record as the replay does, and checks
 * that each record decoded encodes back to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/buf.h"
#include "../../storage/journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct journal_record r;
    struct buf again;

    buf_init(&again, 0);
    for (size_t off = 0; off < size && journal_record_decode(data + off, size - off, &r) == 0;
         off += r.rec_len) {
        if (r.rec_len == 0 || off + r.rec_len > size)
            abort();
        if (memchr(r.path, '\0', r.path_len) || memchr(r.name, '\0', r.name_len))
            continue;   /* the replay refuses those; encode takes C strings */
        char *path = strndup(r.path, r.path_len), *name = strndup(r.name, r.name_len);
        buf_reset(&again);
        journal_record_encode(&again, r.dg_id, path, name, r.data, r.len);
        /* an SWJ1 record (no disk group id) is only ever read, never written */
        if (r.has_dg &&
            (again.len != r.rec_len || memcmp(again.data, data + off, r.rec_len) != 0))
            abort();
        free(path);
        free(name);
    }
    buf_release(&again);
    return 0;
}
