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
    "longer runs on this host (or that was written before this host's last boot), or a\n"
    "lock not refreshed for 30 minutes. Locks of running processes are left alone. Every\n"
    "command removes the stale locks of this host by itself; unlock also removes those of\n"
    "other hosts. Prints how many locks were removed.\n"
    "\n"
    "A lock file that cannot be read or authenticated is never removed: its holder is\n"
    "unknown, and it blocks other commands (exit code 11). unlock names it; delete it by\n"
    "hand once you are sure no medvault process uses the repository.",
    NULL,
    "medvault unlock -r /media/usb/backup\n",
};

int cmd_unlock(int argc, char **argv, struct cli_ctx *ctx)
{
	struct mv_error err = {0};
	struct mv_repo *r = NULL;
	struct mv_lock_cleanup c;
	int rc;

	if (cli_bare_command(argc, argv, ctx, "unlock", &rc))
		return rc;
	rc = cli_repo_open(ctx, "unlock", &r);
	if (rc != 0)
		return rc;
	rc = mv_lock_remove_stale(r, &c, &err);
	if (rc == 0 && c.damaged > 0) {
		const char *loc = cli_repo_location(ctx);
		cli_warning("%zu lock file%s damaged and left in place: '%s/locks/%s' (%s)%s; "
		            "delete %s by hand if you are sure no medvault process uses the "
		            "repository",
		            c.damaged, c.damaged == 1 ? " is" : "s are", loc ? loc : ".",
		            c.damaged_name, c.damaged_why, c.damaged > 1 ? " and others" : "",
		            c.damaged == 1 ? "it" : "them");
	}
	if (rc != 0) {
		rc = cli_fail(rc, &err);
	} else if (ctx->g.json) {
		struct cli_json j;
		cli_json_init(&j, stdout);
		cli_json_begin_object(&j, NULL);
		cli_json_str(&j, "message_type", "unlock");
		cli_json_u64(&j, "removed", c.removed);
		cli_json_u64(&j, "damaged", c.damaged);
		cli_json_end_object(&j);
	} else if (!ctx->g.quiet) {
		printf("removed %zu stale lock%s\n", c.removed, c.removed == 1 ? "" : "s");
	}
	mv_repo_close(r);
	return rc;
}
