/* audit's network probe: a poll loop over non-blocking connections; see
 * audit_probe.h. */
#define _GNU_SOURCE
#include "core/medical/audit_probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CALLED_AET  "ANY-SCP"
#define CALLING_AET "MEDVAULT-AUDIT"

enum kind { K_HTTP, K_DICOM };
enum state { S_CONNECTING, S_SENDING, S_READING };

struct conn {
	int fd; /* -1: slot free */
	size_t target;
	enum kind kind;
	enum state state;
	int64_t deadline_ms;
	int connected; /* the connection was made (else nothing listens) */
	uint8_t out[MV_PROBE_DICOM_RQ_MAX];
	size_t out_len, out_off;
	uint8_t in[MV_PROBE_ANSWER_MAX];
	size_t in_len;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int mv_probe_port_skipped(uint16_t port)
{
	return port == 515 || (port >= 9100 && port <= 9103);
}

/* Where a wildcard listener is reached from: an address of this machine
 * that is not loopback (so that a service which tells local clients from
 * remote ones, as Orthanc's RemoteAccessAllowed does, answers as it would
 * to another computer), else the loopback address. */
struct local_addrs {
	struct in_addr v4;
	struct in6_addr v6;
};

static void local_addrs(struct local_addrs *la)
{
	struct ifaddrs *ifa = NULL;
	int have4 = 0, have6 = 0;

	la->v4.s_addr = htonl(INADDR_LOOPBACK);
	la->v6 = in6addr_loopback;
	if (getifaddrs(&ifa) != 0)
		return;
	for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		if (i->ifa_addr->sa_family == AF_INET && !have4) {
			la->v4 = ((const struct sockaddr_in *)i->ifa_addr)->sin_addr;
			have4 = 1;
		} else if (i->ifa_addr->sa_family == AF_INET6 && !have6) {
			const struct in6_addr *a =
			    &((const struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
			if (IN6_IS_ADDR_LINKLOCAL(a) || IN6_IS_ADDR_V4MAPPED(a))
				continue; /* needs a scope id; not what others reach */
			la->v6 = *a;
			have6 = 1;
		}
	}
	freeifaddrs(ifa);
}

/* The address to connect to for a listening socket: its own, or for a
 * wildcard one of la's. */
static socklen_t target_addr(const struct mv_probe_target *t, const struct local_addrs *la,
                             struct sockaddr_storage *ss, char *host, size_t hostcap)
{
	static const uint8_t zero[16] = {0};
	static const uint8_t mapped_any[16] = {0, 0, 0,    0,    0, 0, 0, 0,
	                                       0, 0, 0xff, 0xff, 0, 0, 0, 0};

	memset(ss, 0, sizeof(*ss));
	if (t->family == 4) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;
		a->sin_family = AF_INET;
		a->sin_port = htons(t->port);
		if (memcmp(t->addr, zero, 4) == 0)
			a->sin_addr = la->v4;
		else
			memcpy(&a->sin_addr, t->addr, 4);
		inet_ntop(AF_INET, &a->sin_addr, host, (socklen_t)hostcap);
		return sizeof(*a);
	}
	struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
	a->sin6_family = AF_INET6;
	a->sin6_port = htons(t->port);
	if (memcmp(t->addr, zero, 16) == 0 || memcmp(t->addr, mapped_any, 16) == 0)
		a->sin6_addr = la->v6;
	else
		memcpy(&a->sin6_addr, t->addr, 16);
	inet_ntop(AF_INET6, &a->sin6_addr, host, (socklen_t)hostcap);
	return sizeof(*a);
}

/* Opens a probe connection of `kind` to target i in slot c. Returns 0 when
 * it is under way, -1 when it failed at once (nothing listens any more). */
static int conn_start(struct conn *c, const struct mv_probe_target *t, const struct local_addrs *la,
                      size_t i, enum kind kind, int64_t deadline)
{
	struct sockaddr_storage ss;
	char host[INET6_ADDRSTRLEN];
	socklen_t sl = target_addr(t, la, &ss, host, sizeof(host));
	int fd;

	c->target = i;
	c->kind = kind;
	c->in_len = 0;
	c->out_off = 0;
	c->deadline_ms = deadline;
	c->connected = 0;
	if (kind == K_HTTP)
		c->out_len = mv_probe_http_request((char *)c->out, sizeof(c->out), host, t->port);
	else
		c->out_len =
		    mv_probe_dicom_request(c->out, sizeof(c->out), CALLED_AET, CALLING_AET);
	if (c->out_len == 0)
		return -1;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&ss, sl) == 0) {
		c->state = S_SENDING;
		c->connected = 1;
	} else if (errno == EINPROGRESS) {
		c->state = S_CONNECTING;
	} else {
		close(fd);
		return -1;
	}
	c->fd = fd;
	return 0;
}

/* Decodes what was read. Returns MV_PROBE_YES, _NO or _MORE. */
static int conn_decode(struct conn *c, struct mv_probe_target *t, int final)
{
	if (c->in_len >= sizeof(c->in))
		final = 1;
	if (c->kind == K_HTTP) {
		int r = mv_probe_http_answer(c->in, c->in_len, final, &t->hi);
		t->http = r == MV_PROBE_YES;
		return r;
	}
	int r = mv_probe_dicom_answer(c->in, c->in_len, final, &t->di);
	t->dicom = r == MV_PROBE_YES;
	return r;
}

/* Ends a probe. Returns 1 when the target needs its DICOM probe next. */
static int conn_finish(struct conn *c, struct mv_probe_target *t)
{
	int next = 0;

	if (c->state == S_READING && !t->http && !t->dicom)
		(void)conn_decode(c, t, 1);
	if (c->kind == K_DICOM && t->dicom && t->di.kind == MV_PROBE_DICOM_ACCEPT) {
		uint8_t ab[MV_PROBE_DICOM_ABORT_LEN];
		mv_probe_dicom_abort(ab);
		(void)send(c->fd, ab, sizeof(ab), MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	if (c->kind == K_HTTP && !t->http && c->connected)
		next = 1; /* not HTTP: perhaps DICOM */
	else
		t->probed = 1;
	close(c->fd);
	c->fd = -1;
	return next;
}

/* Moves a connection on after poll said something. Returns 1 when the
 * probe is over. */
static int conn_step(struct conn *c, struct mv_probe_target *t, short rev)
{
	if (c->state == S_CONNECTING) {
		int e = 0;
		socklen_t el = sizeof(e);
		if (!(rev & (POLLOUT | POLLERR | POLLHUP)))
			return 0;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0 || e != 0)
			return 1;
		c->state = S_SENDING;
		c->connected = 1;
	}
	if (c->state == S_SENDING) {
		ssize_t n;
		if (rev & POLLIN) /* it spoke first (a banner): read that */
			c->state = S_READING;
		else if (!(rev & (POLLOUT | POLLERR | POLLHUP)))
			return 0;
		if (c->state == S_SENDING) {
			n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
			         MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return 0;
			if (n <= 0)
				return 1;
			c->out_off += (size_t)n;
			if (c->out_off < c->out_len)
				return 0;
			c->state = S_READING;
			return 0;
		}
	}
	if (!(rev & (POLLIN | POLLERR | POLLHUP)))
		return 0;
	ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		(void)conn_decode(c, t, 1);
		return 1;
	}
	c->in_len += (size_t)n;
	return conn_decode(c, t, 0) != MV_PROBE_MORE;
}

int mv_probe_run(struct mv_probe_target *t, size_t n, const struct mv_probe_opts *o,
                 size_t *not_probed)
{
	unsigned timeout = o && o->timeout_ms ? o->timeout_ms : 1000;
	unsigned budget = o && o->budget_ms ? o->budget_ms : 10000;
	unsigned parallel = o && o->parallel ? o->parallel : 32;
	volatile sig_atomic_t *cancel = o ? o->cancel : NULL;
	int64_t end = now_ms() + budget;
	struct conn *c = NULL;
	struct pollfd *pfd = NULL;
	struct local_addrs la;
	size_t next = 0, active = 0, left = 0;
	int rc = 0;

	if (not_probed)
		*not_probed = 0;
	if (parallel > 256)
		parallel = 256;
	c = calloc(parallel, sizeof(*c));
	pfd = calloc(parallel, sizeof(*pfd));
	if (!c || !pfd) {
		rc = MV_ERR_NOMEM;
		goto out;
	}
	for (unsigned k = 0; k < parallel; k++)
		c[k].fd = -1;
	local_addrs(&la);
	for (;;) {
		int64_t now = now_ms(), wait;
		if (cancel && *cancel) {
			rc = MV_ERR_INTERRUPTED;
			break;
		}
		/* start new probes in the free slots */
		for (unsigned k = 0; k < parallel && next < n && now < end; k++) {
			if (c[k].fd >= 0)
				continue;
			while (next < n) {
				size_t i = next++;
				if (mv_probe_port_skipped(t[i].port))
					continue;
				if (conn_start(&c[k], &t[i], &la, i, K_HTTP,
				               now + timeout < end ? now + timeout : end) == 0) {
					active++;
					break;
				}
				t[i].probed = 1; /* refused at once: nothing answers */
			}
		}
		if (active == 0 && (next >= n || now >= end))
			break;
		wait = end - now;
		for (unsigned k = 0; k < parallel; k++) {
			pfd[k].fd = c[k].fd;
			pfd[k].events = 0;
			pfd[k].revents = 0;
			if (c[k].fd < 0)
				continue;
			pfd[k].events = c[k].state == S_READING ? POLLIN : POLLOUT | POLLIN;
			if (c[k].deadline_ms - now < wait)
				wait = c[k].deadline_ms - now;
		}
		if (wait < 0)
			wait = 0;
		if (wait > 200)
			wait = 200; /* look at cancel now and then */
		if (poll(pfd, parallel, (int)wait) < 0 && errno != EINTR) {
			rc = MV_ERR_IO;
			break;
		}
		now = now_ms();
		for (unsigned k = 0; k < parallel; k++) {
			struct mv_probe_target *tt;
			if (c[k].fd < 0)
				continue;
			tt = &t[c[k].target];
			if (!conn_step(&c[k], tt, pfd[k].revents) && now < c[k].deadline_ms)
				continue;
			active--;
			if (!conn_finish(&c[k], tt))
				continue; /* done */
			if (now >= end)
				continue; /* out of time: counted as not probed */
			if (conn_start(&c[k], tt, &la, c[k].target, K_DICOM,
			               now + timeout < end ? now + timeout : end) == 0)
				active++;
			else
				tt->probed = 1;
		}
	}
out:
	for (unsigned k = 0; c && k < parallel; k++)
		if (c[k].fd >= 0)
			close(c[k].fd);
	for (size_t i = 0; i < n; i++)
		left += !t[i].probed && !mv_probe_port_skipped(t[i].port);
	if (not_probed)
		*not_probed = left;
	free(c);
	free(pfd);
	return rc;
}
