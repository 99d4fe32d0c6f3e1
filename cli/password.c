#include "cli/password.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cli/exitcode.h"
#include "cli/output.h"
#include "cli/progress.h"
#include "core/repo/passphrase.h"

/* Reads from fd into s (capacity CLI_PASSWORD_MAX) until EOF, or until a
 * newline when `line`. Returns 0, -1 (errno set), -2 too long, -3
 * interrupted. */
static int read_secret(int fd, struct cli_secret *s, int line, volatile sig_atomic_t *cancel)
{
	for (;;) {
		ssize_t n;
		if (s->len == CLI_PASSWORD_MAX) {
			char extra;
			n = read(fd, &extra, 1);
			if (n == 0 || (line && n == 1 && extra == '\n'))
				return 0;
			return n < 0 ? -1 : -2;
		}
		n = read(fd, s->p + s->len, line ? 1 : CLI_PASSWORD_MAX - s->len);
		if (n < 0 && errno == EINTR) {
			if (cancel && *cancel)
				return -3;
			continue;
		}
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		if (line && s->p[s->len] == '\n')
			return 0;
		s->len += (size_t)n;
	}
}

static int secret_alloc(struct cli_secret *s)
{
	s->len = 0;
	s->p = sodium_malloc(CLI_PASSWORD_MAX + 1);
	if (!s->p) {
		cli_error("out of memory for the password");
		return CLI_EXIT_FATAL;
	}
	return 0;
}

/* Strips one trailing "\n" or "\r\n", terminates, refuses empty. */
static int secret_finish(struct cli_secret *s, const char *source)
{
	if (s->len > 0 && s->p[s->len - 1] == '\n')
		s->len--;
	if (s->len > 0 && s->p[s->len - 1] == '\r')
		s->len--;
	s->p[s->len] = '\0';
	if (s->len == 0) {
		cli_error("empty password from %s", source);
		return CLI_EXIT_FATAL;
	}
	return 0;
}

static int read_status(int r, const char *source)
{
	if (r == -1)
		cli_error("cannot read the password from %s: %s", source, strerror(errno));
	else if (r == -2)
		cli_error("password from %s is longer than %d bytes", source, CLI_PASSWORD_MAX);
	else if (r == -3) {
		cli_error("interrupted");
		return CLI_EXIT_INTERRUPTED;
	}
	return r == 0 ? 0 : CLI_EXIT_FATAL;
}

static int from_file(const char *path, volatile sig_atomic_t *cancel, struct cli_secret *s)
{
	struct stat st;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		cli_error("cannot open password file '%s': %s", path, strerror(errno));
		return CLI_EXIT_FATAL;
	}
	if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
		cli_error("cannot read password file '%s': not a file", path);
		close(fd);
		return CLI_EXIT_FATAL;
	}
	if (S_ISREG(st.st_mode) && (st.st_mode & (S_IRGRP | S_IROTH))) {
		cli_error("password file '%s' is readable by other users (mode %04o): "
		          "run 'chmod 600 %s' first",
		          path, (unsigned)(st.st_mode & 07777), path);
		close(fd);
		return CLI_EXIT_FATAL;
	}
	/* another user could replace its content, or read it later */
	if ((S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode)) && st.st_uid != geteuid()) {
		cli_error("password file '%s' belongs to another user (uid %u), not to the user "
		          "running medvault (uid %u): use a file of your own, mode 0600",
		          path, (unsigned)st.st_uid, (unsigned)geteuid());
		close(fd);
		return CLI_EXIT_FATAL;
	}
	r = read_secret(fd, s, 0, cancel);
	close(fd);
	return read_status(r, "the password file");
}

static int from_command(const char *cmd, volatile sig_atomic_t *cancel, struct cli_secret *s)
{
	int fds[2], status, r;
	pid_t pid;

	if (pipe(fds) != 0) {
		cli_error("cannot run the password command: %s", strerror(errno));
		return CLI_EXIT_FATAL;
	}
	pid = fork();
	if (pid < 0) {
		cli_error("cannot run the password command: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return CLI_EXIT_FATAL;
	}
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL); /* we ignore it; the command should not */
		if (dup2(fds[1], STDOUT_FILENO) < 0)
			_exit(127);
		close(fds[0]);
		close(fds[1]);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	r = read_secret(fds[0], s, 0, cancel);
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			status = -1;
			break;
		}
	if (r != 0)
		return read_status(r, "the password command");
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (status != -1 && WIFEXITED(status))
			cli_error("the password command failed (exit status %d)",
			          WEXITSTATUS(status));
		else
			cli_error("the password command failed (killed by a signal)");
		return CLI_EXIT_FATAL;
	}
	return 0;
}

static int from_env(const char *name, struct cli_secret *s)
{
	char *v = getenv(name);
	size_t len = strlen(v);

	if (len > CLI_PASSWORD_MAX) {
		cli_error("%s is longer than %d bytes", name, CLI_PASSWORD_MAX);
		return CLI_EXIT_FATAL;
	}
	memcpy(s->p, v, len);
	s->len = len;
	sodium_memzero(v, len); /* our copy of the environment */
	unsetenv(name);
	return 0;
}

/* One prompt on the terminal fd without echo. */
static int prompt_once(int tty, const char *prompt, volatile sig_atomic_t *cancel,
                       struct cli_secret *s)
{
	struct termios old, quiet;
	int echo_off, r;

	if (write(tty, prompt, strlen(prompt)) < 0)
		return read_status(-1, "the terminal");
	echo_off = tcgetattr(tty, &old) == 0;
	if (echo_off) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
		quiet.c_lflag |= ICANON;
		echo_off = tcsetattr(tty, TCSAFLUSH, &quiet) == 0;
	}
	r = read_secret(tty, s, 1, cancel);
	if (echo_off)
		tcsetattr(tty, TCSAFLUSH, &old);
	if (write(tty, "\n", 1) < 0) {
		/* the newline is cosmetic */
	}
	return read_status(r, "the terminal");
}

static int from_prompt(enum cli_password_use use, volatile sig_atomic_t *cancel,
                       struct cli_secret *s)
{
	struct cli_secret again = {NULL, 0};
	int tty, rc;

	tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (tty < 0) {
		cli_error("no password source: use --password-file, --password-command, "
		          "MEDVAULT_PASSWORD_FILE or MEDVAULT_PASSWORD, or run on a terminal");
		return CLI_EXIT_FATAL;
	}
	if (use == CLI_PASSWORD_OPEN) {
		rc = prompt_once(tty, "enter password (or recovery key) for repository: ", cancel,
		                 s);
		goto out;
	}
	rc = prompt_once(tty, "enter password for new repository: ", cancel, s);
	if (rc == 0)
		rc = secret_alloc(&again);
	if (rc == 0)
		rc = prompt_once(tty, "enter password again: ", cancel, &again);
	if (rc == 0 && (again.len != s->len || sodium_memcmp(again.p, s->p, s->len) != 0)) {
		cli_error("the passwords do not match");
		rc = CLI_EXIT_FATAL;
	}
out:
	cli_secret_free(&again);
	close(tty);
	return rc;
}

int cli_password_read(const struct cli_globals *g, enum cli_password_use use,
                      volatile sig_atomic_t *cancel, struct cli_secret *out)
{
	const char *env_file = getenv("MEDVAULT_PASSWORD_FILE");
	const char *source;
	int rc;

	out->p = NULL;
	out->len = 0;
	if (g->password_file && g->password_command) {
		cli_error("--password-file and --password-command cannot be used together");
		return CLI_EXIT_USAGE;
	}
	rc = secret_alloc(out);
	if (rc != 0)
		return rc;
	if (g->password_file) {
		source = "the password file";
		rc = from_file(g->password_file, cancel, out);
	} else if (g->password_command) {
		source = "the password command";
		rc = from_command(g->password_command, cancel, out);
	} else if (env_file && *env_file) {
		source = "the password file";
		rc = from_file(env_file, cancel, out);
	} else if (getenv("MEDVAULT_PASSWORD")) {
		source = "MEDVAULT_PASSWORD";
		rc = from_env("MEDVAULT_PASSWORD", out);
	} else {
		source = "the terminal";
		rc = from_prompt(use, cancel, out);
	}
	if (rc == 0)
		rc = secret_finish(out, source);
	if (rc != 0)
		cli_secret_free(out);
	return rc;
}

void cli_secret_free(struct cli_secret *s)
{
	if (s->p)
		sodium_free(s->p); /* zeroes the memory before freeing */
	s->p = NULL;
	s->len = 0;
}

/* cli_password_read_other and cli_secret_read_once: file, else env, else
 * the terminal (asked twice when `twice`). */
static int read_from(const char *file, const char *env, const char *prompt, const char *hint,
                     int twice, volatile sig_atomic_t *cancel, struct cli_secret *out)
{
	struct cli_secret again = {NULL, 0};
	const char *source = "the terminal";
	int rc, tty;

	out->p = NULL;
	out->len = 0;
	rc = secret_alloc(out);
	if (rc != 0)
		return rc;
	if (file) {
		source = twice ? "the password file" : "the key file";
		rc = from_file(file, cancel, out);
	} else if (env && getenv(env)) {
		source = env;
		rc = from_env(env, out);
	} else if ((tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)) < 0) {
		cli_error("no %s source: %s", twice ? "password" : "key", hint);
		rc = CLI_EXIT_FATAL;
	} else {
		rc = prompt_once(tty, prompt, cancel, out);
		if (rc == 0 && twice)
			rc = secret_alloc(&again);
		if (rc == 0 && twice)
			rc = prompt_once(tty, "enter it again: ", cancel, &again);
		if (rc == 0 && twice &&
		    (again.len != out->len || sodium_memcmp(again.p, out->p, out->len) != 0)) {
			cli_error("the passwords do not match");
			rc = CLI_EXIT_FATAL;
		}
		cli_secret_free(&again);
		close(tty);
	}
	if (rc == 0)
		rc = secret_finish(out, source);
	if (rc != 0)
		cli_secret_free(out);
	return rc;
}

int cli_password_read_other(const char *file, const char *env, const char *prompt, const char *hint,
                            volatile sig_atomic_t *cancel, struct cli_secret *out)
{
	return read_from(file, env, prompt, hint, 1, cancel, out);
}

int cli_secret_read_once(const char *file, const char *prompt, const char *hint,
                         volatile sig_atomic_t *cancel, struct cli_secret *out)
{
	return read_from(file, NULL, prompt, hint, 0, cancel, out);
}

/* What the password lacks, for the message. */
static void weak_reason(const struct mv_pw_strength *s, char *buf, size_t cap)
{
	char kinds[80] = "";
	const char *names[4] = {"lower case", "upper case", "digits", "symbols"};
	const int have[4] = {s->lower, s->upper, s->digit, s->special};
	size_t o = 0;
	for (int i = 0; i < 4; i++)
		if (have[i] && o < sizeof(kinds))
			o += (size_t)snprintf(kinds + o, sizeof(kinds) - o, "%s%s", o ? ", " : "",
			                      names[i]);
	if (s->classes < 3)
		snprintf(buf, cap,
		         "it has %zu character%s of %d kind%s (%s): mix at least three kinds "
		         "(14+ characters) or all four (12+), or use 7 words (or a generated "
		         "key of 32+ characters)",
		         s->chars, s->chars == 1 ? "" : "s", s->classes, s->classes == 1 ? "" : "s",
		         kinds);
	else if (s->classes == 3)
		snprintf(buf, cap,
		         "it has %zu characters of 3 kinds (%s): it needs 14 or more, or 12 or "
		         "more with the fourth kind too, or 7 words",
		         s->chars, kinds);
	else
		snprintf(buf, cap, "it has %zu characters of all 4 kinds: it needs 12 or more",
		         s->chars);
}

int cli_password_check_new(const struct cli_secret *pw, const char *what, const char *force_flag)
{
	struct mv_pw_strength s;
	char reason[300];

	mv_password_assess((const char *)pw->p, pw->len, &s);
	if (s.strong)
		return 0;
	weak_reason(&s, reason, sizeof(reason));
	cli_progress_clear_line();
	fprintf(stderr,
	        "medvault: %s too weak: %s.\n"
	        "The CNIL (2022) asks for about 80 bits for a password used alone: 12+ "
	        "characters\nmixing upper case, lower case, digits and symbols; or 14+ of "
	        "three of these kinds;\nor a passphrase of 7 or more random words (%zu "
	        "different word%s counted).\n",
	        what, reason, s.words, s.words == 1 ? "" : "s");
	char *gen = sodium_malloc(MV_PASSPHRASE_CAP);
	if (gen && isatty(STDERR_FILENO) &&
	    mv_passphrase_generate(MV_PASSPHRASE_WORDS, gen, MV_PASSPHRASE_CAP) > 0)
		fprintf(stderr,
		        "A passphrase made for you (%d random words of a list of %zu, %u bits):\n"
		        "\n    %s\n\n",
		        MV_PASSPHRASE_WORDS, mv_passphrase_list_size(),
		        mv_passphrase_bits(MV_PASSPHRASE_WORDS), gen);
	else
		fprintf(stderr, "Run 'medvault key passphrase' on a terminal for a generated "
		                "passphrase.\n");
	if (gen)
		sodium_free(gen);
	fprintf(stderr, "Choose a stronger one, or pass %s (not recommended).\n", force_flag);
	return CLI_EXIT_FATAL;
}
