/* The key list: load, save, upgrade of older repositories, and check of
 * keys/ against it (docs/FORMAT.md section 4.1). */
#include "core/repo/keylist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/repo/keys.h"
#include "core/util/grow.h"
#include "core/repo/keyslots.h"
#include "core/repo/repo_impl.h"

#define KEYLIST_BYTES (256u << 10) /* the largest list: 1,024 entries of 99 bytes */

const char *mv_keylist_default_label(uint8_t kind)
{
	switch (kind) {
	case MV_SLOT_PASSWORD:
		return "password";
	case MV_SLOT_RECOVERY:
		return "recovery";
	case MV_SLOT_MACHINE:
		return "machine";
	default:
		return "";
	}
}

static void copy_origin(char out[MV_KEYLIST_ORIGIN_MAX + 1], const char *in)
{
	size_t n = 0;
	for (; in && in[n] && n < MV_KEYLIST_ORIGIN_MAX; n++) {
		unsigned char c = (unsigned char)in[n];
		out[n] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	out[n] = '\0';
}

void mv_keylist_entry_origin(struct mv_keylist_entry *x, const struct mv_keyslot_origin *o)
{
	x->created = o ? o->created : 0;
	copy_origin(x->host, o ? o->host : NULL);
	copy_origin(x->user, o ? o->user : NULL);
}

int mv_keylist_load(struct mv_repo *r, struct mv_keylist *kl, size_t *objects, size_t *damaged,
                    struct mv_error *err)
{
	char(*names)[65] = NULL;
	size_t n = 0, bad = 0;
	int found = 0;

	memset(kl, 0, sizeof(*kl));
	int rc = mv_repo_list_names(r, MV_FT_KEYLIST, &names, &n, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		uint8_t *p = NULL;
		size_t len = 0;
		struct mv_keylist cur;
		struct mv_error e = {0};
		rc = mv_repo_load_object(r, MV_FT_KEYLIST, MV_T_KEYLIST, names[i], &p, &len, &e);
		if (rc == MV_ERR_NOMEM)
			goto nomem;
		if (rc) {
			bad++;
			mv_error_set(err, rc, e.saved_errno, "%s", e.msg);
			continue;
		}
		rc = mv_keylist_decode(p, len, &cur);
		free(p);
		if (rc == MV_FMT_NOMEM) {
			mv_keylist_release(&cur);
			goto nomem;
		}
		if (rc) {
			bad++;
			mv_keylist_release(&cur);
			mv_error_set(err, MV_ERR_INTEGRITY, 0, "key list '%s' is malformed",
			             names[i]);
			continue;
		}
		if (!found || cur.generation > kl->generation) {
			mv_keylist_release(kl);
			*kl = cur;
			found = 1;
		} else {
			mv_keylist_release(&cur);
		}
	}
	free(names);
	if (objects)
		*objects = n;
	if (damaged)
		*damaged = bad;
	return found;
nomem:
	free(names);
	mv_keylist_release(kl);
	return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
}

int mv_keylist_save(struct mv_repo *r, struct mv_keylist *kl, struct mv_error *err)
{
	char(*old)[65] = NULL;
	size_t nold = 0;
	struct mv_wbuf w;
	uint8_t id[32];
	char name[65];
	struct mv_keylist next = *kl;

	if (kl->generation == UINT64_MAX)
		return mv_error_set(err, MV_ERR_USAGE, 0, "key list generation overflow");
	next.generation = kl->generation + 1;
	int rc = mv_repo_list_names(r, MV_FT_KEYLIST, &old, &nold, err);
	if (rc)
		return rc;
	mv_wbuf_init(&w, KEYLIST_BYTES);
	if (mv_keylist_encode(&next, &w) != 0) {
		rc = mv_error_set(err, w.failed ? MV_ERR_NOMEM : MV_ERR_USAGE, 0,
		                  "cannot encode the key list");
		goto out;
	}
	rc = mv_repo_save_object(r, MV_FT_KEYLIST, MV_T_KEYLIST, w.data, w.len, id, err);
	if (rc)
		goto out;
	kl->generation = next.generation;
	/* the new list is durable: the ones it replaces may go (a crash
	 * before this leaves older generations that readers pass over) */
	mv_hex(id, 32, name);
	for (size_t i = 0; i < nold; i++)
		if (strcmp(old[i], name) != 0)
			(void)r->be->ops->remove(r->be, MV_FT_KEYLIST, old[i], NULL);
out:
	mv_wbuf_release(&w);
	free(old);
	return rc;
}

int mv_keylist_write_first(struct mv_backend *be, struct mv_keys *keys, const char (*ids)[65],
                           const uint8_t *kinds, size_t n, const struct mv_keyslot_origin *o,
                           char name_out[65], struct mv_error *err)
{
	struct mv_repo t;
	struct mv_keylist kl = {0};
	int rc = 0;

	name_out[0] = '\0';
	memset(&t, 0, sizeof(t));
	t.be = be;
	t.keys = keys;
	t.ctx = mv_blob_ctx_new(3);
	if (!t.ctx)
		return mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct mv_keylist_entry x;
		const char *label = mv_keylist_default_label(kinds[i]);
		memset(&x, 0, sizeof(x));
		x.kind = kinds[i];
		x.label_len = (uint8_t)strlen(label);
		memcpy(x.label, label, x.label_len);
		mv_keylist_entry_origin(&x, o);
		if (mv_unhex(ids[i], x.id, 32) || mv_keylist_add_entry(&kl, &x) != 0)
			rc = mv_error_set(err, MV_ERR_NOMEM, 0, "cannot build the key list");
	}
	if (rc == 0)
		rc = mv_keylist_save(&t, &kl, err);
	if (rc == 0) {
		/* the only object there: find its name for the caller */
		char(*names)[65] = NULL;
		size_t nn = 0;
		if (mv_repo_list_names(&t, MV_FT_KEYLIST, &names, &nn, NULL) == 0 && nn == 1)
			memcpy(name_out, names[0], 65);
		free(names);
	}
	mv_keylist_release(&kl);
	mv_blob_ctx_free(t.ctx);
	return rc;
}

/* keys/ as read by mv_keyslots_read. */
struct slot_set {
	struct mv_keyslot_info *s;
	size_t n;
};

int mv_keylist_upgrade(struct mv_repo *r, struct mv_error *err)
{
	char(*names)[65] = NULL;
	size_t n = 0;
	struct slot_set ss = {0};
	struct mv_keylist kl = {0};

	if (r->cfg.compat & MV_COMPAT_KEYLIST)
		return 0; /* made with one: a missing list is damage, for check */
	int rc = mv_repo_list_names(r, MV_FT_KEYLIST, &names, &n, err);
	free(names);
	if (rc || n > 0)
		return rc;
	rc = mv_keyslots_read(r, &ss.s, &ss.n, err);
	if (rc)
		goto out;
	for (size_t i = 0; i < ss.n; i++) {
		const struct mv_keyslot_info *si = &ss.s[i];
		uint8_t id[32];
		if (!si->intact || si->kind < 0 || mv_unhex(si->name, id, 32))
			continue;
		const char *label = mv_keylist_default_label((uint8_t)si->kind);
		int a = mv_keylist_add(&kl, id, (uint8_t)si->kind, label, strlen(label));
		if (a == MV_FMT_NOMEM) {
			rc = mv_error_set(err, MV_ERR_NOMEM, 0, "out of memory");
			goto out;
		}
	}
	/* the slot that opened the repository is intact: never empty */
	if (kl.n == 0) {
		rc = 0;
		goto out;
	}
	rc = mv_keylist_save(r, &kl, err);
	if (rc == 0)
		rc = 1;
out:
	mv_keylist_release(&kl);
	free(ss.s);
	return rc;
}

static const char *kind_name(int kind)
{
	return kind == MV_SLOT_PASSWORD   ? "password"
	       : kind == MV_SLOT_RECOVERY ? "recovery key"
	       : kind == MV_SLOT_MACHINE  ? "machine key"
	                                  : "unknown";
}

static void problem(const struct mv_events *ev, struct mv_keycheck *res, const char *dir,
                    const char *name, const char *msg)
{
	char item[80];
	snprintf(item, sizeof(item), "%s%s%.64s", dir, name[0] ? "/" : "", name);
	res->errors++;
	if (ev && ev->warn)
		ev->warn(ev->arg, item, msg);
}

int mv_check_keys(struct mv_repo *r, const struct mv_events *ev, struct mv_keycheck *res,
                  struct mv_error *err)
{
	struct slot_set ss = {0};
	struct mv_keylist kl = {0};
	size_t objects = 0, damaged = 0;
	struct mv_error le = {0};
	char msg[512];
	int rc;

	memset(res, 0, sizeof(*res));
	res->opened_kind = r->slot_kind;
	res->list_claimed = (r->cfg.compat & MV_COMPAT_KEYLIST) != 0;
	rc = mv_keyslots_read(r, &ss.s, &ss.n, err);
	if (rc)
		goto out;
	res->slots = ss.n;
	rc = mv_keylist_load(r, &kl, &objects, &damaged, &le);
	if (rc < 0) {
		if (err)
			*err = le;
		goto out;
	}
	res->list = rc;
	rc = 0;
	if (damaged)
		problem(ev, res, "keylist", "", le.msg);
	if (res->list)
		res->stale = objects - damaged - 1;
	else if (res->list_claimed && !damaged)
		problem(ev, res, "keylist", "",
		        "the key list is missing, although this repository was made with one: "
		        "the key slots cannot all be verified");

	/* every slot: its bytes, its structure, listed with its kind */
	for (size_t i = 0; i < ss.n; i++) {
		const struct mv_keyslot_info *si = &ss.s[i];
		uint8_t id[32];
		const struct mv_keylist_entry *le2 = NULL;
		if (res->list && strlen(si->name) == 64 && mv_unhex(si->name, id, 32) == 0)
			le2 = mv_keylist_find(&kl, id);
		char who[120] = "";
		if (le2)
			snprintf(who, sizeof(who), " (the %s slot '%s')", kind_name(le2->kind),
			         le2->label);
		if (si->msg[0]) {
			snprintf(msg, sizeof(msg), "%s%s", si->msg, who);
			problem(ev, res, "keys", si->name, msg);
			continue;
		}
		if (!res->list)
			continue;
		if (!le2) {
			snprintf(msg, sizeof(msg),
			         "%s slot not in the key list: medvault did not make it for this "
			         "repository (planted, or left by an interrupted key change)",
			         kind_name(si->kind));
			problem(ev, res, "keys", si->name, msg);
		} else if (le2->kind != si->kind) {
			snprintf(msg, sizeof(msg), "slot of kind %s, listed as %s slot '%s'",
			         kind_name(si->kind), kind_name(le2->kind), le2->label);
			problem(ev, res, "keys", si->name, msg);
		}
	}
	/* every listed slot present */
	for (uint32_t k = 0; res->list && k < kl.n; k++) {
		char name[65];
		int present = 0;
		mv_hex(kl.e[k].id, 32, name);
		for (size_t i = 0; i < ss.n && !present; i++)
			present = strcmp(ss.s[i].name, name) == 0;
		if (kl.e[k].state != MV_KEYLIST_ACTIVE)
			res->pending++; /* an interrupted key change: present or not */
		else if (!present) {
			snprintf(msg, sizeof(msg), "the %s slot '%s' of the key list is missing",
			         kind_name(kl.e[k].kind), kl.e[k].label);
			problem(ev, res, "keys", name, msg);
		}
		if (!strcmp(name, r->slot_name))
			snprintf(res->opened_label, sizeof(res->opened_label), "%s", kl.e[k].label);
	}
out:
	mv_keylist_release(&kl);
	free(ss.s);
	return rc;
}
