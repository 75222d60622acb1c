/* storage/scratch.h: unnamed scratch files on a disk group, for request
 * bodies that must be read twice or later (an archive to extract): the
 * file has no name, so it vanishes with its last descriptor, even after a
 * crash, and never holds the body in memory. */
#ifndef SWIFTLET_STORAGE_SCRATCH_H
#define SWIFTLET_STORAGE_SCRATCH_H

#include "../common/util.h"
#include "dg.h"

/* A read-write descriptor of a new, empty, unnamed file in <dg>/tmp
 * (O_TMPFILE, or a temp file unlinked at once where the filesystem has
 * none). The fd, or -errno. */
int scratch_open(const struct disk_group *dg) WUR;

#endif
