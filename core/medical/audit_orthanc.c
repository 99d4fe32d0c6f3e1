/* The Orthanc configuration check: a bounded scanner for a few top-level
 * keys of a JSON-with-comments file (not a JSON parser: values are skipped
 * without being stored), and the findings. */
#include "core/medical/audit.h"
#include "core/util/fdio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- tokens ------------------------------------------------------------- */

enum tok {
	T_END,
	T_ERR,
	T_LBRACE,
	T_RBRACE,
	T_LBRACK,
	T_RBRACK,
	T_COLON,
	T_COMMA,
	T_STRING,
	T_TRUE,
	T_FALSE,
	T_NULL,
	T_NUMBER,
};

#define KEY_MAX 64

struct lex {
	const char *p;
	size_t len, pos;
	/* the last string, decoded when it fits and is ASCII */
	char str[KEY_MAX];
	int str_ok;
	/* the last number, when it is an integer from 0 to 65535 */
	long num;
	int num_ok;
};

/* Skips spaces and comments. Returns 0, or -1 for an unterminated
 * block comment. */
static int skip_space(struct lex *l)
{
	while (l->pos < l->len) {
		char c = l->p[l->pos];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			l->pos++;
		} else if (c == '/' && l->pos + 1 < l->len && l->p[l->pos + 1] == '/') {
			const char *nl = memchr(l->p + l->pos, '\n', l->len - l->pos);
			l->pos = nl ? (size_t)(nl - l->p) + 1 : l->len;
		} else if (c == '/' && l->pos + 1 < l->len && l->p[l->pos + 1] == '*') {
			size_t i = l->pos + 2;
			while (i + 1 < l->len && !(l->p[i] == '*' && l->p[i + 1] == '/'))
				i++;
			if (i + 1 >= l->len)
				return -1;
			l->pos = i + 2;
		} else {
			break;
		}
	}
	return 0;
}

static int hex4(const char *p, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* A string starting at l->pos (the opening quote). */
static enum tok lex_string(struct lex *l)
{
	size_t i = l->pos + 1, o = 0;

	l->str_ok = 1;
	while (i < l->len) {
		unsigned char c = (unsigned char)l->p[i];
		char d;
		if (c == '"') {
			l->pos = i + 1;
			if (o < KEY_MAX)
				l->str[o] = '\0';
			else
				l->str_ok = 0;
			return T_STRING;
		}
		if (c < 0x20)
			return T_ERR;
		if (c != '\\') {
			d = c < 0x80 ? (char)c : 0;
			i++;
		} else {
			unsigned u;
			if (i + 1 >= l->len)
				return T_ERR;
			switch (l->p[i + 1]) {
			case '"':
			case '\\':
			case '/':
				d = l->p[i + 1];
				break;
			case 'b':
			case 'f':
			case 'n':
			case 'r':
			case 't':
				d = 0; /* no key of ours holds one */
				break;
			case 'u':
				if (l->len - i < 6 || hex4(l->p + i + 2, &u) != 0)
					return T_ERR;
				d = u >= 0x20 && u < 0x80 ? (char)u : 0;
				i += 4;
				break;
			default:
				return T_ERR;
			}
			i += 2;
		}
		if (d == 0 || o + 1 >= KEY_MAX)
			l->str_ok = 0;
		else
			l->str[o++] = d;
	}
	return T_ERR; /* unterminated */
}

static enum tok lex_number(struct lex *l)
{
	size_t i = l->pos, digits = 0;
	long v = 0;
	int plain = 1;

	if (l->p[i] == '-') {
		plain = 0;
		i++;
	}
	while (i < l->len && l->p[i] >= '0' && l->p[i] <= '9') {
		if (v <= 65535)
			v = v * 10 + (l->p[i] - '0');
		digits++;
		i++;
	}
	if (digits == 0)
		return T_ERR;
	if (i < l->len && l->p[i] == '.') {
		plain = 0;
		for (i++, digits = 0; i < l->len && l->p[i] >= '0' && l->p[i] <= '9'; i++)
			digits++;
		if (digits == 0)
			return T_ERR;
	}
	if (i < l->len && (l->p[i] == 'e' || l->p[i] == 'E')) {
		plain = 0;
		i++;
		if (i < l->len && (l->p[i] == '+' || l->p[i] == '-'))
			i++;
		for (digits = 0; i < l->len && l->p[i] >= '0' && l->p[i] <= '9'; i++)
			digits++;
		if (digits == 0)
			return T_ERR;
	}
	l->num_ok = plain && v <= 65535;
	l->num = v;
	l->pos = i;
	return T_NUMBER;
}

static enum tok lex_word(struct lex *l, const char *w, enum tok t)
{
	size_t n = strlen(w);

	if (l->len - l->pos < n || memcmp(l->p + l->pos, w, n) != 0)
		return T_ERR;
	if (l->pos + n < l->len) {
		char c = l->p[l->pos + n];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '_')
			return T_ERR;
	}
	l->pos += n;
	return t;
}

static enum tok lex_next(struct lex *l)
{
	char c;

	if (skip_space(l) != 0)
		return T_ERR;
	if (l->pos >= l->len)
		return T_END;
	c = l->p[l->pos];
	switch (c) {
	case '{':
		l->pos++;
		return T_LBRACE;
	case '}':
		l->pos++;
		return T_RBRACE;
	case '[':
		l->pos++;
		return T_LBRACK;
	case ']':
		l->pos++;
		return T_RBRACK;
	case ':':
		l->pos++;
		return T_COLON;
	case ',':
		l->pos++;
		return T_COMMA;
	case '"':
		return lex_string(l);
	case 't':
		return lex_word(l, "true", T_TRUE);
	case 'f':
		return lex_word(l, "false", T_FALSE);
	case 'n':
		return lex_word(l, "null", T_NULL);
	default:
		if (c == '-' || (c >= '0' && c <= '9'))
			return lex_number(l);
		return T_ERR;
	}
}

/* ---- the keys ----------------------------------------------------------- */

enum key {
	K_NONE,
	K_REMOTE,
	K_AUTH,
	K_SSL,
	K_DICOM_SERVER,
	K_ECHO,
	K_CALLED_AET,
	K_USERS,
	K_HTTP_PORT,
	K_DICOM_PORT,
};

static const struct {
	const char *name;
	enum key k;
} keys[] = {
    {"RemoteAccessAllowed", K_REMOTE},
    {"AuthenticationEnabled", K_AUTH},
    {"SslEnabled", K_SSL},
    {"DicomServerEnabled", K_DICOM_SERVER},
    {"DicomAlwaysAllowEcho", K_ECHO},
    {"DicomCheckCalledAet", K_CALLED_AET},
    {"RegisteredUsers", K_USERS},
    {"HttpPort", K_HTTP_PORT},
    {"DicomPort", K_DICOM_PORT},
};

static enum key key_of(const struct lex *l)
{
	if (!l->str_ok)
		return K_NONE;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(l->str, keys[i].name) == 0)
			return keys[i].k;
	return K_NONE;
}

static int *bool_field(struct mv_orthanc_conf *c, enum key k)
{
	switch (k) {
	case K_REMOTE:
		return &c->remote_access;
	case K_AUTH:
		return &c->authentication;
	case K_SSL:
		return &c->ssl;
	case K_DICOM_SERVER:
		return &c->dicom_server;
	case K_ECHO:
		return &c->always_echo;
	case K_CALLED_AET:
		return &c->check_called_aet;
	default:
		return NULL;
	}
}

/* A top-level key's value begins with token t. */
static void set_value(struct mv_orthanc_conf *c, enum key k, enum tok t, const struct lex *l)
{
	int *b = bool_field(c, k);
	uint16_t port = t == T_NUMBER && l->num_ok && l->num >= 1 ? (uint16_t)l->num : 0;

	if (b)
		*b = t == T_TRUE    ? MV_ORTHANC_TRUE
		     : t == T_FALSE ? MV_ORTHANC_FALSE
		                    : MV_ORTHANC_OTHER;
	else if (k == K_USERS)
		c->users = t == T_LBRACE ? 0 : -2;
	else if (k == K_HTTP_PORT)
		c->http_port = port;
	else if (k == K_DICOM_PORT)
		c->dicom_port = port;
}

void mv_orthanc_conf_init(struct mv_orthanc_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->users = -1;
}

/* ---- the scanner: an iterative JSON grammar with a depth limit ----------- */

enum state {
	S_VALUE,        /* a value must come */
	S_VALUE_OR_END, /* in an array: a value or ']' */
	S_KEY_OR_END,   /* in an object: a key or '}' */
	S_COLON,
	S_COMMA_OR_END,
	S_DONE,
};

#define USERS_MAX 1000000L

int mv_orthanc_conf_scan(const char *buf, size_t len, struct mv_orthanc_conf *c)
{
	char stack[MV_ORTHANC_MAX_DEPTH]; /* 'O' object, 'A' array */
	struct lex l;
	enum state s = S_VALUE;
	enum key key = K_NONE;
	size_t depth = 0;
	int counting_users = 0;

	memset(&l, 0, sizeof(l));
	l.p = buf;
	l.len = buf ? len : 0;
	c->files++;
	for (;;) {
		enum tok t = lex_next(&l);
		if (t == T_ERR)
			goto malformed;
		if (s == S_DONE) {
			if (t != T_END)
				goto malformed;
			return 0;
		}
		if (t == T_END)
			goto malformed;
		switch (s) {
		case S_KEY_OR_END:
			if (t == T_STRING) {
				if (depth == 1)
					key = key_of(&l);
				else if (counting_users && depth == 2 && c->users < USERS_MAX)
					c->users++;
				s = S_COLON;
				continue;
			}
			if (t != T_RBRACE)
				goto malformed;
			goto close;
		case S_COLON:
			if (t != T_COLON)
				goto malformed;
			s = S_VALUE;
			continue;
		case S_COMMA_OR_END:
			if (t == T_COMMA) {
				s = stack[depth - 1] == 'O' ? S_KEY_OR_END : S_VALUE_OR_END;
				continue;
			}
			if ((t == T_RBRACE && stack[depth - 1] == 'O') ||
			    (t == T_RBRACK && stack[depth - 1] == 'A'))
				goto close;
			goto malformed;
		case S_VALUE_OR_END:
			if (t == T_RBRACK)
				goto close;
			break; /* a value: below */
		case S_VALUE:
			break;
		case S_DONE:
			goto malformed;
		}
		/* a value begins with t */
		if (depth == 0 && t != T_LBRACE)
			c->flags |= MV_ORTHANC_F_NOT_OBJECT;
		if (depth == 1 && stack[0] == 'O' && key != K_NONE) {
			set_value(c, key, t, &l);
			counting_users = key == K_USERS && t == T_LBRACE;
			key = K_NONE;
		}
		if (t == T_LBRACE || t == T_LBRACK) {
			if (depth == MV_ORTHANC_MAX_DEPTH) {
				c->flags |= MV_ORTHANC_F_LIMIT;
				return -1;
			}
			stack[depth++] = t == T_LBRACE ? 'O' : 'A';
			s = t == T_LBRACE ? S_KEY_OR_END : S_VALUE_OR_END;
			continue;
		}
		if (t != T_STRING && t != T_NUMBER && t != T_TRUE && t != T_FALSE && t != T_NULL)
			goto malformed;
		s = depth == 0 ? S_DONE : S_COMMA_OR_END;
		continue;
	close:
		depth--;
		if (depth < 2)
			counting_users = 0;
		s = depth == 0 ? S_DONE : S_COMMA_OR_END;
	}
malformed:
	c->flags |= MV_ORTHANC_F_MALFORMED;
	return -1;
}

/* ---- findings ----------------------------------------------------------- */

static const char remedy_auth[] =
    "set \"AuthenticationEnabled\": true and declare users with strong passwords in "
    "\"RegisteredUsers\"; use TLS (\"SslEnabled\": true, or a reverse proxy with TLS); keep "
    "the port off the internet (firewall, VPN); or set \"RemoteAccessAllowed\": false if "
    "only this machine uses Orthanc; then restart Orthanc";

static int http_findings(struct mv_audit_report *r, const char *subject,
                         const struct mv_orthanc_conf *c)
{
	unsigned port = c->http_port ? c->http_port : 8042;
	const char *empty_note = c->users == 0 ? " (versions after 1.12.8 create it only when "
	                                         "RegisteredUsers is absent)"
	                                       : "";

	if (c->remote_access == MV_ORTHANC_OTHER)
		return mv_audit_add(r, MV_AUDIT_ORTHANC, MV_AUDIT_WARN, subject,
		                    "write true or false", "RemoteAccessAllowed is not a boolean");
	if (c->remote_access != MV_ORTHANC_TRUE)
		return mv_audit_add(
		    r, MV_AUDIT_ORTHANC, MV_AUDIT_OK, subject, NULL,
		    "remote access to the HTTP server is off (RemoteAccessAllowed "
		    "%s): only this machine can use the REST API and Orthanc Explorer",
		    c->remote_access == MV_ORTHANC_FALSE ? "false" : "absent");
	if (c->authentication == MV_ORTHANC_FALSE)
		return mv_audit_add(
		    r, MV_AUDIT_ORTHANC, MV_AUDIT_FAIL, subject, remedy_auth,
		    "RemoteAccessAllowed is true and AuthenticationEnabled is false: "
		    "anyone who reaches the HTTP port (%u) can browse, download and "
		    "delete every image without a password",
		    port);
	if (c->authentication != MV_ORTHANC_TRUE && c->users <= 0)
		return mv_audit_add(
		    r, MV_AUDIT_ORTHANC, MV_AUDIT_FAIL, subject, remedy_auth,
		    "RemoteAccessAllowed is true, AuthenticationEnabled is %s and no "
		    "user is declared: Orthanc before 1.5.8 serves every image on "
		    "port %u without a password; 1.5.8 and later turn authentication "
		    "on but accept the default user 'orthanc' with the password "
		    "'orthanc', which everyone knows%s",
		    c->authentication == MV_ORTHANC_ABSENT ? "not set" : "not a boolean", port,
		    empty_note);
	if (c->authentication != MV_ORTHANC_TRUE)
		return mv_audit_add(
		    r, MV_AUDIT_ORTHANC, MV_AUDIT_WARN, subject, remedy_auth,
		    "RemoteAccessAllowed is true and AuthenticationEnabled is %s: "
		    "Orthanc 1.5.8 and later then require a password on port %u, "
		    "older versions serve every image without one",
		    c->authentication == MV_ORTHANC_ABSENT ? "not set" : "not a boolean", port);
	if (c->users <= 0)
		return mv_audit_add(
		    r, MV_AUDIT_ORTHANC, MV_AUDIT_FAIL, subject, remedy_auth,
		    "RemoteAccessAllowed and AuthenticationEnabled are true but no user "
		    "is declared in RegisteredUsers: Orthanc (1.5.8 and later) then "
		    "accepts the default user 'orthanc' with the password 'orthanc' on "
		    "port %u, which everyone knows%s",
		    port, empty_note);
	if (c->ssl != MV_ORTHANC_TRUE)
		return mv_audit_add(
		    r, MV_AUDIT_ORTHANC, MV_AUDIT_WARN, subject,
		    "set \"SslEnabled\": true with a certificate, or put a reverse "
		    "proxy with TLS (nginx, Apache) in front and keep Orthanc on "
		    "127.0.0.1",
		    "remote access requires a password (%ld user%s declared), but TLS "
		    "is off (SslEnabled): the passwords (HTTP basic authentication) "
		    "and the images cross the network in clear on port %u",
		    c->users, c->users == 1 ? "" : "s", port);
	return mv_audit_add(r, MV_AUDIT_ORTHANC, MV_AUDIT_OK, subject, NULL,
	                    "remote access requires a password (%ld user%s declared) over TLS",
	                    c->users, c->users == 1 ? "" : "s");
}

static int dicom_finding(struct mv_audit_report *r, const char *subject,
                         const struct mv_orthanc_conf *c)
{
	char sub[4200];

	snprintf(sub, sizeof(sub), "%s (DICOM server)", subject);
	if (c->dicom_server == MV_ORTHANC_FALSE)
		return mv_audit_add(r, MV_AUDIT_ORTHANC, MV_AUDIT_OK, sub, NULL,
		                    "the DICOM server is disabled (DicomServerEnabled false)");
	return mv_audit_add(r, MV_AUDIT_ORTHANC, MV_AUDIT_OK, sub, NULL,
	                    "the DICOM server (port %u) %s the called AE title "
	                    "(DicomCheckCalledAet %s) and answers C-ECHO from %s "
	                    "(DicomAlwaysAllowEcho %s); neither is authentication: whether the "
	                    "port can be reached is the network check's finding",
	                    (unsigned)(c->dicom_port ? c->dicom_port : 4242),
	                    c->check_called_aet == MV_ORTHANC_TRUE ? "checks" : "does not check",
	                    c->check_called_aet == MV_ORTHANC_TRUE    ? "true"
	                    : c->check_called_aet == MV_ORTHANC_FALSE ? "false"
	                                                              : "absent: false",
	                    c->always_echo == MV_ORTHANC_FALSE ? "declared modalities only"
	                                                       : "any host",
	                    c->always_echo == MV_ORTHANC_TRUE    ? "true"
	                    : c->always_echo == MV_ORTHANC_FALSE ? "false"
	                                                         : "absent: true");
}

int mv_audit_orthanc_findings(struct mv_audit_report *r, const char *subject,
                              const struct mv_orthanc_conf *c)
{
	int rc = 0;

	if (c->flags & (MV_ORTHANC_F_MALFORMED | MV_ORTHANC_F_LIMIT | MV_ORTHANC_F_NOT_OBJECT))
		rc =
		    mv_audit_add(r, MV_AUDIT_ORTHANC, MV_AUDIT_WARN, subject,
		                 "correct the file: Orthanc says where the error is when it starts",
		                 "the configuration is not %s (Orthanc refuses to start with it); "
		                 "the settings below are those read before the error",
		                 c->flags & MV_ORTHANC_F_NOT_OBJECT ? "a JSON object"
		                 : c->flags & MV_ORTHANC_F_LIMIT    ? "readable (nested too deeply)"
		                                                    : "valid JSON");
	if (rc == 0)
		rc = http_findings(r, subject, c);
	if (rc == 0)
		rc = dicom_finding(r, subject, c);
	return rc;
}

/* ---- reading the files -------------------------------------------------- */

#define CONF_DIR_MAX 256 /* *.json files of a configuration directory */

/* Reads at most MV_ORTHANC_FILE_MAX bytes of a regular file. Returns 0,
 * MV_ERR_IO (errno set), or MV_ERR_NOMEM. *truncated: the file is larger. */
static int read_file(const char *path, char **out, size_t *len, int *truncated)
{
	struct stat st;
	size_t have = 0;
	char *buf = NULL;
	int fd, saved = 0, rc = 0;

	*out = NULL;
	*len = 0;
	*truncated = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return MV_ERR_IO;
	if (fstat(fd, &st) != 0) {
		saved = errno;
		rc = MV_ERR_IO;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		saved = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		rc = MV_ERR_IO;
		goto out;
	}
	buf = malloc(MV_ORTHANC_FILE_MAX);
	if (!buf) {
		rc = MV_ERR_NOMEM;
		goto out;
	}
	ssize_t n = mv_read_upto(fd, buf, MV_ORTHANC_FILE_MAX);
	if (n < 0) {
		saved = errno;
		rc = MV_ERR_IO;
		goto out;
	}
	have = (size_t)n;
	if (have == MV_ORTHANC_FILE_MAX) {
		char extra;
		*truncated = read(fd, &extra, 1) > 0;
	}
	*out = buf;
	*len = have;
	buf = NULL;
out:
	free(buf);
	close(fd);
	errno = saved;
	return rc;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.json names of a directory, sorted (malloc'd array of malloc'd
 * names). Returns 0, MV_ERR_IO (errno), MV_ERR_NOMEM. */
static int list_json(const char *dir, char ***out, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (!d)
		return MV_ERR_IO;
	names = calloc(CONF_DIR_MAX, sizeof(*names));
	if (!names) {
		closedir(d);
		return MV_ERR_NOMEM;
	}
	while ((e = readdir(d)) != NULL && *n < CONF_DIR_MAX) {
		size_t len = strlen(e->d_name);
		if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0 || e->d_name[0] == '.')
			continue;
		names[*n] = strdup(e->d_name);
		if (!names[*n]) {
			rc = MV_ERR_NOMEM;
			break;
		}
		(*n)++;
	}
	closedir(d);
	qsort(names, *n, sizeof(*names), name_cmp);
	*out = names;
	return rc;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

/* Scans one file into c; unreadable: a WARN finding. */
static int scan_file(struct mv_audit_report *r, const char *path, struct mv_orthanc_conf *c)
{
	char ebuf[128], *buf;
	size_t len;
	int truncated, rc = read_file(path, &buf, &len, &truncated);

	if (rc == MV_ERR_NOMEM)
		return rc;
	if (rc != 0)
		return mv_audit_add(r, MV_AUDIT_ORTHANC, MV_AUDIT_WARN, path,
		                    "run the audit as root or as the user that runs Orthanc",
		                    "cannot read the Orthanc configuration: %s",
		                    mv_errno_str(errno, ebuf, sizeof(ebuf)));
	(void)mv_orthanc_conf_scan(buf, len, c);
	if (truncated)
		c->flags |= MV_ORTHANC_F_MALFORMED;
	free(buf);
	return 0;
}

int mv_audit_orthanc(struct mv_audit_report *r, const char *path, int explicit_,
                     struct mv_orthanc_conf *c, int *found, struct mv_error *err)
{
	struct mv_orthanc_conf local;
	struct stat st;
	char **names = NULL, ebuf[128];
	size_t n = 0;
	int rc = 0;

	if (!c)
		c = &local;
	mv_orthanc_conf_init(c);
	if (found)
		*found = 0;
	if (stat(path, &st) != 0) {
		if (errno == ENOENT && !explicit_)
			return 0;
		rc = mv_audit_add(r, MV_AUDIT_ORTHANC, MV_AUDIT_WARN, path, NULL,
		                  "cannot read the Orthanc configuration: %s",
		                  mv_errno_str(errno, ebuf, sizeof(ebuf)));
		goto out;
	}
	if (found)
		*found = 1;
	if (!S_ISDIR(st.st_mode)) {
		rc = scan_file(r, path, c);
		if (rc == 0 && c->files > 0)
			rc = mv_audit_orthanc_findings(r, path, c);
		goto out;
	}
	rc = list_json(path, &names, &n);
	if (rc == MV_ERR_IO) {
		rc = mv_audit_add(r, MV_AUDIT_ORTHANC, MV_AUDIT_WARN, path, NULL,
		                  "cannot list the Orthanc configuration directory: %s",
		                  mv_errno_str(errno, ebuf, sizeof(ebuf)));
		goto out;
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		size_t len = strlen(path) + strlen(names[i]) + 2;
		char *p = malloc(len);
		if (!p) {
			rc = MV_ERR_NOMEM;
			break;
		}
		snprintf(p, len, "%s/%s", path, names[i]);
		rc = scan_file(r, p, c);
		free(p);
	}
	if (rc == 0 && c->files == 0)
		rc = mv_audit_add(r, MV_AUDIT_ORTHANC, MV_AUDIT_WARN, path, NULL,
		                  "no readable *.json file in the Orthanc configuration directory");
	else if (rc == 0)
		rc = mv_audit_orthanc_findings(r, path, c);
out:
	free_names(names, n);
	if (rc != 0)
		return mv_error_set(err, rc, 0, "%s", mv_strerror(rc));
	return 0;
}
