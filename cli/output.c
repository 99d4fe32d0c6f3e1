#include "cli/output.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/exitcode.h"
#include "cli/progress.h"
#include "formats/utf8.h"

int cli_cp_unsafe(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029 ||
	       (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || c == 0x200e ||
	       c == 0x200f;
}

/* Escapes into out (which holds at least 4 * len + 1 bytes). */
static size_t term_escape(const char *s, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0, i = 0;

	while (i < len) {
		uint32_t c;
		size_t n = mv_utf8_decode(p + i, len - i, &c);
		if (n > 0 && c == '\\') {
			out[o++] = '\\';
			out[o++] = '\\';
		} else if (n > 0 && !cli_cp_unsafe(c)) {
			memcpy(out + o, p + i, n);
			o += n;
		} else {
			size_t bytes = n > 0 ? n : 1;
			for (size_t k = 0; k < bytes; k++) {
				out[o++] = '\\';
				out[o++] = 'x';
				out[o++] = hex[p[i + k] >> 4];
				out[o++] = hex[p[i + k] & 15];
			}
			n = bytes;
		}
		i += n;
	}
	out[o] = '\0';
	return o;
}

char *cli_term_dup(const char *s, size_t len)
{
	size_t cap;
	char *out;

	if (mv_size_mul(len, 4, &cap) != 0 || mv_size_add(cap, 1, &cap) != 0)
		return NULL;
	out = malloc(cap);
	if (out)
		term_escape(s, len, out);
	return out;
}

void cli_term_put(FILE *f, const char *s, size_t len)
{
	char buf[1024];

	/* in slices, so that long paths need no allocation; a slice boundary
	 * may split a UTF-8 sequence, so cut only before a lead byte */
	while (len > 0) {
		size_t n = len < 255 ? len : 255;
		while (n < len && n > 252 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
		size_t o = term_escape(s, n, buf);
		fwrite(buf, 1, o, f);
		s += n;
		len -= n;
	}
}

size_t cli_term_width(const char *escaped)
{
	size_t w = 0;

	for (const unsigned char *p = (const unsigned char *)escaped; *p; p++)
		if ((*p & 0xc0) != 0x80)
			w++;
	return w;
}

static void vmessage(const char *prefix, const char *fmt, va_list ap)
{
	char small[1024], *msg = small;
	va_list ap2;

	/* whole, however long the paths in it: a message cut short could
	 * hide its reason */
	va_copy(ap2, ap);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	if (n >= (int)sizeof(small) && (msg = malloc((size_t)n + 1)) != NULL)
		vsnprintf(msg, (size_t)n + 1, fmt, ap2);
	else
		msg = small;
	va_end(ap2);
	cli_progress_clear_line();
	fputs(prefix, stderr);
	cli_term_put(stderr, msg, strlen(msg));
	fputc('\n', stderr);
	if (msg != small)
		free(msg);
}

void cli_report(const char *prefix, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage(prefix, fmt, ap);
	va_end(ap);
}

void cli_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage("medvault: ", fmt, ap);
	va_end(ap);
}

void cli_warning(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage("warning: ", fmt, ap);
	va_end(ap);
}

int cli_fail(int code, const struct mv_error *err)
{
	if (err && err->msg[0])
		cli_error("%s", err->msg);
	else
		cli_error("%s", mv_strerror(code));
	return cli_exit_code(code);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage("medvault: ", fmt, ap);
	va_end(ap);
	if (cmd)
		fprintf(stderr, "Try 'medvault %s --help' for more information.\n", cmd);
	else
		fputs("Try 'medvault --help' for more information.\n", stderr);
	return CLI_EXIT_USAGE;
}

char *cli_fmt_bytes(uint64_t n, char buf[CLI_FMT_LEN])
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	double v = (double)n;
	size_t u = 0;

	if (n < 1024) {
		snprintf(buf, CLI_FMT_LEN, "%llu B", (unsigned long long)n);
		return buf;
	}
	v /= 1024;
	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	snprintf(buf, CLI_FMT_LEN, "%.3f %s", v, units[u]);
	return buf;
}

char *cli_fmt_duration(double seconds, char buf[CLI_FMT_LEN])
{
	unsigned long long s;

	if (!(seconds >= 0) || seconds > 1e12)
		seconds = 0;
	s = (unsigned long long)(seconds + 0.5);
	if (s >= 3600)
		snprintf(buf, CLI_FMT_LEN, "%llu:%02llu:%02llu", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(buf, CLI_FMT_LEN, "%llu:%02llu", s / 60, s % 60);
	return buf;
}

/* Splits ns since the epoch into seconds and a non-negative remainder and
 * converts to local time. Returns 0 or -1. */
static int local_tm(int64_t ns, struct tm *tm, long *frac)
{
	int64_t sec = ns / 1000000000, rem = ns % 1000000000;
	time_t t;

	if (rem < 0) {
		rem += 1000000000;
		sec--;
	}
	t = (time_t)sec;
	*frac = (long)rem;
	return localtime_r(&t, tm) ? 0 : -1;
}

char *cli_fmt_time_local(int64_t ns, char buf[CLI_FMT_LEN])
{
	struct tm tm;
	long frac;

	if (local_tm(ns, &tm, &frac) != 0 ||
	    strftime(buf, CLI_FMT_LEN, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, CLI_FMT_LEN, "(invalid time)");
	return buf;
}

char *cli_fmt_time_rfc3339(int64_t ns, char buf[CLI_FMT_LEN])
{
	struct tm tm;
	long frac, off;
	size_t n;

	if (local_tm(ns, &tm, &frac) != 0 ||
	    (n = strftime(buf, CLI_FMT_LEN, "%Y-%m-%dT%H:%M:%S", &tm)) == 0) {
		snprintf(buf, CLI_FMT_LEN, "1970-01-01T00:00:00Z");
		return buf;
	}
	off = tm.tm_gmtoff;
	if (off == 0) {
		snprintf(buf + n, CLI_FMT_LEN - n, ".%09ldZ", frac);
	} else {
		char sign = off < 0 ? '-' : '+';
		if (off < 0)
			off = -off;
		snprintf(buf + n, CLI_FMT_LEN - n, ".%09ld%c%02ld:%02ld", frac, sign, off / 3600,
		         off / 60 % 60);
	}
	return buf;
}

void cli_warn_item(const char *path, const char *msg)
{
	if (strncmp(msg, "damaged", 7) == 0) {
		const char *rest = msg + 7;
		rest += strspn(rest, ": ");
		if (*rest)
			cli_report("damaged: ", "'%s': %s", path, rest);
		else
			cli_report("damaged: ", "'%s'", path);
	} else {
		cli_warning("'%s': %s", path, msg);
	}
}

void cli_put_count(const char *before, uint64_t n, const char *after)
{
	if (n)
		printf("%s%llu%s\n", before, (unsigned long long)n, after);
}
