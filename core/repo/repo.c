#include "core/repo/repo.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "core/repo/index.h"
#include "core/repo/memindex.h"
#include "core/repo/snapfind.h"
#include "core/repo/keylist.h"
#include "core/util/grow.h"
#include "core/repo/keyslots.h"
#include "core/repo/repo_impl.h"

#define MV_OBJECT_MAX (64u << 20)

static const char CHUNKER_NAME[] = "fastcdc-gear-v1";
static const char ENCODING_NAME[] = "mvblob1";

static void config_mac(const struct mv_keys *k, const uint8_t *p, size_t n, uint8_t out[32])
{
	crypto_generichash(out, 32, p, n, k->config, sizeof(k->config));
}

/* The chunker key sealed in config (FORMAT.md 3.1): XChaCha20-Poly1305
 * with the enc sub-key, associated data "MVB1" || 24 || 32 zero bytes. */
static void chunker_key_ad(uint8_t ad[37])
{
	memcpy(ad, "MVB1", 4);
	ad[4] = MV_T_CHUNKER_KEY;
	memset(ad + 5, 0, 32);
}

static void chunker_key_seal(const struct mv_keys *k, const uint8_t key[MV_KEY_LEN],
                             uint8_t out[MV_CONFIG_SEALED_KEY_LEN])
{
	uint8_t ad[37];
	chunker_key_ad(ad);
	randombytes_buf(out, 24);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + 24, NULL, key, MV_KEY_LEN, ad, sizeof(ad),
	                                           NULL, out, k->enc);
}

static int chunker_key_open(const struct mv_keys *k, const uint8_t in[MV_CONFIG_SEALED_KEY_LEN],
                            uint8_t key[MV_KEY_LEN])
{
	uint8_t ad[37];
	chunker_key_ad(ad);
	return crypto_aead_xchacha20poly1305_ietf_decrypt(
	    key, NULL, NULL, in + 24, MV_CONFIG_SEALED_KEY_LEN - 24, ad, sizeof(ad), in, k->enc);
}

int mv_repo_init(const char *location, const uint8_t *password, size_t pwlen,
                 const struct mv_init_opts *opts, char recovery_out[MV_RECOVERY_TEXT_LEN + 1],
                 struct mv_error *err)
{
	struct mv_backend *be = NULL;
	struct mv_keys *keys = NULL;
	uint8_t *master = NULL, *recovery = NULL;
	struct mv_wbuf w;
	uint8_t slot[MV_KEYSLOT_LEN];
	char names[2][65] = {"", ""}, listname[65] = "";
	int rc;

	mv_wbuf_init(&w, MV_CONFIG_MAX);
	recovery_out[0] = '\0';
	struct mv_config_fields c = {.version = MV_FORMAT_VERSION,
	                             .pack_target = MV_PACK_TARGET_DEFAULT};
	snprintf(c.chunker, sizeof(c.chunker), "%s", CHUNKER_NAME);
	snprintf(c.encoding, sizeof(c.encoding), "%s", ENCODING_NAME);
	c.chunk_min = opts && opts->chunk.min ? opts->chunk.min : MV_CHUNK_MIN_DEFAULT;
	c.chunk_avg = opts && opts->chunk.avg ? opts->chunk.avg : MV_CHUNK_AVG_DEFAULT;
	c.chunk_max = opts && opts->chunk.max ? opts->chunk.max : MV_CHUNK_MAX_DEFAULT;
	randombytes_buf(c.repo_id, sizeof(c.repo_id));

	struct mv_chunker_params cp = {c.chunk_min, c.chunk_avg, c.chunk_max};
	uint8_t probe_key[32] = {0};
	struct mv_chunker *probe = mv_chunker_new(probe_key, &cp);
	if (!probe)
		return mv_error_set(err, MV_ERR_USAGE, 0, "invalid chunker parameters");
	mv_chunker_free(probe);

	master = sodium_malloc(MV_KEY_LEN);
	recovery = sodium_malloc(MV_KEY_LEN);
	if (!master || !recovery) {
		rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		goto out;
	}
	randombytes_buf(master, MV_KEY_LEN);
	randombytes_buf(recovery, MV_KEY_LEN);
	keys = mv_keys_derive(master);
	if (!keys) {
		rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		goto out;
	}

	rc = mv_backend_open(location, &be, err);
	if (rc)
		goto out;
	rc = be->ops->create(be, err);
	if (rc)
		goto out;

	/* Key slots first: a config without slots would be a dead repository. */
	rc = mv_keyslot_create(MV_SLOT_PASSWORD, opts && opts->kdf.opslimit ? &opts->kdf : NULL,
	                       password, pwlen, master, slot, err);
	if (rc)
		goto out;
	rc = mv_keyslot_put(be, slot, names[0], err);
	if (rc)
		goto out;
	rc = mv_keyslot_create(MV_SLOT_RECOVERY, NULL, recovery, MV_KEY_LEN, master, slot, err);
	if (rc)
		goto out;
	rc = mv_keyslot_put(be, slot, names[1], err);
	if (rc)
		goto out;
	static const uint8_t kinds[2] = {MV_SLOT_PASSWORD, MV_SLOT_RECOVERY};
	rc = mv_keylist_write_first(be, keys, (const char(*)[65])names, kinds, 2,
	                            opts ? &opts->origin : NULL, listname, err);
	if (rc)
		goto out;
	c.compat |= MV_COMPAT_KEYLIST;
	if (opts && opts->chunker_key) {
		c.incompat |= MV_CONFIG_INCOMPAT_CHUNKER_KEY;
		chunker_key_seal(keys, opts->chunker_key, c.chunker_key_sealed);
	}
	mv_recovery_format(recovery, recovery_out);
	if (opts && opts->recovery_sink) {
		rc = opts->recovery_sink(opts->recovery_arg, recovery_out, err);
		if (rc)
			goto out;
	}

	mv_config_encode(&c, &w);
	uint8_t *mac = mv_wbuf_reserve(&w, MV_CONFIG_MAC_LEN);
	if (!mac) {
		rc = mv_error_set(err, w.failed ? w.failed : MV_ERR_NOMEM, 0,
		                  "cannot encode config: %s",
		                  mv_strerror(w.failed ? w.failed : MV_ERR_NOMEM));
		goto out;
	}
	config_mac(keys, w.data, w.len - MV_CONFIG_MAC_LEN, mac);
	rc = be->ops->put(be, MV_FT_CONFIG, "config", w.data, w.len, 1, err);
out:
	if (rc && be) {
		/* no config: nothing else may open these slots; leave no key
		 * material behind (best effort, the error is what matters) */
		for (int i = 0; i < 2; i++)
			if (names[i][0])
				(void)be->ops->remove(be, MV_FT_KEY, names[i], NULL);
		if (listname[0])
			(void)be->ops->remove(be, MV_FT_KEYLIST, listname, NULL);
		sodium_memzero(recovery_out, MV_RECOVERY_TEXT_LEN + 1);
	}
	sodium_memzero(slot, sizeof(slot));
	mv_wbuf_release(&w);
	sodium_free(master);
	sodium_free(recovery);
	mv_keys_free(keys);
	mv_backend_close(be);
	return rc;
}

/* mv_repo_open on an open backend (owned from then on); location names
 * the repository in messages. */
static int open_on(struct mv_backend *be, const char *location, struct mv_repo **out,
                   struct mv_error *err)
{
	struct mv_repo *r;
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	r = calloc(1, sizeof(*r));
	if (!r) {
		mv_backend_close(be);
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	}
	r->unlock_budget = MV_UNLOCK_MAX_WORK;
	r->be = be;
	rc = mv_backend_get_all(r->be, MV_FT_CONFIG, "config", MV_CONFIG_MAX, &buf, &len, err);
	if (rc == MV_ERR_NOTFOUND) {
		rc =
		    mv_error_set(err, MV_ERR_NOREPO, 0, "there is no repository at '%s'", location);
		goto fail;
	}
	if (rc == MV_ERR_LIMIT) {
		rc = mv_error_set(err, MV_ERR_INTEGRITY, 0, "'%s/config' is not a medvault config",
		                  location);
		goto fail;
	}
	if (rc)
		goto fail;
	int d = mv_config_decode(buf, len, MV_FORMAT_VERSION, &r->cfg);
	/* A newer version or feature, or a flipped bit there: only the MAC,
	 * checked by mv_repo_unlock, tells which (FORMAT.md section 3). */
	r->cfg_newer = d == MV_FMT_VERSION;
	if (d < 0 && d != MV_FMT_VERSION) {
		rc = mv_error_set(err, MV_ERR_INTEGRITY, 0,
		                  "'%s/config' is damaged or not a medvault config", location);
		goto fail;
	}
	if (!r->cfg_newer &&
	    (strcmp(r->cfg.chunker, CHUNKER_NAME) || strcmp(r->cfg.encoding, ENCODING_NAME)))
		r->cfg_newer = 1; /* judged after the MAC too */
	memcpy(r->cfg_raw, buf, len);
	r->cfg_len = len;
	free(buf);
	buf = NULL;
	r->index = mv_index_new();
	r->ctx = mv_blob_ctx_new(3);
	if (!r->index || !r->ctx) {
		rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		goto fail;
	}
	*out = r;
	return 0;
fail:
	free(buf);
	mv_repo_close(r);
	return rc;
}

int mv_repo_open(const char *location, struct mv_repo **out, struct mv_error *err)
{
	struct mv_backend *be;
	*out = NULL;
	int rc = mv_backend_open(location, &be, err);
	return rc ? rc : open_on(be, location, out, err);
}

int mv_repo_open_backend(struct mv_backend *be, struct mv_repo **out, struct mv_error *err)
{
	*out = NULL;
	return open_on(be, be->location, out, err);
}

void mv_repo_close(struct mv_repo *r)
{
	if (!r)
		return;
	mv_repo_index_unshare(r);
	mv_keys_free(r->keys);
	sodium_free(r->master);
	mv_index_free(r->index);
	mv_chunker_free(r->chunker);
	mv_blob_ctx_free(r->ctx);
	mv_backend_close(r->be);
	free(r->orphans);
	free(r->orphan_blobs);
	free(r);
}

/* mv_repo_unlock and mv_repo_unlock_machine. */
static int unlock_with(struct mv_repo *r, const uint8_t *secret, size_t len, int machine,
                       struct mv_error *err)
{
	uint8_t *master = NULL;
	int rc;

	master = sodium_malloc(MV_KEY_LEN);
	if (!master) {
		rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		goto out;
	}
	rc = machine ? mv_keyslots_open_machine(r, secret, master, err)
	             : mv_keyslots_open(r, secret, len, master, err);
	if (rc == MV_ERR_PASSWORD && r->cfg_newer)
		rc = mv_error_set(err, MV_ERR_PASSWORD, 0,
		                  "wrong password or recovery key (no key slot opens with it); the "
		                  "config also names a format this medvault (version %u) does not "
		                  "know (version %u, features %#x): the repository was made by a "
		                  "newer medvault, or its config is damaged",
		                  MV_FORMAT_VERSION, r->cfg.version, r->cfg.incompat);
	if (rc)
		goto out;
	r->keys = mv_keys_derive(master);
	if (!r->keys) {
		rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		goto out;
	}
	uint8_t mac[32];
	config_mac(r->keys, r->cfg_raw, r->cfg_len - MV_CONFIG_MAC_LEN, mac);
	if (sodium_memcmp(mac, r->cfg_raw + r->cfg_len - MV_CONFIG_MAC_LEN, 32) != 0) {
		if (r->cfg_newer)
			rc = mv_error_set(err, MV_ERR_INTEGRITY, 0,
			                  "the repository config is damaged: it claims format "
			                  "version %u (features %#x), but its MAC does not match "
			                  "(a damaged byte, not a newer format)",
			                  r->cfg.version, r->cfg.incompat);
		else
			rc = mv_error_set(err, MV_ERR_INTEGRITY, 0,
			                  "the repository config has been modified (MAC mismatch)");
		goto out;
	}
	if (r->cfg_newer &&
	    (r->cfg.version > MV_FORMAT_VERSION || (r->cfg.incompat & ~MV_CONFIG_INCOMPAT_KNOWN))) {
		rc = mv_error_set(err, MV_ERR_VERSION, 0,
		                  "the repository has format version %u (features %#x); this "
		                  "medvault reads version %u: upgrade medvault",
		                  r->cfg.version, r->cfg.incompat, MV_FORMAT_VERSION);
		goto out;
	}
	if (r->cfg_newer) {
		rc = mv_error_set(err, MV_ERR_VERSION, 0,
		                  "unknown chunker '%s' or blob encoding '%s': upgrade medvault",
		                  r->cfg.chunker, r->cfg.encoding);
		goto out;
	}
	if ((r->cfg.incompat & MV_CONFIG_INCOMPAT_CHUNKER_KEY) &&
	    chunker_key_open(r->keys, r->cfg.chunker_key_sealed, r->keys->chunker) != 0) {
		rc = mv_error_set(err, MV_ERR_INTEGRITY, 0,
		                  "the chunker key in the repository config does not open");
		goto out;
	}
	struct mv_chunker_params cp = {r->cfg.chunk_min, r->cfg.chunk_avg, r->cfg.chunk_max};
	r->chunker = mv_chunker_new(r->keys->chunker, &cp);
	if (!r->chunker) {
		rc = mv_error_set(err, MV_ERR_INTEGRITY, 0, "invalid chunker parameters in config");
		goto out;
	}
	rc = 0;
	sodium_free(r->master); /* unlocked again */
	r->master = master;     /* kept for new key slots */
	master = NULL;
out:
	if (rc && r->keys) {
		mv_keys_free(r->keys);
		r->keys = NULL;
	}
	sodium_free(master);
	return rc;
}

int mv_repo_unlock(struct mv_repo *r, const uint8_t *secret, size_t len, struct mv_error *err)
{
	return unlock_with(r, secret, len, 0, err);
}

int mv_repo_unlock_machine(struct mv_repo *r, const uint8_t key[MV_KEY_LEN], struct mv_error *err)
{
	return unlock_with(r, key, MV_KEY_LEN, 1, err);
}

int mv_repo_save_object(struct mv_repo *r, enum mv_ftype ft, uint8_t type, const void *payload,
                        size_t len, uint8_t id_out[32], struct mv_error *err)
{
	return mv_repo_save_object_ctx(r, r->ctx, ft, type, payload, len, id_out, err);
}

int mv_repo_save_object_ctx(struct mv_repo *r, struct mv_blob_ctx *ctx, enum mv_ftype ft,
                            uint8_t type, const void *payload, size_t len, uint8_t id_out[32],
                            struct mv_error *err)
{
	const uint8_t *sealed;
	size_t slen;
	uint8_t id[32];
	char name[65];
	int rc = mv_blob_encode(ctx, r->keys, type, NULL, payload, len, &sealed, &slen, err);
	if (rc)
		return rc;
	mv_file_hash(sealed, slen, id);
	mv_hex(id, 32, name);
	rc = r->be->ops->put(r->be, ft, name, sealed, slen, 0, err);
	if (rc == 0 && id_out)
		memcpy(id_out, id, 32);
	return rc;
}

/* mv_repo_load_object for an object of a known size (from a listing; 0:
 * unknown): one request instead of two. */
static int load_sized(struct mv_repo *r, enum mv_ftype ft, uint8_t type, const char *name,
                      uint64_t size, uint8_t **out, size_t *out_len, struct mv_error *err)
{
	uint8_t *buf = NULL, id[32], want[32];
	size_t len;
	const uint8_t *plain;
	size_t plen;

	*out = NULL;
	*out_len = 0;
	if (strlen(name) != 64 || mv_unhex(name, want, 32))
		return mv_error_set(err, MV_ERR_INTEGRITY, 0, "'%s' is not a valid object name",
		                    name);
	int rc = mv_backend_get_sized(r->be, ft, name, size, MV_OBJECT_MAX, &buf, &len, err);
	if (rc == MV_ERR_LIMIT)
		rc = mv_error_set(err, MV_ERR_INTEGRITY, 0, "object '%s' is too large", name);
	if (rc)
		return rc;
	mv_file_hash(buf, len, id);
	if (memcmp(id, want, 32)) {
		rc = mv_error_set(err, MV_ERR_INTEGRITY, 0, "object '%s' does not match its name",
		                  name);
		goto out;
	}
	rc = mv_blob_decode(r->ctx, r->keys, type, NULL, buf, len, &plain, &plen, err);
	if (rc) {
		mv_error_prefix(err, rc, "object '%s'", name);
		goto out;
	}
	*out = malloc(plen ? plen : 1);
	if (!*out) {
		rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		goto out;
	}
	memcpy(*out, plain, plen);
	*out_len = plen;
out:
	free(buf);
	return rc;
}

int mv_repo_load_object(struct mv_repo *r, enum mv_ftype ft, uint8_t type, const char *name,
                        uint8_t **out, size_t *out_len, struct mv_error *err)
{
	return load_sized(r, ft, type, name, 0, out, out_len, err);
}

/* Loading the index: the packs are listed first (one listing), so that a
 * blob's copy in a pack that exists wins over one in a pack that an index
 * names but the repository lost, and packs that no index names are read
 * from their headers. */

struct listed_pack {
	uint64_t size;
	uint8_t listed; /* in the listing */
	uint8_t named;  /* named by an index file */
};

struct load_state {
	struct mv_repo *r;
	struct listed_pack *packs; /* by pack number, for the listed packs */
	size_t npacks;
	int partial; /* the listing failed: no pack is taken for missing */
};

static int list_pack_cb(void *arg, const char *name, uint64_t size)
{
	struct load_state *s = arg;
	uint8_t id[32];
	uint32_t pn;
	if (strlen(name) != 64 || mv_unhex(name, id, 32))
		return 0;
	if (mv_index_add_pack(s->r->index, id, &pn))
		return MV_ERR_NOMEM;
	if (pn >= s->npacks) {
		size_t old = s->npacks;
		if (mv_grow(s->packs, s->npacks, (size_t)pn + 1))
			return MV_ERR_NOMEM;
		memset(s->packs + old, 0, (s->npacks - old) * sizeof(*s->packs));
	}
	s->packs[pn].listed = 1;
	s->packs[pn].size = size;
	return 0;
}

/* Adds a blob location; of two copies, the one in a pack that exists. */
static int add_loc(struct mv_index *x, const struct mv_blob_loc *loc)
{
	int rc = mv_index_add(x, loc);
	if (rc != 1)
		return rc < 0 ? rc : 0;
	const struct mv_blob_loc *old = mv_index_lookup(x, loc->id);
	if (old->pack != MV_PACK_NONE && mv_index_pack_missing(x, old->pack) &&
	    !mv_index_pack_missing(x, loc->pack))
		return mv_index_update(x, loc);
	return 0;
}

static int add_entry(void *arg, const uint8_t pack_id[32], const struct mv_index_entry *e)
{
	struct load_state *s = arg;
	struct mv_repo *r = s->r;
	struct mv_index *x = r->index;
	uint32_t pn;
	int rc = mv_index_add_pack(x, pack_id, &pn);
	if (rc)
		return rc;
	if (pn < s->npacks && s->packs[pn].listed)
		s->packs[pn].named = 1;
	else if (!s->partial)
		mv_index_set_pack_missing(x, pn);
	if (r->index_types && !(r->index_types & (1u << e->type)))
		return 0;
	struct mv_blob_loc loc = {.pack = pn,
	                          .offset = e->offset,
	                          .length = e->length,
	                          .raw_length = e->raw_length,
	                          .type = e->type};
	memcpy(loc.id, e->id, 32);
	return add_loc(x, &loc);
}

struct index_files {
	char (*names)[65];
	size_t n, cap;
};

static int collect_name(void *arg, const char *name, uint64_t size)
{
	struct index_files *f = arg;
	(void)size;
	if (strlen(name) != 64)
		return 0;
	if (mv_grow(f->names, f->cap, f->n + 1))
		return MV_ERR_NOMEM;
	memcpy(f->names[f->n++], name, 65);
	return 0;
}

int mv_repo_list_names(struct mv_repo *r, enum mv_ftype ft, char (**names)[65], size_t *n,
                       struct mv_error *err)
{
	struct index_files f = {0};
	int rc = r->be->ops->list(r->be, ft, collect_name, &f, err);
	if (rc == MV_ERR_NOMEM)
		rc = mv_error_set(err, rc, 0, "out of memory");
	if (rc) {
		free(f.names);
		return rc;
	}
	*names = f.names;
	*n = f.n;
	return 0;
}

struct hdr_state {
	struct mv_repo *r;
	uint32_t pack;
	uint32_t blobs;
};

static int add_hdr_entry(void *arg, const struct mv_index_entry *e)
{
	struct hdr_state *h = arg;
	h->blobs++;
	if (h->r->index_types && !(h->r->index_types & (1u << e->type)))
		return 0;
	struct mv_blob_loc loc = {.pack = h->pack,
	                          .offset = e->offset,
	                          .length = e->length,
	                          .raw_length = e->raw_length,
	                          .type = e->type};
	memcpy(loc.id, e->id, 32);
	return add_loc(h->r->index, &loc);
}

/* Blobs lie back to back from offset 0 to the header (FORMAT.md section 6),
 * so every byte of a pack is covered by an authentication tag. */
struct tiling {
	int (*cb)(void *arg, const struct mv_index_entry *e);
	void *arg;
	uint64_t next;
};

static int tiled_entry(void *arg, const struct mv_index_entry *e)
{
	struct tiling *t = arg;
	if (e->offset != t->next)
		return MV_FMT_MALFORMED;
	t->next = (uint64_t)e->offset + e->length;
	return t->cb(t->arg, e);
}

/* A pack header is read with the bytes before it in one request (FORMAT.md
 * section 6: the header, then its length in the last 4 bytes): this much
 * of the tail holds the header of a pack of up to about 1,400 blobs; a
 * larger header costs a second read for the rest. */
#define PACK_TAIL_READ (64u << 10)

int mv_repo_read_pack_header(struct mv_repo *r, const char *name, uint64_t size,
                             int (*cb)(void *arg, const struct mv_index_entry *e), void *arg,
                             struct mv_error *err)
{
	struct tiling t = {cb, arg, 0};
	uint8_t *buf = NULL;
	const uint8_t *plain;
	size_t plen;
	int rc;

	if (size < 4 + MV_SEAL_OVERHEAD) {
		/* a listing gives size 0 for what is not a regular file: let
		 * the backend say what it is */
		uint64_t real;
		rc = r->be->ops->size(r->be, MV_FT_PACK, name, &real, err);
		return rc ? rc
		          : mv_error_set(err, MV_ERR_INTEGRITY, 0, "pack '%s' is truncated", name);
	}
	size_t got = size < PACK_TAIL_READ ? (size_t)size : PACK_TAIL_READ;
	buf = malloc(got);
	if (!buf)
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	rc = r->be->ops->get(r->be, MV_FT_PACK, name, size - got, buf, got, err);
	if (rc)
		goto out;
	uint32_t hlen = mv_get_u32(buf + got - 4);
	if (hlen < MV_SEAL_OVERHEAD || hlen > MV_PACKHDR_MAX || hlen > size - 4) {
		rc = mv_error_set(err, MV_ERR_INTEGRITY, 0,
		                  "pack '%s' has an invalid header length", name);
		goto out;
	}
	size_t need = (size_t)hlen + 4;
	if (need > got) { /* the rest of a large header, in front of what we have */
		uint8_t *nb = malloc(need);
		if (!nb) {
			rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
			goto out;
		}
		memcpy(nb + need - got, buf, got);
		free(buf);
		buf = nb;
		rc = r->be->ops->get(r->be, MV_FT_PACK, name, size - need, buf, need - got, err);
		if (rc)
			goto out;
		got = need;
	}
	const uint8_t *hdr = buf + got - need;
	rc = mv_blob_decode(r->ctx, r->keys, MV_T_PACKHDR, NULL, hdr, hlen, &plain, &plen, err);
	if (rc) {
		mv_error_prefix(err, rc, "pack '%s' header", name);
		goto out;
	}
	rc = mv_packhdr_decode(plain, plen, size - 4 - hlen, tiled_entry, &t);
	if (rc == 0 && t.next != size - 4 - hlen)
		rc = MV_FMT_MALFORMED;
	if (rc == MV_FMT_MALFORMED)
		rc = mv_error_set(err, MV_ERR_INTEGRITY, 0, "pack '%s' has a malformed header",
		                  name);
	else if (rc)
		rc = mv_error_set(err, rc, 0, "pack '%s' header: %s", name, mv_strerror(rc));
out:
	free(buf);
	return rc;
}

/* Reads the header of a listed pack that no index names (left by an
 * interrupted backup, or named only by a lost index file) and records it in
 * r->orphans, so that the next index written names it. */
static int scan_unindexed(struct mv_repo *r, uint32_t pn, uint64_t size, struct mv_error *err)
{
	char name[65];
	struct mv_error e = {0};
	struct hdr_state h = {r, pn, 0};
	mv_hex(mv_index_pack_id(r->index, pn), 32, name);
	int rc = mv_repo_read_pack_header(r, name, size, add_hdr_entry, &h, &e);
	if (rc == MV_ERR_NOMEM)
		return mv_error_set(err, rc, 0, "out of memory");
	if (rc)
		return 0; /* unreadable: its blobs stay unknown (check reports it) */
	size_t n = r->norphans + 1;
	uint32_t *no = realloc(r->orphans, n * sizeof(*no));
	uint32_t *nb = realloc(r->orphan_blobs, n * sizeof(*nb));
	if (no)
		r->orphans = no;
	if (nb)
		r->orphan_blobs = nb;
	if (!no || !nb)
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	r->orphans[r->norphans] = pn;
	r->orphan_blobs[r->norphans++] = h.blobs;
	return 0;
}

int mv_repo_load_index(struct mv_repo *r, int scan_orphans, size_t *damaged, struct mv_error *err)
{
	struct mv_backend_entry *names = NULL;
	size_t n = 0, bad = 0;
	struct load_state ls = {.r = r};
	struct mv_error le = {0};
	int rc = r->be->ops->list(r->be, MV_FT_PACK, list_pack_cb, &ls, &le);
	if (rc == MV_ERR_NOMEM) {
		rc = mv_error_set(err, rc, 0, "out of memory");
		goto out;
	}
	if (rc && scan_orphans) { /* backup: it must know what exists */
		mv_error_set(err, rc, le.saved_errno, "cannot list the packs (%s)", le.msg);
		goto out;
	}
	if (rc) { /* readers go on with what the index files say */
		ls.partial = 1;
		bad++;
		mv_error_set(err, rc, le.saved_errno, "cannot list the packs (%s)", le.msg);
	}
	/* the sizes come with the listing: one get per file (backend.h) */
	rc = mv_backend_list_all(r->be, MV_FT_INDEX, &names, &n, err);
	if (rc)
		goto out;
	/* room for every entry at once: 45 bytes each in the files */
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++)
		if (names[i].size <= MV_OBJECT_MAX)
			total += names[i].size;
	/* a hint only: without it the index grows as it loads */
	if (!r->index_types) {
		int hint = mv_index_reserve(r->index, (size_t)(total / MV_INDEX_ENTRY_LEN));
		(void)hint;
	}
	for (size_t i = 0; i < n; i++) {
		uint8_t *p;
		size_t len;
		struct mv_error e = {0};
		if (strlen(names[i].name) != 64)
			continue;
		rc = load_sized(r, MV_FT_INDEX, MV_T_INDEX, names[i].name, names[i].size, &p, &len,
		                &e);
		if (rc && rc != MV_ERR_INTEGRITY && rc != MV_ERR_NOTFOUND) {
			/* out of memory, an I/O error: not damage, and not to be
			 * passed over */
			if (err)
				*err = e;
			goto out;
		}
		if (rc) {
			bad++;
			mv_error_set(err, rc, e.saved_errno, "%s", e.msg);
			continue;
		}
		rc = mv_index_decode(p, len, add_entry, &ls);
		free(p);
		if (rc == MV_FMT_MALFORMED) {
			bad++;
			mv_error_set(err, MV_ERR_INTEGRITY, 0, "index '%s' is malformed",
			             names[i].name);
		} else if (rc) { /* out of memory, too many blobs */
			mv_error_set(err, rc, 0, "index '%s': %s", names[i].name, mv_strerror(rc));
			goto out;
		}
	}
	rc = 0;
	for (size_t pn = 0; pn < ls.npacks && !rc; pn++)
		if (ls.packs[pn].listed && !ls.packs[pn].named)
			rc = scan_unindexed(r, (uint32_t)pn, ls.packs[pn].size, err);
out:
	free(names);
	free(ls.packs);
	if (damaged)
		*damaged = bad;
	return rc;
}

int mv_repo_read_blob(struct mv_repo *r, struct mv_blob_ctx *ctx, uint8_t type,
                      const uint8_t id[32], const uint8_t **out, size_t *out_len,
                      struct mv_error *err)
{
	char hex[65], pname[65];
	struct mv_blob_loc loc;
	const struct mv_blob_loc *l;

	/* a copy of the location, taken under the index lock when the index
	 * is growing at the same time (backup) */
	if (r->index_mu)
		pthread_mutex_lock(r->index_mu);
	l = mv_index_lookup(r->index, id);
	if (l) {
		loc = *l;
		if (loc.pack != MV_PACK_NONE)
			mv_hex(mv_index_pack_id(r->index, loc.pack), 32, pname);
	}
	if (r->index_mu)
		pthread_mutex_unlock(r->index_mu);
	mv_hex(id, 32, hex);
	if (!l || loc.pack == MV_PACK_NONE)
		return mv_error_set(err, MV_ERR_NOTFOUND, 0, "blob %s is not in the index", hex);
	if (loc.type != type)
		return mv_error_set(err, MV_ERR_INTEGRITY, 0, "blob %s has type %u, expected %u",
		                    hex, loc.type, type);
	uint8_t *buf = malloc(loc.length);
	if (!buf)
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	int rc = r->be->ops->get(r->be, MV_FT_PACK, pname, loc.offset, buf, loc.length, err);
	if (rc == MV_ERR_NOTFOUND)
		rc = mv_error_set(err, MV_ERR_INTEGRITY, 0, "pack %s is missing", pname);
	if (rc == 0) {
		rc = mv_blob_decode(ctx, r->keys, type, id, buf, loc.length, out, out_len, err);
		if (rc)
			mv_error_prefix(err, rc, "blob %.16s in pack %.16s", hex, pname);
	}
	free(buf);
	return rc;
}

static int snap_cmp(const void *a, const void *b)
{
	const struct mv_snapshot *x = a, *y = b;
	if (x->time_ns != y->time_ns)
		return x->time_ns < y->time_ns ? -1 : 1;
	return memcmp(x->id, y->id, 32);
}

int mv_repo_snapshots(struct mv_repo *r, struct mv_snapshot **out, size_t *n, size_t *damaged,
                      struct mv_error *err)
{
	struct mv_backend_entry *names = NULL;
	size_t count = 0, bad = 0, k = 0;
	struct mv_snapshot *s = NULL;
	*out = NULL;
	*n = 0;
	/* the sizes come with the listing: one get per snapshot (backend.h) */
	int rc = mv_backend_list_all(r->be, MV_FT_SNAPSHOT, &names, &count, err);
	if (rc == MV_ERR_NOMEM)
		rc = mv_error_set(err, rc, 0, "out of memory");
	if (rc)
		return rc;
	s = calloc(count ? count : 1, sizeof(*s));
	if (!s) {
		free(names);
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	}
	for (size_t i = 0; i < count; i++) {
		uint8_t *p;
		size_t len;
		struct mv_error e = {0};
		if (strlen(names[i].name) != 64)
			continue;
		rc = load_sized(r, MV_FT_SNAPSHOT, MV_T_SNAPSHOT, names[i].name, names[i].size, &p,
		                &len, &e);
		if (rc && rc != MV_ERR_INTEGRITY && rc != MV_ERR_NOTFOUND) {
			/* out of memory, an I/O error: not damage */
			free(names);
			mv_snapshots_free(s, k);
			if (err)
				*err = e;
			return rc;
		}
		if (rc) {
			bad++;
			mv_error_set(err, rc, 0, "%s", e.msg);
			continue;
		}
		rc = mv_snapshot_decode(p, len, &s[k]);
		free(p);
		if (rc == MV_FMT_NOMEM)
			goto nomem;
		if (rc) {
			bad++;
			mv_error_set(err, MV_ERR_INTEGRITY, 0, "snapshot '%s' is malformed",
			             names[i].name);
			continue;
		}
		mv_unhex(names[i].name, s[k].id, 32);
		k++;
	}
	free(names);
	if (k)
		qsort(s, k, sizeof(*s), snap_cmp);
	*out = s;
	*n = k;
	if (damaged)
		*damaged = bad;
	return 0;
nomem:
	free(names);
	mv_snapshots_free(s, k);
	return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
}

void mv_snapshots_free(struct mv_snapshot *s, size_t n)
{
	if (!s)
		return;
	for (size_t i = 0; i < n; i++)
		mv_snapshot_release(&s[i]);
	free(s);
}

int mv_repo_find_snapshot(struct mv_repo *r, const char *name, struct mv_snapshot *out,
                          struct mv_error *err)
{
	/* one resolver (core/repo/snapfind.c); a damaged file named by its id is
	 * reported as damaged (MV_ERR_INTEGRITY), not as missing */
	return mv_snapshot_resolve(r, name, NULL, out, NULL, err);
}
