#include "core/ops/totals.h"

#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util/dirlist.h"

#define MAX_DEPTH 512 /* as backup's walk */

struct mv_totals {
	pthread_t thread;
	atomic_int stop;
	volatile sig_atomic_t *cancel;
	char *const *paths;
	size_t npaths;
	const char *const *excludes;
	size_t nexcludes;

	pthread_mutex_t mu; /* guards done, files_total, bytes_total */
	int done;
	uint64_t files_total, bytes_total;

	/* the walking thread's own */
	uint64_t files, bytes;
	char path[PATH_MAX + 256];
};

int mv_excluded(const char *const *pats, size_t npats, const char *name, const char *path)
{
	for (size_t i = 0; i < npats; i++) {
		const char *pat = pats[i];
		if (fnmatch(pat, name, 0) == 0 || fnmatch(pat, path, FNM_PATHNAME) == 0 ||
		    fnmatch(pat, path, 0) == 0)
			return 1;
	}
	return 0;
}

static int stopped(struct mv_totals *t)
{
	return atomic_load(&t->stop) || (t->cancel && *t->cancel);
}

static int count_dir(struct mv_totals *t, size_t plen, int depth);

/* Counts the entry at t->path (length plen). Returns 0 or a negative code
 * that ends the walk (stopped, out of memory). */
static int count_entry(struct mv_totals *t, size_t plen, int depth)
{
	struct stat st;

	if (lstat(t->path, &st) < 0)
		return 0; /* vanished or unreadable: the backup reports it */
	if (S_ISREG(st.st_mode)) {
		t->files++;
		t->bytes += (uint64_t)st.st_size;
		return 0;
	}
	if (S_ISDIR(st.st_mode) && depth < MAX_DEPTH)
		return count_dir(t, plen, depth + 1);
	return 0;
}

static int count_dir(struct mv_totals *t, size_t plen, int depth)
{
	struct mv_dir_iter *it = NULL;
	const char *name;
	int rc, e;

	rc = mv_dir_open(t->path, MV_DIR_BATCH, &it, &e);
	if (rc)
		return rc == MV_ERR_NOMEM ? rc : 0;
	while ((rc = mv_dir_next(it, &name, &e)) == 1) {
		size_t l = strlen(name);
		if (stopped(t)) {
			rc = MV_ERR_INTERRUPTED;
			break;
		}
		if (plen + 1 + l >= sizeof(t->path))
			continue;
		t->path[plen] = '/';
		memcpy(t->path + plen + 1, name, l + 1);
		if (mv_excluded(t->excludes, t->nexcludes, name, t->path))
			continue;
		if ((rc = count_entry(t, plen + 1 + l, depth)))
			break;
	}
	t->path[plen] = '\0';
	mv_dir_close(it);
	return rc == MV_ERR_IO ? 0 : rc; /* the names read so far are counted */
}

static void *run(void *arg)
{
	struct mv_totals *t = arg;
	int rc = 0;

	for (size_t i = 0; i < t->npaths && !rc; i++) {
		size_t l = strlen(t->paths[i]);
		if (l >= sizeof(t->path))
			continue;
		memcpy(t->path, t->paths[i], l + 1);
		rc = count_entry(t, l, 0);
	}
	if (!rc && !stopped(t)) {
		pthread_mutex_lock(&t->mu);
		t->done = 1;
		t->files_total = t->files;
		t->bytes_total = t->bytes;
		pthread_mutex_unlock(&t->mu);
	}
	return NULL;
}

int mv_totals_start(char *const *paths, size_t n, const char *const *excludes, size_t nexcludes,
                    volatile sig_atomic_t *cancel, struct mv_totals **out)
{
	struct mv_totals *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (!t)
		return MV_ERR_NOMEM;
	atomic_init(&t->stop, 0);
	t->cancel = cancel;
	t->paths = paths;
	t->npaths = n;
	t->excludes = excludes;
	t->nexcludes = nexcludes;
	pthread_mutex_init(&t->mu, NULL);
	if (pthread_create(&t->thread, NULL, run, t) != 0) {
		pthread_mutex_destroy(&t->mu);
		free(t);
		return MV_ERR_IO;
	}
	*out = t;
	return 0;
}

int mv_totals_get(struct mv_totals *t, uint64_t *files, uint64_t *bytes)
{
	int done = 0;

	*files = 0;
	*bytes = 0;
	if (!t)
		return 0;
	pthread_mutex_lock(&t->mu);
	if (t->done) {
		*files = t->files_total;
		*bytes = t->bytes_total;
		done = 1;
	}
	pthread_mutex_unlock(&t->mu);
	return done;
}

void mv_totals_stop(struct mv_totals *t)
{
	if (!t)
		return;
	atomic_store(&t->stop, 1);
	pthread_join(t->thread, NULL);
	pthread_mutex_destroy(&t->mu);
	free(t);
}
