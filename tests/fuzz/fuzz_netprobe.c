/* libFuzzer target: the answers of listening services to audit's probe
 * (formats/netprobe.c), i.e. bytes from any program on the machine.
 *
 * The first input byte picks the decoder (DICOM or HTTP) and whether the
 * answer is final; the rest is the answer. A final answer is never
 * "more needed"; every text field is NUL-terminated and printable; an
 * answer decoded in two steps (a prefix, then all of it) gives the same
 * result as all of it at once. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/netprobe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void printable(const char *s, size_t cap)
{
	const char *end = memchr(s, '\0', cap);
	if (!end)
		abort();
	for (; s < end; s++)
		if (*s < 0x20 || *s > 0x7e)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int http = data[0] & 1, final = (data[0] >> 1) & 1;
	const uint8_t *p = data + 1;
	size_t n = size - 1;

	if (n > MV_PROBE_ANSWER_MAX)
		n = MV_PROBE_ANSWER_MAX;
	if (http) {
		struct mv_probe_http_info a, b;
		int r = mv_probe_http_answer(p, n, final, &a);
		if ((final && r == MV_PROBE_MORE) || r < 0 || r > 2)
			abort();
		printable(a.name, sizeof(a.name));
		printable(a.version, sizeof(a.version));
		printable(a.dicom_aet, sizeof(a.dicom_aet));
		(void)mv_probe_http_answer(p, n / 2, 0, &b);
		if (mv_probe_http_answer(p, n, final, &b) != r || memcmp(&a, &b, sizeof(a)) != 0)
			abort();
		if (r == MV_PROBE_YES && (a.status < 100 || a.status > 999))
			abort();
	} else {
		struct mv_probe_dicom_info a, b;
		int r = mv_probe_dicom_answer(p, n, final, &a);
		if ((final && r == MV_PROBE_MORE) || r < 0 || r > 2)
			abort();
		printable(a.called_aet, sizeof(a.called_aet));
		(void)mv_probe_dicom_answer(p, n / 2, 0, &b);
		if (mv_probe_dicom_answer(p, n, final, &b) != r || memcmp(&a, &b, sizeof(a)) != 0)
			abort();
	}
	return 0;
}
