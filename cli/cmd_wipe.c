/* medvault wipe: the secure wipe of unencrypted copies once a snapshot
 * provably holds them, of whole devices, and the crypto-erase of a
 * repository (SECURITY.md 6b). The engine is core/wipe/; this file parses
 * the command line, asks for confirmation, prints, signs the certificate
 * (cli/wipecert.h) and keeps the wipe record in the repository (FORMAT.md
 * section 14). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cli/commands.h"
#include "cli/exitcode.h"
#include "cli/json.h"
#include "cli/output.h"
#include "cli/repo_open.h"
#include "cli/wipecert.h"
#include "core/wipe/sign.h"
#include "core/backend/backend.h"
#include "core/repo/crypto.h"
#include "core/repo/index.h"
#include "core/util/grow.h"
#include "core/wipe/journal.h"
#include "core/wipe/medium.h"
#include "core/wipe/overwrite.h"
#include "core/wipe/proof.h"
#include "core/wipe/wipe.h"
#include "formats/wiperec.h"

enum {
	O_SNAPSHOT = 1,
	O_DRY_RUN,
	O_YES,
	O_CERT,
	O_OPERATOR,
	O_PASSES,
	O_PATTERN,
	O_HARDLINKED,
	O_ACCEPT,
	O_NO_CHECK,
	O_DEVICE,
	O_VERIFY_ALL,
	O_VERIFY_CERT,
	O_REPOSITORY,
	O_HISTORY,
};

static const struct cli_opt_spec opts[] = {
    {"snapshot", 0, 1, O_SNAPSHOT},
    {"dry-run", 'n', 0, O_DRY_RUN},
    {"yes", 0, 0, O_YES},
    {"certificate", 0, 1, O_CERT},
    {"operator", 0, 1, O_OPERATOR},
    {"passes", 0, 1, O_PASSES},
    {"pattern", 0, 1, O_PATTERN},
    {"include-hardlinked", 0, 0, O_HARDLINKED},
    {"accept-unreliable-medium", 0, 0, O_ACCEPT},
    {"no-backup-check", 0, 0, O_NO_CHECK},
    {"device", 0, 1, O_DEVICE},
    {"verify-all", 0, 0, O_VERIFY_ALL},
    {"verify-certificate", 0, 1, O_VERIFY_CERT},
    {"repository", 0, 0, O_REPOSITORY},
    {"history", 0, 0, O_HISTORY},
    {NULL, 0, 0, 0},
};

static const struct cli_help_opt help_opts[] = {
    {"--snapshot ID|latest", "the snapshot that must hold every file before it is wiped"},
    {"-n, --dry-run", "say what would be wiped or refused, and why; change nothing"},
    {"--yes", "do not ask for confirmation (--no-backup-check, --device, --repository)"},
    {"--certificate FILE", "write the signed certificate there (a PDF beside it); default: "
                           "medvault-wipe-DATE.json in the current folder"},
    {"--operator NAME", "who performs the wipe, for the certificate"},
    {"--passes N", "overwrite N times (default 1: NIST SP 800-88 Clear), at most 64"},
    {"--pattern random|zero|one", "what each pass writes (default random)"},
    {"--include-hardlinked", "also wipe files that have other names (hard links)"},
    {"--accept-unreliable-medium",
     "go on where overwriting cannot be relied on (flash, copy-on-write, virtual disks...)"},
    {"--no-backup-check",
     "wipe without proving that a snapshot holds the files (data never meant to be kept)"},
    {"--device DEV", "wipe a whole block device (unmounted) instead of files"},
    {"--verify-all", "with --device: read back all of it (default: a 10% sample)"},
    {"--verify-certificate FILE",
     "check a certificate's signature and print it; with -r, also that this repository "
     "signed it"},
    {"--repository", "crypto-erase the repository given with -r: overwrite its key slots"},
    {"--history", "list the wipes recorded in the repository"},
    {NULL, NULL},
};

const struct cli_help cmd_wipe_help = {
    "medvault wipe -r LOCATION --snapshot ID|latest [options] PATH...",
    "securely wipe plain copies that a snapshot provably holds",
    "Destroys the unencrypted copies of files once the backup provably holds them. For each\n"
    "file: its content hash is computed now and must equal that of a file of the snapshot,\n"
    "and every block of that file is read back from the repository and authenticated.\n"
    "Only then is the file overwritten (every allocated byte; holes stay holes), synced,\n"
    "read back past the page cache and compared, renamed to a random name, truncated and\n"
    "removed; folders emptied by the wipe are renamed and removed too, deepest first.\n"
    "A file that fails any step is left untouched and listed with the reason.\n"
    "\n"
    "Symbolic links are removed, never followed; files with other hard links are skipped;\n"
    "'/', mount points and devices are refused. Where overwriting a file does not reliably\n"
    "erase it (SSD and flash, copy-on-write or log-structured filesystems, data journalling,\n"
    "RAID and device-mapper stacks, network, FUSE and virtual disks) the wipe refuses and\n"
    "names the remedy, unless --accept-unreliable-medium. Names of wiped files and folders\n"
    "may remain in directory blocks and the filesystem journal: only a whole-device wipe\n"
    "removes them.\n"
    "\n"
    "Each run writes a certificate (NIST SP 800-88 fields, every file wiped or refused),\n"
    "signed with the repository's Ed25519 key, with a PDF beside it, and keeps a copy in\n"
    "the repository (wipe --history). An interrupted wipe names the file it was overwriting\n"
    "in the next run's certificate.\n"
    "\n"
    "Exit codes: 0 all wiped; 3 some files refused (the others wiped); 4 refused because\n"
    "the repository's copy is damaged, or a certificate does not verify;\n"
    "1 any other error: an unknown snapshot, the medium is unreliable, no room for the\n"
    "certificate (these touch nothing), or a failure during the wipe (the message says\n"
    "what); 2 a usage error: a path refused, an option missing, not confirmed (nothing\n"
    "touched); 10, 11, 12 as for every command; 130 interrupted (what was not reached is\n"
    "untouched).",
    help_opts,
    "medvault wipe -r /media/usb/backup --snapshot latest /media/old-disk/IMAGERIE\n"
    "medvault wipe -r /media/usb/backup --snapshot latest --dry-run /media/old-disk/IMAGERIE\n"
    "medvault wipe -r /media/usb/backup --snapshot latest --certificate cert.json \\\n"
    "    --operator 'Cabinet IT' --yes /media/old-disk/IMAGERIE\n"
    "medvault wipe -r /media/usb/backup --device /dev/sdc --certificate disk.json\n"
    "medvault wipe --verify-certificate cert.json -r /media/usb/backup\n"
    "medvault wipe --repository -r /media/usb/old-backup\n"
    "medvault wipe --history -r /media/usb/backup\n",
};

struct wipe_args {
	const char *snapshot, *cert, *operator_name, *device, *verify_cert;
	int dry_run, yes, hardlinked, accept, no_check, verify_all, repository, history;
	unsigned passes;
	int pattern;
	const char **paths;
	size_t npaths, cap;
};

static int parse(int argc, char **argv, struct cli_ctx *ctx, struct wipe_args *a)
{
	struct cli_opt_iter it;
	uint64_t v;
	int c;

	cli_opt_init(&it, argc, argv, 1, opts, cli_global_opts, ctx->g.args_only);
	while ((c = cli_cmd_next(&it, &ctx->g)) != CLI_OPT_DONE) {
		switch (c) {
		case O_SNAPSHOT:
			a->snapshot = it.value;
			break;
		case O_DRY_RUN:
			a->dry_run = 1;
			break;
		case O_YES:
			a->yes = 1;
			break;
		case O_CERT:
			a->cert = it.value;
			break;
		case O_OPERATOR:
			a->operator_name = it.value;
			break;
		case O_PASSES:
			if (cli_parse_u64(it.value, 1, MV_OW_MAX_PASSES, &v) != 0)
				return cli_usage_error("wipe", "--passes takes 1 to %d",
				                       MV_OW_MAX_PASSES);
			a->passes = (unsigned)v;
			break;
		case O_PATTERN:
			if (!strcmp(it.value, "random"))
				a->pattern = MV_OW_RANDOM;
			else if (!strcmp(it.value, "zero"))
				a->pattern = MV_OW_ZERO;
			else if (!strcmp(it.value, "one"))
				a->pattern = MV_OW_ONE;
			else
				return cli_usage_error("wipe",
				                       "--pattern takes random, zero or one");
			break;
		case O_HARDLINKED:
			a->hardlinked = 1;
			break;
		case O_ACCEPT:
			a->accept = 1;
			break;
		case O_NO_CHECK:
			a->no_check = 1;
			break;
		case O_DEVICE:
			a->device = it.value;
			break;
		case O_VERIFY_ALL:
			a->verify_all = 1;
			break;
		case O_VERIFY_CERT:
			a->verify_cert = it.value;
			break;
		case O_REPOSITORY:
			a->repository = 1;
			break;
		case O_HISTORY:
			a->history = 1;
			break;
		case CLI_OPT_ARG:
			if (mv_grow(a->paths, a->cap, a->npaths + 1) != 0)
				return cli_usage_error("wipe", "out of memory");
			a->paths[a->npaths++] = it.value;
			break;
		default:
			return cli_usage_error("wipe", "%s", it.err);
		}
	}
	int modes = !!a->device + !!a->verify_cert + a->repository + a->history;
	if (modes > 1)
		return cli_usage_error("wipe", "--device, --verify-certificate, --repository and "
		                               "--history exclude each other");
	if (modes == 1 && a->npaths > 0)
		return cli_usage_error("wipe", "unexpected argument '%s'", a->paths[0]);
	if (modes == 0 && a->npaths == 0)
		return cli_usage_error("wipe", "name the files or folders to wipe");
	if (modes == 0 && !a->snapshot && !a->no_check)
		return cli_usage_error("wipe", "name the snapshot that holds the files "
		                               "(--snapshot latest), or --no-backup-check");
	return 0;
}

/* ---- asking ------------------------------------------------------------------ */

/* Asks on the terminal for `expected` typed back; 0 when it was. Without
 * a terminal the caller must have been given --yes. */
static int confirm(const char *question, const char *expected)
{
	char line[512];
	if (!isatty(STDIN_FILENO)) {
		cli_error("%s: not on a terminal, so nobody can confirm; add --yes", question);
		return CLI_EXIT_USAGE;
	}
	fprintf(stderr, "%s\nType '%s' to go on: ", question, expected);
	fflush(stderr);
	if (!fgets(line, sizeof(line), stdin))
		return CLI_EXIT_USAGE;
	line[strcspn(line, "\n")] = '\0';
	if (strcmp(line, expected) != 0) {
		cli_error("not confirmed: nothing was changed");
		return CLI_EXIT_USAGE;
	}
	return 0;
}

/* ---- output -------------------------------------------------------------------- */

static const char *status_word(int s, int dry)
{
	return dry && s == MV_WIPE_WIPED ? "would wipe" : cli_wipe_status_name(s);
}

struct cert_slot;

struct out {
	struct cli_ctx *ctx;
	struct cli_events *ev;
	struct cert_slot *cs;
};

static void on_item(void *arg, const struct mv_wipe_item *it, int dry)
{
	struct out *o = arg;
	if (o->ctx->g.json) {
		struct cli_json j;
		cli_json_init(&j, stdout);
		cli_json_begin_object(&j, NULL);
		cli_json_str(&j, "message_type", "item");
		cli_json_name(&j, "path", it->path, strlen(it->path));
		cli_json_u64(&j, "size", it->size);
		cli_json_str(&j, "status",
		             dry && it->status == MV_WIPE_WIPED ? "would_wipe"
		                                                : cli_wipe_status_name(it->status));
		if (it->reason)
			cli_json_str(&j, "reason", it->reason);
		cli_json_end_object(&j);
		return;
	}
	if (o->ctx->g.quiet && it->status == MV_WIPE_WIPED)
		return;
	if (it->status == MV_WIPE_WIPED && !o->ctx->g.verbose && !dry)
		return;
	if (o->ev->progress.enabled)
		cli_progress_clear_line();
	printf("%-10s ", status_word(it->status, dry));
	cli_term_put(stdout, it->path, strlen(it->path));
	if (it->reason) {
		fputs(": ", stdout);
		cli_term_put(stdout, it->reason, strlen(it->reason));
	}
	putchar('\n');
}

static void on_warn(struct cli_events *e, const char *path, const char *msg)
{
	(void)e;
	cli_warn_item(path, msg);
}

static void fill_header(struct mv_wipe_report *rep, int mode, const struct wipe_args *a)
{
	rep->mode = mode;
	rep->start = (int64_t)time(NULL);
	snprintf(rep->operator_name, sizeof(rep->operator_name), "%s",
	         a->operator_name ? a->operator_name : "");
	if (gethostname(rep->host, sizeof(rep->host) - 1) != 0)
		snprintf(rep->host, sizeof(rep->host), "unknown");
	snprintf(rep->tool, sizeof(rep->tool), "medvault %s", MEDVAULT_VERSION);
	rep->passes = a->passes ? a->passes : 1;
	snprintf(rep->pattern, sizeof(rep->pattern), "%s",
	         a->pattern == MV_OW_ZERO  ? "zero"
	         : a->pattern == MV_OW_ONE ? "one"
	                                   : "random");
	snprintf(rep->method, sizeof(rep->method), "%s",
	         mode == MV_WIPE_REPOSITORY ? "crypto-erase (NIST SP 800-88 Purge of the keys)"
	         : rep->passes > 1          ? "overwrite, several passes (NIST SP 800-88 Clear)"
	                                    : "overwrite (NIST SP 800-88 Clear)");
	if (mode == MV_WIPE_DEVICE && !a->verify_all)
		snprintf(rep->verification, sizeof(rep->verification), "%s",
		         "read back with the page cache bypassed: a sample of at least 10% of the "
		         "device, spread over it, compared with what was written");
	else
		snprintf(rep->verification, sizeof(rep->verification), "%s",
		         "every overwritten byte read back with the page cache bypassed and "
		         "compared with what was written");
}

static size_t count_status(const struct mv_wipe_report *rep, int s, uint64_t *bytes)
{
	size_t n = 0;
	if (bytes)
		*bytes = 0;
	for (size_t i = 0; i < rep->nitems; i++)
		if (rep->items[i].status == s) {
			n++;
			if (bytes)
				*bytes += rep->items[i].size;
		}
	return n;
}

/* ---- the certificate and the record ------------------------------------------------ */

/* Keeps the record of rep (with the certificate's bytes) in wipes/. */
static int save_record(struct mv_repo *r, const struct mv_wipe_report *rep, const uint8_t *cert,
                       size_t cert_len, struct mv_error *err)
{
	struct mv_wiperec rec;
	struct mv_wbuf w;
	memset(&rec, 0, sizeof(rec));
	rec.mode = (uint8_t)rep->mode;
	rec.start = rep->start;
	rec.end = rep->end;
	rec.host = (const uint8_t *)rep->host;
	rec.host_len = strlen(rep->host);
	rec.operator_name = (const uint8_t *)rep->operator_name;
	rec.operator_len = strlen(rep->operator_name);
	if (rep->has_snapshot) {
		rec.flags = MV_WIPEREC_HAS_SNAPSHOT;
		memcpy(rec.snapshot, rep->snapshot, 32);
	}
	rec.items = calloc(rep->nitems ? rep->nitems : 1, sizeof(*rec.items));
	if (!rec.items)
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	/* items that fit beside the certificate, under the cap */
	size_t room = MV_WIPEREC_MAX - 1024, used = cert_len;
	if (cert_len > room / 2)
		cert_len = 0, used = 0; /* the certificate file keeps it then */
	for (size_t i = 0; i < rep->nitems; i++) {
		const struct mv_wipe_item *it = &rep->items[i];
		struct mv_wiperec_item *o = &rec.items[rec.n];
		size_t plen = strlen(it->path), rlen = it->reason ? strlen(it->reason) : 0;
		if (plen == 0 || plen > 65535)
			continue;
		if (rlen > 65535)
			rlen = 65535;
		if (used + 80 + plen + rlen > room)
			break;
		used += 80 + plen + rlen;
		o->status = (uint8_t)it->status;
		o->size = it->size;
		if (it->has_content) {
			o->flags |= MV_WIPEREC_HAS_CONTENT;
			memcpy(o->content, it->content, 32);
		}
		if (it->has_snapshot) {
			o->flags |= MV_WIPEREC_HAS_SNAPSHOT;
			memcpy(o->snapshot, it->snapshot, 32);
		}
		o->path = (const uint8_t *)it->path;
		o->path_len = plen;
		o->reason = (const uint8_t *)it->reason;
		o->reason_len = rlen;
		rec.n++;
	}
	rec.cert = cert;
	rec.cert_len = cert_len;
	mv_wbuf_init(&w, MV_WIPEREC_MAX);
	int rc = mv_wiperec_encode(&rec, &w);
	if (rc != 0)
		rc = mv_error_set(err, rc, 0, "cannot encode the wipe record");
	else
		rc = mv_repo_save_object(r, MV_FT_WIPE, MV_T_WIPE, w.data, w.len, NULL, err);
	mv_wbuf_release(&w);
	free(rec.items);
	return rc;
}

/* The certificate's two files, made empty (mode 0600) before anything is
 * destroyed, so that a wipe never ends without a place for its evidence. */
struct cert_slot {
	char path[4096];
	char *pdf;
	int made, written;
	char fpr[MV_CERT_FPR_LEN + 1]; /* the signer, once written */
};

static int make_excl(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

/* Whether the folder holding path is one of the folders (dev, ino) or
 * below one. */
static int cert_inside(const char *path, const struct stat *dirs, size_t n)
{
	char *copy = strdup(path);
	if (!copy)
		return 0;
	char *slash = strrchr(copy, '/');
	const char *dir = slash ? (slash == copy ? "/" : (*slash = '\0', copy)) : ".";
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), inside = 0;
	free(copy);
	for (int depth = 0; fd >= 0 && depth < 4096 && !inside; depth++) {
		struct stat st, up;
		if (fstat(fd, &st) != 0)
			break;
		for (size_t i = 0; i < n; i++)
			if (dirs[i].st_dev == st.st_dev && dirs[i].st_ino == st.st_ino)
				inside = 1;
		int parent = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(fd);
		fd = parent;
		if (fd >= 0 && fstat(fd, &up) == 0 && up.st_dev == st.st_dev &&
		    up.st_ino == st.st_ino)
			break; /* the root */
	}
	if (fd >= 0)
		close(fd);
	return inside;
}

static void cert_release(struct cert_slot *cs)
{
	if (cs->made && !cs->written) {
		unlink(cs->path);
		if (cs->pdf)
			unlink(cs->pdf);
	}
	free(cs->pdf);
	cs->pdf = NULL;
	cs->made = 0;
}

/* Reserves --certificate FILE (refused when it exists) or a dated name in
 * the current folder (-2, -3, ... when taken), outside the paths wiped.
 * Returns 0 or an exit code (the message printed). */
static int cert_reserve(const struct wipe_args *a, int64_t t, const char *const *paths, size_t n,
                        struct cert_slot *cs)
{
	char base[CLI_WIPECERT_NAME_LEN];
	struct stat *dirs = calloc(n ? n : 1, sizeof(*dirs));
	size_t nd = 0;
	int rc = 0;

	memset(cs, 0, sizeof(*cs));
	if (!dirs)
		return cli_fail(MV_ERR_NOMEM, &(struct mv_error){0});
	struct stat root;
	int have_root = lstat("/", &root) == 0;
	for (size_t i = 0; i < n; i++) /* '/' is the engine's to refuse */
		if (lstat(paths[i], &dirs[nd]) == 0 && S_ISDIR(dirs[nd].st_mode) &&
		    !(have_root && dirs[nd].st_ino == root.st_ino &&
		      dirs[nd].st_dev == root.st_dev))
			nd++;
	cli_wipecert_default_name(t, base);
	for (int k = 1; k <= 100; k++) {
		if (a->cert)
			snprintf(cs->path, sizeof(cs->path), "%s", a->cert);
		else if (k == 1)
			snprintf(cs->path, sizeof(cs->path), "%s", base);
		else
			snprintf(cs->path, sizeof(cs->path), "%.*s-%d.json",
			         (int)(strlen(base) - strlen(".json")), base, k);
		free(cs->pdf);
		if (!(cs->pdf = cli_wipecert_pdf_path(cs->path))) {
			rc = cli_fail(MV_ERR_NOMEM, &(struct mv_error){0});
			break;
		}
		if (make_excl(cs->path) == 0) {
			if (make_excl(cs->pdf) == 0) {
				cs->made = 1;
				break;
			}
			int e = errno;
			unlink(cs->path);
			errno = e;
		}
		if (errno != EEXIST || a->cert || k == 100) {
			cli_error("cannot write the certificate '%s' (or its PDF): %s; nothing was "
			          "wiped%s",
			          cs->path, strerror(errno),
			          errno == EEXIST ? " (choose another --certificate)" : "");
			rc = CLI_EXIT_USAGE;
			break;
		}
	}
	if (rc == 0 && nd && cert_inside(cs->path, dirs, nd)) {
		cli_error("the certificate '%s' would be written inside a folder being wiped: give "
		          "--certificate a place outside it; nothing was wiped",
		          cs->path);
		cert_release(cs);
		rc = CLI_EXIT_USAGE;
	}
	free(dirs);
	if (rc != 0)
		cert_release(cs);
	return rc;
}

/* Keeps room for the certificate (bytes, an upper bound) and its PDF in
 * the files reserved, before anything is destroyed: a full disk then stops
 * the wipe, not its evidence. */
static int on_planned(void *arg, size_t items, uint64_t bytes, struct mv_error *err)
{
	struct out *o = arg;
	struct cert_slot *cs = o->cs;
	char b1[CLI_FMT_LEN], b2[CLI_FMT_LEN];
	if (bytes > MV_CERT_MAX - (64u << 10))
		return mv_error_set(
		    err, MV_ERR_LIMIT, 0,
		    "its certificate would list %zu items in up to %s, more than the "
		    "%s a verifier reads: nothing was wiped; wipe the folders inside "
		    "in several runs",
		    items, cli_fmt_bytes(bytes, b1), cli_fmt_bytes(MV_CERT_MAX, b2));
	if (!cs || !cs->made)
		return 0;
	/* the PDF: about as large as the JSON, with its fonts */
	uint64_t want[2] = {bytes, bytes + (512u << 10)};
	for (int i = 0; i < 2; i++) {
		int fd = open(i ? cs->pdf : cs->path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
		int e = fd < 0 ? errno : posix_fallocate(fd, 0, (off_t)want[i]);
		if (fd >= 0)
			close(fd);
		if (e != 0)
			return mv_error_set(
			    err, e == ENOSPC ? MV_ERR_NOSPC : MV_ERR_IO, e,
			    "no room for the certificate '%s' (up to %s): %s; nothing "
			    "was wiped",
			    i ? cs->pdf : cs->path, cli_fmt_bytes(want[i], b1), strerror(e));
	}
	return 0;
}

/* Signs the certificate of rep, keeps its record in r first (unless
 * keep_record is 0: an erased repository), then writes it into the files
 * reserved. Prints where. Returns 0 or an exit code. */
static int certify(struct cli_ctx *ctx, struct mv_repo *r, struct mv_wipe_report *rep,
                   int keep_record, struct cert_slot *cs)
{
	struct mv_error err = {0};
	uint8_t pk[32], *cert = NULL;
	size_t cert_len = 0;
	char fpr[MV_CERT_FPR_LEN + 1];
	int rc, rrc = 0;

	uint8_t *sk = sodium_malloc(64);
	if (!sk)
		return cli_fail(MV_ERR_NOMEM, &err);
	rc = mv_repo_sign_keypair(r, pk, sk);
	if (rc == 0)
		rc = cli_wipecert_build(rep, pk, sk, &cert, &cert_len, &err);
	if (rc == 0 && keep_record && (rrc = save_record(r, rep, cert, cert_len, &err)) != 0)
		cli_error("the wipe's record could not be kept in the repository: %s",
		          err.msg[0] ? err.msg : mv_strerror(rrc));
	if (rc == 0) { /* the room kept for it goes to it */
		for (int i = 0; i < 2; i++) {
			int fd = open(i ? cs->pdf : cs->path,
			              O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
			if (fd >= 0)
				close(fd);
		}
		rc = cli_wipecert_write(rep, pk, sk, cs->path, 1, &err);
	}
	sodium_free(sk);
	free(cert);
	if (rc != 0) {
		cli_error("the certificate could not be written: %s",
		          err.msg[0] ? err.msg : mv_strerror(rc));
		return cli_exit_code(rc);
	}
	cs->written = 1;
	mv_cert_fingerprint(pk, fpr);
	memcpy(cs->fpr, fpr, sizeof(cs->fpr));
	if (!ctx->g.json && !ctx->g.quiet) {
		printf("certificate: %s (and %s), signed by %s\n", cs->path, cs->pdf, fpr);
	}
	if (rrc)
		cli_error("keep the certificate %s: the repository holds no record of this wipe",
		          cs->path);
	return rrc ? cli_exit_code(rrc) : 0;
}

/* "overwrite: 1.0 GiB in 1.62 s, 640.0 MiB/s" */
static void print_rate(const char *what, uint64_t ns, uint64_t bytes, int with_bytes)
{
	char b[CLI_FMT_LEN];
	double secs = (double)ns / 1e9;
	printf("%s: ", what);
	if (with_bytes)
		printf("%s in ", cli_fmt_bytes(bytes, b));
	printf("%.2f s", secs);
	if (with_bytes && secs > 0)
		printf(", %.1f MiB/s", (double)bytes / 1048576.0 / secs);
	putchar('\n');
}

/* The summary; with --json, once the certificate is written (cs, may be
 * NULL), which it names. */
static void print_summary(struct cli_ctx *ctx, const struct mv_wipe_report *rep, int dry,
                          int accepted, const struct cert_slot *cs)
{
	uint64_t wb, rb;
	size_t nw = count_status(rep, MV_WIPE_WIPED, &wb);
	size_t nr = count_status(rep, MV_WIPE_REFUSED, &rb);
	size_t np = count_status(rep, MV_WIPE_PARTIAL, NULL);
	size_t nf = count_status(rep, MV_WIPE_FAILED, NULL);
	char b1[CLI_FMT_LEN], b2[CLI_FMT_LEN], d[CLI_FMT_LEN];

	if (ctx->g.json) {
		struct cli_json j;
		cli_json_init(&j, stdout);
		cli_json_begin_object(&j, NULL);
		cli_json_str(&j, "message_type", "summary");
		cli_json_bool(&j, "dry_run", dry);
		cli_json_u64(&j, dry ? "would_wipe" : "wiped", nw);
		cli_json_u64(&j, "refused", nr);
		cli_json_u64(&j, "partial", np);
		cli_json_u64(&j, "failed", nf);
		cli_json_u64(&j, "bytes_overwritten", rep->bytes_overwritten);
		cli_json_u64(&j, "bytes_verified", rep->bytes_verified);
		cli_json_double(&j, "overwrite_seconds", (double)rep->write_ns / 1e9);
		cli_json_double(&j, "read_back_seconds", (double)rep->verify_ns / 1e9);
		cli_json_double(&j, "proof_seconds", (double)rep->proof_ns / 1e9);
		cli_json_double(&j, "proof_read_back_seconds", (double)rep->readback_ns / 1e9);
		cli_json_u64(&j, "folders_removed", rep->folders_removed);
		cli_json_bool(&j, "medium_unreliable", rep->medium.unreliable);
		cli_json_bool(&j, "interrupted", rep->interrupted);
		cli_json_str(&j, "medium_notes", rep->medium.notes);
		cli_json_str(&j, "limits", rep->limits);
		if (cs && cs->written) {
			cli_json_str(&j, "certificate", cs->path);
			cli_json_str(&j, "pdf", cs->pdf);
			cli_json_str(&j, "fingerprint", cs->fpr);
		}
		cli_json_end_object(&j);
		return;
	}
	if (rep->medium.unreliable && accepted)
		printf("medium (accepted with --accept-unreliable-medium): %s\n",
		       rep->medium.notes);
	double secs = (double)(rep->end - rep->start);
	printf("%s %zu item%s (%s), refused %zu (%s)", dry ? "would wipe" : "wiped", nw,
	       nw == 1 ? "" : "s", cli_fmt_bytes(wb, b1), nr, cli_fmt_bytes(rb, b2));
	if (np || nf)
		printf(", partial %zu, failed %zu", np, nf);
	if (!dry)
		printf(", %llu folder%s removed, in %s", (unsigned long long)rep->folders_removed,
		       rep->folders_removed == 1 ? "" : "s", cli_fmt_duration(secs, d));
	putchar('\n');
	if (rep->proof_ns && rep->backup_checked) {
		print_rate("proof (files hashed, copies read back)", rep->proof_ns, 0, 0);
		print_rate("  of which reading the repository's copies back", rep->readback_ns, 0,
		           0);
	}
	if (!dry && rep->bytes_overwritten) {
		print_rate("overwrite", rep->write_ns, rep->bytes_overwritten, 1);
		print_rate("read-back", rep->verify_ns, rep->bytes_verified, 1);
	}
	if (rep->interrupted)
		printf("interrupted: what the run had not reached was not touched\n");
	if (rep->limits[0] && !ctx->g.quiet)
		printf("note: %s\n", rep->limits);
}

/* ---- files --------------------------------------------------------------------- */

static const char LIMITS_FILES[] =
    "The names of wiped files and folders may remain in directory blocks and in the "
    "filesystem's journal, which a file-level wipe cannot reach; a whole-device wipe "
    "(medvault wipe --device) or ATA/NVMe sanitize removes them.";

static int journal_open(struct mv_repo *r, struct mv_journal **j)
{
	struct mv_error err = {0};
	char hex[65], name[96], path[4096];
	mv_hex(mv_repo_config(r)->repo_id, 32, hex);
	snprintf(name, sizeof(name), "wipe-%s.journal", hex);
	if (cli_state_path(name, path, sizeof(path)) != 0) {
		cli_error("no place for the wipe journal: set XDG_STATE_HOME");
		return CLI_EXIT_FATAL;
	}
	int rc = mv_journal_open(path, mv_repo_keys(r), j, &err);
	return rc ? cli_fail(rc, &err) : 0;
}

static int run_files(struct cli_ctx *ctx, const struct wipe_args *a)
{
	struct mv_error err = {0};
	struct mv_repo *r = NULL;
	struct mv_lock *lock = NULL;
	struct mv_snapshot snap;
	struct mv_proof *proof = NULL;
	struct mv_journal *journal = NULL;
	struct mv_wipe_report rep;
	struct cli_events ev;
	struct cert_slot cs = {0};
	int rc, have_snap = 0, have_ev = 0;

	memset(&snap, 0, sizeof(snap));
	memset(&rep, 0, sizeof(rep));
	if (a->no_check && !a->yes && !a->dry_run &&
	    (rc = confirm("--no-backup-check: the files will be destroyed WITHOUT proof that a "
	                  "backup holds them.",
	                  "yes")) != 0)
		return rc;
	rc = cli_repo_open(ctx, "wipe", &r);
	if (rc == 0)
		rc = cli_repo_lock(r, 0, &lock);
	if (rc == 0)
		rc = cli_repo_load_index(ctx, r, 0, NULL);
	if (rc == 0 && a->snapshot) {
		rc = cli_find_snapshot(ctx, r, a->snapshot, &snap);
		have_snap = rc == 0;
	}
	if (rc == 0) /* a dry run too: it names the files an interrupted wipe left */
		rc = journal_open(r, &journal);
	if (rc != 0)
		goto out;
	struct out o = {ctx, &ev, &cs};
	cli_events_init(&ev, ctx, on_warn, NULL);
	have_ev = 1;
	if (have_snap && !a->no_check &&
	    (rc = mv_proof_load(r, &snap, &ev.ev, &proof, &err)) != 0) {
		rc = cli_fail(rc, &err);
		goto out;
	}
	fill_header(&rep, MV_WIPE_FILES, a);
	memcpy(rep.repo_id, mv_repo_config(r)->repo_id, 32);
	rep.has_repo = 1;
	if (have_snap) {
		memcpy(rep.snapshot, snap.id, 32);
		rep.has_snapshot = 1;
	}
	rep.backup_checked = proof != NULL;
	snprintf(rep.limits, sizeof(rep.limits), "%s", LIMITS_FILES);
	size_t off = 0;
	for (size_t i = 0; i < a->npaths && off + 2 < sizeof(rep.target); i++) {
		int n = snprintf(rep.target + off, sizeof(rep.target) - off, "%s%s", i ? ", " : "",
		                 a->paths[i]);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	if (!a->dry_run && (rc = cert_reserve(a, rep.start, a->paths, a->npaths, &cs)) != 0)
		goto out;
	/* the write lease on the file being wiped tells of another program
	 * opening it by a SIGIO, whose default would end medvault: it is seen
	 * through F_GETLEASE instead (core/wipe/wipe.c) */
	signal(SIGIO, SIG_IGN);
	struct mv_wipe_opts wo = {
	    .proof = proof,
	    .dry_run = a->dry_run,
	    .include_hardlinked = a->hardlinked,
	    .accept_unreliable = a->accept,
	    .threads = (unsigned)ctx->g.threads,
	    .ow = {.passes = a->passes ? a->passes : 1, .pattern = a->pattern},
	    .journal = journal,
	    .planned = on_planned,
	    .on_item = on_item,
	    .arg = &o,
	};
	int wrc = mv_wipe_files(&wo, a->paths, a->npaths, &ev.ev, &rep, &err);
	rep.end = (int64_t)time(NULL);
	rep.verified = rep.bytes_verified > 0 && count_status(&rep, MV_WIPE_FAILED, NULL) == 0 &&
	               count_status(&rep, MV_WIPE_PARTIAL, NULL) == 0;
	rep.interrupted = wrc == MV_ERR_INTERRUPTED;
	cli_events_done(&ev);
	have_ev = 0;
	size_t touched = count_status(&rep, MV_WIPE_WIPED, NULL) +
	                 count_status(&rep, MV_WIPE_PARTIAL, NULL) +
	                 count_status(&rep, MV_WIPE_FAILED, NULL);
	if (wrc == MV_ERR_INTERRUPTED && touched == 0) {
		cli_error("interrupted before anything was overwritten: nothing was wiped");
		rc = CLI_EXIT_INTERRUPTED;
		goto out;
	}
	if (wrc == MV_ERR_UNRELIABLE && (a->dry_run || ctx->g.json))
		print_summary(ctx, &rep, a->dry_run, a->accept, NULL);
	if (wrc == MV_ERR_USAGE || wrc == MV_ERR_UNRELIABLE) {
		if (wrc == MV_ERR_UNRELIABLE) /* the notes whole: the remedy is at their end */
			cli_error("overwriting is unreliable here: %s", rep.medium.notes);
		else
			cli_error("%s", err.msg);
		if (ctx->g.json)
			cli_json_error_item(stdout, "",
			                    wrc == MV_ERR_UNRELIABLE ? rep.medium.notes : err.msg);
		if (wrc == MV_ERR_UNRELIABLE)
			fprintf(stderr, "nothing was touched. To go on anyway, add "
			                "--accept-unreliable-medium.\n");
		rc = wrc == MV_ERR_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_FATAL;
		goto out;
	}
	if (wrc != 0 && wrc != MV_ERR_PARTIAL && wrc != MV_ERR_INTEGRITY &&
	    wrc != MV_ERR_INTERRUPTED) {
		rc = cli_fail(wrc, &err);
		if (touched == 0)
			goto out; /* nothing was touched: no certificate */
	}
	if (!ctx->g.json)
		print_summary(ctx, &rep, a->dry_run, a->accept, NULL);
	int crc = a->dry_run ? 0 : certify(ctx, r, &rep, 1, &cs);
	if (ctx->g.json)
		print_summary(ctx, &rep, a->dry_run, a->accept, &cs);
	if (wrc == MV_ERR_INTEGRITY) {
		cli_error("%s", err.msg);
		rc = CLI_EXIT_INTEGRITY;
	} else if (wrc == MV_ERR_INTERRUPTED) {
		rc = CLI_EXIT_INTERRUPTED;
	} else if (wrc == MV_ERR_PARTIAL) {
		rc = CLI_EXIT_PARTIAL;
	} else if (wrc == 0) {
		rc = ctx->damaged ? CLI_EXIT_INTEGRITY : CLI_EXIT_OK;
	}
	if (crc != 0 && wrc != MV_ERR_INTERRUPTED)
		rc = crc; /* no certificate: never a success */
out:
	if (have_ev)
		cli_events_done(&ev);
	mv_wipe_report_release(&rep);
	mv_journal_close(journal);
	mv_proof_free(proof);
	if (have_snap)
		mv_snapshot_release(&snap);
	cert_release(&cs);
	mv_lock_release(lock);
	mv_repo_close(r);
	return rc;
}

/* ---- a whole device -------------------------------------------------------------- */

static void on_dev_progress(void *arg, uint64_t done, uint64_t total)
{
	struct cli_events *ev = arg;
	struct mv_progress p = {.bytes_done = done, .bytes_total = total};
	if (ev->ev.progress)
		ev->ev.progress(ev->ev.arg, &p);
}

static int run_device(struct cli_ctx *ctx, const struct wipe_args *a)
{
	struct mv_error err = {0};
	struct mv_repo *r = NULL;
	struct mv_lock *lock = NULL;
	struct mv_wipe_report rep;
	struct cli_events ev;
	struct cert_slot cs = {0};
	char q[600];
	int rc, fd = -1;

	memset(&rep, 0, sizeof(rep));
	fill_header(&rep, MV_WIPE_DEVICE, a);
	snprintf(rep.target, sizeof(rep.target), "%s", a->device);
	snprintf(rep.limits, sizeof(rep.limits), "%s",
	         "Areas the kernel cannot address (HPA/DCO hidden areas, remapped sectors, a "
	         "flash device's spare blocks) are not overwritten; ATA/NVMe sanitize reaches "
	         "them.");
	rc = cli_repo_open(ctx, "wipe", &r); /* its key signs the certificate */
	if (rc == 0)
		rc = cli_repo_lock(r, 0, &lock);
	if (rc != 0)
		goto out;
	/* probed first: the probe's own exclusive open tells whether it is in use */
	fd = open(a->device, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISBLK(st.st_mode)) {
		cli_error("'%s': %s", a->device, fd < 0 ? strerror(errno) : "not a block device");
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	if ((rc = mv_medium_probe_device(fd, &rep.medium, &err)) != 0) {
		cli_error("%s", err.msg);
		rc = rc == MV_ERR_USAGE ? CLI_EXIT_USAGE : cli_exit_code(rc);
		goto out;
	}
	close(fd);
	/* O_EXCL: nobody mounts it while it is wiped */
	fd = open(a->device, O_RDWR | O_EXCL | O_CLOEXEC);
	struct stat st2;
	if (fd < 0 || fstat(fd, &st2) != 0 || st2.st_rdev != st.st_rdev) {
		cli_error("'%s': %s", a->device,
		          fd < 0 && errno == EBUSY ? "in use (mounted, or held by another program)"
		          : fd < 0                 ? strerror(errno)
		                                   : "replaced while it was probed");
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	if (rep.medium.unreliable && !a->accept) {
		cli_error("overwriting is unreliable on '%s': %s", a->device, rep.medium.notes);
		fprintf(stderr,
		        "nothing was touched. To go on anyway, add --accept-unreliable-medium.\n");
		rc = CLI_EXIT_FATAL;
		goto out;
	}
	char sz[CLI_FMT_LEN];
	snprintf(q, sizeof(q), "Every byte of %s (%s %s, %s) will be destroyed.", a->device,
	         rep.medium.vendor, rep.medium.model, cli_fmt_bytes(rep.medium.size, sz));
	if (a->dry_run) {
		printf("would wipe %s (%s): %s\n", a->device, rep.medium.kind, q);
		rc = 0;
		goto out;
	}
	if (!a->yes && (rc = confirm(q, a->device)) != 0)
		goto out;
	if ((rc = cert_reserve(a, rep.start, NULL, 0, &cs)) != 0)
		goto out;
	cli_events_init(&ev, ctx, on_warn, NULL);
	struct mv_ow_opts ow = {.passes = a->passes ? a->passes : 1,
	                        .pattern = a->pattern,
	                        .progress = on_dev_progress,
	                        .arg = &ev,
	                        .cancel = ctx->cancel};
	struct mv_ow_result res;
	memset(&res, 0, sizeof(res));
	int wrc =
	    mv_overwrite_device(fd, rep.medium.size, &ow,
	                        a->verify_all ? MV_OW_VERIFY_ALL : MV_OW_VERIFY_SAMPLE, &res, &err);
	cli_events_done(&ev);
	rep.end = (int64_t)time(NULL);
	rep.bytes_overwritten = res.bytes_overwritten;
	rep.bytes_verified = res.bytes_verified;
	rep.write_ns = res.write_ns;
	rep.verify_ns = res.verify_ns;
	rep.verified = wrc == 0;
	rep.interrupted = wrc == MV_ERR_INTERRUPTED;
	char devpath[4096];
	snprintf(devpath, sizeof(devpath), "%s", a->device);
	struct mv_wipe_item it = {.path = devpath, .size = rep.medium.size};
	it.status = wrc == 0                ? MV_WIPE_WIPED
	            : res.bytes_overwritten ? MV_WIPE_PARTIAL
	                                    : MV_WIPE_FAILED;
	it.reason = wrc == 0 ? NULL : err.msg;
	rep.items = &it;
	rep.nitems = 1;
	if (!ctx->g.json)
		print_summary(ctx, &rep, 0, a->accept, NULL);
	rc = certify(ctx, r, &rep, 1, &cs);
	if (ctx->g.json)
		print_summary(ctx, &rep, 0, a->accept, &cs);
	rep.items = NULL;
	rep.nitems = 0;
	if (wrc != 0) {
		cli_error("%s", err.msg);
		rc = wrc == MV_ERR_INTERRUPTED ? CLI_EXIT_INTERRUPTED : cli_exit_code(wrc);
	}
out:
	if (fd >= 0)
		close(fd);
	cert_release(&cs);
	mv_lock_release(lock);
	mv_repo_close(r);
	return rc;
}

/* ---- crypto-erase of a repository ------------------------------------------------- */

static int erase_dir(struct cli_ctx *ctx, int repofd, const char *sub, const char *loc,
                     const struct wipe_args *a, struct mv_wipe_report *rep, size_t *icap)
{
	char ebuf[128];
	int dfd = openat(repofd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return errno == ENOENT ? 0 : -errno;
	struct mv_wipe_medium m;
	struct mv_error err = {0};
	if (mv_medium_probe_file(dfd, &m, &err) == 0 && (m.unreliable || !rep->medium.kind[0]))
		rep->medium = m;
	if (rep->medium.unreliable && !a->accept) {
		close(dfd);
		return 1;
	}
	int fd2 = dup(dfd);
	DIR *d = fd2 >= 0 ? fdopendir(fd2) : NULL;
	if (!d) {
		close(dfd);
		return -EIO;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	/* every file, leftovers of an interrupted write (.tmp-*) too: such a
	 * leftover may be a whole key slot */
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    mv_grow(names, cap, n + 1) == 0)
			names[n++] = strdup(de->d_name);
	closedir(d);
	for (size_t i = 0; i < n; i++) {
		if (!names[i] || mv_grow(rep->items, *icap, rep->nitems + 1) != 0)
			continue;
		struct mv_wipe_item *it = &rep->items[rep->nitems];
		memset(it, 0, sizeof(*it));
		size_t len = strlen(loc) + strlen(sub) + strlen(names[i]) + 3;
		it->path = malloc(len);
		if (!it->path)
			continue;
		snprintf(it->path, len, "%s/%s/%s", loc, sub, names[i]);
		rep->nitems++;
		struct mv_ow_opts ow = {.passes = a->passes ? a->passes : 1,
		                        .pattern = a->pattern,
		                        .cancel = ctx->cancel};
		struct mv_ow_result res;
		memset(&res, 0, sizeof(res));
		int fd = openat(dfd, names[i], O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		int rc = fd < 0 ? mv_error_set(&err, MV_ERR_IO, errno, "%s",
		                               mv_errno_str(errno, ebuf, sizeof(ebuf)))
		                : mv_overwrite_file(fd, &ow, &res, &err);
		if (rc == 0)
			rc = mv_wipe_name(dfd, names[i], 0, fd, &err);
		it->size = res.size;
		rep->bytes_overwritten += res.bytes_overwritten;
		rep->bytes_verified += res.bytes_verified;
		rep->write_ns += res.write_ns;
		rep->verify_ns += res.verify_ns;
		it->status = rc == 0                 ? MV_WIPE_WIPED
		             : res.bytes_overwritten ? MV_WIPE_PARTIAL
		                                     : MV_WIPE_FAILED;
		if (rc != 0)
			it->reason = strdup(err.msg);
		if (fd >= 0)
			close(fd);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	close(dfd);
	return 0;
}

static int run_repository(struct cli_ctx *ctx, const struct wipe_args *a)
{
	struct mv_error err = {0};
	struct mv_repo *r = NULL;
	struct mv_lock *lock = NULL;
	struct mv_wipe_report rep;
	char q[4400];
	size_t nsnaps = 0, icap = 0;
	int rc, repofd = -1;
	struct cert_slot cs = {0};

	memset(&rep, 0, sizeof(rep));
	fill_header(&rep, MV_WIPE_REPOSITORY, a);
	const char *loc = cli_repo_location(ctx);
	rc = cli_repo_open(ctx, "wipe", &r);
	if (rc == 0)
		rc = cli_repo_lock(r, 1, &lock);
	if (rc != 0)
		goto out;
	if (!mv_repo_backend(r)->props.local) {
		cli_error("crypto-erase needs a repository on a local disk: '%s' is not", loc);
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	char(*names)[65] = NULL;
	if (mv_repo_list_names(r, MV_FT_SNAPSHOT, &names, &nsnaps, &err) != 0)
		nsnaps = 0;
	free(names);
	memcpy(rep.repo_id, mv_repo_config(r)->repo_id, 32);
	rep.has_repo = 1;
	snprintf(rep.target, sizeof(rep.target), "%s", loc);
	snprintf(rep.limits, sizeof(rep.limits), "%s",
	         "The data left is ciphertext whose key no longer exists here. A copy of the key "
	         "slot files made before this erase (a disk image, a copy of the backup disk) "
	         "would still open it, with its password or recovery key.");
	snprintf(q, sizeof(q),
	         "The repository at '%s' (%zu snapshot%s) will be made unreadable for ever: its "
	         "keys are destroyed.",
	         loc, nsnaps, nsnaps == 1 ? "" : "s");
	if (a->dry_run) {
		printf("would crypto-erase: %s\n", q);
		goto out;
	}
	if (!a->yes && (rc = confirm(q, loc)) != 0)
		goto out;
	if ((rc = cert_reserve(a, rep.start, &loc, 1, &cs)) != 0)
		goto out;
	repofd = open(loc, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (repofd < 0) {
		cli_error("'%s': %s", loc, strerror(errno));
		rc = CLI_EXIT_FATAL;
		goto out;
	}
	int erc = erase_dir(ctx, repofd, "keys", loc, a, &rep, &icap);
	if (erc == 0)
		erc = erase_dir(ctx, repofd, "keylist", loc, a, &rep, &icap);
	if (erc == 1) {
		cli_error("overwriting is unreliable under '%s': %s", loc, rep.medium.notes);
		fprintf(stderr,
		        "nothing was touched. To go on anyway, add --accept-unreliable-medium.\n");
		rc = CLI_EXIT_FATAL;
		goto out;
	}
	rep.end = (int64_t)time(NULL);
	size_t bad =
	    count_status(&rep, MV_WIPE_FAILED, NULL) + count_status(&rep, MV_WIPE_PARTIAL, NULL);
	rep.verified = bad == 0 && erc == 0;
	if (!ctx->g.json)
		print_summary(ctx, &rep, 0, a->accept, NULL);
	rc = certify(ctx, r, &rep, 0, &cs);
	if (ctx->g.json)
		print_summary(ctx, &rep, 0, a->accept, &cs);
	if (erc < 0 || bad) {
		cli_error("not every key file could be erased: the repository may still open");
		rc = CLI_EXIT_FATAL;
	} else if (rc == 0 && !ctx->g.quiet && !ctx->g.json) {
		printf("the repository's keys are destroyed: no password or recovery key opens it "
		       "now\n");
	}
out:
	if (repofd >= 0)
		close(repofd);
	cert_release(&cs);
	mv_wipe_report_release(&rep);
	mv_lock_release(lock);
	mv_repo_close(r);
	return rc;
}

/* ---- the history ------------------------------------------------------------------ */

struct hist {
	uint8_t *payload;
	struct mv_wiperec rec;
};

static int cmp_hist(const void *a, const void *b)
{
	const struct hist *x = a, *y = b;
	return x->rec.start < y->rec.start ? -1 : x->rec.start > y->rec.start;
}

static void fmt_time(int64_t t, char *buf, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!localtime_r(&tt, &tm) || !strftime(buf, cap, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, cap, "?");
}

static void print_record(struct cli_json *jp, const struct mv_wiperec *rec)
{
	static const char *const modes[] = {"", "files", "device", "repository"};
	char when[64], hex[65];
	fmt_time(rec->start, when, sizeof(when));
	if (jp) {
		struct cli_json j = *jp;
		cli_json_begin_object(&j, NULL);
		cli_json_str(&j, "mode", modes[rec->mode]);
		cli_json_i64(&j, "start", rec->start);
		cli_json_i64(&j, "end", rec->end);
		cli_json_strn(&j, "host", (const char *)rec->host, rec->host_len);
		cli_json_strn(&j, "operator", (const char *)rec->operator_name, rec->operator_len);
		if (rec->flags & MV_WIPEREC_HAS_SNAPSHOT)
			cli_json_hex(&j, "snapshot", rec->snapshot, 32);
		cli_json_bool(&j, "certificate_kept", rec->cert_len > 0);
		cli_json_begin_array(&j, "items");
		for (uint32_t i = 0; i < rec->n; i++) {
			const struct mv_wiperec_item *it = &rec->items[i];
			cli_json_begin_object(&j, NULL);
			cli_json_name(&j, "path", (const char *)it->path, it->path_len);
			cli_json_u64(&j, "size", it->size);
			cli_json_str(&j, "status", cli_wipe_status_name(it->status));
			if (it->flags & MV_WIPEREC_HAS_SNAPSHOT)
				cli_json_hex(&j, "snapshot", it->snapshot, 32);
			if (it->reason_len)
				cli_json_strn(&j, "reason", (const char *)it->reason,
				              it->reason_len);
			cli_json_end_object(&j);
		}
		cli_json_end_array(&j);
		cli_json_end_object(&j);
		*jp = j;
		return;
	}
	size_t nw = 0;
	for (uint32_t i = 0; i < rec->n; i++)
		nw += rec->items[i].status == MV_WIPE_WIPED;
	printf("%s  %s  %zu of %u wiped", when, modes[rec->mode], nw, rec->n);
	if (rec->flags & MV_WIPEREC_HAS_SNAPSHOT) {
		mv_hex(rec->snapshot, 4, hex);
		printf("  proven against snapshot %s", hex);
	}
	if (rec->operator_len) {
		fputs("  by ", stdout);
		cli_term_put(stdout, (const char *)rec->operator_name, rec->operator_len);
	}
	fputs("  on ", stdout);
	cli_term_put(stdout, (const char *)rec->host, rec->host_len);
	putchar('\n');
	for (uint32_t i = 0; i < rec->n; i++) {
		const struct mv_wiperec_item *it = &rec->items[i];
		printf("  %-8s ", cli_wipe_status_name(it->status));
		cli_term_put(stdout, (const char *)it->path, it->path_len);
		if (it->status == MV_WIPE_WIPED && (it->flags & MV_WIPEREC_HAS_SNAPSHOT)) {
			mv_hex(it->snapshot, 4, hex);
			printf("  (restore from snapshot %s)", hex);
		} else if (it->reason_len) {
			fputs(": ", stdout);
			cli_term_put(stdout, (const char *)it->reason, it->reason_len);
		}
		putchar('\n');
	}
}

static int run_history(struct cli_ctx *ctx)
{
	struct mv_error err = {0};
	struct mv_repo *r = NULL;
	struct mv_lock *lock = NULL;
	char(*names)[65] = NULL;
	struct hist *h = NULL;
	size_t n = 0, nh = 0;
	int rc = cli_repo_open(ctx, "wipe", &r), damaged = 0;

	if (rc == 0)
		rc = cli_repo_lock_reader(ctx, r, 0, &lock);
	if (rc != 0)
		goto out;
	if ((rc = mv_repo_list_names(r, MV_FT_WIPE, &names, &n, &err)) != 0) {
		rc = rc == MV_ERR_NOTFOUND ? 0 : cli_fail(rc, &err);
		goto out;
	}
	h = calloc(n ? n : 1, sizeof(*h));
	if (!h) {
		rc = cli_fail(MV_ERR_NOMEM, &err);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		size_t len;
		int lrc = mv_repo_load_object(r, MV_FT_WIPE, MV_T_WIPE, names[i], &h[nh].payload,
		                              &len, &err);
		if (lrc == 0 && (lrc = mv_wiperec_decode(h[nh].payload, len, &h[nh].rec)) != 0)
			mv_error_set(&err, lrc, 0, "malformed wipe record");
		if (lrc != 0) {
			cli_warn_item(names[i], err.msg[0] ? err.msg : mv_strerror(lrc));
			mv_wiperec_release(&h[nh].rec);
			free(h[nh].payload);
			damaged = 1;
			continue;
		}
		nh++;
	}
	qsort(h, nh, sizeof(*h), cmp_hist);
	if (nh == 0 && !ctx->g.json && !ctx->g.quiet)
		printf("no wipe recorded in this repository\n");
	struct cli_json j;
	if (ctx->g.json) { /* one array, oldest first, as snapshots --json */
		cli_json_init(&j, stdout);
		cli_json_begin_array(&j, NULL);
	}
	for (size_t i = 0; i < nh; i++)
		print_record(ctx->g.json ? &j : NULL, &h[i].rec);
	if (ctx->g.json)
		cli_json_end_array(&j);
	rc = damaged ? CLI_EXIT_INTEGRITY : CLI_EXIT_OK;
out:
	for (size_t i = 0; h && i < nh; i++) {
		mv_wiperec_release(&h[i].rec);
		free(h[i].payload);
	}
	free(h);
	free(names);
	mv_lock_release(lock);
	mv_repo_close(r);
	return rc;
}

/* ---- verifying a certificate --------------------------------------------------------- */

static int run_verify(struct cli_ctx *ctx, const struct wipe_args *a)
{
	struct mv_error err = {0};
	struct mv_repo *r = NULL;
	uint8_t pk[32];
	int rc = 0, with_repo = cli_repo_location(ctx) != NULL;

	if (with_repo) {
		uint8_t *sk = sodium_malloc(64);
		rc = cli_repo_open(ctx, "wipe", &r);
		if (rc == 0 && (!sk || mv_repo_sign_keypair(r, pk, sk) != 0))
			rc = cli_fail(MV_ERR_NOMEM, &err);
		sodium_free(sk);
		if (rc != 0)
			goto out;
	}
	/* a file that cannot be read is not a forgery: said as such (exit 1) */
	int fd = open(a->verify_cert, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		cli_error("cannot read the certificate '%s': %s", a->verify_cert, strerror(errno));
		rc = CLI_EXIT_FATAL;
		goto out;
	}
	close(fd);
	char fpr[MV_CERT_FPR_LEN + 1] = "";
	rc = cli_wipecert_verify(a->verify_cert, with_repo ? pk : NULL, ctx->g.json ? NULL : stdout,
	                         fpr, &err);
	if (ctx->g.json) {
		struct cli_json j;
		cli_json_init(&j, stdout);
		cli_json_begin_object(&j, NULL);
		cli_json_str(&j, "message_type", "verify_certificate");
		cli_json_str(&j, "file", a->verify_cert);
		cli_json_bool(&j, "valid", rc == 0);
		if (rc == 0)
			cli_json_str(&j, "fingerprint", fpr);
		if (with_repo)
			cli_json_bool(&j, "signer_is_repository", rc == 0);
		if (rc != 0)
			cli_json_str(&j, "error", err.msg);
		cli_json_end_object(&j);
	}
	if (rc != 0) {
		cli_error("certificate '%s' does NOT verify: %s", a->verify_cert, err.msg);
		rc = CLI_EXIT_INTEGRITY;
	}
out:
	mv_repo_close(r);
	return rc;
}

int cmd_wipe(int argc, char **argv, struct cli_ctx *ctx)
{
	struct wipe_args a;
	memset(&a, 0, sizeof(a));
	int rc = parse(argc, argv, ctx, &a);
	if (ctx->g.help) {
		free(a.paths);
		return cli_help_command("wipe");
	}
	if (rc == 0 && a.verify_cert)
		rc = run_verify(ctx, &a);
	else if (rc == 0 && a.history)
		rc = run_history(ctx);
	else if (rc == 0 && a.repository)
		rc = run_repository(ctx, &a);
	else if (rc == 0 && a.device)
		rc = run_device(ctx, &a);
	else if (rc == 0)
		rc = run_files(ctx, &a);
	free(a.paths);
	return rc;
}
