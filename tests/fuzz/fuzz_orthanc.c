/* libFuzzer target: the Orthanc configuration scanner (core/medical/audit_orthanc.c).
 *
 * Scans the input as a configuration file; the result must be the same when
 * scanned twice, the values must be in their ranges, and the findings for
 * it must be produced without error. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/medical/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int in_range(int v)
{
	return v >= MV_ORTHANC_ABSENT && v <= MV_ORTHANC_OTHER;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mv_orthanc_conf a, b;
	mv_orthanc_conf_init(&a);
	mv_orthanc_conf_init(&b);
	int ra = mv_orthanc_conf_scan((const char *)data, size, &a);
	int rb = mv_orthanc_conf_scan((const char *)data, size, &b);
	if (ra != rb || (ra != 0 && ra != -1) || memcmp(&a, &b, sizeof(a)) != 0)
		abort();
	if (!in_range(a.remote_access) || !in_range(a.authentication) || !in_range(a.ssl) ||
	    !in_range(a.dicom_server) || !in_range(a.always_echo) || !in_range(a.check_called_aet))
		abort();
	if (a.users < -2 || a.users > 1000000 || a.files != 1)
		abort();
	struct mv_audit_report r;
	mv_audit_report_init(&r);
	if (mv_audit_orthanc_findings(&r, "fuzz.json", &a) != 0)
		abort();
	mv_audit_report_release(&r);
	return 0;
}
