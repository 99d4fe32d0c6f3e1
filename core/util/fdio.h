/* Reading a file descriptor whole, retrying reads that a signal
 * interrupted. */
#ifndef MV_FDIO_H
#define MV_FDIO_H

#include <stddef.h>
#include <sys/types.h>

/* Reads from fd into buf until len bytes or the end of the file: the bytes
 * read (fewer than len only at the end), or -1 with errno set. */
ssize_t mv_read_upto(int fd, void *buf, size_t len);

#endif
