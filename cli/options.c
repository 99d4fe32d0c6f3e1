#include "cli/options.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const struct cli_opt_spec cli_global_opts[] = {
    {"repo", 'r', 1, CLI_G_REPO},
    {"password-file", 0, 1, CLI_G_PASSWORD_FILE},
    {"password-command", 0, 1, CLI_G_PASSWORD_COMMAND},
    {"json", 0, 0, CLI_G_JSON},
    {"quiet", 'q', 0, CLI_G_QUIET},
    {"verbose", 'v', 0, CLI_G_VERBOSE},
    {"help", 'h', 0, CLI_G_HELP},
    {"threads", 0, 1, CLI_G_THREADS},
    {"no-lock", 0, 0, CLI_G_NO_LOCK},
    {"retry-lock", 0, 1, CLI_G_RETRY_LOCK},
    {"key-file", 0, 1, CLI_G_KEY_FILE},
    {NULL, 0, 0, 0},
};

static int spec_end(const struct cli_opt_spec *s)
{
	return s->name == NULL && s->short_name == 0;
}

void cli_opt_init(struct cli_opt_iter *it, int argc, char **argv, int start,
                  const struct cli_opt_spec *local, const struct cli_opt_spec *global,
                  int args_only)
{
	memset(it, 0, sizeof(*it));
	it->argc = argc;
	it->argv = argv;
	it->i = start < argc ? start : argc;
	it->args_only = args_only;
	it->tables[0] = local;
	it->tables[1] = global;
}

static const struct cli_opt_spec *find_long(const struct cli_opt_iter *it, const char *name,
                                            size_t len)
{
	for (size_t t = 0; t < 2; t++) {
		const struct cli_opt_spec *s = it->tables[t];
		for (; s && !spec_end(s); s++)
			if (s->name && strlen(s->name) == len && memcmp(s->name, name, len) == 0)
				return s;
	}
	return NULL;
}

static const struct cli_opt_spec *find_short(const struct cli_opt_iter *it, char c)
{
	for (size_t t = 0; t < 2; t++) {
		const struct cli_opt_spec *s = it->tables[t];
		for (; s && !spec_end(s); s++)
			if (s->short_name == c)
				return s;
	}
	return NULL;
}

static int opt_fail(struct cli_opt_iter *it, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Records a message in it->err; returns CLI_OPT_ERROR. */
static int opt_fail(struct cli_opt_iter *it, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(it->err, sizeof(it->err), fmt, ap);
	va_end(ap);
	return CLI_OPT_ERROR;
}

/* "--name", "--name=value", "--name value" */
static int next_long(struct cli_opt_iter *it, const char *arg)
{
	const char *name = arg + 2;
	const char *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	int plen = len > 200 ? 200 : (int)len;
	const struct cli_opt_spec *s = find_long(it, name, len);

	if (!s)
		return opt_fail(it, "unknown option '--%.*s'", plen, name);
	if (!s->has_arg) {
		if (eq)
			return opt_fail(it, "option '--%.*s' does not take a value", plen, name);
		return s->id;
	}
	if (eq) {
		it->value = eq + 1;
		return s->id;
	}
	if (it->i >= it->argc)
		return opt_fail(it, "option '--%.*s' needs a value", plen, name);
	it->value = it->argv[it->i++];
	return s->id;
}

/* One letter of "-abc", "-rVALUE", "-r=VALUE", "-r VALUE" */
static int next_short(struct cli_opt_iter *it)
{
	char c = *it->cluster++;
	const struct cli_opt_spec *s = find_short(it, c);

	if (!s || c == '-' || c == '=') {
		it->cluster = NULL;
		return opt_fail(it, "unknown option '-%c'", c);
	}
	if (!s->has_arg) {
		if (*it->cluster == '\0')
			it->cluster = NULL;
		return s->id;
	}
	if (*it->cluster != '\0') {
		it->value = it->cluster + (*it->cluster == '=');
		it->cluster = NULL;
		return s->id;
	}
	it->cluster = NULL;
	if (it->i >= it->argc)
		return opt_fail(it, "option '-%c' needs a value", c);
	it->value = it->argv[it->i++];
	return s->id;
}

int cli_opt_next(struct cli_opt_iter *it)
{
	it->value = NULL;
	it->err[0] = '\0';
	if (it->cluster)
		return next_short(it);
	while (it->i < it->argc) {
		const char *arg = it->argv[it->i++];
		if (it->args_only || arg[0] != '-' || arg[1] == '\0') {
			it->value = arg;
			return CLI_OPT_ARG;
		}
		if (strcmp(arg, "--") == 0) {
			it->args_only = 1;
			continue;
		}
		if (arg[1] == '-')
			return next_long(it, arg);
		it->cluster = arg + 1;
		return next_short(it);
	}
	return CLI_OPT_DONE;
}

int cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || *s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int cli_parse_duration(const char *s, int64_t *ms)
{
	static const struct {
		char unit;
		uint64_t s;
	} units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};
	char num[24];
	uint64_t per = 1, v;
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n + 1);
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (num[n - 1] == units[i].unit) {
			per = units[i].s;
			num[--n] = '\0';
			break;
		}
	if (cli_parse_u64(num, 0, 7 * 86400 / per, &v) != 0)
		return -1;
	*ms = (int64_t)(v * per * 1000);
	return 0;
}

int cli_globals_apply(struct cli_globals *g, int id, const char *value, char *err, size_t errlen)
{
	uint64_t n;

	switch (id) {
	case CLI_G_REPO:
		if (*value == '\0') {
			snprintf(err, errlen, "option '--repo' needs a non-empty value");
			return -1;
		}
		g->repo = value;
		return 1;
	case CLI_G_PASSWORD_FILE:
		g->password_file = value;
		return 1;
	case CLI_G_PASSWORD_COMMAND:
		g->password_command = value;
		return 1;
	case CLI_G_JSON:
		g->json = 1;
		return 1;
	case CLI_G_QUIET:
		g->quiet = 1;
		return 1;
	case CLI_G_VERBOSE:
		g->verbose++;
		return 1;
	case CLI_G_HELP:
		g->help = 1;
		return 1;
	case CLI_G_THREADS:
		if (cli_parse_u64(value, 0, CLI_MAX_THREADS, &n) != 0) {
			snprintf(err, errlen, "option '--threads' needs a number from 0 to %d",
			         CLI_MAX_THREADS);
			return -1;
		}
		g->threads = (int)n;
		return 1;
	case CLI_G_NO_LOCK:
		g->no_lock = 1;
		return 1;
	case CLI_G_RETRY_LOCK:
		if (cli_parse_duration(value, &g->retry_lock_ms) != 0) {
			snprintf(err, errlen,
			         "option '--retry-lock' needs a duration such as 30s, 5m or 2h "
			         "(at most 7 days)");
			return -1;
		}
		return 1;
	case CLI_G_KEY_FILE:
		if (*value == '\0') {
			snprintf(err, errlen, "option '--key-file' needs a file name");
			return -1;
		}
		g->key_file = value;
		return 1;
	default:
		return 0;
	}
}

int cli_parse_leading(int argc, char **argv, struct cli_globals *g, char *err, size_t errlen)
{
	struct cli_opt_iter it;
	int c;

	cli_opt_init(&it, argc, argv, 1, NULL, cli_global_opts, 0);
	while ((c = cli_opt_next(&it)) != CLI_OPT_DONE) {
		if (c == CLI_OPT_ERROR) {
			snprintf(err, errlen, "%s", it.err);
			return -1;
		}
		if (c == CLI_OPT_ARG) {
			g->args_only = it.args_only;
			return it.i - 1;
		}
		if (cli_globals_apply(g, c, it.value, err, errlen) < 0)
			return -1;
	}
	g->args_only = it.args_only;
	return argc;
}

int cli_cmd_next(struct cli_opt_iter *it, struct cli_globals *g)
{
	int c;

	while ((c = cli_opt_next(it)) != CLI_OPT_DONE) {
		if (c == CLI_OPT_ERROR || c == CLI_OPT_ARG)
			return c;
		int r = cli_globals_apply(g, c, it->value, it->err, sizeof(it->err));
		if (r < 0)
			return CLI_OPT_ERROR;
		if (r == 0)
			return c;
	}
	return CLI_OPT_DONE;
}
