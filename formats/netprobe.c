/* audit's network probe: DICOM association request, DICOM and HTTP answer
 * decoders; see netprobe.h. */
#include "formats/netprobe.h"

#include <string.h>

/* PS3.8 section 9.3.2: the fixed part of an A-ASSOCIATE-RQ/AC after the
 * 6-byte PDU header (protocol version, reserved, called AE, calling AE,
 * 32 reserved bytes). */
#define ASSOC_FIXED 68u
#define PDU_HEADER  6u
/* A PDU longer than this is not believed (real ones are a few KiB). */
#define PDU_LEN_MAX (1u << 24)

static const char app_context[] = "1.2.840.10008.3.1.1.1"; /* DICOM application context */
static const char verification[] = "1.2.840.10008.1.1";    /* Verification SOP class */
static const char implicit_le[] = "1.2.840.10008.1.2";     /* Implicit VR Little Endian */
/* medvault's Implementation Class UID: a UUID-derived UID (ISO/IEC 9834-8,
 * the 2.25 arc) */
static const char impl_uid[] = "2.25.141084372445403411864089702523215225008";
static const char impl_version[] = "MEDVAULT_AUDIT";

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

struct out {
	uint8_t *p;
	size_t cap, len;
	int failed;
};

static void put(struct out *o, const void *p, size_t n)
{
	if (o->failed || n > o->cap - o->len) {
		o->failed = 1;
		return;
	}
	memcpy(o->p + o->len, p, n);
	o->len += n;
}

static void put_str(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void put_u8(struct out *o, uint8_t v)
{
	put(o, &v, 1);
}

static void put_u16(struct out *o, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	put(o, b, 2);
}

static void put_u32(struct out *o, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	put(o, b, 4);
}

/* An item or sub-item: type, reserved, 16-bit length, value. */
static void put_item(struct out *o, uint8_t type, const void *v, size_t n)
{
	put_u8(o, type);
	put_u8(o, 0);
	put_u16(o, (uint16_t)n);
	put(o, v, n);
}

/* 1 when s is a valid AE title: 1-16 printable ASCII, no backslash. */
static int valid_aet(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 16)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e || s[i] == '\\')
			return 0;
	return 1;
}

static void put_aet(struct out *o, const char *s)
{
	char b[16];
	size_t n = strlen(s);

	memset(b, ' ', sizeof(b));
	memcpy(b, s, n);
	put(o, b, sizeof(b));
}

size_t mv_probe_dicom_request(uint8_t *buf, size_t cap, const char *called_aet,
                              const char *calling_aet)
{
	struct out o = {buf, cap, 0, 0};
	uint8_t zeros[32] = {0};
	size_t ctx_len, user_len;

	if (!valid_aet(called_aet) || !valid_aet(calling_aet))
		return 0;
	put_u8(&o, 0x01); /* A-ASSOCIATE-RQ */
	put_u8(&o, 0);
	put_u32(&o, 0);      /* the length, set below */
	put_u16(&o, 0x0001); /* protocol version 1 */
	put_u16(&o, 0);
	put_aet(&o, called_aet);
	put_aet(&o, calling_aet);
	put(&o, zeros, 32);
	put_item(&o, 0x10, app_context, strlen(app_context));
	/* presentation context 1: Verification in Implicit VR Little Endian */
	ctx_len = 4 + (4 + strlen(verification)) + (4 + strlen(implicit_le));
	put_u8(&o, 0x20);
	put_u8(&o, 0);
	put_u16(&o, (uint16_t)ctx_len);
	put_u8(&o, 1); /* context id: odd */
	put_u8(&o, 0);
	put_u8(&o, 0);
	put_u8(&o, 0);
	put_item(&o, 0x30, verification, strlen(verification));
	put_item(&o, 0x40, implicit_le, strlen(implicit_le));
	/* user information: maximum length, implementation class and version */
	user_len = 8 + (4 + strlen(impl_uid)) + (4 + strlen(impl_version));
	put_u8(&o, 0x50);
	put_u8(&o, 0);
	put_u16(&o, (uint16_t)user_len);
	put_u8(&o, 0x51);
	put_u8(&o, 0);
	put_u16(&o, 4);
	put_u32(&o, 16384);
	put_item(&o, 0x52, impl_uid, strlen(impl_uid));
	put_item(&o, 0x55, impl_version, strlen(impl_version));
	if (o.failed)
		return 0;
	buf[2] = (uint8_t)((o.len - PDU_HEADER) >> 24);
	buf[3] = (uint8_t)((o.len - PDU_HEADER) >> 16);
	buf[4] = (uint8_t)((o.len - PDU_HEADER) >> 8);
	buf[5] = (uint8_t)(o.len - PDU_HEADER);
	return o.len;
}

void mv_probe_dicom_abort(uint8_t out[MV_PROBE_DICOM_ABORT_LEN])
{
	static const uint8_t abort_pdu[MV_PROBE_DICOM_ABORT_LEN] = {0x07, 0, 0, 0, 0,
	                                                            4,    0, 0, 0, 0};
	memcpy(out, abort_pdu, sizeof(abort_pdu));
}

/* Copies a fixed-size text field, trimmed of spaces, non-printable bytes
 * as '?'. */
static void copy_text(char *dst, size_t cap, const uint8_t *src, size_t n)
{
	size_t a = 0, b = n, k = 0;

	while (a < b && src[a] == ' ')
		a++;
	while (b > a && (src[b - 1] == ' ' || src[b - 1] == '\0'))
		b--;
	for (size_t i = a; i < b && k + 1 < cap; i++)
		dst[k++] = src[i] >= 0x20 && src[i] <= 0x7e ? (char)src[i] : '?';
	dst[k] = '\0';
}

/* A-ASSOCIATE-AC: the fixed part, then the items within what was read. */
static int dicom_accept(const uint8_t *buf, size_t len, int final, struct mv_probe_dicom_info *info)
{
	uint32_t pdu_len = be32(buf + 2);
	size_t end, pos;

	if (pdu_len < ASSOC_FIXED || pdu_len > PDU_LEN_MAX)
		return MV_PROBE_NO;
	if (len < PDU_HEADER + ASSOC_FIXED)
		return final ? MV_PROBE_NO : MV_PROBE_MORE;
	if (!(be16(buf + 6) & 1)) /* protocol version 1 */
		return MV_PROBE_NO;
	end = PDU_HEADER + (size_t)pdu_len;
	if (len < end && !final)
		return MV_PROBE_MORE;
	if (end > len)
		end = len;
	info->kind = MV_PROBE_DICOM_ACCEPT;
	copy_text(info->called_aet, sizeof(info->called_aet), buf + 10, 16);
	for (pos = PDU_HEADER + ASSOC_FIXED; pos + 4 <= end;) {
		uint8_t type = buf[pos];
		size_t n = be16(buf + pos + 2);
		if (n > end - pos - 4)
			break; /* cut short: what was read is all there is */
		if (type == 0x21 && n >= 4 && buf[pos + 4] == 1)
			info->verification_accepted = buf[pos + 6] == 0;
		pos += 4 + n;
	}
	return MV_PROBE_YES;
}

int mv_probe_dicom_answer(const uint8_t *buf, size_t len, int final,
                          struct mv_probe_dicom_info *info)
{
	memset(info, 0, sizeof(*info));
	if (len == 0)
		return final ? MV_PROBE_NO : MV_PROBE_MORE;
	if (buf[0] != 0x02 && buf[0] != 0x03 && buf[0] != 0x07)
		return MV_PROBE_NO;
	if (len < PDU_HEADER)
		return final ? MV_PROBE_NO : MV_PROBE_MORE;
	if (buf[1] != 0)
		return MV_PROBE_NO;
	if (buf[0] == 0x02)
		return dicom_accept(buf, len, final, info);
	/* A-ASSOCIATE-RJ and A-ABORT: 4 bytes after the header */
	if (be32(buf + 2) != 4)
		return MV_PROBE_NO;
	if (len < PDU_HEADER + 4)
		return final ? MV_PROBE_NO : MV_PROBE_MORE;
	if (buf[0] == 0x03) {
		if ((buf[7] != 1 && buf[7] != 2) || buf[8] < 1 || buf[8] > 3)
			return MV_PROBE_NO;
		info->kind = MV_PROBE_DICOM_REJECT;
		info->result = buf[7];
	} else {
		if (buf[8] > 2)
			return MV_PROBE_NO;
		info->kind = MV_PROBE_DICOM_ABORT;
	}
	info->source = buf[8];
	info->reason = buf[9];
	memset(info->called_aet, 0, sizeof(info->called_aet));
	return MV_PROBE_YES;
}

/* ---- HTTP ---------------------------------------------------------------- */

size_t mv_probe_http_request(char *buf, size_t cap, const char *host, uint16_t port)
{
	struct out o = {(uint8_t *)buf, cap, 0, 0};
	char portbuf[8];
	size_t k = sizeof(portbuf);
	int v6 = strchr(host, ':') != NULL;

	for (const char *p = host; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= 'A' && *p <= 'Z') || *p == '.' || *p == ':' || *p == '-'))
			return 0;
	portbuf[--k] = '\0';
	do {
		portbuf[--k] = (char)('0' + port % 10);
		port /= 10;
	} while (port > 0);
	put_str(&o, "GET /system HTTP/1.0\r\nHost: ");
	if (v6)
		put(&o, "[", 1);
	put(&o, host, strlen(host));
	if (v6)
		put(&o, "]", 1);
	put(&o, ":", 1);
	put(&o, portbuf + k, strlen(portbuf + k));
	put_str(&o, "\r\nUser-Agent: medvault-audit\r\nAccept: application/json\r\n"
	            "Connection: close\r\n\r\n");
	put(&o, "", 1); /* NUL, not counted */
	if (o.failed)
		return 0;
	return o.len - 1;
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* 1 when s[0..n) starts with the lowercase word w, case ignored. */
static int starts_with_ci(const uint8_t *s, size_t n, const char *w)
{
	size_t k = strlen(w);

	if (n < k)
		return 0;
	for (size_t i = 0; i < k; i++)
		if (lower(s[i]) != w[i])
			return 0;
	return 1;
}

/* 1 when s[0..n) contains w (lowercase), case ignored. */
static int contains_ci(const uint8_t *s, size_t n, const char *w)
{
	size_t k = strlen(w);

	for (size_t i = 0; i + k <= n; i++)
		if (starts_with_ci(s + i, n - i, w))
			return 1;
	return 0;
}

static int is_ws(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Finds the member "key" in a JSON text and copies its string value
 * (escapes reduced to the escaped character, non-printable bytes as '?').
 * Returns 1 with a string value, 2 with a number, 0 when absent. Only a
 * flat search: enough to recognise an answer, never to trust it. */
static int json_member(const uint8_t *s, size_t n, const char *key, char *out, size_t cap)
{
	size_t k = strlen(key);

	if (out && cap)
		out[0] = '\0';
	for (size_t i = 0; i + k + 2 <= n; i++) {
		size_t j, o = 0;
		if (s[i] != '"' || memcmp(s + i + 1, key, k) != 0 || s[i + 1 + k] != '"')
			continue;
		for (j = i + k + 2; j < n && is_ws(s[j]); j++)
			;
		if (j >= n || s[j] != ':')
			continue;
		for (j++; j < n && is_ws(s[j]); j++)
			;
		if (j < n && s[j] >= '0' && s[j] <= '9')
			return 2;
		if (j >= n || s[j] != '"')
			continue;
		for (j++; j < n && s[j] != '"'; j++) {
			uint8_t c = s[j];
			if (c == '\\') {
				if (++j >= n)
					break;
				c = s[j];
			}
			if (out && o + 1 < cap)
				out[o++] = c >= 0x20 && c <= 0x7e ? (char)c : '?';
		}
		if (j >= n)
			return 0; /* unterminated string */
		if (out && cap)
			out[o] = '\0';
		return 1;
	}
	return 0;
}

/* Content-Length's value, or -1 when absent or not a number. */
static long long content_length(const uint8_t *v, size_t n)
{
	long long x = 0;
	size_t i = 0;

	while (i < n && (v[i] == ' ' || v[i] == '\t'))
		i++;
	if (i == n || v[i] < '0' || v[i] > '9')
		return -1;
	for (; i < n && v[i] >= '0' && v[i] <= '9'; i++) {
		if (x > 100000000000LL)
			return -1;
		x = x * 10 + (v[i] - '0');
	}
	return x;
}

static void http_body(const uint8_t *body, size_t n, struct mv_probe_http_info *info)
{
	size_t i = 0;
	int aet, version, api;

	while (i < n && is_ws(body[i]))
		i++;
	if (i == n || body[i] != '{')
		return;
	aet = json_member(body, n, "DicomAet", info->dicom_aet, sizeof(info->dicom_aet));
	version = json_member(body, n, "Version", info->version, sizeof(info->version));
	api = json_member(body, n, "ApiVersion", NULL, 0);
	(void)json_member(body, n, "Name", info->name, sizeof(info->name));
	info->orthanc = version == 1 && (aet == 1 || api == 2);
}

int mv_probe_http_answer(const uint8_t *buf, size_t len, int final, struct mv_probe_http_info *info)
{
	static const char proto[] = "HTTP/1.";
	size_t hdr_end = 0, body = 0, pos;
	long long clen = -1;
	int auth_orthanc = 0;

	memset(info, 0, sizeof(*info));
	if (len < 12) {
		size_t k = len < 7 ? len : 7;
		if (memcmp(buf, proto, k) != 0 || final)
			return MV_PROBE_NO;
		return MV_PROBE_MORE;
	}
	if (memcmp(buf, proto, 7) != 0 || (buf[7] != '0' && buf[7] != '1') || buf[8] != ' ' ||
	    buf[9] < '1' || buf[9] > '9' || buf[10] < '0' || buf[10] > '9' || buf[11] < '0' ||
	    buf[11] > '9')
		return MV_PROBE_NO;
	info->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	/* the end of the headers */
	for (pos = 12; pos < len; pos++) {
		if (buf[pos] != '\n')
			continue;
		if (pos + 1 < len && buf[pos + 1] == '\n') {
			hdr_end = pos + 1, body = pos + 2;
			break;
		}
		if (pos + 2 < len && buf[pos + 1] == '\r' && buf[pos + 2] == '\n') {
			hdr_end = pos + 1, body = pos + 3;
			break;
		}
	}
	if (body == 0) {
		if (!final)
			return MV_PROBE_MORE;
		hdr_end = body = len; /* headers cut short: take what is there */
	}
	/* the headers, one line at a time */
	for (pos = 12; pos < hdr_end;) {
		const uint8_t *nl = memchr(buf + pos, '\n', hdr_end - pos);
		size_t line_end = nl ? (size_t)(nl - buf) : hdr_end;
		const uint8_t *line = buf + pos;
		size_t n = line_end - pos;
		if (starts_with_ci(line, n, "content-length:"))
			clen = content_length(line + 15, n - 15);
		else if (starts_with_ci(line, n, "www-authenticate:") &&
		         contains_ci(line, n, "orthanc"))
			auth_orthanc = 1;
		pos = line_end + 1;
	}
	if (!final && clen >= 0 && (unsigned long long)(len - body) < (unsigned long long)clen &&
	    len < MV_PROBE_ANSWER_MAX)
		return MV_PROBE_MORE;
	if (!final && clen < 0 && info->status == 200 && len < MV_PROBE_ANSWER_MAX)
		return MV_PROBE_MORE; /* the body ends when the connection does */
	info->auth_required = info->status == 401 || info->status == 403;
	if (info->status == 200) {
		size_t n = len - body;
		if (clen >= 0 && (unsigned long long)clen < (unsigned long long)n)
			n = (size_t)clen;
		http_body(buf + body, n, info);
	} else if (info->auth_required) {
		info->orthanc = auth_orthanc;
	}
	return MV_PROBE_YES;
}
