/* Password strength and generated passphrases (docs/SECURITY.md 2.3).
 *
 * CNIL's 2022 threshold for a password used alone is about 80 bits of
 * entropy; its examples, which medvault applies: 12+ characters of four
 * classes (lower case, upper case, digits, others), 14+ characters of three
 * classes, or a passphrase of 7+ words (random words from a list of 2,800
 * or more: medvault cannot see whether words were chosen at random, so it
 * asks for 7 different words of 3+ letters, and offers a generated one). */
#ifndef MV_PASSPHRASE_H
#define MV_PASSPHRASE_H

#include <stddef.h>

#include "core/util/err.h"

#define MV_PASSPHRASE_WORDS 7 /* words of a generated passphrase */
/* A password this long, of two kinds of characters or more (word
 * separators not counted: words are the passphrase rule's) and ten
 * different characters at least, is taken for a generated key ('openssl rand
 * -hex 32': 64 characters, 256 bits) and accepted as it is. */
#define MV_PASSWORD_LONG 32
/* Bytes a passphrase of MV_PASSPHRASE_WORDS words needs, NUL included. */
#define MV_PASSPHRASE_CAP (MV_PASSPHRASE_WORDS * 10 + 1)

struct mv_pw_strength {
	size_t chars;                     /* characters (UTF-8 code points) */
	int lower, upper, digit, special; /* 1 when that class occurs */
	int classes;                      /* how many of the four */
	size_t words;                     /* different words of 3+ letters */
	int strong;                       /* meets one of the four rules */
};

/* Measures pw[0..len). */
void mv_password_assess(const char *pw, size_t len, struct mv_pw_strength *out);

/* 1 when pw meets the threshold above, 0 otherwise. */
int mv_password_strong(const char *pw, size_t len);

/* Writes a passphrase of `words` random words of the list (libsodium's
 * randombytes_uniform) joined by '-' into out (cap bytes, NUL-terminated;
 * sodium memory for a passphrase that will be used). Returns its length,
 * or MV_ERR_USAGE when words < MV_PASSPHRASE_WORDS or cap is too small. */
int mv_passphrase_generate(unsigned words, char *out, size_t cap) MV_MUST_CHECK;

/* The number of words in the list, and the bits of entropy of a
 * generated passphrase of `words` words, rounded down. */
size_t mv_passphrase_list_size(void);
unsigned mv_passphrase_bits(unsigned words);

#endif
