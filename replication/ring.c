/* replication/ring.c: This file implements the ring's file (saving and
 * loading it as a versioned text file) and its lookups (partition of a hash,
 * primaries, handoffs, per-device tallies). Building and rebalancing are in
 * ring_build.c. */
#include "ring_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../storage/io.h"

#define RING_MAGIC "swiftlet-ring 1"

struct ring *ring_alloc(unsigned part_power, size_t ndev)
{
    struct ring *r = xcalloc(1, sizeof(*r));

    r->part_power = part_power;
    r->ndev = ndev;
    r->devs = xcalloc(ndev ? ndev : 1, sizeof(*r->devs));
    r->table = xcalloc((size_t)REPLICAS << part_power, sizeof(*r->table));
    return r;
}

void ring_free(struct ring *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->ndev; i++)
        free((char *)r->devs[i].path);
    free(r->devs);
    free(r->table);
    free(r);
}

/* Each device's wanted number of replicas: its weight's share of all of
 * them, capped at one per partition (a device cannot hold two replicas of
 * one partition); what the cap takes is shared among the others. */
/* ---- the file ---- */

int ring_save(const struct ring *r, const char *path)
{
    char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
    int rc = 0;
    FILE *f = fopen(tmp, "we");

    if (!f) {
        rc = -errno;
        goto out;
    }
    fprintf(f, RING_MAGIC "\nversion %" PRIu64 "\npart_power %u\nreplicas %d\n", r->version,
            r->part_power, REPLICAS);
    for (size_t i = 0; i < r->ndev; i++)
        fprintf(f, "dg %" PRIu32 " %.17g %" PRIu32 " %s\n", r->devs[i].id, r->devs[i].weight,
                r->devs[i].zone, r->devs[i].path);
    for (size_t p = 0; p < ((size_t)1 << r->part_power); p++) {
        const uint32_t *row = r->table + p * REPLICAS;
        fprintf(f, "p %zu", p);
        for (size_t k = 0; k < REPLICAS; k++)
            fprintf(f, " %" PRIu32, r->devs[row[k]].id);
        fputc('\n', f);
    }
    if (fflush(f) != 0 || ferror(f))
        rc = errno ? -errno : -EIO;
    if (rc == 0)
        rc = fsync_fd(fileno(f));
    if (fclose(f) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc == 0) {
        char *dir = xstrdup(path);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
        rc = fsync_dir(slash ? (*dir ? dir : "/") : ".");
        free(dir);
    }
    if (rc < 0)
        unlink(tmp);
out:
    free(tmp);
    return rc;
}

/* Parser state for ring_load. */
struct ring_parse {
    const char *path;
    unsigned lineno;
    unsigned part_power;
    uint64_t version;
    bool have_pp, have_replicas, have_version;
    struct ring_device *devs;
    size_t ndev, adev;
    struct ring *r;      /* once the first "p" line arrives */
    uint8_t *seen;       /* per partition */
};

static int bad(const struct ring_parse *s, const char *why)
{
    log_error("msg=\"bad ring file\" path=%s line=%u err=\"%s\"", s->path, s->lineno, why);
    return -EINVAL;
}

static int index_of(const struct ring_parse *s, uint32_t id)
{
    for (size_t i = 0; i < s->ndev; i++)
        if (s->devs[i].id == id)
            return (int)i;
    return -1;
}

static int parse_dg(struct ring_parse *s, const char *line)
{
    uint32_t id, zone;
    double w;
    int off = 0;

    if (s->r || sscanf(line, "dg %" SCNu32 " %lf %" SCNu32 " %n", &id, &w, &zone, &off) != 3 ||
        off == 0 || !line[off] || !(w > 0))
        return bad(s, "bad dg line");
    if (index_of(s, id) >= 0)
        return bad(s, "duplicate dg id");
    if (s->ndev == s->adev) {
        s->adev = s->adev ? 2 * s->adev : 8;
        s->devs = xrealloc(s->devs, s->adev * sizeof(*s->devs));
    }
    s->devs[s->ndev++] = (struct ring_device){id, w, zone, xstrdup(line + off)};
    return 0;
}

static int start_table(struct ring_parse *s)
{
    if (!s->have_pp || !s->have_replicas || s->ndev < REPLICAS)
        return bad(s, "partitions before header or fewer than 3 dg lines");
    s->r = ring_alloc(s->part_power, s->ndev);
    s->r->version = s->version;
    memcpy(s->r->devs, s->devs, s->ndev * sizeof(*s->devs));
    s->ndev = 0;    /* the ring owns the paths now */
    s->seen = xcalloc((size_t)1 << s->part_power, 1);
    return 0;
}

static int parse_part(struct ring_parse *s, const char *line)
{
    unsigned long part;
    uint32_t id[REPLICAS];

    if (!s->r && start_table(s) < 0)
        return -EINVAL;
    if (sscanf(line, "p %lu %" SCNu32 " %" SCNu32 " %" SCNu32, &part, &id[0], &id[1], &id[2]) !=
            1 + REPLICAS ||
        part >= ((size_t)1 << s->part_power) || s->seen[part])
        return bad(s, "bad or repeated partition line");
    for (size_t k = 0; k < REPLICAS; k++) {
        int d = -1;
        for (size_t i = 0; i < s->r->ndev; i++)
            if (s->r->devs[i].id == id[k])
                d = (int)i;
        if (d < 0 || used_by(s->r->table + part * REPLICAS, k, (uint32_t)d))
            return bad(s, "unknown or repeated dg id in partition");
        s->r->table[part * REPLICAS + k] = (uint32_t)d;
    }
    s->seen[part] = 1;
    return 0;
}

static int parse_line(struct ring_parse *s, const char *line)
{
    unsigned v;

    if (s->lineno == 1)
        return strcmp(line, RING_MAGIC) == 0 ? 0 : bad(s, "not a swiftlet ring (version 1)");
    if (strncmp(line, "version ", 8) == 0 && !s->have_version && !s->r) {
        char *end;
        errno = 0;
        s->version = strtoull(line + 8, &end, 10);
        s->have_version = true;
        return errno || *end || end == line + 8 ? bad(s, "bad version") : 0;
    }
    if (sscanf(line, "part_power %u", &v) == 1 && !s->have_pp && !s->r) {
        if (v > PART_POWER_MAX)
            return bad(s, "part_power out of range");
        s->part_power = v;
        s->have_pp = true;
        return 0;
    }
    if (sscanf(line, "replicas %u", &v) == 1 && !s->have_replicas && !s->r) {
        s->have_replicas = true;
        return v == REPLICAS ? 0 : bad(s, "replicas must be 3");
    }
    if (strncmp(line, "dg ", 3) == 0)
        return parse_dg(s, line);
    if (strncmp(line, "p ", 2) == 0)
        return parse_part(s, line);
    return bad(s, "unknown line");
}

static int parse_file(struct ring_parse *s, FILE *f)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = 0;

    while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
        s->lineno++;
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        if ((size_t)len != strlen(line))
            rc = bad(s, "NUL byte");
        else
            rc = parse_line(s, line);
    }
    free(line);
    if (rc == 0 && !s->r)
        rc = bad(s, "no partition lines");
    for (size_t p = 0; rc == 0 && p < ((size_t)1 << s->part_power); p++)
        if (!s->seen[p])
            rc = bad(s, "partition missing");
    return rc;
}

int ring_load(struct ring **out, const char *path)
{
    struct ring_parse s = {.path = path};
    FILE *f = fopen(path, "re");
    int rc;

    *out = NULL;
    if (!f)
        return -errno;
    rc = parse_file(&s, f);
    fclose(f);
    for (size_t i = 0; i < s.ndev; i++)
        free((char *)s.devs[i].path);
    free(s.devs);
    free(s.seen);
    if (rc < 0)
        ring_free(s.r);
    else
        *out = s.r;
    return rc;
}

/* ---- lookups ---- */

unsigned ring_part_power(const struct ring *r)
{
    return r->part_power;
}

uint64_t ring_version(const struct ring *r)
{
    return r->version;
}

size_t ring_device_count(const struct ring *r)
{
    return r->ndev;
}

const struct ring_device *ring_device(const struct ring *r, size_t i)
{
    return i < r->ndev ? &r->devs[i] : NULL;
}

long ring_device_index(const struct ring *r, uint32_t id)
{
    for (size_t i = 0; i < r->ndev; i++)
        if (r->devs[i].id == id)
            return (long)i;
    return -1;
}

size_t ring_device_parts(const struct ring *r, size_t i)
{
    size_t n = 0, total = (size_t)REPLICAS << r->part_power;

    for (size_t k = 0; k < total; k++)
        n += r->table[k] == i;
    return n;
}

double ring_device_want(const struct ring *r, size_t i)
{
    double *want = xcalloc(r->ndev, sizeof(*want));

    ring_wanted_shares(r->devs, r->ndev, (size_t)1 << r->part_power, want);
    double w = i < r->ndev ? want[i] : 0;
    free(want);
    return w;
}

uint32_t ring_part(const struct ring *r, const uint8_t hash[16])
{
    uint32_t top = (uint32_t)hash[0] << 24 | (uint32_t)hash[1] << 16 | (uint32_t)hash[2] << 8 |
                   (uint32_t)hash[3];

    return r->part_power ? top >> (32 - r->part_power) : 0;
}

void ring_primaries(const struct ring *r, uint32_t part, uint32_t out[REPLICAS])
{
    const uint32_t *row = r->table + (size_t)part * REPLICAS;

    for (size_t k = 0; k < REPLICAS; k++)
        out[k] = r->devs[row[k]].id;
}

size_t ring_handoffs(const struct ring *r, uint32_t part, uint32_t *out, size_t max)
{
    const uint32_t *row = r->table + (size_t)part * REPLICAS;
    size_t n = 0;

    /* Start at a partition-dependent device so handoff load spreads. */
    for (size_t k = 0; k < r->ndev && n < max; k++) {
        uint32_t d = (uint32_t)((part + k) % r->ndev);
        if (!used_by(row, REPLICAS, d))
            out[n++] = r->devs[d].id;
    }
    return n;
}
