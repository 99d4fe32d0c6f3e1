/* medvault key list|add|remove|passwd|test|passphrase: the key slots of a
 * repository (core/repo/keyslots.h). */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
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
#include "core/repo/keyslots.h"
#include "core/repo/passphrase.h"

enum {
	O_RECOVERY = 1,
	O_MACHINE,
	O_LABEL,
	O_NEW_PASSWORD_FILE,
	O_RECOVERY_FILE,
	O_INSECURE,
	O_FORCE,
	O_KDF_MEMORY,
	O_KDF_ITERATIONS,
};

static const struct cli_opt_spec opts[] = {
    {"recovery", 0, 0, O_RECOVERY},
    {"machine", 0, 1, O_MACHINE},
    {"label", 0, 1, O_LABEL},
    {"new-password-file", 0, 1, O_NEW_PASSWORD_FILE},
    {"recovery-key-file", 0, 1, O_RECOVERY_FILE},
    {"insecure-password", 0, 0, O_INSECURE},
    {"force", 0, 0, O_FORCE},
    {"kdf-memory", 0, 1, O_KDF_MEMORY},
    {"kdf-iterations", 0, 1, O_KDF_ITERATIONS},
    {NULL, 0, 0, 0},
};

static const struct cli_help_opt help_opts[] = {
    {"--label TEXT", "add, passwd: a name for the new key in 'key list' (at most 64 bytes)"},
    {"--new-password-file FILE", "add, passwd: the new password from FILE (mode 0600) instead "
                                 "of asking twice on the terminal"},
    {"--insecure-password", "add, passwd: accept a password below the CNIL threshold"},
    {"--kdf-memory MiB", "add, passwd: Argon2id memory of the new password (default 64)"},
    {"--kdf-iterations N", "add, passwd: Argon2id passes of the new password (default 3)"},
    {"--recovery", "add: a new recovery key; test: try the recovery key"},
    {"--recovery-key-file FILE", "add --recovery: write the key to FILE, a new file (mode 0600); "
                                 "test --recovery: read the key from FILE"},
    {"--machine FILE", "add: a machine key for unattended runs, written to FILE, a new file "
                       "(mode 0600, yours)"},
    {"--force", "remove: also the key that opened the repository"},
    {NULL, NULL},
};

const struct cli_help cmd_key_help = {
    "medvault key list|add|remove ID|passwd|test --recovery|passphrase -r LOCATION [options]",
    "list, add, remove and change the keys that open a repository",
    "Several keys open one repository, each in its own key slot: passwords, recovery keys\n"
    "and machine key files. The repository's data is encrypted once with a master key;\n"
    "each slot holds that master key, locked by one key. Adding or removing a key never\n"
    "re-encrypts the backups.\n"
    "\n"
    "  list      the slots: id, kind, label, when, where and by whom each was made; the\n"
    "            one that opened the repository is marked '*'. --json: one array.\n"
    "  add       a new password (asked twice, or --new-password-file); with --recovery a\n"
    "            new recovery key (shown on a terminal, or --recovery-key-file FILE); with\n"
    "            --machine FILE a random 256-bit key written to FILE (mode 0600, never\n"
    "            overwriting), for the nightly job: medvault --key-file FILE backup ...\n"
    "            or MEDVAULT_KEY_FILE=FILE. Anyone who can read FILE can read the backups:\n"
    "            keep it on the machine that runs them, owned by the user running them.\n"
    "  remove    removes slot ID (an id or a unique prefix of 8+ digits from 'key list').\n"
    "            Never the last one; not the one that opened the repository unless --force.\n"
    "  passwd    a new password for the password that opened the repository: adds the new\n"
    "            slot, then removes the old one. Opened with the recovery key or a machine\n"
    "            key, it adds a password and keeps that key (lost password: use this).\n"
    "  test      --recovery: asks for the recovery key (or --recovery-key-file) and says\n"
    "            whether it still opens the repository (exit 12 when not). Do it yearly.\n"
    "  passphrase  prints a passphrase of 7 random words (about 90 bits).\n"
    "\n"
    "New passwords must meet the CNIL 2022 threshold for a password used alone (80 bits):\n"
    "12+ characters of 4 kinds (lower case, upper case, digits, symbols), 14+ of 3 kinds,\n"
    "or 7+ random words. An interrupted add or remove is finished by the next key command.",
    help_opts,
    "medvault key list -r /media/usb/backup\n"
    "medvault key add -r /media/usb/backup --label 'Dr Martin'\n"
    "medvault key add -r /media/usb/backup --machine /etc/medvault/nightly.key\n"
    "medvault -r /media/usb/backup --key-file /etc/medvault/nightly.key backup /srv/imaging\n"
    "medvault key remove -r /media/usb/backup 3f2a9c1e\n"
    "medvault key passwd -r /media/usb/backup\n"
    "medvault key test --recovery -r /media/usb/backup\n",
};

struct key_args {
	const char *sub;
	const char *id;
	int recovery;
	const char *machine;
	const char *label;
	const char *new_password_file;
	const char *recovery_file;
	int insecure;
	int force;
	struct mv_kdf_params kdf;
};

static int parse(int argc, char **argv, struct cli_ctx *ctx, struct key_args *a)
{
	struct cli_opt_iter it;
	int c;

	cli_opt_init(&it, argc, argv, 1, opts, cli_global_opts, ctx->g.args_only);
	while ((c = cli_cmd_next(&it, &ctx->g)) != CLI_OPT_DONE) {
		switch (c) {
		case O_RECOVERY:
			a->recovery = 1;
			break;
		case O_MACHINE:
			if (!it.value[0])
				return cli_usage_error("key", "--machine needs a file name");
			a->machine = it.value;
			break;
		case O_LABEL:
			a->label = it.value;
			break;
		case O_NEW_PASSWORD_FILE:
			a->new_password_file = it.value;
			break;
		case O_RECOVERY_FILE:
			if (!it.value[0])
				return cli_usage_error("key",
				                       "--recovery-key-file needs a file name");
			a->recovery_file = it.value;
			break;
		case O_INSECURE:
			a->insecure = 1;
			break;
		case O_FORCE:
			a->force = 1;
			break;
		case O_KDF_MEMORY:
		case O_KDF_ITERATIONS: {
			int bad = cli_kdf_option("key", c == O_KDF_MEMORY, it.value, &a->kdf);
			if (bad)
				return bad;
			break;
		}
		case CLI_OPT_ARG:
			if (!a->sub)
				a->sub = it.value;
			else if (!a->id)
				a->id = it.value;
			else
				return cli_usage_error("key", "unexpected argument '%s'", it.value);
			break;
		default:
			return cli_usage_error("key", "%s", it.err);
		}
	}
	cli_kdf_complete(&a->kdf);
	return 0;
}

static const char *kind_name(int kind)
{
	return kind == MV_SLOT_PASSWORD   ? "password"
	       : kind == MV_SLOT_RECOVERY ? "recovery"
	       : kind == MV_SLOT_MACHINE  ? "machine"
	                                  : "damaged";
}

static const char *state_name(const struct mv_keyslot_info *s)
{
	if (s->kind < 0)
		return s->io ? "unreadable" : "damaged";
	if (!s->listed)
		return "unlisted";
	return s->state == MV_KEYLIST_ADDING     ? "adding"
	       : s->state == MV_KEYLIST_REMOVING ? "removing"
	                                         : "ok";
}

/* Opens r with the caller's key and takes its lock. */
static int open_locked(struct cli_ctx *ctx, int exclusive, struct mv_repo **r,
                       struct mv_lock **lock)
{
	*lock = NULL;
	int rc = cli_repo_open(ctx, "key", r);
	if (rc)
		return rc;
	return exclusive ? cli_repo_lock(*r, 1, lock) : cli_repo_lock_reader(ctx, *r, 0, lock);
}

static int key_list(struct cli_ctx *ctx)
{
	struct mv_repo *r = NULL;
	struct mv_lock *lock = NULL;
	struct mv_keyslot_info *s = NULL;
	struct mv_error err = {0};
	size_t n = 0;

	int rc = open_locked(ctx, 0, &r, &lock);
	if (rc == 0 && (rc = mv_keyslots_list(r, &s, &n, &err)) != 0)
		rc = cli_fail(rc, &err);
	if (rc)
		goto out;
	if (ctx->g.json) {
		struct cli_json j;
		char t[CLI_FMT_LEN];
		cli_json_init(&j, stdout);
		cli_json_begin_array(&j, NULL);
		for (size_t i = 0; i < n; i++) {
			cli_json_begin_object(&j, NULL);
			cli_json_str(&j, "id", s[i].name);
			cli_json_str(&j, "kind", kind_name(s[i].kind));
			cli_json_str(&j, "label", s[i].label);
			cli_json_str(&j, "created",
			             s[i].created
			                 ? cli_fmt_time_rfc3339(s[i].created * 1000000000LL, t)
			                 : NULL);
			cli_json_str(&j, "host", s[i].host[0] ? s[i].host : NULL);
			cli_json_str(&j, "user", s[i].user[0] ? s[i].user : NULL);
			cli_json_bool(&j, "current", s[i].opened);
			cli_json_str(&j, "state", state_name(&s[i]));
			cli_json_end_object(&j);
		}
		cli_json_end_array(&j);
		goto out;
	}
	printf("  %-16s  %-8s  %-16s  %-16s  %-12s  %s\n", "ID", "KIND", "LABEL", "CREATED", "HOST",
	       "USER");
	for (size_t i = 0; i < n; i++) {
		char t[CLI_FMT_LEN] = "-";
		if (s[i].created)
			cli_fmt_time_local(s[i].created * 1000000000LL, t);
		printf("%c %-16.16s  %-8s  ", s[i].opened ? '*' : ' ', s[i].name,
		       kind_name(s[i].kind));
		const char *cols[3] = {s[i].label, s[i].host, s[i].user};
		for (int c = 0; c < 3; c++) {
			const char *v = cols[c][0] ? cols[c] : "-";
			cli_term_put(stdout, v, strlen(v));
			if (c == 0) {
				for (size_t w = strlen(v); w < 16; w++)
					putchar(' ');
				printf("  %-16.16s  ", t);
			} else if (c == 1) {
				for (size_t w = strlen(v); w < 12; w++)
					putchar(' ');
				fputs("  ", stdout);
			}
		}
		if (strcmp(state_name(&s[i]), "ok"))
			printf("  (%s)", state_name(&s[i]));
		putchar('\n');
	}
	if (!ctx->g.quiet)
		printf("%zu key slot%s; * opened the repository\n", n, n == 1 ? "" : "s");
out:
	free(s);
	mv_lock_release(lock);
	mv_repo_close(r);
	return rc;
}

/* Adds a slot of nk and reports it. */
static int add_slot(struct cli_ctx *ctx, struct mv_repo *r, struct mv_keyslot_new *nk,
                    char name[65])
{
	struct mv_error err = {0};
	struct cli_origin origin;

	cli_origin_fill(&origin);
	nk->origin = &origin.o;
	int rc = mv_keyslots_add(r, nk, name, &err);
	if (rc)
		return cli_fail(rc, &err);
	if (ctx->g.json) {
		struct cli_json j;
		cli_json_init(&j, stdout);
		cli_json_begin_object(&j, NULL);
		cli_json_str(&j, "message_type", "key_added");
		cli_json_str(&j, "id", name);
		cli_json_str(&j, "kind", kind_name(nk->kind));
		cli_json_end_object(&j);
	} else if (!ctx->g.quiet) {
		printf("added %s key %.16s\n", kind_name(nk->kind), name);
	}
	return 0;
}

/* Says that slot name was removed (a JSON line with --json). */
static void report_removed(const struct cli_ctx *ctx, const char *name, const char *what)
{
	if (ctx->g.json) {
		struct cli_json j;
		cli_json_init(&j, stdout);
		cli_json_begin_object(&j, NULL);
		cli_json_str(&j, "message_type", "key_removed");
		cli_json_str(&j, "id", name);
		cli_json_end_object(&j);
	} else if (!ctx->g.quiet) {
		printf("removed %s (key %.16s)\n", what, name);
	}
}

/* The new password: --new-password-file, else asked twice; checked. */
static int new_password(struct cli_ctx *ctx, const struct key_args *a, struct cli_secret *pw)
{
	int rc = cli_password_read_other(a->new_password_file, NULL, "enter the new password: ",
	                                 "use --new-password-file FILE, or run on a terminal",
	                                 ctx->cancel, pw);
	if (rc)
		return rc;
	if (!a->insecure && cli_password_check_new(pw, "password", "--insecure-password")) {
		cli_secret_free(pw);
		return CLI_EXIT_FATAL;
	}
	return 0;
}

/* A new random 256-bit key (recovery or machine) into a new file, or for
 * a recovery key without a file, on the terminal. */
static int add_random_key(struct cli_ctx *ctx, const struct key_args *a, struct mv_repo *r)
{
	uint8_t kind = a->machine ? MV_SLOT_MACHINE : MV_SLOT_RECOVERY;
	const char *file = a->machine ? a->machine : a->recovery_file;
	char name[65];
	int rc = CLI_EXIT_FATAL;

	if (!file && !isatty(STDOUT_FILENO))
		return cli_usage_error(
		    "key", "the recovery key is shown only on a terminal, and stdout is not one; "
		           "pass --recovery-key-file FILE to write it to a new file (mode 0600)");
	uint8_t *key = sodium_malloc(MV_KEY_LEN);
	char *text = sodium_malloc(MV_RECOVERY_TEXT_LEN + 1);
	if (!key || !text) {
		cli_error("out of memory");
		goto out;
	}
	randombytes_buf(key, MV_KEY_LEN);
	/* the file first: a key that is lost before it is written must not be
	 * the only copy, and a crash leaves a file that opens nothing */
	if (file) {
		rc = cli_key_file_create(file, key, a->machine ? mv_repo_config(r)->repo_id : NULL);
		if (rc)
			goto out;
	}
	struct mv_keyslot_new nk = {kind, key, MV_KEY_LEN, NULL, a->label, NULL};
	rc = add_slot(ctx, r, &nk, name);
	if (rc) {
		if (file)
			unlink(file);
		goto out;
	}
	if (ctx->g.json)
		goto out;
	if (a->machine) {
		printf("Machine key written to ");
		cli_term_put(stdout, file, strlen(file));
		printf(" (mode 0600). Unattended runs open the repository with it:\n"
		       "    medvault --key-file FILE ...   or   MEDVAULT_KEY_FILE=FILE\n"
		       "Anyone who can read it can read the backups; revoke it with 'medvault key "
		       "remove %.16s'.\n",
		       name);
	} else if (file) {
		printf("Recovery key written to ");
		cli_term_put(stdout, file, strlen(file));
		printf(" (mode 0600). Print it, store it offline, then delete the file.\n");
	} else {
		mv_recovery_format(key, text);
		printf(
		    "Recovery key:\n\n    %s\n\n"
		    "Print this key now and store it offline (in a safe, not next to the disk).\n"
		    "It opens the repository if the password is lost. It will not be shown "
		    "again.\n",
		    text);
	}
out:
	if (key)
		sodium_free(key);
	if (text)
		sodium_free(text);
	return rc;
}

static int key_add(struct cli_ctx *ctx, const struct key_args *a)
{
	struct mv_repo *r = NULL;
	struct mv_lock *lock = NULL;
	struct cli_secret pw = {NULL, 0};
	struct stat st;
	char name[65];
	int rc;

	if (a->recovery && a->machine)
		return cli_usage_error("key", "--recovery and --machine exclude each other");
	if (a->machine && lstat(a->machine, &st) == 0)
		return cli_usage_error("key",
		                       "'%s' exists already: medvault never overwrites a key file; "
		                       "name a new file",
		                       a->machine);
	if (a->recovery && a->recovery_file && lstat(a->recovery_file, &st) == 0)
		return cli_usage_error("key",
		                       "--recovery-key-file '%s' exists already: name a new "
		                       "file",
		                       a->recovery_file);
	rc = open_locked(ctx, 1, &r, &lock);
	if (rc)
		goto out;
	if (a->recovery || a->machine) {
		rc = add_random_key(ctx, a, r);
		goto out;
	}
	rc = new_password(ctx, a, &pw);
	if (rc)
		goto out;
	struct mv_keyslot_new nk = {
	    MV_SLOT_PASSWORD, pw.p, pw.len, a->kdf.opslimit ? &a->kdf : NULL, a->label, NULL};
	rc = add_slot(ctx, r, &nk, name);
out:
	cli_secret_free(&pw);
	mv_lock_release(lock);
	mv_repo_close(r);
	return rc;
}

/* The slot named by id: a full name or a unique prefix of 8+ digits. */
static int resolve_id(struct mv_repo *r, const char *id, char name[65])
{
	struct mv_keyslot_info *s = NULL;
	struct mv_error err = {0};
	size_t n = 0, len = strlen(id), found = 0;

	if (len < 8 || len > 64)
		return cli_usage_error("key", "name the key slot by its id or 8 or more of its "
		                              "first digits ('medvault key list')");
	int rc = mv_keyslots_list(r, &s, &n, &err);
	if (rc)
		return cli_fail(rc, &err);
	for (size_t i = 0; i < n; i++)
		if (strncmp(s[i].name, id, len) == 0 && found++ == 0)
			memcpy(name, s[i].name, 65);
	free(s);
	if (found == 0) {
		cli_error("no key slot '%s' ('medvault key list' shows them)", id);
		return CLI_EXIT_FATAL;
	}
	if (found > 1)
		return cli_usage_error("key", "'%s' names %zu key slots: give more digits", id,
		                       found);
	return 0;
}

static int key_remove(struct cli_ctx *ctx, const struct key_args *a)
{
	struct mv_repo *r = NULL;
	struct mv_lock *lock = NULL;
	struct mv_error err = {0};
	char name[65];

	if (!a->id)
		return cli_usage_error("key", "key remove needs the id of a key slot");
	int rc = open_locked(ctx, 1, &r, &lock);
	if (rc == 0)
		rc = resolve_id(r, a->id, name);
	if (rc == 0 &&
	    (rc = mv_keyslots_remove(r, name, a->force ? MV_KEYSLOTS_FORCE : 0, &err)) != 0)
		rc = cli_fail(rc, &err);
	if (rc == 0)
		report_removed(ctx, name, "the key");
	mv_lock_release(lock);
	mv_repo_close(r);
	return rc;
}

static int key_passwd(struct cli_ctx *ctx, const struct key_args *a)
{
	struct mv_repo *r = NULL;
	struct mv_lock *lock = NULL;
	struct cli_secret pw = {NULL, 0};
	struct mv_error err = {0};
	struct mv_unlock_info ui;
	char name[65], old[65];

	int rc = open_locked(ctx, 1, &r, &lock);
	if (rc)
		goto out;
	mv_repo_unlock_info(r, &ui);
	snprintf(old, sizeof(old), "%s", ui.slot_name);
	rc = new_password(ctx, a, &pw);
	if (rc)
		goto out;
	struct mv_keyslot_new nk = {
	    MV_SLOT_PASSWORD, pw.p, pw.len, a->kdf.opslimit ? &a->kdf : NULL, a->label, NULL};
	/* the new slot first: an interruption leaves both passwords working */
	rc = add_slot(ctx, r, &nk, name);
	if (rc)
		goto out;
	if (ui.slot_kind != MV_SLOT_PASSWORD) {
		if (!ctx->g.quiet && !ctx->g.json)
			printf("the %s key that opened the repository stays; remove old passwords "
			       "with 'medvault key remove ID' ('medvault key list')\n",
			       kind_name(ui.slot_kind));
		goto out;
	}
	rc = mv_keyslots_remove(r, old, MV_KEYSLOTS_FORCE, &err);
	if (rc) {
		rc = cli_fail(rc, &err);
		cli_error("the new password was added; the old one (key %.16s) still opens the "
		          "repository: remove it with 'medvault key remove %.16s'",
		          old, old);
		goto out;
	}
	report_removed(ctx, old, "the old password");
out:
	cli_secret_free(&pw);
	mv_lock_release(lock);
	mv_repo_close(r);
	return rc;
}

/* key test --recovery: opens with the recovery key alone. */
static int key_test(struct cli_ctx *ctx, const struct key_args *a)
{
	struct mv_repo *r = NULL;
	struct cli_secret key = {NULL, 0};
	struct mv_error err = {0};
	struct mv_unlock_info ui;
	const char *loc = cli_repo_location(ctx);
	uint8_t parsed[MV_KEY_LEN];

	if (!a->recovery)
		return cli_usage_error("key", "key test needs --recovery");
	if (!loc)
		return cli_usage_error("key", "no repository given: use -r LOCATION or set "
		                              "MEDVAULT_REPOSITORY");
	int rc = mv_repo_open(loc, &r, &err);
	if (rc) {
		rc = cli_fail(rc, &err);
		goto out;
	}
	rc = cli_secret_read_once(a->recovery_file, "enter the recovery key: ",
	                          "use --recovery-key-file FILE, or run on a terminal", ctx->cancel,
	                          &key);
	if (rc)
		goto out;
	if (mv_recovery_parse((const char *)key.p, key.len, parsed) != 0) {
		cli_error(
		    "that is not a recovery key (64 hex digits in 8 groups of 8): it does not "
		    "open the repository");
		rc = CLI_EXIT_PASSWORD;
		goto out;
	}
	sodium_memzero(parsed, sizeof(parsed));
	rc = mv_repo_unlock(r, key.p, key.len, &err);
	mv_repo_unlock_info(r, &ui);
	if (rc == 0 && ui.slot_kind != MV_SLOT_RECOVERY)
		rc = mv_error_set(&err, MV_ERR_PASSWORD, 0, "no recovery key slot opens with it");
	if (rc) {
		if (rc == MV_ERR_PASSWORD)
			mv_error_prefix(&err, rc, "the recovery key does NOT open the repository");
		rc = cli_fail(rc, &err);
		goto out;
	}
	if (ctx->g.json) {
		struct cli_json j;
		cli_json_init(&j, stdout);
		cli_json_begin_object(&j, NULL);
		cli_json_str(&j, "message_type", "key_test");
		cli_json_str(&j, "id", ui.slot_name);
		cli_json_bool(&j, "opens", 1);
		cli_json_end_object(&j);
	} else if (!ctx->g.quiet) {
		printf("the recovery key opens the repository (key %.16s)\n", ui.slot_name);
	}
out:
	cli_secret_free(&key);
	mv_repo_close(r);
	return rc;
}

static int key_passphrase(void)
{
	char *p = sodium_malloc(MV_PASSPHRASE_CAP);
	if (!p) {
		cli_error("out of memory");
		return CLI_EXIT_FATAL;
	}
	int n = mv_passphrase_generate(MV_PASSPHRASE_WORDS, p, MV_PASSPHRASE_CAP);
	if (n > 0)
		printf("%s\n", p);
	sodium_free(p);
	return n > 0 ? 0 : CLI_EXIT_FATAL;
}

int cmd_key(int argc, char **argv, struct cli_ctx *ctx)
{
	struct key_args a;

	memset(&a, 0, sizeof(a));
	int rc = parse(argc, argv, ctx, &a);
	if (rc)
		return rc;
	if (ctx->g.help)
		return cli_help_command("key");
	if (!a.sub)
		return cli_usage_error("key", "key needs a subcommand: list, add, remove, passwd, "
		                              "test or passphrase");
	if (a.id && strcmp(a.sub, "remove") != 0)
		return cli_usage_error("key", "unexpected argument '%s'", a.id);
	if (!strcmp(a.sub, "list"))
		return key_list(ctx);
	if (!strcmp(a.sub, "add"))
		return key_add(ctx, &a);
	if (!strcmp(a.sub, "remove"))
		return key_remove(ctx, &a);
	if (!strcmp(a.sub, "passwd"))
		return key_passwd(ctx, &a);
	if (!strcmp(a.sub, "test"))
		return key_test(ctx, &a);
	if (!strcmp(a.sub, "passphrase"))
		return key_passphrase();
	return cli_usage_error("key", "unknown key subcommand '%s'", a.sub);
}
