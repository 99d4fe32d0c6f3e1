/* The retry layer: wraps a backend and repeats calls that failed with a
 * transient error (MV_ERR_TRANSIENT, backend.h), with exponential backoff
 * and full jitter, a bounded number of attempts and a bounded total wait.
 * Other errors pass at once. A transient error that survives the attempts
 * becomes MV_ERR_IO ("gave up after N attempts: ..."). Waits are cut short
 * by the cancel flag (MV_ERR_INTERRUPTED).
 *
 * Idempotence: get, size, remove and a plain put are safe to repeat (an
 * object's name is the hash of its bytes). An exclusive put that timed out
 * may have landed: its retry then gets MV_ERR_EXISTS, which is returned.
 * A listing is repeated only while it has delivered no entry yet. */
#ifndef MV_RETRY_H
#define MV_RETRY_H

#include <stdint.h>

#include "core/backend/backend.h"

struct mv_retry_params {
	unsigned attempts; /* calls in all, at least 1; 0: 6 */
	uint64_t base_ns;  /* first backoff ceiling; 0: 250 ms */
	uint64_t max_ns;   /* largest backoff ceiling; 0: 16 s */
	uint64_t total_ns; /* most time spent waiting for one call; 0: 60 s */
};

/* Wraps inner (owned from then on, closed with the layer, also when this
 * fails). p may be NULL for the defaults. Returns 0 or MV_ERR_NOMEM. */
int mv_backend_retry_wrap(struct mv_backend *inner, const struct mv_retry_params *p,
                          struct mv_backend **out, struct mv_error *err) MV_MUST_CHECK;

/* Calls that were retried, since the layer was made (for tests). */
uint64_t mv_backend_retry_count(const struct mv_backend *b);

#endif
