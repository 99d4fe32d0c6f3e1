#include <sodium.h>
#include <stdio.h>
#include <zstd.h>

#include "cli/commands.h"
#include "cli/exitcode.h"
#include "cli/json.h"
#include "cli/output.h"

const struct cli_help cmd_version_help = {
    "medvault version",
    "print the version of medvault and of its libraries",
    "Prints medvault's version and the versions of libsodium and zstd it runs with.\n"
    "With --json: {\"message_type\":\"version\",\"version\":...,\"libsodium\":...,\"zstd\":...}.",
    NULL,
    "medvault version\n"
    "medvault version --json\n",
};

int cmd_version(int argc, char **argv, struct cli_ctx *ctx)
{
	int rc;

	if (cli_bare_command(argc, argv, ctx, "version", &rc))
		return rc;
	if (ctx->g.json) {
		struct cli_json j;
		cli_json_init(&j, stdout);
		cli_json_begin_object(&j, NULL);
		cli_json_str(&j, "message_type", "version");
		cli_json_str(&j, "version", MEDVAULT_VERSION);
		cli_json_str(&j, "libsodium", sodium_version_string());
		cli_json_str(&j, "zstd", ZSTD_versionString());
		cli_json_end_object(&j);
	} else {
		printf("medvault %s (libsodium %s, zstd %s)\n", MEDVAULT_VERSION,
		       sodium_version_string(), ZSTD_versionString());
	}
	return CLI_EXIT_OK;
}
