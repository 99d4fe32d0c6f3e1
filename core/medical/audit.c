/* The audit report, the network check and the repository checks (the
 * Orthanc scanner, the DICOM scan and the check state file have their own
 * audit_*.c files). */
#include "core/medical/audit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/medical/audit_probe.h"
#include "core/util/grow.h"
#include "formats/procnet.h"

/* ---- the report --------------------------------------------------------- */

void mv_audit_report_init(struct mv_audit_report *r)
{
	r->items = NULL;
	r->n = r->cap = 0;
}

static void finding_free(struct mv_audit_finding *f)
{
	free(f->subject);
	free(f->message);
	free(f->remedy);
}

void mv_audit_report_release(struct mv_audit_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		finding_free(&r->items[i]);
	free(r->items);
	mv_audit_report_init(r);
}

static int reserve(struct mv_audit_report *r, size_t more)
{
	size_t need;

	if (mv_size_add(r->n, more, &need) != 0 || need > MV_AUDIT_MAX_FINDINGS)
		return MV_ERR_LIMIT;
	return mv_grow(r->items, r->cap, need);
}

int mv_audit_add(struct mv_audit_report *r, const char *check, enum mv_audit_status st,
                 const char *subject, const char *remedy, const char *fmt, ...)
{
	struct mv_audit_finding f = {check, st, NULL, NULL, NULL};
	va_list ap;
	int n, rc;

	rc = reserve(r, 1);
	if (rc != 0)
		return rc;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	f.message = malloc((size_t)n + 1);
	f.subject = strdup(subject ? subject : "");
	f.remedy = strdup(remedy ? remedy : "");
	if (!f.message || !f.subject || !f.remedy) {
		finding_free(&f);
		return MV_ERR_NOMEM;
	}
	va_start(ap, fmt);
	if (vsnprintf(f.message, (size_t)n + 1, fmt, ap) < 0)
		f.message[0] = '\0';
	va_end(ap);
	r->items[r->n++] = f;
	return 0;
}

int mv_audit_report_move(struct mv_audit_report *dst, struct mv_audit_report *src)
{
	int rc = reserve(dst, src->n);

	if (rc != 0)
		return rc;
	if (src->n > 0)
		memcpy(dst->items + dst->n, src->items, src->n * sizeof(*src->items));
	dst->n += src->n;
	free(src->items);
	mv_audit_report_init(src);
	return 0;
}

enum mv_audit_status mv_audit_worst(const struct mv_audit_report *r)
{
	enum mv_audit_status w = MV_AUDIT_OK;

	for (size_t i = 0; i < r->n; i++)
		if (r->items[i].status > w)
			w = r->items[i].status;
	return w;
}

const char *mv_audit_status_name(enum mv_audit_status s)
{
	switch (s) {
	case MV_AUDIT_OK:
		return "ok";
	case MV_AUDIT_WARN:
		return "warn";
	case MV_AUDIT_FAIL:
		return "fail";
	}
	return "fail";
}

/* ---- 1. the network ----------------------------------------------------- */

static const struct mv_audit_port std_ports[] = {
    {104, "DICOM", 0},
    {11112, "DICOM", 0},
    {2762, "DICOM over TLS", 1},
    {4242, "Orthanc DICOM", 0},
    {8042, "Orthanc HTTP (REST API and Orthanc Explorer)", 0},
};
#define NSTD (sizeof(std_ports) / sizeof(std_ports[0]))

/* Distinct listening sockets remembered (more are not reported). */
#define NET_MAX_LISTENERS 1024u
#define NET_BUF           (64u << 10)

const struct mv_audit_port *mv_audit_ports(size_t *n)
{
	*n = NSTD;
	return std_ports;
}

struct listener {
	int family;
	uint8_t addr[16];
	uint16_t port;
	uint64_t inode;
	struct mv_probe_target *probe; /* its probe's answers; NULL: not probed */
};

struct net {
	struct mv_audit_port *ports;
	size_t nports;
	struct listener *l;
	size_t n;
	size_t malformed;
	int dropped;                    /* more than NET_MAX_LISTENERS */
	int find_process;               /* name the process of exposed sockets (live /proc only) */
	struct mv_probe_target *probes; /* one per listener when probed */
	size_t not_probed;              /* listeners the probe had no time for */
};

static const struct mv_audit_port *net_port(const struct net *nt, uint16_t port)
{
	for (size_t i = 0; i < nt->nports; i++)
		if (nt->ports[i].port == port)
			return &nt->ports[i];
	return NULL;
}

static int net_cb(void *arg, const struct mv_procnet_entry *e)
{
	struct net *nt = arg;

	if (e->state != MV_PROCNET_LISTEN)
		return 0; /* every listener: the probe recognises services on any port */
	for (size_t i = 0; i < nt->n; i++)
		if (nt->l[i].family == e->family && nt->l[i].port == e->local_port &&
		    memcmp(nt->l[i].addr, e->local, 16) == 0)
			return 0; /* SO_REUSEPORT: the same address several times */
	if (nt->n == NET_MAX_LISTENERS) {
		nt->dropped = 1;
		return 0;
	}
	nt->l[nt->n].family = e->family;
	memcpy(nt->l[nt->n].addr, e->local, 16);
	nt->l[nt->n].port = e->local_port;
	nt->l[nt->n].inode = e->inode;
	nt->n++;
	return 0;
}

static int net_init(struct net *nt, const struct mv_audit_net_opts *o)
{
	size_t nextra = o ? o->nextra : 0, cap;

	memset(nt, 0, sizeof(*nt));
	if (mv_size_add(NSTD, nextra, &cap) != 0)
		return MV_ERR_LIMIT;
	nt->ports = calloc(cap, sizeof(*nt->ports));
	nt->l = calloc(NET_MAX_LISTENERS, sizeof(*nt->l));
	if (!nt->ports || !nt->l)
		return MV_ERR_NOMEM;
	for (size_t i = 0; i < NSTD; i++)
		nt->ports[nt->nports++] = std_ports[i];
	for (size_t i = 0; i < nextra; i++)
		if (o->extra[i].port != 0 && !net_port(nt, o->extra[i].port))
			nt->ports[nt->nports++] = o->extra[i];
	return 0;
}

static void net_release(struct net *nt)
{
	free(nt->ports);
	free(nt->l);
	free(nt->probes);
}

/* Asks every listener what it is (core/medical/audit_probe.c). */
static int net_probe(struct net *nt, const struct mv_audit_net_opts *o)
{
	struct mv_probe_opts po = {0, 0, 0, NULL};
	int rc;

	if (nt->n == 0)
		return 0;
	nt->probes = calloc(nt->n, sizeof(*nt->probes));
	if (!nt->probes)
		return MV_ERR_NOMEM;
	for (size_t i = 0; i < nt->n; i++) {
		nt->probes[i].family = nt->l[i].family;
		memcpy(nt->probes[i].addr, nt->l[i].addr, 16);
		nt->probes[i].port = nt->l[i].port;
		nt->l[i].probe = &nt->probes[i];
	}
	if (o) {
		po.timeout_ms = o->probe_timeout_ms;
		po.budget_ms = o->probe_budget_ms;
		po.cancel = o->cancel;
	}
	rc = mv_probe_run(nt->probes, nt->n, &po, &nt->not_probed);
	return rc == MV_ERR_IO ? 0 : rc; /* a failed poll: what was learnt stays */
}

static const char remedy_orthanc[] =
    "in Orthanc's configuration set \"RemoteAccessAllowed\": false, or set "
    "\"AuthenticationEnabled\": true with \"RegisteredUsers\" of strong passwords and "
    "\"SslEnabled\": true; make it listen on 127.0.0.1 only, or allow only the machines "
    "that need it in the firewall; never forward this port on the internet box (router)";
static const char remedy_net[] =
    "make the service listen on 127.0.0.1 (or ::1) only, in its configuration; if other "
    "machines must reach it, allow only them in the firewall (nftables, ufw, firewalld) or "
    "reach it through a VPN; never forward this port on the internet box (router)";

/* 1 when the name is all digits (a /proc/PID directory). */
static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* 1 when process pid holds the socket with that inode. */
static int holds_socket(const char *pid, const char *want)
{
	char path[300], link[64];
	struct dirent *e;
	DIR *d;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%s/fd", pid);
	d = opendir(path);
	if (!d)
		return 0; /* gone, or not ours to look at */
	while (!found && (e = readdir(d)) != NULL) {
		ssize_t n;
		if (!all_digits(e->d_name))
			continue;
		n = readlinkat(dirfd(d), e->d_name, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		found = strcmp(link, want) == 0;
	}
	closedir(d);
	return found;
}

/* Names the process holding the socket: " (process 'orthanc', pid 123)",
 * or "" when it cannot be found (another user's, without privileges). */
static void socket_owner(uint64_t inode, char *out, size_t cap)
{
	char want[48], path[300], comm[64];
	struct dirent *e;
	DIR *d;

	out[0] = '\0';
	if (inode == 0 || !(d = opendir("/proc")))
		return;
	snprintf(want, sizeof(want), "socket:[%llu]", (unsigned long long)inode);
	while ((e = readdir(d)) != NULL) {
		ssize_t n;
		if (!all_digits(e->d_name) || strlen(e->d_name) > 20 ||
		    !holds_socket(e->d_name, want))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		n = fd >= 0 ? read(fd, comm, sizeof(comm) - 1) : -1;
		if (fd >= 0)
			close(fd);
		if (n < 0)
			n = 0;
		comm[n] = '\0';
		comm[strcspn(comm, "\n")] = '\0';
		snprintf(out, cap, " (process '%s', pid %s)", comm, e->d_name);
		break;
	}
	closedir(d);
}

/* What a listener is, from its probe's answers or else its port: a name
 * for messages ("" when it is not a DICOM or PACS service), what it
 * answered ("" when not probed), *tls for a TLS service, *open_orthanc
 * when Orthanc answered /system without a password. */
static void net_service(const struct net *nt, const struct listener *l, char *name, size_t cap,
                        const char **answer, int *tls, int *open_orthanc)
{
	const struct mv_probe_target *t = l->probe;
	const struct mv_audit_port *p = net_port(nt, l->port);

	name[0] = '\0';
	*answer = "";
	*tls = 0;
	*open_orthanc = 0;
	if (t && t->http && t->hi.orthanc) {
		snprintf(name, cap,
		         "Orthanc's HTTP server (REST API and Orthanc Explorer%s%s%s%s%s)",
		         t->hi.name[0] ? ", named '" : "", t->hi.name, t->hi.name[0] ? "'" : "",
		         t->hi.version[0] ? ", version " : "", t->hi.version);
		*open_orthanc = !t->hi.auth_required;
		*answer = t->hi.auth_required ? " It asked medvault's GET /system for a password."
		                              : " It answered medvault's GET /system without a "
		                                "password: whoever reaches it can read, change and "
		                                "delete every image it holds.";
	} else if (t && t->dicom) {
		snprintf(name, cap, "A DICOM service");
		if (t->di.kind == MV_PROBE_DICOM_ACCEPT)
			*answer = " It accepted medvault's association request (Verification) "
			          "without any authentication.";
		else if (t->di.kind == MV_PROBE_DICOM_REJECT)
			*answer = " It rejected medvault's association request: it checks AE "
			          "titles, which are names, not passwords.";
		else
			*answer = " It aborted medvault's association request.";
	} else if (p) {
		snprintf(name, cap, "%s", p->service);
		*tls = p->tls;
	}
}

static int net_finding(struct mv_audit_report *r, const struct net *nt, const struct listener *l)
{
	char subject[MV_PROCNET_ADDR_STRLEN], owner[128], service[200];
	const char *where, *answer;
	int tls, open_orthanc;

	net_service(nt, l, service, sizeof(service), &answer, &tls, &open_orthanc);
	if (!service[0])
		return 0; /* not a DICOM or PACS service */
	mv_procnet_addr_str(l->family, l->addr, l->port, subject);
	if (mv_procnet_is_loopback(l->family, l->addr))
		return mv_audit_add(r, MV_AUDIT_NETWORK, MV_AUDIT_OK, subject, NULL,
		                    "%s (port %u) listens on the loopback address only: other "
		                    "machines cannot reach it.%s",
		                    service, (unsigned)l->port, answer);
	if (mv_procnet_is_any(l->family, l->addr))
		where = l->family == 4 ? "on every IPv4 address of this machine"
		                       : "on every address of this machine (IPv6, and IPv4 too "
		                         "unless the socket is IPv6-only)";
	else
		where = "on a network address of this machine";
	owner[0] = '\0';
	if (nt->find_process)
		socket_owner(l->inode, owner, sizeof(owner));
	if (l->probe && l->probe->http && l->probe->hi.orthanc && l->probe->hi.auth_required)
		return mv_audit_add(r, MV_AUDIT_NETWORK, MV_AUDIT_WARN, subject, remedy_orthanc,
		                    "%s (port %u) listens %s%s: any computer on a network this "
		                    "machine is connected to can try passwords on it, and the "
		                    "whole internet if the internet box forwards the port.%s",
		                    service, (unsigned)l->port, where, owner, answer);
	if (tls)
		return mv_audit_add(
		    r, MV_AUDIT_NETWORK, MV_AUDIT_WARN, subject, remedy_net,
		    "%s (port %u) listens %s%s: any computer on a network this "
		    "machine is connected to can reach it, and the whole internet if "
		    "the internet box forwards the port; TLS encrypts the traffic but "
		    "does not keep out whoever can connect (client certificates not "
		    "checked, software flaws)",
		    service, (unsigned)l->port, where, owner);
	return mv_audit_add(r, MV_AUDIT_NETWORK, MV_AUDIT_FAIL, subject,
	                    open_orthanc ? remedy_orthanc : remedy_net,
	                    "%s (port %u) listens %s%s, without encryption: any computer on a "
	                    "network this machine is connected to can reach it, and the whole "
	                    "internet if the internet box forwards the port.%s",
	                    service, (unsigned)l->port, where, owner, answer);
}

static void port_list(const struct net *nt, char *out, size_t cap)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < nt->nports && o < cap; i++) {
		int n = snprintf(out + o, cap - o, "%s%u", i ? ", " : "ports ",
		                 (unsigned)nt->ports[i].port);
		if (n < 0)
			break;
		o += (size_t)n;
	}
}

static int net_report(struct mv_audit_report *r, const struct net *nt, const char *tcp_name)
{
	char ports[256], service[200];
	const char *answer;
	size_t found = 0;
	int rc = 0, tls, open_orthanc;

	port_list(nt, ports, sizeof(ports));
	for (size_t i = 0; i < nt->n && rc == 0; i++) {
		net_service(nt, &nt->l[i], service, sizeof(service), &answer, &tls, &open_orthanc);
		found += service[0] != '\0';
		rc = net_finding(r, nt, &nt->l[i]);
	}
	if (rc == 0 && found == 0 && nt->probes)
		rc = mv_audit_add(r, MV_AUDIT_NETWORK, MV_AUDIT_OK, "listening TCP sockets", NULL,
		                  "no DICOM or PACS service found: %zu listening socket%s asked "
		                  "(HTTP GET /system as Orthanc answers it, DICOM association "
		                  "request), and %s looked at",
		                  nt->n, nt->n == 1 ? "" : "s", ports);
	else if (rc == 0 && found == 0)
		rc = mv_audit_add(r, MV_AUDIT_NETWORK, MV_AUDIT_OK, ports, NULL,
		                  "no DICOM or PACS service listens on these ports");
	if (rc == 0 && nt->not_probed > 0)
		rc = mv_audit_add(r, MV_AUDIT_NETWORK, MV_AUDIT_WARN, "listening TCP sockets",
		                  "run the audit again when the machine is less busy",
		                  "%zu of %zu listening sockets could not be asked what they are "
		                  "in the time allowed: a DICOM or PACS service on another port "
		                  "than %s may have been missed",
		                  nt->not_probed, nt->n, ports);
	if (rc == 0 && (nt->malformed > 0 || nt->dropped))
		rc = mv_audit_add(r, MV_AUDIT_NETWORK, MV_AUDIT_WARN, tcp_name,
		                  "report this to the medvault developers with the file's content",
		                  "%zu line%s of the kernel's socket list could not be read%s: a "
		                  "listening service may have been missed",
		                  nt->malformed, nt->malformed == 1 ? "" : "s",
		                  nt->dropped ? " or were too many" : "");
	return rc;
}

int mv_audit_network_text(struct mv_audit_report *r, const char *tcp, size_t tcp_len,
                          const char *tcp6, size_t tcp6_len, const struct mv_audit_net_opts *o,
                          struct mv_error *err)
{
	struct net nt;
	int rc = net_init(&nt, o);

	if (rc == 0)
		rc = mv_procnet_parse(tcp, tcp_len, 1, 4, MV_PROCNET_NATIVE, net_cb, &nt, NULL,
		                      &nt.malformed);
	if (rc == 0 && tcp6)
		rc = mv_procnet_parse(tcp6, tcp6_len, 1, 6, MV_PROCNET_NATIVE, net_cb, &nt, NULL,
		                      &nt.malformed);
	if (rc == 0)
		rc = net_report(r, &nt, o && o->tcp_path ? o->tcp_path : "/proc/net/tcp");
	net_release(&nt);
	if (rc != 0)
		return mv_error_set(err, rc, 0, "%s", mv_strerror(rc));
	return 0;
}

/* Streams one /proc/net file through the parser. Returns 0, MV_ERR_IO
 * with errno set (ENOENT: no such file), or MV_ERR_NOMEM. */
static int net_read(struct net *nt, const char *path, int family)
{
	char *buf = malloc(NET_BUF);
	size_t have = 0, used;
	int fd, rc = 0, saved = 0;

	if (!buf)
		return MV_ERR_NOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		saved = errno;
		rc = MV_ERR_IO;
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf + have, NET_BUF - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			saved = errno;
			rc = MV_ERR_IO;
			break;
		}
		have += (size_t)n;
		(void)mv_procnet_parse(buf, have, n == 0, family, MV_PROCNET_NATIVE, net_cb, nt,
		                       &used, &nt->malformed);
		if (n == 0)
			break;
		if (used == 0 && have == NET_BUF) {
			nt->malformed++; /* a line longer than the buffer */
			used = have;
		}
		memmove(buf, buf + used, have - used);
		have -= used;
	}
	close(fd);
out:
	free(buf);
	errno = saved;
	return rc;
}

int mv_audit_network(struct mv_audit_report *r, const struct mv_audit_net_opts *o,
                     struct mv_error *err)
{
	const char *tcp = o && o->tcp_path ? o->tcp_path : "/proc/net/tcp";
	const char *tcp6 = o && o->tcp6_path ? o->tcp6_path : "/proc/net/tcp6";
	char ebuf[128];
	struct net nt;
	int rc = net_init(&nt, o);

	if (rc != 0)
		goto out;
	nt.find_process = 1;
	rc = net_read(&nt, tcp, 4);
	if (rc == MV_ERR_IO) {
		rc = mv_audit_add(
		    r, MV_AUDIT_NETWORK, MV_AUDIT_WARN, tcp,
		    "run the audit on the machine itself (not in a container) as a user "
		    "who can read this file",
		    "cannot read the list of listening sockets (%s): the network check "
		    "was not made",
		    mv_errno_str(errno, ebuf, sizeof(ebuf)));
		goto out;
	}
	if (rc == 0) {
		rc = net_read(&nt, tcp6, 6);
		if (rc == MV_ERR_IO && errno == ENOENT)
			rc = 0; /* no IPv6 on this machine */
		else if (rc == MV_ERR_IO)
			rc =
			    mv_audit_add(r, MV_AUDIT_NETWORK, MV_AUDIT_WARN, tcp6, NULL,
			                 "cannot read the list of IPv6 sockets (%s): IPv6 services "
			                 "were not checked",
			                 mv_errno_str(errno, ebuf, sizeof(ebuf)));
	}
	if (rc == 0 && !(o && o->no_probe))
		rc = net_probe(&nt, o);
	if (rc == 0)
		rc = net_report(r, &nt, tcp);
out:
	net_release(&nt);
	if (rc != 0)
		return mv_error_set(err, rc, 0, "%s", mv_strerror(rc));
	return 0;
}

/* ---- 4. the repository -------------------------------------------------- */

/* Directories deeper than this below the repository are not examined (a
 * repository is 2 levels deep). */
#define PERM_MAX_DEPTH 16
#define PERM_MAX_DIRS  (1u << 20)

struct perm_dir {
	char *path;
	int depth;
};

struct perm {
	struct perm_dir *stack;
	size_t n, cap;
	uint64_t entries, bad, unreadable;
	char example[512];
	unsigned example_mode;
};

static int perm_push(struct perm *p, const char *dir, const char *name, int depth)
{
	size_t len = strlen(dir), nlen = name ? strlen(name) : 0, size;
	char *path;

	if (p->n == PERM_MAX_DIRS)
		return MV_ERR_LIMIT;
	if (mv_grow(p->stack, p->cap, p->n + 1))
		return MV_ERR_NOMEM;
	if (mv_size_add(len, nlen, &size) != 0 || mv_size_add(size, 2, &size) != 0)
		return MV_ERR_LIMIT;
	path = malloc(size);
	if (!path)
		return MV_ERR_NOMEM;
	if (name)
		snprintf(path, size, "%s/%s", dir, name);
	else
		snprintf(path, size, "%s", dir);
	p->stack[p->n].path = path;
	p->stack[p->n].depth = depth;
	p->n++;
	return 0;
}

static void perm_note(struct perm *p, const char *path, mode_t mode)
{
	p->entries++;
	if (S_ISLNK(mode) || !(mode & 077))
		return;
	if (p->bad++ == 0) {
		size_t l = strnlen(path, sizeof(p->example) - 1);
		memcpy(p->example, path, l);
		p->example[l] = '\0';
		p->example_mode = (unsigned)(mode & 07777);
	}
}

/* Examines the entries of one directory, pushing its subdirectories. */
static int perm_dir(struct perm *p, const struct perm_dir *d)
{
	DIR *dir = opendir(d->path);
	struct dirent *e;
	struct stat st;
	int rc = 0;

	if (!dir) {
		p->unreadable++;
		return 0;
	}
	while (rc == 0 && (e = readdir(dir)) != NULL) {
		char path[4096];
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			p->unreadable++;
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", d->path, e->d_name);
		perm_note(p, path, st.st_mode);
		if (S_ISDIR(st.st_mode) && d->depth < PERM_MAX_DEPTH)
			rc = perm_push(p, d->path, e->d_name, d->depth + 1);
	}
	closedir(dir);
	return rc;
}

static const char remedy_perm_fmt[] =
    "run 'chmod -R go-rwx %s' (medvault creates its files 0600 and its directories 0700; a "
    "copy, an archive extraction or 'rsync -a' from elsewhere may widen them)";

int mv_audit_repo_permissions(struct mv_audit_report *r, const char *path,
                              volatile sig_atomic_t *cancel, struct mv_error *err)
{
	struct perm p;
	struct stat st;
	char ebuf[128], *remedy = NULL;
	int rc;

	memset(&p, 0, sizeof(p));
	if (lstat(path, &st) != 0) {
		rc = mv_audit_add(r, MV_AUDIT_PERMISSIONS, MV_AUDIT_WARN, path, NULL,
		                  "cannot examine the repository directory: %s",
		                  mv_errno_str(errno, ebuf, sizeof(ebuf)));
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		rc = mv_audit_add(r, MV_AUDIT_PERMISSIONS, MV_AUDIT_WARN, path, NULL,
		                  "the repository location is not a directory");
		goto out;
	}
	perm_note(&p, path, st.st_mode);
	rc = perm_push(&p, path, NULL, 0);
	while (rc == 0 && p.n > 0) {
		struct perm_dir d = p.stack[--p.n];
		if (cancel && *cancel)
			rc = MV_ERR_INTERRUPTED;
		else
			rc = perm_dir(&p, &d);
		free(d.path);
	}
	if (rc != 0)
		goto out;
	if (p.bad > 0) {
		size_t n = strlen(remedy_perm_fmt) + strlen(path) + 1;
		remedy = malloc(n);
		if (!remedy) {
			rc = MV_ERR_NOMEM;
			goto out;
		}
		snprintf(remedy, n, remedy_perm_fmt, path);
		rc = mv_audit_add(r, MV_AUDIT_PERMISSIONS, MV_AUDIT_FAIL, path, remedy,
		                  "%llu of the repository's %llu files and directories are open to "
		                  "other users (e.g. '%s' has mode %04o): they can copy the key "
		                  "slots to attack the password offline, or damage the backup",
		                  (unsigned long long)p.bad, (unsigned long long)p.entries,
		                  p.example, p.example_mode);
	} else {
		rc = mv_audit_add(r, MV_AUDIT_PERMISSIONS, MV_AUDIT_OK, path, NULL,
		                  "the repository's %llu files and directories are accessible to "
		                  "their owner only",
		                  (unsigned long long)p.entries);
	}
	if (rc == 0 && p.unreadable > 0)
		rc = mv_audit_add(r, MV_AUDIT_PERMISSIONS, MV_AUDIT_WARN, path,
		                  "run the audit as the user that runs the backups",
		                  "%llu entries of the repository could not be examined",
		                  (unsigned long long)p.unreadable);
out:
	while (p.n > 0)
		free(p.stack[--p.n].path);
	free(p.stack);
	free(remedy);
	if (rc != 0)
		return mv_error_set(err, rc, 0, "%s", mv_strerror(rc));
	return 0;
}

int mv_audit_secret_file(struct mv_audit_report *r, const char *path)
{
	static const char remedy[] =
	    "run 'chmod 600' on it (and keep it on the machine's own disk, owned by the user "
	    "that runs the backups); better: a password command reading a system keyring";
	struct stat st;
	char ebuf[128];
	unsigned mode;

	if (stat(path, &st) != 0)
		return mv_audit_add(r, MV_AUDIT_PASSWORD_FILE, MV_AUDIT_WARN, path, NULL,
		                    "cannot examine the password file: %s",
		                    mv_errno_str(errno, ebuf, sizeof(ebuf)));
	mode = (unsigned)(st.st_mode & 07777);
	if (st.st_mode & (S_IRGRP | S_IROTH))
		return mv_audit_add(r, MV_AUDIT_PASSWORD_FILE, MV_AUDIT_FAIL, path, remedy,
		                    "the password file can be read by other users (mode %04o): "
		                    "whoever reads it can decrypt every backup (medvault refuses "
		                    "to use it)",
		                    mode);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return mv_audit_add(r, MV_AUDIT_PASSWORD_FILE, MV_AUDIT_WARN, path, remedy,
		                    "the password file can be changed by other users (mode %04o)",
		                    mode);
	return mv_audit_add(r, MV_AUDIT_PASSWORD_FILE, MV_AUDIT_OK, path, NULL,
	                    "the password file is readable by its owner only (mode %04o)", mode);
}

/* "3 days 4 hours", "5 hours 2 minutes", "12 minutes" */
static void fmt_age(int64_t s, char *out, size_t cap)
{
	int64_t d, h, m;

	if (s < 0)
		s = 0;
	d = s / 86400;
	h = s / 3600 % 24;
	m = s / 60 % 60;
	if (d > 0)
		snprintf(out, cap, "%lld day%s %lld hour%s", (long long)d, d == 1 ? "" : "s",
		         (long long)h, h == 1 ? "" : "s");
	else if (h > 0)
		snprintf(out, cap, "%lld hour%s %lld minute%s", (long long)h, h == 1 ? "" : "s",
		         (long long)m, m == 1 ? "" : "s");
	else
		snprintf(out, cap, "%lld minute%s", (long long)m, m == 1 ? "" : "s");
}

/* "2024-05-01 02:00 UTC" */
static void fmt_utc(int64_t s, char *out, size_t cap)
{
	time_t t = (time_t)s;
	struct tm tm;

	if (!gmtime_r(&t, &tm) || strftime(out, cap, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		snprintf(out, cap, "(invalid time)");
}

int mv_audit_last_backup(struct mv_audit_report *r, const char *subject, int has_snapshot,
                         int64_t latest_ns, int64_t now_ns, uint64_t max_age_s)
{
	static const char remedy[] =
	    "run 'medvault backup' every night (a systemd timer or cron job), watch its exit "
	    "code, and keep the backup disk connected or the remote host reachable";
	char age[64], when[64];
	int64_t s = latest_ns / 1000000000, age_s = (now_ns - latest_ns) / 1000000000;

	if (!has_snapshot)
		return mv_audit_add(r, MV_AUDIT_LAST_BACKUP, MV_AUDIT_WARN, subject, remedy,
		                    "the repository holds no snapshot: nothing has been backed up");
	fmt_age(age_s, age, sizeof(age));
	fmt_utc(s, when, sizeof(when));
	if (age_s >= 0 && (uint64_t)age_s > max_age_s)
		return mv_audit_add(r, MV_AUDIT_LAST_BACKUP, MV_AUDIT_WARN, subject, remedy,
		                    "the last backup is %s old (%s), more than %llu hours", age,
		                    when, (unsigned long long)(max_age_s / 3600));
	return mv_audit_add(r, MV_AUDIT_LAST_BACKUP, MV_AUDIT_OK, subject, NULL,
	                    "the last backup is %s old (%s)", age, when);
}

int mv_audit_last_check(struct mv_audit_report *r, const char *subject, const char *state_path,
                        const uint8_t repo_id[32], int64_t now_s, uint64_t max_age_s,
                        struct mv_error *err)
{
	static const char remedy[] =
	    "run 'medvault check' regularly, e.g. weekly from the nightly job, with "
	    "--read-data-subset to read a part of the data each time";
	char age[64], when[64], rd[160];
	int64_t last = -1, last_rd = -1;
	struct mv_error e = {0};
	uint64_t days = max_age_s / 86400;
	int rc;

	rc = mv_checkstate_lookup(state_path, repo_id, &last, &last_rd, &e);
	if (rc == MV_ERR_NOMEM)
		return mv_error_set(err, rc, 0, "out of memory");
	if (rc != 0)
		return mv_audit_add(r, MV_AUDIT_LAST_CHECK, MV_AUDIT_WARN, subject, NULL,
		                    "cannot read the record of checks: %s", e.msg);
	if (last < 0)
		return mv_audit_add(r, MV_AUDIT_LAST_CHECK, MV_AUDIT_WARN, subject, remedy,
		                    "no successful 'medvault check' of this repository is recorded "
		                    "on this machine (in '%s')",
		                    state_path);
	fmt_age(now_s - last, age, sizeof(age));
	fmt_utc(last, when, sizeof(when));
	if (last_rd < 0) {
		snprintf(rd, sizeof(rd), "; the whole data was never read back (--read-data)");
	} else {
		char a2[64];
		fmt_age(now_s - last_rd, a2, sizeof(a2));
		snprintf(rd, sizeof(rd), "; the whole data was last read back %s ago", a2);
	}
	if (now_s - last > 0 && (uint64_t)(now_s - last) > max_age_s)
		return mv_audit_add(r, MV_AUDIT_LAST_CHECK, MV_AUDIT_WARN, subject, remedy,
		                    "the last successful check is %s old (%s), more than %llu "
		                    "days%s",
		                    age, when, (unsigned long long)days, rd);
	return mv_audit_add(r, MV_AUDIT_LAST_CHECK, MV_AUDIT_OK, subject, NULL,
	                    "the last successful check is %s old (%s)%s", age, when, rd);
}
