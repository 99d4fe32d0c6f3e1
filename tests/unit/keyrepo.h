/* A fresh repository in a temporary folder, made with PASSWORD (and its
 * recovery key kept), for the unit tests of opening and of key slots
 * (test_unlock.c, test_keyslots.c). Include after cmocka.h. */
#ifndef MV_TEST_KEYREPO_H
#define MV_TEST_KEYREPO_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/repo/keys.h"
#include "core/repo/repo.h"

#define PASSWORD "Correct-Horse-Battery-9"

struct fixture {
	char dir[64];
	char repo[128];
	char recovery[MV_RECOVERY_TEXT_LEN + 1];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct mv_init_opts io = {0};
	struct mv_error err = {0};

	assert_non_null(f);
	assert_int_equal(mv_crypto_init(), 0);
	snprintf(f->dir, sizeof(f->dir), "/tmp/mvkeyrepo.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->repo, sizeof(f->repo), "%s/repo", f->dir);
	assert_int_equal(mv_repo_init(f->repo, (const uint8_t *)PASSWORD, strlen(PASSWORD), &io,
	                              f->recovery, &err),
	                 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

#endif
