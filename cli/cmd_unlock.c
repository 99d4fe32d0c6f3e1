#include <stdio.h>

#include "cli/commands.h"
#include "cli/exitcode.h"
#include "cli/json.h"
#include "cli/output.h"
#include "cli/repo_open.h"

const struct cli_help cmd_unlock_help = {
    "medvault unlock -r LOCATION",
    "remove stale locks",
    "Removes the locks of medvault processes that are gone: a lock of a process that no\n"
    "longer runs on this host, or a lock not refreshed for 30 minutes. Locks of running\n"
    "processes are left alone. Prints how many locks were removed.",
    NULL,
    "medvault unlock -r /media/usb/backup\n",
};

int cmd_unlock(int argc, char **argv, struct cli_ctx *ctx)
{
	struct mv_error err = {0};
	struct mv_repo *r = NULL;
	size_t removed = 0;
	int rc;

	if (cli_bare_command(argc, argv, ctx, "unlock", &rc))
		return rc;
	rc = cli_repo_open(ctx, "unlock", &r);
	if (rc != 0)
		return rc;
	rc = mv_lock_remove_stale(r, &removed, &err);
	if (rc != 0) {
		rc = cli_fail(rc, &err);
	} else if (ctx->g.json) {
		struct cli_json j;
		cli_json_init(&j, stdout);
		cli_json_begin_object(&j, NULL);
		cli_json_str(&j, "message_type", "unlock");
		cli_json_u64(&j, "removed", removed);
		cli_json_end_object(&j);
	} else if (!ctx->g.quiet) {
		printf("removed %zu stale lock%s\n", removed, removed == 1 ? "" : "s");
	}
	mv_repo_close(r);
	return rc;
}
