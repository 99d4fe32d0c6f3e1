/* A set of fixed-length keys with a u32 value each (keymap.h). */
#include "core/util/keymap.h"

#include <stdlib.h>
#include <string.h>

struct mv_keymap {
	size_t klen;
	size_t slot; /* klen + 4: key, then the u32 value */
	size_t cap;  /* power of two, or 0 */
	size_t count;
	uint8_t *slots;
	uint8_t *used; /* one byte per slot */
};

#define KEYMAP_MIN_CAP 64u

struct mv_keymap *mv_keymap_new(size_t key_len)
{
	if (key_len < 8 || key_len > 64)
		return NULL;
	struct mv_keymap *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->klen = key_len;
	m->slot = key_len + 4;
	return m;
}

void mv_keymap_free(struct mv_keymap *m)
{
	if (!m)
		return;
	free(m->slots);
	free(m->used);
	free(m);
}

size_t mv_keymap_count(const struct mv_keymap *m)
{
	return m->count;
}

static size_t home(const struct mv_keymap *m, const uint8_t *key)
{
	uint64_t h;
	memcpy(&h, key, sizeof(h));
	return (size_t)h & (m->cap - 1);
}

/* The slot holding key, or the empty slot where it would go (cap > 0). */
static size_t probe(const struct mv_keymap *m, const uint8_t *key)
{
	size_t i = home(m, key);
	while (m->used[i] && memcmp(m->slots + i * m->slot, key, m->klen) != 0)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static int grow(struct mv_keymap *m)
{
	size_t ncap = m->cap ? m->cap * 2 : KEYMAP_MIN_CAP, bytes;
	if (ncap < m->cap || mv_size_mul(ncap, m->slot, &bytes) != 0)
		return MV_ERR_NOMEM;
	uint8_t *slots = malloc(bytes), *used = calloc(ncap, 1);
	if (!slots || !used) {
		free(slots);
		free(used);
		return MV_ERR_NOMEM;
	}
	struct mv_keymap old = *m;
	m->cap = ncap;
	m->slots = slots;
	m->used = used;
	for (size_t i = 0; i < old.cap; i++) {
		if (!old.used[i])
			continue;
		const uint8_t *s = old.slots + i * old.slot;
		size_t j = probe(m, s);
		memcpy(m->slots + j * m->slot, s, m->slot);
		m->used[j] = 1;
	}
	free(old.slots);
	free(old.used);
	return 0;
}

int mv_keymap_put(struct mv_keymap *m, const uint8_t *key, uint32_t val, uint32_t *old)
{
	if (m->cap) {
		size_t i = probe(m, key);
		if (m->used[i]) {
			if (old)
				memcpy(old, m->slots + i * m->slot + m->klen, 4);
			return 1;
		}
	}
	/* load factor at most 3/4 */
	if (m->count + 1 > m->cap - m->cap / 4 || m->cap == 0) {
		int rc = grow(m);
		if (rc)
			return rc;
	}
	size_t i = probe(m, key);
	memcpy(m->slots + i * m->slot, key, m->klen);
	memcpy(m->slots + i * m->slot + m->klen, &val, 4);
	m->used[i] = 1;
	m->count++;
	return 0;
}

void mv_keymap_set(struct mv_keymap *m, const uint8_t *key, uint32_t val)
{
	if (!m->cap)
		return;
	size_t i = probe(m, key);
	if (m->used[i])
		memcpy(m->slots + i * m->slot + m->klen, &val, 4);
}

int mv_keymap_get(const struct mv_keymap *m, const uint8_t *key, uint32_t *val)
{
	if (!m->cap)
		return 0;
	size_t i = probe(m, key);
	if (!m->used[i])
		return 0;
	if (val)
		memcpy(val, m->slots + i * m->slot + m->klen, 4);
	return 1;
}
