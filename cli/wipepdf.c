/* The PDF rendering of a wipe certificate (wipepdf.h), with cairo's text
 * API: DejaVu Sans (fontconfig falls back to another sans-serif font). */
#include "cli/wipepdf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cairo-pdf.h>
#include <cairo.h>

#include "cli/output.h"
#include "cli/wipecert.h"
#include "core/repo/crypto.h"
#include "core/util/fdio.h"
#include "formats/utf8.h"

#define PAGE_W  595.276 /* A4 in points */
#define PAGE_H  841.890
#define MARGIN  50.0
#define BOTTOM  (PAGE_H - MARGIN - 18.0) /* the footer goes below */
#define TEXT_W  (PAGE_W - 2 * MARGIN)
#define SIZE    9.0
#define SMALL   7.5
#define LINE    (SIZE * 1.4)
#define LABEL_W 150.0
#define FONT    "DejaVu Sans"

/* Columns of the file list. */
#define COL_SIZE 52.0
#define COL_PATH 120.0

struct pdf {
	cairo_surface_t *surface;
	cairo_t *cr;
	double y; /* baseline of the next line */
	unsigned page;
	int in_files; /* repeat the file list's column titles on new pages */
	int fd;
	int write_errno; /* the first failed write */
	const char *fingerprint;
	char *scratch; /* for measuring parts of strings */
	size_t scratch_cap;
};

static cairo_status_t write_cb(void *closure, const unsigned char *data, unsigned int length)
{
	struct pdf *p = closure;

	if (p->write_errno)
		return CAIRO_STATUS_WRITE_ERROR;
	if (mv_write_all(p->fd, data, length) != 0) {
		p->write_errno = errno ? errno : EIO;
		return CAIRO_STATUS_WRITE_ERROR;
	}
	return CAIRO_STATUS_SUCCESS;
}

/* s[0..n) as valid UTF-8 for cairo: bytes that are not valid UTF-8 and code
 * points unsafe to show (controls, bidirectional overrides) become U+FFFD.
 * malloc'd, NULL when out of memory. */
static char *clean(const char *s, size_t n)
{
	const uint8_t *b = (const uint8_t *)s;
	size_t cap, o = 0;
	char *out;

	if (mv_size_mul(n, 3, &cap) != 0 || mv_size_add(cap, 1, &cap) != 0 || !(out = malloc(cap)))
		return NULL;
	for (size_t i = 0; i < n;) {
		uint32_t c;
		size_t k = mv_utf8_decode(b + i, n - i, &c);
		if (k == 0 || cli_cp_unsafe(c)) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i += k ? k : 1;
			continue;
		}
		memcpy(out + o, b + i, k);
		o += k;
		i += k;
	}
	out[o] = '\0';
	return out;
}

static void font(struct pdf *p, double size, int bold)
{
	cairo_select_font_face(p->cr, FONT, CAIRO_FONT_SLANT_NORMAL,
	                       bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(p->cr, size);
}

static void gray(struct pdf *p, double level)
{
	cairo_set_source_rgb(p->cr, level, level, level);
}

/* The first n bytes of s, NUL-terminated in scratch; NULL when out of
 * memory. */
static const char *cut(struct pdf *p, const char *s, size_t n)
{
	if (n + 1 > p->scratch_cap) {
		char *t = realloc(p->scratch, n + 1);
		if (!t)
			return NULL;
		p->scratch = t;
		p->scratch_cap = n + 1;
	}
	memcpy(p->scratch, s, n);
	p->scratch[n] = '\0';
	return p->scratch;
}

/* Width of the first n bytes of s (valid UTF-8, cut at a character). */
static double width_n(struct pdf *p, const char *s, size_t n)
{
	cairo_text_extents_t ext;
	const char *t = cut(p, s, n);

	if (!t)
		return TEXT_W * 4; /* too wide: the caller shortens */
	cairo_text_extents(p->cr, t, &ext);
	return ext.x_advance;
}

static void text_at(struct pdf *p, double x, const char *s)
{
	cairo_move_to(p->cr, x, p->y);
	cairo_show_text(p->cr, s);
}

/* Byte offsets of the characters of s (clean UTF-8, n bytes), and n after
 * them: malloc'd, *m characters; NULL when out of memory. */
static size_t *char_starts(const char *s, size_t n, size_t *m)
{
	size_t *starts = calloc(n + 1, sizeof(*starts));

	*m = 0;
	if (!starts)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			starts[(*m)++] = i;
	starts[*m] = n;
	return starts;
}

static void file_titles(struct pdf *p)
{
	font(p, SIZE, 1);
	text_at(p, MARGIN, "Status");
	text_at(p, MARGIN + COL_SIZE, "Size");
	text_at(p, MARGIN + COL_PATH, "Path (and why it was not wiped)");
	p->y += LINE;
	font(p, SIZE, 0);
}

static void footer(struct pdf *p)
{
	char line[160];

	cairo_save(p->cr);
	font(p, SMALL, 0);
	gray(p, 0.35);
	snprintf(line, sizeof(line), "medvault wipe certificate · signing key %s · page %u",
	         p->fingerprint, p->page);
	cairo_move_to(p->cr, MARGIN, PAGE_H - MARGIN + 4);
	cairo_show_text(p->cr, line);
	cairo_restore(p->cr);
}

/* Room for h more points on this page, or a new page (the caller's font
 * and colour carry over). */
static void need(struct pdf *p, double h)
{
	if (p->y + h <= BOTTOM)
		return;
	footer(p);
	cairo_show_page(p->cr);
	p->page++;
	p->y = MARGIN;
	cairo_save(p->cr);
	font(p, SMALL, 0);
	gray(p, 0.35);
	text_at(p, MARGIN, "Certificate of sanitization (continued)");
	gray(p, 0);
	p->y += LINE * 1.5;
	if (p->in_files)
		file_titles(p);
	cairo_restore(p->cr);
}

/* Bytes of the longest start of s (at a character) no wider than w; at
 * least one character (0 only when out of memory). */
static size_t fit(struct pdf *p, const char *s, double w)
{
	size_t n = strlen(s), m, lo = 1, hi, *starts;

	if (width_n(p, s, n) <= w)
		return n;
	if (!(starts = char_starts(s, n, &m)))
		return 0;
	hi = m;
	while (lo < hi) { /* the most characters that fit, at least one */
		size_t mid = lo + (hi - lo + 1) / 2;
		if (width_n(p, s, starts[mid]) <= w)
			lo = mid;
		else
			hi = mid - 1;
	}
	n = starts[lo];
	free(starts);
	return n;
}

/* Writes s (clean UTF-8) at x, wrapped to width w at spaces (at any
 * character in a word wider than a line), one line per LINE, new pages as
 * needed; label, when not NULL, is written in bold at the margin beside
 * the first line (a table's row). */
static void wrapped(struct pdf *p, double x, double w, const char *s, const char *label)
{
	int first = 1;

	do {
		size_t n = fit(p, s, w);
		if (n == 0)
			return;
		if (s[n] != '\0') {
			size_t sp = n;
			while (sp > 0 && s[sp] != ' ')
				sp--;
			if (sp > 0)
				n = sp;
		}
		need(p, LINE);
		if (first && label) { /* in bold black, then back to the value's font */
			cairo_save(p->cr);
			font(p, SIZE, 1);
			gray(p, 0);
			text_at(p, MARGIN, label);
			cairo_restore(p->cr);
		}
		first = 0;
		const char *t = cut(p, s, n);
		if (t)
			text_at(p, x, t);
		p->y += LINE;
		s += n;
		while (*s == ' ')
			s++;
	} while (*s);
}

/* out = s[0..head) "…" s[tail..n) */
static void middle_cut(char *out, const char *s, size_t n, size_t head, size_t tail)
{
	memcpy(out, s, head);
	memcpy(out + head, "\xe2\x80\xa6", 3);
	memcpy(out + head + 3, s + tail, n - tail);
	out[head + 3 + n - tail] = '\0';
}

/* s (clean UTF-8) shortened to width w with an ellipsis in the middle:
 * malloc'd, NULL when out of memory. */
static char *ellipsize(struct pdf *p, const char *s, double w)
{
	size_t n = strlen(s), m, lo = 0, hi, head, tail;
	size_t *starts;
	char *out;

	if (width_n(p, s, n) <= w)
		return strdup(s);
	if (!(starts = char_starts(s, n, &m)) || !(out = malloc(n + 4))) {
		free(starts);
		return NULL;
	}
	/* keep k characters: the first k - k/2 and the last k/2 */
	hi = m;
	while (lo < hi) {
		size_t k = lo + (hi - lo + 1) / 2;
		middle_cut(out, s, n, starts[k - k / 2], starts[m - k / 2]);
		if (width_n(p, out, strlen(out)) <= w)
			lo = k;
		else
			hi = k - 1;
	}
	head = starts[lo - lo / 2];
	tail = starts[m - lo / 2];
	middle_cut(out, s, n, head, tail);
	free(starts);
	return out;
}

static void heading(struct pdf *p, const char *title)
{
	need(p, LINE * 3);
	p->y += LINE * 0.6;
	font(p, 11.5, 1);
	text_at(p, MARGIN, title);
	p->y += 4;
	cairo_set_line_width(p->cr, 0.6);
	cairo_move_to(p->cr, MARGIN, p->y);
	cairo_line_to(p->cr, PAGE_W - MARGIN, p->y);
	cairo_stroke(p->cr);
	p->y += LINE;
	font(p, SIZE, 0);
}

/* One row of a field table: the label, and the value (n bytes, any bytes;
 * "unknown" when empty) wrapped beside it. Returns -1 when out of memory. */
static int row_n(struct pdf *p, const char *label, const char *value, size_t n)
{
	char *v = clean(n ? value : "unknown", n ? n : 7);

	if (!v)
		return -1;
	if (!n)
		gray(p, 0.4);
	wrapped(p, MARGIN + LABEL_W, TEXT_W - LABEL_W, v, label);
	gray(p, 0);
	free(v);
	return 0;
}

/* The same for a fixed-size field of the report. */
#define ROW(p, label, arr) row_n((p), (label), (arr), strnlen((arr), sizeof(arr)))

static int row(struct pdf *p, const char *label, const char *value)
{
	return row_n(p, label, value, strlen(value));
}

static int row_u64(struct pdf *p, const char *label, uint64_t v)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	return row(p, label, buf);
}

static int row_bytes(struct pdf *p, const char *label, uint64_t v)
{
	char buf[CLI_FMT_LEN + 40];
	char h[CLI_FMT_LEN];
	snprintf(buf, sizeof(buf), "%s (%llu bytes)", cli_fmt_bytes(v, h), (unsigned long long)v);
	return row(p, label, v ? buf : "0");
}

static int row_hex(struct pdf *p, const char *label, int has, const uint8_t id[32])
{
	char hex[65];
	if (!has)
		return row_n(p, label, "", 0);
	mv_hex(id, 32, hex);
	font(p, SMALL, 0); /* one line beside the label */
	int rc = row(p, label, hex);
	font(p, SIZE, 0);
	return rc;
}

static int title(struct pdf *p, const struct mv_wipe_report *rep)
{
	char t[CLI_WIPE_TIME_LEN], line[128];

	font(p, 18, 1);
	text_at(p, MARGIN, "Certificate of Sanitization");
	p->y += LINE * 1.4;
	font(p, SIZE, 0);
	gray(p, 0.3);
	snprintf(line, sizeof(line),
	         "after NIST SP 800-88 Rev. 1, Appendix G · written by medvault · %s",
	         cli_wipe_time_utc(rep->end, t));
	text_at(p, MARGIN, line);
	gray(p, 0);
	p->y += LINE;
	return 0;
}

static int media(struct pdf *p, const struct mv_wipe_report *rep)
{
	const struct mv_wipe_medium *m = &rep->medium;
	char size[CLI_FMT_LEN];
	int rc = 0;

	heading(p, "Person performing sanitization");
	rc |= ROW(p, "Name", rep->operator_name);
	rc |= ROW(p, "Computer (host)", rep->host);
	heading(p, "Media information");
	rc |= ROW(p, "Media type", m->kind);
	rc |= ROW(p, "Make / vendor", m->vendor);
	rc |= ROW(p, "Model", m->model);
	rc |= ROW(p, "Serial number", m->serial);
	rc |= ROW(p, "Device", m->device);
	rc |= ROW(p, "File system", m->fs_type);
	size[0] = '\0';
	if (m->size)
		cli_fmt_bytes(m->size, size);
	rc |= row_n(p, "Size", size, strlen(size));
	rc |= ROW(p, "Hidden areas (HPA/DCO)", m->hidden_area);
	rc |= ROW(p, "Media source (wiped)", rep->target);
	rc |= row(p, "Overwrite reliable here",
	          m->unreliable ? "NO: see the notes"
	                        : "yes, as far as "
	                          "the kernel tells");
	rc |= ROW(p, "Notes on the medium", m->notes);
	return rc;
}

static int sanitization(struct pdf *p, const struct mv_wipe_report *rep)
{
	char t[CLI_WIPE_TIME_LEN];
	static const char *scope[] = {"unknown", "files and folders", "a whole device",
	                              "a repository (crypto-erase of its key slots)"};
	int rc = 0;

	heading(p, "Sanitization");
	rc |= row(p, "Scope", scope[rep->mode >= 1 && rep->mode <= 3 ? rep->mode : 0]);
	rc |= row(p, "Method type", cli_wipe_method_type(rep));
	rc |= ROW(p, "Method", rep->method);
	rc |= row_u64(p, "Passes", rep->passes);
	rc |= ROW(p, "Pattern", rep->pattern);
	rc |= ROW(p, "Tool used", rep->tool);
	rc |= ROW(p, "Verification method", rep->verification);
	rc |= row(p, "Verification result", cli_wipe_verification_result(rep));
	rc |= row(p, "Started (UTC)", cli_wipe_time_utc(rep->start, t));
	rc |= row(p, "Ended (UTC)", cli_wipe_time_utc(rep->end, t));
	if (rep->interrupted)
		rc |= row(p, "Interrupted",
		          "yes: the run was stopped; what it had not reached was not touched");
	if (rep->mode == MV_WIPE_REPOSITORY) {
		heading(p, "Repository erased");
		rc |= row_hex(p, "Repository", rep->has_repo, rep->repo_id);
		return rc;
	}
	heading(p, rep->mode == MV_WIPE_DEVICE ? "Repository whose key signs this"
	                                       : "Backup that holds the data");
	rc |= row_hex(p, "Repository", rep->has_repo, rep->repo_id);
	if (rep->mode == MV_WIPE_DEVICE)
		return rc;
	rc |= row_hex(p, "Snapshot", rep->has_snapshot, rep->snapshot);
	rc |=
	    row(p, "Checked before wiping",
	        rep->backup_checked ? "yes: every file was found in the snapshot and its data read "
	                              "back and authenticated"
	                            : "no (--no-backup-check)");
	return rc;
}

static int totals(struct pdf *p, const struct mv_wipe_report *rep)
{
	size_t count[5];
	int rc = 0;

	cli_wipe_count(rep, count);
	heading(p, "Totals");
	rc |= row_u64(p, "Items listed", rep->nitems);
	rc |= row_u64(p, "Wiped", count[MV_WIPE_WIPED]);
	rc |= row_u64(p, "Refused (untouched)", count[MV_WIPE_REFUSED]);
	rc |= row_u64(p, "Partially overwritten", count[MV_WIPE_PARTIAL]);
	rc |= row_u64(p, "Failed", count[MV_WIPE_FAILED]);
	rc |= row_bytes(p, "Bytes overwritten", rep->bytes_overwritten);
	rc |= row_bytes(p, "Bytes verified", rep->bytes_verified);
	rc |= row_u64(p, "Folders removed", rep->folders_removed);
	heading(p, "What this wipe could not reach");
	size_t n = strnlen(rep->limits, sizeof(rep->limits));
	char *v = clean(n ? rep->limits : "nothing reported.", n ? n : 17);
	if (!v)
		return -1;
	wrapped(p, MARGIN, TEXT_W, v, NULL);
	free(v);
	if (rep->medium.unreliable) {
		n = strnlen(rep->medium.notes, sizeof(rep->medium.notes));
		v = clean(rep->medium.notes, n);
		if (!v)
			return -1;
		p->y += LINE * 0.3;
		wrapped(p, MARGIN, TEXT_W, "Overwriting is not reliable on this medium:", NULL);
		if (n)
			wrapped(p, MARGIN, TEXT_W, v, NULL);
		free(v);
	}
	return rc;
}

static void signature(struct pdf *p)
{
	char line[128];

	need(p, LINE * 13); /* the block stays on one page */
	heading(p, "Signature and verification");
	wrapped(
	    p, MARGIN, TEXT_W,
	    "The certificate itself is the JSON file of the same name, signed with Ed25519 by the "
	    "signing key of the repository; this PDF is a rendering of it for reading and carries "
	    "no signature.",
	    NULL);
	p->y += LINE * 0.3;
	font(p, SIZE, 1);
	snprintf(line, sizeof(line), "Signing key fingerprint: %s", p->fingerprint);
	wrapped(p, MARGIN, TEXT_W, line, NULL);
	font(p, SIZE, 0);
	wrapped(p, MARGIN, TEXT_W,
	        "To verify the signature, and that the signer is the repository's key:", NULL);
	cairo_select_font_face(p->cr, "DejaVu Sans Mono", CAIRO_FONT_SLANT_NORMAL,
	                       CAIRO_FONT_WEIGHT_NORMAL);
	wrapped(p, MARGIN + 12, TEXT_W - 12, "medvault wipe --verify-certificate FILE.json -r REPO",
	        NULL);
	font(p, SIZE, 0);
	need(p, LINE * 4);
	p->y += LINE * 2;
	text_at(p, MARGIN, "Signature of the person performing: ______________________");
	text_at(p, MARGIN + TEXT_W * 0.68, "Date: ______________");
	p->y += LINE;
}

static int files(struct pdf *p, const struct mv_wipe_report *rep)
{
	char size[CLI_FMT_LEN];

	heading(p, "Files");
	need(p, LINE * 2);
	p->in_files = 1;
	file_titles(p);
	for (size_t i = 0; i < rep->nitems; i++) {
		const struct mv_wipe_item *it = &rep->items[i];
		const char *ip = it->path ? it->path : "";
		char *path = clean(ip, strlen(ip)), *shown;
		if (!path)
			return -1;
		font(p, SIZE, 0);
		shown = ellipsize(p, path, TEXT_W - COL_PATH);
		free(path);
		if (!shown)
			return -1;
		need(p, LINE);
		if (it->status != MV_WIPE_WIPED)
			cairo_set_source_rgb(p->cr, 0.7, 0.1, 0.1);
		text_at(p, MARGIN, cli_wipe_status_name(it->status));
		gray(p, 0);
		text_at(p, MARGIN + COL_SIZE, cli_fmt_bytes(it->size, size));
		text_at(p, MARGIN + COL_PATH, shown);
		free(shown);
		p->y += LINE;
		if (it->reason) {
			char *r = clean(it->reason, strlen(it->reason));
			if (!r)
				return -1;
			font(p, SMALL, 0);
			gray(p, 0.3);
			wrapped(p, MARGIN + COL_PATH + 8, TEXT_W - COL_PATH - 8, r, NULL);
			gray(p, 0);
			font(p, SIZE, 0);
			free(r);
		}
	}
	if (rep->nitems == 0) {
		need(p, LINE);
		text_at(p, MARGIN + COL_PATH, "(none)");
		p->y += LINE;
	}
	p->in_files = 0;
	return 0;
}

int cli_wipepdf_write(const struct mv_wipe_report *rep, const char *fingerprint, int fd,
                      struct mv_error *err)
{
	struct pdf p = {.fd = fd, .fingerprint = fingerprint, .page = 1, .y = MARGIN + 10};
	cairo_status_t st;
	int rc = 0;

	p.surface = cairo_pdf_surface_create_for_stream(write_cb, &p, PAGE_W, PAGE_H);
	cairo_pdf_surface_set_metadata(p.surface, CAIRO_PDF_METADATA_TITLE,
	                               "Certificate of Sanitization");
	cairo_pdf_surface_set_metadata(p.surface, CAIRO_PDF_METADATA_CREATOR, "medvault");
	p.cr = cairo_create(p.surface);
	gray(&p, 0);
	if (title(&p, rep) || media(&p, rep) || sanitization(&p, rep) || totals(&p, rep))
		rc = -1;
	if (rc == 0) {
		signature(&p);
		rc = files(&p, rep);
	}
	footer(&p);
	cairo_show_page(p.cr);
	st = cairo_status(p.cr);
	cairo_destroy(p.cr);
	cairo_surface_finish(p.surface);
	if (st == CAIRO_STATUS_SUCCESS)
		st = cairo_surface_status(p.surface);
	cairo_surface_destroy(p.surface);
	free(p.scratch);
	if (p.write_errno)
		return mv_error_set(err, p.write_errno == ENOSPC ? MV_ERR_NOSPC : MV_ERR_IO,
		                    p.write_errno, "cannot write the PDF: %s",
		                    strerror(p.write_errno));
	if (rc < 0 || st != CAIRO_STATUS_SUCCESS)
		return mv_error_set(err, MV_ERR_NOMEM, 0, "cannot render the PDF: %s",
		                    rc < 0 ? "out of memory" : cairo_status_to_string(st));
	return 0;
}
