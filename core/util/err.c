#include "core/util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "formats/fmt_err.h"

/* formats/ returns these codes; core/ passes them up unchanged, so each must
 * equal the engine's code of the same meaning. */
_Static_assert((int)MV_FMT_OK == (int)MV_OK,
               "formats/fmt_err.h and core/util/err.h disagree on success");
_Static_assert((int)MV_FMT_NOMEM == (int)MV_ERR_NOMEM, "MV_FMT_NOMEM must equal MV_ERR_NOMEM");
_Static_assert((int)MV_FMT_MALFORMED == (int)MV_ERR_INTEGRITY,
               "MV_FMT_MALFORMED must equal MV_ERR_INTEGRITY");
_Static_assert((int)MV_FMT_VERSION == (int)MV_ERR_VERSION,
               "MV_FMT_VERSION must equal MV_ERR_VERSION");
_Static_assert((int)MV_FMT_LIMIT == (int)MV_ERR_LIMIT, "MV_FMT_LIMIT must equal MV_ERR_LIMIT");

int mv_error_set(struct mv_error *err, int code, int saved_errno, const char *fmt, ...)
{
	if (!err)
		return code;
	va_list ap;
	err->code = code;
	err->saved_errno = saved_errno;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	if (saved_errno) {
		size_t n = strlen(err->msg);
		char ebuf[128];
		snprintf(err->msg + n, sizeof(err->msg) - n, ": %s",
		         mv_errno_str(saved_errno, ebuf, sizeof(ebuf)));
	}
	return code;
}

int mv_error_prefix(struct mv_error *err, int code, const char *fmt, ...)
{
	if (!err)
		return code;
	char prefix[256], old[sizeof(err->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	size_t pl = strlen(prefix);
	if (pl > sizeof(err->msg) - 3)
		pl = sizeof(err->msg) - 3;
	memcpy(err->msg, prefix, pl);
	memcpy(err->msg + pl, ": ", 2);
	size_t room = sizeof(err->msg) - pl - 3;
	size_t ol = strnlen(old, room);
	memcpy(err->msg + pl + 2, old, ol);
	err->msg[pl + 2 + ol] = '\0';
	if (!err->code)
		err->code = code;
	return err->code;
}

const char *mv_errno_str(int e, char *buf, size_t n)
{
	if (strerror_r(e, buf, n) != 0)
		snprintf(buf, n, "error %d", e);
	return buf;
}

void mv_error_clear(struct mv_error *err)
{
	if (err) {
		err->code = 0;
		err->saved_errno = 0;
		err->msg[0] = '\0';
	}
}

const char *mv_strerror(int code)
{
	switch (code) {
	case MV_OK:
		return "success";
	case MV_ERR_NOMEM:
		return "out of memory";
	case MV_ERR_IO:
		return "input/output error";
	case MV_ERR_NOREPO:
		return "no repository";
	case MV_ERR_PASSWORD:
		return "wrong password";
	case MV_ERR_LOCKED:
		return "repository locked";
	case MV_ERR_INTEGRITY:
		return "integrity error";
	case MV_ERR_VERSION:
		return "unsupported repository version";
	case MV_ERR_USAGE:
		return "invalid argument";
	case MV_ERR_NOTFOUND:
		return "not found";
	case MV_ERR_EXISTS:
		return "already exists";
	case MV_ERR_NOSPC:
		return "no space left";
	case MV_ERR_INTERRUPTED:
		return "interrupted";
	case MV_ERR_WEAKPASS:
		return "password too weak";
	case MV_ERR_PARTIAL:
		return "some files could not be read";
	case MV_ERR_AMBIGUOUS:
		return "ambiguous name";
	case MV_ERR_LIMIT:
		return "size limit exceeded";
	case MV_ERR_TRANSIENT:
		return "temporary failure";
	case MV_ERR_UNRELIABLE:
		return "overwriting is unreliable on this medium";
	}
	return "unknown error";
}
