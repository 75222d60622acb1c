/* replication/ring.c: This file implements the ring: building a balanced
 * partition -> disk group table, saving and loading it as a versioned text
 * file, and the lookups (partition of a hash, primaries, handoffs).
 *
 * Building is greedy and deterministic: for each partition and replica it
 * takes, among the zones the partition does not use yet, the one furthest
 * below its share, and in it the device furthest below its weight's share
 * (taking the largest remainders each time keeps zones spread to the last
 * partition); with no such zone left, the device furthest below its share.
 * When the zones cannot give every partition 3 distinct zones (fewer than 3
 * zones, or one zone weighing more than a replica per partition) weight
 * decides and an unused zone only breaks near-ties, so balance stays exact. */
#include "ring.h"

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
#define PART_POWER_MAX 24

struct ring {
    unsigned part_power;
    size_t ndev;
    struct ring_device *devs;    /* paths are heap copies */
    uint32_t *table;             /* [part * REPLICAS + r] = device index */
};

static struct ring *ring_alloc(unsigned part_power, size_t ndev)
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
static void wanted_shares(const struct ring_device *devs, size_t n, size_t nparts, double *want)
{
    bool *capped = xcalloc(n, sizeof(*capped));
    bool again = true;

    while (again) {
        double left = (double)nparts * REPLICAS, wsum = 0;
        for (size_t i = 0; i < n; i++) {
            if (capped[i])
                left -= (double)nparts;
            else
                wsum += devs[i].weight;
        }
        again = false;
        for (size_t i = 0; i < n; i++) {
            if (capped[i])
                continue;
            want[i] = left * devs[i].weight / wsum;
            if (want[i] > (double)nparts) {
                capped[i] = again = true;
                break;
            }
        }
    }
    for (size_t i = 0; i < n; i++)
        if (capped[i])
            want[i] = (double)nparts;
    free(capped);
}

static bool used_by(const uint32_t *row, size_t nr, uint32_t d)
{
    for (size_t k = 0; k < nr; k++)
        if (row[k] == d)
            return true;
    return false;
}

static bool zone_used_by(const struct ring *r, const uint32_t *row, size_t nr, uint32_t zone)
{
    for (size_t k = 0; k < nr; k++)
        if (r->devs[row[k]].zone == zone)
            return true;
    return false;
}

/* Build state: wanted and assigned replicas per device and per zone (the
 * zone figures are indexed by device: zone totals of the device's zone). */
struct build {
    double *want, *zone_want;
    size_t *have;
    bool zones_fit;     /* every partition can get REPLICAS distinct zones */
};

static double zone_left(const struct ring *r, const struct build *b, uint32_t d)
{
    size_t zhave = 0;

    for (size_t i = 0; i < r->ndev; i++)
        if (r->devs[i].zone == r->devs[d].zone)
            zhave += b->have[i];
    return b->zone_want[d] - (double)zhave;
}

/* The device for replica nr of a partition whose first nr are in row
 * (the rule is in the comment at the top of the file). */
static uint32_t pick_device(const struct ring *r, const uint32_t *row, size_t nr,
                            const struct build *b)
{
    uint32_t best = UINT32_MAX;
    double best_zone = 0, best_left = 0;

    for (uint32_t d = 0; d < r->ndev; d++) {
        if (used_by(row, nr, d))
            continue;
        double left = b->want[d] - (double)b->have[d];
        bool new_zone = !zone_used_by(r, row, nr, r->devs[d].zone);
        double zl = b->zones_fit && new_zone && left > 0 ? zone_left(r, b, d) : 0;
        double zone = zl > 0 ? zl : 0;
        /* When zones cannot fit, weight decides and a new zone only breaks
         * ties. */
        if (!b->zones_fit && new_zone && left > 0)
            left += 0.5;
        if (best == UINT32_MAX || zone > best_zone || (zone == best_zone && left > best_left)) {
            best = d;
            best_zone = zone;
            best_left = left;
        }
    }
    return best;
}

/* A zone's share: its devices' shares. Zones fit when there are at least
 * REPLICAS of them and none wants more than one replica per partition. */
static void zone_shares(const struct ring *r, size_t nparts, struct build *b)
{
    size_t zones = 0;

    b->zones_fit = true;
    for (size_t d = 0; d < r->ndev; d++) {
        double w = 0;
        bool first = true;
        for (size_t i = 0; i < r->ndev; i++) {
            if (r->devs[i].zone == r->devs[d].zone) {
                w += b->want[i];
                first = first && i >= d;
            }
        }
        b->zone_want[d] = w;
        zones += first;
        if (w > (double)nparts + 1e-6)
            b->zones_fit = false;
    }
    if (zones < REPLICAS)
        b->zones_fit = false;
}

static int check_devices(unsigned part_power, const struct ring_device *devs, size_t n)
{
    if (part_power > PART_POWER_MAX || n < REPLICAS || n > UINT32_MAX)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!(devs[i].weight > 0) || !devs[i].path || strchr(devs[i].path, '\n'))
            return -EINVAL;
        for (size_t j = 0; j < i; j++)
            if (devs[j].id == devs[i].id)
                return -EINVAL;
    }
    return 0;
}

int ring_build(struct ring **out, unsigned part_power, const struct ring_device *devs, size_t n)
{
    int rc = check_devices(part_power, devs, n);

    *out = NULL;
    if (rc < 0)
        return rc;
    size_t nparts = (size_t)1 << part_power;
    struct ring *r = ring_alloc(part_power, n);
    struct build b = {.want = xcalloc(n, sizeof(double)),
                      .zone_want = xcalloc(n, sizeof(double)),
                      .have = xcalloc(n, sizeof(size_t))};

    for (size_t i = 0; i < n; i++) {
        r->devs[i] = devs[i];
        r->devs[i].path = xstrdup(devs[i].path);
    }
    wanted_shares(devs, n, nparts, b.want);
    zone_shares(r, nparts, &b);
    for (size_t p = 0; p < nparts; p++) {
        uint32_t *row = r->table + p * REPLICAS;
        for (size_t k = 0; k < REPLICAS; k++) {
            row[k] = pick_device(r, row, k, &b);
            b.have[row[k]]++;
        }
    }
    free(b.have);
    free(b.zone_want);
    free(b.want);
    *out = r;
    return 0;
}

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
    fprintf(f, RING_MAGIC "\npart_power %u\nreplicas %d\n", r->part_power, REPLICAS);
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
    bool have_pp, have_replicas;
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

size_t ring_device_count(const struct ring *r)
{
    return r->ndev;
}

const struct ring_device *ring_device(const struct ring *r, size_t i)
{
    return i < r->ndev ? &r->devs[i] : NULL;
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
