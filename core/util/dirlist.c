#include "core/util/dirlist.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct mv_dir_iter {
	char *path; /* opened for each pass only: no descriptor is held while
	               the caller walks below the directory */
	size_t batch;
	char **v;   /* a max-heap while a pass reads, then sorted ascending */
	size_t n;   /* names in v */
	size_t pos; /* next name to return */
	int more;   /* the pass saw more than batch candidates */
	int have_last;
	int err, err_no; /* a failed pass: returned again by every later call */
	unsigned passes;
	char last[256]; /* the last name of the previous batch */
};

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void heap_down(char **v, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < n && strcmp(v[l], v[m]) > 0)
			m = l;
		if (l + 1 < n && strcmp(v[l + 1], v[m]) > 0)
			m = l + 1;
		if (m == i)
			return;
		char *t = v[i];
		v[i] = v[m];
		v[m] = t;
		i = m;
	}
}

static void heap_up(char **v, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (strcmp(v[p], v[i]) >= 0)
			return;
		char *t = v[i];
		v[i] = v[p];
		v[p] = t;
		i = p;
	}
}

static void drop_batch(struct mv_dir_iter *it)
{
	for (size_t i = 0; i < it->n; i++)
		free(it->v[i]);
	it->n = 0;
	it->pos = 0;
}

/* One pass: keeps the batch smallest names greater than it->last. */
static int read_pass(struct mv_dir_iter *it, int *err_no)
{
	struct dirent *de;
	size_t seen = 0;
	int rc = 0;

	drop_batch(it);
	it->passes++;
	DIR *dir = opendir(it->path);
	if (!dir) {
		*err_no = errno;
		return MV_ERR_IO;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(dir)) == NULL) {
			if (errno) {
				*err_no = errno;
				rc = MV_ERR_IO;
			}
			break;
		}
		const char *nm = de->d_name;
		if (!strcmp(nm, ".") || !strcmp(nm, ".."))
			continue;
		if (it->have_last && strcmp(nm, it->last) <= 0)
			continue;
		seen++;
		if (it->n < it->batch) {
			if (!(it->v[it->n] = strdup(nm))) {
				rc = MV_ERR_NOMEM;
				break;
			}
			heap_up(it->v, it->n++);
		} else if (strcmp(nm, it->v[0]) < 0) {
			char *c = strdup(nm);
			if (!c) {
				rc = MV_ERR_NOMEM;
				break;
			}
			free(it->v[0]);
			it->v[0] = c;
			heap_down(it->v, it->n, 0);
		}
	}
	closedir(dir);
	if (rc)
		return rc;
	it->more = seen > it->n;
	if (it->n)
		qsort(it->v, it->n, sizeof(*it->v), name_cmp);
	/* a directory changed while read may return a name twice */
	size_t k = 0;
	for (size_t i = 0; i < it->n; i++) {
		if (k && !strcmp(it->v[k - 1], it->v[i]))
			free(it->v[i]);
		else
			it->v[k++] = it->v[i];
	}
	it->n = k;
	return 0;
}

int mv_dir_open(const char *path, size_t batch, struct mv_dir_iter **out, int *err_no)
{
	*out = NULL;
	*err_no = 0;
	struct mv_dir_iter *it = calloc(1, sizeof(*it));
	if (!it)
		return MV_ERR_NOMEM;
	it->batch = batch < 1 ? 1 : batch > MV_DIR_BATCH_MAX ? MV_DIR_BATCH_MAX : batch;
	it->v = malloc(it->batch * sizeof(*it->v));
	it->path = strdup(path);
	if (!it->v || !it->path) {
		mv_dir_close(it);
		return MV_ERR_NOMEM;
	}
	int rc = read_pass(it, err_no); /* the first pass: errors show at once */
	if (rc) {
		mv_dir_close(it);
		return rc;
	}
	*out = it;
	return 0;
}

int mv_dir_next(struct mv_dir_iter *it, const char **name, int *err_no)
{
	*err_no = it->err_no;
	if (it->err)
		return it->err;
	if (it->pos == it->n && it->more) {
		if (it->n) {
			/* names are at most 255 bytes (NAME_MAX) */
			size_t l = strlen(it->v[it->n - 1]);
			if (l >= sizeof(it->last)) {
				it->err_no = *err_no = ENAMETOOLONG;
				return it->err = MV_ERR_IO;
			}
			memcpy(it->last, it->v[it->n - 1], l + 1);
			it->have_last = 1;
		}
		int rc = read_pass(it, err_no);
		if (rc) {
			drop_batch(it);
			it->err_no = *err_no;
			return it->err = rc;
		}
	}
	if (it->pos == it->n)
		return 0;
	*name = it->v[it->pos++];
	return 1;
}

unsigned mv_dir_passes(const struct mv_dir_iter *it)
{
	return it->passes;
}

void mv_dir_close(struct mv_dir_iter *it)
{
	if (!it)
		return;
	if (it->v)
		drop_batch(it);
	free(it->v);
	free(it->path);
	free(it);
}
