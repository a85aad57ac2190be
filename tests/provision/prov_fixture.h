/*
 * prov_fixture.h: fixtures shared by the provisioner's tests.
 *
 * Test-driver tests: each test gets its own folder with a libvirt test
 * driver fixture file (test:///abs/path/fixture.xml: a private, in-process
 * hypervisor no other test sees), fake image folders that the fixture
 * exposes as storage pools (the base disk, kernel and initrd exist as
 * volumes there, the files themselves are empty), and the tssrlab
 * definitions of the source tree for the labs.
 */
#ifndef TL_PROV_FIXTURE_H
#define TL_PROV_FIXTURE_H

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tssrlab/defs.h"
#include "tssrlab/provision.h"

typedef struct fx {
	char dir[128];
	char uri[256];
	char images[160];
	char pool[160];
	char tiny[384];	  /* real image folder of "tiny" */
	char debian[384]; /* of "debian12" */
} fx;

static int fx_rm_one(const char *path, const struct stat *sb, int flag,
		     struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

static void fx_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(99);
	}
	fputs(text, f);
	fclose(f);
}

static void fx_image(fx *f, const char *id, const char *hash, char *ret,
		     unsigned long long disk_mib)
{
	char link[256];
	snprintf(ret, 384, "%s/%s-%s", f->images, id, hash);
	mkdir(ret, 0755);
	snprintf(link, sizeof link, "%s/%s", f->images, id);
	if (symlink(ret + strlen(f->images) + 1, link) < 0) {
		perror(link);
		exit(99);
	}
	(void)disk_mib;
}

/* The image folders as libvirt pools, with their files as volumes. */
static void fx_pool_xml(char *buf, size_t n, const char *name, const char *dir,
			unsigned long long disk_mib)
{
	snprintf(buf, n,
		 "<pool type='dir'><name>%s</name>"
		 "<capacity unit='GiB'>100</capacity><allocation>0</allocation>"
		 "<available unit='GiB'>100</available>"
		 "<target><path>%s</path></target>"
		 "<volume type='file'><name>disk.qcow2</name>"
		 "<capacity unit='MiB'>%llu</capacity>"
		 "<allocation unit='MiB'>1</allocation>"
		 "<target><path>%s/disk.qcow2</path><format type='qcow2'/>"
		 "</target></volume>"
		 "<volume type='file'><name>vmlinuz</name>"
		 "<capacity unit='MiB'>14</capacity>"
		 "<target><path>%s/vmlinuz</path></target></volume>"
		 "<volume type='file'><name>initrd.img</name>"
		 "<capacity unit='MiB'>3</capacity>"
		 "<target><path>%s/initrd.img</path></target></volume>"
		 "</pool>\n",
		 name, dir, disk_mib, dir, dir, dir);
}

/* A fresh folder and fixture; extra is XML put inside <node>. */
static void fx_init(fx *f, const char *extra)
{
	memset(f, 0, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/tl-prov-test.XXXXXX");
	if (!mkdtemp(f->dir)) {
		perror("mkdtemp");
		exit(99);
	}
	snprintf(f->images, sizeof f->images, "%s/images", f->dir);
	snprintf(f->pool, sizeof f->pool, "%s/pool", f->dir);
	mkdir(f->images, 0755);
	fx_image(
	    f, "tiny",
	    "00000000000000000000000000000000000000000000000000000000000000a1",
	    f->tiny, 64);
	fx_image(
	    f, "debian12",
	    "00000000000000000000000000000000000000000000000000000000000000b2",
	    f->debian, 3072);
	char p1[4096], p2[4096];
	fx_pool_xml(p1, sizeof p1, "images-tiny", f->tiny, 64);
	fx_pool_xml(p2, sizeof p2, "images-debian12", f->debian, 3072);
	size_t n = strlen(p1) + strlen(p2) + (extra ? strlen(extra) : 0) + 512;
	char *xml = malloc(n);
	snprintf(xml, n,
		 "<node>\n"
		 "<cpu><nodes>1</nodes><sockets>1</sockets><cores>2</cores>"
		 "<threads>1</threads><mhz>2000</mhz></cpu>\n"
		 "<memory>25165824</memory>\n%s%s%s</node>\n",
		 p1, p2, extra ? extra : "");
	char path[160];
	snprintf(path, sizeof path, "%s/fixture.xml", f->dir);
	fx_write_file(path, xml);
	free(xml);
	snprintf(f->uri, sizeof f->uri, "test://%s", path);
}

static void fx_fini(fx *f)
{
	if (f->dir[0])
		nftw(f->dir, fx_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	f->dir[0] = '\0';
}

static tl_prov_host_config fx_host(const fx *f, const char *name)
{
	tl_prov_host_config hc = {0};
	hc.name = name;
	hc.uri = f->uri;
	hc.accel = TL_PROV_ACCEL_TCG;
	hc.images_dir = f->images;
	hc.pool_path = f->pool;
	return hc;
}

/* The definitions of the source tree, loaded once. */
static tl_defs *fx_defs_;

static const tl_lab *fx_lab(const char *id)
{
	if (!fx_defs_) {
		tl_diags diags = {0};
		fx_defs_ =
		    tl_defs_load(tl_defs_default_root(), NULL, 0, &diags);
		if (!fx_defs_) {
			for (size_t i = 0; i < diags.n; i++) {
				char *m = tl_diag_format(&diags.items[i]);
				fprintf(stderr, "%s\n", m);
				free(m);
			}
			tl_diags_clear(&diags);
			fprintf(stderr, "cannot load definitions from %s\n",
				tl_defs_default_root());
			exit(99);
		}
	}
	const tl_lab *lab = tl_defs_lab(fx_defs_, id);
	if (!lab) {
		fprintf(stderr, "no lab %s\n", id);
		exit(99);
	}
	return lab;
}

static const tl_image *fx_image_def(const char *id)
{
	fx_lab("tiny-pair");
	return tl_defs_image(fx_defs_, id);
}

#endif
