/* The ATA answer decoders (formats/ata.c): IDENTIFY DEVICE words and the
 * ATA Status Return sense descriptor of READ NATIVE MAX ADDRESS, on
 * answers built as ACS-3 and SAT-3 lay them out. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "formats/ata.h"

static void put_word(uint8_t *id, unsigned w, unsigned v)
{
	id[2 * w] = (uint8_t)v;
	id[2 * w + 1] = (uint8_t)(v >> 8);
}

/* A 48-bit disk of `sectors` user sectors, HPA supported and enabled. */
static void identify(uint8_t id[MV_ATA_IDENTIFY_LEN], uint64_t sectors)
{
	memset(id, 0, MV_ATA_IDENTIFY_LEN);
	put_word(id, 0, 0x0040);
	put_word(id, 82, 1u << 10);
	put_word(id, 83, 0x4000u | 1u << 10);
	put_word(id, 85, 1u << 10);
	put_word(id, 87, 0x4000u);
	put_word(id, 60, 0xffff);
	put_word(id, 61, 0x0fff);
	for (unsigned i = 0; i < 4; i++)
		put_word(id, 100 + i, (unsigned)(sectors >> (16 * i)) & 0xffff);
}

static void test_ata__identify(void **state)
{
	(void)state;
	uint8_t id[MV_ATA_IDENTIFY_LEN];
	struct mv_ata_identify a;

	identify(id, 1953525168ull); /* a 1 TB disk */
	assert_int_equal(mv_ata_identify_decode(id, sizeof(id), &a), 0);
	assert_true(a.lba48);
	assert_true(a.hpa_supported);
	assert_true(a.hpa_enabled);
	assert_int_equal(a.user_sectors, 1953525168ull);

	/* 28-bit only: words 60-61 */
	put_word(id, 83, 0x4000u);
	assert_int_equal(mv_ata_identify_decode(id, sizeof(id), &a), 0);
	assert_false(a.lba48);
	assert_int_equal(a.user_sectors, 0x0fffffffull);

	/* short, not ATA (word 0 bit 15: ATAPI), words 82-83 not valid */
	assert_int_equal(mv_ata_identify_decode(id, 511, &a), MV_FMT_MALFORMED);
	put_word(id, 0, 0x8580);
	assert_int_equal(mv_ata_identify_decode(id, sizeof(id), &a), MV_FMT_MALFORMED);
	put_word(id, 0, 0x0040);
	put_word(id, 83, 0xffff);
	assert_int_equal(mv_ata_identify_decode(id, sizeof(id), &a), MV_FMT_MALFORMED);
	assert_int_equal(mv_ata_identify_decode(NULL, 512, &a), MV_FMT_MALFORMED);
}

/* Descriptor-format sense with one ATA Status Return descriptor holding
 * lba (48-bit when ext), after a descriptor of another kind. */
static size_t sense(uint8_t *s, uint64_t lba, int ext, uint8_t status)
{
	memset(s, 0, 64);
	s[0] = 0x72;
	s[1] = 0x01; /* recovered error */
	s[2] = 0x00;
	s[3] = 0x1d; /* ATA pass-through information available */
	s[7] = 4 + 14;
	uint8_t *o = s + 8; /* an information descriptor, skipped */
	o[0] = 0x00;
	o[1] = 2;
	uint8_t *d = s + 12;
	d[0] = 0x09;
	d[1] = 0x0c;
	d[2] = ext ? 1 : 0;
	d[7] = (uint8_t)lba;
	d[9] = (uint8_t)(lba >> 8);
	d[11] = (uint8_t)(lba >> 16);
	if (ext) {
		d[6] = (uint8_t)(lba >> 24);
		d[8] = (uint8_t)(lba >> 32);
		d[10] = (uint8_t)(lba >> 40);
	} else {
		d[12] = (uint8_t)(0x40 | ((lba >> 24) & 0x0f));
	}
	d[13] = status;
	return 8 + 4 + 14;
}

static void test_ata__native_max(void **state)
{
	(void)state;
	uint8_t s[64];
	uint64_t n;
	size_t len;

	len = sense(s, 1953525167ull, 1, 0x50);
	assert_int_equal(mv_ata_sense_native_max(s, len, &n), 0);
	assert_int_equal(n, 1953525168ull);
	len = sense(s, 0x0abcdefull, 0, 0x50);
	assert_int_equal(mv_ata_sense_native_max(s, len, &n), 0);
	assert_int_equal(n, 0x0abcdefull + 1);

	/* the command failed (ERR), cut short, fixed-format sense, no descriptor */
	len = sense(s, 100, 1, 0x51);
	assert_int_equal(mv_ata_sense_native_max(s, len, &n), MV_FMT_MALFORMED);
	len = sense(s, 100, 1, 0x50);
	assert_int_equal(mv_ata_sense_native_max(s, len - 1, &n), MV_FMT_MALFORMED);
	s[0] = 0x70;
	assert_int_equal(mv_ata_sense_native_max(s, len, &n), MV_FMT_MALFORMED);
	s[0] = 0x72;
	s[12] = 0x0a;
	assert_int_equal(mv_ata_sense_native_max(s, len, &n), MV_FMT_MALFORMED);
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ata__identify),
	    cmocka_unit_test(test_ata__native_max),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
