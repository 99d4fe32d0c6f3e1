/* The repository handle's parts, for code outside core/repo (repo.h). */
#include "core/repo/repo.h"

#include <string.h>

#include <sodium.h>

#include "core/repo/repo_impl.h"

struct mv_backend *mv_repo_backend(struct mv_repo *r)
{
	return r->be;
}

const struct mv_config_fields *mv_repo_config(const struct mv_repo *r)
{
	return &r->cfg;
}

const uint8_t *mv_repo_config_raw(const struct mv_repo *r, size_t *len)
{
	*len = r->cfg_len;
	return r->cfg_raw;
}

const struct mv_keys *mv_repo_keys(const struct mv_repo *r)
{
	return r->keys;
}

int mv_repo_sign_keypair(struct mv_repo *r, uint8_t pk[32], uint8_t *sk)
{
	_Static_assert(crypto_sign_ed25519_PUBLICKEYBYTES == 32, "Ed25519 public key");
	_Static_assert(crypto_sign_ed25519_SEEDBYTES == MV_KEY_LEN, "Ed25519 seed");
	if (!r->keys) {
		memset(pk, 0, 32);
		sodium_memzero(sk, crypto_sign_ed25519_SECRETKEYBYTES);
		return MV_ERR_USAGE;
	}
	return crypto_sign_ed25519_seed_keypair(pk, sk, r->keys->sign) == 0 ? 0 : MV_ERR_USAGE;
}

const struct mv_chunker *mv_repo_chunker(const struct mv_repo *r)
{
	return r->chunker;
}

struct mv_blob_ctx *mv_repo_blob_ctx(struct mv_repo *r)
{
	return r->ctx;
}

struct mv_lock *mv_repo_lock(const struct mv_repo *r)
{
	return r->lock;
}

void mv_repo_unlock_info(const struct mv_repo *r, struct mv_unlock_info *out)
{
	out->slot_kind = r->slot_kind;
	out->slot_name = r->slot_name;
	out->slots_skipped = r->slots_skipped;
	out->skip_msg = r->skip_msg;
}

void mv_repo_set_unlock_budget(struct mv_repo *r, uint64_t budget)
{
	r->unlock_budget = budget;
}
