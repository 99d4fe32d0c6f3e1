/* Error values of the engine. Functions return 0 or one of the negative codes
 * below; details go into a caller-owned struct mv_error (may be NULL). */
#ifndef MV_ERR_H
#define MV_ERR_H

#include <stddef.h>

enum mv_err {
	MV_OK = 0,
	MV_ERR_NOMEM = -1,        /* allocation failed */
	MV_ERR_IO = -2,           /* system call failed; errno saved */
	MV_ERR_NOREPO = -3,       /* no repository at that location */
	MV_ERR_PASSWORD = -4,     /* no key slot opens with that secret */
	MV_ERR_LOCKED = -5,       /* lock held by someone else */
	MV_ERR_INTEGRITY = -6,    /* authentication, hash or structure check failed */
	MV_ERR_VERSION = -7,      /* repository made by a newer version */
	MV_ERR_USAGE = -8,        /* invalid argument from the caller */
	MV_ERR_NOTFOUND = -9,     /* named object does not exist */
	MV_ERR_EXISTS = -10,      /* object exists already */
	MV_ERR_NOSPC = -11,       /* disk full */
	MV_ERR_INTERRUPTED = -12, /* cancelled by the caller (signal) */
	MV_ERR_WEAKPASS = -13,    /* password below the strength threshold */
	MV_ERR_PARTIAL = -14,     /* finished, but some source files were unreadable */
	MV_ERR_AMBIGUOUS = -15,   /* snapshot prefix matches several */
	MV_ERR_LIMIT = -16,       /* a size limit was exceeded */
	/* a backend call failed in a way a retry may cure (EAGAIN, a timeout,
	 * a server busy); core/backend/retry.c turns one that survives its
	 * attempts into MV_ERR_IO, so users never see it */
	MV_ERR_TRANSIENT = -17,
	/* a wipe refused: overwriting is unreliable on this medium (exit 1) */
	MV_ERR_UNRELIABLE = -18,
};

struct mv_error {
	int code;
	int saved_errno;
	char msg[512];
};

/* Records code, errno and a formatted message into err (if non-NULL) and
 * returns code, so that callers can write: return mv_error_set(...). A second
 * call overwrites the first. */
int mv_error_set(struct mv_error *err, int code, int saved_errno, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prefixes the existing message with "context: ". Returns err->code (or code
 * if err is NULL). */
int mv_error_prefix(struct mv_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void mv_error_clear(struct mv_error *err);

/* Thread-safe strerror into buf; returns buf. */
const char *mv_errno_str(int e, char *buf, size_t n);

/* A short constant name for a code ("integrity error"). */
const char *mv_strerror(int code);

/* Overflow-checked size arithmetic: return 0 on success, -1 on overflow. */
static inline int mv_size_add(size_t a, size_t b, size_t *out)
{
	return __builtin_add_overflow(a, b, out) ? -1 : 0;
}
static inline int mv_size_mul(size_t a, size_t b, size_t *out)
{
	return __builtin_mul_overflow(a, b, out) ? -1 : 0;
}

#define MV_MUST_CHECK __attribute__((warn_unused_result))

#endif
