/* Reading and writing a file descriptor whole, retrying calls that a
 * signal interrupted; making the folders of a state file. */
#ifndef MV_FDIO_H
#define MV_FDIO_H

#include <stddef.h>
#include <sys/types.h>

#include "core/util/err.h"

/* Reads from fd into buf until len bytes or the end of the file: the bytes
 * read (fewer than len only at the end), or -1 with errno set. */
ssize_t mv_read_upto(int fd, void *buf, size_t len);

/* fsyncs the directory dir, so that names made or removed in it are
 * durable. Returns 0, or -1 with errno set. */
int mv_fsync_dir(const char *dir);

/* Writes all len bytes: 0, or -1 with errno set (ENOSPC for a write that
 * wrote nothing). */
int mv_write_all(int fd, const void *buf, size_t len);

/* Creates the missing folders of path's parent (path absolute), mode 0700.
 * path is modified during the call and restored. Returns 0 or MV_ERR_IO. */
int mv_make_parents(char *path, struct mv_error *err) MV_MUST_CHECK;

#endif
