/* The wipe certificate: written from a wipe's report, signed, saved with
 * its PDF, verified (wipecert.h, docs/CERTIFICATE.md). */
#include "cli/wipecert.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cli/json.h"
#include "cli/output.h"
#include "cli/wipepdf.h"
#include "core/repo/crypto.h"
#include "core/util/fdio.h"
#include "core/wipe/sign.h"

/* Containers nested deeper than this are written on one line (an item of
 * the file list is one line). */
#define BREAK_DEPTH 2

/* A fixed-size string field of the report: null when empty. */
#define FIELD(j, key, arr) opt_str((j), (key), (arr), sizeof(arr))

static void opt_str(struct cli_json *j, const char *key, const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	if (n == 0)
		cli_json_str(j, key, NULL);
	else
		cli_json_strn(j, key, s, n);
}

/* A hash or id: null when the report has none. */
static void opt_hex(struct cli_json *j, const char *key, int has, const uint8_t id[32])
{
	if (has)
		cli_json_hex(j, key, id, 32);
	else
		cli_json_str(j, key, NULL);
}

const char *cli_wipe_status_name(int status)
{
	switch (status) {
	case MV_WIPE_WIPED:
		return "wiped";
	case MV_WIPE_REFUSED:
		return "refused";
	case MV_WIPE_PARTIAL:
		return "partial";
	case MV_WIPE_FAILED:
		return "failed";
	}
	return "unknown";
}

const char *cli_wipe_method_type(const struct mv_wipe_report *rep)
{
	return rep->mode == MV_WIPE_REPOSITORY ? "Purge" : "Clear";
}

const char *cli_wipe_verification_result(const struct mv_wipe_report *rep)
{
	if (rep->interrupted && !rep->verified)
		return rep->bytes_overwritten ? "not finished: the run was interrupted"
		                              : "nothing overwritten: the run was interrupted";
	if (rep->bytes_overwritten == 0)
		return "nothing overwritten";
	return rep->verified ? "passed" : "failed";
}

/* t (Unix seconds) as UTC: 0, or -1 when out of range (buf then gets the
 * number itself). */
static int utc_tm(int64_t t, struct tm *tm, char *buf, size_t cap)
{
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, tm))
		return 0;
	snprintf(buf, cap, "%lld", (long long)t);
	return -1;
}

char *cli_wipe_time_utc(int64_t t, char buf[CLI_WIPE_TIME_LEN])
{
	struct tm tm;

	if (utc_tm(t, &tm, buf, CLI_WIPE_TIME_LEN) == 0 &&
	    strftime(buf, CLI_WIPE_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		buf[0] = '\0';
	return buf;
}

char *cli_wipecert_default_name(int64_t t, char buf[CLI_WIPECERT_NAME_LEN])
{
	struct tm tm;

	if (utc_tm(t, &tm, buf, CLI_WIPECERT_NAME_LEN) != 0 ||
	    strftime(buf, CLI_WIPECERT_NAME_LEN, "medvault-wipe-%Y%m%d-%H%M%SZ.json", &tm) == 0)
		snprintf(buf, CLI_WIPECERT_NAME_LEN, "medvault-wipe-%lld.json", (long long)t);
	return buf;
}

void cli_wipe_count(const struct mv_wipe_report *rep, size_t count[5])
{
	memset(count, 0, 5 * sizeof(count[0]));
	for (size_t i = 0; i < rep->nitems; i++) {
		int s = rep->items[i].status;
		count[s >= MV_WIPE_WIPED && s <= MV_WIPE_FAILED ? s : 0]++;
	}
}

static const char *mode_name(int mode)
{
	switch (mode) {
	case MV_WIPE_FILES:
		return "files";
	case MV_WIPE_DEVICE:
		return "device";
	case MV_WIPE_REPOSITORY:
		return "repository";
	}
	return "unknown";
}

static void write_media(struct cli_json *j, const struct mv_wipe_report *rep)
{
	const struct mv_wipe_medium *m = &rep->medium;

	cli_json_begin_object(j, "media");
	FIELD(j, "type", m->kind);
	FIELD(j, "make", m->vendor);
	FIELD(j, "model", m->model);
	FIELD(j, "serial", m->serial);
	FIELD(j, "device", m->device);
	FIELD(j, "filesystem", m->fs_type);
	if (m->size)
		cli_json_u64(j, "size", m->size);
	else
		cli_json_str(j, "size", NULL);
	FIELD(j, "hidden_area", m->hidden_area);
	FIELD(j, "source", rep->target);
	cli_json_bool(j, "unreliable", m->unreliable);
	FIELD(j, "notes", m->notes);
	cli_json_end_object(j);
}

static void write_sanitization(struct cli_json *j, const struct mv_wipe_report *rep)
{
	char t[CLI_WIPE_TIME_LEN];

	cli_json_begin_object(j, "sanitization");
	cli_json_str(j, "scope", mode_name(rep->mode));
	cli_json_str(j, "method_type", cli_wipe_method_type(rep));
	FIELD(j, "method", rep->method);
	cli_json_u64(j, "passes", rep->passes);
	FIELD(j, "pattern", rep->pattern);
	FIELD(j, "tool", rep->tool);
	cli_json_begin_object(j, "verification");
	FIELD(j, "method", rep->verification);
	cli_json_str(j, "result", cli_wipe_verification_result(rep));
	cli_json_end_object(j);
	cli_json_str(j, "start", cli_wipe_time_utc(rep->start, t));
	cli_json_str(j, "end", cli_wipe_time_utc(rep->end, t));
	cli_json_end_object(j);
}

static void write_items(struct cli_json *j, const struct mv_wipe_report *rep)
{
	cli_json_begin_array(j, "items");
	for (size_t i = 0; i < rep->nitems; i++) {
		const struct mv_wipe_item *it = &rep->items[i];
		cli_json_begin_object(j, NULL);
		cli_json_name(j, "path", it->path, strlen(it->path));
		cli_json_u64(j, "size", it->size);
		opt_hex(j, "content", it->has_content, it->content);
		opt_hex(j, "snapshot", it->has_snapshot, it->snapshot);
		cli_json_str(j, "status", cli_wipe_status_name(it->status));
		cli_json_str(j, "reason", it->reason);
		cli_json_end_object(j);
	}
	cli_json_end_array(j);
}

/* The certificate object, compact, on f. */
static void write_object(FILE *f, const struct mv_wipe_report *rep)
{
	struct cli_json j;
	size_t count[5];

	cli_json_init(&j, f);
	cli_json_begin_object(&j, NULL);
	cli_json_str(&j, "format", "medvault wipe certificate");
	cli_json_u64(&j, "version", 1);
	cli_json_str(&j, "standard",
	             "NIST SP 800-88 Rev. 1, Appendix G: certificate of sanitization");
	cli_json_begin_object(&j, "person_performing");
	FIELD(&j, "name", rep->operator_name);
	cli_json_end_object(&j);
	FIELD(&j, "host", rep->host);
	write_media(&j, rep);
	write_sanitization(&j, rep);
	cli_json_begin_object(&j, "backup");
	opt_hex(&j, "repository", rep->has_repo, rep->repo_id);
	opt_hex(&j, "snapshot", rep->has_snapshot, rep->snapshot);
	if (rep->mode == MV_WIPE_FILES)
		cli_json_bool(&j, "checked", rep->backup_checked);
	cli_json_end_object(&j);
	cli_json_bool(&j, "interrupted", rep->interrupted);
	FIELD(&j, "limits", rep->limits);
	cli_wipe_count(rep, count);
	cli_json_begin_object(&j, "totals");
	cli_json_u64(&j, "items", rep->nitems);
	cli_json_u64(&j, "wiped", count[MV_WIPE_WIPED]);
	cli_json_u64(&j, "refused", count[MV_WIPE_REFUSED]);
	cli_json_u64(&j, "partial", count[MV_WIPE_PARTIAL]);
	cli_json_u64(&j, "failed", count[MV_WIPE_FAILED]);
	cli_json_u64(&j, "bytes_overwritten", rep->bytes_overwritten);
	cli_json_u64(&j, "bytes_verified", rep->bytes_verified);
	cli_json_u64(&j, "folders_removed", rep->folders_removed);
	cli_json_end_object(&j);
	write_items(&j, rep);
	cli_json_end_object(&j);
}

static void indent(FILE *f, unsigned depth)
{
	fputc('\n', f);
	for (unsigned i = 0; i < depth; i++)
		fputs("  ", f);
}

/* Re-writes compact JSON (cli_json's: no white space outside strings but
 * the final newline) indented: a container at depth <= BREAK_DEPTH has one
 * member per line, deeper ones stay on one line. The top-level object is at
 * depth 1 (it sits in the certificate file's outer object). */
static void pretty(FILE *f, const char *s, size_t n)
{
	unsigned depth = 0;
	int in_str = 0, esc = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (in_str) {
			fputc(c, f);
			if (esc)
				esc = 0;
			else if (c == '\\')
				esc = 1;
			else if (c == '"')
				in_str = 0;
			continue;
		}
		switch (c) {
		case '"':
			in_str = 1;
			fputc(c, f);
			break;
		case '{':
		case '[':
			fputc(c, f);
			depth++;
			if (i + 1 < n && s[i + 1] != '}' && s[i + 1] != ']' && depth <= BREAK_DEPTH)
				indent(f, depth + 1);
			break;
		case '}':
		case ']':
			if (i > 0 && s[i - 1] != '{' && s[i - 1] != '[' && depth <= BREAK_DEPTH)
				indent(f, depth);
			fputc(c, f);
			depth--;
			break;
		case ',':
			fputc(c, f);
			if (depth <= BREAK_DEPTH)
				indent(f, depth + 1);
			else
				fputc(' ', f);
			break;
		case ':':
			fputs(": ", f);
			break;
		case '\n':
		case ' ':
			break;
		default:
			fputc(c, f);
		}
	}
}

int cli_wipecert_object(const struct mv_wipe_report *rep, char **out, size_t *out_len,
                        struct mv_error *err)
{
	char *compact = NULL;
	size_t clen = 0;
	FILE *f;
	int failed;

	*out = NULL;
	*out_len = 0;
	f = open_memstream(&compact, &clen);
	if (!f)
		return mv_error_set(err, MV_ERR_NOMEM, errno, "out of memory for the certificate");
	write_object(f, rep);
	failed = ferror(f);
	if (fclose(f) != 0 || failed) {
		free(compact);
		return mv_error_set(err, MV_ERR_NOMEM, errno, "out of memory for the certificate");
	}
	f = open_memstream(out, out_len);
	if (!f) {
		free(compact);
		return mv_error_set(err, MV_ERR_NOMEM, errno, "out of memory for the certificate");
	}
	pretty(f, compact, clen);
	free(compact);
	failed = ferror(f);
	if (fclose(f) != 0 || failed) {
		free(*out);
		*out = NULL;
		*out_len = 0;
		return mv_error_set(err, MV_ERR_NOMEM, errno, "out of memory for the certificate");
	}
	return 0;
}

int cli_wipecert_build(const struct mv_wipe_report *rep, const uint8_t pk[32], const uint8_t *sk,
                       uint8_t **out, size_t *out_len, struct mv_error *err)
{
	char *obj;
	size_t len;
	int rc;

	*out = NULL;
	*out_len = 0;
	rc = cli_wipecert_object(rep, &obj, &len, err);
	if (rc < 0)
		return rc;
	rc = mv_cert_sign((const uint8_t *)obj, len, pk, sk, out, out_len, err);
	free(obj);
	return rc;
}

char *cli_wipecert_pdf_path(const char *path)
{
	size_t n = strlen(path), stem = n;
	char *p;

	if (n > 5 && strcmp(path + n - 5, ".json") == 0)
		stem = n - 5;
	p = malloc(stem + 5);
	if (!p)
		return NULL;
	memcpy(p, path, stem);
	memcpy(p + stem, ".pdf", 5);
	return p;
}

/* A file being written: a temporary name in the folder of the final one. */
struct out_file {
	int dirfd;
	const char *path; /* for messages */
	const char *base; /* the final name in dirfd */
	char tmp[80];     /* the temporary name in dirfd */
	int fd;
};

/* Opens the folder of path (dirfd) and sets base to the last component. */
static int open_parent(const char *path, int *dirfd, const char **base, struct mv_error *err)
{
	const char *slash = strrchr(path, '/');
	char *dir;

	*base = slash ? slash + 1 : path;
	if (**base == '\0' || strcmp(*base, ".") == 0 || strcmp(*base, "..") == 0)
		return mv_error_set(err, MV_ERR_USAGE, 0, "'%s' does not name a file", path);
	if (!slash)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (!dir)
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	*dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int e = errno;
	free(dir);
	if (*dirfd < 0)
		return mv_error_set(err, MV_ERR_IO, e, "cannot open the folder of '%s': %s", path,
		                    strerror(e));
	return 0;
}

static int io_error(struct mv_error *err, int e, const char *what, const char *path)
{
	return mv_error_set(err, e == ENOSPC ? MV_ERR_NOSPC : MV_ERR_IO, e, "cannot %s '%s': %s",
	                    what, path, strerror(e));
}

static int out_begin(struct out_file *o, struct mv_error *err)
{
	uint8_t rnd[8];
	char hex[17];

	randombytes_buf(rnd, sizeof(rnd));
	mv_hex(rnd, sizeof(rnd), hex);
	snprintf(o->tmp, sizeof(o->tmp), ".medvault-cert-%s.tmp", hex);
	o->fd = openat(o->dirfd, o->tmp,
	               O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (o->fd < 0)
		return io_error(err, errno, "create a temporary file beside", o->path);
	return 0;
}

/* Moves the temporary file onto its name: never replacing an existing
 * file unless overwrite (renameat2 RENAME_NOREPLACE, or link + unlink where
 * the file system lacks it). */
static int out_commit(struct out_file *o, int overwrite, struct mv_error *err)
{
	int rc;

	if (fsync(o->fd) != 0)
		return io_error(err, errno, "write", o->path);
	close(o->fd);
	o->fd = -1;
	if (overwrite) {
		rc = renameat(o->dirfd, o->tmp, o->dirfd, o->base);
	} else {
		rc = (int)syscall(SYS_renameat2, o->dirfd, o->tmp, o->dirfd, o->base,
		                  1u /* RENAME_NOREPLACE */);
		if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) {
			rc = linkat(o->dirfd, o->tmp, o->dirfd, o->base, 0);
			if (rc == 0)
				(void)unlinkat(o->dirfd, o->tmp, 0);
		}
	}
	if (rc != 0) {
		int e = errno;
		if (e == EEXIST)
			return mv_error_set(err, MV_ERR_EXISTS, e, "'%s' exists already", o->path);
		return io_error(err, e, "create", o->path);
	}
	o->tmp[0] = '\0';
	if (fsync(o->dirfd) != 0)
		return io_error(err, errno, "write the folder of", o->path);
	return 0;
}

/* Drops what out_begin made (after a failure); accepts a file never begun. */
static void out_abort(struct out_file *o)
{
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
	if (o->tmp[0])
		(void)unlinkat(o->dirfd, o->tmp, 0);
	o->tmp[0] = '\0';
}

/* MV_ERR_EXISTS when base exists in dirfd and may not be replaced. */
static int check_free(int dirfd, const char *base, const char *path, struct mv_error *err)
{
	struct stat st;

	if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return mv_error_set(err, MV_ERR_EXISTS, EEXIST,
		                    "'%s' exists already: name a new certificate file", path);
	if (errno != ENOENT)
		return io_error(err, errno, "look at", path);
	return 0;
}

int cli_wipecert_write(const struct mv_wipe_report *rep, const uint8_t pk[32], const uint8_t *sk,
                       const char *path, int overwrite, struct mv_error *err)
{
	struct out_file js = {.dirfd = -1, .fd = -1}, pdf = {.dirfd = -1, .fd = -1};
	char fpr[MV_CERT_FPR_LEN + 1];
	uint8_t *file = NULL;
	size_t len;
	char *pdf_path = cli_wipecert_pdf_path(path);
	int rc;

	if (!pdf_path)
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	js.path = path;
	pdf.path = pdf_path;
	rc = open_parent(path, &js.dirfd, &js.base, err);
	if (rc < 0)
		goto out;
	pdf.dirfd = js.dirfd;
	pdf.base = strrchr(pdf_path, '/') ? strrchr(pdf_path, '/') + 1 : pdf_path;
	if (!overwrite) {
		rc = check_free(js.dirfd, js.base, path, err);
		if (rc == 0)
			rc = check_free(js.dirfd, pdf.base, pdf_path, err);
		if (rc < 0)
			goto out;
	}
	rc = cli_wipecert_build(rep, pk, sk, &file, &len, err);
	if (rc < 0)
		goto out;
	rc = out_begin(&js, err);
	if (rc < 0)
		goto out;
	if (mv_write_all(js.fd, file, len) != 0) {
		rc = io_error(err, errno, "write", path);
		goto out;
	}
	rc = out_commit(&js, overwrite, err);
	if (rc < 0)
		goto out;

	mv_cert_fingerprint(pk, fpr);
	rc = out_begin(&pdf, err);
	if (rc == 0)
		rc = cli_wipepdf_write(rep, fpr, pdf.fd, err);
	if (rc == 0)
		rc = out_commit(&pdf, overwrite, err);
	if (rc < 0)
		mv_error_prefix(err, rc, "the certificate '%s' is written, but not its PDF", path);
out:
	out_abort(&js);
	out_abort(&pdf);
	if (js.dirfd >= 0)
		close(js.dirfd);
	free(file);
	free(pdf_path);
	return rc;
}

/* Reads a regular file, never through a symbolic link, of at most
 * MV_CERT_MAX bytes. */
static int read_cert(const char *path, uint8_t **out, size_t *len, struct mv_error *err)
{
	struct stat st;
	uint8_t *buf = NULL;
	ssize_t n;
	int fd, rc;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return mv_error_set(err, MV_ERR_INTEGRITY, errno, "cannot open '%s': %s", path,
		                    errno == ELOOP ? "it is a symbolic link" : strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = mv_error_set(err, MV_ERR_INTEGRITY, errno, "'%s' is not a regular file", path);
		goto out;
	}
	if ((uint64_t)st.st_size > MV_CERT_MAX) {
		rc = mv_error_set(
		    err, MV_ERR_INTEGRITY, 0,
		    "'%s' has %lld bytes, more than the %zu MiB a certificate may have", path,
		    (long long)st.st_size, MV_CERT_MAX >> 20);
		goto out;
	}
	/* one byte more than allowed: a file that grew since fstat is seen */
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		rc =
		    mv_error_set(err, MV_ERR_INTEGRITY, ENOMEM, "out of memory reading '%s'", path);
		goto out;
	}
	n = mv_read_upto(fd, buf, (size_t)st.st_size + 1);
	if (n < 0 || (size_t)n != (size_t)st.st_size) {
		rc = mv_error_set(err, MV_ERR_INTEGRITY, errno, "cannot read '%s': %s", path,
		                  n < 0 ? strerror(errno) : "it changed while being read");
		goto out;
	}
	*out = buf;
	*len = (size_t)n;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

/* Prints the certificate object line by line, escaped for a terminal,
 * without the indent it has in the file. */
static void put_lines(FILE *out, const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		const uint8_t *nl = memchr(s + i, '\n', n - i);
		size_t end = nl ? (size_t)(nl - s) : n;
		if (i > 0 && end - i >= 2 && s[i] == ' ' && s[i + 1] == ' ')
			i += 2;
		cli_term_put(out, (const char *)s + i, end - i);
		fputc('\n', out);
		i = end + 1;
	}
}

int cli_wipecert_verify(const char *path, const uint8_t *expected_pk, FILE *out,
                        char fingerprint[MV_CERT_FPR_LEN + 1], struct mv_error *err)
{
	struct mv_cert_verified v;
	uint8_t *file;
	size_t len;
	char hex[2 * MV_SIGN_PK_LEN + 1];
	int rc;

	rc = read_cert(path, &file, &len, err);
	if (rc < 0)
		return rc;
	rc = mv_cert_verify(file, len, expected_pk, &v, err);
	if (rc < 0) {
		mv_error_prefix(err, MV_ERR_INTEGRITY, "'%s' does not verify", path);
		rc = MV_ERR_INTEGRITY;
		goto out;
	}
	if (fingerprint)
		memcpy(fingerprint, v.fingerprint, sizeof(v.fingerprint));
	if (!out)
		goto out;
	mv_hex(v.pk, sizeof(v.pk), hex);
	put_lines(out, v.cert, v.cert_len);
	fprintf(out, "\nsignature:   good (Ed25519)\n");
	fprintf(out, "signed by:   %s\n", v.fingerprint);
	fprintf(out, "public key:  %s\n", hex);
	if (expected_pk)
		fprintf(out, "the signer is this repository's key\n");
	else
		fprintf(out, "the signer was not compared with a repository's key: "
		             "add -r REPO to check it\n");
out:
	free(file);
	return rc;
}
