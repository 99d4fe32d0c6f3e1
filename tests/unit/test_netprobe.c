/* audit's probe bytes (formats/netprobe.c): the A-ASSOCIATE-RQ as PS3.8
 * lays it out, DICOM answers (accept, reject, abort, cut short, not DICOM),
 * HTTP answers (Orthanc's /system JSON, 401 with Orthanc's realm, other
 * servers, truncated and hostile bytes). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "formats/netprobe.h"

#define LIT(s) (const uint8_t *)(s), (sizeof(s) - 1)

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void test_netprobe__dicom_request_layout(void **state)
{
	uint8_t b[MV_PROBE_DICOM_RQ_MAX];
	size_t n, pos;
	int saw_ctx = 0, saw_app = 0, saw_user = 0;

	(void)state;
	n = mv_probe_dicom_request(b, sizeof(b), "ANY-SCP", "MEDVAULT-AUDIT");
	assert_true(n > 74);
	assert_int_equal(b[0], 0x01);
	assert_int_equal(b[1], 0);
	assert_int_equal(be32(b + 2), n - 6);
	assert_int_equal(b[6] << 8 | b[7], 1); /* protocol version */
	assert_memory_equal(b + 10, "ANY-SCP         ", 16);
	assert_memory_equal(b + 26, "MEDVAULT-AUDIT  ", 16);
	for (size_t i = 42; i < 74; i++)
		assert_int_equal(b[i], 0);
	for (pos = 74; pos + 4 <= n;) {
		size_t len = (size_t)(b[pos + 2] << 8 | b[pos + 3]);
		assert_true(pos + 4 + len <= n);
		if (b[pos] == 0x10) {
			assert_int_equal(len, 21);
			assert_memory_equal(b + pos + 4, "1.2.840.10008.3.1.1.1", 21);
			saw_app = 1;
		} else if (b[pos] == 0x20) {
			assert_int_equal(b[pos + 4], 1); /* context id */
			assert_int_equal(b[pos + 8], 0x30);
			assert_int_equal(b[pos + 11], 17);
			assert_memory_equal(b + pos + 12, "1.2.840.10008.1.1", 17);
			saw_ctx = 1;
		} else if (b[pos] == 0x50) {
			assert_int_equal(b[pos + 4], 0x51);
			saw_user = 1;
		}
		pos += 4 + len;
	}
	assert_int_equal(pos, n);
	assert_true(saw_app && saw_ctx && saw_user);
	/* bad titles, small buffers */
	assert_int_equal(mv_probe_dicom_request(b, sizeof(b), "", "X"), 0);
	assert_int_equal(mv_probe_dicom_request(b, sizeof(b), "SEVENTEEN-CHARS-X", "X"), 0);
	assert_int_equal(mv_probe_dicom_request(b, sizeof(b), "A\\B", "X"), 0);
	assert_int_equal(mv_probe_dicom_request(b, 80, "ANY-SCP", "X"), 0);
}

/* An A-ASSOCIATE-AC as storescp sends it: the fixed part, an application
 * context item, a presentation context item with `result`. */
static size_t make_ac(uint8_t *b, uint8_t result)
{
	static const char app[] = "1.2.840.10008.3.1.1.1";
	static const char ts[] = "1.2.840.10008.1.2";
	size_t n = 0, len;

	memset(b, 0, 256);
	b[0] = 0x02;
	b[6] = 0, b[7] = 1;
	memcpy(b + 10, "ANY-SCP         ", 16);
	memcpy(b + 26, "MEDVAULT-AUDIT  ", 16);
	n = 74;
	b[n] = 0x10, b[n + 3] = sizeof(app) - 1;
	memcpy(b + n + 4, app, sizeof(app) - 1);
	n += 4 + sizeof(app) - 1;
	b[n] = 0x21, b[n + 3] = (uint8_t)(4 + 4 + sizeof(ts) - 1);
	b[n + 4] = 1, b[n + 6] = result;
	b[n + 8] = 0x40, b[n + 11] = sizeof(ts) - 1;
	memcpy(b + n + 12, ts, sizeof(ts) - 1);
	n += 12 + sizeof(ts) - 1;
	len = n - 6;
	b[2] = (uint8_t)(len >> 24), b[3] = (uint8_t)(len >> 16), b[4] = (uint8_t)(len >> 8);
	b[5] = (uint8_t)len;
	return n;
}

static void test_netprobe__dicom_answers(void **state)
{
	struct mv_probe_dicom_info di;
	uint8_t b[256];
	size_t n;

	(void)state;
	n = make_ac(b, 0);
	assert_int_equal(mv_probe_dicom_answer(b, n, 0, &di), MV_PROBE_YES);
	assert_int_equal(di.kind, MV_PROBE_DICOM_ACCEPT);
	assert_int_equal(di.verification_accepted, 1);
	assert_string_equal(di.called_aet, "ANY-SCP");
	/* the context refused (abstract syntax not supported) */
	n = make_ac(b, 3);
	assert_int_equal(mv_probe_dicom_answer(b, n, 0, &di), MV_PROBE_YES);
	assert_int_equal(di.verification_accepted, 0);
	/* byte by byte: more is needed until the PDU is complete */
	for (size_t k = 0; k < n; k++)
		assert_int_equal(mv_probe_dicom_answer(b, k, 0, &di), MV_PROBE_MORE);
	/* cut short and final: the fixed part is enough, not less */
	assert_int_equal(mv_probe_dicom_answer(b, 80, 1, &di), MV_PROBE_YES);
	assert_int_equal(mv_probe_dicom_answer(b, 60, 1, &di), MV_PROBE_NO);
	/* an item length past the end is not followed */
	b[74 + 2] = 0xff;
	assert_int_equal(mv_probe_dicom_answer(b, n, 1, &di), MV_PROBE_YES);
	/* a length below the fixed part, or absurd */
	n = make_ac(b, 0);
	b[2] = b[3] = b[4] = 0, b[5] = 10;
	assert_int_equal(mv_probe_dicom_answer(b, n, 0, &di), MV_PROBE_NO);
	b[2] = 0x7f;
	assert_int_equal(mv_probe_dicom_answer(b, n, 0, &di), MV_PROBE_NO);

	/* A-ASSOCIATE-RJ: rejected-permanent, service-user, called AE title */
	assert_int_equal(mv_probe_dicom_answer(LIT("\x03\x00\x00\x00\x00\x04\x00\x01\x01\x07"), 0, &di),
	                 MV_PROBE_YES);
	assert_int_equal(di.kind, MV_PROBE_DICOM_REJECT);
	assert_int_equal(di.result, 1);
	assert_int_equal(di.source, 1);
	assert_int_equal(di.reason, 7);
	assert_int_equal(mv_probe_dicom_answer(LIT("\x03\x00\x00\x00\x00\x04\x00\x09\x01\x07"), 0, &di),
	                 MV_PROBE_NO); /* no such result */
	assert_int_equal(mv_probe_dicom_answer(LIT("\x03\x00\x00\x00\x00\x05\x00\x01\x01\x07"), 0, &di),
	                 MV_PROBE_NO); /* wrong length */
	/* A-ABORT */
	assert_int_equal(mv_probe_dicom_answer(LIT("\x07\x00\x00\x00\x00\x04\x00\x00\x02\x00"), 0, &di),
	                 MV_PROBE_YES);
	assert_int_equal(di.kind, MV_PROBE_DICOM_ABORT);
	/* not DICOM: HTTP, SSH banners, nothing */
	assert_int_equal(mv_probe_dicom_answer(LIT("HTTP/1.1 400 Bad Request\r\n"), 0, &di),
	                 MV_PROBE_NO);
	assert_int_equal(mv_probe_dicom_answer(LIT("SSH-2.0-OpenSSH_9.2\r\n"), 0, &di), MV_PROBE_NO);
	assert_int_equal(mv_probe_dicom_answer(b, 0, 1, &di), MV_PROBE_NO);
	assert_int_equal(mv_probe_dicom_answer(b, 0, 0, &di), MV_PROBE_MORE);
	assert_int_equal(mv_probe_dicom_answer(LIT("\x02\x01\x00\x00\x00\x44"), 0, &di), MV_PROBE_NO);

	uint8_t ab[MV_PROBE_DICOM_ABORT_LEN];
	mv_probe_dicom_abort(ab);
	assert_int_equal(mv_probe_dicom_answer(ab, sizeof(ab), 1, &di), MV_PROBE_YES);
}

static const char orthanc_open[] =
    "HTTP/1.1 200 OK\r\n"
    "Connection: close\r\n"
    "Content-Type: application/json; charset=utf-8\r\n"
    "Content-Length: 209\r\n"
    "\r\n"
    "{\n   \"ApiVersion\" : 16,\n   \"DatabaseBackendPlugin\" : null,\n"
    "   \"DatabaseVersion\" : 6,\n   \"DicomAet\" : \"CABINET\",\n   \"DicomPort\" : 14242,\n"
    "   \"HttpPort\" : 18042,\n   \"Name\" : \"Dr \\\"M\\\"\",\n   \"Version\" : \"1.10.1\"\n}\n";

static void test_netprobe__http_orthanc(void **state)
{
	struct mv_probe_http_info hi;
	char req[512];
	size_t n, body;

	(void)state;
	n = mv_probe_http_request(req, sizeof(req), "127.0.0.1", 18042);
	assert_true(n > 0);
	assert_int_equal(strlen(req), n);
	assert_non_null(strstr(req, "GET /system HTTP/1.0\r\nHost: 127.0.0.1:18042\r\n"));
	assert_int_equal(memcmp(req + n - 4, "\r\n\r\n", 4), 0);
	assert_true(mv_probe_http_request(req, sizeof(req), "::1", 80) > 0);
	assert_non_null(strstr(req, "Host: [::1]:80\r\n"));
	assert_int_equal(mv_probe_http_request(req, sizeof(req), "a\r\nb", 80), 0);
	assert_int_equal(mv_probe_http_request(req, 20, "127.0.0.1", 80), 0);

	/* the Content-Length above is the body's */
	body = strstr(orthanc_open, "\r\n\r\n") - orthanc_open + 4;
	assert_int_equal(strlen(orthanc_open) - body, 209);
	assert_int_equal(mv_probe_http_answer(LIT(orthanc_open), 0, &hi), MV_PROBE_YES);
	assert_int_equal(hi.status, 200);
	assert_int_equal(hi.orthanc, 1);
	assert_int_equal(hi.auth_required, 0);
	assert_string_equal(hi.dicom_aet, "CABINET");
	assert_string_equal(hi.version, "1.10.1");
	assert_string_equal(hi.name, "Dr \"M\"");
	/* cut anywhere: more is needed, or (final) not Orthanc yet */
	for (size_t k = 0; k < sizeof(orthanc_open) - 1; k++) {
		assert_int_equal(mv_probe_http_answer((const uint8_t *)orthanc_open, k, 0, &hi),
		                 MV_PROBE_MORE);
		(void)mv_probe_http_answer((const uint8_t *)orthanc_open, k, 1, &hi);
	}

	/* authentication asked, realm Orthanc's */
	assert_int_equal(
	    mv_probe_http_answer(LIT("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic "
	                             "realm=\"Orthanc Secure Area\"\r\nContent-Length: 0\r\n\r\n"),
	                         0, &hi),
	    MV_PROBE_YES);
	assert_int_equal(hi.status, 401);
	assert_int_equal(hi.orthanc, 1);
	assert_int_equal(hi.auth_required, 1);
	/* another web server: HTTP, not Orthanc */
	assert_int_equal(mv_probe_http_answer(LIT("HTTP/1.0 404 Not Found\r\nServer: x\r\n\r\n"), 0, &hi),
	                 MV_PROBE_YES);
	assert_int_equal(hi.orthanc, 0);
	assert_int_equal(
	    mv_probe_http_answer(LIT("HTTP/1.0 200 OK\r\nContent-Length: 17\r\n\r\n{\"Version\":\"1.0\"}"),
	                         0, &hi),
	    MV_PROBE_YES);
	assert_int_equal(hi.orthanc, 0); /* a Version alone is not Orthanc */
	assert_int_equal(
	    mv_probe_http_answer(LIT("HTTP/1.0 200 OK\r\n\r\n<html>\"DicomAet\":\"X\",\"Version\":\"1\""), 1,
	                         &hi),
	    MV_PROBE_YES);
	assert_int_equal(hi.orthanc, 0); /* not a JSON object */
	/* not HTTP */
	assert_int_equal(mv_probe_http_answer(LIT("SSH-2.0-OpenSSH_9.2\r\n"), 0, &hi), MV_PROBE_NO);
	assert_int_equal(mv_probe_http_answer(LIT("HTTP/1.1 abc\r\n\r\n"), 0, &hi), MV_PROBE_NO);
	assert_int_equal(mv_probe_http_answer(LIT("\x02\x00\x00\x00"), 0, &hi), MV_PROBE_NO);
	assert_int_equal(mv_probe_http_answer(LIT("HTTP/1"), 0, &hi), MV_PROBE_MORE);
	assert_int_equal(mv_probe_http_answer(LIT("HTTP/1"), 1, &hi), MV_PROBE_NO);
	/* unterminated strings and values at the very end */
	assert_int_equal(
	    mv_probe_http_answer(LIT("HTTP/1.0 200 OK\r\n\r\n{\"DicomAet\":\"X\",\"Version\":\"1"), 1, &hi),
	    MV_PROBE_YES);
	assert_int_equal(hi.orthanc, 0);
	assert_int_equal(mv_probe_http_answer(LIT("HTTP/1.0 200 OK\r\n\r\n{\"DicomAet\""), 1, &hi),
	                 MV_PROBE_YES);
	assert_int_equal(mv_probe_http_answer(LIT("HTTP/1.0 200 OK\r\n\r\n{\"DicomAet\":\"\\"), 1, &hi),
	                 MV_PROBE_YES);
}

/* Random bytes never crash the decoders (the fuzz target does more). */
static void test_netprobe__random_bytes(void **state)
{
	struct mv_probe_dicom_info di;
	struct mv_probe_http_info hi;
	uint8_t b[300];
	unsigned seed = 12345;

	(void)state;
	for (int round = 0; round < 20000; round++) {
		size_t n = (size_t)(round % (int)sizeof(b));
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			b[i] = (uint8_t)(seed >> 16);
		}
		if (round % 3 == 0 && n > 6)
			b[0] = (uint8_t)(round % 2 ? 0x02 : 0x03), b[1] = 0;
		if (round % 5 == 0 && n > 12)
			memcpy(b, "HTTP/1.1 200 ", 12);
		(void)mv_probe_dicom_answer(b, n, round & 1, &di);
		(void)mv_probe_http_answer(b, n, round & 1, &hi);
		assert_true(memchr(hi.name, '\0', sizeof(hi.name)) != NULL);
		assert_true(memchr(di.called_aet, '\0', sizeof(di.called_aet)) != NULL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_netprobe__dicom_request_layout),
	    cmocka_unit_test(test_netprobe__dicom_answers),
	    cmocka_unit_test(test_netprobe__http_orthanc),
	    cmocka_unit_test(test_netprobe__random_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
