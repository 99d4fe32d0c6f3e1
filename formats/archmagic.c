#include "formats/archmagic.h"

#include <string.h>

/* An old tar header without the "ustar" magic: a valid checksum. */
static int old_tar(const uint8_t *b)
{
	uint64_t want = 0, sum = 0;
	int digits = 0;

	for (int i = 148; i < 156; i++) {
		if (b[i] >= '0' && b[i] <= '7' && digits < 8) {
			want = want * 8 + (uint64_t)(b[i] - '0');
			digits++;
		} else if (b[i] != ' ' && b[i] != '\0') {
			return 0;
		} else if (digits) {
			break;
		}
	}
	if (!digits || b[0] == '\0')
		return 0;
	for (int i = 0; i < 512; i++)
		sum += (i >= 148 && i < 156) ? ' ' : b[i];
	return sum == want;
}

enum mv_archive_kind mv_archive_magic(const uint8_t *p, size_t n)
{
	static const struct {
		const char *magic;
		size_t len;
		enum mv_archive_kind kind;
	} magics[] = {
	    {"PK\3\4", 4, MV_ARCH_ARCHIVE},
	    {"PK\5\6", 4, MV_ARCH_ARCHIVE},
	    {"PK\7\10", 4, MV_ARCH_ARCHIVE},
	    {"7z\xbc\xaf\x27\x1c", 6, MV_ARCH_ARCHIVE},
	    {"\x1f\x8b", 2, MV_ARCH_COMPRESSED},
	    {"BZh", 3, MV_ARCH_COMPRESSED},
	    {"\xfd"
	     "7zXZ",
	     6, MV_ARCH_COMPRESSED},
	    {"\x28\xb5\x2f\xfd", 4, MV_ARCH_COMPRESSED},
	    {"\x04\x22\x4d\x18", 4, MV_ARCH_COMPRESSED},
	    {"\x1f\x9d", 2, MV_ARCH_COMPRESSED},
	    {"\x5d\0\0", 3, MV_ARCH_COMPRESSED},
	};

	for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++)
		if (n >= magics[i].len && memcmp(p, magics[i].magic, magics[i].len) == 0)
			return magics[i].kind;
	if (n >= 512 && (memcmp(p + 257, "ustar", 5) == 0 || old_tar(p)))
		return MV_ARCH_ARCHIVE;
	if (n >= MV_ISO_MAGIC_AT + 5 && memcmp(p + MV_ISO_MAGIC_AT, "CD001", 5) == 0)
		return MV_ARCH_ARCHIVE;
	return MV_ARCH_NONE;
}
