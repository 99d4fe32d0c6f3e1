/* Key slots: open, list, add, remove (core/repo/keyslots.h). */
#include "core/repo/keyslots.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/repo/keylist.h"
#include "core/repo/repo_impl.h"
#include "core/util/grow.h"

#define MV_KEYFILE_MAX 4096 /* a slot is 112 bytes; anything larger is not one */

int mv_keyslot_put(struct mv_backend *be, const uint8_t slot[MV_KEYSLOT_LEN], char name[65],
                   struct mv_error *err)
{
	uint8_t h[32];
	mv_file_hash(slot, MV_KEYSLOT_LEN, h);
	mv_hex(h, 32, name);
	return be->ops->put(be, MV_FT_KEY, name, slot, MV_KEYSLOT_LEN, 0, err);
}

/* A key slot read from keys/, waiting to be tried. */
struct cand {
	char name[65];
	uint8_t slot[MV_KEYSLOT_LEN];
	int kind;
	uint64_t work; /* Argon2id MiB x passes */
};

struct unlock_state {
	struct mv_repo *r;
	struct cand *c;
	size_t n, cap;
	int malformed;
	int unreadable;        /* slots that could not be read (I/O errors) */
	struct mv_error ioerr; /* the first of them */
	struct mv_error *err;
};

static void note_skipped(struct mv_repo *r, const char *name, const char *why)
{
	if (!r->slots_skipped++)
		snprintf(r->skip_msg, sizeof(r->skip_msg), "key slot %.16s: %.460s", name, why);
}

/* Reads one slot of the listing (its size from the listing: one get);
 * keeps it when it may be tried. */
static int read_slot(void *arg, const char *name, uint64_t size)
{
	struct unlock_state *u = arg;
	uint8_t *buf = NULL;
	size_t len;
	struct mv_error e = {0};

	/* size 0: maybe not a regular file (see the backend's list), which
	 * the read below refuses with a message naming it */
	if ((size != MV_KEYSLOT_LEN && size != 0) || strlen(name) != 64) {
		u->malformed++;
		return 0;
	}
	int rc =
	    mv_backend_get_sized(u->r->be, MV_FT_KEY, name, size, MV_KEYFILE_MAX, &buf, &len, &e);
	if (rc == MV_ERR_NOMEM)
		return mv_error_set(u->err, rc, 0, "out of memory");
	if (rc) {
		/* not a wrong password: a slot that cannot be read might be the
		 * one that opens */
		if (rc != MV_ERR_NOTFOUND && !u->unreadable++)
			u->ioerr = e;
		return 0;
	}
	int kind = mv_keyslot_kind(buf, len, &e);
	if (kind == MV_ERR_LIMIT)
		note_skipped(u->r, name, e.msg);
	if (kind < 0) {
		if (kind != MV_ERR_LIMIT)
			u->malformed++;
		free(buf);
		return 0;
	}
	if (mv_grow(u->c, u->cap, u->n + 1)) {
		free(buf);
		return mv_error_set(u->err, MV_ERR_NOMEM, 0, "out of memory");
	}
	struct cand *c = &u->c[u->n++];
	memcpy(c->name, name, 65);
	memcpy(c->slot, buf, MV_KEYSLOT_LEN);
	c->kind = kind;
	c->work = mv_keyslot_work(buf);
	free(buf);
	return 0;
}

static int cand_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	if (x->work != y->work)
		return x->work < y->work ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Which slots try_slots tries. */
enum { TRY_OTHERS, TRY_RECOVERY, TRY_MACHINE };

/* Tries the candidates of one class with secret, cheapest first, within
 * the work budget *spent. Returns the index of the slot that opened, -1
 * when none did, or a fatal error (< -1). */
static long try_slots(struct unlock_state *u, int class, const uint8_t *secret, size_t len,
                      uint8_t *master, uint64_t *spent, int *over_budget)
{
	for (size_t i = 0; i < u->n; i++) {
		struct cand *c = &u->c[i];
		struct mv_error e = {0};
		int in = class == TRY_RECOVERY  ? c->kind == MV_SLOT_RECOVERY
		         : class == TRY_MACHINE ? c->kind == MV_SLOT_MACHINE
		                                : c->kind == MV_SLOT_PASSWORD;
		if (!in)
			continue;
		if (*spent > u->r->unlock_budget || c->work > u->r->unlock_budget - *spent) {
			*over_budget = 1;
			note_skipped(u->r, c->name,
			             "not tried: the argon2id work of one open is capped and was "
			             "spent on other key slots");
			continue;
		}
		*spent += c->work;
		int rc = mv_keyslot_open(c->slot, MV_KEYSLOT_LEN, secret, len, master, &e);
		if (rc == 0)
			return (long)i;
		if (rc == MV_ERR_NOMEM) {
			/* this machine cannot run that slot; another may open */
			note_skipped(u->r, c->name, e.msg);
			continue;
		}
		if (rc == MV_ERR_INTEGRITY)
			u->malformed++;
	}
	return -1;
}

/* mv_keyslots_open and mv_keyslots_open_machine: a machine key (32 bytes)
 * is tried on machine slots only, text on the others. */
static int open_slots(struct mv_repo *r, const uint8_t *secret, size_t len, int machine,
                      uint8_t master[MV_KEY_LEN], struct mv_error *err)
{
	struct unlock_state u = {.r = r, .err = err};
	uint8_t *rkey = NULL;
	uint64_t spent = 0;
	int over_budget = 0;
	long got = -1;
	int rc;

	r->slots_skipped = 0;
	r->skip_msg[0] = '\0';
	r->slot_name[0] = '\0';
	rkey = sodium_malloc(MV_KEY_LEN);
	if (!rkey) {
		rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		goto out;
	}
	/* the listing first, then the reads (a list callback may not call the
	 * backend) */
	rc = mv_backend_list_then(r->be, MV_FT_KEY, read_slot, &u, err);
	if (rc < 0)
		goto out;
	if (u.n > 1)
		qsort(u.c, u.n, sizeof(*u.c), cand_cmp);
	if (machine)
		got = try_slots(&u, TRY_MACHINE, secret, len, master, &spent, &over_budget);
	else if (mv_recovery_parse((const char *)secret, len, rkey) == 0)
		got = try_slots(&u, TRY_RECOVERY, rkey, MV_KEY_LEN, master, &spent, &over_budget);
	/* text that reads as a recovery key may still be a password (64 hex
	 * digits from a generator) */
	if (got == -1 && !machine)
		got = try_slots(&u, TRY_OTHERS, secret, len, master, &spent, &over_budget);
	if (got == -1 && u.unreadable) {
		/* an I/O error, or damage such as a slot that is not a regular
		 * file (MV_ERR_INTEGRITY) */
		rc = mv_error_set(err, u.ioerr.code ? u.ioerr.code : MV_ERR_IO, 0,
		                  "%d key slot(s) could not be read, so the password could not be "
		                  "tried on them: %s",
		                  u.unreadable, u.ioerr.msg);
		goto out;
	}
	if (got == -1 && over_budget) {
		rc = mv_error_set(err, MV_ERR_LIMIT, 0,
		                  "no key slot opened within the argon2id work allowed for one "
		                  "open (%llu MiB x passes); keys/ holds %zu slots, more than "
		                  "medvault makes: run 'medvault check' and remove slots that "
		                  "you did not create",
		                  (unsigned long long)r->unlock_budget, u.n);
		goto out;
	}
	if (got == -1 && u.n == 0 && u.malformed == 0 && r->slots_skipped == 0) {
		/* keys/ holds no file at all: nothing to try a secret on (exit 10,
		 * not 12); damaged slots are still a wrong password or damage */
		rc = mv_error_set(
		    err, MV_ERR_NOREPO, 0,
		    "this repository has no key slot left (it was crypto-erased, or its "
		    "keys/ folder was lost): no password or recovery key can open it");
		goto out;
	}
	if (got == -1) {
		rc =
		    mv_error_set(err, MV_ERR_PASSWORD, 0,
		                 machine ? "wrong machine key (no machine key slot opens with it: "
		                           "was it removed with 'medvault key remove'?)"
		                         : "wrong password or recovery key (no key slot opens with "
		                           "it)");
		goto out;
	}
	r->slot_kind = u.c[got].kind;
	memcpy(r->slot_name, u.c[got].name, sizeof(r->slot_name));
	rc = 0;
out:
	sodium_free(rkey);
	if (u.c)
		sodium_memzero(u.c, u.cap * sizeof(*u.c));
	free(u.c);
	return rc;
}

int mv_keyslots_open(struct mv_repo *r, const uint8_t *secret, size_t len,
                     uint8_t master[MV_KEY_LEN], struct mv_error *err)
{
	return open_slots(r, secret, len, 0, master, err);
}

int mv_keyslots_open_machine(struct mv_repo *r, const uint8_t key[MV_KEY_LEN],
                             uint8_t master[MV_KEY_LEN], struct mv_error *err)
{
	return open_slots(r, key, MV_KEY_LEN, 1, master, err);
}

/* keys/ as listed, each slot read and verified against its name. */
struct slot_set {
	struct mv_repo *r;
	struct mv_keyslot_info *s;
	size_t n, cap;
};

static int read_one(void *arg, const char *name, uint64_t size)
{
	struct slot_set *ss = arg;
	uint8_t *buf = NULL, h[32], want[32];
	size_t len = 0;
	struct mv_error e = {0};

	if (mv_grow(ss->s, ss->cap, ss->n + 1))
		return MV_ERR_NOMEM;
	struct mv_keyslot_info *si = &ss->s[ss->n++];
	memset(si, 0, sizeof(*si));
	snprintf(si->name, sizeof(si->name), "%.64s", name);
	si->kind = MV_ERR_INTEGRITY;
	if (strlen(name) != 64 || mv_unhex(name, want, 32)) {
		snprintf(si->msg, sizeof(si->msg), "not a key slot name");
		return 0;
	}
	if (size != MV_KEYSLOT_LEN) {
		snprintf(si->msg, sizeof(si->msg), "key slot has %llu bytes, expected %d",
		         (unsigned long long)size, MV_KEYSLOT_LEN);
		return 0;
	}
	int rc =
	    mv_backend_get_sized(ss->r->be, MV_FT_KEY, name, size, MV_KEYFILE_MAX, &buf, &len, &e);
	if (rc == MV_ERR_NOMEM)
		return rc;
	if (rc) {
		si->io = 1;
		snprintf(si->msg, sizeof(si->msg), "cannot be read: %.250s", e.msg);
		return 0;
	}
	mv_file_hash(buf, len, h);
	si->intact = sodium_memcmp(h, want, 32) == 0;
	si->kind = mv_keyslot_kind(buf, len, &e);
	if (si->kind > 0)
		si->work = mv_keyslot_work(buf);
	if (!si->intact)
		snprintf(si->msg, sizeof(si->msg),
		         "key slot damaged: its bytes do not match its name");
	else if (si->kind < 0)
		snprintf(si->msg, sizeof(si->msg), "%.290s", e.msg);
	free(buf);
	return 0;
}

int mv_keyslots_read(struct mv_repo *r, struct mv_keyslot_info **out, size_t *n,
                     struct mv_error *err)
{
	struct slot_set ss = {.r = r};
	*out = NULL;
	*n = 0;
	int rc = mv_backend_list_then(r->be, MV_FT_KEY, read_one, &ss, err);
	if (rc == MV_ERR_NOMEM)
		rc = mv_error_set(err, rc, 0, "out of memory");
	if (rc) {
		free(ss.s);
		return rc;
	}
	*out = ss.s;
	*n = ss.n;
	return 0;
}
static int info_cmp(const void *a, const void *b)
{
	const struct mv_keyslot_info *x = a, *y = b;
	return strcmp(x->name, y->name);
}

int mv_keyslots_list(struct mv_repo *r, struct mv_keyslot_info **out, size_t *n,
                     struct mv_error *err)
{
	struct mv_keylist kl = {0};
	int rc = mv_keyslots_read(r, out, n, err);
	if (rc)
		return rc;
	if (*n > 1)
		qsort(*out, *n, sizeof(**out), info_cmp);
	struct mv_error le = {0};
	int have = r->keys ? mv_keylist_load(r, &kl, NULL, NULL, &le) : 0;
	if (have == MV_ERR_NOMEM) {
		free(*out);
		*out = NULL;
		*n = 0;
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	}
	for (size_t i = 0; i < *n; i++) {
		struct mv_keyslot_info *s = &(*out)[i];
		uint8_t id[32];
		s->opened = r->slot_name[0] && !strcmp(s->name, r->slot_name);
		const struct mv_keylist_entry *e =
		    have == 1 && !mv_unhex(s->name, id, 32) ? mv_keylist_find(&kl, id) : NULL;
		s->listed = e != NULL;
		if (e) {
			snprintf(s->label, sizeof(s->label), "%s", e->label);
			s->state = e->state;
			s->created = e->created;
			memcpy(s->host, e->host, sizeof(s->host));
			memcpy(s->user, e->user, sizeof(s->user));
		}
	}
	mv_keylist_release(&kl);
	return 0;
}

/* Finishes the key changes an interruption left in kl (FORMAT.md 4.1): a
 * slot being added stays when its file is there and leaves the list when
 * it is not; a slot being removed loses its file, then its entry. Saves kl
 * when it changed. Returns 0 or an error. */
static int settle(struct mv_repo *r, struct mv_keylist *kl, struct mv_error *err)
{
	int changed = 0;
	for (uint32_t i = 0; i < kl->n;) {
		struct mv_keylist_entry *x = &kl->e[i];
		char name[65];
		uint64_t size;
		if (x->state == MV_KEYLIST_ACTIVE) {
			i++;
			continue;
		}
		mv_hex(x->id, 32, name);
		int rc = r->be->ops->size(r->be, MV_FT_KEY, name, &size, err);
		if (rc && rc != MV_ERR_NOTFOUND)
			return rc;
		changed = 1;
		if (x->state == MV_KEYLIST_ADDING && rc == 0) {
			x->state = MV_KEYLIST_ACTIVE;
			i++;
			continue;
		}
		if (x->state == MV_KEYLIST_REMOVING && rc == 0) {
			rc = r->be->ops->remove(r->be, MV_FT_KEY, name, err);
			if (rc && rc != MV_ERR_NOTFOUND)
				return rc;
		}
		(void)mv_keylist_remove(kl, x->id); /* x is gone: i names the next */
	}
	if (changed && kl->n == 0)
		return mv_error_set(err, MV_ERR_INTEGRITY, 0,
		                    "the key list would be left empty: run 'medvault check'");
	return changed ? mv_keylist_save(r, kl, err) : 0;
}

/* The current key list, interrupted changes finished; for an older
 * repository without one, the list the upgrade writes. 0 with *kl filled
 * (release it), or an error. */
static int current_list(struct mv_repo *r, struct mv_keylist *kl, struct mv_error *err)
{
	int rc = mv_keylist_load(r, kl, NULL, NULL, err);
	if (rc == 0) {
		rc = mv_keylist_upgrade(r, err);
		if (rc >= 0)
			rc = mv_keylist_load(r, kl, NULL, NULL, err);
	}
	if (rc == 0)
		rc = mv_error_set(err, MV_ERR_INTEGRITY, 0,
		                  "the key list cannot be read: key slots cannot be changed "
		                  "(run 'medvault check')");
	if (rc == 1)
		rc = settle(r, kl, err);
	return rc < 0 ? rc : 0;
}

int mv_keyslots_settle(struct mv_repo *r, struct mv_error *err)
{
	struct mv_keylist kl = {0};
	if (!r->keys)
		return mv_error_set(err, MV_ERR_USAGE, 0, "repository is not unlocked");
	int rc = current_list(r, &kl, err);
	mv_keylist_release(&kl);
	return rc;
}

int mv_keyslots_add(struct mv_repo *r, const struct mv_keyslot_new *nk, char name_out[65],
                    struct mv_error *err)
{
	struct mv_keylist kl = {0};
	struct mv_keylist_entry x;
	uint8_t slot[MV_KEYSLOT_LEN], h[32];
	char name[65] = "";
	int put = 0, listed = 0;
	int rc;

	if (name_out)
		name_out[0] = '\0';
	if (!r->keys || !r->master)
		return mv_error_set(err, MV_ERR_USAGE, 0, "repository is not unlocked");
	const char *label = nk->label ? nk->label : mv_keylist_default_label(nk->kind);
	memset(&x, 0, sizeof(x));
	x.kind = nk->kind;
	x.state = MV_KEYLIST_ADDING;
	x.label_len = (uint8_t)strnlen(label, MV_KEYLIST_LABEL_MAX + 1);
	if (strlen(label) > MV_KEYLIST_LABEL_MAX)
		return mv_error_set(err, MV_ERR_USAGE, 0, "a key label has at most %d bytes",
		                    MV_KEYLIST_LABEL_MAX);
	memcpy(x.label, label, x.label_len);
	mv_keylist_entry_origin(&x, nk->origin);
	rc = current_list(r, &kl, err);
	if (rc)
		goto out;
	rc = mv_keyslot_create(nk->kind, nk->kdf, nk->secret, nk->len, r->master, slot, err);
	if (rc)
		goto out;
	mv_file_hash(slot, MV_KEYSLOT_LEN, h);
	memcpy(x.id, h, 32);
	mv_hex(h, 32, name);
	/* the list first names it as being added: an interruption leaves a
	 * list that says so, never a slot that looks planted */
	int a = mv_keylist_add_entry(&kl, &x);
	if (a == MV_FMT_NOMEM) {
		rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
		goto out;
	}
	if (a) {
		rc = mv_error_set(err, MV_ERR_USAGE, 0,
		                  "the key list takes no slot labelled '%.64s' (0 to %d bytes, "
		                  "at most %d slots, each slot once)",
		                  label, MV_KEYLIST_LABEL_MAX, MV_KEYLIST_MAX);
		goto out;
	}
	rc = mv_keylist_save(r, &kl, err);
	if (rc)
		goto out;
	listed = 1;
	char written[65];
	rc = mv_keyslot_put(r->be, slot, written, err);
	if (rc)
		goto out;
	put = 1;
	mv_keylist_find_mut(&kl, h)->state = MV_KEYLIST_ACTIVE;
	rc = mv_keylist_save(r, &kl, err);
	if (rc == 0 && name_out)
		memcpy(name_out, name, 65);
out:
	if (rc && listed) {
		/* undo what was written; what an error leaves here, the next key
		 * command settles */
		struct mv_keylist_entry *y = mv_keylist_find_mut(&kl, h);
		if (y && put)
			y->state = MV_KEYLIST_REMOVING;
		if (!put || mv_keylist_save(r, &kl, NULL) == 0) {
			if (put)
				(void)r->be->ops->remove(r->be, MV_FT_KEY, name, NULL);
			(void)mv_keylist_remove(&kl, h);
			if (mv_keylist_save(r, &kl, NULL) != 0) {
				/* the list says "adding": the next change settles it */
			}
		}
	}
	sodium_memzero(slot, sizeof(slot));
	mv_keylist_release(&kl);
	return rc;
}

int mv_keyslots_add_password(struct mv_repo *r, const uint8_t *password, size_t len,
                             const struct mv_kdf_params *kdf, const char *label, char name_out[65],
                             struct mv_error *err)
{
	struct mv_keyslot_new nk = {MV_SLOT_PASSWORD, password, len, kdf, label, NULL};
	return mv_keyslots_add(r, &nk, name_out, err);
}

/* Listed slots, other than id, that are active and whose files exist. */
static uint32_t others_left(struct mv_repo *r, const struct mv_keylist *kl, const uint8_t id[32])
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < kl->n; i++) {
		char name[65];
		uint64_t size;
		if (!memcmp(kl->e[i].id, id, 32) || kl->e[i].state != MV_KEYLIST_ACTIVE)
			continue;
		mv_hex(kl->e[i].id, 32, name);
		if (r->be->ops->size(r->be, MV_FT_KEY, name, &size, NULL) == 0)
			n++;
	}
	return n;
}

int mv_keyslots_remove(struct mv_repo *r, const char *name, unsigned flags, struct mv_error *err)
{
	struct mv_keylist kl = {0};
	uint8_t id[32];
	uint64_t size;
	int rc;

	if (strlen(name) != 64 || mv_unhex(name, id, 32))
		return mv_error_set(err, MV_ERR_USAGE, 0, "'%.80s' is not a key slot name", name);
	if (!r->keys)
		return mv_error_set(err, MV_ERR_USAGE, 0, "repository is not unlocked");
	if (!strcmp(name, r->slot_name) && !(flags & MV_KEYSLOTS_FORCE))
		return mv_error_set(err, MV_ERR_USAGE, 0,
		                    "key slot %.16s opened the repository: open it with another "
		                    "slot to remove this one (or pass --force)",
		                    name);
	rc = current_list(r, &kl, err);
	if (rc)
		goto out;
	rc = r->be->ops->size(r->be, MV_FT_KEY, name, &size, err);
	if (rc == MV_ERR_NOTFOUND) {
		rc = mv_error_set(err, rc, 0, "no key slot '%s'", name);
		goto out;
	}
	if (rc)
		goto out;
	struct mv_keylist_entry *x = mv_keylist_find_mut(&kl, id);
	if (x) {
		if (others_left(r, &kl, id) == 0) {
			rc = mv_error_set(err, MV_ERR_USAGE, 0,
			                  "the last key slot cannot be removed: nothing else would "
			                  "open the repository");
			goto out;
		}
		/* the list first says it is going: an interruption leaves a
		 * list that says so, which the next key command finishes */
		x->state = MV_KEYLIST_REMOVING;
		rc = mv_keylist_save(r, &kl, err);
		if (rc)
			goto out;
	}
	rc = r->be->ops->remove(r->be, MV_FT_KEY, name, err);
	if (rc == 0 && x) {
		(void)mv_keylist_remove(&kl, id);
		rc = mv_keylist_save(r, &kl, err);
	}
out:
	mv_keylist_release(&kl);
	return rc;
}
