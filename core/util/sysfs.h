/* Reading the kernel's small text files (/sys, /proc): bounded, trimmed and
 * made printable, and the mount table (/proc/self/mountinfo) line by line.
 * Kernel data is not hostile, but it is read into fixed fields: nothing
 * here writes past the caller's buffer. */
#ifndef MV_SYSFS_H
#define MV_SYSFS_H

#include <sys/types.h>

#include "formats/mountinfo.h"

struct mv_error;

/* Reads the file rel below dirfd (AT_FDCWD or an open directory: a sysfs
 * device directory, say) into buf: at most cap - 1 bytes (the rest is cut),
 * trailing whitespace trimmed, bytes outside printable ASCII replaced by
 * '?', NUL-terminated. Returns the length (0: empty file), or -1 with errno
 * set when the file is absent or unreadable; buf is "" then (cap > 0). */
ssize_t mv_sysfs_read(int dirfd, const char *rel, char *buf, size_t cap);

/* Reads a decimal unsigned number from rel below dirfd into *out: 0, or -1
 * (absent, unreadable, not a number). */
int mv_sysfs_read_u64(int dirfd, const char *rel, unsigned long long *out);

/* Calls fn(arg, entry) for each line of /proc/self/mountinfo (the entry is
 * valid during the call only; malformed lines are skipped) until fn
 * returns non-zero. Returns fn's non-zero value, 0 when every line was
 * seen, or MV_ERR_IO / MV_ERR_NOMEM (err filled). */
int mv_mountinfo_each(int (*fn)(void *arg, const struct mv_mountinfo *e), void *arg,
                      struct mv_error *err);

#endif
