/* A parser of Linux's /proc/net/tcp and /proc/net/tcp6 text (for `audit`).
 *
 * Works on memory buffers only (the caller reads the file), so it can be
 * tested on sample text and fuzzed. Each line after the header looks like
 *
 *   0: 0100007F:0CE9 00000000:0000 0A 00000000:00000000 00:00000000 00000000  0  0 12345 ...
 *
 * slot, local address:port, remote address:port, state, tx:rx queues,
 * timer, retransmits, uid, timeout, inode. Ports are plain hexadecimal
 * numbers. Addresses are the kernel's 32-bit words printed with %08X in the
 * byte order of the host: on a little-endian host (x86, little-endian ARM)
 * 127.0.0.1 reads "0100007F"; IPv6 addresses are four such words. The
 * caller says which order the text has (MV_PROCNET_NATIVE for the running
 * host). */
#ifndef MV_FMT_PROCNET_H
#define MV_FMT_PROCNET_H

#include <stddef.h>
#include <stdint.h>

#include "formats/fmt_err.h"

/* Lines longer than this are malformed (real ones are about 150 bytes). */
#define MV_PROCNET_LINE_MAX 1024u

/* TCP states as the kernel numbers them (include/net/tcp_states.h). */
enum { MV_PROCNET_ESTABLISHED = 0x01, MV_PROCNET_LISTEN = 0x0A };

enum mv_procnet_order { MV_PROCNET_LE = 0, MV_PROCNET_BE = 1 };

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define MV_PROCNET_NATIVE MV_PROCNET_BE
#else
#define MV_PROCNET_NATIVE MV_PROCNET_LE
#endif

/* Room for an address written by mv_procnet_addr_str with its port:
 * "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535". */
#define MV_PROCNET_ADDR_STRLEN 56

struct mv_procnet_entry {
	int family; /* 4 (tcp) or 6 (tcp6) */
	/* addresses in network byte order; IPv4 in the first 4 bytes, the
	 * other 12 zero */
	uint8_t local[16];
	uint16_t local_port;
	uint8_t remote[16];
	uint16_t remote_port;
	uint8_t state; /* MV_PROCNET_LISTEN for a listening socket */
	uint32_t uid;
	uint64_t inode;
};

/* Parses one line (without its newline); fields after the inode are not
 * looked at.
 * family is 4 or 6 (the file it came from). Returns 1 with *out filled,
 * 0 for the header line ("  sl  local_address ...") or a blank line,
 * MV_FMT_MALFORMED (*out zeroed). Never reads past line[len). */
int mv_procnet_parse_line(const char *line, size_t len, int family, enum mv_procnet_order order,
                          struct mv_procnet_entry *out) __attribute__((nonnull(5)));

/* Parses the complete lines of buf[0..len), calling cb for each entry;
 * with `final`, text after the last newline is a line too. cb returning
 * non-zero stops the parse and is returned; else 0. *consumed (may be
 * NULL) is set to the bytes parsed: up to and including the last newline
 * (all of len when final), so that a caller reading in chunks keeps the
 * rest. Malformed lines (also those longer than MV_PROCNET_LINE_MAX) are
 * skipped and counted in *malformed (may be NULL; added to). */
int mv_procnet_parse(const char *buf, size_t len, int final, int family,
                     enum mv_procnet_order order,
                     int (*cb)(void *arg, const struct mv_procnet_entry *e), void *arg,
                     size_t *consumed, size_t *malformed) __attribute__((nonnull(6)));

/* 1 when the address is loopback: 127.0.0.0/8, ::1, or ::ffff:127.x.x.x. */
int mv_procnet_is_loopback(int family, const uint8_t addr[16]);
/* 1 when the address is the wildcard (every interface): 0.0.0.0, ::, or
 * ::ffff:0.0.0.0. */
int mv_procnet_is_any(int family, const uint8_t addr[16]);

/* "127.0.0.1:104", "[::]:11112", "[::ffff:10.0.0.2]:4242" into out. */
void mv_procnet_addr_str(int family, const uint8_t addr[16], uint16_t port,
                         char out[MV_PROCNET_ADDR_STRLEN]);

#endif
