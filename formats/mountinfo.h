/* A parser of one line of Linux's /proc/PID/mountinfo (proc(5)):
 *
 *   36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue
 *   (1)(2)(3)   (4)   (5)         (6)       (7)      (8)(9)  (10)      (11)
 *
 * mount id, parent id, major:minor of st_dev, root of the mount within the
 * filesystem, mount point, per-mount options, optional fields ended by
 * "-", filesystem type, source, per-superblock options. Works on a memory
 * buffer only (the caller reads the file), so it can be tested and fuzzed
 * alone. */
#ifndef MV_FMT_MOUNTINFO_H
#define MV_FMT_MOUNTINFO_H

#include <stddef.h>

#include "formats/fmt_err.h"

struct mv_mountinfo {
	unsigned long mount_id, parent_id;
	unsigned major, minor;
	/* NUL-terminated, pointing into the parsed line, the kernel's octal
	 * escapes (\040 for a space, \011, \012, \134) undone in root,
	 * mount_point and source (the kernel escapes only those) */
	char *root, *mount_point, *mount_opts, *fstype, *source, *super_opts;
};

/* Parses the NUL-terminated line (a newline ends it too) in place:
 * separators become NULs and escapes are undone, so line is changed and
 * must outlive *out. Returns 1 with *out filled, 0 for a blank line (or
 * line NULL), or MV_FMT_MALFORMED (*out zeroed). */
int mv_mountinfo_parse_line(char *line, struct mv_mountinfo *out) __attribute__((nonnull(2)));

/* 1 when the comma-separated option list opts holds opt exactly ("data=journal"
 * in "rw,data=journal"), else 0. */
int mv_mountinfo_has_opt(const char *opts, const char *opt);

#endif
