/* audit's network probe engine (core/medical/audit_probe.c) against listeners of
 * the test's own on 127.0.0.1: an Orthanc-like HTTP server asking for a
 * password, a DICOM service accepting the association (and receiving the
 * abort), a listener that never answers (bounded by the timeout), a closed
 * port, the total budget, the printing ports never written to. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/medical/audit_probe.h"

/* A listener on 127.0.0.1 (port chosen by the kernel). */
static int listen_local(uint16_t *port)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static void target_local(struct mv_probe_target *t, uint16_t port)
{
	memset(t, 0, sizeof(*t));
	t->family = 4;
	t->addr[0] = 127, t->addr[3] = 1;
	t->port = port;
}

static int64_t ms_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A server thread: answers each connection by what it receives. */
struct server {
	int fd;
	int dicom; /* answer association requests with an AC (else RJ) */
	int connections;
	int got_abort; /* an A-ABORT came after the AC */
};

static const uint8_t ac_pdu[] = {0x02, 0,   0,    0,   0,    0x44 + 8 + 4,
                                 0,    1,   0,    0,   'A',  'N',
                                 'Y',  '-', 'S',  'C', 'P',  ' ',
                                 ' ',  ' ', ' ',  ' ', ' ',  ' ',
                                 ' ',  ' ', 'M',  'E', 'D',  'V',
                                 'A',  'U', 'L',  'T', '-',  'A',
                                 'U',  'D', 'I',  'T', ' ',  ' ',
                                 0,    0,   0,    0,   0,    0,
                                 0,    0,   0,    0,   0,    0,
                                 0,    0,   0,    0,   0,    0,
                                 0,    0,   0,    0,   0,    0,
                                 0,    0,   0,    0,   0,    0,
                                 0,    0,   0x21, 0,   0,    8,
                                 1,    0,   0,    0,   0x40, 0,
                                 0,    0};
static const char http_401[] = "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic "
                               "realm=\"Orthanc Secure Area\"\r\nContent-Length: 0\r\n\r\n";

static void *serve(void *arg)
{
	struct server *s = arg;

	for (;;) {
		uint8_t buf[1024];
		ssize_t n;
		int c = accept(s->fd, NULL, NULL);
		if (c < 0)
			return NULL; /* the listener was shut down */
		s->connections++;
		n = recv(c, buf, sizeof(buf), 0);
		if (n >= 4 && memcmp(buf, "GET ", 4) == 0) {
			if (!s->dicom)
				(void)send(c, http_401, sizeof(http_401) - 1, MSG_NOSIGNAL);
			else
				(void)send(c, "\x07\x00", 2,
				           MSG_NOSIGNAL); /* nonsense, then close */
		} else if (n >= 6 && buf[0] == 0x01) {
			if (s->dicom) {
				(void)send(c, ac_pdu, sizeof(ac_pdu), MSG_NOSIGNAL);
				n = recv(c, buf, sizeof(buf), 0);
				s->got_abort = n >= 10 && buf[0] == 0x07;
			} else {
				(void)send(c, "\x03\x00\x00\x00\x00\x04\x00\x01\x01\x07", 10,
				           MSG_NOSIGNAL);
			}
		}
		close(c);
	}
}

static void run_server(struct server *s, int dicom, uint16_t *port, pthread_t *th)
{
	memset(s, 0, sizeof(*s));
	s->fd = listen_local(port);
	s->dicom = dicom;
	assert_int_equal(pthread_create(th, NULL, serve, s), 0);
}

static void stop_server(struct server *s, pthread_t th)
{
	shutdown(s->fd, SHUT_RDWR);
	pthread_join(th, NULL);
	close(s->fd);
}

/* Probes one local server (HTTP or DICOM) until it is done. */
static void probe_server(int dicom, struct mv_probe_target *t, struct server *s, size_t *left)
{
	struct mv_probe_opts o = {500, 5000, 4, NULL};
	pthread_t th;
	uint16_t port;

	run_server(s, dicom, &port, &th);
	target_local(t, port);
	assert_int_equal(mv_probe_run(t, 1, &o, left), 0);
	stop_server(s, th);
}

static void test_audit_probe__orthanc_with_password(void **state)
{
	struct mv_probe_target t;
	struct server s;
	size_t left = 9;

	(void)state;
	probe_server(0, &t, &s, &left);
	assert_int_equal(left, 0);
	assert_int_equal(t.probed, 1);
	assert_int_equal(t.http, 1);
	assert_int_equal(t.hi.status, 401);
	assert_int_equal(t.hi.orthanc, 1);
	assert_int_equal(t.hi.auth_required, 1);
	assert_int_equal(t.dicom, 0);
	assert_int_equal(s.connections, 1); /* HTTP answered: no DICOM probe */
}

static void test_audit_probe__dicom_accepts_then_aborted(void **state)
{
	struct mv_probe_target t;
	struct server s;

	(void)state;
	probe_server(1, &t, &s, NULL);
	assert_int_equal(t.http, 0);
	assert_int_equal(t.dicom, 1);
	assert_int_equal(t.di.kind, MV_PROBE_DICOM_ACCEPT);
	assert_int_equal(t.di.verification_accepted, 1);
	assert_int_equal(s.connections, 2); /* HTTP first, then DICOM */
	assert_int_equal(s.got_abort, 1);
}

static void test_audit_probe__silent_closed_and_budget(void **state)
{
	struct mv_probe_opts o = {150, 5000, 8, NULL};
	struct mv_probe_target t[6];
	uint16_t port, closed;
	size_t left = 9;
	int64_t t0;
	int silent = listen_local(&port), gone = listen_local(&closed);

	(void)state;
	close(gone); /* nothing listens there any more */
	target_local(&t[0], port);
	target_local(&t[1], closed);
	target_local(&t[2], 9100); /* a printer's port: never touched */
	t0 = ms_now();
	assert_int_equal(mv_probe_run(t, 3, &o, &left), 0);
	assert_true(ms_now() - t0 < 1500); /* HTTP then DICOM: 2 x 150 ms */
	assert_int_equal(left, 0);
	assert_int_equal(t[0].probed, 1);
	assert_int_equal(t[0].http + t[0].dicom, 0);
	assert_int_equal(t[1].probed, 1);
	assert_int_equal(t[1].http + t[1].dicom, 0);
	assert_int_equal(t[2].probed, 0);
	assert_true(mv_probe_port_skipped(9100) && mv_probe_port_skipped(515));
	assert_false(mv_probe_port_skipped(8042));

	/* one at a time, 150 ms each, 400 ms in all: not every one is asked */
	o = (struct mv_probe_opts){150, 400, 1, NULL};
	for (int i = 0; i < 6; i++)
		target_local(&t[i], port);
	t0 = ms_now();
	assert_int_equal(mv_probe_run(t, 6, &o, &left), 0);
	assert_true(ms_now() - t0 < 1500);
	assert_true(left >= 3);
	close(silent);
}

static void test_audit_probe__cancel(void **state)
{
	volatile sig_atomic_t cancel = 1;
	struct mv_probe_opts o = {150, 5000, 8, &cancel};
	struct mv_probe_target t;
	uint16_t port;
	int fd = listen_local(&port);

	(void)state;
	target_local(&t, port);
	assert_int_equal(mv_probe_run(&t, 1, &o, NULL), MV_ERR_INTERRUPTED);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_audit_probe__orthanc_with_password),
	    cmocka_unit_test(test_audit_probe__dicom_accepts_then_aborted),
	    cmocka_unit_test(test_audit_probe__silent_closed_and_budget),
	    cmocka_unit_test(test_audit_probe__cancel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
