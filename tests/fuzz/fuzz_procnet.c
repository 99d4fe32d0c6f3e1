/* libFuzzer target: /proc/net/tcp and tcp6 text (formats/procnet.c).
 *
 * The first input byte picks the family and byte order; the rest is parsed
 * whole and in two pieces (as a reader of a file in chunks would), which
 * must give the same entries. Every entry's addresses and ports must round
 * trip through mv_procnet_addr_str without overflow. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/procnet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct acc {
	uint64_t sum;
	size_t n;
};

static int collect(void *arg, const struct mv_procnet_entry *e)
{
	struct acc *a = arg;
	char s[MV_PROCNET_ADDR_STRLEN];
	mv_procnet_addr_str(e->family, e->local, e->local_port, s);
	if (!memchr(s, '\0', sizeof(s)))
		abort();
	for (size_t i = 0; i < 16; i++)
		a->sum = a->sum * 31 + e->local[i] + e->remote[i];
	a->sum = a->sum * 31 + e->local_port + e->state + e->inode;
	a->n++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int family = (data[0] & 1) ? 6 : 4;
	enum mv_procnet_order order = (data[0] & 2) ? MV_PROCNET_BE : MV_PROCNET_LE;
	const char *text = (const char *)data + 1;
	size_t len = size - 1;

	struct acc whole = {0}, parts = {0};
	size_t consumed = 0, bad = 0;
	mv_procnet_parse(text, len, 1, family, order, collect, &whole, &consumed, &bad);
	if (consumed != len)
		abort();
	/* in two pieces: the first call keeps its unfinished last line */
	size_t cut = len / 2, used = 0;
	mv_procnet_parse(text, cut, 0, family, order, collect, &parts, &used, NULL);
	if (used > cut)
		abort();
	mv_procnet_parse(text + used, len - used, 1, family, order, collect, &parts, NULL, NULL);
	if (whole.n != parts.n || whole.sum != parts.sum)
		abort();
	return 0;
}
