/* The wipe record (FORMAT.md section 14): the payload of the sealed object
 * wipes/<id> that each wipe leaves in the repository, so that `medvault wipe
 * --history` says what was wiped, when, and which snapshot holds it. It
 * carries the signed certificate too, byte for byte. */
#ifndef MV_FMT_WIPEREC_H
#define MV_FMT_WIPEREC_H

#include <stddef.h>
#include <stdint.h>

#include "formats/buf.h"
#include "formats/fmt_err.h"

#define MV_WIPEREC_VERSION 1
#define MV_WIPEREC_MAX     (60u << 20) /* payload bytes: under the 64 MiB blob cap */

/* Item flags. */
#define MV_WIPEREC_HAS_CONTENT  1u
#define MV_WIPEREC_HAS_SNAPSHOT 2u

struct mv_wiperec_item {
	uint8_t status; /* 1 wiped, 2 refused, 3 partial, 4 failed (core/wipe/report.h) */
	uint8_t flags;  /* MV_WIPEREC_HAS_* */
	uint64_t size;
	uint8_t content[32];  /* zero unless HAS_CONTENT */
	uint8_t snapshot[32]; /* zero unless HAS_SNAPSHOT */
	const uint8_t *path;  /* not NUL-terminated; into the decoded payload */
	size_t path_len;      /* 1 to 65535 */
	const uint8_t *reason;
	size_t reason_len; /* 0 to 65535 */
};

struct mv_wiperec {
	uint8_t mode; /* 1 files, 2 device, 3 repository */
	int64_t start, end;
	const uint8_t *host, *operator_name;
	size_t host_len, operator_len;
	uint8_t flags; /* MV_WIPEREC_HAS_SNAPSHOT: snapshot is the one named */
	uint8_t snapshot[32];
	uint32_t n;
	struct mv_wiperec_item *items; /* malloc'd on decode */
	const uint8_t *cert;           /* the signed certificate file's bytes */
	size_t cert_len;
};

/* Encodes rec into w (its max should be MV_WIPEREC_MAX). Returns 0,
 * MV_FMT_MALFORMED (an unknown mode or status, flags beyond those known,
 * an empty path, non-zero bytes where a flag says absent), or
 * MV_FMT_LIMIT (a string over 65535 bytes, the record over the cap). */
int mv_wiperec_encode(const struct mv_wiperec *rec, struct mv_wbuf *w);

/* Decodes a payload; strings point into p, which must outlive rec.
 * Release with mv_wiperec_release, also after an error. Returns 0,
 * MV_FMT_MALFORMED, MV_FMT_VERSION (a newer version) or MV_FMT_NOMEM. */
int mv_wiperec_decode(const uint8_t *p, size_t len, struct mv_wiperec *rec);

void mv_wiperec_release(struct mv_wiperec *rec);

#endif
