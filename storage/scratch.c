/* storage/scratch.c: implements unnamed scratch files (storage/scratch.h). */
#include "scratch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

int scratch_open(const struct disk_group *dg)
{
    char *dir = xasprintf("%s/tmp", dg_path(dg));
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

    if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
        char *path = xasprintf("%s/.scratch.XXXXXX", dir);
        fd = mkostemp(path, O_CLOEXEC);
        if (fd >= 0)
            unlink(path);
        free(path);
    }
    int err = fd >= 0 ? 0 : -errno;
    free(dir);
    return fd >= 0 ? fd : err;
}
