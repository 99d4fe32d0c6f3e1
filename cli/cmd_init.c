#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/exitcode.h"
#include "cli/json.h"
#include "cli/keyfile.h"
#include "cli/output.h"
#include "cli/password.h"
#include "cli/repo_open.h"

enum {
	O_KDF_MEMORY = 1,
	O_KDF_ITERATIONS,
	O_INSECURE,
	O_RECOVERY_FILE,
	O_CHUNKER_FROM,
	O_FROM_PASSWORD_FILE
};

static const struct cli_opt_spec opts[] = {
    {"kdf-memory", 0, 1, O_KDF_MEMORY},
    {"kdf-iterations", 0, 1, O_KDF_ITERATIONS},
    {"insecure-password", 0, 0, O_INSECURE},
    {"recovery-key-file", 0, 1, O_RECOVERY_FILE},
    {"copy-chunker-params-from", 0, 1, O_CHUNKER_FROM},
    {"from-password-file", 0, 1, O_FROM_PASSWORD_FILE},
    {NULL, 0, 0, 0},
};

static const struct cli_help_opt help_opts[] = {
    {"--kdf-memory MiB", "Argon2id memory per password try (default 64, at most 2048)"},
    {"--kdf-iterations N", "Argon2id passes (default 3, from 3 to 8)"},
    {"--insecure-password", "accept a password below the CNIL threshold (not recommended)"},
    {"--recovery-key-file FILE",
     "write the recovery key to FILE, a new file (mode 0600), instead of the terminal"},
    {"--copy-chunker-params-from REPO",
     "cut files exactly as the repository REPO does (its chunker key and sizes), so that "
     "'medvault copy' between them copies chunks without cutting files again and a backup "
     "into either stores the same chunks"},
    {"--from-password-file FILE",
     "REPO's password (or MEDVAULT_FROM_PASSWORD_FILE, or MEDVAULT_FROM_PASSWORD; else it is "
     "asked for)"},
    {NULL, NULL},
};

const struct cli_help cmd_init_help = {
    "medvault init -r LOCATION [options]",
    "create a new repository",
    "Creates an encrypted repository at LOCATION (a directory, e.g. on an external disk).\n"
    "Asks for the password twice on a terminal, or takes it from --password-file,\n"
    "--password-command or MEDVAULT_PASSWORD. The password must meet the CNIL 2022 rule\n"
    "for a password used alone (about 80 bits): 12+ characters from 4 kinds (upper case,\n"
    "lower case, digits, symbols), 14+ from 3 kinds, or 7+ random words; a weak one is\n"
    "refused with a generated passphrase to use instead ('medvault key passphrase').\n"
    "\n"
    "Prints a recovery key: it opens the repository when the password is lost. Print it,\n"
    "store it offline (a safe), never next to the disk: anyone with this key can read the\n"
    "backups. The key is shown only on a terminal; without one (a script, cron) pass\n"
    "--recovery-key-file FILE: the key goes to that new file (mode 0600), written before\n"
    "the repository is made. With --json: {\"repository\":...,\"recovery_key\":...}, or\n"
    "\"recovery_key_file\" instead of the key.",
    help_opts,
    "medvault init -r /media/usb/backup\n"
    "# from a script: the key to a new file, to print and delete\n"
    "medvault init -r /media/usb/backup --recovery-key-file /root/recovery-key.txt\n"
    "# stronger key derivation (1 GiB, 4 passes): slower unlock, slower guessing\n"
    "medvault init -r /media/usb/backup --kdf-memory 1024 --kdf-iterations 4\n",
};

struct init_args {
	struct mv_init_opts opts;
	int insecure;
	const char *recovery_file;
	const char *chunker_from, *from_password_file;
};

static int parse(int argc, char **argv, struct cli_ctx *ctx, struct init_args *a)
{
	struct cli_opt_iter it;
	int c;

	cli_opt_init(&it, argc, argv, 1, opts, cli_global_opts, ctx->g.args_only);
	while ((c = cli_cmd_next(&it, &ctx->g)) != CLI_OPT_DONE) {
		switch (c) {
		case O_KDF_MEMORY:
		case O_KDF_ITERATIONS: {
			int bad = cli_kdf_option("init", c == O_KDF_MEMORY, it.value, &a->opts.kdf);
			if (bad)
				return bad;
			break;
		}
		case O_INSECURE:
			a->insecure = 1;
			break;
		case O_RECOVERY_FILE:
			if (!it.value[0])
				return cli_usage_error("init",
				                       "--recovery-key-file needs a file name");
			a->recovery_file = it.value;
			break;
		case O_CHUNKER_FROM:
			a->chunker_from = it.value;
			break;
		case O_FROM_PASSWORD_FILE:
			a->from_password_file = it.value;
			break;
		case CLI_OPT_ARG:
			return cli_usage_error("init", "unexpected argument '%s'", it.value);
		default:
			return cli_usage_error("init", "%s", it.err);
		}
	}
	return 0;
}

/* Refuses a location where a repository (or something that claims to be
 * one) exists, before asking for a password twice. */
static int refuse_existing(const char *loc)
{
	struct mv_error err = {0};
	struct mv_repo *r = NULL;
	int rc = mv_repo_open(loc, &r, &err);

	mv_repo_close(r);
	if (rc == 0) {
		cli_error("a repository exists already at '%s'", loc);
		return CLI_EXIT_FATAL;
	}
	if (rc == MV_ERR_VERSION || rc == MV_ERR_INTEGRITY) {
		cli_error("'%s' holds a repository already (%s)", loc, err.msg);
		return CLI_EXIT_FATAL;
	}
	return 0; /* anything else: mv_repo_init says what is wrong */
}

/* The recovery key file: created before the repository, filled by the
 * engine's sink before config is written. */
struct key_file {
	const char *path;
	int fd;
};

/* Refuses, before anything is asked or written, an init whose recovery key
 * would land where it must not: a stdout that is not a terminal (a pipe, a
 * file, a journal keeps it) without --recovery-key-file, or a key file that
 * exists already. */
static int recovery_destination_ok(const struct init_args *a)
{
	struct stat st;

	if (!a->recovery_file) {
		if (isatty(STDOUT_FILENO))
			return 0;
		return cli_usage_error(
		    "init", "the recovery key is shown only on a terminal, and stdout is not one "
		            "(a pipe or a file, where a log or a journal would keep the key). Run "
		            "init on a terminal, or pass --recovery-key-file FILE to write the key "
		            "to a new file (mode 0600), then print it, store it offline and "
		            "delete the file");
	}
	if (lstat(a->recovery_file, &st) == 0)
		return cli_usage_error("init",
		                       "--recovery-key-file '%s' exists already: name a new file",
		                       a->recovery_file);
	return 0;
}

static int key_file_create(struct key_file *kf)
{
	kf->fd =
	    open(kf->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (kf->fd < 0) {
		cli_error("cannot create the recovery key file '%s': %s", kf->path,
		          strerror(errno));
		return CLI_EXIT_FATAL;
	}
	return 0;
}

/* The engine's recovery sink: the key, a newline, fsync'd (so the file can
 * serve as --password-file to open with the recovery key). */
static int key_file_sink(void *arg, const char *text, struct mv_error *err)
{
	struct key_file *kf = arg;
	size_t len = strlen(text), done = 0;

	while (done <= len) {
		const char *p = done < len ? text + done : "\n";
		size_t n = done < len ? len - done : 1;
		ssize_t w = write(kf->fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return mv_error_set(err, MV_ERR_IO, w < 0 ? errno : ENOSPC,
			                    "cannot write the recovery key file '%s'", kf->path);
		done += (size_t)w;
	}
	if (fsync(kf->fd) < 0 || cli_fsync_parent(kf->path) < 0)
		return mv_error_set(err, MV_ERR_IO, errno,
		                    "cannot fsync the recovery key file '%s'", kf->path);
	return 0;
}

static void print_recovery(const struct cli_ctx *ctx, const char *loc, const char *key,
                           const char *key_path)
{
	if (ctx->g.json) {
		struct cli_json j;
		cli_json_init(&j, stdout);
		cli_json_begin_object(&j, NULL);
		cli_json_str(&j, "message_type", "initialized");
		cli_json_str(&j, "repository", loc);
		if (key_path)
			cli_json_str(&j, "recovery_key_file", key_path);
		else
			cli_json_str(&j, "recovery_key", key);
		cli_json_end_object(&j);
		return;
	}
	if (!ctx->g.quiet) {
		fputs("created medvault repository at ", stdout);
		cli_term_put(stdout, loc, strlen(loc));
		fputs("\n\n", stdout);
	}
	if (key_path) {
		/* printed even with -q: the key is nowhere else */
		fputs("Recovery key written to ", stdout);
		cli_term_put(stdout, key_path, strlen(key_path));
		fputs(
		    " (mode 0600).\n"
		    "Print it now, store it offline (in a safe, not next to the disk), then "
		    "delete\n"
		    "the file. It opens the repository if the password is lost. Anyone with this\n"
		    "key can read the backups.\n",
		    stdout);
		return;
	}
	/* printed even with -q: it is shown once and never again */
	printf("Recovery key:\n\n    %s\n\n"
	       "Print this key now and store it offline (in a safe, not next to the disk).\n"
	       "It opens the repository if the password is lost. Anyone with this key can\n"
	       "read the backups. It is not stored anywhere else and will not be shown again.\n",
	       key);
}

/* The chunker key and sizes of the repository a->chunker_from into key
 * and a->opts (--copy-chunker-params-from). */
static int chunker_of(struct cli_ctx *ctx, struct init_args *a, uint8_t *key)
{
	struct mv_repo *src = NULL;
	const char *file = a->from_password_file;

	if (!file) {
		const char *env = getenv("MEDVAULT_FROM_PASSWORD_FILE");
		file = env && *env ? env : NULL;
	}
	int rc =
	    cli_repo_open_other(ctx, a->chunker_from, file, "MEDVAULT_FROM_PASSWORD",
	                        "password of the repository to take the chunker from: ",
	                        "use --from-password-file or MEDVAULT_FROM_PASSWORD_FILE", &src);
	if (rc != 0)
		return rc;
	const struct mv_config_fields *c = mv_repo_config(src);
	memcpy(key, mv_repo_keys(src)->chunker, MV_KEY_LEN);
	a->opts.chunk.min = c->chunk_min;
	a->opts.chunk.avg = c->chunk_avg;
	a->opts.chunk.max = c->chunk_max;
	a->opts.chunker_key = key;
	mv_repo_close(src);
	return 0;
}

int cmd_init(int argc, char **argv, struct cli_ctx *ctx)
{
	struct init_args a;
	uint8_t *chunker_key = NULL;
	struct key_file kf = {NULL, -1};
	struct cli_origin origin;
	struct cli_secret pw = {NULL, 0};
	struct mv_error err = {0};
	char *recovery = NULL;
	const char *loc;
	int rc;

	memset(&a, 0, sizeof(a));
	rc = parse(argc, argv, ctx, &a);
	if (rc != 0)
		return rc;
	if (ctx->g.help)
		return cli_help_command("init");
	cli_kdf_complete(&a.opts.kdf);
	loc = cli_repo_location(ctx);
	if (!loc)
		return cli_usage_error("init", "no repository given: use -r LOCATION");
	rc = recovery_destination_ok(&a);
	if (rc != 0)
		return rc;
	rc = refuse_existing(loc);
	if (rc != 0)
		return rc;
	if (a.chunker_from) {
		if (!(chunker_key = sodium_malloc(MV_KEY_LEN))) {
			cli_error("out of memory");
			return CLI_EXIT_FATAL;
		}
		if ((rc = chunker_of(ctx, &a, chunker_key)))
			goto out;
	}
	rc = cli_password_read(&ctx->g, CLI_PASSWORD_NEW, ctx->cancel, &pw);
	if (rc != 0)
		goto out;
	if (!a.insecure && cli_password_check_new(&pw, "password", "--insecure-password")) {
		rc = CLI_EXIT_FATAL;
		goto out;
	}
	cli_origin_fill(&origin);
	a.opts.origin = origin.o;
	recovery = sodium_malloc(MV_RECOVERY_TEXT_LEN + 1);
	if (!recovery) {
		cli_error("out of memory");
		rc = CLI_EXIT_FATAL;
		goto out;
	}
	if (a.recovery_file) {
		kf.path = a.recovery_file;
		rc = key_file_create(&kf);
		if (rc != 0)
			goto out;
		a.opts.recovery_sink = key_file_sink;
		a.opts.recovery_arg = &kf;
	}
	rc = mv_repo_init(loc, pw.p, pw.len, &a.opts, recovery, &err);
	if (rc != 0) {
		rc = cli_fail(rc, &err);
		goto out;
	}
	if (kf.fd >= 0) {
		int crc = close(kf.fd);
		kf.fd = -1;
		if (crc != 0) { /* fsync'd already: the key is on disk */
			cli_error("closing '%s': %s", kf.path, strerror(errno));
		}
	}
	recovery[MV_RECOVERY_TEXT_LEN] = '\0';
	print_recovery(ctx, loc, recovery, kf.path);
	rc = CLI_EXIT_OK;
out:
	if (kf.fd >= 0) {
		/* the repository was not made: its key must not linger */
		close(kf.fd);
		unlink(kf.path);
	}
	if (recovery)
		sodium_free(recovery);
	sodium_free(chunker_key); /* wipes it */
	cli_secret_free(&pw);
	return rc;
}
