#include "formats/procnet.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

/* At most this many space-separated fields are looked at. */
#define FIELDS 10

struct field {
	const char *p;
	size_t len;
};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Exactly len hex digits into *out (len <= 16). */
static int parse_hex(const char *p, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 16)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int h = hexval(p[i]);
		if (h < 0)
			return -1;
		v = (v << 4) | (uint64_t)h;
	}
	*out = v;
	return 0;
}

/* Decimal digits only, at most max. */
static int parse_dec(const char *p, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 20)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		if (v > (max - (uint64_t)(p[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*out = v;
	return 0;
}

/* "HEX:HEX" with any non-empty hex parts (queues, timers). */
static int hex_pair(const struct field *f)
{
	const char *colon = memchr(f->p, ':', f->len);
	uint64_t v;

	if (!colon)
		return -1;
	size_t a = (size_t)(colon - f->p), b = f->len - a - 1;
	return parse_hex(f->p, a, &v) == 0 && parse_hex(colon + 1, b, &v) == 0 ? 0 : -1;
}

/* "ADDR:PORT": ADDR 8 (IPv4) or 32 (IPv6) hex digits in words of 8. */
static int parse_endpoint(const struct field *f, int family, enum mv_procnet_order order,
                          uint8_t addr[16], uint16_t *port)
{
	size_t alen = family == 4 ? 8 : 32;
	uint64_t v;

	if (f->len != alen + 1 + 4 || f->p[alen] != ':')
		return -1;
	for (size_t w = 0; w < alen / 8; w++) {
		if (parse_hex(f->p + 8 * w, 8, &v) != 0)
			return -1;
		for (size_t b = 0; b < 4; b++) {
			unsigned shift =
			    order == MV_PROCNET_LE ? 8u * (unsigned)b : 8u * (3u - (unsigned)b);
			addr[4 * w + b] = (uint8_t)(v >> shift);
		}
	}
	if (parse_hex(f->p + alen + 1, 4, &v) != 0)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* Splits at spaces and tabs; returns the number of fields (at most FIELDS). */
static size_t split(const char *line, size_t len, struct field *f)
{
	size_t n = 0, i = 0;

	while (i < len && n < FIELDS) {
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i == len)
			break;
		f[n].p = line + i;
		while (i < len && line[i] != ' ' && line[i] != '\t')
			i++;
		f[n].len = (size_t)(line + i - f[n].p);
		n++;
	}
	return n;
}

int mv_procnet_parse_line(const char *line, size_t len, int family, enum mv_procnet_order order,
                          struct mv_procnet_entry *out)
{
	struct field f[FIELDS];
	uint64_t v;
	size_t n;

	memset(out, 0, sizeof(*out));
	if ((family != 4 && family != 6) || len > MV_PROCNET_LINE_MAX)
		return MV_FMT_MALFORMED;
	n = split(line, len, f);
	if (n == 0)
		return 0;
	if (f[0].len == 2 && memcmp(f[0].p, "sl", 2) == 0)
		return 0;
	if (n < FIELDS)
		return MV_FMT_MALFORMED;
	/* "12:" slot number */
	if (f[0].len < 2 || f[0].p[f[0].len - 1] != ':' ||
	    parse_dec(f[0].p, f[0].len - 1, UINT64_MAX, &v) != 0)
		goto bad;
	out->family = family;
	if (parse_endpoint(&f[1], family, order, out->local, &out->local_port) != 0 ||
	    parse_endpoint(&f[2], family, order, out->remote, &out->remote_port) != 0)
		goto bad;
	if (f[3].len != 2 || parse_hex(f[3].p, 2, &v) != 0)
		goto bad;
	out->state = (uint8_t)v;
	if (hex_pair(&f[4]) != 0 || hex_pair(&f[5]) != 0 || parse_hex(f[6].p, f[6].len, &v) != 0)
		goto bad;
	if (parse_dec(f[7].p, f[7].len, UINT32_MAX, &v) != 0)
		goto bad;
	out->uid = (uint32_t)v;
	if (parse_dec(f[8].p, f[8].len, UINT64_MAX, &v) != 0 ||
	    parse_dec(f[9].p, f[9].len, UINT64_MAX, &out->inode) != 0)
		goto bad;
	return 1;
bad:
	memset(out, 0, sizeof(*out));
	return MV_FMT_MALFORMED;
}

int mv_procnet_parse(const char *buf, size_t len, int final, int family,
                     enum mv_procnet_order order,
                     int (*cb)(void *arg, const struct mv_procnet_entry *e), void *arg,
                     size_t *consumed, size_t *malformed)
{
	struct mv_procnet_entry e;
	size_t pos = 0;
	int rc = 0;

	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - buf) : len;
		if (!nl && !final)
			break;
		int r = mv_procnet_parse_line(buf + pos, end - pos, family, order, &e);
		pos = nl ? end + 1 : len;
		if (r < 0 && malformed)
			(*malformed)++;
		if (r == 1 && (rc = cb(arg, &e)) != 0)
			break;
	}
	if (consumed)
		*consumed = pos;
	return rc;
}

static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int mv_procnet_is_loopback(int family, const uint8_t addr[16])
{
	static const uint8_t v6lo[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

	if (family == 4)
		return addr[0] == 127;
	if (memcmp(addr, v6lo, 16) == 0)
		return 1;
	return memcmp(addr, v4mapped, 12) == 0 && addr[12] == 127;
}

int mv_procnet_is_any(int family, const uint8_t addr[16])
{
	static const uint8_t zero[16];

	if (family == 4)
		return memcmp(addr, zero, 4) == 0;
	if (memcmp(addr, zero, 16) == 0)
		return 1;
	return memcmp(addr, v4mapped, 12) == 0 && memcmp(addr + 12, zero, 4) == 0;
}

void mv_procnet_addr_str(int family, const uint8_t addr[16], uint16_t port,
                         char out[MV_PROCNET_ADDR_STRLEN])
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	if (family == 4)
		snprintf(out, MV_PROCNET_ADDR_STRLEN, "%s:%u", a, (unsigned)port);
	else
		snprintf(out, MV_PROCNET_ADDR_STRLEN, "[%s]:%u", a, (unsigned)port);
}
