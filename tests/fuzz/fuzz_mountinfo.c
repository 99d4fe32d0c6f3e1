/* libFuzzer target: one /proc/self/mountinfo line (formats/mountinfo.c).
 * Every field of a parsed line must be a string inside the input copy. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/mountinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = malloc(size + 1);
	struct mv_mountinfo m;

	if (!line)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	if (mv_mountinfo_parse_line(line, &m) == 1) {
		const char *f[] = {m.root,   m.mount_point, m.mount_opts,
		                   m.fstype, m.source,      m.super_opts};
		for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
			if (!f[i] || f[i] < line || f[i] > line + size || strlen(f[i]) > size)
				abort();
		}
		(void)mv_mountinfo_has_opt(m.super_opts, "data=journal");
	}
	free(line);
	return 0;
}
