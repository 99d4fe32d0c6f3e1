#define _GNU_SOURCE /* statx, AT_EMPTY_PATH */
#include "core/wipe/medium.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <scsi/sg.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/util/err.h"
#include "core/util/sysfs.h"
#include "formats/ata.h"

static const char remedy_file[] =
    "remedy: overwrite the whole device (medvault wipe --device), or use the device's own erase "
    "for flash (ATA/NVMe sanitize, blkdiscard --secure)";
static const char remedy_device[] = "remedy: the device's own erase (ATA/NVMe sanitize, blkdiscard "
                                    "--secure), or physical destruction";

const char *mv_medium_remedy(int device_mode)
{
	return device_mode ? remedy_device : remedy_file;
}

/* ---- notes ------------------------------------------------------------------ */

#define SEP "; "

/* Copies src into dst[cap], cut to fit, NUL-terminated. */
static void copy(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	if (cap == 0)
		return;
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}

/* Removes the remedy ending the notes, if any (a finding is added before it). */
static void strip_remedy(struct mv_wipe_medium *m)
{
	for (int i = 0; i < 2; i++) {
		const char *r = mv_medium_remedy(i);
		size_t n = strlen(m->notes), rl = strlen(r);
		if (n >= rl && strcmp(m->notes + n - rl, r) == 0) {
			n -= rl;
			if (n >= strlen(SEP) &&
			    memcmp(m->notes + n - strlen(SEP), SEP, strlen(SEP)) == 0)
				n -= strlen(SEP);
			m->notes[n] = '\0';
			return;
		}
	}
}

/* Appends a finding to the notes (cut with "..." when the room left, minus
 * that of a remedy, is short; skipped when already there); unreliable
 * marks the medium. */
static void note(struct mv_wipe_medium *m, int unreliable, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note(struct mv_wipe_medium *m, int unreliable, const char *fmt, ...)
{
	char text[512];
	va_list ap;
	size_t len, room, reserve = sizeof(remedy_file) + sizeof(SEP);

	if (unreliable)
		m->unreliable = 1;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (!text[0])
		return;
	strip_remedy(m);
	if (strstr(m->notes, text))
		return;
	len = strlen(m->notes);
	if (len + reserve + strlen(SEP) + 4 >= sizeof(m->notes))
		return; /* full: the findings before say enough to refuse */
	room = sizeof(m->notes) - reserve - len;
	snprintf(m->notes + len, room, "%s%s", len ? SEP : "", text);
	if (strlen(text) + (len ? strlen(SEP) : 0) >= room)
		memcpy(m->notes + sizeof(m->notes) - reserve - 4, "...", 4);
}

/* Ends the notes with the remedy when the medium is unreliable. */
static void finish(struct mv_wipe_medium *m, int device_mode)
{
	size_t len;

	strip_remedy(m);
	if (!m->unreliable)
		return;
	len = strlen(m->notes);
	snprintf(m->notes + len, sizeof(m->notes) - len, "%s%s", len ? SEP : "",
	         mv_medium_remedy(device_mode));
}

/* Adds sub's findings to m, each prefixed, and its make, model and serial
 * where m has none. */
static void merge(struct mv_wipe_medium *m, const struct mv_wipe_medium *sub, const char *prefix)
{
	char buf[sizeof(sub->notes)];
	char *p = buf;

	copy(buf, sizeof(buf), sub->notes);
	while (p && *p) {
		char *end = strstr(p, SEP);
		if (end)
			*end = '\0';
		note(m, 0, "%s%s", prefix, p);
		p = end ? end + strlen(SEP) : NULL;
	}
	if (sub->unreliable)
		m->unreliable = 1;
	if (!m->vendor[0] && !m->model[0] && !m->serial[0]) {
		copy(m->vendor, sizeof(m->vendor), sub->vendor);
		copy(m->model, sizeof(m->model), sub->model);
		copy(m->serial, sizeof(m->serial), sub->serial);
	}
}

/* ---- filesystems --------------------------------------------------------------- */

static const char why_cow[] = "copy-on-write filesystem: an overwrite goes to new blocks and the "
                              "old ones stay until reused, and in any snapshot";
static const char why_log[] = "log-structured filesystem: an overwrite is appended elsewhere and "
                              "the old blocks stay until cleaned";
static const char why_fscrypt[] =
    "encrypted by the filesystem (fscrypt): the overwrite is encrypted too and cannot be checked "
    "on the medium (removing the key is the remedy)";
static const char why_net[] = "network filesystem: the server's storage (its snapshots, "
                              "copy-on-write, caches) decides what an overwrite reaches";

struct fs_info {
	unsigned long magic;
	const char *name;
	const char *kind; /* the medium's kind when no block device is below */
	const char *why;  /* NULL: overwriting in place is what it does */
};

static const struct fs_info fs_table[] = {
    {0x9123683EUL, "btrfs", NULL, why_cow},
    {0x2fc12fc1UL, "zfs", NULL, why_cow},
    {0xca451a4eUL, "bcachefs", NULL, why_cow},
    {0xF2F52010UL, "f2fs", NULL, why_log},
    {0x3434UL, "nilfs2", NULL, why_log},
    {0x24051905UL, "ubifs", "solid-state / flash", why_log},
    {0x72b6UL, "jffs2", "solid-state / flash", why_log},
    {0x6969UL, "nfs", "network filesystem", why_net},
    {0xFF534D42UL, "cifs", "network filesystem", why_net},
    {0xFE534D42UL, "smb3", "network filesystem", why_net},
    {0x517BUL, "smbfs", "network filesystem", why_net},
    {0x01021997UL, "9p", "network filesystem", why_net},
    {0x00c36400UL, "ceph", "network filesystem", why_net},
    {0x5346414FUL, "afs", "network filesystem", why_net},
    {0x6B414653UL, "afs", "network filesystem", why_net},
    {0x73757245UL, "coda", "network filesystem", why_net},
    {0x65735546UL, "fuse", "FUSE filesystem",
     "FUSE filesystem: a user-space program decides where the bytes go"},
    {0x01021994UL, "tmpfs", "memory",
     "memory filesystem: the data is in RAM, and swap may hold copies of it"},
    {0x858458f6UL, "ramfs", "memory",
     "memory filesystem: the data is in RAM, and swap may hold copies of it"},
    {0x794c7630UL, "overlay", "stacked filesystem",
     "overlay filesystem: writing a file of a lower layer copies it up, and the lower layer keeps "
     "the original"},
    {0xf15fUL, "ecryptfs", "stacked filesystem",
     "stacked encrypting filesystem (eCryptfs): the filesystem below it is not visible"},
    {0xEF53UL, "ext4", NULL, NULL},
    {0x58465342UL, "xfs", NULL, NULL},
    {0x4d44UL, "vfat", NULL, NULL},
    {0x2011BAB0UL, "exfat", NULL, NULL},
    {0x5346544eUL, "ntfs", NULL, NULL},
    {0x7366746eUL, "ntfs3", NULL, NULL},
    {0x52654973UL, "reiserfs", NULL, NULL},
    {0x3153464aUL, "jfs", NULL, NULL},
    {0x482bUL, "hfsplus", NULL, NULL},
    {0x15013346UL, "udf", NULL, NULL},
};

static const struct fs_info *fs_lookup(unsigned long magic)
{
	for (size_t i = 0; i < sizeof(fs_table) / sizeof(fs_table[0]); i++)
		if (fs_table[i].magic == magic)
			return &fs_table[i];
	return NULL;
}

/* The mount holding a file: found by mount id (statx) or st_dev. */
struct mount_find {
	unsigned long mnt_id; /* 0: match by device */
	unsigned maj, min;
	int found;
	char fstype[32];
	char source[256];
	char super_opts[512];
};

static int mount_match(void *arg, const struct mv_mountinfo *e)
{
	struct mount_find *f = arg;

	if (f->mnt_id ? e->mount_id != f->mnt_id : (e->major != f->maj || e->minor != f->min))
		return 0;
	f->found = 1;
	copy(f->fstype, sizeof(f->fstype), e->fstype);
	copy(f->source, sizeof(f->source), e->source);
	copy(f->super_opts, sizeof(f->super_opts), e->super_opts);
	return 1;
}

static void find_mount(int fd, const struct stat *st, struct mount_find *f)
{
	struct statx stx;

	memset(f, 0, sizeof(*f));
	f->maj = major(st->st_dev);
	f->min = minor(st->st_dev);
	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) == 0 && (stx.stx_mask & STATX_MNT_ID))
		f->mnt_id = (unsigned long)stx.stx_mnt_id;
	if (mv_mountinfo_each(mount_match, f, NULL) <= 0 && f->mnt_id) {
		f->mnt_id = 0; /* mount ids of another namespace: try the device */
		mv_mountinfo_each(mount_match, f, NULL);
	}
}

/* ---- block devices -------------------------------------------------------------- */

static void probe_path(const char *path, int depth, struct mv_wipe_medium *m);

static int has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* The kernel name and the sysfs path of a block device directory. */
static int dev_names(int sysfd, const char *at, char *name, size_t ncap, char *real, size_t rcap)
{
	char link[1024];
	ssize_t n = readlinkat(sysfd, at, link, sizeof(link) - 1);
	const char *slash;

	if (n < 0)
		return -1;
	link[n] = '\0';
	slash = strrchr(link, '/');
	copy(name, ncap, slash ? slash + 1 : link);
	copy(real, rcap, link);
	return 0;
}

/* Reads a serial number: the NVMe/virtio/MMC "serial" files, SCSI VPD page
 * 0x80 (unit serial number: 4 header bytes), or the WWID. */
static void read_serial(int dfd, char *out, size_t cap)
{
	unsigned char vpd[132];
	int fd;

	if (mv_sysfs_read(dfd, "device/serial", out, cap) > 0 ||
	    mv_sysfs_read(dfd, "serial", out, cap) > 0)
		return;
	fd = openat(dfd, "device/vpd_pg80", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, vpd, sizeof(vpd));
		close(fd);
		if (n > 4 && vpd[1] == 0x80) {
			size_t len = vpd[3], i, o = 0;
			if (len > (size_t)n - 4)
				len = (size_t)n - 4;
			for (i = 4; i < 4 + len && o + 1 < cap; i++) {
				if (vpd[i] == ' ' && o == 0)
					continue; /* leading padding */
				out[o++] = vpd[i] >= 0x20 && vpd[i] <= 0x7e ? (char)vpd[i] : '?';
			}
			while (o > 0 && out[o - 1] == ' ')
				o--;
			out[o] = '\0';
			if (o)
				return;
		}
	}
	mv_sysfs_read(dfd, "device/wwid", out, cap);
}

static int virtual_model(const char *s)
{
	static const char *const models[] = {"QEMU", "VMware", "VMWARE", "Virtual", "VIRTUAL",
	                                     "VBOX", "Msft",   "Xen",    "XENVBD"};
	for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++)
		if (strstr(s, models[i]))
			return 1;
	return 0;
}

static void describe_disk(int dfd, const char *name, const char *real, int depth, int device_mode,
                          struct mv_wipe_medium *m);

/* The devices below a dm or md device (slaves/), each described and merged
 * into m. */
static void follow_slaves(int dfd, int depth, int device_mode, struct mv_wipe_medium *m)
{
	int sfd = openat(dfd, "slaves", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = sfd >= 0 ? fdopendir(sfd) : NULL;
	struct dirent *e;
	int n = 0;

	if (!d) {
		if (sfd >= 0)
			close(sfd);
		note(m, 1, "the devices below %s are not listed by the kernel", m->device);
		return;
	}
	while ((e = readdir(d)) != NULL && n < 16) {
		struct mv_wipe_medium sub;
		char name[64], real[1024], prefix[96];
		int cfd;

		if (e->d_name[0] == '.')
			continue;
		cfd = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cfd < 0 ||
		    dev_names(dirfd(d), e->d_name, name, sizeof(name), real, sizeof(real))) {
			if (cfd >= 0)
				close(cfd);
			continue;
		}
		memset(&sub, 0, sizeof(sub));
		/* a partition below: describe its disk */
		int pfd = cfd;
		if (faccessat(cfd, "partition", F_OK, 0) == 0) {
			pfd = openat(cfd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			close(cfd);
			char *slash = strrchr(real, '/');
			if (slash)
				*slash = '\0';
			slash = strrchr(real, '/');
			copy(name, sizeof(name), slash ? slash + 1 : real);
		}
		if (pfd < 0)
			continue;
		describe_disk(pfd, name, real, depth + 1, device_mode, &sub);
		close(pfd);
		n++;
		snprintf(prefix, sizeof(prefix), "below %s: ", m->device);
		note(m, 0, "below %s: %s (%s)", m->device, sub.device, sub.kind);
		merge(m, &sub, prefix);
	}
	closedir(d);
	if (n == 0)
		note(m, 1, "the devices below %s are not listed by the kernel", m->device);
}

/* A dm or md volume (its finding noted): kind, and the devices below it. */
static void describe_stack(int dfd, int depth, int device_mode, const char *what,
                           struct mv_wipe_medium *m)
{
	copy(m->kind, sizeof(m->kind), "RAID / device-mapper");
	if (device_mode)
		snprintf(m->hidden_area, sizeof(m->hidden_area),
		         "not applicable: %s (the disks below are not wiped whole)", what);
	follow_slaves(dfd, depth, device_mode, m);
}

static void describe_loop(int dfd, int depth, int device_mode, struct mv_wipe_medium *m)
{
	char backing[1024];
	struct mv_wipe_medium sub;
	size_t n;

	copy(m->kind, sizeof(m->kind), "file-backed loop device");
	if (device_mode)
		copy(m->hidden_area, sizeof(m->hidden_area), "none (loop device)");
	if (mv_sysfs_read(dfd, "loop/backing_file", backing, sizeof(backing)) <= 0) {
		note(m, 1, "loop device %s: its image file is not known", m->device);
		return;
	}
	note(m, 0, "file-backed loop device %s: the overwrite reaches the image file '%s'",
	     m->device, backing);
	n = strlen(backing);
	if (n > 10 && strcmp(backing + n - 10, " (deleted)") == 0) {
		note(m, 1, "the image file was deleted: where its blocks lie cannot be checked");
		return;
	}
	if (depth >= MV_MEDIUM_DEPTH) {
		note(m, 1, "loop devices nested too deep to follow");
		return;
	}
	memset(&sub, 0, sizeof(sub));
	probe_path(backing, depth + 1, &sub);
	if (sub.fs_type[0])
		note(m, 0, "image file on %s, device %s (%s)", sub.fs_type,
		     sub.device[0] ? sub.device : "?", sub.kind[0] ? sub.kind : "unknown");
	else
		note(m, 0, "backed by the block device %s (%s)", sub.device[0] ? sub.device : "?",
		     sub.kind[0] ? sub.kind : "unknown");
	merge(m, &sub, "image file: ");
}

/* A whole disk (not a partition) whose sysfs directory is dfd. */
static void describe_disk(int dfd, const char *name, const char *real, int depth, int device_mode,
                          struct mv_wipe_medium *m)
{
	unsigned long long sectors, rot, removable;
	char buf[128];
	int has_rot, usb, virt;

	copy(m->device, sizeof(m->device), name);
	if (mv_sysfs_read_u64(dfd, "size", &sectors) == 0 && sectors <= UINT64_MAX / 512)
		m->size = sectors * 512;
	if (has_prefix(name, "loop")) {
		describe_loop(dfd, depth, device_mode, m);
		return;
	}
	if (depth >= MV_MEDIUM_DEPTH + 4) {
		copy(m->kind, sizeof(m->kind), "unknown");
		note(m, 1, "device stack too deep to follow below %s", name);
		return;
	}
	if (has_prefix(name, "dm-")) {
		char dmname[128] = "", uuid[160] = "";
		mv_sysfs_read(dfd, "dm/name", dmname, sizeof(dmname));
		mv_sysfs_read(dfd, "dm/uuid", uuid, sizeof(uuid));
		if (has_prefix(uuid, "CRYPT-"))
			note(m, 0,
			     "dm-crypt (LUKS) mapping %s: the disk below holds only ciphertext",
			     dmname);
		else
			note(
			    m, 1,
			    "device-mapper stack (LVM/LUKS/...) %s: its snapshots, thin pools and "
			    "moved extents keep copies that an overwrite through it does not reach",
			    dmname);
		describe_stack(dfd, depth, device_mode, "device-mapper volume", m);
		return;
	}
	if (has_prefix(name, "md")) {
		char level[32] = "";
		mv_sysfs_read(dfd, "md/level", level, sizeof(level));
		note(m, 1,
		     "software RAID %s (%s): spare and removed disks and resyncs keep copies that "
		     "an overwrite through it does not reach",
		     name, level[0] ? level : "?");
		describe_stack(dfd, depth, device_mode, "software RAID volume", m);
		return;
	}
	mv_sysfs_read(dfd, "device/vendor", m->vendor, sizeof(m->vendor));
	if (mv_sysfs_read(dfd, "device/model", m->model, sizeof(m->model)) <= 0)
		mv_sysfs_read(dfd, "device/name", m->model, sizeof(m->model)); /* MMC */
	read_serial(dfd, m->serial, sizeof(m->serial));
	has_rot = mv_sysfs_read_u64(dfd, "queue/rotational", &rot) == 0;
	if (mv_sysfs_read_u64(dfd, "removable", &removable) != 0)
		removable = 0;
	usb = strstr(real, "/usb") != NULL;
	virt = has_prefix(name, "vd") || has_prefix(name, "xvd") || strstr(real, "/virtio") ||
	       strstr(real, "/xen") || strstr(real, "/vmbus") || virtual_model(m->model) ||
	       virtual_model(m->vendor);
	if (device_mode) {
		if (has_prefix(name, "nvme"))
			copy(m->hidden_area, sizeof(m->hidden_area),
			     "none: NVMe has no HPA/DCO (other namespaces of the drive are not "
			     "wiped)");
		else if (virt)
			copy(m->hidden_area, sizeof(m->hidden_area),
			     "not applicable: virtual disk (the host's storage is not reached)");
		else
			copy(m->hidden_area, sizeof(m->hidden_area),
			     "unknown: the kernel does not report HPA/DCO for this device (check "
			     "with hdparm -N)");
	}
	if (has_prefix(name, "zram") || has_prefix(name, "ram") || has_prefix(name, "pmem")) {
		copy(m->kind, sizeof(m->kind), "memory");
		if (device_mode)
			copy(m->hidden_area, sizeof(m->hidden_area), "not applicable: RAM disk");
		note(m, 1, "%s is a RAM disk: the data is in memory, and swap may hold copies",
		     name);
	} else if (has_prefix(name, "nbd") || has_prefix(name, "rbd") || has_prefix(name, "drbd")) {
		copy(m->kind, sizeof(m->kind), "network block device");
		if (device_mode)
			copy(m->hidden_area, sizeof(m->hidden_area),
			     "unknown: a network block device (the remote storage is not reached)");
		note(m, 1,
		     "%s is a network block device: the remote storage decides what an overwrite "
		     "reaches",
		     name);
	} else if (virt) {
		copy(m->kind, sizeof(m->kind), "virtual disk");
		note(m, 1,
		     "virtual disk %s: the host's storage decides what an overwrite reaches (disk "
		     "images are often copy-on-write, thin or snapshotted, the host may use flash, "
		     "and the guest's rotational flag is the hypervisor's default), so wipe the "
		     "host's storage",
		     name);
	} else if (has_prefix(name, "nvme") || has_prefix(name, "mmcblk") ||
	           (has_rot && rot == 0) || (removable && usb)) {
		copy(m->kind, sizeof(m->kind), "solid-state / flash");
		note(m, 1,
		     "solid-state / flash device %s%s%s: wear levelling and spare blocks keep old "
		     "copies of overwritten data out of reach",
		     name, usb ? " (USB)" : "", removable ? " (removable)" : "");
	} else if (usb) {
		copy(m->kind, sizeof(m->kind), "USB disk");
		note(m, 1,
		     "USB-attached disk %s: the USB bridge hides whether it is flash (sticks and "
		     "SSDs in enclosures often say rotational)",
		     name);
	} else if (!has_rot) {
		copy(m->kind, sizeof(m->kind), "unknown");
		note(m, 1, "the kernel does not say whether %s is rotational", name);
	} else {
		copy(m->kind, sizeof(m->kind), "rotational disk");
		if (mv_sysfs_read(dfd, "queue/zoned", buf, sizeof(buf)) > 0 &&
		    strcmp(buf, "none") != 0)
			note(m, 1, "zoned (SMR) disk %s: writes go to new places in its zones",
			     name);
	}
}

/* Describes the block device maj:min into m (device mode: the device
 * itself, a partition named as such; else the disk holding it). */
static void describe_dev(unsigned maj, unsigned min, int depth, int device_mode,
                         struct mv_wipe_medium *m)
{
	char at[48], name[64], real[1024];
	int sysfd, dfd;

	snprintf(at, sizeof(at), "%u:%u", maj, min);
	sysfd = open("/sys/dev/block", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	dfd = sysfd >= 0 ? openat(sysfd, at, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (dfd < 0 || dev_names(sysfd, at, name, sizeof(name), real, sizeof(real))) {
		copy(m->kind, sizeof(m->kind), "unknown");
		note(m, 1, "block device %s is not described by the kernel (/sys)", at);
		goto out;
	}
	if (faccessat(dfd, "partition", F_OK, 0) == 0) {
		int pfd = openat(dfd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		char part[64];
		unsigned long long sectors;
		copy(part, sizeof(part), name);
		char *slash = strrchr(real, '/');
		if (slash)
			*slash = '\0';
		slash = strrchr(real, '/');
		copy(name, sizeof(name), slash ? slash + 1 : real);
		if (pfd < 0) {
			copy(m->kind, sizeof(m->kind), "unknown");
			note(m, 1, "the disk holding partition %s is not described by the kernel",
			     part);
			goto out;
		}
		describe_disk(pfd, name, real, depth, device_mode, m);
		close(pfd);
		if (device_mode) {
			copy(m->device, sizeof(m->device), part);
			m->size = mv_sysfs_read_u64(dfd, "size", &sectors) == 0 &&
			                  sectors <= UINT64_MAX / 512
			              ? sectors * 512
			              : 0;
			note(m, 0,
			     "%s is a partition of %s: the other partitions and the partition "
			     "table are not overwritten",
			     part, name);
		}
	} else {
		describe_disk(dfd, name, real, depth, device_mode, m);
	}
out:
	if (dfd >= 0)
		close(dfd);
	if (sysfd >= 0)
		close(sysfd);
}

/* ---- files ------------------------------------------------------------------------ */

#define FIEMAP_BATCH     64
#define FIEMAP_MAX_CALLS 16384 /* a million extents */

static void file_extents(int fd, struct mv_wipe_medium *m)
{
	union {
		struct fiemap fm;
		char bytes[sizeof(struct fiemap) + FIEMAP_BATCH * sizeof(struct fiemap_extent)];
	} u;
	uint32_t seen = 0;
	uint64_t start = 0;
	int done = 0;
	char ebuf[128];

	for (int call = 0; !done; call++) {
		if (call == FIEMAP_MAX_CALLS) {
			note(m, 0, "too many extents to check them all for sharing");
			break;
		}
		memset(&u, 0, sizeof(u));
		u.fm.fm_start = start;
		u.fm.fm_length = FIEMAP_MAX_OFFSET - start;
		u.fm.fm_flags = call == 0 ? FIEMAP_FLAG_SYNC : 0;
		u.fm.fm_extent_count = FIEMAP_BATCH;
		if (ioctl(fd, FS_IOC_FIEMAP, &u.fm) < 0) {
			int e = errno;
			if (e == EOPNOTSUPP || e == ENOTTY || e == EINVAL) {
				if (!m->unreliable)
					note(m, 0,
					     "the filesystem does not report file extents "
					     "(FIEMAP): sharing with snapshots cannot be checked");
			} else {
				note(m, 1,
				     "the file's extents cannot be read (%s): sharing cannot be "
				     "checked",
				     mv_errno_str(e, ebuf, sizeof(ebuf)));
			}
			return;
		}
		if (u.fm.fm_mapped_extents == 0)
			break;
		for (uint32_t i = 0; i < u.fm.fm_mapped_extents && i < FIEMAP_BATCH; i++) {
			const struct fiemap_extent *x = &u.fm.fm_extents[i];
			seen |= x->fe_flags;
			if (x->fe_flags & FIEMAP_EXTENT_LAST)
				done = 1;
			if (x->fe_logical + x->fe_length <= start ||
			    x->fe_logical > FIEMAP_MAX_OFFSET - x->fe_length)
				done = 1; /* no progress or past the end */
			else
				start = x->fe_logical + x->fe_length;
		}
	}
	if (seen & FIEMAP_EXTENT_SHARED)
		note(m, 1,
		     "extents shared with a snapshot or a reflinked copy: the other owner keeps "
		     "the data after this file is overwritten");
	if (seen & FIEMAP_EXTENT_ENCODED)
		note(m, 1,
		     "extents encoded (compressed) by the filesystem: an overwrite cannot rewrite "
		     "them in place");
	if (seen & FIEMAP_EXTENT_DATA_ENCRYPTED)
		note(m, 1, "%s", why_fscrypt);
	if (seen & FIEMAP_EXTENT_DATA_INLINE)
		note(m, 1,
		     "data stored inline in filesystem metadata, which the journal or "
		     "copy-on-write trees copy");
	else if (seen & (FIEMAP_EXTENT_NOT_ALIGNED | FIEMAP_EXTENT_DATA_TAIL))
		note(m, 0, "data packed into blocks shared with other files (tail packing)");
	if (seen & (FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_DELALLOC))
		note(m, 0, "the filesystem does not say where some extents lie");
}

int mv_medium_add_file_facts(int fd, struct mv_wipe_medium *m, struct mv_error *err)
{
	struct stat st;
	int flags = 0;

	(void)err;
	if (fstat(fd, &st) < 0 || (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)))
		return 0;
	if (ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0) {
		const char *what =
		    S_ISDIR(st.st_mode) ? "this folder (and new files in it)" : "this file";
		if (flags & FS_JOURNAL_DATA_FL)
			note(m, 1,
			     "%s has data journalling on (chattr +j): its data is written to the "
			     "journal first, where old copies may remain",
			     what);
		if (flags & FS_COMPR_FL)
			note(m, 1,
			     "%s is compressed by the filesystem (chattr +c): compressed data is "
			     "rewritten elsewhere",
			     what);
		if (flags & FS_ENCRYPT_FL)
			note(m, 1, "%s", why_fscrypt);
	}
	if (S_ISREG(st.st_mode))
		file_extents(fd, m);
	finish(m, 0);
	return 0;
}

/* 1 when the ext3/ext4 filesystem of st journals file data: data=journal in
 * the mount's options, or in the full list the ext4 driver gives in
 * /proc/fs/ext4/DEV/options (which also holds the default set in the
 * superblock by tune2fs -o journal_data, absent from mountinfo). */
static int ext_data_journal(const struct stat *st, const struct mount_find *mf)
{
	char at[48], name[64], real[1024], opts[2048];
	int sysfd;

	if (mf->found && mv_mountinfo_has_opt(mf->super_opts, "data=journal"))
		return 1;
	snprintf(at, sizeof(at), "%u:%u", major(st->st_dev), minor(st->st_dev));
	sysfd = open("/sys/dev/block", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sysfd < 0)
		return 0;
	int named = dev_names(sysfd, at, name, sizeof(name), real, sizeof(real)) == 0;
	close(sysfd);
	snprintf(real, sizeof(real), "/proc/fs/ext4/%s/options", name);
	/* one option a line: the reader turns newlines into '?' */
	if (!named || mv_sysfs_read(AT_FDCWD, real, opts, sizeof(opts)) <= 0)
		return 0;
	for (char *p = opts; *p; p++)
		if (*p == '?')
			*p = ',';
	return mv_mountinfo_has_opt(opts, "data=journal");
}

/* The filesystem, mount and device facts of the file open at fd (depth:
 * how many loop devices lead here). */
static int probe_fd(int fd, int depth, struct mv_wipe_medium *m, struct mv_error *err)
{
	struct stat st, src;
	struct statfs sf;
	struct mount_find mf;
	const struct fs_info *fs;
	unsigned maj, min;

	memset(m, 0, sizeof(*m));
	if (fstat(fd, &st) < 0 || fstatfs(fd, &sf) < 0) {
		int e = errno;
		return mv_error_set(err, MV_ERR_IO, e, "cannot look at the file's filesystem");
	}
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return mv_error_set(err, MV_ERR_USAGE, 0, "not a regular file or a folder");
	fs = fs_lookup((unsigned long)sf.f_type);
	find_mount(fd, &st, &mf);
	if (mf.found)
		copy(m->fs_type, sizeof(m->fs_type), mf.fstype);
	else if (fs)
		copy(m->fs_type, sizeof(m->fs_type), fs->name);
	else
		snprintf(m->fs_type, sizeof(m->fs_type), "0x%lx", (unsigned long)sf.f_type);
	if (fs && fs->why)
		note(m, 1, "%s: %s", m->fs_type, fs->why);
	if (sf.f_type == 0xEF53 && ext_data_journal(&st, &mf))
		note(m, 1,
		     "%s mounted with data=journal: file data is written to the journal first, "
		     "where old copies may remain",
		     m->fs_type);
	/* the block device: st_dev, or the mount's source for filesystems
	 * that give files an anonymous device (btrfs) */
	maj = major(st.st_dev);
	min = minor(st.st_dev);
	if (maj == 0 && mf.found && mf.source[0] == '/' && stat(mf.source, &src) == 0 &&
	    S_ISBLK(src.st_mode)) {
		maj = major(src.st_rdev);
		min = minor(src.st_rdev);
	}
	if (maj != 0)
		describe_dev(maj, min, depth, 0, m);
	else
		copy(m->kind, sizeof(m->kind), fs && fs->kind ? fs->kind : "unknown");
	if (maj == 0 && !m->unreliable)
		note(m, 1,
		     "no block device is known below this %s filesystem: what an overwrite reaches "
		     "cannot be checked",
		     m->fs_type);
	return 0;
}

/* The image file of a loop device, probed in turn. */
static void probe_path(const char *path, int depth, struct mv_wipe_medium *m)
{
	struct mv_error err;
	struct stat st;
	int fd;

	memset(m, 0, sizeof(*m));
	if (stat(path, &st) == 0 && S_ISBLK(st.st_mode)) {
		/* a loop device over a block device */
		describe_dev(major(st.st_rdev), minor(st.st_rdev), depth, 0, m);
		return;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		char ebuf[128];
		int e = errno;
		copy(m->kind, sizeof(m->kind), "unknown");
		note(m, 1, "cannot open '%s' (%s): where its blocks lie cannot be checked", path,
		     mv_errno_str(e, ebuf, sizeof(ebuf)));
		return;
	}
	if (probe_fd(fd, depth, m, &err) == 0)
		mv_medium_add_file_facts(fd, m, NULL);
	else
		note(m, 1, "'%s': %s", path, err.msg);
	close(fd);
	strip_remedy(m);
}

int mv_medium_probe_file(int fd, struct mv_wipe_medium *out, struct mv_error *err)
{
	int rc = probe_fd(fd, 0, out, err);

	if (rc)
		return rc;
	return mv_medium_add_file_facts(fd, out, err);
}

/* ---- devices in use ------------------------------------------------------------------ */

#define BUSY_MAX 64

/* The device, its partitions and what is stacked on them (holders). */
struct devset {
	dev_t dev[BUSY_MAX];
	char name[BUSY_MAX][32];
	size_t n;
};

static int devset_has(const struct devset *s, dev_t d)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->dev[i] == d)
			return (int)i + 1;
	return 0;
}

static void devset_collect(int dfd, const char *name, struct devset *s, int depth);

/* Adds the device of each entry of dfd's subdirectory sub (holders/) or,
 * for parts, each partition directory. */
static void devset_children(int dfd, const char *sub, int parts, struct devset *s, int depth)
{
	int cfd = openat(dfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = cfd >= 0 ? fdopendir(cfd) : NULL;
	struct dirent *e;

	if (!d) {
		if (cfd >= 0)
			close(cfd);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		int efd = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (efd < 0)
			continue;
		if (!parts || faccessat(efd, "partition", F_OK, 0) == 0)
			devset_collect(efd, e->d_name, s, depth + 1);
		close(efd);
	}
	closedir(d);
}

static void devset_collect(int dfd, const char *name, struct devset *s, int depth)
{
	char buf[32];
	unsigned maj, min;

	if (depth > 8 || s->n == BUSY_MAX || mv_sysfs_read(dfd, "dev", buf, sizeof(buf)) <= 0 ||
	    sscanf(buf, "%u:%u", &maj, &min) != 2 || devset_has(s, makedev(maj, min)))
		return;
	s->dev[s->n] = makedev(maj, min);
	copy(s->name[s->n], sizeof(s->name[0]), name);
	s->n++;
	devset_children(dfd, ".", 1, s, depth);
	devset_children(dfd, "holders", 0, s, depth);
}

struct busy {
	const struct devset *set;
	char what[64];
	char where[1024];
};

static int busy_mount(void *arg, const struct mv_mountinfo *e)
{
	struct busy *b = arg;
	struct stat st;
	int i = devset_has(b->set, makedev(e->major, e->minor));

	if (!i && e->source[0] == '/' && stat(e->source, &st) == 0 && S_ISBLK(st.st_mode))
		i = devset_has(b->set, st.st_rdev);
	if (!i)
		return 0;
	copy(b->what, sizeof(b->what), b->set->name[i - 1]);
	copy(b->where, sizeof(b->where), e->mount_point);
	return 1;
}

static int busy_swap(const struct devset *set, char *what, size_t cap)
{
	FILE *f = fopen("/proc/swaps", "re");
	char line[1024];
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		struct stat st;
		line[strcspn(line, " \t\n")] = '\0';
		if (line[0] == '/' && stat(line, &st) == 0 && S_ISBLK(st.st_mode)) {
			int i = devset_has(set, st.st_rdev);
			if (i) {
				copy(what, cap, set->name[i - 1]);
				found = 1;
			}
		}
	}
	fclose(f);
	return found;
}

/* MV_ERR_USAGE naming the mount or use of the device open at fd, or 0. */
static int check_busy(int fd, dev_t rdev, const char *name, struct mv_error *err)
{
	struct devset set;
	struct busy b;
	char at[48], proc[64];
	int sysfd, rc, xfd;

	memset(&set, 0, sizeof(set));
	snprintf(at, sizeof(at), "/sys/dev/block/%u:%u", major(rdev), minor(rdev));
	sysfd = open(at, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sysfd >= 0) {
		devset_collect(sysfd, name, &set, 0);
		close(sysfd);
	}
	if (set.n == 0) {
		set.dev[0] = rdev;
		copy(set.name[0], sizeof(set.name[0]), name);
		set.n = 1;
	}
	memset(&b, 0, sizeof(b));
	b.set = &set;
	rc = mv_mountinfo_each(busy_mount, &b, err);
	if (rc < 0)
		return rc;
	if (rc > 0) {
		if (strcmp(b.what, name) == 0)
			return mv_error_set(err, MV_ERR_USAGE, 0, "device %s is mounted on '%s'",
			                    name, b.where);
		return mv_error_set(err, MV_ERR_USAGE, 0,
		                    "device %s is in use: %s is mounted on '%s'", name, b.what,
		                    b.where);
	}
	if (busy_swap(&set, b.what, sizeof(b.what)))
		return mv_error_set(err, MV_ERR_USAGE, 0, "device %s is in use: %s is used as swap",
		                    name, b.what);
	/* the kernel's own answer: an exclusive open fails while a filesystem,
	 * a RAID or device-mapper volume or swap holds the device (also for
	 * mounts in other namespaces, and btrfs's other member devices) */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	xfd = open(proc, O_RDONLY | O_EXCL | O_CLOEXEC);
	if (xfd < 0 && errno == EBUSY)
		return mv_error_set(err, MV_ERR_USAGE, 0,
		                    "device %s is in use (held by a filesystem, a RAID or "
		                    "device-mapper volume, or swap)",
		                    name);
	if (xfd >= 0)
		close(xfd);
	return 0;
}

/* ---- hidden areas (ATA) ----------------------------------------------------------- */

/* One ATA command through SCSI ATA PASS-THROUGH (16) (SAT): data in when
 * dlen > 0. Returns 0 when the transport delivered it (the answer's
 * validity is the decoder's to judge), -1 else. */
static int ata_pass(int fd, uint8_t cdb[16], uint8_t *data, size_t dlen, uint8_t *sense,
                    size_t slen, size_t *sense_len)
{
	sg_io_hdr_t io;

	memset(&io, 0, sizeof(io));
	io.interface_id = 'S';
	io.cmdp = cdb;
	io.cmd_len = 16;
	io.dxfer_direction = dlen ? SG_DXFER_FROM_DEV : SG_DXFER_NONE;
	io.dxferp = data;
	io.dxfer_len = (unsigned)dlen;
	io.sbp = sense;
	io.mx_sb_len = (unsigned char)slen;
	io.timeout = 10000; /* ms */
	if (ioctl(fd, SG_IO, &io) < 0 || io.host_status != 0)
		return -1;
	*sense_len = io.sb_len_wr;
	return 0;
}

/* Reads the HPA state of the ATA disk open at fd (IDENTIFY DEVICE, then
 * READ NATIVE MAX ADDRESS (EXT): both read-only) into m->hidden_area; a
 * hidden area is a finding. Leaves m alone when the disk does not answer. */
static void ata_hidden_area(int fd, struct mv_wipe_medium *m)
{
	uint8_t id[MV_ATA_IDENTIFY_LEN], sense[64];
	uint8_t cdb[16];
	struct mv_ata_identify ident;
	uint64_t native;
	size_t slen = 0;

	memset(id, 0, sizeof(id));
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0x85;   /* ATA PASS-THROUGH (16) */
	cdb[1] = 4 << 1; /* PIO data-in */
	cdb[2] = 0x0e;   /* from the device, length in blocks, in the count field */
	cdb[6] = 1;      /* one block */
	cdb[14] = 0xec;  /* IDENTIFY DEVICE */
	if (ata_pass(fd, cdb, id, sizeof(id), sense, sizeof(sense), &slen) != 0 ||
	    mv_ata_identify_decode(id, sizeof(id), &ident) != 0)
		return;
	if (!ident.hpa_supported) {
		copy(m->hidden_area, sizeof(m->hidden_area),
		     "HPA: not supported by the disk; DCO not checked (hdparm --dco-identify)");
		return;
	}
	memset(cdb, 0, sizeof(cdb));
	memset(sense, 0, sizeof(sense));
	cdb[0] = 0x85;
	cdb[1] = (3 << 1) | (ident.lba48 ? 1 : 0); /* non-data, 48-bit */
	cdb[2] = 0x20;                             /* return the registers (CK_COND) */
	cdb[13] = 0x40;                            /* LBA mode */
	cdb[14] = ident.lba48 ? 0x27 : 0xf8;       /* READ NATIVE MAX ADDRESS (EXT) */
	if (ata_pass(fd, cdb, NULL, 0, sense, sizeof(sense), &slen) != 0 ||
	    mv_ata_sense_native_max(sense, slen, &native) != 0)
		return;
	if (native <= ident.user_sectors) {
		snprintf(m->hidden_area, sizeof(m->hidden_area),
		         "HPA: none (%llu sectors, all addressable); DCO not checked (hdparm "
		         "--dco-identify)",
		         (unsigned long long)ident.user_sectors);
		return;
	}
	snprintf(m->hidden_area, sizeof(m->hidden_area),
	         "HPA: %llu sectors hidden beyond the %llu addressable ones; DCO not checked",
	         (unsigned long long)(native - ident.user_sectors),
	         (unsigned long long)ident.user_sectors);
	note(m, 1,
	     "a host protected area of %llu sectors is not overwritten (hdparm -N shows it and can "
	     "remove it)",
	     (unsigned long long)(native - ident.user_sectors));
}

int mv_medium_probe_device(int fd, struct mv_wipe_medium *out, struct mv_error *err)
{
	struct stat st;
	uint64_t size;

	memset(out, 0, sizeof(*out));
	if (fstat(fd, &st) < 0) {
		int e = errno;
		return mv_error_set(err, MV_ERR_IO, e, "cannot look at the device");
	}
	if (!S_ISBLK(st.st_mode))
		return mv_error_set(err, MV_ERR_USAGE, 0, "not a block device");
	describe_dev(major(st.st_rdev), minor(st.st_rdev), 0, 1, out);
	if (ioctl(fd, BLKGETSIZE64, &size) == 0)
		out->size = size;
	/* a SATA disk behind libata (not a USB bridge, which may not pass the
	 * commands through) */
	if (has_prefix(out->device, "sd") && strcmp(out->vendor, "ATA") == 0 &&
	    strcmp(out->kind, "USB disk") != 0 && !strstr(out->notes, "(USB)"))
		ata_hidden_area(fd, out);
	finish(out, 1);
	return check_busy(fd, st.st_rdev, out->device[0] ? out->device : "?", err);
}
