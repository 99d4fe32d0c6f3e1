/* DICOM Part 10 header reader for hostile input (see dicom.h).
 *
 * One loop walks elements over a byte source (the caller's buffer, or the
 * inflated data set) with an explicit stack of open undefined-length
 * sequences and items; defined-length values are skipped by length, so only
 * undefined lengths need the stack. Wanted top-level values are copied
 * (truncated) into fixed buffers and converted to UTF-8 at the end, once the
 * Specific Character Set is known whatever its position. */
#define ZLIB_CONST
#include "formats/dicom.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "formats/dicom_charset.h"

#define TAG(g, e) ((uint32_t)(g) << 16 | (uint32_t)(e))
#define UNDEF_LEN 0xffffffffu
#define VR(a, b)  ((uint16_t)((a) << 8 | (b)))
#define INFLATE_0 (64u << 10) /* first inflate output size; grows x4 to the cap */

#define TAG_ITEM       TAG(0xfffe, 0xe000)
#define TAG_ITEM_DELIM TAG(0xfffe, 0xe00d)
#define TAG_SEQ_DELIM  TAG(0xfffe, 0xe0dd)

static const char TS_IMPLICIT[] = "1.2.840.10008.1.2";
static const char TS_EXPLICIT[] = "1.2.840.10008.1.2.1";
static const char TS_BIG[] = "1.2.840.10008.1.2.2";
static const char TS_DEFLATED[] = "1.2.840.10008.1.2.1.99";
static const char DICOMDIR_CLASS[] = "1.2.840.10008.1.3.10";

/* Raw values kept: the info strings, then the ones used internally. */
enum {
	R_NAME,
	R_PID,
	R_BIRTH,
	R_SEX,
	R_STUDY_UID,
	R_SERIES_UID,
	R_SOP_UID,
	R_SOP_CLASS,
	R_STUDY_DATE,
	R_STUDY_TIME,
	R_MODALITY,
	R_STUDY_DESC,
	R_SERIES_DESC,
	R_ACCESSION,
	R_INSTITUTION,
	R_NSTRINGS,
	R_CHARSET = R_NSTRINGS,
	R_META_TS,
	R_META_CLASS,
	R_META_SOP,
	R_COUNT
};

#define FIELD(tag, member)                                                                         \
	{                                                                                          \
		tag, offsetof(struct mv_dicom_info, member),                                       \
		    sizeof(((struct mv_dicom_info *)0)->member)                                    \
	}
static const struct {
	uint32_t tag;
	size_t off, size;
} fields[R_NSTRINGS] = {
    [R_NAME] = FIELD(TAG(0x0010, 0x0010), patient_name),
    [R_PID] = FIELD(TAG(0x0010, 0x0020), patient_id),
    [R_BIRTH] = FIELD(TAG(0x0010, 0x0030), birth_date),
    [R_SEX] = FIELD(TAG(0x0010, 0x0040), sex),
    [R_STUDY_UID] = FIELD(TAG(0x0020, 0x000d), study_uid),
    [R_SERIES_UID] = FIELD(TAG(0x0020, 0x000e), series_uid),
    [R_SOP_UID] = FIELD(TAG(0x0008, 0x0018), sop_uid),
    [R_SOP_CLASS] = FIELD(TAG(0x0008, 0x0016), sop_class_uid),
    [R_STUDY_DATE] = FIELD(TAG(0x0008, 0x0020), study_date),
    [R_STUDY_TIME] = FIELD(TAG(0x0008, 0x0030), study_time),
    [R_MODALITY] = FIELD(TAG(0x0008, 0x0060), modality),
    [R_STUDY_DESC] = FIELD(TAG(0x0008, 0x1030), study_desc),
    [R_SERIES_DESC] = FIELD(TAG(0x0008, 0x103e), series_desc),
    [R_ACCESSION] = FIELD(TAG(0x0008, 0x0050), accession),
    [R_INSTITUTION] = FIELD(TAG(0x0008, 0x0080), institution),
};

struct raw {
	uint8_t v[256];
	size_t len;
	int present;
};

struct syntax {
	uint8_t implicit, big;
};

/* An open undefined-length sequence (holds items) or item (holds elements). */
struct level {
	uint8_t item;
	struct syntax sx;
};

struct elem {
	uint32_t tag;
	uint16_t vr; /* 0: none (implicit VR, or item tags) */
	uint32_t len;
	size_t hdr;
};

enum walk_rc {
	W_END,   /* clean end: end of data, or end of the meta group */
	W_PIXEL, /* stopped at the top-level pixel data element */
	W_NEED,  /* needs the source up to ps->need */
	W_STOP,  /* stopped; flags say why */
	W_GO,    /* (walk_fffe) go on walking */
};

struct parse {
	/* the source walked */
	const uint8_t *p;
	size_t n;
	int more;     /* bytes exist past n */
	int inflated; /* p is the inflated data set: offsets are not file offsets */
	size_t pos;
	uint64_t need; /* W_NEED: source length wanted */
	uint64_t file_size;

	int meta;          /* walking the file meta group */
	int meta_end_set;  /* (0002,0000) seen */
	uint64_t meta_end; /* where its value says the group ends */
	struct syntax top; /* data set syntax */
	struct level stack[2 * MV_DICOM_MAX_DEPTH + 2];
	unsigned depth, nseq;

	struct raw raw[R_COUNT];
	struct mv_dicom_info *out;
};

static uint16_t get16(const uint8_t *p, int big)
{
	return big ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

static uint32_t get32(const uint8_t *p, int big)
{
	if (big)
		return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* 2: VR with a 4-byte length (after 2 reserved bytes), 1: VR with a 2-byte
 * length, 0: not a VR. */
static int vr_kind(uint16_t vr)
{
	static const char long_vrs[] = "OBODOFOLOVOWSQSVUCUNURUTUV";
	static const char short_vrs[] = "AEASATCSDADSDTFLFDISLOLTPNSHSLSSSTTMUIULUS";
	for (const char *s = long_vrs; *s; s += 2)
		if (VR(s[0], s[1]) == vr)
			return 2;
	for (const char *s = short_vrs; *s; s += 2)
		if (VR(s[0], s[1]) == vr)
			return 1;
	return 0;
}

/* Reads the element header at ps->pos. Returns 1, 0 when *want bytes from
 * pos are needed, -1 for an unknown VR. */
static int read_elem(const struct parse *ps, struct syntax sx, struct elem *e, size_t *want)
{
	const uint8_t *p = ps->p + ps->pos;
	size_t left = ps->n - ps->pos;

	*want = 8;
	if (left < 8)
		return 0;
	e->tag = (uint32_t)get16(p, sx.big) << 16 | get16(p + 2, sx.big);
	e->hdr = 8;
	e->vr = 0;
	if (sx.implicit || e->tag >> 16 == 0xfffe) {
		e->len = get32(p + 4, sx.big);
		return 1;
	}
	e->vr = VR(p[4], p[5]);
	switch (vr_kind(e->vr)) {
	case 1:
		e->len = get16(p + 6, sx.big);
		return 1;
	case 2:
		*want = 12;
		if (left < 12)
			return 0;
		e->len = get32(p + 8, sx.big);
		e->hdr = 12;
		return 1;
	default:
		return -1;
	}
}

static enum walk_rc stop(struct parse *ps, unsigned flag)
{
	ps->out->flags |= flag;
	return W_STOP;
}

/* The walk needs the source up to end: more input, or the file is cut. */
static enum walk_rc need(struct parse *ps, uint64_t end)
{
	if (!ps->more)
		return stop(ps, MV_DICOM_F_TRUNCATED);
	ps->need = end;
	return W_NEED;
}

static void keep(struct raw *r, const uint8_t *v, uint32_t len)
{
	r->len = len < sizeof(r->v) ? len : sizeof(r->v);
	memcpy(r->v, v, r->len);
	r->present = 1;
}

static int raw_is(const struct raw *r, const char *s)
{
	size_t len = r->len, n = strlen(s);
	while (len && (r->v[len - 1] == ' ' || r->v[len - 1] == 0))
		len--;
	return r->present && len == n && memcmp(r->v, s, n) == 0;
}

/* A wanted top-level value v of e (entirely within the source). */
static void take(struct parse *ps, const struct elem *e, const uint8_t *v, struct syntax sx)
{
	struct mv_dicom_info *o = ps->out;

	if (ps->meta) {
		if (e->tag == TAG(0x0002, 0x0000) && e->len == 4) {
			ps->meta_end = (uint64_t)(v - ps->p) + 4 + get32(v, 0);
			ps->meta_end_set = 1;
		} else if (e->tag == TAG(0x0002, 0x0002)) {
			keep(&ps->raw[R_META_CLASS], v, e->len);
		} else if (e->tag == TAG(0x0002, 0x0003)) {
			keep(&ps->raw[R_META_SOP], v, e->len);
		} else if (e->tag == TAG(0x0002, 0x0010)) {
			keep(&ps->raw[R_META_TS], v, e->len);
		}
		return;
	}
	if (e->tag == TAG(0x0008, 0x0005)) {
		keep(&ps->raw[R_CHARSET], v, e->len);
		return;
	}
	for (size_t i = 0; i < R_NSTRINGS; i++) {
		if (fields[i].tag == e->tag) {
			keep(&ps->raw[i], v, e->len);
			return;
		}
	}
	if (e->len < 2 || e->tag >> 16 != 0x0028)
		return;
	uint16_t u = get16(v, sx.big);
	switch (e->tag & 0xffff) {
	case 0x0010:
		o->rows = u;
		break;
	case 0x0011:
		o->columns = u;
		break;
	case 0x0100:
		o->bits_allocated = u;
		break;
	case 0x0101:
		o->bits_stored = u;
		break;
	case 0x0103:
		o->pixel_representation = u;
		break;
	default:
		break;
	}
}

static int is_pixel_tag(uint32_t tag)
{
	return tag == TAG(0x7fe0, 0x0010) || tag == TAG(0x7fe0, 0x0008) ||
	       tag == TAG(0x7fe0, 0x0009);
}

static enum walk_rc pixel(struct parse *ps, const struct elem *e)
{
	struct mv_dicom_info *o = ps->out;

	o->has_pixel_data = 1;
	o->pixel_length = e->len;
	o->encapsulated = e->len == UNDEF_LEN;
	if (!ps->inflated) {
		o->pixel_offset = ps->pos + e->hdr;
		if (e->len != UNDEF_LEN && o->pixel_offset + e->len > ps->file_size)
			o->flags |= MV_DICOM_F_TRUNCATED;
	}
	return W_PIXEL;
}

/* Item and delimiter tags (group FFFE). */
static enum walk_rc walk_fffe(struct parse *ps, const struct elem *e)
{
	struct level *top = ps->depth ? &ps->stack[ps->depth - 1] : NULL;

	if (e->tag == TAG_ITEM) {
		if (!top || top->item)
			return stop(ps, MV_DICOM_F_MALFORMED);
		if (e->len != UNDEF_LEN) {
			uint64_t end = (uint64_t)ps->pos + e->hdr + e->len;
			if (end > ps->n)
				return need(ps, end);
			ps->pos = (size_t)end;
			return W_GO;
		}
		ps->stack[ps->depth].item = 1;
		ps->stack[ps->depth].sx = top->sx;
		ps->depth++;
	} else if (e->tag == TAG_ITEM_DELIM || e->tag == TAG_SEQ_DELIM) {
		int item = e->tag == TAG_ITEM_DELIM;
		if (!top) { /* stray delimiter at top level: skip it */
			ps->out->flags |= MV_DICOM_F_MALFORMED;
		} else if (top->item != item) {
			return stop(ps, MV_DICOM_F_MALFORMED);
		} else {
			ps->depth--;
			ps->nseq -= !item;
		}
	} else {
		return stop(ps, MV_DICOM_F_MALFORMED);
	}
	ps->pos += e->hdr; /* delimiters' lengths carry nothing */
	return W_GO;
}

/* Walks elements from ps->pos. At top level, in the meta group it stops
 * (W_END) at the first element of another group; in the data set at the
 * pixel data. */
static enum walk_rc walk(struct parse *ps)
{
	for (;;) {
		const struct level *top = ps->depth ? &ps->stack[ps->depth - 1] : NULL;
		struct syntax sx = top ? top->sx : ps->top;
		struct elem e;
		size_t want;
		int r;

		if (ps->pos == ps->n && !ps->more)
			return top ? stop(ps, MV_DICOM_F_TRUNCATED) : W_END;
		if (ps->meta && !top) {
			if (ps->meta_end_set && ps->pos >= ps->meta_end &&
			    raw_is(&ps->raw[R_META_TS], TS_DEFLATED))
				return W_END; /* deflate data follows: never peek at it */
			if (ps->n - ps->pos >= 2 && get16(ps->p + ps->pos, 0) != 0x0002)
				return W_END;
		}
		r = read_elem(ps, sx, &e, &want);
		if (r < 0 && ps->meta) { /* meta written in implicit VR */
			ps->out->flags |= MV_DICOM_F_MALFORMED;
			sx.implicit = 1;
			r = read_elem(ps, sx, &e, &want);
		}
		if (r == 0)
			return need(ps, (uint64_t)ps->pos + want);
		if (r < 0)
			return stop(ps, MV_DICOM_F_MALFORMED);
		if (e.tag >> 16 == 0xfffe) {
			enum walk_rc rc = walk_fffe(ps, &e);
			if (rc != W_GO)
				return rc;
			continue;
		}
		if (top && !top->item) /* a sequence holds only items */
			return stop(ps, MV_DICOM_F_MALFORMED);
		if (!top && !ps->meta && is_pixel_tag(e.tag))
			return pixel(ps, &e);
		if (e.len == UNDEF_LEN) {
			if (e.vr && e.vr != VR('S', 'Q') && e.vr != VR('U', 'N') &&
			    e.vr != VR('O', 'B') && e.vr != VR('O', 'W'))
				return stop(ps, MV_DICOM_F_MALFORMED);
			if (ps->nseq >= MV_DICOM_MAX_DEPTH)
				return stop(ps, MV_DICOM_F_LIMIT);
			ps->stack[ps->depth].item = 0;
			ps->stack[ps->depth].sx = sx;
			if (e.vr == VR('U', 'N')) /* its contents are implicit VR LE */
				ps->stack[ps->depth].sx = (struct syntax){1, 0};
			ps->depth++;
			ps->nseq++;
			ps->pos += e.hdr;
			continue;
		}
		uint64_t end = (uint64_t)ps->pos + e.hdr + e.len;
		if (end > ps->n)
			return need(ps, end);
		if (!top)
			take(ps, &e, ps->p + ps->pos + e.hdr, sx);
		ps->pos = (size_t)end;
	}
}

/* Explicit VR LE data sets announced as implicit, and the reverse, exist:
 * the first element decides (not for big endian). */
static void sniff(struct parse *ps)
{
	const uint8_t *p = ps->p + ps->pos;

	if (ps->top.big || ps->n - ps->pos < 6 || get16(p, 0) == 0xfffe)
		return;
	ps->top.implicit = vr_kind(VR(p[4], p[5])) == 0;
}

/* Walks the deflated data set in in[0..len), inflating more as the walk
 * needs it, up to MV_DICOM_INFLATE_MAX. Returns the walk's result, or
 * MV_FMT_NOMEM; on W_NEED, ps->need is a length of the caller's buffer. */
static int walk_deflated(struct parse *ps, const uint8_t *in, size_t len, size_t buf_len)
{
	z_stream z;
	uint8_t *o = NULL;
	size_t cap = 0;
	struct syntax sx = ps->top;
	int rc, zr = Z_OK, ended = 0, broken = 0;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, -15) != Z_OK)
		return MV_FMT_NOMEM;
	z.next_in = in;
	for (;;) {
		size_t ncap = cap ? cap * 4 : INFLATE_0;
		if (ncap > MV_DICOM_INFLATE_MAX)
			ncap = MV_DICOM_INFLATE_MAX;
		uint8_t *t = realloc(o, ncap);
		if (!t) {
			rc = MV_FMT_NOMEM;
			goto out;
		}
		o = t;
		z.next_out = o + cap;
		z.avail_out = (uInt)(ncap - cap);
		cap = ncap;
		while (!ended && !broken && z.avail_out) {
			size_t in_left = len - (size_t)(z.next_in - in);
			if (!in_left && !z.avail_in)
				break;
			if (!z.avail_in)
				z.avail_in = in_left > (1u << 30) ? (1u << 30) : (uInt)in_left;
			zr = inflate(&z, Z_NO_FLUSH);
			if (zr == Z_STREAM_END)
				ended = 1;
			else if (zr == Z_MEM_ERROR) {
				rc = MV_FMT_NOMEM;
				goto out;
			} else if (zr == Z_BUF_ERROR) {
				break; /* no progress possible */
			} else if (zr != Z_OK) {
				broken = 1;
			}
		}
		if (broken)
			ps->out->flags |= MV_DICOM_F_MALFORMED;
		ps->p = o;
		ps->n = cap - z.avail_out;
		ps->more = !ended && !broken;
		ps->pos = 0;
		ps->depth = ps->nseq = 0;
		ps->top = sx;
		sniff(ps);
		rc = walk(ps);
		if (rc != W_NEED)
			goto out;
		if (z.avail_out == 0) { /* output full: inflate more, or give up */
			if (cap < MV_DICOM_INFLATE_MAX)
				continue;
			ps->out->flags |= MV_DICOM_F_LIMIT;
			rc = W_STOP;
			goto out;
		}
		/* all input used: more of the file is needed */
		ps->need = (uint64_t)buf_len + 1;
		if (buf_len >= ps->file_size) {
			ps->out->flags |= MV_DICOM_F_TRUNCATED;
			rc = W_STOP;
		}
		goto out;
	}
out:
	inflateEnd(&z);
	free(o);
	ps->p = NULL;
	ps->n = 0;
	return rc;
}

/* Finds where the meta group or data set starts. Returns 1 (DICOM), 0 (not
 * DICOM), -1 (too short to tell). *meta says whether a meta group follows. */
static int detect(const uint8_t *b, size_t len, uint64_t file_size, size_t *start, int *meta,
                  struct parse *ps)
{
	unsigned *flags = &ps->out->flags;

	*meta = 1;
	if (len >= MV_DICOM_PREFIX_LEN && memcmp(b + 128, "DICM", 4) == 0) {
		*start = MV_DICOM_PREFIX_LEN;
		return 1;
	}
	if (len < MV_DICOM_PREFIX_LEN && file_size >= MV_DICOM_PREFIX_LEN)
		return -1;
	*flags |= MV_DICOM_F_NO_PREAMBLE;
	if (len >= 4 && memcmp(b, "DICM", 4) == 0) {
		*start = 4;
		return 1;
	}
	if (len < 8)
		return file_size > len ? -1 : 0;
	*start = 0;
	if (get16(b, 0) == 0x0002 && vr_kind(VR(b[4], b[5])))
		return 1;
	/* no meta: a plausible first element of group 0008 */
	*meta = 0;
	*flags |= MV_DICOM_F_NO_META;
	if (get16(b, 0) != 0x0008 || get16(b + 2, 0) > 0x0020)
		return 0;
	int k = vr_kind(VR(b[4], b[5]));
	uint64_t end;
	if (k == 2 && len < 12)
		return file_size > len ? -1 : 0;
	if (k == 2)
		end = 12 + (uint64_t)get32(b + 8, 0);
	else if (k == 1)
		end = 8 + (uint64_t)get16(b + 6, 0);
	else
		end = 8 + (uint64_t)get32(b + 4, 0);
	if (end > file_size || (k == 0 && end > 8 + 1024))
		return 0;
	if (end + 2 <= file_size && end + 2 > len) { /* the next element decides */
		ps->need = end + 2;
		return -1;
	}
	if (end + 2 <= len && get16(b + end, 0) < 0x0008)
		return 0;
	ps->top.implicit = k == 0;
	return 1;
}

/* Converts the kept values into out, once the character set is known. */
static void finish(struct parse *ps)
{
	struct mv_dicom_info *o = ps->out;
	const struct raw *cs_raw = &ps->raw[R_CHARSET];
	enum mv_dicom_charset cs = MV_DICOM_CS_ASCII;

	if (cs_raw->present)
		cs = mv_dicom_charset_of(cs_raw->v, cs_raw->len);
	if (cs == MV_DICOM_CS_OTHER)
		o->flags |= MV_DICOM_F_CHARSET_UNSUPPORTED;
	if (!ps->raw[R_SOP_CLASS].present)
		ps->raw[R_SOP_CLASS] = ps->raw[R_META_CLASS];
	if (!ps->raw[R_SOP_UID].present)
		ps->raw[R_SOP_UID] = ps->raw[R_META_SOP];
	for (size_t i = 0; i < R_NSTRINGS; i++) {
		const struct raw *r = &ps->raw[i];
		if (r->present &&
		    mv_dicom_to_utf8(r->v, r->len, cs, (char *)o + fields[i].off, fields[i].size))
			o->flags |= MV_DICOM_F_CHARSET_UNSUPPORTED;
	}
	if (ps->raw[R_META_TS].present)
		(void)mv_dicom_to_utf8(ps->raw[R_META_TS].v, ps->raw[R_META_TS].len,
		                       MV_DICOM_CS_ASCII, o->transfer_syntax,
		                       sizeof(o->transfer_syntax));
	if (raw_is(&ps->raw[R_META_CLASS], DICOMDIR_CLASS) ||
	    raw_is(&ps->raw[R_SOP_CLASS], DICOMDIR_CLASS))
		o->flags |= MV_DICOM_F_DICOMDIR;
}

/* Sets the data set syntax from the meta header's transfer syntax. */
static void choose_syntax(struct parse *ps)
{
	const struct raw *ts = &ps->raw[R_META_TS];

	ps->top = (struct syntax){0, 0};
	if (!ts->present) {
		ps->out->flags |= MV_DICOM_F_MALFORMED;
	} else if (raw_is(ts, TS_IMPLICIT)) {
		ps->top.implicit = 1;
	} else if (raw_is(ts, TS_BIG)) {
		ps->top.big = 1;
	} else if (raw_is(ts, TS_DEFLATED)) {
		ps->out->flags |= MV_DICOM_F_DEFLATED;
	} else if (!raw_is(ts, TS_EXPLICIT)) {
		ps->out->encapsulated = 1; /* compressed TS; corrected by the pixel data */
	}
}

int mv_dicom_parse(const uint8_t *buf, size_t len, uint64_t file_size, struct mv_dicom_info *out,
                   size_t *need_more)
{
	struct parse ps;
	size_t start = 0;
	int meta, rc;

	memset(out, 0, sizeof(*out));
	if (need_more)
		*need_more = 0;
	if (!buf)
		len = 0;
	if (file_size < len)
		file_size = len;
	memset(&ps, 0, sizeof(ps));
	ps.out = out;
	ps.file_size = file_size;
	ps.p = buf;
	ps.n = len;
	ps.more = len < file_size;

	rc = detect(buf, len, file_size, &start, &meta, &ps);
	if (rc <= 0) {
		if (rc < 0 && !ps.need)
			ps.need = MV_DICOM_PREFIX_LEN;
		memset(out, 0, sizeof(*out));
		rc = 0;
		goto out;
	}
	ps.pos = start;
	if (meta) {
		ps.meta = 1;
		rc = walk(&ps);
		ps.meta = 0;
		if (rc != W_END)
			goto done;
		if (ps.pos == ps.n && !ps.more) { /* meta header only */
			out->flags |= MV_DICOM_F_TRUNCATED;
			goto done;
		}
		choose_syntax(&ps);
	} else {
		/* ps.top set by detect() */
		(void)mv_dicom_to_utf8(
		    (const uint8_t *)(ps.top.implicit ? TS_IMPLICIT : TS_EXPLICIT),
		    ps.top.implicit ? sizeof(TS_IMPLICIT) - 1 : sizeof(TS_EXPLICIT) - 1,
		    MV_DICOM_CS_ASCII, out->transfer_syntax, sizeof(out->transfer_syntax));
	}
	if (out->flags & MV_DICOM_F_DEFLATED) {
		ps.inflated = 1;
		rc = walk_deflated(&ps, buf + ps.pos, len - ps.pos, len);
		if (rc < 0) {
			memset(out, 0, sizeof(*out));
			return rc;
		}
	} else {
		sniff(&ps);
		rc = walk(&ps);
	}
done:
	if (rc != W_NEED)
		ps.need = 0;
	finish(&ps);
	rc = 1;
out:
	if (need_more && ps.need) {
		uint64_t want = ps.need;
		if (want < (uint64_t)len * 2)
			want = (uint64_t)len * 2;
		if (want > file_size)
			want = file_size;
		if (want > len)
			*need_more = want > SIZE_MAX ? SIZE_MAX : (size_t)want;
	}
	return rc;
}
