/* Scan: the inventory of the DICOM data under some paths (a legacy drive),
 * and, given a repository, which files its snapshots already hold.
 *
 * Without a repository, scan reads only the first bytes of each regular
 * file (64 KiB, up to 1 MiB when a header is longer), never the pixel data,
 * so it takes a fraction of the time of reading the drive. With one, it
 * reads every file once, whole, and computes its keyed content hash exactly
 * as backup does (the repository's chunker, keyed chunk ids, the content
 * hash of FORMAT.md section 2), on all cores; the header is parsed from the
 * first bytes of that same read. A file whose content hash some snapshot
 * records is "backed up" in the newest such snapshot: looked up, nothing of
 * the repository read. With a proof (core/wipe/proof.h), the blobs of every
 * backed-up file are then read back and authenticated, as a wipe does
 * before it destroys anything: a file whose copy is damaged or missing is
 * "damaged in repository", not backed up.
 *
 * ZIP, tar and ISO 9660 files (possibly compressed) are read through
 * libarchive (core/medical/catalog.h), without writing anything to disk; their
 * DICOM members are counted like files. Symbolic links are never followed.
 * Paths are walked depth first, names in bytewise order. */
#ifndef MV_SCAN_H
#define MV_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "core/medical/inventory.h"
#include "core/ops/ops.h"
#include "core/repo/query.h"
#include "core/util/events.h"
#include "core/repo/repo.h"

struct mv_proof; /* core/wipe/proof.h */

/* Bytes of a file read for its header without a repository, and at most
 * when the header says it goes on. */
#define MV_SCAN_HEAD     (64u << 10)
#define MV_SCAN_HEAD_MAX (1u << 20)

/* ---- what a repository holds -------------------------------------------- */

/* The content set (which contents the snapshots hold): core/repo/query.h. */

/* ---- the scan ------------------------------------------------------------ */

enum mv_scan_status {
	MV_SCAN_UNKNOWN = 0,   /* no repository given */
	MV_SCAN_BACKED_UP,     /* same content in a snapshot (with a proof: read back intact) */
	MV_SCAN_NOT_BACKED_UP, /* no snapshot holds this content */
	MV_SCAN_UNREADABLE,    /* could not be read (see errno_value, what) */
	/* with a proof: a snapshot holds this content, but the repository's
	 * copy is damaged, missing or could not be read (what says why) */
	MV_SCAN_DAMAGED,
};

enum mv_scan_archive {
	MV_SCAN_NOT_ARCHIVE = 0,
	MV_SCAN_ARCHIVE_DICOM,      /* an archive holding DICOM members */
	MV_SCAN_ARCHIVE_NO_DICOM,   /* an archive without DICOM */
	MV_SCAN_ARCHIVE_UNREADABLE, /* corrupt or encrypted: members unknown */
};

/* One regular file, as reported to on_file. */
struct mv_scan_file {
	const char *path;
	uint64_t size;
	int dicom;                        /* the file is DICOM (info is set) */
	const struct mv_dicom_info *info; /* NULL unless dicom; NULL with a proof */
	enum mv_scan_archive archive;
	uint64_t members; /* DICOM members of an archive */
	enum mv_scan_status status;
	long snapshot;          /* BACKED_UP, DAMAGED: index in the content set's (or
	                         * the proof's) snapshots */
	const uint8_t *content; /* with a repository: the content hash, else NULL */
	int errno_value;        /* UNREADABLE: the errno */
	const char *what;       /* UNREADABLE: "cannot open", "cannot read"; DAMAGED:
	                         * the proof's reason ("blob 1a2b3c4d damaged: ...") */
};

struct mv_scan_opts {
	const char *const *paths;
	size_t npaths;
	int threads; /* 0 = number of cores */
	/* With a repository (unlocked, keys and chunker set): classify every
	 * file against have (required then). */
	struct mv_repo *r;
	const struct mv_content_set *have;
	/* Instead of have: a proof over every snapshot (mv_proof_load_all;
	 * the index must hold the data blobs). Files are classified by it, and
	 * once the walk is done the blobs of every backed-up file are read
	 * back and authenticated (mv_proof_verify, each blob once); on_file
	 * then gets every file, in walk order. */
	struct mv_proof *proof;
	/* A directory not to scan (the repository itself, when it lies under
	 * a scanned path); NULL for none. Compared by device and inode. */
	const char *skip_dir;
	/* Called for every regular file, from the calling thread, in walk
	 * order; may be NULL. */
	void (*on_file)(void *arg, const struct mv_scan_file *f);
	void *arg;
};

struct mv_scan_result {
	uint64_t files, bytes; /* regular files */
	uint64_t dirs;
	uint64_t specials;    /* symlinks, devices, fifos, sockets: not read */
	uint64_t unreadable;  /* files and directories that could not be read */
	uint64_t dicom_files; /* DICOM files (not counting archive members) */
	uint64_t archives;    /* archive files, whatever they held */
	/* with a repository */
	uint64_t backed_files, backed_bytes, unbacked_files, unbacked_bytes;
	uint64_t damaged_files, damaged_bytes; /* with a proof */
	uint64_t *snap_files, *snap_bytes;     /* backed up, per snapshot of the content set
	                                        * or the proof (malloc'd) */
	size_t nsnap;
	double seconds;
};

/* Scans o->paths into inv (which may already hold counts). Files that
 * cannot be read are reported through on_file (UNREADABLE) and ev->warn,
 * and counted; the scan goes on. Returns 0, MV_ERR_USAGE (a path does not
 * exist), MV_ERR_INTERRUPTED, MV_ERR_NOMEM. res is filled in any case;
 * release it with mv_scan_result_release. */
int mv_scan(const struct mv_scan_opts *o, struct mv_inventory *inv, const struct mv_events *ev,
            struct mv_scan_result *res, struct mv_error *err) MV_MUST_CHECK;
void mv_scan_result_release(struct mv_scan_result *res);

/* The hasher that computes content hashes as backup records them:
 * core/repo/filechunk.h (mv_file_hasher). */

#endif
