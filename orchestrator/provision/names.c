/*
 * names.c: how tssrlab names what it creates, and the small value types
 * allocation works with (IPv4 prefixes, MAC addresses, passwords).
 *
 * Every object of an instance is named "tl+<session>+<instance>+<object>".
 * Ids follow the definitions' rule (lowercase letters, digits, '.', '_',
 * '-') which has no '+', so a name splits back into its parts without
 * ambiguity; that is what lets reconcile trace a volume (which carries no
 * metadata) to its instance.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "prov-internal.h"

bool tl_prov_id_valid(const char *s)
{
	if (!s || !*s || strlen(s) > 64)
		return false;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (const char *c = s; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
		      *c == '.' || *c == '_' || *c == '-'))
			return false;
	return true;
}

/* RFC 1123 labels joined by dots: it ends up on the kernel command line,
 * so nothing else may pass. */
bool tl_prov_hostname_valid(const char *s)
{
	if (!s || !*s || strlen(s) > 253)
		return false;
	size_t label = 0;
	for (const char *c = s; *c; c++) {
		if (*c == '.') {
			if (label == 0 || c[-1] == '-')
				return false;
			label = 0;
			continue;
		}
		bool alnum = (*c >= 'a' && *c <= 'z') ||
			     (*c >= 'A' && *c <= 'Z') ||
			     (*c >= '0' && *c <= '9');
		if (!alnum && !(*c == '-' && label > 0))
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && s[strlen(s) - 1] != '-';
}

bool tl_prov_user_valid(const char *s)
{
	if (!s || !*s || strlen(s) > 32)
		return false;
	if (!((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return false;
	for (const char *c = s; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
		      *c == '_' || *c == '-'))
			return false;
	return true;
}

char *tl_prov_name(const char *session, const char *instance, const char *obj,
		   const char *suffix)
{
	return tl_xasprintf(TL_PROV_NAME_PREFIX "%s+%s+%s%s", session, instance,
			    obj, suffix ? suffix : "");
}

bool tl_prov_name_parse(const char *name, const char *suffix,
			char **ret_session, char **ret_instance, char **ret_obj)
{
	size_t plen = strlen(TL_PROV_NAME_PREFIX);
	if (strncmp(name, TL_PROV_NAME_PREFIX, plen) != 0)
		return false;
	const char *s = name + plen;
	size_t n = strlen(s);
	if (suffix) {
		size_t sl = strlen(suffix);
		if (n <= sl || strcmp(s + n - sl, suffix) != 0)
			return false;
		n -= sl;
	}
	const char *p1 = memchr(s, '+', n);
	if (!p1)
		return false;
	const char *p2 = memchr(p1 + 1, '+', (size_t)(s + n - p1 - 1));
	if (!p2 || memchr(p2 + 1, '+', (size_t)(s + n - p2 - 1)))
		return false;
	TL_AUTOFREE char *se = tl_xstrndup(s, (size_t)(p1 - s));
	TL_AUTOFREE char *in = tl_xstrndup(p1 + 1, (size_t)(p2 - p1 - 1));
	TL_AUTOFREE char *ob = tl_xstrndup(p2 + 1, (size_t)(s + n - p2 - 1));
	if (!tl_prov_id_valid(se) || !tl_prov_id_valid(in) ||
	    !tl_prov_id_valid(ob))
		return false;
	if (ret_session)
		*ret_session = TL_TAKE_PTR(se);
	if (ret_instance)
		*ret_instance = TL_TAKE_PTR(in);
	if (ret_obj)
		*ret_obj = TL_TAKE_PTR(ob);
	return true;
}

static uint32_t fnv1a(uint32_t h, const char *s)
{
	for (; s && *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	h ^= 0xff; /* word separator */
	h *= 16777619u;
	return h;
}

void tl_prov_mac(const char *a, const char *b, const char *c, unsigned n,
		 char ret[18])
{
	uint32_t h = 2166136261u;
	h = fnv1a(h, a);
	h = fnv1a(h, b);
	h = fnv1a(h, c);
	char num[16];
	snprintf(num, sizeof num, "%u", n);
	h = fnv1a(h, num);
	snprintf(ret, 18, "52:54:00:%02x:%02x:%02x", (h >> 16) & 0xff,
		 (h >> 8) & 0xff, h & 0xff);
}

char *tl_prov_password(size_t n, tl_error *err)
{
	/* no 0/O, 1/l/I: read aloud or copied from a screen in class */
	static const char alphabet[] = "abcdefghijkmnpqrstuvwxyz"
				       "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	const size_t k = sizeof alphabet - 1; /* 56 */
	char *pw = tl_xmalloc(n + 1);
	size_t i = 0;
	while (i < n) {
		unsigned char rnd[32];
		if (tl_random_bytes(rnd, sizeof rnd, err) < 0) {
			free(pw);
			return NULL;
		}
		/* rejection sampling keeps the draw uniform */
		for (size_t j = 0; j < sizeof rnd && i < n; j++)
			if (rnd[j] < 256 - 256 % k)
				pw[i++] = alphabet[rnd[j] % k];
	}
	pw[n] = '\0';
	return pw;
}

bool tl_prov_ip_parse(const char *s, uint32_t *ret)
{
	unsigned a, b, c, d;
	char tail;
	if (sscanf(s, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) != 4)
		return false;
	if (a > 255 || b > 255 || c > 255 || d > 255)
		return false;
	*ret = a << 24 | b << 16 | c << 8 | d;
	return true;
}

bool tl_prov_cidr_parse(const char *s, uint32_t *ret_addr, int *ret_prefix)
{
	const char *slash = strchr(s, '/');
	if (!slash || slash - s > 15)
		return false;
	char ip[16];
	memcpy(ip, s, (size_t)(slash - s));
	ip[slash - s] = '\0';
	int p;
	char tail;
	if (!tl_prov_ip_parse(ip, ret_addr) ||
	    sscanf(slash + 1, "%d%c", &p, &tail) != 1 || p < 0 || p > 32)
		return false;
	*ret_prefix = p;
	return true;
}

void tl_prov_ip_format(uint32_t a, char ret[16])
{
	snprintf(ret, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff,
		 (a >> 8) & 0xff, a & 0xff);
}

static uint32_t mask_of(int prefix)
{
	return prefix <= 0 ? 0 : 0xffffffffu << (32 - prefix);
}

bool tl_prov_subnets_overlap(uint32_t a, int pa, uint32_t b, int pb)
{
	uint32_t m = mask_of(pa < pb ? pa : pb);
	return (a & m) == (b & m);
}
