/*
 * reconcile.c: matching what libvirt holds with what the store says is
 * live, after a restart or a crash; and the whole-session operations
 * built on the same inventory.
 *
 * The daemon may die at any moment (DESIGN.md): half an instance may be
 * left behind, or a whole one whose session was closed while the daemon
 * was down. Reconcile lists every tssrlab object on every host (domains
 * and networks by their metadata, volumes by their name), asks the caller
 * once per (session, instance) whether it is live, rebuilds the live ones
 * as tl_prov_instance (adopted: the daemon manages them again) and removes
 * everything else. Instances this process is creating at that moment are
 * reserved, and left alone.
 */
#include <string.h>

#include "prov-internal.h"

typedef struct verdict {
	char *key;
	bool keep;
} verdict;

typedef struct recon {
	tl_prov_live_fn live;
	void *ud;
	char **busy; /* reserved in this process: "session/instance" */
	size_t n_busy;
	verdict *v;
	size_t n_v;
} recon;

static bool recon_busy(const recon *r, const char *key)
{
	for (size_t i = 0; i < r->n_busy; i++)
		if (!strcmp(r->busy[i], key))
			return true;
	return false;
}

/* The caller's verdict on (session, instance), asked once. */
static bool recon_live(recon *r, const tl_prov_obj *o)
{
	TL_AUTOFREE char *key = tl_xasprintf("%s/%s", o->session, o->instance);
	for (size_t i = 0; i < r->n_v; i++)
		if (!strcmp(r->v[i].key, key))
			return r->v[i].keep;
	bool keep = r->live ? r->live(r->ud, o->session, o->instance) : false;
	r->v = tl_xrealloc(r->v, (r->n_v + 1) * sizeof *r->v);
	r->v[r->n_v].key = TL_TAKE_PTR(key);
	r->v[r->n_v++].keep = keep;
	return keep;
}

static bool recon_keep(void *ud, const tl_prov_obj *o)
{
	recon *r = ud;
	TL_AUTOFREE char *key = tl_xasprintf("%s/%s", o->session, o->instance);
	return recon_busy(r, key) || recon_live(r, o);
}

static void recon_clear(recon *r)
{
	for (size_t i = 0; i < r->n_busy; i++)
		free(r->busy[i]);
	free(r->busy);
	for (size_t i = 0; i < r->n_v; i++)
		free(r->v[i].key);
	free(r->v);
	r->busy = NULL;
	r->v = NULL;
	r->n_busy = r->n_v = 0;
}

static int reconcile(tl_prov *p, tl_prov_live_fn live, void *ud, bool purge,
		     tl_prov_report *ret, tl_error *err)
{
	memset(ret, 0, sizeof *ret);
	int rc = 0;
	for (size_t hi = 0; hi < p->n_hosts; hi++) {
		tl_prov_host *h = p->hosts[hi];
		recon r = {.live = live, .ud = ud};
		tl_prov_scan s;
		pthread_mutex_lock(&p->mu);
		for (tl_prov_resv *rv = h->resv; rv; rv = rv->next) {
			r.busy = tl_xrealloc(r.busy,
					     (r.n_busy + 1) * sizeof *r.busy);
			r.busy[r.n_busy++] =
			    tl_xasprintf("%s/%s", rv->session, rv->instance);
		}
		int src = tl_prov_scan_host(h, &s, err);
		pthread_mutex_unlock(&p->mu);
		if (src < 0) {
			tl_error_prefix(err, "reconcile");
			recon_clear(&r);
			rc = -1;
			continue;
		}
		/* kept objects first, so the report reads in order */
		for (size_t i = 0; i < s.n_objs; i++) {
			const tl_prov_obj *o = &s.objs[i];
			TL_AUTOFREE char *key =
			    tl_xasprintf("%s/%s", o->session, o->instance);
			if (recon_busy(&r, key))
				tl_prov_report_add(ret, h->name, o,
						   TL_PROV_SKIPPED, NULL);
			else if (recon_live(&r, o))
				tl_prov_report_add(ret, h->name, o,
						   TL_PROV_ADOPTED, NULL);
		}
		if (purge && tl_prov_purge(h, &s, recon_keep, &r, ret, err) > 0)
			rc = -1;
		/* rebuild each live instance that has domains */
		for (size_t i = 0; i < r.n_v; i++) {
			if (!r.v[i].keep)
				continue;
			char *slash = strchr(r.v[i].key, '/');
			*slash = '\0';
			tl_error e = {{0}};
			tl_prov_instance *inst =
			    tl_prov_adopt(h, r.v[i].key, slash + 1, &e);
			*slash = '/';
			if (!inst) {
				tl_error_set(err, "reconcile: adopting %s: %s",
					     r.v[i].key, e.msg);
				rc = -1;
				continue;
			}
			ret->adopted = tl_xrealloc(
			    ret->adopted, (ret->n_adopted_instances + 1) *
					      sizeof *ret->adopted);
			ret->adopted[ret->n_adopted_instances++] = inst;
		}
		tl_prov_scan_clear(&s);
		recon_clear(&r);
	}
	return rc;
}

int tl_prov_reconcile(tl_prov *p, tl_prov_live_fn live, void *ud,
		      tl_prov_report *ret, tl_error *err)
{
	return reconcile(p, live, ud, true, ret, err);
}

int tl_prov_adopt_live(tl_prov *p, tl_prov_live_fn live, void *ud,
		       tl_prov_report *ret, tl_error *err)
{
	return reconcile(p, live, ud, false, ret, err);
}

typedef struct live_ids {
	const char *const *ids;
	size_t n;
} live_ids;

static bool live_in_list(void *ud, const char *session, const char *instance)
{
	const live_ids *l = ud;
	size_t sl = strlen(session);
	for (size_t i = 0; i < l->n; i++) {
		const char *id = l->ids[i];
		if (!strncmp(id, session, sl) && id[sl] == '/' &&
		    !strcmp(id + sl + 1, instance))
			return true;
	}
	return false;
}

int tl_prov_reconcile_ids(tl_prov *p, const char *const *live, size_t n_live,
			  tl_prov_report *ret, tl_error *err)
{
	live_ids l = {live, n_live};
	return tl_prov_reconcile(p, live_in_list, &l, ret, err);
}

int tl_prov_list(tl_prov *p, const char *session, tl_prov_report *ret,
		 tl_error *err)
{
	memset(ret, 0, sizeof *ret);
	for (size_t hi = 0; hi < p->n_hosts; hi++) {
		tl_prov_host *h = p->hosts[hi];
		tl_prov_scan s;
		if (tl_prov_scan_host(h, &s, err) < 0)
			return -1;
		for (size_t i = 0; i < s.n_objs; i++)
			if (!session || !strcmp(s.objs[i].session, session))
				tl_prov_report_add(ret, h->name, &s.objs[i],
						   TL_PROV_LISTED, NULL);
		tl_prov_scan_clear(&s);
	}
	return 0;
}

static bool keep_other_sessions(void *ud, const tl_prov_obj *o)
{
	return strcmp(o->session, (const char *)ud) != 0;
}

int tl_prov_session_destroy(tl_prov *p, const char *session,
			    tl_prov_report *ret, tl_error *err)
{
	tl_prov_report local = {0};
	if (!ret)
		ret = &local;
	else
		memset(ret, 0, sizeof *ret);
	int rc = 0;
	if (!tl_prov_id_valid(session))
		return tl_error_set(err, "session id \"%s\"",
				    session ? session : "");
	for (size_t hi = 0; hi < p->n_hosts; hi++) {
		tl_prov_host *h = p->hosts[hi];
		tl_prov_scan s;
		if (tl_prov_scan_host(h, &s, err) < 0) {
			rc = -1;
			continue;
		}
		if (tl_prov_purge(h, &s, keep_other_sessions, (void *)session,
				  ret, err) > 0)
			rc = -1;
		tl_prov_scan_clear(&s);
	}
	if (rc < 0)
		tl_error_prefix(err, "session %s", session);
	tl_prov_report_clear(&local);
	return rc;
}

char *tl_prov_object_xml(tl_prov *p, const char *host, tl_prov_obj_kind kind,
			 const char *name, tl_error *err)
{
	tl_prov_host *h = host ? tl_prov_host_find(p, host)
			       : (p->n_hosts ? p->hosts[0] : NULL);
	if (!h) {
		tl_error_set(err, "unknown host \"%s\"", host ? host : "");
		return NULL;
	}
	char *xml = NULL;
	if (kind == TL_PROV_OBJ_DOMAIN) {
		TL_AUTO(virDomain) d = virDomainLookupByName(h->conn, name);
		xml = d ? virDomainGetXMLDesc(d, 0) : NULL;
	} else if (kind == TL_PROV_OBJ_NETWORK) {
		TL_AUTO(virNetwork) n = virNetworkLookupByName(h->conn, name);
		xml = n ? virNetworkGetXMLDesc(n, 0) : NULL;
	} else {
		TL_AUTO(virStoragePool) pool = tl_prov_pool_get(h, err);
		if (!pool)
			return NULL;
		TL_AUTO(virStorageVol)
		v = virStorageVolLookupByName(pool, name);
		xml = v ? virStorageVolGetXMLDesc(v, 0) : NULL;
	}
	if (!xml)
		tl_prov_lv_error(err, "host %s: %s %s", h->name,
				 tl_prov_obj_kind_name(kind), name);
	return xml;
}
