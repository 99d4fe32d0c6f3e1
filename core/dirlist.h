/* The entries of a directory in walk order (bytewise by name), as backup,
 * scan and the catalog's cursor expect them. */
#ifndef MV_DIRLIST_H
#define MV_DIRLIST_H

#include <stddef.h>

#include "core/err.h"

/* Reads the names in path ("." and ".." left out), sorted bytewise, into a
 * malloc'd array of malloc'd strings. Returns 0, MV_ERR_IO (opendir or
 * readdir failed; *err_no says why) or MV_ERR_NOMEM (nothing is
 * returned). */
int mv_dir_names(const char *path, char ***names, size_t *n, int *err_no) MV_MUST_CHECK;
void mv_dir_names_free(char **names, size_t n); /* accepts NULL */

#endif
