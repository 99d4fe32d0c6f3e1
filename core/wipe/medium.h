/* Honesty about the medium: what the kernel tells about where a file's (or
 * a device's) bytes really lie, and what makes an overwrite unreliable
 * there (issue 10, "Honesty about the medium").
 *
 * The probe fills struct mv_wipe_medium (core/wipe/report.h): the
 * filesystem type, the block device below it followed down through
 * partitions, device-mapper and md stacks and file-backed loop devices
 * (whose image file is probed in turn, up to MV_MEDIUM_DEPTH levels), its
 * make, model, serial and size, and one note per finding. A finding that
 * makes overwriting unreliable sets `unreliable`, says what it is and why,
 * and the notes then end with the remedy (mv_medium_remedy).
 *
 * What is unreliable: copy-on-write filesystems (btrfs, ZFS, bcachefs),
 * log-structured ones (f2fs, nilfs2, UBIFS, JFFS2), network and FUSE
 * filesystems, memory ones (tmpfs: swap may hold copies), stacked ones
 * (overlayfs, eCryptfs), ext3/ext4 with data=journal or a file with the
 * data-journalling flag, compressed or fs-encrypted files, extents shared
 * with snapshots or reflinks, data inline in metadata, device-mapper stacks
 * other than a plain dm-crypt mapping, md RAID, solid-state and flash
 * devices (non-rotational, NVMe, MMC/SD, removable USB), USB-attached disks
 * (the bridge hides whether they are flash), network block devices, RAM
 * disks, and virtual disks (virtio, Xen, or a QEMU/VMware/VirtualBox/
 * Hyper-V model). A virtual disk is always unreliable: the guest sees the
 * hypervisor's defaults (virtio-blk says "rotational" whatever the host
 * has), and the host's disk image may be copy-on-write, thin, snapshotted
 * or on flash; only a wipe of the host's storage is sure. A loop device is
 * as reliable as its image file. So on a virtual machine with a virtio disk
 * (the CI machine: vda, "rotational" 1, vendor 0x1af4) every file, and every
 * loop-mounted image under /tmp or /var/tmp, is flagged: the e2e tests of
 * wipe pass --accept-unreliable-medium there.
 *
 * Functions return 0 or an MV_ERR_* code with err filled; a fact the kernel
 * does not give is left empty ("unknown"), never an error. */
#ifndef MV_WIPE_MEDIUM_H
#define MV_WIPE_MEDIUM_H

#include "core/util/err.h"
#include "core/wipe/report.h"

struct mv_error;

/* How deep loop devices over image files (and device stacks) are followed. */
#define MV_MEDIUM_DEPTH 4

/* The remedy named when overwriting is unreliable: for a file wipe
 * (device_mode 0: a whole-device overwrite, sanitize, blkdiscard) or a
 * device wipe (sanitize, blkdiscard). A constant string. */
const char *mv_medium_remedy(int device_mode);

/* Probes the medium under fd, an open regular file or directory (any
 * access mode; O_RDONLY is enough): its filesystem, mount options, block
 * device stack and, for a regular file, its own flags and extents (as
 * mv_medium_add_file_facts). *out is overwritten. Returns 0, MV_ERR_IO
 * (fstat/fstatfs failed) or MV_ERR_USAGE (not a file or directory). */
int mv_medium_probe_file(int fd, struct mv_wipe_medium *out, struct mv_error *err)
    __attribute__((nonnull(2))) MV_MUST_CHECK;

/* Adds to *m, filled by mv_medium_probe_file for a file on the same
 * filesystem, the facts of the regular file (or directory) fd itself: its
 * flags (FS_IOC_GETFLAGS: data journalling, compression, encryption) and,
 * for a regular file, its extents (FS_IOC_FIEMAP, after syncing it: shared,
 * encoded, inline, tail-packed). Cheap: for a wipe of many files on one
 * volume. A finding already noted is not repeated. Returns 0 (a failed
 * look is a note, not an error). */
int mv_medium_add_file_facts(int fd, struct mv_wipe_medium *m, struct mv_error *err)
    __attribute__((nonnull(2)));

/* Probes the block device open at fd for a device wipe. fd: O_RDONLY is
 * enough, and not O_EXCL, since the probe tries an exclusive open of its
 * own (a wipe may open the device O_EXCL after the probe, which then keeps
 * it from being mounted). Fills *out in every case: kind, make, model,
 * serial, size (BLKGETSIZE64), the stack below a dm/md/loop device, and
 * hidden_area: for a SATA disk behind libata the HPA is read (IDENTIFY
 * DEVICE and READ NATIVE MAX ADDRESS through SG_IO, both read-only; needs
 * CAP_SYS_RAWIO; a hidden area is a finding), DCO is not checked; other
 * devices say why it is unknown or not applicable ("none (loop device)").
 * A partition is named as such, with a note that the rest of its disk is
 * not overwritten. Then refuses a device in use: it, one of its partitions
 * or a device stacked on them (holders) mounted, or used as swap, or held
 * open exclusively (by a filesystem in another mount namespace, a RAID or
 * device-mapper volume). Returns 0, MV_ERR_USAGE (not a block device; or
 * in use: the message names the mount point or the use), MV_ERR_IO. */
int mv_medium_probe_device(int fd, struct mv_wipe_medium *out, struct mv_error *err)
    __attribute__((nonnull(2))) MV_MUST_CHECK;

#endif
