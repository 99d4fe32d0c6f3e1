/* medvault: argv -> global options -> the command's function.
 *
 * `medvault [global options] COMMAND [options] [arguments]`; global options
 * may also follow the command name (cli/options.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "cli/commands.h"
#include "cli/exitcode.h"
#include "cli/output.h"
#include "cli/repo_open.h"
#include "core/repo/crypto.h"

const struct cli_command cli_commands[] = {
    {"init", cmd_init, CLI_CMD_REPO, &cmd_init_help},
    {"backup", cmd_backup, CLI_CMD_REPO, &cmd_backup_help},
    {"snapshots", cmd_snapshots, CLI_CMD_REPO, &cmd_snapshots_help},
    {"ls", cmd_ls, CLI_CMD_REPO, &cmd_ls_help},
    {"restore", cmd_restore, CLI_CMD_REPO, &cmd_restore_help},
    {"find", cmd_find, CLI_CMD_REPO, &cmd_find_help},
    {"dump", cmd_dump, CLI_CMD_REPO, &cmd_dump_help},
    {"check", cmd_check, CLI_CMD_REPO, &cmd_check_help},
    {"unlock", cmd_unlock, CLI_CMD_REPO, &cmd_unlock_help},
    {"version", cmd_version, 0, &cmd_version_help},
    {"help", cmd_help, 0, &cmd_help_help},
    {"audit", cmd_audit, CLI_CMD_REPO, &cmd_audit_help},
    {"scan", cmd_scan, CLI_CMD_REPO, &cmd_scan_help},
    {"impact", cmd_impact, CLI_CMD_REPO, &cmd_impact_help},
    {"wipe", cmd_wipe, CLI_CMD_REPO, &cmd_wipe_help},
    {"forget", cmd_forget, CLI_CMD_REPO, &cmd_forget_help},
    {"key", cmd_key, CLI_CMD_REPO, &cmd_key_help},
    {"repair", cmd_repair, CLI_CMD_REPO, &cmd_repair_help},
    {"diff", cmd_diff, CLI_CMD_REPO, &cmd_diff_help},
    {"stats", cmd_stats, CLI_CMD_REPO, &cmd_stats_help},
    {"copy", cmd_copy, CLI_CMD_REPO, &cmd_copy_help},
    {"prune", cmd_prune, CLI_CMD_REPO, &cmd_prune_help},
    {NULL, NULL, 0, NULL},
};

/* Set by SIGINT/SIGTERM; the engine polls it through mv_events.cancel. */
static volatile sig_atomic_t cancel_flag;

/* The first signal asks the engine to stop cleanly (exit 130); a second
 * one ends the process at once (the repository stays consistent: the
 * engine's write order guarantees it, a stale lock remains). */
static void on_signal(int sig)
{
	if (cancel_flag) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	/* the handler may run on any thread, and worker threads read the
	 * flag: a lock-free atomic store (async-signal-safe) */
	__atomic_store_n(&cancel_flag, 1, __ATOMIC_RELAXED);
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: a password prompt must wake up */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL); /* a closed terminal: stop cleanly too */
	sa.sa_handler = SIG_IGN;      /* write errors are checked instead */
	sigaction(SIGPIPE, &sa, NULL);
}

/* Keys must never reach a core dump; and enough descriptors. */
static void harden(void)
{
	struct rlimit rl = {0, 0};

	setrlimit(RLIMIT_CORE, &rl);
	/* restore holds a folder handle per level of a deep tree: use all the
	 * descriptors the system grants, not the shell's soft default */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
#ifdef __linux__
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif
}

/* Reports a failed write to stdout (a full disk, a closed pipe). */
static int finish(int rc)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno != EPIPE)
			cli_error("cannot write the output: %s", strerror(errno));
		return rc ? rc : CLI_EXIT_FATAL;
	}
	return rc;
}

int main(int argc, char **argv)
{
	struct cli_ctx ctx;
	const struct cli_command *cmd;
	char err[256];
	int i;

	harden();
	tzset();
	install_signals();
	memset(&ctx, 0, sizeof(ctx));
	ctx.cancel = &cancel_flag;
	if (mv_crypto_init() != 0) {
		cli_error("cannot initialise libsodium");
		return CLI_EXIT_FATAL;
	}
	i = cli_parse_leading(argc, argv, &ctx.g, err, sizeof(err));
	if (i < 0)
		return cli_usage_error(NULL, "%s", err);
	if (i >= argc) {
		cli_help_general(ctx.g.help ? stdout : stderr);
		return finish(ctx.g.help ? CLI_EXIT_OK : CLI_EXIT_USAGE);
	}
	cmd = cli_command_find(argv[i]);
	if (!cmd)
		return cli_usage_error(NULL, "unknown command '%s'", argv[i]);
	ctx.cmd = cmd->name;
	int rc = cmd->fn(argc - i, argv + i, &ctx);
	cli_ctx_release(&ctx);
	if (rc == CLI_EXIT_OK && ctx.damaged)
		rc = CLI_EXIT_INTEGRITY;
	return finish(rc);
}
