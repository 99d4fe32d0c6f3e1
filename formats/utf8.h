/* UTF-8 sequences, checked strictly. */
#ifndef MV_FMT_UTF8_H
#define MV_FMT_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length (1 to 4) of the valid UTF-8 sequence at s[0..n), its code point in
 * *cp when cp is not NULL; 0 when n is 0 or the sequence is invalid
 * (overlong forms, surrogates, above U+10FFFF, cut short). */
size_t mv_utf8_decode(const uint8_t *s, size_t n, uint32_t *cp);

#endif
