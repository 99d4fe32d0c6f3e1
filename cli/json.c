#include "cli/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/output.h"
#include "formats/utf8.h"
#include "formats/snapshot.h"

void cli_json_init(struct cli_json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
}

void cli_json_put_string(FILE *f, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	fputc('"', f);
	while (i < len) {
		uint32_t c;
		size_t n = mv_utf8_decode(p + i, len - i, &c);
		if (n == 0) {
			fputs("\xef\xbf\xbd", f); /* U+FFFD */
			i++;
			continue;
		}
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", (char)c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c == '\r')
			fputs("\\r", f);
		else if (cli_cp_unsafe(c))
			fprintf(f, "\\u%04x", (unsigned)c);
		else
			fwrite(p + i, 1, n, f);
		i += n;
	}
	fputc('"', f);
}

/* Separator and key before a value. */
static void member(struct cli_json *j, const char *key)
{
	if (j->depth > 0) {
		if (j->has_items[j->depth - 1])
			fputc(',', j->f);
		j->has_items[j->depth - 1] = 1;
	}
	if (key) {
		cli_json_put_string(j->f, key, strlen(key));
		fputc(':', j->f);
	}
}

static void open_level(struct cli_json *j, const char *key, char c)
{
	if (j->depth >= CLI_JSON_MAX_DEPTH)
		abort(); /* programmer error: our documents are shallow */
	member(j, key);
	fputc(c, j->f);
	j->has_items[j->depth++] = 0;
}

static void close_level(struct cli_json *j, char c)
{
	if (j->depth == 0)
		abort();
	j->depth--;
	fputc(c, j->f);
	if (j->depth == 0)
		fputc('\n', j->f);
}

void cli_json_begin_object(struct cli_json *j, const char *key)
{
	open_level(j, key, '{');
}

void cli_json_end_object(struct cli_json *j)
{
	close_level(j, '}');
}

void cli_json_begin_array(struct cli_json *j, const char *key)
{
	open_level(j, key, '[');
}

void cli_json_end_array(struct cli_json *j)
{
	close_level(j, ']');
}

void cli_json_strn(struct cli_json *j, const char *key, const char *s, size_t len)
{
	member(j, key);
	cli_json_put_string(j->f, s, len);
}

void cli_json_name(struct cli_json *j, const char *key, const char *s, size_t len)
{
	char hexkey[64];
	cli_json_strn(j, key, s, len);
	for (size_t i = 0; i < len;) {
		size_t n = mv_utf8_decode((const uint8_t *)s + i, len - i, NULL);
		if (n == 0) {
			snprintf(hexkey, sizeof(hexkey), "%s_hex", key);
			cli_json_hex(j, hexkey, (const uint8_t *)s, len);
			return;
		}
		i += n;
	}
}

void cli_json_str(struct cli_json *j, const char *key, const char *s)
{
	if (!s) {
		member(j, key);
		fputs("null", j->f);
		return;
	}
	cli_json_strn(j, key, s, strlen(s));
}

void cli_json_hex(struct cli_json *j, const char *key, const uint8_t *bytes, size_t n)
{
	member(j, key);
	fputc('"', j->f);
	for (size_t i = 0; i < n; i++)
		fprintf(j->f, "%02x", bytes[i]);
	fputc('"', j->f);
}

void cli_json_u64(struct cli_json *j, const char *key, uint64_t v)
{
	member(j, key);
	fprintf(j->f, "%llu", (unsigned long long)v);
}

void cli_json_i64(struct cli_json *j, const char *key, int64_t v)
{
	member(j, key);
	fprintf(j->f, "%lld", (long long)v);
}

void cli_json_double(struct cli_json *j, const char *key, double v)
{
	member(j, key);
	if (!(v == v) || v > 1e300 || v < -1e300)
		v = 0; /* JSON has no NaN or infinity */
	fprintf(j->f, "%.6f", v);
}

void cli_json_bool(struct cli_json *j, const char *key, int v)
{
	member(j, key);
	fputs(v ? "true" : "false", j->f);
}

void cli_json_begin_message(struct cli_json *j, FILE *f, const char *type)
{
	cli_json_init(j, f);
	cli_json_begin_object(j, NULL);
	cli_json_str(j, "message_type", type);
}

void cli_json_error_item(FILE *f, const char *path, const char *msg)
{
	struct cli_json j;

	cli_json_begin_message(&j, f, "error");
	cli_json_str(&j, "item", path);
	cli_json_str(&j, "message", msg);
	cli_json_end_object(&j);
}

void cli_json_summary_counts(struct cli_json *j, const struct mv_snapshot_summary *s)
{
	cli_json_u64(j, "files_new", s->files_new);
	cli_json_u64(j, "files_changed", s->files_changed);
	cli_json_u64(j, "files_unmodified", s->files_unmodified);
	cli_json_u64(j, "dirs", s->dirs);
	cli_json_u64(j, "data_blobs", s->data_blobs);
	cli_json_u64(j, "tree_blobs", s->tree_blobs);
	cli_json_u64(j, "data_added", s->bytes_added);
}
