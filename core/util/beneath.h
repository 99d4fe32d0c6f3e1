/* Opening paths below a directory handle without ever following a symbolic
 * link or leaving the handle's tree: what restore (and the coming wipe) use
 * so that a local user who swaps a folder for a link cannot redirect them. */
#ifndef MV_BENEATH_H
#define MV_BENEATH_H

#include <sys/types.h>

#include "core/util/err.h"

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

/* Opens the folder path (O_RDONLY|O_DIRECTORY), one component at a time
 * relative to the previous one (making missing ones, mode 0700, when
 * create). A symbolic link on the way is followed only when no other user
 * can change it: in a folder owned by root or by the caller that others
 * cannot write, or in a sticky folder (/tmp) when the link is root's or the
 * caller's; its text is walked the same way. So a link planted in a shared
 * folder cannot send a root restore, or a root wipe, elsewhere. Returns the
 * descriptor, or MV_ERR_USAGE (an untrusted link), MV_ERR_IO, MV_ERR_NOSPC,
 * MV_ERR_NOMEM with err set. */
int mv_open_trusted_dir(const char *path, int create, struct mv_error *err);

#endif
