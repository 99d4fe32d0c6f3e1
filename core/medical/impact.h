/* Impact: what an exposed or lost copy held, in the terms of a GDPR art. 33
 * notification (categories and approximate number of persons and records).
 *
 * For a snapshot (or a path inside one) the counts come from its DICOM
 * catalog (core/medical/catalog.h) without reading any file data; for a path that
 * was never backed up, from a live scan (core/medical/scan.h). Both feed the same
 * inventory (core/medical/inventory.h), so the two agree on the same files. */
#ifndef MV_IMPACT_H
#define MV_IMPACT_H

#include <stddef.h>
#include <stdint.h>

#include "core/medical/inventory.h"
#include "core/util/events.h"
#include "core/repo/repo.h"

struct mv_impact_result {
	uint64_t entries; /* catalog entries counted (DICOM files and archive members) */
	int found;        /* subpath: some entry lies at or below it */
};

/* Counts the catalog entries of snapshot s into inv: every entry, or with
 * subpath (a path inside the snapshot as the engine names them,
 * "/srv/imaging/2019"; NULL or "" for all) only those whose path is subpath
 * or lies below it. Archives holding DICOM are counted once each. The index
 * must be loaded. ctx: the caller's blob context (NULL: mv_repo_blob_ctx(r)).
 * Returns 0, MV_ERR_INTEGRITY (a catalog blob is damaged), MV_ERR_INTERRUPTED,
 * MV_ERR_NOMEM, ... */
int mv_impact_snapshot(struct mv_repo *r, struct mv_blob_ctx *ctx, const struct mv_snapshot *s,
                       const char *subpath, struct mv_inventory *inv, const struct mv_events *ev,
                       struct mv_impact_result *res, struct mv_error *err) MV_MUST_CHECK;

enum mv_volume_crypt {
	MV_VOLUME_UNKNOWN = -1, /* the device could not be determined */
	MV_VOLUME_PLAIN = 0,    /* not on a dm-crypt device */
	MV_VOLUME_DMCRYPT = 1,  /* on a dm-crypt (LUKS) device, maybe below LVM */
};

/* Whether path lies on a dm-crypt volume: the device of its file system
 * (st_dev, or the source of its mount in /proc/self/mountinfo for file
 * systems with anonymous devices such as btrfs) is a device-mapper device
 * whose uuid (/sys/dev/block/MAJ:MIN/dm/uuid) starts with "CRYPT-", or
 * stacks on one (its slaves). device (may be NULL) gets the mount source or
 * "MAJ:MIN". */
enum mv_volume_crypt mv_volume_encryption(const char *path, char *device, size_t devlen);

#endif
