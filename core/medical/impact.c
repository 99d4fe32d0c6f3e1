#include "core/medical/impact.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "core/medical/catalog.h"
#include "core/util/sysfs.h"

/* path is subpath or lies below it (subpath of length sl, no trailing '/') */
static int below(const char *path, const char *subpath, size_t sl)
{
	return strncmp(path, subpath, sl) == 0 && (path[sl] == '\0' || path[sl] == '/');
}

int mv_impact_snapshot(struct mv_repo *r, struct mv_blob_ctx *ctx, const struct mv_snapshot *s,
                       const char *subpath, struct mv_inventory *inv, const struct mv_events *ev,
                       struct mv_impact_result *res, struct mv_error *err)
{
	struct mv_catalog_cursor *c = NULL;
	struct mv_catalog_entry e;
	char *last_archive = NULL;
	size_t sl = subpath ? strlen(subpath) : 0;
	int rc;

	memset(res, 0, sizeof(*res));
	rc = mv_catalog_cursor_open(r, ctx, s, &c, err);
	if (rc)
		return rc;
	while ((rc = mv_catalog_cursor_next(c, &e, err)) == 1) {
		if (ev && ev->cancel && *ev->cancel) {
			rc = mv_error_set(err, MV_ERR_INTERRUPTED, 0, "interrupted");
			break;
		}
		if (sl && !below(e.path, subpath, sl)) {
			/* walk order: the entries below subpath are contiguous */
			if (res->found)
				break;
			continue;
		}
		res->found = 1;
		res->entries++;
		if ((rc = mv_inventory_add(inv, e.info, e.size, e.member != NULL, err)) != 0)
			break;
		if (e.member && (!last_archive || strcmp(last_archive, e.path) != 0)) {
			free(last_archive);
			if (!(last_archive = strdup(e.path))) {
				rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
				break;
			}
			mv_inventory_add_archive(inv, 1, 0);
		}
	}
	if (rc > 0)
		rc = 0;
	free(last_archive);
	mv_catalog_cursor_free(c);
	return rc;
}

/* ---- dm-crypt detection ------------------------------------------------------ */

#define STACK_MAX 8

/* 1: dm-crypt, or stacked on one; 0: not; -1: no such block device. */
static int dev_crypt(unsigned maj, unsigned min, int depth)
{
	char p[512], buf[256];
	struct stat st;

	snprintf(p, sizeof(p), "/sys/dev/block/%u:%u", maj, min);
	if (stat(p, &st) < 0)
		return -1;
	snprintf(p, sizeof(p), "/sys/dev/block/%u:%u/dm/uuid", maj, min);
	if (mv_sysfs_read(AT_FDCWD, p, buf, sizeof(buf)) >= 0 && strncmp(buf, "CRYPT-", 6) == 0)
		return 1;
	if (depth >= STACK_MAX)
		return 0;
	/* LVM or a partition on dm-crypt: the devices below ("slaves") */
	snprintf(p, sizeof(p), "/sys/dev/block/%u:%u/slaves", maj, min);
	DIR *d = opendir(p);
	if (!d)
		return 0;
	struct dirent *de;
	int found = 0;
	while (!found && (de = readdir(d)) != NULL) {
		unsigned smaj, smin;
		if (de->d_name[0] == '.')
			continue;
		if (strlen(de->d_name) > 64)
			continue;
		snprintf(p, sizeof(p), "/sys/class/block/%s/dev", de->d_name);
		if (mv_sysfs_read(AT_FDCWD, p, buf, sizeof(buf)) < 0 ||
		    sscanf(buf, "%u:%u", &smaj, &smin) != 2)
			continue;
		found = dev_crypt(smaj, smin, depth + 1) == 1;
	}
	closedir(d);
	return found;
}

struct source_find {
	unsigned maj, min;
	char *out;
	size_t n;
};

static int source_match(void *arg, const struct mv_mountinfo *e)
{
	struct source_find *f = arg;

	if (e->major != f->maj || e->minor != f->min)
		return 0;
	snprintf(f->out, f->n, "%s", e->source);
	return 1;
}

/* The source of the mount whose device is maj:min, from mountinfo
 * ("36 35 0:44 / /home rw - btrfs /dev/mapper/home rw"). */
static int mount_source(unsigned maj, unsigned min, char *out, size_t n)
{
	struct source_find f = {maj, min, out, n};

	return mv_mountinfo_each(source_match, &f, NULL) == 1 ? 0 : -1;
}

enum mv_volume_crypt mv_volume_encryption(const char *path, char *device, size_t devlen)
{
	struct stat st, ds;
	char src[1024];

	if (device && devlen)
		device[0] = '\0';
	if (stat(path, &st) < 0)
		return MV_VOLUME_UNKNOWN;
	unsigned maj = major(st.st_dev), min = minor(st.st_dev);
	int have_src = mount_source(maj, min, src, sizeof(src)) == 0;
	if (device && devlen) {
		if (have_src)
			snprintf(device, devlen, "%s", src);
		else
			snprintf(device, devlen, "%u:%u", maj, min);
	}
	int rc = dev_crypt(maj, min, 0);
	if (rc >= 0)
		return rc ? MV_VOLUME_DMCRYPT : MV_VOLUME_PLAIN;
	/* an anonymous device (btrfs, overlay, network): try the mount's source */
	if (have_src && src[0] == '/' && stat(src, &ds) == 0 && S_ISBLK(ds.st_mode)) {
		rc = dev_crypt(major(ds.st_rdev), minor(ds.st_rdev), 0);
		if (rc >= 0)
			return rc ? MV_VOLUME_DMCRYPT : MV_VOLUME_PLAIN;
	}
	return MV_VOLUME_UNKNOWN;
}
