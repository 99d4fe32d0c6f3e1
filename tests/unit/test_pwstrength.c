/* Password strength and generated passphrases (core/repo/passphrase.c):
 * CNIL's 2022 threshold for a password used alone, as a table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/repo/passphrase.h"
#include "core/repo/wordlist.h"
#include "core/util/err.h"

struct pw_case {
	const char *pw;
	int strong;
	const char *why;
};

static const struct pw_case cases[] = {
    /* four classes: 12+ characters */
    {"Tr0ub4dor&3x", 1, "12 characters, 4 classes"},
    {"Tr0ub4dor&3", 0, "11 characters, 4 classes"},
    {"Correct-Horse-Battery-9", 1, "the e2e tests' password"},
    /* three classes: 14+ */
    {"Password123456", 1, "14 characters: lower, upper, digits"},
    {"Password12345", 0, "13 characters, 3 classes"},
    {"password-12345", 1, "14 characters: lower, symbol, digits"},
    {"Horse battery", 0, "13 characters, 3 classes, 2 words"},
    /* two classes or one: never enough on length alone */
    {"password12345678", 0, "16 characters, 2 classes"},
    {"abcdefghijklmnopqrstuvwxyz", 0, "26 lower-case letters, one word"},
    {"12345678901234567890", 0, "20 digits: about 66 bits"},
    {"", 0, "empty"},
    /* 32+ characters of two kinds, ten different: a generated key */
    {"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", 1, "64 hex digits"},
    {"9f86d081884c7d659a2feaa0c55ad015", 1, "32 hex digits"},
    {"9f86d081884c7d659a2feaa0c55ad01", 0, "31 hex digits"},
    {"ab12ab12ab12ab12ab12ab12ab12ab12ab12", 0, "36 characters, 4 different"},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0, "44 times the same letter"},
    {"abcdefghijklmnopqrstuvwxyzabcdefghijkl", 0, "38 lower-case letters: one kind"},
    /* passphrases: 7+ different words of 3+ letters */
    {"correct horse battery staple orange purple monkey", 1, "7 words, spaces"},
    {"correct-horse-battery-staple-orange-purple-monkey", 1, "7 words, dashes"},
    {"cat dog cow pig hen fox ant", 1, "7 words of 3 letters"},
    {"correct horse battery staple orange purple", 0, "6 words"},
    {"horse horse horse horse horse horse horse", 0, "one word 7 times"},
    {"cat dog cow pig hen fox cat", 0, "6 different words"},
    {"a b c d e f g h", 0, "8 one-letter words"},
    {"ab-cd-ef-gh-ij-kl-mn", 0, "two-letter words"},
    /* UTF-8: one character per code point, accented letters are letters */
    {"forêt été hiver lune soleil pluie neige", 1, "7 French words"},
    {"éééééééééééééé", 0, "14 characters of one class"},
    {"Éte-2024-forêt!", 1, "15 characters, 4 classes, accented"},
};

static void test_pwstrength__table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct pw_case *c = &cases[i];
		int got = mv_password_strong(c->pw, strlen(c->pw));
		if (got != c->strong)
			fail_msg("'%s' (%s): strong=%d, expected %d", c->pw, c->why, got,
			         c->strong);
	}
}

static void test_pwstrength__assess_counts(void **state)
{
	struct mv_pw_strength s;

	(void)state;
	mv_password_assess("Password12345", 13, &s);
	assert_int_equal(s.chars, 13);
	assert_int_equal(s.classes, 3);
	assert_true(s.lower && s.upper && s.digit);
	assert_false(s.special);
	assert_false(s.strong);
	mv_password_assess("été", strlen("été"), &s);
	assert_int_equal(s.chars, 3);
	assert_int_equal(s.words, 1);
	/* the length is honoured (no reliance on NUL) */
	assert_false(mv_password_strong("Tr0ub4dor&3xx", 11));
	assert_true(mv_password_strong("Tr0ub4dor&3xx", 12));
}

static void test_pwstrength__word_list(void **state)
{
	(void)state;
	/* CNIL: 7 words from a list of at least 2,800 */
	assert_true(mv_wordlist_n >= 2800);
	assert_int_equal(mv_passphrase_list_size(), mv_wordlist_n);
	assert_true(mv_passphrase_bits(MV_PASSPHRASE_WORDS) >= 80);
	for (size_t i = 0; i < mv_wordlist_n; i++) {
		size_t n = strnlen(mv_wordlist[i], MV_WORD_MAX + 1);
		assert_true(n >= 3 && n <= MV_WORD_MAX);
		for (size_t k = 0; k < n; k++)
			assert_true(mv_wordlist[i][k] >= 'a' && mv_wordlist[i][k] <= 'z');
		if (i > 0) /* each once (the list is sorted) */
			assert_true(strcmp(mv_wordlist[i - 1], mv_wordlist[i]) != 0);
	}
}

static void test_pwstrength__generated_passphrase_is_strong(void **state)
{
	char a[MV_PASSPHRASE_CAP], b[MV_PASSPHRASE_CAP];

	(void)state;
	int n = mv_passphrase_generate(MV_PASSPHRASE_WORDS, a, sizeof(a));
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(a));
	size_t dashes = 0;
	for (int i = 0; i < n; i++)
		dashes += a[i] == '-';
	assert_int_equal(dashes, MV_PASSPHRASE_WORDS - 1);
	/* random: two in a row differ (the chance they agree is 2^-90) */
	assert_true(mv_passphrase_generate(MV_PASSPHRASE_WORDS, b, sizeof(b)) > 0);
	assert_string_not_equal(a, b);
	/* a passphrase with a repeated word is weak: only count the strong
	 * verdict when the words are all different */
	struct mv_pw_strength s;
	mv_password_assess(a, (size_t)n, &s);
	assert_true(s.words == MV_PASSPHRASE_WORDS ? s.strong : 1);
	/* fewer words or too little room: refused */
	assert_int_equal(mv_passphrase_generate(MV_PASSPHRASE_WORDS - 1, a, sizeof(a)),
	                 MV_ERR_USAGE);
	assert_int_equal(mv_passphrase_generate(MV_PASSPHRASE_WORDS, a, 20), MV_ERR_USAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pwstrength__table),
	    cmocka_unit_test(test_pwstrength__assess_counts),
	    cmocka_unit_test(test_pwstrength__word_list),
	    cmocka_unit_test(test_pwstrength__generated_passphrase_is_strong),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
