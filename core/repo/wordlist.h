/* The passphrase word list, generated at build time by
 * scripts/wordlist.cmake from a Debian package's list (the EFF large list
 * of the package diceware by default; CMake option MEDVAULT_WORDLIST):
 * words of 3 to MV_WORD_MAX lowercase ASCII letters, each once, at least
 * 2,800 of them. */
#ifndef MV_WORDLIST_H
#define MV_WORDLIST_H

#include <stddef.h>

#define MV_WORD_MAX 9

extern const char mv_wordlist[][MV_WORD_MAX + 1];
extern const size_t mv_wordlist_n;

#endif
