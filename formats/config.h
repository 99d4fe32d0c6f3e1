/* The plaintext repository config (FORMAT.md section 3), without its MAC. */
#ifndef MV_FMT_CONFIG_H
#define MV_FMT_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "formats/buf.h"
#include "formats/fmt_err.h"

#define MV_CONFIG_MAGIC   "MEDVAULT"
#define MV_CONFIG_MAC_LEN 32
#define MV_CONFIG_MAX     512

/* Incompatible feature bit 0: the chunker key is sealed in the config
 * (FORMAT.md section 3.1); the only incompatible bit this version knows. */
#define MV_CONFIG_INCOMPAT_CHUNKER_KEY 1u
#define MV_CONFIG_INCOMPAT_KNOWN       MV_CONFIG_INCOMPAT_CHUNKER_KEY
/* nonce (24) || XChaCha20-Poly1305 of the 32-byte key (48 with the tag) */
#define MV_CONFIG_SEALED_KEY_LEN 72

struct mv_config_fields {
	uint32_t version;
	uint32_t incompat;
	uint32_t compat;
	uint8_t repo_id[32];
	char chunker[64]; /* NUL-terminated */
	uint32_t chunk_min, chunk_avg, chunk_max;
	char encoding[64];
	uint32_t pack_target;
	/* with MV_CONFIG_INCOMPAT_CHUNKER_KEY: the sealed chunker key */
	uint8_t chunker_key_sealed[MV_CONFIG_SEALED_KEY_LEN];
};

/* Encodes the fields (everything the MAC covers). */
void mv_config_encode(const struct mv_config_fields *c, struct mv_wbuf *w);

/* Decodes p[0..len) where the last 32 bytes are the MAC (not checked here).
 * Returns 0; MV_FMT_MALFORMED (bad magic, version 0, names not printable
 * ASCII or too long, trailing bytes); MV_FMT_VERSION when the version is
 * newer than max_version or an incompatible feature bit it does not know is set (c->version
 * and c->incompat are filled so that the caller can say which). */
int mv_config_decode(const uint8_t *p, size_t len, uint32_t max_version,
                     struct mv_config_fields *c);

#endif
