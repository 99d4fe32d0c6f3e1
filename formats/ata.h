/* Decoders of the ATA answers that tell whether a disk hides sectors in a
 * Host Protected Area (HPA): the IDENTIFY DEVICE data (ACS-3, 512 bytes of
 * little-endian 16-bit words) and the ATA Status Return sense descriptor
 * (SAT-3, descriptor code 09h) that carries the registers of READ NATIVE
 * MAX ADDRESS (EXT) back through SCSI ATA PASS-THROUGH. Memory in, numbers
 * out, so they can be tested on made-up answers and fuzzed. */
#ifndef MV_FMT_ATA_H
#define MV_FMT_ATA_H

#include <stddef.h>
#include <stdint.h>

#include "formats/fmt_err.h"

#define MV_ATA_IDENTIFY_LEN 512

struct mv_ata_identify {
	uint64_t user_sectors; /* user-addressable sectors (words 100-103, or 60-61) */
	int lba48;             /* 48-bit addressing supported (word 83 bit 10) */
	int hpa_supported;     /* HPA feature set supported (word 82 bit 10) */
	int hpa_enabled;       /* ... and enabled (word 85 bit 10) */
};

/* Decodes IDENTIFY DEVICE data (len bytes at id). Returns 0, or
 * MV_FMT_MALFORMED (short, or the words that say which are valid are not
 * set: a device that is not ATA answered). */
int mv_ata_identify_decode(const uint8_t *id, size_t len, struct mv_ata_identify *out)
    __attribute__((nonnull(3)));

/* The LBA registers of the ATA Status Return descriptor in descriptor-format
 * sense data (len bytes: response code 72h, the descriptor anywhere in the
 * list): the highest native address for READ NATIVE MAX ADDRESS, plus one
 * into *native_sectors. 48 bits when the descriptor's EXTEND bit is set,
 * else 28. Returns 0, or MV_FMT_MALFORMED (no such descriptor, or the
 * command ended with an error). */
int mv_ata_sense_native_max(const uint8_t *sense, size_t len, uint64_t *native_sectors)
    __attribute__((nonnull(3)));

#endif
