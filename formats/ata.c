#include "formats/ata.h"

#include <string.h>

static unsigned word(const uint8_t *id, unsigned w)
{
	return (unsigned)id[2 * w] | (unsigned)id[2 * w + 1] << 8;
}

int mv_ata_identify_decode(const uint8_t *id, size_t len, struct mv_ata_identify *out)
{
	memset(out, 0, sizeof(*out));
	if (!id || len < MV_ATA_IDENTIFY_LEN)
		return MV_FMT_MALFORMED;
	/* word 0 bit 15 clear: an ATA device; words 82-83 valid when bit 14 of
	 * word 83 is set and bit 15 clear */
	if (word(id, 0) & 0x8000u || (word(id, 83) & 0xC000u) != 0x4000u)
		return MV_FMT_MALFORMED;
	out->lba48 = (word(id, 83) >> 10) & 1;
	out->hpa_supported = (word(id, 82) >> 10) & 1;
	out->hpa_enabled = (word(id, 87) & 0xC000u) == 0x4000u && ((word(id, 85) >> 10) & 1);
	if (out->lba48)
		out->user_sectors = (uint64_t)word(id, 100) | (uint64_t)word(id, 101) << 16 |
		                    (uint64_t)word(id, 102) << 32 | (uint64_t)word(id, 103) << 48;
	else
		out->user_sectors = (uint64_t)word(id, 60) | (uint64_t)word(id, 61) << 16;
	return 0;
}

int mv_ata_sense_native_max(const uint8_t *sense, size_t len, uint64_t *native_sectors)
{
	size_t off, end;

	*native_sectors = 0;
	if (!sense || len < 8 || (sense[0] & 0x7f) != 0x72)
		return MV_FMT_MALFORMED;
	end = 8 + (size_t)sense[7];
	if (end > len)
		end = len;
	for (off = 8; off + 2 <= end; off += 2 + (size_t)sense[off + 1]) {
		const uint8_t *d = sense + off;
		if (d[0] != 0x09)
			continue;
		if (d[1] < 12 || off + 14 > end)
			return MV_FMT_MALFORMED;
		/* status: ERR (bit 0) or DF (bit 5) set means the command failed */
		if (d[13] & 0x21)
			return MV_FMT_MALFORMED;
		uint64_t lba = (uint64_t)d[7] | (uint64_t)d[9] << 8 | (uint64_t)d[11] << 16;
		if (d[2] & 1)
			lba |= (uint64_t)d[6] << 24 | (uint64_t)d[8] << 32 | (uint64_t)d[10] << 40;
		else
			lba |= (uint64_t)(d[12] & 0x0f) << 24; /* 28-bit: the device register */
		*native_sectors = lba + 1;
		return 0;
	}
	return MV_FMT_MALFORMED;
}
