/*
 * lifecycle.c: what a trainer does to one machine of a running instance:
 * start, stop, reboot, and reset to the initial state.
 *
 * Reset is the trainee's "I broke it" button: the domain is powered off,
 * its overlay deleted and created again from the same XML (an empty linked
 * clone of the image), and the machine started and personalised again, so
 * it comes back with its hostname, the same trainee password and a new
 * host key (recorded in host_fp for pinning). The domain definition, its
 * ports and its networks do not change, so nothing else in the instance
 * notices.
 */
#include <string.h>
#include <time.h>

#include "prov-internal.h"

static tl_prov_host *host_of(tl_prov *p, tl_prov_instance *inst, tl_error *err)
{
	tl_prov_host *h =
	    inst->where ? inst->where : tl_prov_host_find(p, inst->host);
	if (!h)
		tl_error_set(err, "instance %s/%s: unknown host \"%s\"",
			     inst->session, inst->instance, inst->host);
	return h;
}

static virDomainPtr domain_of(tl_prov *p, tl_prov_instance *inst,
			      const char *machine, tl_prov_host **ret_h,
			      tl_prov_machine **ret_m, tl_error *err)
{
	tl_prov_host *h = host_of(p, inst, err);
	tl_prov_machine *m =
	    h ? tl_prov_machine_find(inst, machine, err) : NULL;
	if (!m)
		return NULL;
	virDomainPtr dom = virDomainLookupByName(h->conn, m->domain);
	if (!dom) {
		tl_prov_lv_error(err, "machine %s: domain %s", m->id,
				 m->domain);
		return NULL;
	}
	*ret_h = h;
	*ret_m = m;
	return dom;
}

int tl_prov_machine_state(tl_prov *p, tl_prov_instance *inst,
			  const char *machine, tl_prov_state *ret,
			  tl_error *err)
{
	tl_prov_host *h;
	tl_prov_machine *m;
	TL_AUTO(virDomain) dom = domain_of(p, inst, machine, &h, &m, err);
	*ret = TL_PROV_STATE_UNKNOWN;
	if (!dom)
		return -1;
	int state, reason;
	if (virDomainGetState(dom, &state, &reason, 0) < 0)
		return tl_prov_lv_error(err, "machine %s: state", m->id);
	switch (state) {
	case VIR_DOMAIN_RUNNING:
	case VIR_DOMAIN_BLOCKED:
		*ret = TL_PROV_STATE_RUNNING;
		break;
	case VIR_DOMAIN_PAUSED:
	case VIR_DOMAIN_PMSUSPENDED:
		*ret = TL_PROV_STATE_PAUSED;
		break;
	case VIR_DOMAIN_SHUTDOWN:
		*ret = TL_PROV_STATE_STOPPING;
		break;
	case VIR_DOMAIN_SHUTOFF:
		*ret = TL_PROV_STATE_STOPPED;
		break;
	case VIR_DOMAIN_CRASHED:
		*ret = TL_PROV_STATE_CRASHED;
		break;
	default:
		break;
	}
	return 0;
}

int tl_prov_machine_start(tl_prov *p, tl_prov_instance *inst,
			  const char *machine, bool wait, tl_error *err)
{
	tl_prov_host *h;
	tl_prov_machine *m;
	TL_AUTO(virDomain) dom = domain_of(p, inst, machine, &h, &m, err);
	if (!dom)
		return -1;
	double t0 = tl_now_ms();
	if (virDomainIsActive(dom) != 1 && virDomainCreate(dom) < 0)
		return tl_prov_lv_error(err, "machine %s: cannot start %s",
					m->id, m->domain);
	if (!wait)
		return 0;
	return tl_prov_wait_ready(p, h, m, t0, p->ready_timeout_s, err);
}

int tl_prov_machine_stop(tl_prov *p, tl_prov_instance *inst,
			 const char *machine, int grace_s, tl_error *err)
{
	tl_prov_host *h;
	tl_prov_machine *m;
	TL_AUTO(virDomain) dom = domain_of(p, inst, machine, &h, &m, err);
	if (!dom)
		return -1;
	if (virDomainIsActive(dom) != 1)
		return 0;
	if (grace_s > 0 && virDomainShutdown(dom) == 0) {
		double deadline = tl_now_ms() + grace_s * 1000.0;
		while (tl_now_ms() < deadline) {
			if (virDomainIsActive(dom) == 0)
				return 0;
			tl_sleep_ms(200);
		}
	}
	virResetLastError();
	if (virDomainDestroy(dom) < 0 && virDomainIsActive(dom) == 1)
		return tl_prov_lv_error(err, "machine %s: cannot power off %s",
					m->id, m->domain);
	return 0;
}

int tl_prov_machine_reboot(tl_prov *p, tl_prov_instance *inst,
			   const char *machine, bool wait, tl_error *err)
{
	tl_prov_host *h;
	tl_prov_machine *m;
	TL_AUTO(virDomain) dom = domain_of(p, inst, machine, &h, &m, err);
	if (!dom)
		return -1;
	/* the boot id tells the new boot from the old one, which keeps
	 * answering SSH until the guest has shut down */
	tl_error e = {{0}};
	TL_AUTOFREE char *before = wait ? tl_prov_boot_id(p, m, &e) : NULL;
	double t0 = tl_now_ms();
	if (virDomainReboot(dom, 0) < 0)
		return tl_prov_lv_error(err, "machine %s: cannot reboot %s",
					m->id, m->domain);
	if (!wait)
		return 0;
	double deadline = t0 + p->ready_timeout_s * 1000.0;
	for (;;) {
		int left = (int)((deadline - tl_now_ms()) / 1000.0);
		if (left <= 0)
			return tl_error_set(err,
					    "machine %s: did not come back "
					    "within %d s of the reboot",
					    m->id, p->ready_timeout_s);
		if (tl_prov_wait_ready(p, h, m, tl_now_ms(), left, err) < 0)
			return -1;
		if (!before)
			return 0;
		TL_AUTOFREE char *now = tl_prov_boot_id(p, m, &e);
		if (now && strcmp(now, before)) {
			m->ready_ms = tl_now_ms() - t0;
			return 0;
		}
		tl_sleep_ms(500);
	}
}

int tl_prov_machine_reset(tl_prov *p, tl_prov_instance *inst,
			  const char *machine, unsigned flags, tl_error *err)
{
	tl_prov_host *h;
	tl_prov_machine *m;
	TL_AUTO(virDomain) dom = domain_of(p, inst, machine, &h, &m, err);
	if (!dom)
		return -1;
	if (virDomainIsActive(dom) == 1 && virDomainDestroy(dom) < 0 &&
	    virDomainIsActive(dom) == 1)
		return tl_prov_lv_error(err, "machine %s: cannot power off %s",
					m->id, m->domain);
	if (tl_prov_volume_remove(h, m->volume, err) < 0)
		return tl_error_prefix(err, "machine %s: reset", m->id), -1;
	TL_AUTO(virStoragePool) pool = tl_prov_pool_get(h, err);
	if (!pool)
		return -1;
	TL_AUTO(virStorageVol)
	vol = virStorageVolCreateXML(pool, m->volume_xml, 0);
	if (!vol)
		return tl_prov_lv_error(err,
					"machine %s: reset: cannot create the "
					"overlay %s again",
					m->id, m->volume);
	/* a new disk means a new host key at boot: forget the old pin */
	free(m->host_fp);
	m->host_fp = NULL;
	free(m->os);
	m->os = NULL;
	if (flags & TL_PROV_NO_START)
		return 0;
	double t0 = tl_now_ms();
	if (virDomainCreate(dom) < 0)
		return tl_prov_lv_error(err,
					"machine %s: reset: cannot start %s",
					m->id, m->domain);
	if (flags & TL_PROV_NO_READY)
		return 0;
	if (tl_prov_wait_ready(p, h, m, t0, p->ready_timeout_s, err) < 0)
		return -1;
	if (flags & TL_PROV_NO_PERSONALISE)
		return 0;
	return tl_prov_personalise_machine(p, inst, m, err);
}
