/*
 * hashes.c: the image's known binaries. tools/build-image writes, beside
 * each built image, hashes.json: an object mapping absolute paths inside
 * the guest ("/usr/bin/systemctl") to the SHA-256 of the file they resolve
 * to. The agent reports every tool it used with its path and SHA-256; a
 * tool is accepted when the image does not know it at all, or when its
 * hash is one the image has for that path or for a tool of that name (the
 * same binary reached through /bin or /usr/bin, or a busybox applet). A
 * tool the image knows whose hash is none of those was replaced: the run
 * is tampered.
 */
#include <string.h>

#include "probe-internal.h"

#define TL_HASHES_MAX_FILE    (1u << 20)
#define TL_HASHES_MAX_ENTRIES 4096

typedef struct tl_hash_entry {
	char *path;
	const char *base; /* into path */
	char sha[65];
} tl_hash_entry;

struct tl_probe_hashes {
	tl_hash_entry *e;
	size_t n;
};

void tl_probe_hashes_free(tl_probe_hashes *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n; i++)
		free(h->e[i].path);
	free(h->e);
	free(h);
}

static bool is_sha256(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

tl_probe_hashes *tl_probe_hashes_from_json(const char *text, size_t len,
					   tl_error *err)
{
	json_error_t je;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		tl_error_set(err, "line %d, column %d: %s", je.line, je.column,
			     je.text);
		return NULL;
	}
	if (!json_is_object(root) ||
	    json_object_size(root) > TL_HASHES_MAX_ENTRIES) {
		json_decref(root);
		tl_error_set(err,
			     "expected an object of at most %d \"path\": "
			     "\"sha256\" entries",
			     TL_HASHES_MAX_ENTRIES);
		return NULL;
	}
	tl_probe_hashes *h = tl_xcalloc(1, sizeof *h);
	h->e = tl_xcalloc(json_object_size(root) + 1, sizeof *h->e);
	const char *key;
	json_t *v;
	json_object_foreach (root, key, v) {
		const char *sha = json_string_value(v);
		if (key[0] != '/' || !sha || !is_sha256(sha)) {
			tl_error_set(err,
				     "entry \"%s\": expected an absolute "
				     "path and 64 lowercase hex digits",
				     key);
			json_decref(root);
			tl_probe_hashes_free(h);
			return NULL;
		}
		tl_hash_entry *e = &h->e[h->n++];
		e->path = tl_xstrdup(key);
		const char *slash = strrchr(e->path, '/');
		e->base = slash + 1;
		memcpy(e->sha, sha, 65);
	}
	json_decref(root);
	return h;
}

tl_probe_hashes *tl_probe_hashes_load(const char *path, tl_error *err)
{
	size_t len;
	TL_AUTOFREE char *text =
	    tl_file_read(path, TL_HASHES_MAX_FILE, &len, err);
	if (!text)
		return NULL;
	tl_probe_hashes *h = tl_probe_hashes_from_json(text, len, err);
	if (!h)
		tl_error_prefix(err, "%s", path);
	return h;
}

int tl_probe_hashes_check(const tl_probe_hashes *h, const char *name,
			  const char *path, const char *sha, char **ret_why)
{
	*ret_why = NULL;
	if (!h)
		return 0;
	const tl_hash_entry *known = NULL;
	for (size_t i = 0; i < h->n; i++) {
		const tl_hash_entry *e = &h->e[i];
		if (strcmp(e->path, path) && strcmp(e->base, name))
			continue;
		if (sha && !strcmp(sha, e->sha))
			return 0;
		if (!known || !strcmp(e->path, path))
			known = e;
	}
	if (!known)
		return 0;
	if (!sha || !*sha)
		*ret_why =
		    tl_xasprintf("%s could not be hashed on the machine, "
				 "but the image knows %s (%.12s...)",
				 path, known->path, known->sha);
	else
		*ret_why = tl_xasprintf("%s has sha256 %.12s..., not the "
					"image's %s (%.12s...): the binary was "
					"replaced",
					path, sha, known->path, known->sha);
	return -1;
}

size_t tl_probe_hashes_count(const tl_probe_hashes *h)
{
	return h ? h->n : 0;
}
