#include "cli/exitcode.h"

#include "core/util/err.h"

int cli_exit_code(int mv_err)
{
	switch (mv_err) {
	case MV_OK:
		return CLI_EXIT_OK;
	case MV_ERR_USAGE:
		return CLI_EXIT_USAGE;
	case MV_ERR_PARTIAL:
		return CLI_EXIT_PARTIAL;
	case MV_ERR_INTEGRITY:
		return CLI_EXIT_INTEGRITY;
	case MV_ERR_NOREPO:
		return CLI_EXIT_NOREPO;
	case MV_ERR_LOCKED:
		return CLI_EXIT_LOCKED;
	case MV_ERR_PASSWORD:
		return CLI_EXIT_PASSWORD;
	case MV_ERR_INTERRUPTED:
		return CLI_EXIT_INTERRUPTED;
	case MV_ERR_TRANSIENT: /* left after the retries: an I/O error */
		return CLI_EXIT_FATAL;
	default:
		return CLI_EXIT_FATAL;
	}
}
