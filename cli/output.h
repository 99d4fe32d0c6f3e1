/* Human output: messages on stderr, terminal-safe names, numbers, times.
 *
 * Every name, path or message that comes from a repository or a file
 * system is escaped before it reaches a terminal (a file name can hold
 * escape sequences): see cli_term_put. Machine output is in cli/json.h. */
#ifndef MV_CLI_OUTPUT_H
#define MV_CLI_OUTPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/util/err.h"

#define CLI_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* "<prefix><message>" on stderr, the message escaped (cli_term_put), after
 * clearing the progress line. */
void cli_report(const char *prefix, const char *fmt, ...) CLI_PRINTF(2, 3);
/* "medvault: <message>" on stderr (escaped). */
void cli_error(const char *fmt, ...) CLI_PRINTF(1, 2);
/* "warning: <message>" on stderr (escaped). */
void cli_warning(const char *fmt, ...) CLI_PRINTF(1, 2);
/* Prints the engine's message (err->msg, or mv_strerror(code) when empty)
 * as cli_error does and returns cli_exit_code(code). */
/* An engine warning about one file of a snapshot being read back (restore,
 * dump): "damaged: 'PATH': why" when msg starts with "damaged", else a
 * warning "'PATH': msg". */
void cli_warn_item(const char *path, const char *msg);

int cli_fail(int code, const struct mv_error *err);
/* Prints "medvault: <message>" and a hint to `medvault CMD --help`
 * (cmd may be NULL) and returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) CLI_PRINTF(2, 3);

/* 1 for code points that must not reach a terminal as they are: C0 and C1
 * controls, DEL, U+2028/U+2029, bidirectional marks and overrides. */
int cli_cp_unsafe(uint32_t c);

/* Writes len bytes of s for a terminal: printable UTF-8 as is; control
 * characters (C0, DEL, C1), line and paragraph separators, bidirectional
 * overrides and every byte that is not valid UTF-8 as \xNN (each byte of
 * the sequence); a backslash as \\. The result is one line, and the
 * original bytes can be recovered from it. */
void cli_term_put(FILE *f, const char *s, size_t len);
/* The same into a malloc'd NUL-terminated string; NULL when out of memory. */
char *cli_term_dup(const char *s, size_t len);
/* Columns an escaped (cli_term_dup) string takes: code points, counting
 * East Asian wide characters as one (close enough for our tables). */
size_t cli_term_width(const char *escaped);

/* Human numbers and times. */
#define CLI_FMT_LEN 48
/* "512 B", "1.500 KiB", "3.250 GiB" (1024-based, as restic) */
/* Prints "<before>N<after>\n" on stdout, only when n is not 0. */
void cli_put_count(const char *before, uint64_t n, const char *after);

char *cli_fmt_bytes(uint64_t n, char buf[CLI_FMT_LEN]);
/* "0:07", "12:34", "1:02:03" */
char *cli_fmt_duration(double seconds, char buf[CLI_FMT_LEN]);
/* Local time "2024-05-01 02:00:01" */
char *cli_fmt_time_local(int64_t ns, char buf[CLI_FMT_LEN]);
/* RFC 3339 with nanoseconds and the local UTC offset:
 * "2024-05-01T02:00:01.123456789+02:00" ("Z" for UTC). */
char *cli_fmt_time_rfc3339(int64_t ns, char buf[CLI_FMT_LEN]);

#endif
