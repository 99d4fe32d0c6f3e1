/* The verified overwrite of a secure wipe (issue 10, GUIDE.md "Secure wipe
 * in one page"): a file's allocated extents or a whole block device written
 * over with a pattern, pass after pass, each pass on disk (fdatasync), then
 * read back past the page cache and compared; then the file's name replaced
 * and removed, and the folders the wipe emptied removed deepest first.
 *
 * Paths are resolved once, by the caller (core/util/beneath.h): these
 * functions take descriptors and names inside a directory handle and never
 * look a path up again. They print nothing; progress goes through the
 * callback in the options. */
#ifndef MV_WIPE_OVERWRITE_H
#define MV_WIPE_OVERWRITE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util/err.h"

/* What each pass writes. Random data comes from ChaCha20 keyed by a fresh
 * random key per pass, indexed by the byte offset, so that the read-back
 * regenerates what any block should hold instead of storing it. */
enum mv_ow_pattern {
	MV_OW_RANDOM = 0,
	MV_OW_ZERO = 1,
	MV_OW_ONE = 2, /* 0xFF bytes */
};

#define MV_OW_MAX_PASSES 64

struct mv_ow_opts {
	unsigned passes; /* 1..MV_OW_MAX_PASSES; 0 means 1 */
	int pattern;     /* enum mv_ow_pattern, for every pass */
	/* Progress (may be NULL): bytes written and read back so far out of
	 * the total (passes x allocated bytes + bytes to verify). Called from
	 * the calling thread at most about ten times a second, and once at the
	 * end of each pass and of the read-back; rate and time left are the caller's. */
	void (*progress)(void *arg, uint64_t done, uint64_t total);
	/* Called once, after the file is measured and before its first byte
	 * is written (may be NULL): the caller records "overwrite begins" in
	 * its journal. A non-zero return (an MV_ERR_* code) stops before any
	 * write and is returned as is. */
	int (*begin)(void *arg, uint64_t allocated);
	/* For tests only (NULL otherwise): called after the last pass is on
	 * disk and before the read-back, so that a test can change a byte and
	 * see verification catch it. */
	void (*before_verify)(void *arg, int fd);
	void *arg;
	/* Set by a signal handler to stop (may be NULL); read atomically, as
	 * core/util/pool.c does. Checked before each block. */
	volatile sig_atomic_t *cancel;
};

struct mv_ow_result {
	uint64_t size;              /* file or device size */
	uint64_t allocated;         /* bytes in data extents: what one pass writes */
	uint64_t bytes_overwritten; /* written, all passes together */
	uint64_t bytes_verified;    /* read back and found equal */
	unsigned passes_done;       /* passes written and synced */
	/* On MV_ERR_INTERRUPTED: the offset reached in the pass under way
	 * (pass passes_done + 1), or in the read-back when passes_done is all
	 * of them; bytes below it in data extents were written (or verified). */
	uint64_t stopped_at;
	int direct; /* 1: blocks were written with O_DIRECT */
	/* time spent writing (every pass, its fdatasync included) and reading
	 * back, in nanoseconds: for the rates a report gives */
	uint64_t write_ns, verify_ns;
};

/* How much of a device the read-back compares. */
enum mv_ow_verify {
	MV_OW_VERIFY_ALL = 0,
	/* at least 10% of the device, in blocks spread evenly over it,
	 * the first and the last block included (NIST SP 800-88 sampling) */
	MV_OW_VERIFY_SAMPLE = 1,
};

/* Overwrites every allocated byte of the regular file open at fd (O_RDWR,
 * opened by the caller with O_NOFOLLOW) opts->passes times, each pass
 * fdatasync'd, then reads it all back past the page cache and compares it
 * with what the last pass wrote. Holes of a sparse file stay holes (the
 * extents come from SEEK_DATA/SEEK_HOLE, measured once); the file never
 * grows. The descriptor's status flags are restored on return; its offset
 * is unspecified. Returns 0; MV_ERR_USAGE (not a regular file, bad
 * options); MV_ERR_IO or MV_ERR_NOSPC (errno saved; the message names the
 * step and the offset); MV_ERR_INTEGRITY (read back differs or comes short:
 * the message gives the offset); MV_ERR_INTERRUPTED (opts->cancel; see
 * result->stopped_at); MV_ERR_NOMEM; or the code begin() returned. result
 * (required) says how far it got in every case. */
int mv_overwrite_file(int fd, const struct mv_ow_opts *opts, struct mv_ow_result *result,
                      struct mv_error *err) MV_MUST_CHECK;

/* The same for the first size bytes of the block device open at fd (O_RDWR;
 * O_DIRECT is set here when the device takes it): every pass over all of
 * it, fdatasync and BLKFLSBUF after each, then the read-back of all of it or
 * of a sample (enum mv_ow_verify). Returns as mv_overwrite_file does. */
int mv_overwrite_device(int fd, uint64_t size, const struct mv_ow_opts *opts, int verify,
                        struct mv_ow_result *result, struct mv_error *err) MV_MUST_CHECK;

/* What mv_wipe_name removes, and MV_WIPE_NAME_NOSYNC or'ed in: do not
 * fsync (a file is not fsync'd after its truncation, the folder not after
 * the removal): the caller fsyncs the folder once it has removed what it
 * removes there (many small files: one sync per folder, not two per file).
 * The content was overwritten and synced before: what a crash before that
 * sync can bring back is a name, never a byte of the old content. */
enum { MV_WIPE_NAME_FILE = 0, MV_WIPE_NAME_DIR = 1, MV_WIPE_NAME_LINK = 2 };
#define MV_WIPE_NAME_NOSYNC 0x100

/* Removes the entry name of the folder open at dirfd (O_RDONLY|O_DIRECTORY,
 * not O_PATH: it is fsync'd) after renaming it to a random name of the same
 * length ([A-Za-z0-9], never the old name, never replacing an entry). A file
 * (is_dir 0) must be the one open at fd (O_RDWR; the same inode, checked
 * before and after the rename): it is truncated to 0 bytes and fsync'd
 * before the unlink. A folder (is_dir 1, fd -1) must be empty; if it is
 * not, it gets its name back. A symbolic link (is_dir MV_WIPE_NAME_LINK,
 * fd -1) is removed itself, never followed. Then dirfd is fsync'd (unless
 * MV_WIPE_NAME_NOSYNC). Returns 0;
 * MV_ERR_USAGE (name empty, ".", "..", holding '/'); MV_ERR_INTEGRITY (the
 * entry is not the file open at fd, or not a folder); MV_ERR_EXISTS (the
 * folder is not empty; no free name of that length); MV_ERR_IO (errno
 * saved). */
int mv_wipe_name(int dirfd, const char *name, int is_dir, int fd,
                 struct mv_error *err) MV_MUST_CHECK;

/* A folder the wipe went through, as the caller opened it: its parent's
 * handle (as dirfd above) and its name there. */
struct mv_wipe_dir {
	int parentfd;
	const char *name;
	int removed;      /* out: 1 when removed */
	char reason[160]; /* out: why it was left ("" when removed) */
};

/* Removes, with mv_wipe_name, the folders of dirs (in the order the caller
 * walked them, each parent before what is below it) that are empty, the
 * deepest first (in reverse order), so that a folder emptied by removing
 * its subfolders goes too. A folder that is not empty, or that could not be
 * removed, is left with its name and its reason set. Returns the number of
 * folders removed. */
size_t mv_wipe_empty_dirs(struct mv_wipe_dir *dirs, size_t n);

#endif
