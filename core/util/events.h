/* How an operation reports while it runs: progress, warnings, notes, and
 * the flag that cancels it. Shared by core/ops, core/medical and the key
 * slots; the caller (cli/) renders them. */
#ifndef MV_EVENTS_H
#define MV_EVENTS_H

#include <signal.h>
#include <stdint.h>

/* Progress: a snapshot of counters, delivered about every 200 ms from the
 * calling thread. */
struct mv_progress {
	uint64_t files_done;
	uint64_t files_total; /* 0 when unknown */
	uint64_t bytes_done;
	uint64_t bytes_total; /* 0 when unknown */
	const char *current;  /* path being worked on, may be NULL */
	const char *unit;     /* what files_done counts: NULL = "files" ("packs") */
	/* of bytes_done, those done without reading (backup: unchanged files
	 * reused from the parent); the rate and the time left leave them out */
	uint64_t bytes_reused;
};

struct mv_events {
	void (*progress)(void *arg, const struct mv_progress *p);
	/* A problem with one item that does not stop the operation. Restore's
	 * messages about files it could not restore intact start with
	 * "damaged". */
	void (*warn)(void *arg, const char *path, const char *msg);
	/* Information that is not a problem (may be NULL). */
	void (*note)(void *arg, const char *path, const char *msg);
	void *arg;
	/* Set by a signal handler to cancel; checked often. May be NULL. */
	volatile sig_atomic_t *cancel;
};

#endif
