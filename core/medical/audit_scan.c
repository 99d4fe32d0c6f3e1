/* `audit --scan PATH`: unencrypted DICOM files under a path. */
#define _GNU_SOURCE /* O_NOATIME */
#include "core/medical/audit.h"
#include "core/util/grow.h"
#include "core/util/sysfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "formats/dicom.h"

#define ECRYPTFS_MAGIC   0xf15f
#define SCAN_MAX_PENDING (16u << 20) /* directories waiting to be read */
#define DM_MAX_DEPTH     4           /* device-mapper stacking followed */

/* ---- distinct patients and studies: 16-byte digests in a hash set ------- */

struct keyset {
	uint8_t (*slot)[16];
	uint8_t *used;
	size_t cap, n;
	int capped;
};

static void keyset_free(struct keyset *s)
{
	free(s->slot);
	free(s->used);
}

static int keyset_grow(struct keyset *s)
{
	size_t cap = s->cap ? s->cap * 2 : 1024;
	uint8_t(*slot)[16] = calloc(cap, 16);
	uint8_t *used = calloc(cap, 1);

	if (!slot || !used) {
		free(slot);
		free(used);
		return MV_ERR_NOMEM;
	}
	for (size_t i = 0; i < s->cap; i++) {
		uint64_t h;
		if (!s->used[i])
			continue;
		memcpy(&h, s->slot[i], 8);
		size_t j = (size_t)h & (cap - 1);
		while (used[j])
			j = (j + 1) & (cap - 1);
		memcpy(slot[j], s->slot[i], 16);
		used[j] = 1;
	}
	keyset_free(s);
	s->slot = slot;
	s->used = used;
	s->cap = cap;
	return 0;
}

/* Adds the digest of tag || v. Returns 0 or MV_ERR_NOMEM. */
static int keyset_add(struct keyset *s, char tag, const char *v)
{
	crypto_generichash_state st;
	uint8_t d[16];
	uint64_t h;
	size_t j;

	if (s->n >= MV_AUDIT_SCAN_MAX_KEYS) {
		s->capped = 1;
		return 0;
	}
	if ((s->n + 1) * 2 > s->cap && keyset_grow(s) != 0)
		return MV_ERR_NOMEM;
	crypto_generichash_init(&st, NULL, 0, sizeof(d));
	crypto_generichash_update(&st, (const uint8_t *)&tag, 1);
	crypto_generichash_update(&st, (const uint8_t *)v, strlen(v));
	crypto_generichash_final(&st, d, sizeof(d));
	memcpy(&h, d, 8);
	for (j = (size_t)h & (s->cap - 1); s->used[j]; j = (j + 1) & (s->cap - 1))
		if (memcmp(s->slot[j], d, 16) == 0)
			return 0;
	memcpy(s->slot[j], d, 16);
	s->used[j] = 1;
	s->n++;
	return 0;
}

/* ---- volume encryption -------------------------------------------------- */

/* 1 when the block device whose sysfs directory is dir is a dm-crypt
 * mapping, or a device-mapper device (LVM) all of whose underlying devices
 * are. */
static int dm_crypt(const char *dir, int depth)
{
	char path[512], uuid[160];
	struct dirent *e;
	DIR *d;
	int any = 0, all = 1;

	snprintf(path, sizeof(path), "%s/dm/uuid", dir);
	if (mv_sysfs_read(AT_FDCWD, path, uuid, sizeof(uuid)) <= 0)
		return 0; /* not a device-mapper device */
	if (strncmp(uuid, "CRYPT-", 6) == 0)
		return 1;
	if (depth >= DM_MAX_DEPTH)
		return 0;
	snprintf(path, sizeof(path), "%s/slaves", dir);
	d = opendir(path);
	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL && all) {
		char sub[512];
		if (e->d_name[0] == '.' || strlen(e->d_name) > 200)
			continue;
		snprintf(sub, sizeof(sub), "/sys/class/block/%s", e->d_name);
		any = 1;
		all = dm_crypt(sub, depth + 1);
	}
	closedir(d);
	return any && all;
}

static const char *volume_encryption(const char *path)
{
	struct statfs sf;
	struct stat st;
	char dir[64];

	if (statfs(path, &sf) == 0 && (unsigned long)sf.f_type == ECRYPTFS_MAGIC)
		return "eCryptfs";
	if (stat(path, &st) != 0 || major(st.st_dev) == 0)
		return NULL; /* btrfs, network and memory file systems: not known */
	snprintf(dir, sizeof(dir), "/sys/dev/block/%u:%u", (unsigned)major(st.st_dev),
	         (unsigned)minor(st.st_dev));
	return dm_crypt(dir, 0) ? "dm-crypt" : NULL;
}

/* ---- the walk ----------------------------------------------------------- */

struct scan {
	const struct mv_events *ev;
	struct mv_audit_scan_result *res;
	struct keyset patients, studies;
	char **pending; /* directories to read */
	size_t npending, cap;
	uint8_t *head;
	struct mv_dicom_info info;
	struct timespec last_progress;
};

static int push_dir(struct scan *s, char *path)
{
	if (s->npending == SCAN_MAX_PENDING) {
		free(path);
		return MV_ERR_LIMIT;
	}
	if (mv_grow(s->pending, s->cap, s->npending + 1)) {
		free(path);
		return MV_ERR_NOMEM;
	}
	s->pending[s->npending++] = path;
	return 0;
}

static char *join(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name), n;
	char *p;

	if (mv_size_add(a, b, &n) != 0 || mv_size_add(n, 2, &n) != 0)
		return NULL;
	p = malloc(n);
	if (p)
		snprintf(p, n, "%s%s%s", dir, a > 0 && dir[a - 1] == '/' ? "" : "/", name);
	return p;
}

static void unreadable(struct scan *s, const char *path, int e)
{
	char ebuf[128];

	s->res->unreadable++;
	if (s->ev && s->ev->warn)
		s->ev->warn(s->ev->arg, path, mv_errno_str(e, ebuf, sizeof(ebuf)));
}

static void progress(struct scan *s, const char *path)
{
	struct timespec now;
	struct mv_progress p;

	if (!s->ev || !s->ev->progress)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((now.tv_sec - s->last_progress.tv_sec) * 1000 +
	        (now.tv_nsec - s->last_progress.tv_nsec) / 1000000 <
	    200)
		return;
	s->last_progress = now;
	memset(&p, 0, sizeof(p));
	p.files_done = s->res->files;
	p.bytes_done = s->res->bytes;
	p.current = path;
	s->ev->progress(s->ev->arg, &p);
}

/* Reads the head of the file opened at fd and counts it. */
static int examine(struct scan *s, int fd, const struct stat *st)
{
	size_t have = 0;
	int r;

	while (have < MV_AUDIT_SCAN_HEAD) {
		ssize_t n = pread(fd, s->head + have, MV_AUDIT_SCAN_HEAD - have, (off_t)have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return MV_ERR_IO;
		if (n == 0)
			break;
		have += (size_t)n;
	}
	s->res->files++;
	r = mv_dicom_parse(s->head, have, (uint64_t)st->st_size, &s->info, NULL);
	if (r < 0)
		return r;
	if (r == 0)
		return 0;
	if (s->info.flags & MV_DICOM_F_DICOMDIR) {
		s->res->dicomdirs++;
		return 0;
	}
	s->res->instances++;
	s->res->bytes += (uint64_t)st->st_size;
	if (s->info.patient_id[0])
		r = keyset_add(&s->patients, 'I', s->info.patient_id);
	else if (s->info.patient_name[0])
		r = keyset_add(&s->patients, 'N', s->info.patient_name);
	if (r >= 0 && s->info.study_uid[0])
		r = keyset_add(&s->studies, 'S', s->info.study_uid);
	return r < 0 ? r : 0;
}

/* Opens name in the directory dfd, following a link only when `follow`
 * (the path the user named); NOATIME when the owner allows it. */
static int open_file(int dfd, const char *name, int follow)
{
	int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (follow ? 0 : O_NOFOLLOW);
	int fd = openat(dfd, name, flags | O_NOATIME);

	if (fd < 0 && errno == EPERM)
		fd = openat(dfd, name, flags);
	return fd;
}

static int scan_file(struct scan *s, int dfd, const char *name, const char *path, int follow)
{
	struct stat st;
	int fd = open_file(dfd, name, follow), rc;

	if (fd < 0) {
		unreadable(s, path, errno);
		return 0;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd); /* replaced by something else since lstat */
		return 0;
	}
	rc = examine(s, fd, &st);
	if (rc == MV_ERR_IO)
		unreadable(s, path, errno);
	close(fd);
	progress(s, path);
	return rc == MV_ERR_IO ? 0 : rc;
}

/* Reads one directory: counts its files, queues its subdirectories. */
static int scan_dir(struct scan *s, const char *path, int follow)
{
	int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW);
	int dfd = open(path, flags | O_NOATIME), rc = 0;
	struct dirent *e;
	DIR *d;

	if (dfd < 0 && errno == EPERM)
		dfd = open(path, flags);
	if (dfd < 0 || !(d = fdopendir(dfd))) {
		unreadable(s, path, errno);
		if (dfd >= 0)
			close(dfd);
		return 0;
	}
	while (rc == 0 && (e = readdir(d)) != NULL) {
		struct stat st;
		char *child;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (s->ev && s->ev->cancel && *s->ev->cancel)
			rc = MV_ERR_INTERRUPTED;
		else if (!(child = join(path, e->d_name)))
			rc = MV_ERR_NOMEM;
		else if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			unreadable(s, child, errno);
			free(child);
		} else if (S_ISDIR(st.st_mode)) {
			rc = push_dir(s, child);
		} else {
			if (S_ISREG(st.st_mode))
				rc = scan_file(s, dirfd(d), e->d_name, child, 0);
			free(child);
		}
	}
	closedir(d);
	return rc;
}

/* ---- the finding -------------------------------------------------------- */

static void fmt_bytes(uint64_t n, char *out, size_t cap)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
	double v = (double)n / 1024;
	size_t u = 0;

	if (n < 1024) {
		snprintf(out, cap, "%llu bytes", (unsigned long long)n);
		return;
	}
	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	snprintf(out, cap, "%.1f %s", v, units[u]);
}

/* PATH: the folder of the finding (its subject). */
static const char remedy_plain[] =
    "back them up into an encrypted medvault repository ('medvault backup -r REPO PATH'), "
    "read the repository's copies back ('medvault scan -r REPO --verify PATH'), then remove "
    "the plain copies with 'medvault wipe -r REPO --snapshot latest PATH' (it refuses every "
    "file the snapshot does not provably hold intact), or erase the whole disk with its "
    "secure-erase function; a copy that must stay belongs on an encrypted volume (LUKS, "
    "VeraCrypt, BitLocker)";
static const char remedy_encrypted[] =
    "keep them readable only by the users who need them, back them up into an encrypted "
    "medvault repository ('medvault backup'), and delete copies no longer needed";

static int scan_finding(struct mv_audit_report *r, const char *path,
                        const struct mv_audit_scan_result *res)
{
	char size[48], patients[64], extra[160];

	snprintf(extra, sizeof(extra), "%s", "");
	if (res->unreadable > 0)
		snprintf(extra, sizeof(extra), "; %llu files or directories could not be read",
		         (unsigned long long)res->unreadable);
	if (res->instances == 0)
		return mv_audit_add(
		    r, MV_AUDIT_SCAN, res->unreadable ? MV_AUDIT_WARN : MV_AUDIT_OK, path,
		    res->unreadable ? "run the audit as a user who can read them" : NULL,
		    "no DICOM file found (%llu files examined)%s", (unsigned long long)res->files,
		    extra);
	fmt_bytes(res->bytes, size, sizeof(size));
	if (res->patients == 0)
		snprintf(patients, sizeof(patients), "of unidentified patients");
	else
		snprintf(patients, sizeof(patients), "of %s%llu patient%s",
		         res->capped ? "at least " : "", (unsigned long long)res->patients,
		         res->patients == 1 ? "" : "s");
	if (res->encryption)
		return mv_audit_add(
		    r, MV_AUDIT_SCAN, MV_AUDIT_WARN, path, remedy_encrypted,
		    "%llu DICOM files %s (%s%llu studies, %s) stored under %s on "
		    "an encrypted volume (%s): safe when the machine is off, readable "
		    "by its users and programs while it runs%s",
		    (unsigned long long)res->instances, patients, res->capped ? "at least " : "",
		    (unsigned long long)res->studies, size, path, res->encryption, extra);
	return mv_audit_add(r, MV_AUDIT_SCAN, MV_AUDIT_FAIL, path, remedy_plain,
	                    "%llu DICOM files %s (%s%llu studies, %s) stored unencrypted under "
	                    "%s (no dm-crypt/LUKS or eCryptfs volume found): whoever gets the disk "
	                    "or a copy of it can read them%s",
	                    (unsigned long long)res->instances, patients,
	                    res->capped ? "at least " : "", (unsigned long long)res->studies, size,
	                    path, extra);
}

int mv_audit_scan(struct mv_audit_report *r, const char *path, const struct mv_events *ev,
                  struct mv_audit_scan_result *res, struct mv_error *err)
{
	struct mv_audit_scan_result local;
	struct scan s;
	struct stat st;
	char ebuf[128];
	int rc = 0;

	if (!res)
		res = &local;
	memset(res, 0, sizeof(*res));
	memset(&s, 0, sizeof(s));
	s.ev = ev;
	s.res = res;
	if (stat(path, &st) != 0) {
		rc = mv_audit_add(r, MV_AUDIT_SCAN, MV_AUDIT_WARN, path, NULL, "cannot scan: %s",
		                  mv_errno_str(errno, ebuf, sizeof(ebuf)));
		goto out;
	}
	s.head = malloc(MV_AUDIT_SCAN_HEAD);
	if (!s.head) {
		rc = MV_ERR_NOMEM;
		goto out;
	}
	res->encryption = volume_encryption(path);
	if (S_ISREG(st.st_mode)) {
		rc = scan_file(&s, AT_FDCWD, path, path, 1);
	} else if (S_ISDIR(st.st_mode)) {
		rc = scan_dir(&s, path, 1);
		while (rc == 0 && s.npending > 0) {
			char *dir = s.pending[--s.npending];
			rc = scan_dir(&s, dir, 0);
			free(dir);
		}
	}
	res->patients = s.patients.n;
	res->studies = s.studies.n;
	res->capped = s.patients.capped || s.studies.capped;
	if (rc == 0)
		rc = scan_finding(r, path, res);
out:
	while (s.npending > 0)
		free(s.pending[--s.npending]);
	free(s.pending);
	free(s.head);
	keyset_free(&s.patients);
	keyset_free(&s.studies);
	if (rc != 0)
		return mv_error_set(err, rc, 0, "%s",
		                    rc == MV_ERR_INTERRUPTED ? "interrupted" : mv_strerror(rc));
	return 0;
}
