#include "core/dirlist.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int mv_dir_names(const char *path, char ***names, size_t *n, int *err_no)
{
	char **v = NULL;
	size_t nn = 0, cap = 0;
	struct dirent *de;
	int rc = 0;

	*names = NULL;
	*n = 0;
	*err_no = 0;
	DIR *dir = opendir(path);
	if (!dir) {
		*err_no = errno;
		return MV_ERR_IO;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(dir)) == NULL) {
			if (errno) { /* an error, not the end: never a silently short list */
				*err_no = errno;
				rc = MV_ERR_IO;
			}
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (nn == cap) {
			size_t nc = cap ? cap * 2 : 64;
			char **nv = realloc(v, nc * sizeof(*nv));
			if (!nv) {
				rc = MV_ERR_NOMEM;
				break;
			}
			v = nv;
			cap = nc;
		}
		if (!(v[nn] = strdup(de->d_name))) {
			rc = MV_ERR_NOMEM;
			break;
		}
		nn++;
	}
	closedir(dir);
	if (rc) {
		mv_dir_names_free(v, nn);
		return rc;
	}
	if (nn)
		qsort(v, nn, sizeof(*v), name_cmp);
	*names = v;
	*n = nn;
	return 0;
}

void mv_dir_names_free(char **names, size_t n)
{
	for (size_t i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}
