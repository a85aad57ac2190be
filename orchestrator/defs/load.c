/*
 * load.c: one loader per kind of definition file. Each reads a parsed
 * document, reports every problem through the ld context, and appends what
 * it built to the tl_defs being assembled. Files are loaded in dependency
 * order (referential, images, labs, scenarios), so references are resolved
 * as soon as they are read, with the referring value's position at hand.
 */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "defs-internal.h"

#define GROW(arr, n)                                                           \
	((arr) = tl_xrealloc((arr), ((n) + 1) * sizeof *(arr)),                \
	 memset(&(arr)[(n)], 0, sizeof *(arr)), &(arr)[(n)++])

static void free_list(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

static tl_evaluation parse_evaluation(ld *l, json_t *obj, bool allow_mixed)
{
	char *s = NULL;
	tl_evaluation e = TL_EVAL_PRACTICAL;
	if (ld_str(l, obj, "evaluation", true, &s)) {
		if (strcmp(s, "practical") == 0)
			e = TL_EVAL_PRACTICAL;
		else if (strcmp(s, "jury") == 0)
			e = TL_EVAL_JURY;
		else if (allow_mixed && strcmp(s, "mixed") == 0)
			e = TL_EVAL_MIXED;
		else {
			ld_push_key(l, "evaluation");
			ld_err(l, "unknown evaluation \"%s\" (expected %s)", s,
			       allow_mixed ? "practical, jury or mixed"
					   : "practical or jury");
			ld_pop(l);
		}
	}
	free(s);
	return e;
}

/* ------------------------------------------------------------------ */
/* referential                                                          */

void tl_load_referential(ld *l, json_t *root)
{
	static const char *const top[] = {"title", "blocks", NULL};
	static const char *const title_f[] = {
		"id",	"label",   "rncp",    "code", "level",
		"eu_level", "nsf", "version", "arrete", NULL};
	static const char *const block_f[] = {"id",	     "kind",
					      "label",	     "rncp_block",
					      "competences", NULL};
	static const char *const comp_f[] = {"id", "label", "evaluation",
					     "criteria", NULL};
	static const char *const crit_f[] = {"id", "label", "source",
					     "evaluation", NULL};
	tl_referential *r = &l->defs->ref;
	if (r->file) {
		ld_err(l, "a referential is already loaded from %s; only one "
			  "is allowed", r->file);
		return;
	}
	ld_check_fields(l, root, top);
	r->file = tl_xstrdup(l->file);
	json_t *title = ld_object(l, root, "title", true);
	if (title) {
		ld_push_key(l, "title");
		ld_check_fields(l, title, title_f);
		ld_check_id(l, title, "id", &r->id);
		ld_str(l, title, "label", true, &r->label);
		ld_str(l, title, "rncp", true, &r->rncp);
		ld_str(l, title, "code", false, &r->code);
		ld_str(l, title, "level", true, &r->level);
		ld_int(l, title, "eu_level", false, 1, 8, &r->eu_level);
		ld_str(l, title, "nsf", true, &r->nsf);
		ld_str(l, title, "version", true, &r->version);
		ld_str(l, title, "arrete", false, &r->arrete);
		ld_pop(l);
	}
	json_t *blocks = ld_array(l, root, "blocks", true, true);
	if (!blocks)
		return;
	ld_push_key(l, "blocks");
	size_t bi;
	json_t *jb;
	json_array_foreach(blocks, bi, jb)
	{
		ld_push_index(l, bi);
		if (!json_is_object(jb)) {
			ld_err(l, "expected an object, got %s",
			       ld_json_type(jb));
			ld_pop(l);
			continue;
		}
		ld_check_fields(l, jb, block_f);
		tl_ref_block *b = GROW(r->blocks, r->n_blocks);
		ld_check_id(l, jb, "id", &b->id);
		if (ld_str(l, jb, "kind", true, &b->kind) &&
		    strcmp(b->kind, "ccp") && strcmp(b->kind, "ccs")) {
			ld_push_key(l, "kind");
			ld_err(l, "unknown block kind \"%s\" (expected ccp or "
				  "ccs)", b->kind);
			ld_pop(l);
		}
		ld_str(l, jb, "label", true, &b->label);
		ld_str(l, jb, "rncp_block", false, &b->rncp_block);
		json_t *comps = ld_array(l, jb, "competences", true, true);
		if (comps) {
			ld_push_key(l, "competences");
			size_t ci;
			json_t *jc;
			json_array_foreach(comps, ci, jc)
			{
				ld_push_index(l, ci);
				if (!json_is_object(jc)) {
					ld_err(l, "expected an object, got %s",
					       ld_json_type(jc));
					ld_pop(l);
					continue;
				}
				ld_check_fields(l, jc, comp_f);
				tl_ref_competence *c =
					GROW(b->competences, b->n_competences);
				ld_check_id(l, jc, "id", &c->id);
				ld_str(l, jc, "label", true, &c->label);
				c->evaluation = parse_evaluation(l, jc, true);
				json_t *crits =
					ld_array(l, jc, "criteria", true, true);
				if (crits) {
					ld_push_key(l, "criteria");
					size_t ki;
					json_t *jk;
					json_array_foreach(crits, ki, jk)
					{
						ld_push_index(l, ki);
						if (!json_is_object(jk)) {
							ld_err(l,
							       "expected an "
							       "object, got %s",
							       ld_json_type(jk));
							ld_pop(l);
							continue;
						}
						ld_check_fields(l, jk, crit_f);
						tl_ref_criterion *k =
							GROW(c->criteria,
							     c->n_criteria);
						ld_check_id(l, jk, "id", &k->id);
						ld_str(l, jk, "label", true,
						       &k->label);
						if (ld_str(l, jk, "source", true,
							   &k->source) &&
						    strcmp(k->source,
							   "official") &&
						    strcmp(k->source,
							   "derived")) {
							ld_push_key(l, "source");
							ld_err(l,
							       "unknown source "
							       "\"%s\" (expected "
							       "official or "
							       "derived)",
							       k->source);
							ld_pop(l);
						}
						k->evaluation = parse_evaluation(
							l, jk, false);
						ld_pop(l);
					}
					ld_pop(l);
				}
				ld_pop(l);
			}
			ld_pop(l);
		}
		ld_pop(l);
	}
	ld_pop(l);

	/* back references (arrays no longer move) and duplicate ids */
	for (size_t i = 0; i < r->n_blocks; i++) {
		tl_ref_block *b = &r->blocks[i];
		for (size_t j = 0; j < b->n_competences; j++) {
			tl_ref_competence *c = &b->competences[j];
			c->block = b;
			for (size_t k = 0; k < c->n_criteria; k++) {
				c->criteria[k].competence = c;
				const char *id = c->criteria[k].id;
				if (id && c->id &&
				    (strncmp(id, c->id, strlen(c->id)) ||
				     id[strlen(c->id)] != '.')) {
					ld_push_key(l, "blocks");
					ld_push_index(l, i);
					ld_push_key(l, "competences");
					ld_push_index(l, j);
					ld_push_key(l, "criteria");
					ld_push_index(l, k);
					ld_push_key(l, "id");
					ld_err(l,
					       "criterion id \"%s\" must start "
					       "with its competence id \"%s.\"",
					       id, c->id);
					l->path.depth -= 7;
				}
			}
		}
	}
	for (size_t i = 0; i < r->n_blocks; i++)
		for (size_t j = i + 1; j < r->n_blocks; j++)
			if (r->blocks[i].id && r->blocks[j].id &&
			    !strcmp(r->blocks[i].id, r->blocks[j].id)) {
				ld_push_key(l, "blocks");
				ld_push_index(l, j);
				ld_push_key(l, "id");
				ld_err(l, "duplicate block id \"%s\"",
				       r->blocks[j].id);
				l->path.depth -= 3;
			}
	/* competence and criterion ids are unique across the title */
	for (size_t i = 0; i < r->n_blocks; i++)
		for (size_t j = 0; j < r->blocks[i].n_competences; j++) {
			tl_ref_competence *c = &r->blocks[i].competences[j];
			if (!c->id)
				continue;
			for (size_t i2 = 0; i2 <= i; i2++)
				for (size_t j2 = 0;
				     j2 < r->blocks[i2].n_competences &&
				     (i2 < i || j2 < j);
				     j2++) {
					tl_ref_competence *o =
						&r->blocks[i2].competences[j2];
					if (o->id && !strcmp(o->id, c->id)) {
						ld_push_key(l, "blocks");
						ld_push_index(l, i);
						ld_push_key(l, "competences");
						ld_push_index(l, j);
						ld_push_key(l, "id");
						ld_err(l,
						       "duplicate competence id "
						       "\"%s\"",
						       c->id);
						l->path.depth -= 5;
					}
				}
			for (size_t k = 0; k < c->n_criteria; k++)
				for (size_t k2 = 0; k2 < k; k2++)
					if (c->criteria[k].id &&
					    c->criteria[k2].id &&
					    !strcmp(c->criteria[k].id,
						    c->criteria[k2].id)) {
						ld_push_key(l, "blocks");
						ld_push_index(l, i);
						ld_push_key(l, "competences");
						ld_push_index(l, j);
						ld_push_key(l, "criteria");
						ld_push_index(l, k);
						ld_push_key(l, "id");
						ld_err(l,
						       "duplicate criterion id "
						       "\"%s\"",
						       c->criteria[k].id);
						l->path.depth -= 7;
					}
		}
}

/* ------------------------------------------------------------------ */
/* images                                                               */

void tl_load_image(ld *l, json_t *root)
{
	static const char *const top[] = {
		"id",	   "description", "os",	   "recipe",	     "user_supplied",
		"boot",	   "disk",	  "disk_bus", "login",	     "min_memory_mib",
		"packages", "warm_start", NULL};
	static const char *const boot_f[] = {"method", "kernel", "initrd",
					     "cmdline", NULL};
	static const char *const login_f[] = {"user", "port", "shell", NULL};
	ld_check_fields(l, root, top);
	tl_image im = {0};
	im.file = tl_xstrdup(l->file);
	ld_check_id(l, root, "id", &im.id);
	ld_str(l, root, "description", true, &im.description);
	char *s = NULL;
	if (ld_str(l, root, "os", true, &s)) {
		if (!strcmp(s, "linux"))
			im.os = TL_OS_LINUX;
		else if (!strcmp(s, "windows"))
			im.os = TL_OS_WINDOWS;
		else {
			ld_push_key(l, "os");
			ld_err(l, "unknown os \"%s\" (expected linux or windows)",
			       s);
			ld_pop(l);
		}
	}
	ld_bool(l, root, "user_supplied", &im.user_supplied);
	ld_str(l, root, "recipe", !im.user_supplied, &im.recipe);
	if (im.user_supplied && im.recipe)
		ld_err_key(l, "recipe",
			   "a user-supplied image has no recipe");
	json_t *boot = ld_object(l, root, "boot", true);
	if (boot) {
		ld_push_key(l, "boot");
		ld_check_fields(l, boot, boot_f);
		free(s);
		s = NULL;
		if (ld_str(l, boot, "method", true, &s)) {
			if (!strcmp(s, "kernel"))
				im.boot = TL_BOOT_KERNEL;
			else if (!strcmp(s, "disk"))
				im.boot = TL_BOOT_DISK;
			else {
				ld_push_key(l, "method");
				ld_err(l, "unknown boot method \"%s\" (expected "
					  "kernel or disk)", s);
				ld_pop(l);
			}
		}
		bool kern = im.boot == TL_BOOT_KERNEL;
		ld_str(l, boot, "kernel", kern, &im.kernel);
		ld_str(l, boot, "initrd", false, &im.initrd);
		ld_str(l, boot, "cmdline", false, &im.cmdline);
		if (!kern && (im.kernel || im.initrd || im.cmdline))
			ld_err(l, "kernel, initrd and cmdline only go with "
				  "method \"kernel\"");
		ld_pop(l);
	}
	ld_str(l, root, "disk", true, &im.disk);
	im.disk_bus = tl_xstrdup("virtio");
	if (ld_str(l, root, "disk_bus", false, &im.disk_bus) &&
	    strcmp(im.disk_bus, "virtio") && strcmp(im.disk_bus, "sata") &&
	    strcmp(im.disk_bus, "ide")) {
		ld_push_key(l, "disk_bus");
		ld_err(l, "unknown disk bus \"%s\" (expected virtio, sata or "
			  "ide)", im.disk_bus);
		ld_pop(l);
	}
	json_t *login = ld_object(l, root, "login", true);
	im.login_port = 22;
	if (login) {
		ld_push_key(l, "login");
		ld_check_fields(l, login, login_f);
		ld_str(l, login, "user", true, &im.login_user);
		ld_int(l, login, "port", false, 1, 65535, &im.login_port);
		if (ld_str(l, login, "shell", true, &im.login_shell) &&
		    strcmp(im.login_shell, "sh") &&
		    strcmp(im.login_shell, "powershell")) {
			ld_push_key(l, "shell");
			ld_err(l, "unknown shell \"%s\" (expected sh or "
				  "powershell)", im.login_shell);
			ld_pop(l);
		}
		if (im.login_shell &&
		    (!strcmp(im.login_shell, "sh")) != (im.os == TL_OS_LINUX)) {
			ld_push_key(l, "shell");
			ld_err(l, "shell \"%s\" does not match os (linux "
				  "images use sh, windows images powershell)",
			       im.login_shell);
			ld_pop(l);
		}
		ld_pop(l);
	}
	im.min_memory_mib = 128;
	ld_int(l, root, "min_memory_mib", false, 16, 1 << 20,
	       &im.min_memory_mib);
	ld_strlist(l, root, "packages", false, &im.packages, &im.n_packages);
	ld_bool(l, root, "warm_start", &im.warm_start);
	free(s);
	tl_defs *d = l->defs;
	if (im.id && tl_defs_image(d, im.id)) {
		ld_push_key(l, "id");
		ld_err(l, "duplicate image id \"%s\" (also in %s)", im.id,
		       tl_defs_image(d, im.id)->file);
		ld_pop(l);
		tl_image_clear(&im);
		return;
	}
	*GROW(d->images, d->n_images) = im;
}

/* ------------------------------------------------------------------ */
/* labs                                                                 */

static bool parse_cidr(const char *s, unsigned *addr, int *prefix)
{
	unsigned a, b, c, dd;
	int p;
	char tail;
	if (sscanf(s, "%u.%u.%u.%u/%d%c", &a, &b, &c, &dd, &p, &tail) != 5)
		return false;
	if (a > 255 || b > 255 || c > 255 || dd > 255 || p < 8 || p > 30)
		return false;
	*addr = a << 24 | b << 16 | c << 8 | dd;
	*prefix = p;
	return true;
}

void tl_load_lab(ld *l, json_t *root)
{
	static const char *const top[] = {"id",	      "title",    "description",
					  "networks", "machines", NULL};
	static const char *const net_f[] = {"id", "cidr", "dhcp", NULL};
	static const char *const mach_f[] = {"id",	   "hostname", "image",
					     "vcpus",	   "memory_mib",
					     "disk_gib",   "nics",     "ports",
					     "trainee",	   NULL};
	static const char *const nic_f[] = {"network", "address", NULL};
	ld_check_fields(l, root, top);
	tl_lab lab = {0};
	lab.file = tl_xstrdup(l->file);
	ld_check_id(l, root, "id", &lab.id);
	ld_str(l, root, "title", true, &lab.title);
	ld_str(l, root, "description", false, &lab.description);
	json_t *nets = ld_array(l, root, "networks", false, false);
	if (nets) {
		ld_push_key(l, "networks");
		size_t i;
		json_t *jn;
		json_array_foreach(nets, i, jn)
		{
			ld_push_index(l, i);
			if (!json_is_object(jn)) {
				ld_err(l, "expected an object, got %s",
				       ld_json_type(jn));
				ld_pop(l);
				continue;
			}
			ld_check_fields(l, jn, net_f);
			tl_lab_network *n = GROW(lab.networks, lab.n_networks);
			n->isolated = true;
			ld_check_id(l, jn, "id", &n->id);
			if (ld_str(l, jn, "cidr", true, &n->cidr)) {
				unsigned a;
				int p;
				if (!parse_cidr(n->cidr, &a, &p)) {
					ld_push_key(l, "cidr");
					ld_err(l, "invalid IPv4 prefix \"%s\" "
						  "(expected a.b.c.d/8..30)",
					       n->cidr);
					ld_pop(l);
				} else if (a & ((1u << (32 - p)) - 1)) {
					ld_push_key(l, "cidr");
					ld_err(l, "\"%s\" has host bits set",
					       n->cidr);
					ld_pop(l);
				}
			}
			ld_bool(l, jn, "dhcp", &n->dhcp);
			for (size_t k = 0; k + 1 < lab.n_networks; k++)
				if (n->id && lab.networks[k].id &&
				    !strcmp(n->id, lab.networks[k].id)) {
					ld_push_key(l, "id");
					ld_err(l, "duplicate network id \"%s\"",
					       n->id);
					ld_pop(l);
				}
			ld_pop(l);
		}
		ld_pop(l);
	}
	json_t *machs = ld_array(l, root, "machines", true, true);
	bool any_trainee = false;
	if (machs) {
		ld_push_key(l, "machines");
		size_t i;
		json_t *jm;
		json_array_foreach(machs, i, jm)
		{
			ld_push_index(l, i);
			if (!json_is_object(jm)) {
				ld_err(l, "expected an object, got %s",
				       ld_json_type(jm));
				ld_pop(l);
				continue;
			}
			ld_check_fields(l, jm, mach_f);
			tl_lab_machine *m = GROW(lab.machines, lab.n_machines);
			ld_check_id(l, jm, "id", &m->id);
			if (!ld_str(l, jm, "hostname", false, &m->hostname) &&
			    m->id)
				m->hostname = tl_xstrdup(m->id);
			if (ld_str(l, jm, "image", true, &m->image_id)) {
				m->image = tl_defs_image(l->defs, m->image_id);
				if (!m->image) {
					ld_push_key(l, "image");
					ld_err(l, "unknown image \"%s\"",
					       m->image_id);
					ld_pop(l);
				}
			}
			m->vcpus = 1;
			ld_int(l, jm, "vcpus", false, 1, 64, &m->vcpus);
			m->memory_mib = m->image ? m->image->min_memory_mib
						 : 256;
			if (ld_int(l, jm, "memory_mib", false, 16, 1 << 20,
				   &m->memory_mib) &&
			    m->image && m->memory_mib < m->image->min_memory_mib) {
				ld_push_key(l, "memory_mib");
				ld_err(l, "%d MiB is below image \"%s\"'s "
					  "minimum of %d MiB",
				       m->memory_mib, m->image->id,
				       m->image->min_memory_mib);
				ld_pop(l);
			}
			ld_int(l, jm, "disk_gib", false, 1, 4096, &m->disk_gib);
			ld_bool(l, jm, "trainee", &m->trainee);
			any_trainee |= m->trainee;
			json_t *nics = ld_array(l, jm, "nics", false, false);
			if (nics) {
				ld_push_key(l, "nics");
				size_t k;
				json_t *jc;
				json_array_foreach(nics, k, jc)
				{
					ld_push_index(l, k);
					if (!json_is_object(jc)) {
						ld_err(l, "expected an object, "
							  "got %s",
						       ld_json_type(jc));
						ld_pop(l);
						continue;
					}
					ld_check_fields(l, jc, nic_f);
					tl_lab_nic *c = GROW(m->nics, m->n_nics);
					if (ld_str(l, jc, "network", true,
						   &c->network)) {
						for (size_t q = 0;
						     q < lab.n_networks; q++)
							if (lab.networks[q].id &&
							    !strcmp(lab.networks[q].id,
								    c->network))
								c->net = &lab.networks[q];
						if (!c->net) {
							ld_push_key(l, "network");
							ld_err(l,
							       "unknown network "
							       "\"%s\" (not in "
							       "this lab's "
							       "networks)",
							       c->network);
							ld_pop(l);
						}
					}
					if (ld_str(l, jc, "address", false,
						   &c->address) &&
					    c->net && c->net->cidr) {
						unsigned a, na;
						int p, np;
						if (!parse_cidr(c->address, &a,
								&p) ||
						    !parse_cidr(c->net->cidr,
								&na, &np) ||
						    p != np ||
						    (a >> (32 - p)) !=
							    (na >> (32 - p))) {
							ld_push_key(l,
								    "address");
							ld_err(l,
							       "address \"%s\" "
							       "is not inside "
							       "network %s (%s)",
							       c->address,
							       c->network,
							       c->net->cidr);
							ld_pop(l);
						}
					}
					ld_pop(l);
				}
				ld_pop(l);
			}
			json_t *ports = ld_array(l, jm, "ports", false, false);
			if (ports) {
				ld_push_key(l, "ports");
				size_t k;
				json_t *jp;
				m->ports = tl_xcalloc(json_array_size(ports) + 1,
						      sizeof *m->ports);
				json_array_foreach(ports, k, jp)
				{
					ld_push_index(l, k);
					if (!json_is_integer(jp) ||
					    json_integer_value(jp) < 1 ||
					    json_integer_value(jp) > 65535)
						ld_err(l, "expected a port "
							  "number 1..65535");
					else
						m->ports[m->n_ports++] =
							(int)json_integer_value(
								jp);
					ld_pop(l);
				}
				ld_pop(l);
			}
			for (size_t k = 0; k + 1 < lab.n_machines; k++)
				if (m->id && lab.machines[k].id &&
				    !strcmp(m->id, lab.machines[k].id)) {
					ld_push_key(l, "id");
					ld_err(l, "duplicate machine id \"%s\"",
					       m->id);
					ld_pop(l);
				}
			ld_pop(l);
		}
		ld_pop(l);
		if (!any_trainee)
			ld_err_key(l, "machines",
				   "no machine has \"trainee\": true (the "
				   "trainee must be able to log in somewhere)");
	}
	/* NIC network pointers were taken while networks were final. */
	tl_defs *d = l->defs;
	if (lab.id && tl_defs_lab(d, lab.id)) {
		ld_push_key(l, "id");
		ld_err(l, "duplicate lab id \"%s\" (also in %s)", lab.id,
		       tl_defs_lab(d, lab.id)->file);
		ld_pop(l);
		tl_lab_clear(&lab);
		return;
	}
	*GROW(d->labs, d->n_labs) = lab;
}

/* ------------------------------------------------------------------ */
/* scenarios                                                            */

/* ---- what a regex costs to compile ----
 *
 * glibc's regcomp copies the tree of a repeated part once per repetition:
 * "((a{255}){255}){255}" asks for 16 million nodes and gigabytes (found by
 * fuzz_defs). A definition's regex is compiled when it is loaded and at
 * every grading, so its size is bounded here first: the number of atoms
 * after repetitions are expanded, nested ones multiplied ('*', '+', '?'
 * count twice). regcomp's memory grows with the square of that weight
 * when the copies are optional: "[[:alpha:]]{1,1000}" takes 9 MB,
 * "{1,2000}" 32 MB, "{1,3900}" 119 MB; the catalogue's largest regexes
 * weigh a few dozen. */

#define RE_MAX_WEIGHT 1000.0

/* Skips a bracket expression; *p is on its '['. */
static void re_skip_bracket(const char **p)
{
	const char *q = *p + 1;
	if (*q == '^')
		q++;
	if (*q == ']')
		q++;
	while (*q && *q != ']') {
		if (q[0] == '[' && (q[1] == ':' || q[1] == '=' || q[1] == '.')) {
			char end = q[1];
			const char *c = q + 2;
			while (*c && !(c[0] == end && c[1] == ']'))
				c++;
			q = *c ? c + 2 : c;
		} else {
			q++;
		}
	}
	*p = *q ? q + 1 : q;
}

/* What re_weight learns of a pattern besides its weight. */
typedef struct {
	bool backref;	 /* \1 to \9 */
	bool empty_rep;	 /* a part that can match "" is repeated */
} re_facts;

/* The weight of the alternatives at *p up to their closing ')' (depth >
 * 0) or the end; *nullable tells whether they can match "". */
static double re_weight(const char **p, int depth, re_facts *f,
			bool *nullable)
{
	double total = 0;
	bool branch_null = true; /* the current alternative, so far */
	*nullable = false;
	while (**p && !(**p == ')' && depth > 0)) {
		double atom = 1;
		bool null = false;
		char c = **p;
		if (c == '|') {
			*nullable |= branch_null;
			branch_null = true;
			(*p)++;
			total += 1;
			continue;
		}
		if (c == '(') {
			(*p)++;
			if (depth < 64) {
				atom = 1 + re_weight(p, depth + 1, f, &null);
			} else {
				atom = RE_MAX_WEIGHT + 1;
			}
			if (**p == ')')
				(*p)++;
		} else if (c == '[') {
			re_skip_bracket(p);
		} else if (c == '\\') {
			(*p)++;
			if (**p >= '1' && **p <= '9')
				f->backref = true;
			/* glibc's zero-width escapes */
			null = **p && strchr("bB<>`'", **p);
			if (**p)
				(*p)++;
		} else {
			null = c == '^' || c == '$';
			(*p)++;
		}
		/* repetitions of that atom */
		for (;;) {
			if (**p == '*' || **p == '+' || **p == '?') {
				f->empty_rep |= null;
				null |= **p != '+';
				atom *= 2;
				(*p)++;
			} else if (**p == '{') {
				/* {n}, {n,}, {n,m}, and glibc's {,m} and {,} */
				const char *q = *p + 1;
				char *end;
				unsigned long lo = strtoul(q, &end, 10);
				unsigned long hi = lo;
				if (end == q && *q != ',')
					break; /* a literal '{' */
				if (*end == ',') {
					q = end + 1;
					hi = strtoul(q, &end, 10);
					if (end == q)
						hi = lo + 2; /* unbounded */
				}
				if (*end != '}')
					break;
				f->empty_rep |= null;
				null |= lo == 0;
				double times = (double)(hi > lo ? hi : lo);
				atom *= times > 1 ? times : 1;
				*p = end + 1;
			} else {
				break;
			}
			if (atom > RE_MAX_WEIGHT)
				atom = RE_MAX_WEIGHT + 1;
		}
		branch_null &= null;
		total += atom;
		if (total > RE_MAX_WEIGHT)
			total = RE_MAX_WEIGHT + 1;
	}
	*nullable |= branch_null;
	return total;
}

/* NULL when the extended regex s is cheap enough to compile and to run
 * on a trainee's output, else why not. Besides the weight: no
 * back-reference (regexec stays linear in the text) and no repeated part
 * that can match the empty string: glibc's regcomp takes seconds, then
 * minutes, on "((a?)*|){3,20}", "{3,40}" at a weight of a few hundred,
 * and such a repetition is always written more simply ("(a|b?)*" is
 * "(a|b)*"). */
static const char *regex_too_costly(const char *s)
{
	re_facts f = {0};
	bool null;
	/* at depth 0 an unmatched ')' is an ordinary character: the whole
	 * pattern is read */
	double w = re_weight(&s, 0, &f, &null);
	if (w > RE_MAX_WEIGHT)
		return "too large once its repetitions are expanded (over "
		       "1000 atoms: nest fewer bounded repetitions such as "
		       "{n,m})";
	if (f.backref)
		return "back-references (\\1 to \\9) are not accepted: "
		       "matching must stay linear in the trainee's output";
	if (f.empty_rep)
		return "a part that can match the empty string is repeated "
		       "(as in \"(a?)*\" or \"(a|)+\"): write the repetition "
		       "without the empty match";
	return NULL;
}

static bool parse_matcher(ld *l, json_t *j, tl_matcher *m, int depth);

static const char *const matcher_ops[] = {
	"equals", "regex", "contains", "lt",  "le",  "gt",
	"ge",     "count", "all",      "any", "not", "true", NULL};

static bool parse_matcher(ld *l, json_t *j, tl_matcher *m, int depth)
{
	if (depth > 8) {
		ld_err(l, "matchers nested too deeply (at most 8 levels)");
		return false;
	}
	if (!json_is_object(j) || json_object_size(j) != 1) {
		ld_err(l, "expected an object with exactly one matcher (equals, "
			  "regex, contains, lt, le, gt, ge, count, all, any, "
			  "not, true)");
		return false;
	}
	ld_check_fields(l, j, matcher_ops);
	const char *op = json_object_iter_key(json_object_iter(j));
	json_t *v = json_object_iter_value(json_object_iter(j));
	ld_push_key(l, op);
	bool ok = true;
	if (!strcmp(op, "equals")) {
		m->op = TL_MATCH_EQUALS;
		if (json_is_string(v))
			m->str = tl_xstrdup(json_string_value(v));
		else if (json_is_integer(v))
			m->str = tl_xasprintf("%lld",
					      (long long)json_integer_value(v));
		else if (json_is_boolean(v))
			m->str = tl_xstrdup(json_is_true(v) ? "true" : "false");
		else {
			ld_err(l, "expected a string, integer or boolean, got "
				  "%s", ld_json_type(v));
			ok = false;
		}
	} else if (!strcmp(op, "regex") || !strcmp(op, "contains")) {
		m->op = op[0] == 'r' ? TL_MATCH_REGEX : TL_MATCH_CONTAINS;
		if (!json_is_string(v)) {
			ld_err(l, "expected a string, got %s", ld_json_type(v));
			ok = false;
		} else {
			m->str = tl_xstrdup(json_string_value(v));
			const char *why = m->op == TL_MATCH_REGEX
					      ? regex_too_costly(m->str)
					      : NULL;
			if (why) {
				ld_err(l, "regex \"%.80s%s\": %s", m->str,
				       strlen(m->str) > 80 ? "..." : "", why);
				ok = false;
			} else if (m->op == TL_MATCH_REGEX) {
				regex_t re;
				int rc = regcomp(&re, m->str,
						 REG_EXTENDED | REG_NOSUB);
				if (rc) {
					char buf[256];
					regerror(rc, &re, buf, sizeof buf);
					ld_err(l, "invalid regex \"%s\": %s",
					       m->str, buf);
					ok = false;
				} else {
					regfree(&re);
				}
			}
		}
	} else if (!strcmp(op, "lt") || !strcmp(op, "le") ||
		   !strcmp(op, "gt") || !strcmp(op, "ge")) {
		m->op = !strcmp(op, "lt")   ? TL_MATCH_LT
			: !strcmp(op, "le") ? TL_MATCH_LE
			: !strcmp(op, "gt") ? TL_MATCH_GT
					    : TL_MATCH_GE;
		if (!json_is_number(v)) {
			ld_err(l, "expected a number, got %s", ld_json_type(v));
			ok = false;
		} else {
			m->num = json_number_value(v);
		}
	} else if (!strcmp(op, "count") || !strcmp(op, "not")) {
		m->op = op[0] == 'c' ? TL_MATCH_COUNT : TL_MATCH_NOT;
		m->children = tl_xcalloc(1, sizeof *m->children);
		m->n_children = 1;
		ok = parse_matcher(l, v, m->children, depth + 1);
		if (ok && m->op == TL_MATCH_COUNT &&
		    (m->children->op < TL_MATCH_LT ||
		     m->children->op > TL_MATCH_GE) &&
		    m->children->op != TL_MATCH_EQUALS) {
			ld_err(l, "count takes a numeric comparison (lt, le, "
				  "gt, ge or equals)");
			ok = false;
		}
	} else if (!strcmp(op, "all") || !strcmp(op, "any")) {
		m->op = op[1] == 'l' ? TL_MATCH_ALL : TL_MATCH_ANY;
		if (!json_is_array(v) || json_array_size(v) == 0) {
			ld_err(l, "expected a non-empty array of matchers");
			ok = false;
		} else {
			m->n_children = json_array_size(v);
			m->children =
				tl_xcalloc(m->n_children, sizeof *m->children);
			size_t i;
			json_t *e;
			json_array_foreach(v, i, e)
			{
				ld_push_index(l, i);
				ok &= parse_matcher(l, e, &m->children[i],
						    depth + 1);
				ld_pop(l);
			}
		}
	} else if (!strcmp(op, "true")) {
		m->op = TL_MATCH_TRUE;
		if (!json_is_true(v)) {
			ld_err(l, "expected true");
			ok = false;
		}
	} else {
		ok = false; /* reported by ld_check_fields */
	}
	ld_pop(l);
	return ok;
}

static void check_arg_type(ld *l, const tl_probe_arg *a, json_t *v)
{
	switch (a->type) {
	case TL_ARG_STRING:
		if (!json_is_string(v))
			ld_err(l, "expected a string, got %s", ld_json_type(v));
		else if (json_string_length(v) == 0)
			ld_err(l, "must not be empty");
		else if (strlen(json_string_value(v)) != json_string_length(v))
			ld_err(l, "must not contain NUL characters");
		else if (a->choices) {
			const char *s = json_string_value(v);
			size_t n = strlen(s);
			const char *p = a->choices;
			bool found = false;
			while (*p && !found) {
				const char *bar = strchr(p, '|');
				size_t len = bar ? (size_t)(bar - p) : strlen(p);
				found = len == n && !strncmp(p, s, n);
				p += len + (bar ? 1 : 0);
			}
			if (!found)
				ld_err(l, "\"%s\" is not one of %s", s,
				       a->choices);
		}
		break;
	case TL_ARG_INT:
		if (!json_is_integer(v))
			ld_err(l, "expected an integer, got %s",
			       ld_json_type(v));
		else if (json_integer_value(v) < 0 ||
			 json_integer_value(v) > 1000000000)
			ld_err(l, "out of range (expected 0 to 1000000000)");
		break;
	case TL_ARG_BOOL:
		if (!json_is_boolean(v))
			ld_err(l, "expected true or false, got %s",
			       ld_json_type(v));
		break;
	case TL_ARG_STRLIST:
		if (!json_is_array(v)) {
			ld_err(l, "expected an array of strings, got %s",
			       ld_json_type(v));
			break;
		}
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e)
		{
			if (!json_is_string(e) || json_string_length(e) == 0 ||
			    strlen(json_string_value(e)) !=
				    json_string_length(e)) {
				ld_push_index(l, i);
				ld_err(l, "expected a non-empty string");
				ld_pop(l);
			}
		}
		break;
	}
}

static void parse_probe(ld *l, json_t *jp, tl_probe *p, const tl_lab *lab)
{
	static const char *const probe_f[] = {"kind",  "machine", "from",
					      "args",  "field",	  "expect",
					      "timeout_s", NULL};
	ld_check_fields(l, jp, probe_f);
	if (ld_str(l, jp, "kind", true, &p->kind_name)) {
		p->kind = tl_probe_kind_find(p->kind_name);
		if (!p->kind) {
			/* suggest the closest known kind */
			const char *best = NULL;
			size_t bl = 0;
			for (const tl_probe_kind *k = tl_probe_kinds; k->name;
			     k++) {
				size_t c = 0;
				while (k->name[c] && p->kind_name[c] &&
				       k->name[c] == p->kind_name[c])
					c++;
				if (c > bl) {
					bl = c;
					best = k->name;
				}
			}
			ld_push_key(l, "kind");
			if (best && bl >= 3)
				ld_err(l, "unknown probe kind \"%s\" (did you "
					  "mean \"%s\"? `tssrlab kinds` lists "
					  "them all)",
				       p->kind_name, best);
			else
				ld_err(l, "unknown probe kind \"%s\" (`tssrlab "
					  "kinds` lists them all)",
				       p->kind_name);
			ld_pop(l);
		}
	}
	const tl_lab_machine *m = NULL;
	if (ld_str(l, jp, "machine", true, &p->machine) && lab) {
		m = tl_lab_machine_find(lab, p->machine);
		if (!m) {
			ld_push_key(l, "machine");
			ld_err(l, "unknown machine \"%s\" (lab \"%s\" has no "
				  "such machine)",
			       p->machine, lab->id);
			ld_pop(l);
		}
	}
	if (ld_str(l, jp, "from", false, &p->from)) {
		if (p->kind && p->kind->site != TL_SITE_NETWORK)
			ld_err_key(l, "from",
				   "\"from\" only goes with network probe kinds");
		else if (strcmp(p->from, "orchestrator") && lab &&
			 !tl_lab_machine_find(lab, p->from)) {
			ld_push_key(l, "from");
			ld_err(l, "unknown machine \"%s\" (expected "
				  "\"orchestrator\" or a machine of lab \"%s\")",
			       p->from, lab->id);
			ld_pop(l);
		}
	}
	if (p->kind && !strcmp(p->kind->name, "ping") &&
	    (!p->from || !strcmp(p->from, "orchestrator")))
		ld_err(l, "probe \"ping\" needs \"from\": a lab machine (the "
			  "orchestrator does not ping into labs)");
	if (m && m->image && p->kind) {
		bool win = m->image->os == TL_OS_WINDOWS;
		if ((p->kind->site == TL_SITE_LINUX && win) ||
		    (p->kind->site == TL_SITE_WINDOWS && !win)) {
			ld_push_key(l, "kind");
			ld_err(l, "probe kind \"%s\" runs on %s machines, but "
				  "\"%s\" uses %s image \"%s\"",
			       p->kind->name,
			       tl_probe_site_name(p->kind->site), m->id,
			       win ? "windows" : "linux", m->image->id);
			ld_pop(l);
		}
	}
	json_t *args = json_object_get(jp, "args");
	if (args && !json_is_object(args)) {
		ld_push_key(l, "args");
		ld_err(l, "expected an object, got %s", ld_json_type(args));
		ld_pop(l);
		args = NULL;
	}
	if (p->kind) {
		ld_push_key(l, "args");
		const char *key;
		json_t *v;
		if (args)
			json_object_foreach(args, key, v)
			{
				const tl_probe_arg *a =
					tl_probe_kind_arg(p->kind, key);
				if (!a) {
					tl_buf b;
					tl_buf_init(&b, 0);
					for (size_t i = 0;
					     i < TL_PROBE_MAX_ARGS &&
					     p->kind->args[i].name;
					     i++)
						tl_buf_printf(&b, "%s%s",
							      i ? ", " : "",
							      p->kind->args[i]
								      .name);
					ld_err_key(l, key,
						   "unknown argument \"%s\" for "
						   "probe kind \"%s\" (expected: "
						   "%s)",
						   key, p->kind->name,
						   b.data ? b.data : "none");
					tl_buf_clear(&b);
					continue;
				}
				ld_push_key(l, key);
				check_arg_type(l, a, v);
				ld_pop(l);
			}
		for (size_t i = 0;
		     i < TL_PROBE_MAX_ARGS && p->kind->args[i].name; i++)
			if (p->kind->args[i].required &&
			    (!args || !json_object_get(args, p->kind->args[i].name)))
				ld_err(l, "missing required argument \"%s\" for "
					  "probe kind \"%s\" (%s)",
				       p->kind->args[i].name, p->kind->name,
				       p->kind->args[i].doc);
		ld_pop(l);
	}
	p->args = args ? json_deep_copy(args) : json_object();
	ld_str(l, jp, "field", false, &p->field);
	if (p->field && strcmp(p->field, "value") && strcmp(p->field, "exit") &&
	    strcmp(p->field, "status")) {
		ld_push_key(l, "field");
		ld_err(l, "unknown field \"%s\" (expected value, exit or status)",
		       p->field);
		ld_pop(l);
	}
	json_t *ex = json_object_get(jp, "expect");
	if (ex) {
		ld_push_key(l, "expect");
		p->expect = tl_xcalloc(1, sizeof *p->expect);
		parse_matcher(l, ex, p->expect, 0);
		ld_pop(l);
	}
	p->timeout_s = 30; /* emulated guests (TCG) under load are slow */
	ld_int(l, jp, "timeout_s", false, 1, 600, &p->timeout_s);
}

static tl_self_check parse_self_check(ld *l, json_t *obj, const char *key,
				      tl_self_check dflt)
{
	char *s = NULL;
	tl_self_check r = dflt;
	if (ld_str(l, obj, key, false, &s)) {
		if (!strcmp(s, "hidden"))
			r = TL_SELF_HIDDEN;
		else if (!strcmp(s, "status"))
			r = TL_SELF_STATUS;
		else if (!strcmp(s, "hint"))
			r = TL_SELF_HINT;
		else if (!strcmp(s, "evidence"))
			r = TL_SELF_EVIDENCE;
		else {
			ld_push_key(l, key);
			ld_err(l, "unknown self-check detail \"%s\" (expected "
				  "hidden, status, hint or evidence)",
			       s);
			ld_pop(l);
		}
	}
	free(s);
	return r;
}

static bool scenario_lists_competence(const tl_scenario *s, const char *id)
{
	for (size_t i = 0; i < s->n_competences; i++)
		if (!strcmp(s->competences[i], id))
			return true;
	return false;
}

static void parse_criterion(ld *l, json_t *jc, tl_criterion *c,
			    tl_scenario *s)
{
	static const char *const crit_f[] = {"id",     "label",	     "ref",
					     "weight", "manual",     "probes",
					     "hint",   "self_check", "given",
					     "partial", NULL};
	ld_check_fields(l, jc, crit_f);
	ld_check_id(l, jc, "id", &c->id);
	ld_str(l, jc, "label", true, &c->label);
	if (ld_str(l, jc, "ref", true, &c->ref)) {
		c->refc = tl_defs_ref_criterion(l->defs, c->ref);
		ld_push_key(l, "ref");
		if (!c->refc)
			ld_err(l, "unknown referential criterion \"%s\" "
				  "(`tssrlab referential` lists them)",
			       c->ref);
		else if (!scenario_lists_competence(s,
						    c->refc->competence->id))
			ld_err(l, "criterion \"%s\" belongs to competence "
				  "\"%s\", which the scenario does not list in "
				  "\"competences\"",
			       c->ref, c->refc->competence->id);
		ld_pop(l);
	}
	c->weight = 1;
	if (ld_num(l, jc, "weight", false, &c->weight) &&
	    !(c->weight > 0 && c->weight <= 1000)) {
		ld_push_key(l, "weight");
		ld_err(l, "weight must be greater than 0 (and at most 1000), "
			  "got %g", c->weight);
		ld_pop(l);
	}
	ld_bool(l, jc, "manual", &c->manual);
	ld_bool(l, jc, "given", &c->given);
	ld_bool(l, jc, "partial", &c->partial);
	ld_str(l, jc, "hint", false, &c->hint);
	c->self_check = parse_self_check(l, jc, "self_check", s->self_check);
	json_t *probes = ld_array(l, jc, "probes", !c->manual, !c->manual);
	if (c->manual && probes && json_array_size(probes) > 0) {
		ld_err_key(l, "probes",
			   "a manual (jury-evaluated) criterion has no probes");
		return;
	}
	if (!probes)
		return;
	ld_push_key(l, "probes");
	size_t i;
	json_t *jp;
	c->probes = tl_xcalloc(json_array_size(probes), sizeof *c->probes);
	json_array_foreach(probes, i, jp)
	{
		ld_push_index(l, i);
		if (!json_is_object(jp))
			ld_err(l, "expected an object, got %s", ld_json_type(jp));
		else
			parse_probe(l, jp, &c->probes[c->n_probes++], s->lab);
		ld_pop(l);
	}
	ld_pop(l);
}

static char *dir_of(const char *file)
{
	const char *slash = strrchr(file, '/');
	return slash ? tl_xstrndup(file, (size_t)(slash - file))
		     : tl_xstrdup(".");
}

static void parse_solutions(ld *l, json_t *root, const char *key,
			    tl_scenario *s, tl_solution **out, size_t *n)
{
	json_t *sol = ld_object(l, root, key, false);
	if (!sol)
		return;
	ld_push_key(l, key);
	const char *mach;
	json_t *v;
	TL_AUTOFREE char *dir = dir_of(l->file);
	json_object_foreach(sol, mach, v)
	{
		ld_push_key(l, mach);
		if (s->lab && !tl_lab_machine_find(s->lab, mach))
			ld_err(l, "unknown machine \"%s\" (lab \"%s\" has no "
				  "such machine)",
			       mach, s->lab->id);
		if (!json_is_string(v) || json_string_length(v) == 0) {
			ld_err(l, "expected a script path (relative to %s)",
			       dir);
		} else {
			tl_solution *so = GROW(*out, *n);
			so->machine = tl_xstrdup(mach);
			so->script = tl_xstrdup(json_string_value(v));
			if (so->script[0] == '/' || strstr(so->script, ".."))
				ld_err(l, "solution path \"%s\" must be relative "
					  "and stay below the scenario folder",
				       so->script);
			else if (l->text) {
				TL_AUTOFREE char *p = tl_xasprintf(
					"%s/%s", dir, so->script);
				FILE *f = fopen(p, "r");
				if (!f)
					ld_err(l, "solution script %s does not "
						  "exist",
					       p);
				else
					fclose(f);
			}
		}
		ld_pop(l);
	}
	ld_pop(l);
}

void tl_load_scenario(ld *l, json_t *root)
{
	static const char *const top[] = {
		"id",	     "title",	   "briefing",	     "lab",
		"duration_min", "competences", "setup",	      "tasks",
		"self_check", "solution",    "partial_solution", NULL};
	static const char *const step_f[] = {"machine", "label", "run",
					     "timeout_s", NULL};
	static const char *const task_f[] = {"id", "title", "description",
					     "criteria", NULL};
	static const char *const self_f[] = {"enabled", "detail", NULL};
	ld_check_fields(l, root, top);
	tl_scenario *s = tl_xcalloc(1, sizeof *s);
	s->file = tl_xstrdup(l->file);
	s->runnable_here = true;
	ld_check_id(l, root, "id", &s->id);
	ld_str(l, root, "title", true, &s->title);
	ld_str(l, root, "briefing", true, &s->briefing);
	if (ld_str(l, root, "lab", true, &s->lab_id)) {
		s->lab = tl_defs_lab(l->defs, s->lab_id);
		if (!s->lab) {
			ld_push_key(l, "lab");
			ld_err(l, "unknown lab \"%s\"", s->lab_id);
			ld_pop(l);
		} else {
			for (size_t i = 0; i < s->lab->n_machines; i++)
				if (s->lab->machines[i].image &&
				    s->lab->machines[i].image->user_supplied)
					s->runnable_here = false;
		}
	}
	s->duration_min = 90;
	ld_int(l, root, "duration_min", false, 5, 24 * 60, &s->duration_min);
	if (ld_strlist(l, root, "competences", true, &s->competences,
		       &s->n_competences)) {
		ld_push_key(l, "competences");
		if (s->n_competences == 0)
			ld_err(l, "must list at least one competence");
		for (size_t i = 0; i < s->n_competences; i++)
			if (!tl_defs_competence(l->defs, s->competences[i])) {
				ld_push_index(l, i);
				ld_err(l, "unknown competence \"%s\"",
				       s->competences[i]);
				ld_pop(l);
			}
		ld_pop(l);
	}
	s->self_check_enabled = true;
	s->self_check = TL_SELF_STATUS;
	json_t *sc = ld_object(l, root, "self_check", false);
	if (sc) {
		ld_push_key(l, "self_check");
		ld_check_fields(l, sc, self_f);
		ld_bool(l, sc, "enabled", &s->self_check_enabled);
		s->self_check = parse_self_check(l, sc, "detail", s->self_check);
		ld_pop(l);
	}
	json_t *setup = ld_array(l, root, "setup", false, false);
	if (setup) {
		ld_push_key(l, "setup");
		size_t i;
		json_t *js;
		json_array_foreach(setup, i, js)
		{
			ld_push_index(l, i);
			if (!json_is_object(js)) {
				ld_err(l, "expected an object, got %s",
				       ld_json_type(js));
				ld_pop(l);
				continue;
			}
			ld_check_fields(l, js, step_f);
			tl_setup_step *st = GROW(s->setup, s->n_setup);
			if (ld_str(l, js, "machine", true, &st->machine) &&
			    s->lab && !tl_lab_machine_find(s->lab, st->machine)) {
				ld_push_key(l, "machine");
				ld_err(l, "unknown machine \"%s\" (lab \"%s\" "
					  "has no such machine)",
				       st->machine, s->lab->id);
				ld_pop(l);
			}
			ld_str(l, js, "label", true, &st->label);
			ld_str(l, js, "run", true, &st->run);
			st->timeout_s = 120;
			ld_int(l, js, "timeout_s", false, 1, 3600,
			       &st->timeout_s);
			ld_pop(l);
		}
		ld_pop(l);
	}
	json_t *tasks = ld_array(l, root, "tasks", true, true);
	if (tasks) {
		ld_push_key(l, "tasks");
		s->tasks = tl_xcalloc(json_array_size(tasks), sizeof *s->tasks);
		size_t i;
		json_t *jt;
		json_array_foreach(tasks, i, jt)
		{
			ld_push_index(l, i);
			if (!json_is_object(jt)) {
				ld_err(l, "expected an object, got %s",
				       ld_json_type(jt));
				ld_pop(l);
				continue;
			}
			ld_check_fields(l, jt, task_f);
			tl_task *t = &s->tasks[s->n_tasks++];
			ld_check_id(l, jt, "id", &t->id);
			ld_str(l, jt, "title", true, &t->title);
			ld_str(l, jt, "description", false, &t->description);
			json_t *crits = ld_array(l, jt, "criteria", true, true);
			if (crits) {
				ld_push_key(l, "criteria");
				t->criteria = tl_xcalloc(json_array_size(crits),
							 sizeof *t->criteria);
				size_t k;
				json_t *jc;
				json_array_foreach(crits, k, jc)
				{
					ld_push_index(l, k);
					if (!json_is_object(jc))
						ld_err(l, "expected an object, "
							  "got %s",
						       ld_json_type(jc));
					else
						parse_criterion(
							l, jc,
							&t->criteria[t->n_criteria++],
							s);
					ld_pop(l);
				}
				ld_pop(l);
			}
			ld_pop(l);
		}
		/* ids are unique across the scenario (criteria are addressed
		 * by id in results and exports) */
		for (size_t a = 0; a < s->n_tasks; a++) {
			for (size_t b = 0; b < a; b++)
				if (s->tasks[a].id && s->tasks[b].id &&
				    !strcmp(s->tasks[a].id, s->tasks[b].id)) {
					ld_push_index(l, a);
					ld_push_key(l, "id");
					ld_err(l, "duplicate task id \"%s\"",
					       s->tasks[a].id);
					l->path.depth -= 2;
				}
			for (size_t k = 0; k < s->tasks[a].n_criteria; k++) {
				const char *id = s->tasks[a].criteria[k].id;
				bool dup = false;
				for (size_t b = 0; b <= a && !dup; b++)
					for (size_t q = 0;
					     q < s->tasks[b].n_criteria &&
					     (b < a || q < k) && !dup;
					     q++)
						dup = id &&
						      s->tasks[b].criteria[q].id &&
						      !strcmp(id,
							      s->tasks[b]
								      .criteria[q]
								      .id);
				if (dup) {
					ld_push_index(l, a);
					ld_push_key(l, "criteria");
					ld_push_index(l, k);
					ld_push_key(l, "id");
					ld_err(l, "duplicate criterion id "
						  "\"%s\"",
					       id);
					l->path.depth -= 4;
				}
			}
		}
		ld_pop(l);
	}
	parse_solutions(l, root, "solution", s, &s->solutions,
			&s->n_solutions);
	tl_solution *partial = NULL;
	size_t n_partial = 0;
	parse_solutions(l, root, "partial_solution", s, &partial, &n_partial);
	if (n_partial > 1)
		ld_err_key(l, "partial_solution",
			   "a partial solution names one machine");
	if (n_partial >= 1) {
		s->partial_solution_machine = TL_TAKE_PTR(partial[0].machine);
		s->partial_solution = TL_TAKE_PTR(partial[0].script);
	}
	for (size_t i = 0; i < n_partial; i++) {
		free(partial[i].machine);
		free(partial[i].script);
	}
	free(partial);

	tl_defs *d = l->defs;
	if (s->id && tl_defs_scenario(d, s->id)) {
		ld_push_key(l, "id");
		ld_err(l, "duplicate scenario id \"%s\" (also in %s)", s->id,
		       tl_defs_scenario(d, s->id)->file);
		ld_pop(l);
		tl_scenario_clear(s);
		free(s);
		return;
	}
	*GROW(d->scenarios, d->n_scenarios) = *s;
	free(s);
}

/* ------------------------------------------------------------------ */
/* freeing                                                              */

void tl_referential_clear(tl_referential *r)
{
	for (size_t i = 0; i < r->n_blocks; i++) {
		tl_ref_block *b = &r->blocks[i];
		for (size_t j = 0; j < b->n_competences; j++) {
			tl_ref_competence *c = &b->competences[j];
			for (size_t k = 0; k < c->n_criteria; k++) {
				free(c->criteria[k].id);
				free(c->criteria[k].label);
				free(c->criteria[k].source);
			}
			free(c->criteria);
			free(c->id);
			free(c->label);
		}
		free(b->competences);
		free(b->id);
		free(b->kind);
		free(b->label);
		free(b->rncp_block);
	}
	free(r->blocks);
	free(r->file);
	free(r->id);
	free(r->label);
	free(r->rncp);
	free(r->code);
	free(r->level);
	free(r->nsf);
	free(r->version);
	free(r->arrete);
	memset(r, 0, sizeof *r);
}

void tl_image_clear(tl_image *im)
{
	free(im->file);
	free(im->id);
	free(im->description);
	free(im->recipe);
	free(im->kernel);
	free(im->initrd);
	free(im->cmdline);
	free(im->disk);
	free(im->disk_bus);
	free(im->login_user);
	free(im->login_shell);
	free_list(im->packages, im->n_packages);
	memset(im, 0, sizeof *im);
}

void tl_lab_clear(tl_lab *lab)
{
	for (size_t i = 0; i < lab->n_networks; i++) {
		free(lab->networks[i].id);
		free(lab->networks[i].cidr);
	}
	free(lab->networks);
	for (size_t i = 0; i < lab->n_machines; i++) {
		tl_lab_machine *m = &lab->machines[i];
		free(m->id);
		free(m->hostname);
		free(m->image_id);
		for (size_t k = 0; k < m->n_nics; k++) {
			free(m->nics[k].network);
			free(m->nics[k].address);
		}
		free(m->nics);
		free(m->ports);
	}
	free(lab->machines);
	free(lab->file);
	free(lab->id);
	free(lab->title);
	free(lab->description);
	memset(lab, 0, sizeof *lab);
}

static void matcher_clear(tl_matcher *m)
{
	for (size_t i = 0; i < m->n_children; i++)
		matcher_clear(&m->children[i]);
	free(m->children);
	free(m->str);
}

void tl_scenario_clear(tl_scenario *s)
{
	free(s->file);
	free(s->id);
	free(s->title);
	free(s->briefing);
	free(s->lab_id);
	free_list(s->competences, s->n_competences);
	for (size_t i = 0; i < s->n_setup; i++) {
		free(s->setup[i].machine);
		free(s->setup[i].label);
		free(s->setup[i].run);
	}
	free(s->setup);
	for (size_t i = 0; i < s->n_tasks; i++) {
		tl_task *t = &s->tasks[i];
		for (size_t k = 0; k < t->n_criteria; k++) {
			tl_criterion *c = &t->criteria[k];
			for (size_t q = 0; q < c->n_probes; q++) {
				tl_probe *p = &c->probes[q];
				free(p->kind_name);
				free(p->machine);
				free(p->from);
				free(p->field);
				json_decref(p->args);
				if (p->expect) {
					matcher_clear(p->expect);
					free(p->expect);
				}
			}
			free(c->probes);
			free(c->id);
			free(c->label);
			free(c->ref);
			free(c->hint);
		}
		free(t->criteria);
		free(t->id);
		free(t->title);
		free(t->description);
	}
	free(s->tasks);
	for (size_t i = 0; i < s->n_solutions; i++) {
		free(s->solutions[i].machine);
		free(s->solutions[i].script);
	}
	free(s->solutions);
	free(s->partial_solution_machine);
	free(s->partial_solution);
	memset(s, 0, sizeof *s);
}
