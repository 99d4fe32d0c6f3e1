#include "cli/progress.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli/output.h"

#define REDRAW_NS 200000000LL /* at most five times a second */

/* Whether a progress line is on the screen (one terminal, one line). */
static int line_shown;

static long long elapsed_ns(const struct timespec *a, const struct timespec *b)
{
	return (long long)(b->tv_sec - a->tv_sec) * 1000000000LL + (b->tv_nsec - a->tv_nsec);
}

void cli_progress_init(struct cli_progress *p, int enabled)
{
	memset(p, 0, sizeof(*p));
	p->enabled = enabled && isatty(STDERR_FILENO);
	clock_gettime(CLOCK_MONOTONIC, &p->start);
}

static int term_columns(void)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
		return ws.ws_col;
	return 80;
}

/* Appends to line (len bytes used of cap) like snprintf, never past cap. */
static size_t append(char *line, size_t cap, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static size_t append(char *line, size_t cap, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (len + 1 >= cap)
		return len;
	va_start(ap, fmt);
	n = vsnprintf(line + len, cap - len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return len;
	return (size_t)n < cap - len ? len + (size_t)n : cap - 1;
}

size_t cli_progress_format(char *line, size_t cap, const struct mv_progress *mp, double secs)
{
	char t[CLI_FMT_LEN], a[CLI_FMT_LEN], b[CLI_FMT_LEN], r[CLI_FMT_LEN], e[CLI_FMT_LEN];
	/* bytes reused without reading take no time: the rate is of those read */
	uint64_t read = mp->bytes_done > mp->bytes_reused ? mp->bytes_done - mp->bytes_reused : 0;
	double rate = secs > 0.5 ? (double)read / secs : 0;
	size_t n;

	if (cap == 0)
		return 0;
	line[0] = '\0';
	n = append(line, cap, 0, "[%s] ", cli_fmt_duration(secs, t));
	/* of the bytes, or of the files when they are all empty */
	if (mp->bytes_total > 0 || mp->files_total > 0) {
		double pct = mp->bytes_total > 0
		                 ? 100.0 * (double)mp->bytes_done / (double)mp->bytes_total
		                 : 100.0 * (double)mp->files_done / (double)mp->files_total;
		n = append(line, cap, n, "%.2f%%  ", pct > 100 ? 100.0 : pct);
	}
	n = append(line, cap, n, "%llu", (unsigned long long)mp->files_done);
	if (mp->files_total > 0)
		n = append(line, cap, n, " / %llu", (unsigned long long)mp->files_total);
	n = append(line, cap, n, " %s  %s", mp->unit ? mp->unit : "files",
	           cli_fmt_bytes(mp->bytes_done, a));
	if (mp->bytes_total > 0)
		n = append(line, cap, n, " / %s", cli_fmt_bytes(mp->bytes_total, b));
	/* the time left before the rate: a narrow terminal cuts the end */
	if (rate > 0 && mp->bytes_total > mp->bytes_done)
		n = append(line, cap, n, "  ETA %s",
		           cli_fmt_duration((double)(mp->bytes_total - mp->bytes_done) / rate, e));
	if (rate > 0)
		n = append(line, cap, n, "  %s/s", cli_fmt_bytes((uint64_t)rate, r));
	return n;
}

/* Appends the tail of the current path that fits in `room` columns. */
static void append_current(char *line, size_t cap, size_t len, const char *path, size_t room)
{
	char *esc;
	size_t w;
	const char *tail;

	if (!path || room < 8)
		return;
	esc = cli_term_dup(path, strlen(path));
	if (!esc)
		return;
	tail = esc;
	w = cli_term_width(esc);
	while (w > room - 3) { /* keep the end: the file name matters most */
		tail++;
		while (((unsigned char)*tail & 0xc0) == 0x80)
			tail++;
		w--;
	}
	snprintf(line + len, cap - len, "  %s%s", tail == esc ? "" : "...", tail);
	free(esc);
}

void cli_progress_update(struct cli_progress *p, const struct mv_progress *mp)
{
	char line[1024];
	struct timespec now;
	size_t len, cols;

	if (!p->enabled)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (line_shown && elapsed_ns(&p->last, &now) < REDRAW_NS)
		return;
	p->last = now;
	cols = (size_t)term_columns() - 1;
	len =
	    cli_progress_format(line, sizeof(line), mp, (double)elapsed_ns(&p->start, &now) / 1e9);
	if (len > cols)
		len = cols, line[len] = '\0';
	else if (cols - len > 2)
		append_current(line, sizeof(line), len, mp->current, cols - len - 2);
	fprintf(stderr, "\r%s\033[K", line);
	fflush(stderr);
	line_shown = 1;
}

void cli_progress_cb(void *arg, const struct mv_progress *mp)
{
	cli_progress_update(arg, mp);
}

void cli_progress_clear_line(void)
{
	if (line_shown) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		line_shown = 0;
	}
}

void cli_progress_done(struct cli_progress *p)
{
	if (p->enabled)
		cli_progress_clear_line();
	p->enabled = 0;
}
