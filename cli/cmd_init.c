#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/exitcode.h"
#include "cli/json.h"
#include "cli/output.h"
#include "cli/password.h"
#include "cli/repo_open.h"

enum { O_KDF_MEMORY = 1, O_KDF_ITERATIONS, O_INSECURE };

static const struct cli_opt_spec opts[] = {
    {"kdf-memory", 0, 1, O_KDF_MEMORY},
    {"kdf-iterations", 0, 1, O_KDF_ITERATIONS},
    {"insecure-password", 0, 0, O_INSECURE},
    {NULL, 0, 0, 0},
};

static const struct cli_help_opt help_opts[] = {
    {"--kdf-memory MiB", "Argon2id memory per password try (default 64, at most 4096)"},
    {"--kdf-iterations N", "Argon2id passes (default 3, at least 3)"},
    {"--insecure-password", "accept a password below the CNIL threshold (not recommended)"},
    {NULL, NULL},
};

const struct cli_help cmd_init_help = {
    "medvault init -r LOCATION [options]",
    "create a new repository",
    "Creates an encrypted repository at LOCATION (a directory, e.g. on an external disk).\n"
    "Asks for the password twice on a terminal, or takes it from --password-file,\n"
    "--password-command or MEDVAULT_PASSWORD. The password must meet the CNIL 2022 rule\n"
    "for a password used alone (about 80 bits): 12+ characters from 4 kinds (upper case,\n"
    "lower case, digits, symbols), 14+ from 3 kinds, 16+ from 2, 20+ from one, or 7+ words.\n"
    "\n"
    "Prints a recovery key: it opens the repository when the password is lost. Print it,\n"
    "store it offline (a safe), never next to the disk: anyone with this key can read the\n"
    "backups. With --json: {\"repository\":...,\"recovery_key\":...}.",
    help_opts,
    "medvault init -r /media/usb/backup\n"
    "# stronger key derivation (1 GiB, 4 passes): slower unlock, slower guessing\n"
    "medvault init -r /media/usb/backup --kdf-memory 1024 --kdf-iterations 4\n",
};

static const char weak_message[] =
    "password too weak: the CNIL (2022) asks for about 80 bits of entropy for a password\n"
    "used alone: at least 12 characters mixing upper case, lower case, digits and symbols;\n"
    "or 14 characters of three of these kinds; 16 of two; 20 of one; or a passphrase of 7\n"
    "or more words. Choose a longer password, or pass --insecure-password (not recommended).\n";

struct init_args {
	struct mv_init_opts opts;
	int insecure;
};

static int parse(int argc, char **argv, struct cli_ctx *ctx, struct init_args *a)
{
	struct cli_opt_iter it;
	uint64_t n;
	int c;

	cli_opt_init(&it, argc, argv, 1, opts, cli_global_opts, ctx->g.args_only);
	while ((c = cli_cmd_next(&it, &ctx->g)) != CLI_OPT_DONE) {
		switch (c) {
		case O_KDF_MEMORY:
			if (cli_parse_u64(it.value, MV_ARGON2_MIN_MEM >> 20,
			                  MV_ARGON2_MAX_MEM >> 20, &n) != 0)
				return cli_usage_error("init", "--kdf-memory needs a number of MiB "
				                               "from 64 to 4096");
			a->opts.kdf.memlimit = n << 20;
			break;
		case O_KDF_ITERATIONS:
			if (cli_parse_u64(it.value, MV_ARGON2_MIN_OPS, 1000, &n) != 0)
				return cli_usage_error("init", "--kdf-iterations needs a number "
				                               "from 3 to 1000");
			a->opts.kdf.opslimit = (uint32_t)n;
			break;
		case O_INSECURE:
			a->insecure = 1;
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

static void print_recovery(const struct cli_ctx *ctx, const char *loc, const char *key)
{
	if (ctx->g.json) {
		struct cli_json j;
		cli_json_init(&j, stdout);
		cli_json_begin_object(&j, NULL);
		cli_json_str(&j, "message_type", "initialized");
		cli_json_str(&j, "repository", loc);
		cli_json_str(&j, "recovery_key", key);
		cli_json_end_object(&j);
		return;
	}
	if (!ctx->g.quiet) {
		fputs("created medvault repository at ", stdout);
		cli_term_put(stdout, loc, strlen(loc));
		fputs("\n\n", stdout);
	}
	/* printed even with -q: it is shown once and never again */
	printf("Recovery key:\n\n    %s\n\n"
	       "Print this key now and store it offline (in a safe, not next to the disk).\n"
	       "It opens the repository if the password is lost. Anyone with this key can\n"
	       "read the backups. It is not stored anywhere else and will not be shown again.\n",
	       key);
}

int cmd_init(int argc, char **argv, struct cli_ctx *ctx)
{
	struct init_args a = {{{0, 0}, {0, 0, 0}}, 0};
	struct cli_secret pw = {NULL, 0};
	struct mv_error err = {0};
	char *recovery = NULL;
	const char *loc;
	int rc;

	rc = parse(argc, argv, ctx, &a);
	if (rc != 0)
		return rc;
	if (ctx->g.help)
		return cli_help_command("init");
	/* the engine uses the KDF parameters only as a pair */
	if (a.opts.kdf.opslimit || a.opts.kdf.memlimit) {
		if (!a.opts.kdf.opslimit)
			a.opts.kdf.opslimit = MV_ARGON2_MIN_OPS;
		if (!a.opts.kdf.memlimit)
			a.opts.kdf.memlimit = MV_ARGON2_MIN_MEM;
	}
	loc = cli_repo_location(ctx);
	if (!loc)
		return cli_usage_error("init", "no repository given: use -r LOCATION");
	rc = refuse_existing(loc);
	if (rc != 0)
		return rc;
	rc = cli_password_read(&ctx->g, CLI_PASSWORD_NEW, ctx->cancel, &pw);
	if (rc != 0)
		return rc;
	if (!a.insecure && !mv_password_strong((const char *)pw.p, pw.len)) {
		cli_progress_clear_line();
		fprintf(stderr, "medvault: %s", weak_message);
		rc = CLI_EXIT_FATAL;
		goto out;
	}
	recovery = sodium_malloc(MV_RECOVERY_TEXT_LEN + 1);
	if (!recovery) {
		cli_error("out of memory");
		rc = CLI_EXIT_FATAL;
		goto out;
	}
	rc = mv_repo_init(loc, pw.p, pw.len, &a.opts, recovery, &err);
	if (rc != 0) {
		rc = cli_fail(rc, &err);
		goto out;
	}
	recovery[MV_RECOVERY_TEXT_LEN] = '\0';
	print_recovery(ctx, loc, recovery);
	rc = CLI_EXIT_OK;
out:
	if (recovery)
		sodium_free(recovery);
	cli_secret_free(&pw);
	return rc;
}
