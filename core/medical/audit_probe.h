/* audit's network probe: which listening TCP sockets of this machine are
 * DICOM services or Orthanc's HTTP server, told by what they answer rather
 * than by their port number (formats/netprobe.h has the bytes).
 *
 * Each socket is probed from this machine: a socket on a wildcard address
 * (0.0.0.0, ::) at an address of this machine that is not loopback when
 * there is one (so that a service that serves local clients only, as
 * Orthanc without RemoteAccessAllowed, answers as to another computer),
 * else at the loopback address; any other socket at its own address. First an HTTP "GET /system"
 * (Orthanc's REST API, which also tells whether it asks for a password); when the answer is not
 * HTTP at all, a DICOM A-ASSOCIATE-RQ for the Verification SOP class on a fresh connection (an
 * accepted association is aborted at once). Every probe is bounded: non-blocking sockets, a
 * deadline per probe (connect, send and read together), at most MV_PROBE_ANSWER_MAX bytes read, a
 * total budget after which no probe starts; up to `parallel` probes at once. Ports of raw printing
 * services (515, 9100-9103) are never written to: bytes sent there may be printed. */
#ifndef MV_AUDIT_PROBE_H
#define MV_AUDIT_PROBE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util/err.h"
#include "formats/netprobe.h"

struct mv_probe_target {
	/* in: the listening socket, as /proc/net lists it */
	int family; /* 4 or 6 */
	uint8_t addr[16];
	uint16_t port;
	/* out */
	int probed; /* 1 when its probes ran (0: skipped, or out of budget) */
	int http;   /* it answered HTTP: hi is filled */
	int dicom;  /* it answered as DICOM: di is filled */
	struct mv_probe_http_info hi;
	struct mv_probe_dicom_info di;
};

struct mv_probe_opts {
	unsigned timeout_ms;           /* per probe; 0: 1000 */
	unsigned budget_ms;            /* in all; 0: 10000 */
	unsigned parallel;             /* probes at once; 0: 32 */
	volatile sig_atomic_t *cancel; /* may be NULL */
};

/* 1 for ports that are never probed (raw printing). */
int mv_probe_port_skipped(uint16_t port);

/* Probes the n targets (o may be NULL). *not_probed (may be NULL) gets the
 * number of targets left unprobed for want of time. Returns 0,
 * MV_ERR_NOMEM, MV_ERR_INTERRUPTED, or MV_ERR_IO (poll failed). A target that cannot be reached is
 * no error: it simply answered nothing. */
int mv_probe_run(struct mv_probe_target *t, size_t n, const struct mv_probe_opts *o,
                 size_t *not_probed) MV_MUST_CHECK;

#endif
