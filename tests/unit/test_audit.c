/* The audit engine (core/audit*.c): the Orthanc configuration scanner on
 * well-formed, commented and hostile text, its findings, the network check
 * on sample /proc text, the DICOM scan, repository permissions and the
 * check state file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/medical/audit.h"
#include "tests/unit/testutil.h"

#define LIT(s) s, sizeof(s) - 1

/* ---- helpers ------------------------------------------------------------ */

static int scan_text(const char *text, struct mv_orthanc_conf *c)
{
	mv_orthanc_conf_init(c);
	return mv_orthanc_conf_scan(text, strlen(text), c);
}

/* The only finding of check `check` whose subject is `subject`. */
static const struct mv_audit_finding *find(const struct mv_audit_report *r, const char *check,
                                           const char *subject)
{
	const struct mv_audit_finding *f = NULL;

	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->items[i].check, check) == 0 &&
		    strcmp(r->items[i].subject, subject) == 0) {
			assert_null(f);
			f = &r->items[i];
		}
	return f;
}

static void make_tmpdir(char *dir, size_t cap)
{
	tu_tmpdir(dir, cap, "mvaudit");
}

/* ---- the Orthanc scanner ------------------------------------------------ */

static const char orthanc_conf[] =
    "/**\n"
    " * Orthanc configuration (excerpt), with comments as Orthanc allows\n"
    " **/\n"
    "{\n"
    "  \"Name\" : \"MyOrthanc\",   // the name\n"
    "  \"HttpPort\" : 8043,\n"
    "  \"DicomPort\" : 4343,\n"
    "  /* \"RemoteAccessAllowed\" : false, in a comment: ignored */\n"
    "  \"RemoteAccessAllowed\" : true,\n"
    "  \"SslEnabled\" : false,\n"
    "  \"Plugins\" : [ \"/usr/share/orthanc/plugins\", { \"AuthenticationEnabled\" : true } ],\n"
    "  \"OrthancPeers\" : { \"AuthenticationEnabled\" : true, \"x\" : [1, 2.5e3, -4, null] },\n"
    "  \"AuthenticationEnabled\" : false,\n"
    "  \"RegisteredUsers\" : {\n"
    "    // \"alice\" : \"alicePassword\"\n"
    "    \"bob\" : \"secret // not a comment\",\n"
    "    \"carol\" : \"x\\\"y\"\n"
    "  },\n"
    "  \"DicomCheckCalledAet\" : false,\n"
    "  \"DicomAlwaysAllowEcho\" : true\n"
    "}\n";

static void test_audit__orthanc_scan_keys(void **state)
{
	struct mv_orthanc_conf c;
	(void)state;

	assert_int_equal(scan_text(orthanc_conf, &c), 0);
	assert_int_equal(c.flags, 0);
	assert_int_equal(c.files, 1);
	assert_int_equal(c.remote_access, MV_ORTHANC_TRUE);
	/* the top-level key, not those of nested objects */
	assert_int_equal(c.authentication, MV_ORTHANC_FALSE);
	assert_int_equal(c.ssl, MV_ORTHANC_FALSE);
	assert_int_equal(c.users, 2);
	assert_int_equal(c.http_port, 8043);
	assert_int_equal(c.dicom_port, 4343);
	assert_int_equal(c.check_called_aet, MV_ORTHANC_FALSE);
	assert_int_equal(c.always_echo, MV_ORTHANC_TRUE);
	assert_int_equal(c.dicom_server, MV_ORTHANC_ABSENT);
}

static void test_audit__orthanc_scan_defaults_and_values(void **state)
{
	struct mv_orthanc_conf c;
	(void)state;

	assert_int_equal(scan_text("{}", &c), 0);
	assert_int_equal(c.remote_access, MV_ORTHANC_ABSENT);
	assert_int_equal(c.authentication, MV_ORTHANC_ABSENT);
	assert_int_equal(c.users, -1);
	assert_int_equal(c.http_port, 0);
	/* not booleans, not ports, not an object of users */
	assert_int_equal(scan_text("{\"RemoteAccessAllowed\":\"true\",\"AuthenticationEnabled\":1,"
	                           "\"HttpPort\":70000,\"DicomPort\":-4,\"RegisteredUsers\":[]}",
	                           &c),
	                 0);
	assert_int_equal(c.remote_access, MV_ORTHANC_OTHER);
	assert_int_equal(c.authentication, MV_ORTHANC_OTHER);
	assert_int_equal(c.http_port, 0);
	assert_int_equal(c.dicom_port, 0);
	assert_int_equal(c.users, -2);
	/* an escaped key is the same key; the last of a repeated key wins */
	assert_int_equal(scan_text("{\"Remote\\u0041ccessAllowed\":true,\"SslEnabled\":true,"
	                           "\"SslEnabled\":false,\"HttpPort\":8042.5,}",
	                           &c),
	                 0);
	assert_int_equal(c.remote_access, MV_ORTHANC_TRUE);
	assert_int_equal(c.ssl, MV_ORTHANC_FALSE);
	assert_int_equal(c.http_port, 0);
	/* keys are case-sensitive, and a longer key is another key */
	assert_int_equal(
	    scan_text("{\"remoteaccessallowed\":true,\"RemoteAccessAllowedX\":true}", &c), 0);
	assert_int_equal(c.remote_access, MV_ORTHANC_ABSENT);
}

static void test_audit__orthanc_scan_merges_files(void **state)
{
	struct mv_orthanc_conf c;
	(void)state;

	mv_orthanc_conf_init(&c);
	assert_int_equal(mv_orthanc_conf_scan(LIT("{\"RemoteAccessAllowed\":true}"), &c), 0);
	assert_int_equal(mv_orthanc_conf_scan(LIT("{\"AuthenticationEnabled\":false}"), &c), 0);
	assert_int_equal(c.files, 2);
	assert_int_equal(c.remote_access, MV_ORTHANC_TRUE);
	assert_int_equal(c.authentication, MV_ORTHANC_FALSE);
}

static void test_audit__orthanc_scan_malformed(void **state)
{
	static const char *const bad[] = {
	    "",
	    "{",
	    "{\"RemoteAccessAllowed\":true",
	    "{\"RemoteAccessAllowed\":true /* unterminated comment }",
	    "{\"RemoteAccessAllowed\":true, \"x\":\"unterminated }",
	    "{\"RemoteAccessAllowed\":true} trailing",
	    "{\"RemoteAccessAllowed\":true,\"a\":tru}",
	    "{\"RemoteAccessAllowed\":true,\"a\":truex}",
	    "{\"RemoteAccessAllowed\":true,\"a\":\"bad \\q escape\"}",
	    "{\"RemoteAccessAllowed\":true,\"a\":\"bad \\u12G4\"}",
	    "{\"RemoteAccessAllowed\":true,\"a\":\"ctl \x01\"}",
	    "{\"RemoteAccessAllowed\":true,\"a\" 1}",
	    "{\"RemoteAccessAllowed\":true,\"a\":[1,2}",
	    "{\"RemoteAccessAllowed\":true,\"a\":{\"b\"]}",
	    "{\"RemoteAccessAllowed\":true,\"a\":-}",
	    "{\"RemoteAccessAllowed\":true,\"a\":1.}",
	    "{\"RemoteAccessAllowed\":true,\"a\":1e}",
	    "{\"RemoteAccessAllowed\":true / \"a\":1}",
	    "{\"RemoteAccessAllowed\":true,,}",
	};
	struct mv_orthanc_conf c;
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(scan_text(bad[i], &c), -1);
		assert_true(c.flags & MV_ORTHANC_F_MALFORMED);
		/* what was read before the error is kept */
		if (i >= 2)
			assert_int_equal(c.remote_access, MV_ORTHANC_TRUE);
	}
	/* a top-level value that is not an object */
	assert_int_equal(scan_text("[{\"RemoteAccessAllowed\":true}]", &c), 0);
	assert_true(c.flags & MV_ORTHANC_F_NOT_OBJECT);
	assert_int_equal(c.remote_access, MV_ORTHANC_ABSENT);
}

static void test_audit__orthanc_scan_depth_limit(void **state)
{
	size_t n = 100000;
	char *deep = malloc(2 * n + 64);
	struct mv_orthanc_conf c;
	size_t o = 0;
	(void)state;

	assert_non_null(deep);
	o += (size_t)snprintf(deep, 64, "{\"RemoteAccessAllowed\":true,\"x\":");
	for (size_t i = 0; i < n; i++)
		deep[o++] = '[';
	for (size_t i = 0; i < n; i++)
		deep[o++] = ']';
	deep[o++] = '}';
	mv_orthanc_conf_init(&c);
	assert_int_equal(mv_orthanc_conf_scan(deep, o, &c), -1);
	assert_true(c.flags & MV_ORTHANC_F_LIMIT);
	assert_int_equal(c.remote_access, MV_ORTHANC_TRUE);
	/* just under the limit is fine */
	o = (size_t)snprintf(deep, 64, "{\"x\":");
	for (size_t i = 0; i < MV_ORTHANC_MAX_DEPTH - 1; i++)
		deep[o++] = '[';
	for (size_t i = 0; i < MV_ORTHANC_MAX_DEPTH - 1; i++)
		deep[o++] = ']';
	deep[o++] = '}';
	mv_orthanc_conf_init(&c);
	assert_int_equal(mv_orthanc_conf_scan(deep, o, &c), 0);
	free(deep);
}

/* Random and mutated input: never reads out of bounds (ASan) and always
 * answers 0 or -1 with a flag. */
static void test_audit__orthanc_scan_hostile(void **state)
{
	static const char alphabet[] = "{}[]:,\"\\/*tfn0123456789.-eE \n\tuaA";
	uint32_t x = 12345;
	char buf[256];
	struct mv_orthanc_conf c;
	(void)state;

	for (int round = 0; round < 20000; round++) {
		size_t len = 0, n;
		x = x * 1103515245u + 12345u;
		n = (x >> 16) % sizeof(buf);
		if (round % 2 == 0) { /* a mutated real configuration */
			n = n < sizeof(orthanc_conf) - 1 ? n : sizeof(orthanc_conf) - 1;
			memcpy(buf, orthanc_conf, n);
			x = x * 1103515245u + 12345u;
			if (n > 0)
				buf[(x >> 16) % n] = alphabet[(x >> 8) % (sizeof(alphabet) - 1)];
			len = n;
		} else {
			for (; len < n; len++) {
				x = x * 1103515245u + 12345u;
				buf[len] = alphabet[(x >> 16) % (sizeof(alphabet) - 1)];
			}
		}
		/* exactly len bytes in a heap block of that size: ASan sees overreads */
		char *p = malloc(len ? len : 1);
		assert_non_null(p);
		memcpy(p, buf, len);
		mv_orthanc_conf_init(&c);
		int rc = mv_orthanc_conf_scan(p, len, &c);
		assert_true(rc == 0 || rc == -1);
		if (rc == -1)
			assert_true(c.flags & (MV_ORTHANC_F_MALFORMED | MV_ORTHANC_F_LIMIT));
		free(p);
	}
}

/* ---- Orthanc findings --------------------------------------------------- */

static enum mv_audit_status http_status(const char *text)
{
	struct mv_audit_report r;
	struct mv_orthanc_conf c;
	enum mv_audit_status st;
	const struct mv_audit_finding *f;

	scan_text(text, &c);
	mv_audit_report_init(&r);
	assert_int_equal(mv_audit_orthanc_findings(&r, "/etc/orthanc/orthanc.json", &c), 0);
	f = find(&r, MV_AUDIT_ORTHANC, "/etc/orthanc/orthanc.json");
	assert_non_null(f);
	st = f->status;
	if (st != MV_AUDIT_OK)
		assert_true(f->remedy[0] != '\0');
	/* the DICOM server's finding is informational */
	f = find(&r, MV_AUDIT_ORTHANC, "/etc/orthanc/orthanc.json (DICOM server)");
	assert_non_null(f);
	assert_int_equal(f->status, MV_AUDIT_OK);
	mv_audit_report_release(&r);
	return st;
}

static void test_audit__orthanc_findings(void **state)
{
	struct mv_audit_report r;
	struct mv_orthanc_conf c;
	(void)state;

	/* the surgeon's case */
	assert_int_equal(
	    http_status("{\"RemoteAccessAllowed\":true,\"AuthenticationEnabled\":false}"),
	    MV_AUDIT_FAIL);
	assert_int_equal(http_status(orthanc_conf), MV_AUDIT_FAIL);
	/* remote, authentication not set, no user: open or default user */
	assert_int_equal(http_status("{\"RemoteAccessAllowed\":true}"), MV_AUDIT_FAIL);
	/* remote, authentication not set, users: depends on the version */
	assert_int_equal(
	    http_status("{\"RemoteAccessAllowed\":true,\"RegisteredUsers\":{\"a\":\"b\"}}"),
	    MV_AUDIT_WARN);
	/* authentication on but no user: the default user orthanc/orthanc */
	assert_int_equal(http_status("{\"RemoteAccessAllowed\":true,\"AuthenticationEnabled\":true,"
	                             "\"RegisteredUsers\":{}}"),
	                 MV_AUDIT_FAIL);
	/* users, no TLS */
	assert_int_equal(http_status("{\"RemoteAccessAllowed\":true,\"AuthenticationEnabled\":true,"
	                             "\"RegisteredUsers\":{\"a\":\"b\"}}"),
	                 MV_AUDIT_WARN);
	/* users and TLS */
	assert_int_equal(http_status("{\"RemoteAccessAllowed\":true,\"AuthenticationEnabled\":true,"
	                             "\"SslEnabled\":true,\"RegisteredUsers\":{\"a\":\"b\"}}"),
	                 MV_AUDIT_OK);
	/* local only, whatever the rest */
	assert_int_equal(
	    http_status("{\"RemoteAccessAllowed\":false,\"AuthenticationEnabled\":false}"),
	    MV_AUDIT_OK);
	assert_int_equal(http_status("{}"), MV_AUDIT_OK);
	/* a malformed file adds a warning before the rest */
	scan_text("{\"RemoteAccessAllowed\":false,", &c);
	mv_audit_report_init(&r);
	assert_int_equal(mv_audit_orthanc_findings(&r, "f.json", &c), 0);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.items[0].status, MV_AUDIT_WARN);
	assert_int_equal(r.items[1].status, MV_AUDIT_OK);
	assert_int_equal(mv_audit_worst(&r), MV_AUDIT_WARN);
	mv_audit_report_release(&r);
}

static void test_audit__orthanc_files(void **state)
{
	struct mv_audit_report r;
	struct mv_orthanc_conf c;
	struct mv_error err = {0};
	char dir[64], path[128];
	int found;
	(void)state;

	make_tmpdir(dir, sizeof(dir));
	/* a configuration directory: its *.json files merge in name order */
	snprintf(path, sizeof(path), "%s/a.json", dir);
	tu_write_file(path, LIT("{\"RemoteAccessAllowed\":true}"), 0644);
	snprintf(path, sizeof(path), "%s/b.json", dir);
	tu_write_file(path, LIT("// b\n{\"AuthenticationEnabled\":false,\"HttpPort\":9042}"), 0644);
	snprintf(path, sizeof(path), "%s/c.txt", dir);
	tu_write_file(path, LIT("{\"AuthenticationEnabled\":true}"), 0644);
	mv_audit_report_init(&r);
	assert_int_equal(mv_audit_orthanc(&r, dir, 1, &c, &found, &err), 0);
	assert_int_equal(found, 1);
	assert_int_equal(c.files, 2);
	assert_int_equal(c.http_port, 9042);
	assert_int_equal(find(&r, MV_AUDIT_ORTHANC, dir)->status, MV_AUDIT_FAIL);
	assert_non_null(strstr(find(&r, MV_AUDIT_ORTHANC, dir)->message, "9042"));
	mv_audit_report_release(&r);
	/* missing: nothing when looked for by default, a warning when named */
	snprintf(path, sizeof(path), "%s/none.json", dir);
	mv_audit_report_init(&r);
	assert_int_equal(mv_audit_orthanc(&r, path, 0, &c, &found, &err), 0);
	assert_int_equal(found, 0);
	assert_int_equal(r.n, 0);
	assert_int_equal(mv_audit_orthanc(&r, path, 1, &c, &found, &err), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.items[0].status, MV_AUDIT_WARN);
	mv_audit_report_release(&r);
	tu_rm_rf(dir);
}

/* ---- the network check -------------------------------------------------- */

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
static const char net4[] =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
    "timeout inode\n"
    "   0: 00000000:2B68 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 11 1\n"
    "   1: 0100007F:1092 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 12 1\n"
    "   2: 0A01A8C0:1F6A 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 13 1\n"
    "   3: 0A01A8C0:0068 0B01A8C0:C350 01 00000000:00000000 00:00000000 00000000 0 0 14 1\n"
    "   4: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 15 1\n"
    "   5: 00000000:270F 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 16 1\n"
    "   6: 00000000:2B68 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 17 1\n";
static const char net6[] =
    "  sl  local_address                         remote_address                        st "
    "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    "   0: 00000000000000000000000000000000:0ACA 00000000000000000000000000000000:0000 0A "
    "00000000:00000000 00:00000000 00000000 0 0 21 1\n"
    "   1: 00000000000000000000000001000000:0068 00000000000000000000000000000000:0000 0A "
    "00000000:00000000 00:00000000 00000000 0 0 22 1\n";

static void test_audit__network_text(void **state)
{
	static const struct mv_audit_port extra[] = {{9999, "Orthanc HTTP (HttpPort)", 0},
	                                             {104, "duplicate", 0}};
	struct mv_audit_net_opts o = {.extra = extra, .nextra = 2};
	struct mv_audit_report r;
	struct mv_error err = {0};
	(void)state;

	mv_audit_report_init(&r);
	assert_int_equal(mv_audit_network_text(&r, LIT(net4), LIT(net6), &o, &err), 0);
	/* 11112 on 0.0.0.0 (twice: SO_REUSEPORT, reported once), 4242 on
	 * loopback, 8042 on a LAN address, 9999 (extra) on 0.0.0.0, 2762 on
	 * ::, 104 on ::1; 104 established and 22 are not reported */
	assert_int_equal(r.n, 6);
	assert_int_equal(find(&r, MV_AUDIT_NETWORK, "0.0.0.0:11112")->status, MV_AUDIT_FAIL);
	assert_non_null(strstr(find(&r, MV_AUDIT_NETWORK, "0.0.0.0:11112")->remedy, "127.0.0.1"));
	assert_int_equal(find(&r, MV_AUDIT_NETWORK, "127.0.0.1:4242")->status, MV_AUDIT_OK);
	assert_int_equal(find(&r, MV_AUDIT_NETWORK, "192.168.1.10:8042")->status, MV_AUDIT_FAIL);
	assert_int_equal(find(&r, MV_AUDIT_NETWORK, "0.0.0.0:9999")->status, MV_AUDIT_FAIL);
	assert_non_null(strstr(find(&r, MV_AUDIT_NETWORK, "0.0.0.0:9999")->message, "HttpPort"));
	/* DICOM over TLS: a warning, saying it is TLS */
	assert_int_equal(find(&r, MV_AUDIT_NETWORK, "[::]:2762")->status, MV_AUDIT_WARN);
	assert_non_null(strstr(find(&r, MV_AUDIT_NETWORK, "[::]:2762")->message, "TLS"));
	assert_int_equal(find(&r, MV_AUDIT_NETWORK, "[::1]:104")->status, MV_AUDIT_OK);
	assert_null(find(&r, MV_AUDIT_NETWORK, "192.168.1.10:104"));
	mv_audit_report_release(&r);

	/* nothing listening: one OK finding naming the ports */
	mv_audit_report_init(&r);
	assert_int_equal(
	    mv_audit_network_text(&r, LIT("  sl  local_address\n"), NULL, 0, NULL, &err), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.items[0].status, MV_AUDIT_OK);
	assert_non_null(strstr(r.items[0].subject, "11112"));
	mv_audit_report_release(&r);

	/* an unreadable line: a warning (a listener may have been missed) */
	mv_audit_report_init(&r);
	assert_int_equal(mv_audit_network_text(&r, LIT("   0: garbage\n"), NULL, 0, NULL, &err), 0);
	assert_int_equal(mv_audit_worst(&r), MV_AUDIT_WARN);
	mv_audit_report_release(&r);
}
#endif

static void test_audit__network_missing_file(void **state)
{
	struct mv_audit_net_opts o = {.tcp_path = "/nonexistent/tcp",
	                              .tcp6_path = "/nonexistent/tcp6"};
	struct mv_audit_report r;
	struct mv_error err = {0};
	(void)state;

	mv_audit_report_init(&r);
	assert_int_equal(mv_audit_network(&r, &o, &err), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.items[0].status, MV_AUDIT_WARN);
	assert_string_equal(r.items[0].subject, "/nonexistent/tcp");
	mv_audit_report_release(&r);
}

/* ---- the DICOM scan ----------------------------------------------------- */

struct dcm {
	uint8_t p[1024];
	size_t len;
};

static void dcm_elem(struct dcm *d, uint16_t g, uint16_t e, const char *vr, const char *v)
{
	size_t n = strlen(v), pad = n % 2;
	uint8_t h[8] = {(uint8_t)g,         (uint8_t)(g >> 8),        (uint8_t)e,
	                (uint8_t)(e >> 8),  (uint8_t)vr[0],           (uint8_t)vr[1],
	                (uint8_t)(n + pad), (uint8_t)((n + pad) >> 8)};

	memcpy(d->p + d->len, h, 8);
	memcpy(d->p + d->len + 8, v, n);
	if (pad)
		d->p[d->len + 8 + n] = strcmp(vr, "UI") == 0 ? 0 : ' ';
	d->len += 8 + n + pad;
}

/* A small Part 10 file: preamble, meta group, patient and study. */
static void dcm_make(struct dcm *d, const char *patient_id, const char *study_uid)
{
	struct dcm meta = {{0}, 0};

	dcm_elem(&meta, 0x0002, 0x0010, "UI", "1.2.840.10008.1.2.1");
	memset(d, 0, sizeof(*d));
	memcpy(d->p + 128, "DICM", 4);
	d->len = 132;
	uint8_t gl[12] = {0x02, 0, 0, 0, 'U', 'L', 4, 0, (uint8_t)meta.len, 0, 0, 0};
	memcpy(d->p + d->len, gl, 12);
	d->len += 12;
	memcpy(d->p + d->len, meta.p, meta.len);
	d->len += meta.len;
	dcm_elem(d, 0x0010, 0x0010, "PN", "DUPONT^MARIE");
	dcm_elem(d, 0x0010, 0x0020, "LO", patient_id);
	dcm_elem(d, 0x0020, 0x000d, "UI", study_uid);
}

static void test_audit__scan_counts(void **state)
{
	struct mv_audit_scan_result res;
	struct mv_audit_report r;
	struct mv_error err = {0};
	char dir[64], path[256], outside[64];
	struct dcm d;
	(void)state;

	make_tmpdir(dir, sizeof(dir));
	make_tmpdir(outside, sizeof(outside));
	snprintf(path, sizeof(path), "%s/sub", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/sub/deeper", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	/* patient P1: two studies; patient P2: one study (same as P1's first) */
	dcm_make(&d, "P1", "1.2.3.1");
	snprintf(path, sizeof(path), "%s/a.dcm", dir);
	tu_write_file(path, d.p, d.len, 0644);
	dcm_make(&d, "P1", "1.2.3.2");
	snprintf(path, sizeof(path), "%s/sub/b", dir);
	tu_write_file(path, d.p, d.len, 0644);
	dcm_make(&d, "P2", "1.2.3.1");
	snprintf(path, sizeof(path), "%s/sub/deeper/c.dcm", dir);
	tu_write_file(path, d.p, d.len, 0644);
	snprintf(path, sizeof(path), "%s/notes.txt", dir);
	tu_write_file(path, LIT("not an image\n"), 0644);
	/* a symbolic link to a DICOM file elsewhere is not followed */
	dcm_make(&d, "P3", "1.2.3.3");
	snprintf(path, sizeof(path), "%s/x.dcm", outside);
	tu_write_file(path, d.p, d.len, 0644);
	char link[256];
	snprintf(link, sizeof(link), "%s/link.dcm", dir);
	assert_int_equal(symlink(path, link), 0);
	snprintf(link, sizeof(link), "%s/linkdir", dir);
	assert_int_equal(symlink(outside, link), 0);

	mv_audit_report_init(&r);
	assert_int_equal(mv_audit_scan(&r, dir, NULL, &res, &err), 0);
	assert_int_equal(res.files, 4);
	assert_int_equal(res.instances, 3);
	assert_int_equal(res.patients, 2);
	assert_int_equal(res.studies, 2);
	assert_int_equal(res.bytes, 3 * d.len);
	assert_int_equal(res.unreadable, 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.items[0].check, MV_AUDIT_SCAN);
	assert_string_equal(r.items[0].subject, dir);
	assert_true(r.items[0].status == MV_AUDIT_FAIL || r.items[0].status == MV_AUDIT_WARN);
	assert_non_null(strstr(r.items[0].message, "3 DICOM files of 2 patients"));
	assert_true(r.items[0].remedy[0] != '\0');
	/* plain copies: the advice names the wipe command as it exists */
	if (r.items[0].status == MV_AUDIT_FAIL)
		assert_non_null(
		    strstr(r.items[0].remedy, "'medvault wipe -r REPO --snapshot latest PATH'"));
	mv_audit_report_release(&r);

	/* a single file named directly */
	mv_audit_report_init(&r);
	assert_int_equal(mv_audit_scan(&r, path, NULL, &res, &err), 0);
	assert_int_equal(res.instances, 1);
	assert_int_equal(res.patients, 1);
	mv_audit_report_release(&r);

	/* no DICOM: OK */
	snprintf(link, sizeof(link), "%s/sub/deeper/c.dcm", dir);
	assert_int_equal(unlink(link), 0);
	snprintf(path, sizeof(path), "%s/sub/deeper", dir);
	mv_audit_report_init(&r);
	assert_int_equal(mv_audit_scan(&r, path, NULL, &res, &err), 0);
	assert_int_equal(res.instances, 0);
	assert_int_equal(r.items[0].status, MV_AUDIT_OK);
	mv_audit_report_release(&r);

	/* a missing path: a warning */
	mv_audit_report_init(&r);
	assert_int_equal(mv_audit_scan(&r, "/nonexistent/mv", NULL, &res, &err), 0);
	assert_int_equal(r.items[0].status, MV_AUDIT_WARN);
	mv_audit_report_release(&r);
	tu_rm_rf(dir);
	tu_rm_rf(outside);
}

/* ---- the repository ----------------------------------------------------- */

static void test_audit__repo_permissions(void **state)
{
	struct mv_audit_report r;
	struct mv_error err = {0};
	char dir[64], path[128];
	(void)state;

	make_tmpdir(dir, sizeof(dir)); /* mkdtemp: 0700 */
	snprintf(path, sizeof(path), "%s/data", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/data/pack", dir);
	tu_write_file(path, LIT("x"), 0600);
	snprintf(path, sizeof(path), "%s/config", dir);
	tu_write_file(path, LIT("x"), 0600);
	mv_audit_report_init(&r);
	assert_int_equal(mv_audit_repo_permissions(&r, dir, NULL, &err), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.items[0].status, MV_AUDIT_OK);
	assert_non_null(strstr(r.items[0].message, "4 files and directories"));
	mv_audit_report_release(&r);
	/* one file readable by the group, deep inside */
	snprintf(path, sizeof(path), "%s/data/pack", dir);
	assert_int_equal(chmod(path, 0640), 0);
	mv_audit_report_init(&r);
	assert_int_equal(mv_audit_repo_permissions(&r, dir, NULL, &err), 0);
	assert_int_equal(r.items[0].status, MV_AUDIT_FAIL);
	assert_non_null(strstr(r.items[0].message, "1 of"));
	assert_non_null(strstr(r.items[0].message, "0640"));
	assert_non_null(strstr(r.items[0].remedy, "chmod -R go-rwx"));
	mv_audit_report_release(&r);
	/* the directory itself 0755 */
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(chmod(dir, 0755), 0);
	mv_audit_report_init(&r);
	assert_int_equal(mv_audit_repo_permissions(&r, dir, NULL, &err), 0);
	assert_int_equal(r.items[0].status, MV_AUDIT_FAIL);
	assert_non_null(strstr(r.items[0].message, "0755"));
	mv_audit_report_release(&r);
	tu_rm_rf(dir);
}

static void test_audit__secret_file(void **state)
{
	struct mv_audit_report r;
	char dir[64], path[128];
	(void)state;

	make_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/pw", dir);
	tu_write_file(path, LIT("Correct-Horse-Battery-9\n"), 0600);
	mv_audit_report_init(&r);
	assert_int_equal(mv_audit_secret_file(&r, path), 0);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(mv_audit_secret_file(&r, path), 0);
	assert_int_equal(chmod(path, 0620), 0);
	assert_int_equal(mv_audit_secret_file(&r, path), 0);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.items[0].status, MV_AUDIT_OK);
	assert_int_equal(r.items[1].status, MV_AUDIT_FAIL);
	assert_string_equal(r.items[1].check, MV_AUDIT_PASSWORD_FILE);
	assert_int_equal(r.items[2].status, MV_AUDIT_WARN);
	mv_audit_report_release(&r);
	tu_rm_rf(dir);
}

static void test_audit__last_backup(void **state)
{
	const int64_t h = 3600LL * 1000000000LL, now = 1700000000LL * 1000000000LL;
	struct mv_audit_report r;
	(void)state;

	mv_audit_report_init(&r);
	assert_int_equal(mv_audit_last_backup(&r, "repo", 1, now - 47 * h, now, 48 * 3600), 0);
	assert_int_equal(mv_audit_last_backup(&r, "repo", 1, now - 49 * h, now, 48 * 3600), 0);
	assert_int_equal(mv_audit_last_backup(&r, "repo", 0, 0, now, 48 * 3600), 0);
	assert_int_equal(r.items[0].status, MV_AUDIT_OK);
	assert_int_equal(r.items[1].status, MV_AUDIT_WARN);
	assert_non_null(strstr(r.items[1].message, "2 days 1 hour"));
	assert_int_equal(r.items[2].status, MV_AUDIT_WARN);
	mv_audit_report_release(&r);
}

/* ---- the check state file ----------------------------------------------- */

static void test_audit__checkstate(void **state)
{
	uint8_t a[32], b[32], id[32];
	struct mv_audit_report r;
	struct mv_error err = {0};
	char dir[64], path[160], text[1024];
	int64_t last, last_rd, when;
	int rd, fd;
	ssize_t n;
	(void)state;

	memset(a, 0xab, sizeof(a));
	memset(b, 0x01, sizeof(b));
	make_tmpdir(dir, sizeof(dir));
	/* missing directories are created */
	snprintf(path, sizeof(path), "%s/state/medvault/checks", dir);
	assert_int_equal(mv_checkstate_lookup(path, a, &last, &last_rd, &err), 0);
	assert_int_equal(last, -1);
	assert_int_equal(mv_checkstate_record(path, a, 1000, 0, &err), 0);
	assert_int_equal(mv_checkstate_record(path, b, 2000, 1, &err), 0);
	assert_int_equal(mv_checkstate_record(path, a, 3000, 1, &err), 0);
	assert_int_equal(mv_checkstate_record(path, a, 4000, 0, &err), 0); /* replaces 1000 */
	assert_int_equal(mv_checkstate_lookup(path, a, &last, &last_rd, &err), 0);
	assert_int_equal(last, 4000);
	assert_int_equal(last_rd, 3000);
	assert_int_equal(mv_checkstate_lookup(path, b, &last, &last_rd, &err), 0);
	assert_int_equal(last, 2000);
	assert_int_equal(last_rd, 2000);
	/* the file: one line per repository and kind, mode 0600 */
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	fd = open(path, O_RDONLY);
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	assert_true(n > 0);
	text[n] = '\0';
	assert_string_equal(
	    text, "0101010101010101010101010101010101010101010101010101010101010101 2000 1\n"
	          "abababababababababababababababababababababababababababababababab 3000 1\n"
	          "abababababababababababababababababababababababababababababababab 4000 0\n");
	/* garbage lines are ignored by lookup and dropped by the next write */
	fd = open(path, O_WRONLY | O_APPEND);
	assert_int_equal(write(fd, LIT("garbage\nabab 12 1\n")), 18);
	close(fd);
	assert_int_equal(mv_checkstate_lookup(path, a, &last, &last_rd, &err), 0);
	assert_int_equal(last, 4000);
	assert_int_equal(mv_checkstate_record(path, b, 5000, 1, &err), 0);
	fd = open(path, O_RDONLY);
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	text[n] = '\0';
	assert_null(strstr(text, "garbage"));
	assert_non_null(strstr(text, " 5000 1\n"));
	assert_null(strstr(text, " 2000 1\n"));

	/* the audit finding */
	mv_audit_report_init(&r);
	assert_int_equal(mv_audit_last_check(&r, "repo", path, a, 4000 + 86400, 30 * 86400, &err),
	                 0);
	assert_int_equal(
	    mv_audit_last_check(&r, "repo", path, a, 4000 + 31 * 86400, 30 * 86400, &err), 0);
	memset(id, 0x77, sizeof(id));
	assert_int_equal(mv_audit_last_check(&r, "repo", path, id, 4000, 30 * 86400, &err), 0);
	assert_int_equal(r.items[0].status, MV_AUDIT_OK);
	assert_int_equal(r.items[1].status, MV_AUDIT_WARN);
	assert_int_equal(r.items[2].status, MV_AUDIT_WARN);
	assert_non_null(strstr(r.items[2].message, "no successful"));
	mv_audit_report_release(&r);

	/* line parser */
	assert_int_equal(
	    mv_checkstate_parse_line(LIT("0101010101010101010101010101010101010101010101010"
	                                 "101010101010101 7 0"),
	                             id, &when, &rd),
	    1);
	assert_int_equal(when, 7);
	assert_int_equal(rd, 0);
	assert_int_equal(
	    mv_checkstate_parse_line(LIT("0101010101010101010101010101010101010101010101010"
	                                 "101010101010101 7 2"),
	                             id, &when, &rd),
	    0);
	assert_int_equal(
	    mv_checkstate_parse_line(LIT("0101010101010101010101010101010101010101010101010"
	                                 "101010101010101 -7 1"),
	                             id, &when, &rd),
	    0);
	assert_int_equal(
	    mv_checkstate_parse_line(LIT("0101010101010101010101010101010101010101010101010"
	                                 "101010101010101 99999999999999999999 1"),
	                             id, &when, &rd),
	    0);
	assert_int_equal(
	    mv_checkstate_parse_line(LIT("0101010101010101010101010101010101010101010101010"
	                                 "10101010101010g 7 1"),
	                             id, &when, &rd),
	    0);
	tu_rm_rf(dir);
}

static void test_audit__report(void **state)
{
	struct mv_audit_report r, s;
	(void)state;

	mv_audit_report_init(&r);
	mv_audit_report_init(&s);
	assert_int_equal(mv_audit_worst(&r), MV_AUDIT_OK);
	assert_int_equal(mv_audit_add(&r, MV_AUDIT_SCAN, MV_AUDIT_WARN, "s", NULL, "n=%d", 5), 0);
	assert_int_equal(mv_audit_add(&s, MV_AUDIT_SCAN, MV_AUDIT_FAIL, "t", "do", "x"), 0);
	assert_int_equal(mv_audit_report_move(&r, &s), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.items[0].message, "n=5");
	assert_string_equal(r.items[0].remedy, "");
	assert_string_equal(r.items[1].remedy, "do");
	assert_int_equal(mv_audit_worst(&r), MV_AUDIT_FAIL);
	assert_string_equal(mv_audit_status_name(MV_AUDIT_WARN), "warn");
	for (unsigned i = 2; i < MV_AUDIT_MAX_FINDINGS; i++)
		assert_int_equal(mv_audit_add(&r, MV_AUDIT_SCAN, MV_AUDIT_OK, "s", NULL, "x"), 0);
	assert_int_equal(mv_audit_add(&r, MV_AUDIT_SCAN, MV_AUDIT_OK, "s", NULL, "x"),
	                 MV_ERR_LIMIT);
	mv_audit_report_release(&r);
	mv_audit_report_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_audit__orthanc_scan_keys),
		cmocka_unit_test(test_audit__orthanc_scan_defaults_and_values),
		cmocka_unit_test(test_audit__orthanc_scan_merges_files),
		cmocka_unit_test(test_audit__orthanc_scan_malformed),
		cmocka_unit_test(test_audit__orthanc_scan_depth_limit),
		cmocka_unit_test(test_audit__orthanc_scan_hostile),
		cmocka_unit_test(test_audit__orthanc_findings),
		cmocka_unit_test(test_audit__orthanc_files),
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		cmocka_unit_test(test_audit__network_text),
#endif
		cmocka_unit_test(test_audit__network_missing_file),
		cmocka_unit_test(test_audit__scan_counts),
		cmocka_unit_test(test_audit__repo_permissions),
		cmocka_unit_test(test_audit__secret_file),
		cmocka_unit_test(test_audit__last_backup),
		cmocka_unit_test(test_audit__checkstate),
		cmocka_unit_test(test_audit__report),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
