#include "formats/mountinfo.h"

#include <string.h>

/* Undoes the kernel's octal escapes (mangle() in fs/proc_namespace.c: a
 * backslash and three octal digits) in place. */
static void unescape(char *s)
{
	char *o = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
}

/* The next space-separated field of [*p, end): NUL-terminated in place, *p
 * moved past it; NULL when none is left. */
static char *field(char **p, char *end)
{
	char *s = *p, *e;

	while (s < end && *s == ' ')
		s++;
	if (s >= end)
		return NULL;
	e = s;
	while (e < end && *e != ' ')
		e++;
	*e = '\0'; /* e == end: the NUL the caller put there */
	*p = e < end ? e + 1 : end;
	return s;
}

/* Parses a decimal number taking all of s; -1 when s is not one. */
static int number(const char *s, unsigned long *out)
{
	unsigned long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (~0UL - 9) / 10)
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	*out = v;
	return 0;
}

/* "MAJ:MIN" */
static int devnum(char *s, unsigned *maj, unsigned *min)
{
	char *colon = strchr(s, ':');
	unsigned long a, b;

	if (!colon)
		return -1;
	*colon = '\0';
	if (number(s, &a) || number(colon + 1, &b) || a > ~0U || b > ~0U)
		return -1;
	*maj = (unsigned)a;
	*min = (unsigned)b;
	return 0;
}

int mv_mountinfo_parse_line(char *line, struct mv_mountinfo *out)
{
	char *p = line, *end, *f[6], *sep;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (!line)
		return 0;
	end = line + strcspn(line, "\n");
	*end = '\0';
	for (i = 0; i < 6; i++) {
		if (!(f[i] = field(&p, end)))
			return i == 0 ? 0 : MV_FMT_MALFORMED;
	}
	/* optional fields ("shared:1", "master:2") up to the lone "-" */
	do {
		if (!(sep = field(&p, end)))
			return MV_FMT_MALFORMED;
	} while (strcmp(sep, "-") != 0);
	char *fstype = field(&p, end), *source = field(&p, end), *super_opts = field(&p, end);
	if (!fstype || !source || !super_opts || number(f[0], &out->mount_id) ||
	    number(f[1], &out->parent_id) || devnum(f[2], &out->major, &out->minor)) {
		memset(out, 0, sizeof(*out));
		return MV_FMT_MALFORMED;
	}
	out->root = f[3];
	out->mount_point = f[4];
	out->mount_opts = f[5];
	out->fstype = fstype;
	out->source = source;
	out->super_opts = super_opts;
	unescape(out->root);
	unescape(out->mount_point);
	unescape(out->source);
	return 1;
}

int mv_mountinfo_has_opt(const char *opts, const char *opt)
{
	size_t n = strlen(opt);

	if (!opts || n == 0)
		return 0;
	for (const char *p = opts; p;) {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		if (l == n && memcmp(p, opt, n) == 0)
			return 1;
		p = c ? c + 1 : NULL;
	}
	return 0;
}
