/* A readable PDF rendering of a wipe certificate (cairo), for a practice's
 * records: the NIST SP 800-88 fields as a table, totals, what the wipe could
 * not reach, the signer's fingerprint and how to verify the signed JSON, and
 * the list of files, on as many A4 pages as it takes. */
#ifndef MV_CLI_WIPEPDF_H
#define MV_CLI_WIPEPDF_H

#include "core/util/err.h"
#include "core/wipe/report.h"

/* Writes the PDF of rep to fd (not closed); fingerprint is the signer's
 * (mv_cert_fingerprint). Bytes that are not valid UTF-8, and control
 * characters, are shown as U+FFFD. Returns 0, MV_ERR_IO / MV_ERR_NOSPC
 * (writing fd failed) or MV_ERR_NOMEM (cairo failed). */
int cli_wipepdf_write(const struct mv_wipe_report *rep, const char *fingerprint, int fd,
                      struct mv_error *err) MV_MUST_CHECK;

#endif
