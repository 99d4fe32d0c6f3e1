/* Machine key files and key slot origins (cli/keyfile.h). */
#include "cli/keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/exitcode.h"
#include "cli/output.h"
#include "core/util/fdio.h"

#define KEY_FILE_MAX 4096 /* a key file is about 200 bytes */

const char *cli_key_file_path(const struct cli_ctx *ctx)
{
	if (ctx->g.key_file)
		return ctx->g.key_file;
	const char *env = getenv("MEDVAULT_KEY_FILE");
	return env && *env ? env : NULL;
}

/* The name of uid into buf ("uid N" when it has none). */
static void user_name(uid_t uid, char *buf, size_t cap)
{
	struct passwd pw, *res = NULL;
	char tmp[1024];

	if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) == 0 && res && res->pw_name[0])
		snprintf(buf, cap, "%s", res->pw_name);
	else
		snprintf(buf, cap, "%u", (unsigned)uid);
}

/* Refuses a key file that is not a regular file of ours, private. */
static int key_file_safe(const char *path, const struct stat *st)
{
	if (!S_ISREG(st->st_mode)) {
		cli_error("machine key file '%s' is not a regular file", path);
		return CLI_EXIT_FATAL;
	}
	if (st->st_uid != geteuid()) {
		char owner[128], me[128];
		user_name(st->st_uid, owner, sizeof(owner));
		user_name(geteuid(), me, sizeof(me));
		cli_error("machine key file '%s' belongs to user %s, not to %s who runs medvault: "
		          "whoever owns it can read or replace the key; run 'chown %s %s' (as "
		          "root), or make the key as the user who runs the backups",
		          path, owner, me, me, path);
		return CLI_EXIT_FATAL;
	}
	if (st->st_mode & 077) {
		cli_error("machine key file '%s' has mode %04o: other users may read it and open "
		          "the repository; run 'chmod 600 %s'",
		          path, (unsigned)(st->st_mode & 07777), path);
		return CLI_EXIT_FATAL;
	}
	return 0;
}

/* The key of the text in buf[0..len): comment lines, then one line of 64
 * hex digits. Returns 0 or -1. */
static int parse_key(const char *buf, size_t len, uint8_t *key)
{
	int found = 0;
	size_t i = 0;

	while (i < len) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - buf) : len;
		size_t n = end - i;
		if (n > 0 && buf[i + n - 1] == '\r')
			n--;
		if (n > 0 && buf[i] != '#') {
			if (found || mv_recovery_parse(buf + i, n, key) != 0)
				return -1;
			found = 1;
		}
		i = end + 1;
	}
	return found ? 0 : -1;
}

int cli_key_file_read(const char *path, uint8_t *key)
{
	struct stat st;
	char *buf = NULL;
	int rc = CLI_EXIT_FATAL;

	/* O_NONBLOCK: a fifo planted there must not hang the nightly job */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		cli_error("cannot open machine key file '%s': %s", path, strerror(errno));
		return CLI_EXIT_FATAL;
	}
	if (fstat(fd, &st) != 0) {
		cli_error("cannot read machine key file '%s': %s", path, strerror(errno));
		goto out;
	}
	rc = key_file_safe(path, &st);
	if (rc)
		goto out;
	rc = CLI_EXIT_FATAL;
	buf = sodium_malloc(KEY_FILE_MAX);
	if (!buf) {
		cli_error("out of memory");
		goto out;
	}
	ssize_t n = mv_read_upto(fd, buf, KEY_FILE_MAX);
	if (n < 0) {
		cli_error("cannot read machine key file '%s': %s", path, strerror(errno));
		goto out;
	}
	if (n == KEY_FILE_MAX || parse_key(buf, (size_t)n, key) != 0) {
		cli_error("'%s' is not a medvault machine key file (a line of 64 hex digits, made "
		          "by 'medvault key add --machine')",
		          path);
		goto out;
	}
	rc = 0;
out:
	if (rc)
		sodium_memzero(key, MV_KEY_LEN);
	if (buf)
		sodium_free(buf);
	close(fd);
	return rc;
}

int cli_fsync_parent(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	int n = slash ? snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path)
	              : snprintf(dir, sizeof(dir), ".");
	if (n < 0 || (size_t)n >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (dir[0] == '\0')
		snprintf(dir, sizeof(dir), "/");
	return mv_fsync_dir(dir);
}

int cli_key_file_create(const char *path, const uint8_t key[MV_KEY_LEN], const uint8_t repo_id[32])
{
	char *text = NULL, rid[65];
	int rc = CLI_EXIT_FATAL;

	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			cli_error("'%s' exists already: medvault never overwrites a key file; name "
			          "a new file",
			          path);
		else
			cli_error("cannot create key file '%s': %s", path, strerror(errno));
		return CLI_EXIT_FATAL;
	}
	text = sodium_malloc(512);
	if (!text) {
		cli_error("out of memory");
		goto out;
	}
	int n = 0;
	if (repo_id) {
		mv_hex(repo_id, 32, rid);
		n = snprintf(text, 512,
		             "# medvault machine key of repository %.16s: it opens the repository "
		             "without a password.\n# Keep it mode 0600, owned by the user who runs "
		             "the backups; revoke it with 'medvault key remove'.\n",
		             rid);
	}
	if (n < 0 || n >= 512 - MV_RECOVERY_TEXT_LEN - 2) {
		cli_error("cannot format the machine key file");
		goto out;
	}
	mv_recovery_format(key, text + n);
	n += MV_RECOVERY_TEXT_LEN;
	text[n++] = '\n';
	if (fchmod(fd, 0600) != 0 || mv_write_all(fd, text, (size_t)n) != 0 || fsync(fd) != 0 ||
	    cli_fsync_parent(path) != 0) {
		cli_error("cannot write key file '%s': %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (text)
		sodium_free(text);
	if (close(fd) != 0 && rc == 0) {
		cli_error("cannot write key file '%s': %s", path, strerror(errno));
		rc = CLI_EXIT_FATAL;
	}
	if (rc)
		unlink(path);
	return rc;
}

void cli_origin_fill(struct cli_origin *c)
{
	memset(c, 0, sizeof(*c));
	if (gethostname(c->host, sizeof(c->host) - 1) != 0)
		c->host[0] = '\0';
	user_name(geteuid(), c->user, sizeof(c->user));
	c->o.created = (int64_t)time(NULL);
	c->o.host = c->host;
	c->o.user = c->user;
}

int cli_kdf_option(const char *cmd, int memory, const char *value, struct mv_kdf_params *kdf)
{
	uint64_t n;

	if (memory) {
		if (cli_parse_u64(value, MV_ARGON2_MIN_MEM >> 20, MV_ARGON2_MAX_MEM >> 20, &n) != 0)
			return cli_usage_error(
			    cmd, "--kdf-memory needs a number of MiB from %llu to %llu",
			    MV_ARGON2_MIN_MEM >> 20, MV_ARGON2_MAX_MEM >> 20);
		kdf->memlimit = n << 20;
		return 0;
	}
	if (cli_parse_u64(value, MV_ARGON2_MIN_OPS, MV_ARGON2_MAX_OPS, &n) != 0)
		return cli_usage_error(cmd, "--kdf-iterations needs a number from %u to %u",
		                       MV_ARGON2_MIN_OPS, MV_ARGON2_MAX_OPS);
	kdf->opslimit = (uint32_t)n;
	return 0;
}

void cli_kdf_complete(struct mv_kdf_params *kdf)
{
	if (kdf->opslimit || kdf->memlimit) {
		if (!kdf->opslimit)
			kdf->opslimit = MV_ARGON2_MIN_OPS;
		if (!kdf->memlimit)
			kdf->memlimit = MV_ARGON2_MIN_MEM;
	}
}
