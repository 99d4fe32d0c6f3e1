/* Password strength and generated passphrases (core/repo/passphrase.h). */
#include "core/repo/passphrase.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "core/repo/wordlist.h"

_Static_assert(MV_PASSPHRASE_CAP >= MV_PASSPHRASE_WORDS * (MV_WORD_MAX + 1) + 1,
               "passphrase capacity");

static int is_sep(unsigned char c)
{
	return c == ' ' || c == '-' || c == '_' || c == '.' || c == ',' || c == '\t';
}

static int is_letter(unsigned char c)
{
	/* ASCII letters, and the lead bytes of non-ASCII characters
	 * (accented letters: "forêt", "été") */
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0xc0;
}

/* 1 when the word pw[a..a+n) occurred before among the first words
 * recorded in seen (start, length). */
static int seen_before(const char *pw, const size_t (*seen)[2], size_t nseen, size_t a, size_t n)
{
	for (size_t i = 0; i < nseen; i++)
		if (seen[i][1] == n && memcmp(pw + seen[i][0], pw + a, n) == 0)
			return 1;
	return 0;
}

void mv_password_assess(const char *pw, size_t len, struct mv_pw_strength *out)
{
	size_t seen[16][2], nseen = 0;
	size_t start = 0, letters = 0, distinct = 0;
	int symbol = 0; /* a symbol other than the word separators */
	uint8_t byte_seen[256] = {0};

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i <= len; i++) {
		unsigned char c = i < len ? (unsigned char)pw[i] : ' ';
		if (i < len && !byte_seen[c]) {
			byte_seen[c] = 1;
			distinct++;
		}
		if (i < len && (c & 0xc0) != 0x80) {
			/* one character per UTF-8 lead byte (or ASCII byte) */
			out->chars++;
			if (c >= 'a' && c <= 'z')
				out->lower = 1;
			else if (c >= 'A' && c <= 'Z')
				out->upper = 1;
			else if (c >= '0' && c <= '9')
				out->digit = 1;
			else {
				out->special = 1;
				symbol |= !is_sep(c);
			}
		}
		if (!is_sep(c)) {
			if (is_letter(c))
				letters++;
			continue;
		}
		size_t n = i - start;
		if (letters >= 3 && !seen_before(pw, (const size_t(*)[2])seen, nseen, start, n)) {
			out->words++;
			if (nseen < 16) {
				seen[nseen][0] = start;
				seen[nseen][1] = n;
				nseen++;
			}
		}
		letters = 0;
		start = i + 1;
	}
	out->classes = out->lower + out->upper + out->digit + out->special;
	out->strong = (out->classes >= 4 && out->chars >= 12) ||
	              (out->classes >= 3 && out->chars >= 14) ||
	              out->words >= MV_PASSPHRASE_WORDS ||
	              (out->classes - (out->special && !symbol) >= 2 &&
	               out->chars >= MV_PASSWORD_LONG && distinct >= 10);
}

int mv_password_strong(const char *pw, size_t len)
{
	struct mv_pw_strength s;
	mv_password_assess(pw, len, &s);
	return s.strong;
}

int mv_passphrase_generate(unsigned words, char *out, size_t cap)
{
	size_t o = 0;

	if (cap > 0)
		out[0] = '\0';
	if (words < MV_PASSPHRASE_WORDS || words > 64 || cap < (size_t)words * (MV_WORD_MAX + 1))
		return MV_ERR_USAGE;
	for (unsigned i = 0; i < words; i++) {
		const char *w = mv_wordlist[randombytes_uniform((uint32_t)mv_wordlist_n)];
		size_t n = strnlen(w, MV_WORD_MAX);
		if (i > 0)
			out[o++] = '-';
		memcpy(out + o, w, n);
		o += n;
	}
	out[o] = '\0';
	return (int)o;
}

size_t mv_passphrase_list_size(void)
{
	return mv_wordlist_n;
}

unsigned mv_passphrase_bits(unsigned words)
{
	return (unsigned)(words * log2((double)mv_wordlist_n));
}
