#include "formats/config.h"

#include <string.h>

void mv_config_encode(const struct mv_config_fields *c, struct mv_wbuf *w)
{
	mv_wbuf_put(w, MV_CONFIG_MAGIC, 8);
	mv_wbuf_u32(w, c->version);
	mv_wbuf_u32(w, c->incompat);
	mv_wbuf_u32(w, c->compat);
	mv_wbuf_put(w, c->repo_id, 32);
	mv_wbuf_str16(w, c->chunker, strlen(c->chunker));
	mv_wbuf_u32(w, c->chunk_min);
	mv_wbuf_u32(w, c->chunk_avg);
	mv_wbuf_u32(w, c->chunk_max);
	mv_wbuf_str16(w, c->encoding, strlen(c->encoding));
	mv_wbuf_u32(w, c->pack_target);
	if (c->incompat & MV_CONFIG_INCOMPAT_CHUNKER_KEY)
		mv_wbuf_put(w, c->chunker_key_sealed, MV_CONFIG_SEALED_KEY_LEN);
}

static int get_name(struct mv_rbuf *r, char *out, size_t cap)
{
	size_t n;
	const uint8_t *p = mv_rbuf_str16(r, &n);
	if (!p || n == 0 || n >= cap)
		return MV_FMT_MALFORMED;
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x21 || p[i] > 0x7e)
			return MV_FMT_MALFORMED;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

int mv_config_decode(const uint8_t *p, size_t len, uint32_t max_version, struct mv_config_fields *c)
{
	struct mv_rbuf r;
	memset(c, 0, sizeof(*c));
	if (len < 8 + MV_CONFIG_MAC_LEN || len > MV_CONFIG_MAX)
		return MV_FMT_MALFORMED;
	mv_rbuf_init(&r, p, len - MV_CONFIG_MAC_LEN);
	const uint8_t *magic = mv_rbuf_get(&r, 8);
	if (!magic || memcmp(magic, MV_CONFIG_MAGIC, 8))
		return MV_FMT_MALFORMED;
	c->version = mv_rbuf_u32(&r);
	c->incompat = mv_rbuf_u32(&r);
	c->compat = mv_rbuf_u32(&r);
	if (r.failed)
		return MV_FMT_MALFORMED;
	if (c->version == 0)
		return MV_FMT_MALFORMED;
	if (c->version > max_version || (c->incompat & ~MV_CONFIG_INCOMPAT_KNOWN))
		return MV_FMT_VERSION;
	const uint8_t *id = mv_rbuf_get(&r, 32);
	if (!id)
		return MV_FMT_MALFORMED;
	memcpy(c->repo_id, id, 32);
	if (get_name(&r, c->chunker, sizeof(c->chunker)))
		return MV_FMT_MALFORMED;
	c->chunk_min = mv_rbuf_u32(&r);
	c->chunk_avg = mv_rbuf_u32(&r);
	c->chunk_max = mv_rbuf_u32(&r);
	if (get_name(&r, c->encoding, sizeof(c->encoding)))
		return MV_FMT_MALFORMED;
	c->pack_target = mv_rbuf_u32(&r);
	if (c->incompat & MV_CONFIG_INCOMPAT_CHUNKER_KEY) {
		const uint8_t *k = mv_rbuf_get(&r, MV_CONFIG_SEALED_KEY_LEN);
		if (!k)
			return MV_FMT_MALFORMED;
		memcpy(c->chunker_key_sealed, k, MV_CONFIG_SEALED_KEY_LEN);
	}
	if (r.failed || mv_rbuf_left(&r) != 0)
		return MV_FMT_MALFORMED;
	return 0;
}
