/* The wipe certificate: the certificate object written from a wipe's
 * report (fields after NIST SP 800-88 Rev. 1, Appendix G), signed
 * (core/wipe/sign.h), written as FILE.json with a readable FILE.pdf beside
 * it (cli/wipepdf.h), and verified (docs/CERTIFICATE.md). */
#ifndef MV_CLI_WIPECERT_H
#define MV_CLI_WIPECERT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/util/err.h"
#include "core/wipe/report.h"
#include "core/wipe/sign.h"

/* Shared by the JSON and the PDF: the status name of an item ("wiped",
 * "refused", "partial", "failed"), the NIST SP 800-88 method type ("Clear"
 * for an overwrite, "Purge" for a crypto-erase), the verification result
 * ("passed", "failed", "nothing overwritten"), a time as ISO 8601 UTC
 * ("2026-12-07T19:51:38Z"), and the items counted by status (count[s] for
 * each enum mv_wipe_status s, count[0] for unknown ones). */
#define CLI_WIPE_TIME_LEN 32
const char *cli_wipe_status_name(int status);
const char *cli_wipe_method_type(const struct mv_wipe_report *rep);
const char *cli_wipe_verification_result(const struct mv_wipe_report *rep);
char *cli_wipe_time_utc(int64_t t, char buf[CLI_WIPE_TIME_LEN]);
void cli_wipe_count(const struct mv_wipe_report *rep, size_t count[5]);

/* The certificate object of rep: JSON, indented to sit in the certificate
 * file, starting with '{' and ending with '}' (no newline after). *out is
 * malloc'd (NUL-terminated, *out_len bytes without the NUL). Returns 0 or
 * MV_ERR_NOMEM. */
int cli_wipecert_object(const struct mv_wipe_report *rep, char **out, size_t *out_len,
                        struct mv_error *err) MV_MUST_CHECK;

/* The whole signed certificate file of rep, signed with the key pair pk /
 * sk (64 bytes, core/wipe/sign.h): *out malloc'd, *out_len bytes. The
 * bytes that cli_wipecert_write puts in FILE.json, for keeping a copy in
 * the repository too. Returns 0, MV_ERR_LIMIT (larger than MV_CERT_MAX),
 * MV_ERR_USAGE (sk not matching pk), MV_ERR_NOMEM. */
int cli_wipecert_build(const struct mv_wipe_report *rep, const uint8_t pk[32], const uint8_t *sk,
                       uint8_t **out, size_t *out_len, struct mv_error *err) MV_MUST_CHECK;

/* The name of a certificate written without --certificate (in the
 * current folder): "medvault-wipe-YYYYMMDD-HHMMSSZ.json" for the UTC time t
 * (no ':' in it, which FAT file systems refuse). Returns buf. */
#define CLI_WIPECERT_NAME_LEN 48
char *cli_wipecert_default_name(int64_t t, char buf[CLI_WIPECERT_NAME_LEN]);

/* The PDF beside a certificate: "x.json" -> "x.pdf", any other name gets
 * ".pdf" appended. malloc'd; NULL when out of memory. */
char *cli_wipecert_pdf_path(const char *path);

/* Writes the signed certificate to path and its PDF rendering beside it
 * (cli_wipecert_pdf_path), each mode 0600 through a new temporary file in
 * the same folder (O_EXCL, fsync) renamed into place, then the folder
 * fsync'd. Neither file is replaced unless `overwrite`: MV_ERR_EXISTS
 * names the one that exists (and nothing is written). When the PDF fails
 * after the certificate was written, the certificate stays and the error
 * says so. Returns 0, MV_ERR_EXISTS, MV_ERR_IO, MV_ERR_NOSPC, MV_ERR_LIMIT,
 * MV_ERR_NOMEM. */
int cli_wipecert_write(const struct mv_wipe_report *rep, const uint8_t pk[32], const uint8_t *sk,
                       const char *path, int overwrite, struct mv_error *err) MV_MUST_CHECK;

/* Reads the certificate at path (a regular file, never through a symbolic
 * link, at most MV_CERT_MAX bytes) and verifies it; with expected_pk (the
 * repository's public key, mv_repo_sign_keypair) the signer must be that
 * key. On success prints to out the certificate object (escaped for a
 * terminal), then the signature's result and the signer's fingerprint and
 * public key. Returns 0, or MV_ERR_INTEGRITY on any failure, also when the
 * file cannot be read or memory runs out (err says what failed; the caller
 * exits 4: the certificate was not verified). */
int cli_wipecert_verify(const char *path, const uint8_t *expected_pk, FILE *out,
                        char fingerprint[MV_CERT_FPR_LEN + 1], struct mv_error *err) MV_MUST_CHECK;

#endif
