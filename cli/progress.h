/* A one-line progress display on stderr: percentage, counts, rate and ETA.
 *
 * Only on a terminal (isatty(2)), never with -q or --json; redrawn at most
 * five times a second and cleared at the end, so a finished command leaves
 * no trace of it. Messages printed through cli/output.h clear the line
 * first (the next update redraws it). */
#ifndef MV_CLI_PROGRESS_H
#define MV_CLI_PROGRESS_H

#include <time.h>

#include "core/util/events.h"

struct cli_progress {
	int enabled;
	struct timespec start;
	struct timespec last;
};

/* enabled is forced off unless stderr is a terminal. */
void cli_progress_init(struct cli_progress *p, int enabled);
/* Redraws the line from the engine's counters (rate-limited). */
void cli_progress_update(struct cli_progress *p, const struct mv_progress *mp);
/* Formats the counters, secs seconds after the start, into line (cap > 0
 * bytes, NUL-terminated, cut to fit) and returns its length:
 * "[0:12] 45.20%  120 / 300 files  1.200 GiB / 2.500 GiB  ETA 0:19  98.000 MiB/s".
 * The percentage (of the bytes, or of the files when bytes_total is 0) and
 * the totals appear once a total is known; the rate after half a second;
 * the time left (remaining bytes at the rate so far) when both are known
 * and something remains. The rate counts the bytes read, not those
 * reused (bytes_reused). */
size_t cli_progress_format(char *line, size_t cap, const struct mv_progress *mp, double secs);
/* Clears the line at the end of the operation. */
void cli_progress_done(struct cli_progress *p);
/* An mv_events.progress callback: arg is a struct cli_progress. */
void cli_progress_cb(void *arg, const struct mv_progress *mp);
/* Erases the line if one is shown (before another message goes to stderr). */
void cli_progress_clear_line(void);

#endif
