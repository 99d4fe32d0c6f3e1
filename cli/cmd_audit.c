#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/exitcode.h"
#include "cli/json.h"
#include "cli/output.h"
#include "cli/password.h"
#include "cli/repo_open.h"
#include "core/medical/audit.h"

enum { O_SCAN = 1, O_ORTHANC, O_ONLY, O_MAX_BACKUP, O_MAX_CHECK, O_NO_PROBE };

static const struct cli_opt_spec opts[] = {
    {"scan", 0, 1, O_SCAN},
    {"orthanc-config", 0, 1, O_ORTHANC},
    {"only", 0, 1, O_ONLY},
    {"max-backup-age", 0, 1, O_MAX_BACKUP},
    {"max-check-age", 0, 1, O_MAX_CHECK},
    {"no-probe", 0, 0, O_NO_PROBE},
    {NULL, 0, 0, 0},
};

static const struct cli_help_opt help_opts[] = {
    {"--scan PATH",
     "look for DICOM files under PATH (repeatable); symbolic links below it are not followed"},
    {"--orthanc-config FILE", "an Orthanc configuration file or directory to check besides "
                              "/etc/orthanc/orthanc.json (repeatable)"},
    {"--only CHECKS", "run only these checks, comma-separated: network, orthanc, scan, repository"},
    {"--max-backup-age HOURS", "warn when the last backup is older (default 48)"},
    {"--max-check-age DAYS", "warn when the last successful check is older (default 30)"},
    {"--no-probe", "do not connect to listening sockets: recognise services by their port only"},
    {NULL, NULL},
};

const struct cli_help cmd_audit_help = {
    "medvault audit [--scan PATH]... [--orthanc-config FILE]... [-r LOCATION] [--only CHECKS]",
    "check this machine for exposed imaging services and unprotected patient data",
    "Looks for the failures behind the CNIL's fine of a surgeon whose imaging server\n"
    "was open on the internet and whose patient images sat on an unencrypted disk, and\n"
    "says for each what to do:\n"
    "\n"
    "network: DICOM and PACS services listening on an address other than 127.0.0.1 or\n"
    "::1. Every listening TCP socket of the machine (/proc/net/tcp and /proc/net/tcp6) is\n"
    "asked what it is, whatever its port: an HTTP GET /system (Orthanc's REST API answers\n"
    "it, and says whether it wants a password), then a DICOM association request\n"
    "(Verification; an accepted association is aborted at once). Each probe is given 1\n"
    "seconds, all of them 10 seconds at most; raw printing ports (515, 9100-9103) are\n"
    "never written to. Services that do not answer in clear (TLS) are recognised by\n"
    "their port only: 104, 11112, 2762, Orthanc's 4242 and 8042, and the ports an Orthanc\n"
    "configuration names. Fails for each exposed one (warns for DICOM over TLS, port\n"
    "2762).\n"
    "\n"
    "orthanc: /etc/orthanc/orthanc.json and every --orthanc-config: remote access without\n"
    "authentication, the default user, no TLS.\n"
    "\n"
    "scan: with --scan, the DICOM files under each PATH (the first 64 KiB of each file is\n"
    "read): how many, of how many patients and studies, stored unencrypted.\n"
    "\n"
    "repository: with -r (or MEDVAULT_REPOSITORY), repository files or a password file that\n"
    "other users can access, the age of the latest snapshot (needs the password) and of\n"
    "the last successful 'medvault check'. The repository holds no record of checks, so\n"
    "'check' records each clean run on this machine in a state file:\n"
    "$XDG_STATE_HOME/medvault/checks when XDG_STATE_HOME is set (an absolute path), else\n"
    "/var/lib/medvault/checks for root, else ~/.local/state/medvault/checks. A check run on\n"
    "another machine is not seen.\n"
    "\n"
    "Each finding is ok, warn or fail. Exit code 0 when every finding is ok, 1 otherwise\n"
    "(also when a check could not be made). With --json, prints an array of findings\n"
    "{\"check\", \"status\" (\"ok\", \"warn\", \"fail\"), \"subject\", \"message\", \"remedy\"};\n"
    "check is one of network, orthanc, scan, repository-permissions, password-file,\n"
    "last-backup, last-check.",
    help_opts,
    "medvault audit\n"
    "medvault audit --scan /media/old-disk --scan /srv/pacs\n"
    "medvault audit -r /media/usb/backup --password-file /root/.medvault-pw\n"
    "# from monitoring: only the listening services, as JSON\n"
    "medvault audit --only network --json\n",
};

/* ---- the check state file (also used by cmd_check.c) -------------------- */

int cli_state_path(const char *name, char *buf, size_t cap)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char pwbuf[4096];
	struct passwd pw, *res = NULL;
	int n;

	if (xdg && xdg[0] == '/') {
		n = snprintf(buf, cap, "%s/medvault/%s", xdg, name);
	} else if (geteuid() == 0) {
		n = snprintf(buf, cap, "/var/lib/medvault/%s", name);
	} else {
		if (!home || home[0] != '/') {
			if (getpwuid_r(geteuid(), &pw, pwbuf, sizeof(pwbuf), &res) != 0 || !res ||
			    !pw.pw_dir || pw.pw_dir[0] != '/')
				return -1;
			home = pw.pw_dir;
		}
		n = snprintf(buf, cap, "%s/.local/state/medvault/%s", home, name);
	}
	return n > 0 && (size_t)n < cap ? 0 : -1;
}

int cli_check_state_path(char *buf, size_t cap)
{
	return cli_state_path("checks", buf, cap);
}

void cli_check_state_record(const struct cli_ctx *ctx, const uint8_t repo_id[32], int read_data)
{
	struct mv_error err = {0};
	char path[4096];

	if (cli_check_state_path(path, sizeof(path)) != 0) {
		if (!ctx->g.quiet)
			cli_warning("cannot record the check for 'medvault audit': no home "
			            "directory (set XDG_STATE_HOME)");
		return;
	}
	if (mv_checkstate_record(path, repo_id, (int64_t)time(NULL), read_data, &err) != 0 &&
	    !ctx->g.quiet)
		cli_warning("cannot record the check for 'medvault audit': %s",
		            err.msg[0] ? err.msg : mv_strerror(err.code));
}

/* ---- options ------------------------------------------------------------ */

enum { G_NETWORK = 1, G_ORTHANC = 2, G_SCAN = 4, G_REPO = 8, G_ALL = 15 };

struct audit_opts {
	const char **scan;
	size_t nscan;
	const char **orthanc;
	size_t northanc;
	unsigned only;  /* G_* */
	int only_given; /* --only was used */
	uint64_t max_backup_s, max_check_s;
	int no_probe;
};

static int parse_only(const char *v, unsigned *out)
{
	static const struct {
		const char *name;
		unsigned bit;
	} groups[] = {{"network", G_NETWORK},
	              {"orthanc", G_ORTHANC},
	              {"scan", G_SCAN},
	              {"repository", G_REPO}};

	*out = 0;
	while (*v) {
		size_t n = strcspn(v, ","), i;
		for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
			if (strlen(groups[i].name) == n && strncmp(v, groups[i].name, n) == 0)
				break;
		if (i == sizeof(groups) / sizeof(groups[0]))
			return -1;
		*out |= groups[i].bit;
		v += n;
		if (*v == ',')
			v++;
	}
	return *out ? 0 : -1;
}

/* An age option: a whole number of `unit`s (1 to max), stored in seconds
 * (unit_s each). -1 and a usage error when out of range. */
static int parse_age(const char *value, const char *opt, const char *unit, uint64_t max,
                     uint64_t unit_s, uint64_t *seconds)
{
	uint64_t v;

	if (cli_parse_u64(value, 1, max, &v) != 0) {
		cli_usage_error("audit", "%s takes a number of %s from 1 to %llu", opt, unit,
		                (unsigned long long)max);
		return -1;
	}
	*seconds = v * unit_s;
	return 0;
}

static int parse(int argc, char **argv, struct cli_ctx *ctx, struct audit_opts *o)
{
	struct cli_opt_iter it;
	int c;

	o->scan = calloc((size_t)argc, sizeof(*o->scan));
	o->orthanc = calloc((size_t)argc, sizeof(*o->orthanc));
	if (!o->scan || !o->orthanc) {
		cli_error("out of memory");
		return CLI_EXIT_FATAL;
	}
	o->only = G_ALL;
	o->max_backup_s = 48 * 3600;
	o->max_check_s = 30 * 86400;
	cli_opt_init(&it, argc, argv, 1, opts, cli_global_opts, ctx->g.args_only);
	while ((c = cli_cmd_next(&it, &ctx->g)) != CLI_OPT_DONE) {
		switch (c) {
		case O_SCAN:
			o->scan[o->nscan++] = it.value;
			break;
		case O_ORTHANC:
			o->orthanc[o->northanc++] = it.value;
			break;
		case O_ONLY:
			if (parse_only(it.value, &o->only) != 0)
				return cli_usage_error("audit",
				                       "--only takes a comma-separated list "
				                       "of network, orthanc, scan, repository");
			o->only_given = 1;
			break;
		case O_MAX_BACKUP:
			if (parse_age(it.value, "--max-backup-age", "hours", 1000000, 3600,
			              &o->max_backup_s) != 0)
				return CLI_EXIT_USAGE;
			break;
		case O_MAX_CHECK:
			if (parse_age(it.value, "--max-check-age", "days", 100000, 86400,
			              &o->max_check_s) != 0)
				return CLI_EXIT_USAGE;
			break;
		case O_NO_PROBE:
			o->no_probe = 1;
			break;
		case CLI_OPT_ARG:
			return cli_usage_error(
			    "audit", "unexpected argument '%s' (use --scan PATH)", it.value);
		default:
			return cli_usage_error("audit", "%s", it.err);
		}
	}
	return 0;
}

/* ---- the checks --------------------------------------------------------- */

/* Engine failures that stop the audit (out of memory, interrupted). */
static int engine_fail(int rc, const struct mv_error *err)
{
	return cli_fail(rc, err);
}

/* The Orthanc configurations into `orth`, and the ports they name into
 * ports[] (at most 2 per configuration). */
static int check_orthanc(const struct audit_opts *o, struct mv_audit_report *orth,
                         struct mv_audit_port *ports, size_t *nports)
{
	struct mv_orthanc_conf c;
	struct mv_error err = {0};
	int found = 0, any = 0, rc;

	*nports = 0;
	for (size_t i = 0; i <= o->northanc; i++) {
		const char *path = i == 0 ? MV_ORTHANC_DEFAULT_CONFIG : o->orthanc[i - 1];
		if (i > 0 && strcmp(path, MV_ORTHANC_DEFAULT_CONFIG) == 0)
			continue; /* looked at already */
		rc = mv_audit_orthanc(orth, path, i > 0, &c, &found, &err);
		if (rc != 0)
			return engine_fail(rc, &err);
		any |= found;
		if (c.files > 0 && c.http_port)
			ports[(*nports)++] = (struct mv_audit_port){
			    c.http_port, "Orthanc HTTP (HttpPort of an Orthanc configuration)", 0};
		if (c.files > 0 && c.dicom_port)
			ports[(*nports)++] = (struct mv_audit_port){
			    c.dicom_port, "Orthanc DICOM (DicomPort of an Orthanc configuration)",
			    0};
	}
	if (!any) {
		rc = mv_audit_add(orth, MV_AUDIT_ORTHANC, MV_AUDIT_OK, MV_ORTHANC_DEFAULT_CONFIG,
		                  NULL,
		                  "no Orthanc configuration here (use --orthanc-config for one "
		                  "elsewhere)");
		if (rc != 0)
			return engine_fail(rc, NULL);
	}
	return 0;
}

static void scan_warn(struct cli_events *e, const char *path, const char *msg)
{
	if (e->ctx->g.verbose)
		cli_warning("cannot read '%s': %s", path, msg);
}

static int check_scan(struct cli_ctx *ctx, const struct audit_opts *o, struct mv_audit_report *r)
{
	struct mv_error err = {0};
	struct cli_events ev;
	int rc = 0;

	cli_events_init(&ev, ctx, scan_warn, NULL);
	for (size_t i = 0; rc == 0 && i < o->nscan; i++)
		rc = mv_audit_scan(r, o->scan[i], &ev.ev, NULL, &err);
	cli_events_done(&ev);
	return rc == 0 ? 0 : engine_fail(rc, &err);
}

static int is_remote(const char *loc)
{
	return strncmp(loc, "sftp:", 5) == 0 || strncmp(loc, "s3:", 3) == 0;
}

/* The latest snapshot's time; needs the password. Problems become WARN
 * findings (the password source printed its own error). */
static int check_last_backup(struct cli_ctx *ctx, const struct audit_opts *o, struct mv_repo *r,
                             const char *loc, struct mv_audit_report *rep)
{
	struct cli_secret secret = {NULL, 0};
	struct mv_error err = {0};
	struct mv_snapshot *s = NULL;
	struct timespec now;
	size_t n = 0, damaged = 0;
	int rc;

	rc = cli_password_read(&ctx->g, CLI_PASSWORD_OPEN, ctx->cancel, &secret);
	if (rc == CLI_EXIT_INTERRUPTED)
		return rc;
	if (rc != 0)
		return mv_audit_add(rep, MV_AUDIT_LAST_BACKUP, MV_AUDIT_WARN, loc,
		                    "give the password with --password-file, --password-command or "
		                    "MEDVAULT_PASSWORD_FILE",
		                    "the time of the last backup is unknown: no password to open "
		                    "the repository");
	rc = mv_repo_unlock(r, secret.p, secret.len, &err);
	cli_secret_free(&secret);
	if (rc == 0)
		rc = mv_repo_snapshots(r, &s, &n, &damaged, &err);
	if (rc == MV_ERR_NOMEM || rc == MV_ERR_INTERRUPTED)
		return engine_fail(rc, &err);
	if (rc != 0)
		return mv_audit_add(rep, MV_AUDIT_LAST_BACKUP, MV_AUDIT_WARN, loc, NULL,
		                    "the time of the last backup is unknown: %s",
		                    err.msg[0] ? err.msg : mv_strerror(rc));
	clock_gettime(CLOCK_REALTIME, &now);
	rc = mv_audit_last_backup(rep, loc, n > 0, n > 0 ? s[n - 1].time_ns : 0,
	                          (int64_t)now.tv_sec * 1000000000 + now.tv_nsec, o->max_backup_s);
	mv_snapshots_free(s, n);
	return rc == 0 ? 0 : engine_fail(rc, NULL);
}

static int check_repo(struct cli_ctx *ctx, const struct audit_opts *o, const char *loc,
                      struct mv_audit_report *rep)
{
	const char *pwfile =
	    ctx->g.password_file ? ctx->g.password_file : getenv("MEDVAULT_PASSWORD_FILE");
	struct mv_error err = {0};
	struct mv_repo *r = NULL;
	char state[4096];
	int rc = 0;

	if (!is_remote(loc))
		rc = mv_audit_repo_permissions(rep, loc, ctx->cancel, &err);
	if (rc == 0 && pwfile && *pwfile && !ctx->g.password_command)
		rc = mv_audit_secret_file(rep, pwfile);
	if (rc != 0)
		return engine_fail(rc, &err);
	rc = mv_repo_open(loc, &r, &err);
	if (rc != 0) {
		rc = mv_audit_add(rep, MV_AUDIT_LAST_BACKUP, MV_AUDIT_FAIL, loc, NULL,
		                  "cannot open the repository: %s",
		                  err.msg[0] ? err.msg : mv_strerror(rc));
		return rc == 0 ? 0 : engine_fail(rc, NULL);
	}
	rc = check_last_backup(ctx, o, r, loc, rep);
	if (rc != 0)
		goto out;
	if (cli_check_state_path(state, sizeof(state)) != 0)
		rc =
		    mv_audit_add(rep, MV_AUDIT_LAST_CHECK, MV_AUDIT_WARN, loc, "set XDG_STATE_HOME",
		                 "no home directory: checks are not recorded");
	else
		rc = mv_audit_last_check(rep, loc, state, mv_repo_config(r)->repo_id,
		                         (int64_t)time(NULL), o->max_check_s, &err);
	if (rc != 0)
		rc = engine_fail(rc, &err);
out:
	mv_repo_close(r);
	return rc;
}

/* ---- output ------------------------------------------------------------- */

static void print_json(const struct mv_audit_report *r)
{
	struct cli_json j;

	cli_json_init(&j, stdout);
	cli_json_begin_array(&j, NULL);
	for (size_t i = 0; i < r->n; i++) {
		const struct mv_audit_finding *f = &r->items[i];
		cli_json_begin_object(&j, NULL);
		cli_json_str(&j, "check", f->check);
		cli_json_str(&j, "status", mv_audit_status_name(f->status));
		cli_json_str(&j, "subject", f->subject);
		cli_json_str(&j, "message", f->message);
		cli_json_str(&j, "remedy", f->remedy);
		cli_json_end_object(&j);
	}
	cli_json_end_array(&j);
}

static void print_human(const struct cli_ctx *ctx, const struct mv_audit_report *r)
{
	static const char *const label[] = {"ok  ", "WARN", "FAIL"};
	size_t count[3] = {0, 0, 0};

	for (size_t i = 0; i < r->n; i++) {
		const struct mv_audit_finding *f = &r->items[i];
		count[f->status]++;
		if (ctx->g.quiet && f->status == MV_AUDIT_OK)
			continue;
		printf("%s  %s: ", label[f->status], f->check);
		cli_term_put(stdout, f->subject, strlen(f->subject));
		fputs(": ", stdout);
		cli_term_put(stdout, f->message, strlen(f->message));
		putchar('\n');
		if (f->status != MV_AUDIT_OK && f->remedy[0]) {
			fputs("      remedy: ", stdout);
			cli_term_put(stdout, f->remedy, strlen(f->remedy));
			putchar('\n');
		}
	}
	if (ctx->g.quiet)
		return;
	if (count[MV_AUDIT_FAIL] + count[MV_AUDIT_WARN] == 0)
		printf("\naudit: no problem found (%zu finding%s ok)\n", count[MV_AUDIT_OK],
		       count[MV_AUDIT_OK] == 1 ? "" : "s");
	else
		printf("\naudit: %zu failed, %zu warning%s, %zu ok\n", count[MV_AUDIT_FAIL],
		       count[MV_AUDIT_WARN], count[MV_AUDIT_WARN] == 1 ? "" : "s",
		       count[MV_AUDIT_OK]);
}

/* ---- the command -------------------------------------------------------- */

static int run(struct cli_ctx *ctx, const struct audit_opts *o)
{
	struct mv_audit_report rep, orth;
	struct mv_audit_net_opts net;
	struct mv_audit_port ports[2 * 64];
	struct mv_error err = {0};
	const char *loc = cli_repo_location(ctx);
	size_t nports = 0;
	int rc = 0;

	mv_audit_report_init(&rep);
	mv_audit_report_init(&orth);
	if (o->northanc + 1 > sizeof(ports) / sizeof(ports[0]) / 2) {
		rc = cli_usage_error("audit", "too many --orthanc-config (at most 63)");
		goto out;
	}
	if (o->only_given && (o->only & G_REPO) && !loc) {
		rc = cli_usage_error("audit", "the repository check needs -r LOCATION or "
		                              "MEDVAULT_REPOSITORY");
		goto out;
	}
	if (o->only & G_ORTHANC)
		rc = check_orthanc(o, &orth, ports, &nports);
	if (rc == 0 && (o->only & G_NETWORK)) {
		memset(&net, 0, sizeof(net));
		net.extra = ports;
		net.nextra = nports;
		net.no_probe = o->no_probe;
		net.cancel = ctx->cancel;
		rc = mv_audit_network(&rep, &net, &err);
		if (rc != 0)
			rc = engine_fail(rc, &err);
	}
	if (rc == 0 && (rc = mv_audit_report_move(&rep, &orth)) != 0)
		rc = engine_fail(rc, NULL);
	if (rc == 0 && (o->only & G_SCAN))
		rc = check_scan(ctx, o, &rep);
	if (rc == 0 && (o->only & G_REPO) && loc)
		rc = check_repo(ctx, o, loc, &rep);
	if (rc == 0 && ctx->cancel && *ctx->cancel)
		rc = CLI_EXIT_INTERRUPTED;
	if (rc != 0)
		goto out;
	if (ctx->g.json)
		print_json(&rep);
	else
		print_human(ctx, &rep);
	rc = mv_audit_worst(&rep) == MV_AUDIT_OK ? CLI_EXIT_OK : CLI_EXIT_FATAL;
out:
	mv_audit_report_release(&rep);
	mv_audit_report_release(&orth);
	return rc;
}

int cmd_audit(int argc, char **argv, struct cli_ctx *ctx)
{
	struct audit_opts o;
	int rc;

	memset(&o, 0, sizeof(o));
	rc = parse(argc, argv, ctx, &o);
	if (rc == 0 && ctx->g.help)
		rc = cli_help_command("audit");
	else if (rc == 0)
		rc = run(ctx, &o);
	free(o.scan);
	free(o.orthanc);
	return rc;
}
