/* An in-memory backend for tests, with request counting and fault
 * injection. A store holds the objects; any number of backends opened on
 * it (mv_backend_mem_open) see the same objects, so a repository outlives
 * the backend that wrote it. Thread-safe like every backend (backend.h). */
#ifndef MV_MEM_H
#define MV_MEM_H

#include <stdint.h>

#include "core/backend/backend.h"

enum mv_mem_op { MV_MEM_PUT, MV_MEM_GET, MV_MEM_SIZE, MV_MEM_LIST, MV_MEM_REMOVE, MV_MEM_CREATE };
#define MV_MEM_NOPS 6

enum mv_mem_fault_kind {
	MV_MEM_FAULT_NONE,
	MV_MEM_FAULT_EIO,       /* MV_ERR_IO, errno EIO */
	MV_MEM_FAULT_NOSPC,     /* MV_ERR_NOSPC, errno ENOSPC */
	MV_MEM_FAULT_TRANSIENT, /* MV_ERR_TRANSIENT, errno EAGAIN */
	/* get: the object ends early (MV_ERR_INTEGRITY, as a truncated file);
	 * other calls: MV_ERR_IO */
	MV_MEM_FAULT_SHORT,
	/* get: the last byte returned is flipped (the call succeeds);
	 * put: one byte of what is stored is flipped (lasting damage); other
	 * calls: no effect */
	MV_MEM_FAULT_FLIP,
};

/* Which calls fail: those of op (-1: any) on type (-1: any), the nth of
 * them (1-based; counted from mv_mem_fault_set) and the `count` - 1 after
 * it (count 0: every one from the nth on). With a period, the same window
 * comes back every `period` matching calls (nth 1, count 1, period 2:
 * every other call fails, as on a flaky link). */
struct mv_mem_fault {
	enum mv_mem_fault_kind kind;
	int op;
	int type;
	uint64_t nth;
	uint64_t count;
	uint64_t period;
};

struct mv_mem_store;

/* A new empty store (no config: mv_repo_init makes one), or NULL. */
struct mv_mem_store *mv_mem_store_new(void);
/* Frees the store; every backend opened on it must be closed first.
 * Accepts NULL. */
void mv_mem_store_free(struct mv_mem_store *s);

/* A backend on s, reporting itself as remote (not local) with location
 * "mem:". Returns 0 or MV_ERR_NOMEM. */
int mv_backend_mem_open(struct mv_mem_store *s, struct mv_backend **out,
                        struct mv_error *err) MV_MUST_CHECK;

/* Arms one fault (replacing the one before) and restarts its count. */
void mv_mem_fault_set(struct mv_mem_store *s, const struct mv_mem_fault *f);
void mv_mem_fault_clear(struct mv_mem_store *s);
/* Calls that hit the fault so far. */
uint64_t mv_mem_fault_hits(struct mv_mem_store *s);

/* Calls of op made since the store was made or the counts reset. */
uint64_t mv_mem_calls(struct mv_mem_store *s, enum mv_mem_op op);
/* All calls (every op). */
uint64_t mv_mem_calls_total(struct mv_mem_store *s);
void mv_mem_calls_reset(struct mv_mem_store *s);

/* A new store holding a copy of every object of s (not its counts or
 * fault), or NULL. */
struct mv_mem_store *mv_mem_store_copy(struct mv_mem_store *s);

/* The object a MV_MEM_FAULT_FLIP on a put damaged last: returns 1 and its
 * type and name, or 0 when none was. */
int mv_mem_flipped(struct mv_mem_store *s, enum mv_ftype *t, char name[129]);

/* Changes a stored object for tests: flips byte off (MV_ERR_NOTFOUND when
 * there is no such object or byte). */
int mv_mem_flip(struct mv_mem_store *s, enum mv_ftype t, const char *name, uint64_t off);

/* Number of objects of type t. */
size_t mv_mem_count(struct mv_mem_store *s, enum mv_ftype t);

#endif
