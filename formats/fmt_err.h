/* Result codes of the encoders and decoders in formats/.
 *
 * formats/ does not depend on core/, but its codes are chosen to equal the
 * engine's codes of the same meaning (core/util/err.h; core/util/err.c checks that
 * they match at compile time), so that core/ can pass a decoder's result up
 * unchanged: malformed bytes reach the user as an integrity error, a failed
 * allocation as out of memory. Functions return 0 (or a documented positive
 * value) on success, else one of the negative codes below. A decoder never
 * says "malformed" for an allocation that failed, nor the reverse. */
#ifndef MV_FMT_ERR_H
#define MV_FMT_ERR_H

enum mv_fmt_result {
	MV_FMT_OK = 0,
	MV_FMT_NOMEM = -1,     /* an allocation failed (MV_ERR_NOMEM) */
	MV_FMT_MALFORMED = -6, /* the bytes break a rule of the format (MV_ERR_INTEGRITY) */
	MV_FMT_VERSION = -7,   /* made by a newer version of the format (MV_ERR_VERSION) */
	MV_FMT_LIMIT = -16,    /* a size limit of this reader or writer (MV_ERR_LIMIT) */
};

#endif
