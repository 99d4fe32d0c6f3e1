#include "core/util/grow.h"

#include "formats/buf.h"

/* One implementation for core/ and formats/ (which may not include core/). */
int mv_grow_array(void **p, size_t *cap, size_t need, size_t size)
{
	return mv_fmt_grow_array(p, cap, need, size) ? MV_ERR_NOMEM : 0;
}
