#include "core/repo/memindex.h"
#include "core/util/grow.h"

#include <stdlib.h>
#include <string.h>

/* Blobs live in an array in insertion order; an open-addressing table at
 * most half full finds them by id. A slot holds the position (+1, 0 =
 * empty) and 32 more bits of the id, so that a probe rarely reads a blob
 * that is not the one sought (each such read is a cache miss). Ids are
 * keyed hashes, so their bytes are uniformly distributed. */
struct table {
	uint64_t *slots;
	size_t mask; /* size - 1 */
};

struct mv_index {
	struct mv_blob_loc *blobs;
	size_t nblobs, capblobs;
	struct table bt;
	uint8_t (*packs)[32];
	uint8_t *pack_known; /* PACK_ID_SET, PACK_MISSING */
	size_t npacks, cappacks;
	struct table pt;
};

#define PACK_ID_SET  1u
#define PACK_MISSING 2u

static uint64_t h64(const uint8_t *id)
{
	uint64_t v;
	memcpy(&v, id, 8);
	return v;
}

static uint64_t mkslot(const uint8_t *id, size_t pos1)
{
	uint32_t tag;
	memcpy(&tag, id + 8, 4);
	return (uint64_t)tag << 32 | (uint32_t)pos1;
}

static uint32_t tag_of(const uint8_t *id)
{
	uint32_t tag;
	memcpy(&tag, id + 8, 4);
	return tag;
}

/* position + 1 of a slot's blob, 0 when empty */
static size_t pos1(uint64_t slot)
{
	return (uint32_t)slot;
}

/* Grows t to hold `want` entries at most half full, rehashing the first
 * `count` records of base. */
static int table_grow(struct table *t, size_t want, size_t count, const void *base, size_t stride,
                      size_t idoff)
{
	size_t n = count;
	size_t size = t->slots ? t->mask + 1 : 1024;
	while (size < 2 * (want + 1))
		size *= 2;
	if (t->slots && size == t->mask + 1)
		return 0;
	uint64_t *s = calloc(size, sizeof(*s));
	if (!s)
		return MV_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *id = (const uint8_t *)base + i * stride + idoff;
		size_t j = h64(id) & (size - 1);
		while (s[j])
			j = (j + 1) & (size - 1);
		s[j] = mkslot(id, i + 1);
	}
	free(t->slots);
	t->slots = s;
	t->mask = size - 1;
	return 0;
}

/* Returns the slot for id: either holding it or the empty one to use. */
static size_t table_probe(const struct table *t, const uint8_t *id, const void *base, size_t stride,
                          size_t idoff)
{
	size_t j = h64(id) & t->mask;
	uint32_t tag = tag_of(id);
	while (t->slots[j]) {
		if ((uint32_t)(t->slots[j] >> 32) == tag) {
			const uint8_t *o =
			    (const uint8_t *)base + (pos1(t->slots[j]) - 1) * stride + idoff;
			if (!memcmp(o, id, 32))
				return j;
		}
		j = (j + 1) & t->mask;
	}
	return j;
}

struct mv_index *mv_index_new(void)
{
	struct mv_index *x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	if (table_grow(&x->bt, 0, 0, NULL, 0, 0) || table_grow(&x->pt, 0, 0, NULL, 0, 0)) {
		mv_index_free(x);
		return NULL;
	}
	return x;
}

void mv_index_free(struct mv_index *x)
{
	if (!x)
		return;
	free(x->blobs);
	free(x->bt.slots);
	free(x->packs);
	free(x->pack_known);
	free(x->pt.slots);
	free(x);
}

int mv_index_add_pack(struct mv_index *x, const uint8_t *id, uint32_t *pack_no)
{
	if (id) {
		uint32_t p = mv_index_find_pack(x, id);
		if (p != MV_PACK_NONE) {
			*pack_no = p;
			return 0;
		}
	}
	if (x->npacks >= UINT32_MAX - 1)
		return MV_ERR_LIMIT;
	if (x->npacks == x->cappacks) { /* two arrays of one capacity */
		size_t c1 = x->cappacks, c2 = x->cappacks;
		if (mv_grow(x->packs, c1, x->npacks + 1) || mv_grow(x->pack_known, c2, c1))
			return MV_ERR_NOMEM;
		x->cappacks = c1;
	}
	size_t i = x->npacks;
	memset(x->packs[i], 0, 32);
	x->pack_known[i] = 0;
	x->npacks++;
	*pack_no = (uint32_t)i;
	if (id)
		return mv_index_set_pack_id(x, (uint32_t)i, id);
	return 0;
}

/* Rebuilds the pack table for the packs whose id is known. */
static int rebuild_packs(struct mv_index *x)
{
	size_t size = x->pt.mask + 1;
	while (size < 2 * (x->npacks + 1))
		size *= 2;
	uint64_t *s = calloc(size, sizeof(*s));
	if (!s)
		return MV_ERR_NOMEM;
	for (size_t i = 0; i < x->npacks; i++) {
		if (!(x->pack_known[i] & PACK_ID_SET))
			continue;
		size_t j = h64(x->packs[i]) & (size - 1);
		while (s[j])
			j = (j + 1) & (size - 1);
		s[j] = mkslot(x->packs[i], i + 1);
	}
	free(x->pt.slots);
	x->pt.slots = s;
	x->pt.mask = size - 1;
	return 0;
}

int mv_index_set_pack_id(struct mv_index *x, uint32_t pack_no, const uint8_t id[32])
{
	if (pack_no >= x->npacks || (x->pack_known[pack_no] & PACK_ID_SET))
		return MV_ERR_USAGE;
	if (2 * (x->npacks + 1) > x->pt.mask + 1 && rebuild_packs(x))
		return MV_ERR_NOMEM;
	memcpy(x->packs[pack_no], id, 32);
	x->pack_known[pack_no] |= PACK_ID_SET;
	size_t j = table_probe(&x->pt, id, x->packs, 32, 0);
	if (!x->pt.slots[j])
		x->pt.slots[j] = mkslot(id, (size_t)pack_no + 1);
	return 0;
}

uint32_t mv_index_find_pack(const struct mv_index *x, const uint8_t id[32])
{
	size_t j = table_probe(&x->pt, id, x->packs, 32, 0);
	return x->pt.slots[j] ? (uint32_t)(pos1(x->pt.slots[j]) - 1) : MV_PACK_NONE;
}

const uint8_t *mv_index_pack_id(const struct mv_index *x, uint32_t pack_no)
{
	return pack_no < x->npacks ? x->packs[pack_no] : NULL;
}

size_t mv_index_npacks(const struct mv_index *x)
{
	return x->npacks;
}

void mv_index_set_pack_missing(struct mv_index *x, uint32_t pack_no)
{
	if (pack_no < x->npacks)
		x->pack_known[pack_no] |= PACK_MISSING;
}

int mv_index_pack_missing(const struct mv_index *x, uint32_t pack_no)
{
	return pack_no < x->npacks && (x->pack_known[pack_no] & PACK_MISSING);
}

int mv_index_reserve(struct mv_index *x, size_t n)
{
	if (n <= x->capblobs || n >= UINT32_MAX - 1)
		return 0;
	struct mv_blob_loc *nb = realloc(x->blobs, n * sizeof(*nb));
	if (!nb)
		return MV_ERR_NOMEM;
	x->blobs = nb;
	x->capblobs = n;
	return table_grow(&x->bt, n, x->nblobs, x->blobs, sizeof(*x->blobs), 0) ? MV_ERR_NOMEM : 0;
}

int mv_index_add(struct mv_index *x, const struct mv_blob_loc *loc)
{
	size_t j = table_probe(&x->bt, loc->id, x->blobs, sizeof(*x->blobs), 0);
	if (x->bt.slots[j])
		return 1;
	if (x->nblobs >= UINT32_MAX - 1)
		return MV_ERR_LIMIT;
	if (x->nblobs == x->capblobs) {
		size_t nc = x->capblobs ? x->capblobs + x->capblobs / 2 : 1024;
		struct mv_blob_loc *nb = realloc(x->blobs, nc * sizeof(*nb));
		if (!nb)
			return MV_ERR_NOMEM;
		x->blobs = nb;
		x->capblobs = nc;
	}
	x->blobs[x->nblobs] = *loc;
	x->nblobs++;
	if (2 * (x->nblobs + 1) > x->bt.mask + 1) {
		if (table_grow(&x->bt, x->nblobs, x->nblobs, x->blobs, sizeof(*x->blobs), 0)) {
			x->nblobs--;
			return MV_ERR_NOMEM;
		}
	} else {
		x->bt.slots[j] = mkslot(loc->id, x->nblobs);
	}
	return 0;
}

int mv_index_update(struct mv_index *x, const struct mv_blob_loc *loc)
{
	size_t j = table_probe(&x->bt, loc->id, x->blobs, sizeof(*x->blobs), 0);
	if (!x->bt.slots[j])
		return MV_ERR_NOTFOUND;
	x->blobs[pos1(x->bt.slots[j]) - 1] = *loc;
	return 0;
}

const struct mv_blob_loc *mv_index_lookup(const struct mv_index *x, const uint8_t id[32])
{
	size_t j = table_probe(&x->bt, id, x->blobs, sizeof(*x->blobs), 0);
	return x->bt.slots[j] ? &x->blobs[pos1(x->bt.slots[j]) - 1] : NULL;
}

size_t mv_index_count(const struct mv_index *x)
{
	return x->nblobs;
}

const struct mv_blob_loc *mv_index_at(const struct mv_index *x, size_t i)
{
	return i < x->nblobs ? &x->blobs[i] : NULL;
}
