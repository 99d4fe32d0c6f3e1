#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/exitcode.h"
#include "cli/json.h"
#include "cli/output.h"
#include "cli/password.h"
#include "cli/progress.h"
#include "cli/repo_open.h"
#include "cli/select.h"
#include "core/ops/dump.h"
#include "core/medical/find.h"
#include "core/repo/keys.h"
#include "formats/archive_write.h"

enum {
	O_FORMAT = 1,
	O_ENCRYPT,
	O_ARCHIVE_PASSWORD_FILE,
	O_INSECURE,
};

static const struct cli_opt_spec opts[] = {
    {"format", 0, 1, O_FORMAT},
    {"encrypt", 0, 0, O_ENCRYPT},
    {"archive-password-file", 0, 1, O_ARCHIVE_PASSWORD_FILE},
    {"insecure-password", 0, 0, O_INSECURE},
    CLI_QUERY_OPTS,
    CLI_SNAPSHOT_OPTS,
    {NULL, 0, 0, 0},
};

static const struct cli_help_opt help_opts[] = {
    {"--format tar|zip", "the archive format (default tar; --encrypt always writes a zip)"},
    {"--encrypt", "make an AES-256 encrypted zip holding one tar (" MV_ARCHIVE_SEALED_MEMBER
                  "), names included; its password is asked twice on the terminal"},
    {"--archive-password-file FILE",
     "read the zip password from FILE instead (or MEDVAULT_ARCHIVE_PASSWORD); the file "
     "must not be readable by group or others"},
    {"--insecure-password", "accept a zip password below the CNIL threshold (not recommended)"},
    {"--patient NAME",
     "only the DICOM files of patients whose name contains NAME (case and accents ignored)"},
    {"--patient-id ID", "only the DICOM files with this PatientID"},
    {"--study UID", "only the DICOM files of this study (StudyInstanceUID)"},
    {"--series UID", "only the DICOM files of this series (SeriesInstanceUID)"},
    CLI_SNAPSHOT_HELP,
    {NULL, NULL},
};

const struct cli_help cmd_dump_help = {
    "medvault dump -r LOCATION SNAPSHOT [PATH] [--format tar|zip] [--encrypt] > FILE",
    "write a snapshot, a folder or a file as a tar or zip archive",
    "Writes SNAPSHOT (an id, a unique prefix of one, or \"latest\"), or only PATH inside\n"
    "it, to standard output as an archive. Paths are stored as in the snapshot, without\n"
    "the leading '/' (srv/imaging/...). tar (POSIX pax) keeps names byte for byte, modes,\n"
    "owners, modification times to the nanosecond, symbolic links, fifos, device nodes\n"
    "and empty folders; zip keeps names, modes, owners, symbolic links and times to the\n"
    "second, and leaves fifos and device nodes out (each is named). Writing an archive\n"
    "to a terminal is refused: redirect it to a file or a pipe.\n"
    "\n"
    "--patient, --patient-id, --study and --series select files through the snapshot's\n"
    "DICOM catalog (all given criteria must match; with PATH, only below PATH); a ZIP or\n"
    "ISO holding a matching instance is written whole. Folders are then written only on\n"
    "the way to a selected file.\n"
    "\n"
    "An archive without --encrypt holds patient data in clear: keep it on an encrypted\n"
    "disk, never send it as it is. --encrypt writes a zip encrypted with AES-256 (WinZip\n"
    "AES) holding one file, " MV_ARCHIVE_SEALED_MEMBER ", a tar of the whole selection:\n"
    "folder and file names (patient names, dates), sizes, times and link targets are\n"
    "encrypted too. Without the password, the zip shows only that name, the date of the\n"
    "export and the total size. To open it, the recipient needs the password and 7-Zip\n"
    "(Windows; on Linux '7z x FILE.zip', Debian package p7zip-full), Keka or The\n"
    "Unarchiver (macOS), or bsdtar, then opens the tar inside with the same tool or\n"
    "'tar -xf'. unzip and the tools built into Windows and macOS cannot decrypt AES\n"
    "zips. Its password is asked twice on the terminal, or read from\n"
    "--archive-password-file or MEDVAULT_ARCHIVE_PASSWORD, and must meet the CNIL rule\n"
    "that 'init' applies (zip's key derivation is fast, so only a long password resists\n"
    "guessing). Give it to the recipient another way (by phone, not in the e-mail that\n"
    "carries the file).\n"
    "\n"
    "Every file is verified against the repository. A damaged file of up to 64 MiB is\n"
    "checked whole before it is written, and left out of the archive. A larger file is\n"
    "streamed: its entry is already in the archive when damage shows, so the parts that\n"
    "cannot be read are written as zeros (the archive stays readable). Either way the\n"
    "file is named on stderr as \"damaged: 'PATH'\", everything else is written, and the\n"
    "exit code is 4 (1 when the repository could not be read: a read error, not damage):\n"
    "do not hand such an archive on without saying which files are missing.\n"
    "\n"
    "With --json, problems and a final {\"message_type\":\"summary\", \"files\", \"dirs\",\n"
    "\"bytes\", \"files_damaged\", ...} go to stderr as JSON lines (stdout is the archive).",
    help_opts,
    "medvault dump -r /media/usb/backup latest /srv/imaging/2019 --format tar > 2019.tar\n"
    "# one patient's folder as an encrypted zip, for a colleague\n"
    "medvault dump -r /media/usb/backup latest /srv/imaging/DUPONT --encrypt > export.zip\n"
    "# what the colleague does with it (7-Zip asks for the password)\n"
    "7z x export.zip && tar -xf " MV_ARCHIVE_SEALED_MEMBER "\n"
    "# one study, chosen in the DICOM catalog (see 'medvault find')\n"
    "medvault dump -r /media/usb/backup latest --study 1.2.250.1.59.3.1 --encrypt > study.zip\n"
    "# the whole snapshot, compressed\n"
    "medvault dump -r /media/usb/backup 1a2b3c4d | zstd > snapshot.tar.zst\n",
};

struct dump_args {
	const char *snapshot;
	const char *path;
	enum mv_archive_format format;
	int encrypt;
	int insecure;
	const char *password_file;
	struct mv_find_query query; /* catalog selection; all NULL: none */
};

static int parse(int argc, char **argv, struct cli_ctx *ctx, struct dump_args *a)
{
	struct cli_opt_iter it;
	int c, format_given = 0;

	cli_opt_init(&it, argc, argv, 1, opts, cli_global_opts, ctx->g.args_only);
	while ((c = cli_cmd_next(&it, &ctx->g)) != CLI_OPT_DONE) {
		if (cli_query_option(c, it.value, &a->query) ||
		    cli_snapshot_option(ctx, c, it.value))
			continue;
		switch (c) {
		case O_FORMAT:
			if (strcmp(it.value, "tar") == 0)
				a->format = MV_ARCHIVE_TAR;
			else if (strcmp(it.value, "zip") == 0)
				a->format = MV_ARCHIVE_ZIP;
			else
				return cli_usage_error("dump", "--format takes tar or zip");
			format_given = 1;
			break;
		case O_ENCRYPT:
			a->encrypt = 1;
			break;
		case O_ARCHIVE_PASSWORD_FILE:
			a->password_file = it.value;
			break;
		case O_INSECURE:
			a->insecure = 1;
			break;
		case CLI_OPT_ARG:
			if (!a->snapshot)
				a->snapshot = it.value;
			else if (!a->path)
				a->path = it.value;
			else
				return cli_usage_error("dump", "too many arguments");
			break;
		default:
			return cli_usage_error("dump", "%s", it.err);
		}
	}
	if (ctx->g.help)
		return 0;
	if (!a->snapshot)
		return cli_usage_error("dump", "which snapshot? give an id, a prefix or 'latest'");
	if (!format_given)
		a->format = a->encrypt ? MV_ARCHIVE_ZIP : MV_ARCHIVE_TAR;
	if (a->encrypt && a->format != MV_ARCHIVE_ZIP)
		return cli_usage_error("dump",
		                       "--encrypt always writes a zip (holding a tar): leave "
		                       "out --format tar");
	if (a->password_file && !a->encrypt)
		return cli_usage_error("dump", "--archive-password-file needs --encrypt");
	if (isatty(STDOUT_FILENO))
		return cli_usage_error("dump",
		                       "refusing to write an archive to the terminal: "
		                       "redirect it to a file (> out.%s) or a pipe",
		                       a->format == MV_ARCHIVE_ZIP ? "zip" : "tar");
	return 0;
}

/* The archive goes to standard output, unbuffered by stdio. */
static int write_stdout(void *arg, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	(void)arg;
	while (len > 0) {
		ssize_t n = write(STDOUT_FILENO, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = ENOSPC;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int archive_fail(struct mv_archive_writer *w, int r, struct mv_error *err)
{
	int e = mv_archive_writer_errno(w);

	if (r == MV_ARCHIVE_ERR_WRITE)
		return mv_error_set(err, e == ENOSPC ? MV_ERR_NOSPC : MV_ERR_IO, e,
		                    "cannot write the archive");
	if (r == MV_ARCHIVE_ERR_NOMEM)
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	return mv_error_set(err, MV_ERR_IO, 0, "%s", mv_archive_writer_error(w));
}

static int sink_begin(void *arg, const char *path, const struct mv_node *n, struct mv_error *err)
{
	int r = mv_archive_entry_begin(arg, path, n);

	if (r == MV_ARCHIVE_SKIPPED)
		return MV_DUMP_SKIP;
	return r ? archive_fail(arg, r, err) : 0;
}

static int sink_data(void *arg, const uint8_t *buf, size_t len, struct mv_error *err)
{
	int r = mv_archive_entry_data(arg, buf, len);

	return r ? archive_fail(arg, r, err) : 0;
}

static int sink_end(void *arg, struct mv_error *err)
{
	int r = mv_archive_entry_end(arg);

	return r ? archive_fail(arg, r, err) : 0;
}

static void on_warn(struct cli_events *e, const char *path, const char *msg)
{
	if (e->ctx->g.json)
		cli_json_error_item(stderr, path, msg);
	else
		cli_warn_item(path, msg);
}

static void print_summary(const struct cli_ctx *ctx, const struct dump_args *a,
                          const struct mv_snapshot *s, const struct mv_dump_result *res, int rc)
{
	char b[CLI_FMT_LEN], t[CLI_FMT_LEN];
	struct cli_json j;

	if (ctx->g.json) {
		cli_json_init(&j, stderr);
		cli_json_begin_object(&j, NULL);
		cli_json_str(&j, "message_type", "summary");
		cli_json_hex(&j, "snapshot_id", s->id, 32);
		cli_json_str(&j, "format", a->format == MV_ARCHIVE_ZIP ? "zip" : "tar");
		cli_json_bool(&j, "encrypted", a->encrypt);
		if (a->encrypt)
			cli_json_str(&j, "member", MV_ARCHIVE_SEALED_MEMBER);
		cli_json_u64(&j, "files", res->files);
		cli_json_u64(&j, "dirs", res->dirs);
		cli_json_u64(&j, "links", res->links);
		cli_json_u64(&j, "others", res->others);
		cli_json_u64(&j, "bytes", res->bytes);
		cli_json_u64(&j, "entries_skipped", res->skipped);
		cli_json_u64(&j, "files_damaged", res->damaged);
		cli_json_u64(&j, "files_zero_filled", res->zero_filled);
		cli_json_double(&j, "seconds_elapsed", res->seconds);
		cli_json_end_object(&j);
		return;
	}
	/* scripts get silence on success; a person at a terminal a summary */
	if (!ctx->g.quiet && (ctx->g.verbose || isatty(STDERR_FILENO)))
		fprintf(stderr, "wrote %llu file%s, %llu director%s, %s in %s (%s%s)\n",
		        (unsigned long long)res->files, res->files == 1 ? "" : "s",
		        (unsigned long long)res->dirs, res->dirs == 1 ? "y" : "ies",
		        cli_fmt_bytes(res->bytes, b), cli_fmt_duration(res->seconds, t),
		        a->format == MV_ARCHIVE_ZIP ? "zip" : "tar",
		        a->encrypt ? ", AES-256 encrypted, holding " MV_ARCHIVE_SEALED_MEMBER : "");
	if (res->damaged > 0)
		cli_error("%llu file%s %s (named above): left out of the archive, or written with "
		          "zeros in place of what could not be read",
		          (unsigned long long)res->damaged, res->damaged == 1 ? " is" : "s are",
		          rc == MV_ERR_IO ? "unreadable (the repository could not be read)"
		                          : "damaged in the repository");
}

/* The zip password, checked for strength. */
static int archive_password(struct cli_ctx *ctx, const struct dump_args *a, struct cli_secret *pw)
{
	int rc = cli_password_read_other(
	    a->password_file, "MEDVAULT_ARCHIVE_PASSWORD", "enter a password for the zip archive: ",
	    "use --archive-password-file or MEDVAULT_ARCHIVE_PASSWORD, or run on a terminal",
	    ctx->cancel, pw);

	if (rc != 0)
		return rc;
	/* a zip password can be guessed offline at high speed */
	if (!a->insecure && cli_password_check_new(pw, "archive password", "--insecure-password")) {
		cli_secret_free(pw);
		return CLI_EXIT_FATAL;
	}
	return 0;
}

static int run(struct cli_ctx *ctx, struct dump_args *a)
{
	struct mv_dump_result res;
	struct mv_error err = {0};
	struct mv_dump_opts o;
	struct mv_dump_sink sink;
	struct cli_events ev;
	struct cli_secret pw = {NULL, 0};
	struct mv_archive_writer *w = NULL;
	struct cli_snapshot_target t;
	int rc, ar;

	memset(&res, 0, sizeof(res));
	memset(&o, 0, sizeof(o));
	/* SNAPSHOT:PATH as restore takes it, or SNAPSHOT PATH as ls */
	rc = cli_snapshot_target_open(ctx, "dump", a->snapshot, a->path, &a->query,
	                              "nothing to write", &t);
	if (rc != 0)
		goto out;
	o.subpath = t.sub;
	if (cli_query_given(&a->query)) {
		o.filter = cli_selection_has;
		o.filter_arg = &t.sel;
	}
	if (a->encrypt) {
		rc = archive_password(ctx, a, &pw);
		if (rc != 0)
			goto out;
	} else if (isatty(STDERR_FILENO)) {
		cli_warning(
		    "this archive is NOT encrypted and holds patient data in clear: keep it "
		    "on an encrypted disk; to send it, use --format zip --encrypt");
	}
	/* encrypted: a tar inside the zip, so that names are encrypted too */
	w = mv_archive_writer_new(a->encrypt ? MV_ARCHIVE_TAR : a->format);
	if (!w) {
		cli_error("out of memory");
		rc = CLI_EXIT_FATAL;
		goto out;
	}
	if (a->encrypt)
		ar = mv_archive_writer_open_sealed(w, (const char *)pw.p, MV_ARCHIVE_SEALED_MEMBER,
		                                   (int64_t)time(NULL), write_stdout, NULL);
	else
		ar = mv_archive_writer_open(w, NULL, write_stdout, NULL);
	cli_secret_free(&pw); /* libarchive holds its own copy until the writer is freed */
	if (ar != MV_ARCHIVE_OK) {
		rc = cli_fail(archive_fail(w, ar, &err), &err);
		goto out;
	}

	sink = (struct mv_dump_sink){sink_begin, sink_data, sink_end, w};
	cli_events_init(&ev, ctx, on_warn, NULL);
	rc = mv_dump(t.r, &t.snap, &o, &sink, &ev.ev, &res, &err);
	cli_events_done(&ev);
	if (rc == 0 || res.finished) {
		ar = mv_archive_writer_close(w);
		if (ar != MV_ARCHIVE_OK) {
			int e = archive_fail(w, ar, &err);
			rc = err.saved_errno == EPIPE ? CLI_EXIT_FATAL : cli_fail(e, &err);
			goto out;
		}
	} else {
		/* an EPIPE (the reader went away) is not worth a message */
		rc = err.saved_errno == EPIPE ? CLI_EXIT_FATAL : cli_fail(rc, &err);
		goto out;
	}
	print_summary(ctx, a, &t.snap, &res, rc);
	rc = cli_exit_code(rc);
out:
	cli_secret_free(&pw);
	mv_archive_writer_free(w);
	cli_snapshot_target_release(&t);
	return rc;
}

int cmd_dump(int argc, char **argv, struct cli_ctx *ctx)
{
	struct dump_args a;
	int rc;

	memset(&a, 0, sizeof(a));
	rc = parse(argc, argv, ctx, &a);
	if (rc == 0)
		rc = ctx->g.help ? cli_help_command("dump") : run(ctx, &a);
	return rc;
}
