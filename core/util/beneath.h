/* Opening paths below a directory handle without ever following a symbolic
 * link or leaving the handle's tree: what restore (and the coming wipe) use
 * so that a local user who swaps a folder for a link cannot redirect them. */
#ifndef MV_BENEATH_H
#define MV_BENEATH_H

#include <sys/types.h>

/* Opens rel ("a/b/c": components separated by '/', none empty, "." or "..",
 * or "" for dirfd itself) below dirfd, as openat(dirfd, rel, flags, mode)
 * would, except that no component may be a symbolic link (O_NOFOLLOW is
 * implied for the last one too) and the result is always inside dirfd's
 * tree. Uses openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) where the kernel
 * has it, else opens one component at a time (also for paths longer than
 * PATH_MAX). Returns the descriptor, or -1 with errno set (ELOOP or ENOTDIR
 * when a link or a non-directory stands on the way). */
int mv_open_beneath(int dirfd, const char *rel, int flags, mode_t mode);

/* Renames from to to, both names in the folder open at dfd, never replacing
 * an entry at to: renameat2(RENAME_NOREPLACE), else (file systems without
 * it) a hard link then unlink, else (nor links) a look then a rename, whose
 * window is that file system's limit. Returns 0, or -1 with errno set
 * (EEXIST when to exists). */
int mv_rename_noreplace(int dfd, const char *from, const char *to);

#endif
