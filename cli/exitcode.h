/* Exit codes of the medvault program (restic's, plus 4 for integrity
 * errors). Monitoring relies on these numbers: never change one. */
#ifndef MV_CLI_EXITCODE_H
#define MV_CLI_EXITCODE_H

enum {
	CLI_EXIT_OK = 0,            /* success */
	CLI_EXIT_FATAL = 1,         /* any other error */
	CLI_EXIT_USAGE = 2,         /* bad command line */
	CLI_EXIT_PARTIAL = 3,       /* backup written, some source files unreadable */
	CLI_EXIT_INTEGRITY = 4,     /* damaged data found (check, restore) */
	CLI_EXIT_NOREPO = 10,       /* no repository at that location */
	CLI_EXIT_LOCKED = 11,       /* the lock could not be taken */
	CLI_EXIT_PASSWORD = 12,     /* wrong password (no key slot opens) */
	CLI_EXIT_INTERRUPTED = 130, /* SIGINT or SIGTERM */
};

/* Maps an engine result (0 or a negative MV_ERR_* of core/util/err.h) to the
 * exit code above. MV_ERR_USAGE (an argument the engine refused, e.g. an
 * unsupported location scheme or KDF parameters out of range) is a usage
 * error, 2. Codes without a dedicated exit code (I/O, out of memory, disk
 * full, not found, exists, version, ...) give 1. */
int cli_exit_code(int mv_err);

#endif
