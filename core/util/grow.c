#include "core/util/grow.h"

#include <stdint.h>
#include <stdlib.h>

int mv_grow_array(void **p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap < 16 ? 16 : *cap;
	while (n < need) {
		if (n > SIZE_MAX / 2)
			return MV_ERR_NOMEM;
		n *= 2;
	}
	size_t bytes;
	if (mv_size_mul(n, size, &bytes))
		return MV_ERR_NOMEM;
	void *q = realloc(*p, bytes);
	if (!q)
		return MV_ERR_NOMEM;
	*p = q;
	*cap = n;
	return 0;
}
