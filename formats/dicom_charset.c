/* DICOM text values to UTF-8: default repertoire, ISO_IR 100, ISO_IR 192. */
#include "formats/dicom_charset.h"

#include <string.h>

#include "formats/utf8.h"

static int is_pad(uint8_t c)
{
	return c == ' ' || c == 0;
}

static int word_eq(const uint8_t *v, size_t len, const char *s)
{
	size_t n = strlen(s);
	return len == n && memcmp(v, s, n) == 0;
}

enum mv_dicom_charset mv_dicom_charset_of(const uint8_t *v, size_t len)
{
	while (len && is_pad(v[len - 1]))
		len--;
	while (len && is_pad(v[0])) {
		v++;
		len--;
	}
	if (len == 0 || word_eq(v, len, "ISO_IR 6"))
		return MV_DICOM_CS_ASCII;
	if (word_eq(v, len, "ISO_IR 100"))
		return MV_DICOM_CS_LATIN1;
	if (word_eq(v, len, "ISO_IR 192"))
		return MV_DICOM_CS_UTF8;
	return MV_DICOM_CS_OTHER; /* includes multi-valued "a\b" */
}

struct out {
	char *p;
	size_t cap; /* including the NUL */
	size_t len;
	int full;
};

/* Appends n bytes as one unit (never split); returns 0 when they did not
 * fit (the output is full from then on). */
static int put(struct out *o, const void *s, size_t n)
{
	if (o->full || n >= o->cap - o->len) {
		o->full = 1;
		return 0;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	return 1;
}

static int put_escape(struct out *o, uint8_t c)
{
	static const char hex[] = "0123456789abcdef";
	char e[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
	return put(o, e, 4);
}

int mv_dicom_to_utf8(const uint8_t *v, size_t len, enum mv_dicom_charset cs, char *out, size_t cap)
{
	struct out o = {out, cap, 0, 0};
	int lossy = 0;

	while (len && is_pad(v[len - 1]))
		len--;
	while (len && is_pad(v[0])) {
		v++;
		len--;
	}
	for (size_t i = 0; i < len && !o.full;) {
		uint8_t c = v[i];
		if (c < 0x20 || c == 0x7f) {
			(void)put_escape(&o, c);
			i++;
		} else if (c < 0x80) {
			(void)put(&o, &c, 1);
			i++;
		} else if (cs == MV_DICOM_CS_LATIN1 && c >= 0xa0) {
			uint8_t u[2] = {(uint8_t)(0xc0 | c >> 6), (uint8_t)(0x80 | (c & 0x3f))};
			(void)put(&o, u, 2);
			i++;
		} else if (cs == MV_DICOM_CS_UTF8 && mv_utf8_decode(v + i, len - i, NULL)) {
			size_t n = mv_utf8_decode(v + i, len - i, NULL);
			(void)put(&o, v + i, n);
			i += n;
		} else {
			/* a character cut by truncation is not a loss */
			lossy |= put_escape(&o, c);
			i++;
		}
	}
	out[o.len] = '\0';
	return lossy;
}
