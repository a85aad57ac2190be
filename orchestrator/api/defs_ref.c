/*
 * defs_ref.c: the daemon's current definitions behind a reference count.
 * A reload (SIGHUP) loads and validates a whole new set first; only a set
 * without a single error replaces the old one, which lives on until the
 * last request or job using it lets go (relayd's "build the new state
 * completely before swapping it in").
 */
#include <string.h>

#include "tssrlabd.h"

tl_defs_ref *tl_daemon_defs_get(tl_daemon *d)
{
	pthread_mutex_lock(&d->defs_lock);
	tl_defs_ref *r = d->defs;
	if (r)
		r->refs++;
	pthread_mutex_unlock(&d->defs_lock);
	return r;
}

void tl_daemon_defs_put(tl_daemon *d, tl_defs_ref *ref)
{
	if (!ref)
		return;
	pthread_mutex_lock(&d->defs_lock);
	bool last = --ref->refs == 0;
	pthread_mutex_unlock(&d->defs_lock);
	if (last) {
		tl_defs_free(ref->defs);
		free(ref);
	}
}

int tl_daemon_defs_reload(tl_daemon *d, tl_error *err)
{
	const char *root =
	    d->cfg.definitions ? d->cfg.definitions : tl_defs_default_root();
	tl_diags diags = {0};
	tl_defs *defs = tl_defs_load(root, NULL, 0, &diags);
	if (!defs) {
		tl_buf b;
		tl_buf_init(&b, TL_ERROR_MAX - 1);
		tl_buf_printf(&b, "%s: %zu error%s, definitions not changed",
			      root, diags.n, diags.n == 1 ? "" : "s");
		for (size_t i = 0; i < diags.n; i++) {
			char *line = tl_diag_format(&diags.items[i]);
			tl_buf_printf(&b, "\n%s", line);
			free(line);
		}
		tl_error_set(err, "%s", b.data ? b.data : root);
		tl_buf_clear(&b);
		tl_diags_clear(&diags);
		return -1;
	}
	tl_diags_clear(&diags);
	tl_defs_ref *r = tl_xcalloc(1, sizeof *r);
	r->defs = defs;
	r->refs = 1; /* the daemon's own reference */
	pthread_mutex_lock(&d->defs_lock);
	tl_defs_ref *old = d->defs;
	d->defs = r;
	pthread_mutex_unlock(&d->defs_lock);
	tl_daemon_defs_put(d, old);
	return 0;
}
