/* What a wipe did, shared by its parts (core/wipe/): the proof against the
 * repository (proof.h), the overwrite (overwrite.h), the medium probe
 * (medium.h), and what records it: the signed certificate (cli/wipecert.h)
 * and the wipe record kept in the repository (formats/wiperec.h). All
 * strings are NUL-terminated bytes from file systems and the kernel (not
 * necessarily UTF-8); writers escape them. */
#ifndef MV_WIPE_REPORT_H
#define MV_WIPE_REPORT_H

#include <stddef.h>
#include <stdint.h>

/* What was wiped (on disk in wipe records: fixed forever). */
enum mv_wipe_mode {
	MV_WIPE_FILES = 1,      /* files and folders under paths */
	MV_WIPE_DEVICE = 2,     /* a whole block device */
	MV_WIPE_REPOSITORY = 3, /* crypto-erase: the key slots of a repository */
};

/* One file's (or device's, or key slot's) fate (on disk: fixed forever). */
enum mv_wipe_status {
	MV_WIPE_WIPED = 1,   /* overwritten, verified, removed */
	MV_WIPE_REFUSED = 2, /* not touched: reason says why */
	MV_WIPE_PARTIAL = 3, /* overwrite begun, not finished (interrupted) */
	MV_WIPE_FAILED = 4,  /* overwrite or verification failed: reason */
};

struct mv_wipe_item {
	char *path; /* as given on the command line, joined with the names below it */
	uint64_t size;
	int has_content; /* content: the keyed content hash (FORMAT.md 2) */
	uint8_t content[32];
	int has_snapshot; /* snapshot: the snapshot that holds this content */
	uint8_t snapshot[32];
	int status;   /* enum mv_wipe_status */
	char *reason; /* NULL when wiped */
};

/* The medium that held what was wiped, as far as the kernel tells. Empty
 * strings when unknown. */
struct mv_wipe_medium {
	char kind[32];    /* "rotational disk", "solid-state / flash", "file-backed loop device",
	                     "unknown" */
	char fs_type[32]; /* "ext4", ... ("" for a device) */
	char device[64];  /* kernel name: "sda", "nvme0n1", "loop0" */
	char vendor[64];  /* sysfs */
	char model[128];  /* sysfs */
	char serial[128]; /* sysfs / udev, when readable */
	char hidden_area[256]; /* HPA/DCO status, or why it is unknown */
	uint64_t size;         /* device size in bytes, 0 unknown */
	int unreliable;        /* overwrite not reliable on it: see notes */
	char notes[1024];      /* each finding and its remedy, "; "-separated */
};

struct mv_wipe_report {
	int mode;                /* enum mv_wipe_mode */
	int64_t start, end;      /* Unix seconds (UTC) */
	char operator_name[128]; /* --operator, "" when not given */
	char host[256];
	char tool[64];   /* "medvault 0.x.y" */
	char method[64]; /* "overwrite (NIST SP 800-88 Clear)", "crypto-erase (NIST SP 800-88
	                    Purge)" */
	unsigned passes;
	char pattern[16];       /* "random", "zero", "one" */
	char verification[128]; /* "read back and compared, every byte", "10% sample", ... */
	int verified;           /* every verification passed */
	int interrupted;     /* stopped by Ctrl-C or a signal: what was not reached is untouched */
	char target[4096];   /* the paths, device or repository */
	uint8_t repo_id[32]; /* the repository that proves (files) or was erased */
	int has_repo;
	uint8_t snapshot[32]; /* the snapshot named by --snapshot */
	int has_snapshot;
	int backup_checked; /* 0 with --no-backup-check */
	struct mv_wipe_medium medium;
	struct mv_wipe_item *items;
	size_t nitems;
	uint64_t bytes_overwritten, bytes_verified;
	uint64_t write_ns, verify_ns; /* time spent overwriting and reading back */
	uint64_t proof_ns;            /* time spent proving (hashing files, reading blobs back) */
	uint64_t readback_ns;         /* of proof_ns, reading the repository's copies back */
	uint64_t folders_removed;
	char limits[1024]; /* what this wipe could not reach (names in directory blocks, ...) */
};

#endif
