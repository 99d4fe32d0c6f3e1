/* The bytes of `audit`'s network probe: a DICOM association request to
 * send, and decoders of what a listening service answers to it and to an
 * HTTP "GET /system" (Orthanc's REST API). Memory buffers only, so that
 * every decoder can be tested on sample bytes and fuzzed; the answers come
 * from any program listening on the machine and are hostile: nothing is
 * read past len, no length field is trusted, nothing is allocated.
 *
 * DICOM upper layer (PS3.8 section 9.3): every PDU starts with a type byte,
 * a reserved byte and a 32-bit big-endian length of what follows. The
 * request is an A-ASSOCIATE-RQ (type 0x01) proposing one presentation
 * context: the Verification SOP class (1.2.840.10008.1.1) in Implicit VR
 * Little Endian. A DICOM service answers A-ASSOCIATE-AC (0x02), -RJ (0x03)
 * or A-ABORT (0x07); anything else is not DICOM. */
#ifndef MV_FMT_NETPROBE_H
#define MV_FMT_NETPROBE_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of an answer looked at (the caller reads at most this many). */
#define MV_PROBE_ANSWER_MAX 8192u
/* Room for the association request built below. */
#define MV_PROBE_DICOM_RQ_MAX 512u

/* The decoders' results. */
enum {
	MV_PROBE_NO = 0,   /* not this protocol */
	MV_PROBE_YES = 1,  /* recognised: the info struct is filled */
	MV_PROBE_MORE = 2, /* could be; more bytes are needed to say */
};

/* Builds the A-ASSOCIATE-RQ into out[0..cap): called and calling AE
 * titles of 1 to 16 printable ASCII characters without backslash (padded
 * with spaces). Returns its length, or 0 when cap is too small or a title
 * is invalid. */
size_t mv_probe_dicom_request(uint8_t *out, size_t cap, const char *called_aet,
                              const char *calling_aet);

/* The 10-byte A-ABORT that ends the probe's association politely. */
#define MV_PROBE_DICOM_ABORT_LEN 10u
void mv_probe_dicom_abort(uint8_t out[MV_PROBE_DICOM_ABORT_LEN]);

enum mv_probe_dicom_kind {
	MV_PROBE_DICOM_ACCEPT = 1, /* A-ASSOCIATE-AC */
	MV_PROBE_DICOM_REJECT = 2, /* A-ASSOCIATE-RJ */
	MV_PROBE_DICOM_ABORT = 3,  /* A-ABORT */
};

struct mv_probe_dicom_info {
	enum mv_probe_dicom_kind kind;
	/* ACCEPT: 1 when the Verification context was accepted (result 0),
	 * 0 when refused or not found in the bytes read */
	int verification_accepted;
	/* ACCEPT: the AE title the service answered as (spaces trimmed,
	 * printable ASCII only, else '?') */
	char called_aet[17];
	/* REJECT: result (1 permanent, 2 transient), source (1-3), reason;
	 * ABORT: source and reason */
	uint8_t result, source, reason;
};

/* Decodes the first bytes a service sent back to the request. final: no
 * more bytes will come (connection closed, buffer full, timeout). Returns
 * MV_PROBE_YES (info filled), MV_PROBE_NO, or MV_PROBE_MORE (only when not
 * final). */
int mv_probe_dicom_answer(const uint8_t *buf, size_t len, int final,
                          struct mv_probe_dicom_info *info) __attribute__((nonnull(4)));

/* Writes "GET /system HTTP/1.0" with Host (host:port as given; host is
 * put in brackets when it holds a ':'), Accept and Connection: close
 * headers. Returns its length, or 0 when cap is too small or host holds
 * bytes that are not allowed in a header. */
size_t mv_probe_http_request(char *out, size_t cap, const char *host, uint16_t port);

struct mv_probe_http_info {
	int status; /* the HTTP status code (100-999) */
	/* 1 when the answer is Orthanc's: a 200 whose JSON body has
	 * "DicomAet" and "Version" string members (or "ApiVersion"), or a
	 * 401 whose WWW-Authenticate realm names Orthanc */
	int orthanc;
	int auth_required; /* 401 or 403: a password is asked */
	/* from the JSON body (printable ASCII, else '?'; "" when absent) */
	char name[64], version[32], dicom_aet[17];
};

/* Decodes an HTTP answer (status line, headers, body) to the request
 * above. Returns MV_PROBE_YES when it is HTTP (info filled; orthanc says
 * whether it is Orthanc), MV_PROBE_NO when not, MV_PROBE_MORE while the
 * headers or the announced body are incomplete (not final). */
int mv_probe_http_answer(const uint8_t *buf, size_t len, int final, struct mv_probe_http_info *info)
    __attribute__((nonnull(4)));

#endif
