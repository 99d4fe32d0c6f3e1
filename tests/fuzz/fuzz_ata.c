/* libFuzzer target: the ATA answer decoders (formats/ata.c). The input is
 * taken as IDENTIFY data and as sense data; neither may read past it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/ata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mv_ata_identify id;
	uint64_t n;
	uint8_t *copy = malloc(size ? size : 1);

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	(void)mv_ata_identify_decode(copy, size, &id);
	if (mv_ata_sense_native_max(copy, size, &n) == 0 && n == 0)
		abort(); /* a native max is one more than the highest address */
	free(copy);
	return 0;
}
