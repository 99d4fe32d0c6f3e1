/* Growing an array by doubling: the one helper for every such array. */
#ifndef MV_GROW_H
#define MV_GROW_H

#include <stddef.h>

#include "core/util/err.h"

/* Makes *p (an array of *cap elements of `size` bytes) hold at least `need`
 * elements, doubling its capacity (at least 16). Returns 0, or MV_ERR_NOMEM
 * (allocation failed or the size overflows) with *p and *cap unchanged. */
int mv_grow_array(void **p, size_t *cap, size_t need, size_t size) MV_MUST_CHECK;

/* mv_grow(arr, cap, need): for a typed pointer arr and a size_t cap. */
#define mv_grow(arr, cap, need)                                                                    \
	((need) <= (cap) ? 0                                                                       \
	                 : mv_grow_array((void **)(void *)&(arr), &(cap), (need), sizeof(*(arr))))

#endif
