/* `medvault audit`: is this machine making the surgeon's mistake (GUIDE.md,
 * the CNIL case)? Each check looks at one failure of that case and appends
 * findings to a report: DICOM services reachable from the network, an
 * Orthanc server open without a password, unencrypted DICOM files, a
 * repository or password file other users can read, backups or checks that
 * stopped. Nothing here prints; cli/cmd_audit.c renders the report.
 *
 * Files read (all bounded, all treated as hostile): /proc/net/tcp and tcp6
 * (formats/procnet.h), Orthanc configuration files (JSON with comments,
 * scanned for a few top-level keys, not parsed whole), the first 64 KiB of
 * each file under a scanned path (formats/dicom.h), the check state file. */
#ifndef MV_AUDIT_H
#define MV_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "core/util/err.h"
#include "core/util/events.h"

enum mv_audit_status { MV_AUDIT_OK = 0, MV_AUDIT_WARN = 1, MV_AUDIT_FAIL = 2 };

/* Check ids: the "check" field of `audit --json` (stable names). */
#define MV_AUDIT_NETWORK       "network"
#define MV_AUDIT_ORTHANC       "orthanc"
#define MV_AUDIT_SCAN          "scan"
#define MV_AUDIT_PERMISSIONS   "repository-permissions"
#define MV_AUDIT_PASSWORD_FILE "password-file"
#define MV_AUDIT_LAST_BACKUP   "last-backup"
#define MV_AUDIT_LAST_CHECK    "last-check"

/* Findings beyond this many are dropped (MV_ERR_LIMIT). */
#define MV_AUDIT_MAX_FINDINGS 4096u

struct mv_audit_finding {
	const char *check; /* one of the ids above (static storage) */
	enum mv_audit_status status;
	char *subject; /* what was looked at: "0.0.0.0:11112", a path (malloc'd) */
	char *message; /* one or two sentences (malloc'd) */
	char *remedy;  /* what to do (malloc'd); "" when there is nothing to do */
};

struct mv_audit_report {
	struct mv_audit_finding *items;
	size_t n, cap;
};

void mv_audit_report_init(struct mv_audit_report *r);
/* Frees the findings; accepts an initialised empty report. */
void mv_audit_report_release(struct mv_audit_report *r);
/* Appends a finding (subject and remedy copied, the message formatted).
 * remedy NULL means "". Returns 0, MV_ERR_NOMEM, or MV_ERR_LIMIT past
 * MV_AUDIT_MAX_FINDINGS. */
int mv_audit_add(struct mv_audit_report *r, const char *check, enum mv_audit_status st,
                 const char *subject, const char *remedy, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* Moves src's findings to the end of dst (src is left empty). Returns 0 or
 * MV_ERR_NOMEM (nothing moved). */
int mv_audit_report_move(struct mv_audit_report *dst, struct mv_audit_report *src);
/* The worst status of the report (MV_AUDIT_OK when empty). */
enum mv_audit_status mv_audit_worst(const struct mv_audit_report *r);
/* "ok", "warn", "fail" */
const char *mv_audit_status_name(enum mv_audit_status s);

/* ---- 1. DICOM and PACS services listening on the network ---------------- */

struct mv_audit_port {
	uint16_t port;
	const char *service; /* "DICOM", "Orthanc HTTP (REST API and Orthanc Explorer)" */
	int tls;             /* the protocol runs over TLS (DICOM TLS, port 2762) */
};

/* The ports always looked at: 104 and 11112 (DICOM), 2762 (DICOM over TLS),
 * 4242 (Orthanc's DICOM default) and 8042 (Orthanc's HTTP default). */
const struct mv_audit_port *mv_audit_ports(size_t *n);

struct mv_audit_net_opts {
	const char *tcp_path;  /* NULL: /proc/net/tcp */
	const char *tcp6_path; /* NULL: /proc/net/tcp6 (a missing one means no IPv6) */
	/* more ports to look at (e.g. Orthanc's configured HttpPort and
	 * DicomPort); ports already listed are ignored */
	const struct mv_audit_port *extra;
	size_t nextra;
	/* mv_audit_network only: unless no_probe, every listening socket is
	 * asked what it is (core/medical/audit_probe.h: Orthanc's GET /system, a DICOM
	 * association request), so that services on any port are found; the
	 * probe's limits (0: its defaults) and cancellation */
	int no_probe;
	unsigned probe_timeout_ms, probe_budget_ms;
	volatile sig_atomic_t *cancel;
};

/* Reads the two files and reports every listening socket that is a DICOM
 * or PACS service: one that answered the probe as DICOM or as Orthanc's
 * HTTP server, or one on one of the ports: MV_AUDIT_FAIL when it listens on
 * a wildcard (0.0.0.0, ::) or any non-loopback address, MV_AUDIT_WARN for
 * the same with a TLS service, MV_AUDIT_OK when on 127.0.0.0/8 or ::1
 * only; one OK finding when none listens; a WARN when the probe had no
 * time for some sockets. An unreadable tcp file is a WARN finding (the check could not
 * be made), not an error. o may be NULL. Returns 0, MV_ERR_NOMEM,
 * MV_ERR_LIMIT. */
int mv_audit_network(struct mv_audit_report *r, const struct mv_audit_net_opts *o,
                     struct mv_error *err) MV_MUST_CHECK;
/* The same on texts given in memory (tcp6 may be NULL: no IPv6); the
 * paths of o, if any, only name the sources in messages. */
int mv_audit_network_text(struct mv_audit_report *r, const char *tcp, size_t tcp_len,
                          const char *tcp6, size_t tcp6_len, const struct mv_audit_net_opts *o,
                          struct mv_error *err) MV_MUST_CHECK;

/* ---- 2. Orthanc configuration ------------------------------------------- */

/* Values of a boolean key. */
enum { MV_ORTHANC_ABSENT = 0, MV_ORTHANC_FALSE, MV_ORTHANC_TRUE, MV_ORTHANC_OTHER };
/* Flags of struct mv_orthanc_conf. */
enum {
	MV_ORTHANC_F_MALFORMED = 1u << 0, /* not valid JSON (with comments): scan stopped there */
	MV_ORTHANC_F_LIMIT = 1u << 1,     /* nesting deeper than MV_ORTHANC_MAX_DEPTH */
	MV_ORTHANC_F_NOT_OBJECT = 1u << 2 /* the top-level value is not an object */
};
#define MV_ORTHANC_MAX_DEPTH 64
/* Bytes of a configuration file read (Orthanc's own is about 40 KiB). */
#define MV_ORTHANC_FILE_MAX (4u << 20)
/* The default configuration file of Debian's orthanc package. */
#define MV_ORTHANC_DEFAULT_CONFIG "/etc/orthanc/orthanc.json"

struct mv_orthanc_conf {
	/* MV_ORTHANC_ABSENT, _FALSE, _TRUE, or _OTHER (present, not a
	 * boolean). Orthanc's defaults when absent are in parentheses. */
	int remote_access;    /* RemoteAccessAllowed (false) */
	int authentication;   /* AuthenticationEnabled (see mv_audit_orthanc_findings) */
	int ssl;              /* SslEnabled (false) */
	int dicom_server;     /* DicomServerEnabled (true) */
	int always_echo;      /* DicomAlwaysAllowEcho (true) */
	int check_called_aet; /* DicomCheckCalledAet (false) */
	/* RegisteredUsers: -1 absent, -2 present but not an object, else the
	 * number of users it declares (counting stops at 1000000) */
	long users;
	/* HttpPort (8042) and DicomPort (4242): 0 when absent or not a number
	 * from 1 to 65535 */
	uint16_t http_port, dicom_port;
	unsigned flags; /* MV_ORTHANC_F_* */
	unsigned files; /* configuration files scanned into this struct */
};

void mv_orthanc_conf_init(struct mv_orthanc_conf *c);

/* Scans buf[0..len), the text of one configuration file: JSON in which
 * Orthanc allows C and C++ style comments. Only the members of the
 * top-level object are looked at; keys found overwrite c's (the files of
 * one configuration directory merge in order; a repeated key: the last
 * wins, as in Orthanc's JSON reader). Never reads past len, never
 * recurses, allocates nothing. Returns 0 when the text was well formed to
 * its end, -1 otherwise (c->flags says why; the keys read before the
 * error are kept). c->files is incremented. */
int mv_orthanc_conf_scan(const char *buf, size_t len, struct mv_orthanc_conf *c)
    __attribute__((nonnull(3)));

/* Findings for a scanned configuration (subject: the file), no I/O:
 * - RemoteAccessAllowed true and AuthenticationEnabled false: FAIL (every
 *   image readable and deletable over HTTP without a password);
 * - RemoteAccessAllowed true, AuthenticationEnabled absent: Orthanc 1.5.8
 *   and later then turn authentication on, older versions do not: WARN,
 *   or FAIL when no user is declared (older versions: no password; 1.5.8
 *   and later: the well-known default user "orthanc"/"orthanc");
 * - remote access with authentication but RegisteredUsers absent or
 *   empty: FAIL (the default user); declared users without SslEnabled:
 *   WARN (passwords and images cross the network in clear);
 * - remote access not allowed: OK;
 * - the DICOM server's settings (DicomCheckCalledAet,
 *   DicomAlwaysAllowEcho): an OK finding that says what they are and that
 *   neither is authentication (the network check covers the port);
 * - a malformed file: WARN (Orthanc refuses to start with it).
 * Returns 0, MV_ERR_NOMEM, MV_ERR_LIMIT. */
int mv_audit_orthanc_findings(struct mv_audit_report *r, const char *subject,
                              const struct mv_orthanc_conf *c) MV_MUST_CHECK;

/* Reads the configuration at path (a file, or a directory whose *.json
 * files are one configuration, read in name order, as Orthanc does; at
 * most MV_ORTHANC_FILE_MAX bytes of each) into *c and adds its findings.
 * When path does not exist: a WARN finding if `explicit` (the user named
 * it), else nothing and *found = 0. found and c may be NULL. Returns 0,
 * MV_ERR_NOMEM, MV_ERR_LIMIT; unreadable files are WARN findings. */
int mv_audit_orthanc(struct mv_audit_report *r, const char *path, int explicit_,
                     struct mv_orthanc_conf *c, int *found, struct mv_error *err) MV_MUST_CHECK;

/* ---- 3. Unencrypted DICOM files ----------------------------------------- */

/* Bytes read from the start of each file. */
#define MV_AUDIT_SCAN_HEAD (64u << 10)
/* Distinct patients and studies remembered (16 bytes each); beyond, the
 * counts are lower bounds. */
#define MV_AUDIT_SCAN_MAX_KEYS (1u << 20)

struct mv_audit_scan_result {
	uint64_t files;      /* regular files examined */
	uint64_t instances;  /* DICOM files (DICOMDIRs not counted) */
	uint64_t dicomdirs;  /* DICOMDIR media directories */
	uint64_t patients;   /* distinct PatientID (PatientName when there is no ID) */
	uint64_t studies;    /* distinct StudyInstanceUID */
	uint64_t bytes;      /* total size of the DICOM files */
	uint64_t unreadable; /* files and directories that could not be read */
	int capped;          /* patients/studies reached MV_AUDIT_SCAN_MAX_KEYS */
	/* the volume holding path is encrypted: "dm-crypt" (LUKS), "eCryptfs",
	 * or NULL when no encryption was found (static strings) */
	const char *encryption;
};

/* Walks path (symbolic links below it are not followed; mount points are
 * crossed), reads the first MV_AUDIT_SCAN_HEAD bytes of each regular file
 * (with O_NOATIME where allowed: an old disk's access times are evidence)
 * and counts the DICOM instances, patients, studies and bytes. Adds one
 * finding: FAIL "N DICOM files of M patients stored unencrypted under
 * PATH", WARN when the volume is encrypted (dm-crypt, eCryptfs: safe when
 * the machine is off, not from its users or malware), OK when no DICOM
 * file is there. Encryption is detected for the volume of path itself.
 * Unreadable items are counted and reported through ev->warn (ev may be
 * NULL); ev->progress and ev->cancel are honoured. res may be NULL.
 * Returns 0, MV_ERR_INTERRUPTED, MV_ERR_NOMEM, MV_ERR_LIMIT. */
int mv_audit_scan(struct mv_audit_report *r, const char *path, const struct mv_events *ev,
                  struct mv_audit_scan_result *res, struct mv_error *err) MV_MUST_CHECK;

/* ---- 4. The repository -------------------------------------------------- */

/* Walks a local repository directory (not following symbolic links) and
 * reports a FAIL when any file or directory has a group or other
 * permission bit (medvault creates them 0600 and 0700), else OK. Returns
 * 0, MV_ERR_NOMEM, MV_ERR_LIMIT, MV_ERR_INTERRUPTED (cancel may be NULL). */
int mv_audit_repo_permissions(struct mv_audit_report *r, const char *path,
                              volatile sig_atomic_t *cancel, struct mv_error *err) MV_MUST_CHECK;

/* A secret file (the password file): FAIL when group or others may read
 * it, WARN when they may change it or it cannot be examined, else OK. */
int mv_audit_secret_file(struct mv_audit_report *r, const char *path) MV_MUST_CHECK;

/* The latest snapshot's time: WARN when older than max_age_s seconds or
 * when there is none (has_snapshot 0), else OK. Times in ns since the
 * epoch. */
int mv_audit_last_backup(struct mv_audit_report *r, const char *subject, int has_snapshot,
                         int64_t latest_ns, int64_t now_ns, uint64_t max_age_s) MV_MUST_CHECK;

/* The last successful check recorded in the check state file for this
 * repository id: WARN when none or older than max_age_s, else OK. An
 * unreadable state file is a WARN finding. */
int mv_audit_last_check(struct mv_audit_report *r, const char *subject, const char *state_path,
                        const uint8_t repo_id[32], int64_t now_s, uint64_t max_age_s,
                        struct mv_error *err) MV_MUST_CHECK;

/* ---- The check state file ----------------------------------------------
 *
 * The repository format keeps no record of checks, so `medvault check`
 * records each clean run on the machine that ran it, in a small text file
 * (cli/cmd_audit.c chooses its path). One line per repository and kind of
 * check:
 *
 *   <repository id, 64 lowercase hex digits> <unix time, decimal> <read-data 0 or 1>
 *
 * read-data 1: the whole data was read (check --read-data). Lines that do
 * not parse are ignored (and dropped on the next write). At most
 * MV_CHECKSTATE_MAX bytes are read. */
#define MV_CHECKSTATE_MAX (1u << 20)

/* Records a clean check: replaces the line of the same repository and kind
 * or appends one. Creates the missing directories of path (mode 0700);
 * writes a temporary file (0600), fsyncs and renames it; serialised with
 * other writers by flock on the directory. Returns 0, MV_ERR_IO,
 * MV_ERR_NOMEM, MV_ERR_LIMIT (the file is too large). */
int mv_checkstate_record(const char *path, const uint8_t repo_id[32], int64_t when, int read_data,
                         struct mv_error *err) MV_MUST_CHECK;

/* Finds the latest recorded check of the repository (*last) and the latest
 * with read-data (*last_read_data); -1 when none (also when the file does
 * not exist). Returns 0 or MV_ERR_IO, MV_ERR_NOMEM. */
int mv_checkstate_lookup(const char *path, const uint8_t repo_id[32], int64_t *last,
                         int64_t *last_read_data, struct mv_error *err) MV_MUST_CHECK;

/* Parses one state line (without newline): 1 with the fields set, 0 when
 * malformed. */
int mv_checkstate_parse_line(const char *line, size_t len, uint8_t repo_id[32], int64_t *when,
                             int *read_data);

#endif
