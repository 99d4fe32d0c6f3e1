/* A small streaming JSON writer for --json output.
 *
 * Strings are bytes from file systems and repositories, not necessarily
 * UTF-8. They are written as valid JSON: valid UTF-8 passes through;
 * `"` `\`, control characters (C0, DEL, C1), U+2028/U+2029 and the
 * bidirectional marks and overrides are escaped (\n, \t, ... or \uXXXX),
 * so that JSON shown on a terminal is safe too; every byte that is not part of valid
 * UTF-8 becomes U+FFFD, the replacement character, as restic (Go) does.
 * We chose U+FFFD over \u00NN because \u00NN would silently turn the byte
 * 0xE9 into the character "é", a wrong name that looks right, whereas
 * U+FFFD shows plainly that the name was not representable. */
#ifndef MV_CLI_JSON_H
#define MV_CLI_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct mv_snapshot_summary;

#define CLI_JSON_MAX_DEPTH 16

struct cli_json {
	FILE *f;
	unsigned depth;
	unsigned char has_items[CLI_JSON_MAX_DEPTH];
};

void cli_json_init(struct cli_json *j, FILE *f);

/* `key` is the member name inside an object, NULL inside an array or at
 * the top level. Closing the top-level value writes a newline. */
void cli_json_begin_object(struct cli_json *j, const char *key);
void cli_json_end_object(struct cli_json *j);
void cli_json_begin_array(struct cli_json *j, const char *key);
void cli_json_end_array(struct cli_json *j);

void cli_json_str(struct cli_json *j, const char *key, const char *s); /* NULL: null */
void cli_json_strn(struct cli_json *j, const char *key, const char *s, size_t len);
void cli_json_hex(struct cli_json *j, const char *key, const uint8_t *bytes, size_t n);
/* A name from a file system (a path): as cli_json_strn and, when its bytes
 * are not valid UTF-8 (the string then shows U+FFFD), also "<key>_hex" with
 * the bytes in hex, so that two names that differ only there stay apart. */
void cli_json_name(struct cli_json *j, const char *key, const char *s, size_t len);
void cli_json_u64(struct cli_json *j, const char *key, uint64_t v);
void cli_json_i64(struct cli_json *j, const char *key, int64_t v);
void cli_json_double(struct cli_json *j, const char *key, double v);
void cli_json_bool(struct cli_json *j, const char *key, int v);

/* Starts a top-level object {"message_type":type, ...} on f; the caller
 * adds its members and ends it. */
void cli_json_begin_message(struct cli_json *j, FILE *f, const char *type);

/* Writes s as a JSON string literal (with the quotes). */
/* One object {"message_type":"error","item":path,"message":msg} on f: a
 * warning of the engine about one item, in the --json output. */
void cli_json_error_item(FILE *f, const char *path, const char *msg);

/* The counts of a snapshot summary that backup and snapshots print alike:
 * files_new to data_added. */
void cli_json_summary_counts(struct cli_json *j, const struct mv_snapshot_summary *s);

void cli_json_put_string(FILE *f, const char *s, size_t len);

#endif
