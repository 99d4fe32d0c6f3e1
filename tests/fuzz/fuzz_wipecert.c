/* libFuzzer target: the wipe certificate verifier (core/wipe/sign.c).
 *
 * Any input must be either refused with MV_ERR_INTEGRITY, or accepted with
 * the certificate object inside the input, starting with '{' and ending
 * with '}', and its signer's fingerprint. Verification against a fixed
 * expected key is checked too: accepted only when the signer is that key.
 * Anything else abort()s. The seed corpus holds a valid certificate (see
 * tests/fuzz/corpus/fuzz_wipecert). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/wipe/sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t expected[MV_SIGN_PK_LEN] = {1, 2, 3};
	struct mv_cert_verified v;
	struct mv_error err;

	int rc = mv_cert_verify(data, size, NULL, &v, &err);
	if (rc != 0 && rc != MV_ERR_INTEGRITY && rc != MV_ERR_NOMEM)
		abort();
	if (rc == 0) {
		if (v.cert < data || v.cert_len < 2 || v.cert + v.cert_len > data + size ||
		    v.cert[0] != '{' || v.cert[v.cert_len - 1] != '}' ||
		    strlen(v.fingerprint) != MV_CERT_FPR_LEN)
			abort();
	} else if (v.cert) {
		abort();
	}
	int rc2 = mv_cert_verify(data, size, expected, &v, &err);
	if (rc2 == 0 && (rc != 0 || memcmp(v.pk, expected, sizeof(expected)) != 0))
		abort();
	return 0;
}
