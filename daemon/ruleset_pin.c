/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The ruleset core's pins (persistent mode, Documentation/daemon.md,
 * "Pins"): the folders under <bpffs>/bpfilter/ where every chain's
 * programs and maps and every attach point's dispatcher are pinned,
 * pinning and unpinning them, the staged pins of a commit, and, on
 * restore, the adoption of the programs a previous daemon pinned and the
 * sweep of what the state does not name. The commit path itself is in
 * ruleset.c; what the two share is in ruleset_priv.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpfilter/logger.h>

#include "codegen/codegen.h"
#include "daemon/netns.h"
#include "daemon/ruleset.h"
#include "daemon/ruleset_priv.h"

/* <bpffs>/bpfilter, or NULL: transient, nothing pinned. */
char *bf_rs_pin_root;

int bf_ruleset_set_pin_root(const char *bpffs)
{
	char *root = NULL;

	if (bpffs && asprintf(&root, "%s/bpfilter", bpffs) < 0)
		return -ENOMEM;
	free(bf_rs_pin_root);
	bf_rs_pin_root = root;
	return 0;
}

/* A file name from an object name: bpffs refuses '.', and '/' would be a
 * folder. Both become '_'. */
static void _bf_rs_name(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s", name);
	for (char *c = buf; *c; c++) {
		if (*c == '/' || *c == '.')
			*c = '_';
	}
}

/* The folder of the programs of chain @h (program @k of two: ipv4, ipv6). */
static void _bf_rs_prog_dir(const struct bf_rs_chain *h, size_t k, char *buf,
			    size_t len)
{
	if (h->n == 2)
		snprintf(buf, len, "%s/%s", h->dir, k ? "ipv6" : "ipv4");
	else
		snprintf(buf, len, "%s", h->dir);
}

/* Folder of the attach point of program @prog: what makes it one point. */
static void _bf_rs_point_dir(const struct bf_rs_chain *h,
			     const struct bf_program *prog, char *buf,
			     size_t len)
{
	enum bf_hook hook = bf_program_hook(prog);
	char what[256];

	switch (hook) {
	case BF_HOOK_XDP:
	case BF_HOOK_TC_INGRESS:
	case BF_HOOK_TC_EGRESS:
		_bf_rs_name(what, sizeof(what), bf_program_ifname(prog));
		break;
	case BF_HOOK_CGROUP_SKB_INGRESS:
	case BF_HOOK_CGROUP_SKB_EGRESS:
		_bf_rs_name(what, sizeof(what), bf_program_cgroup(prog));
		break;
	default:
		snprintf(what, sizeof(what), "%s_%d",
			 bf_program_nfproto(prog) == BF_NFPROTO_IPV6 ? "ipv6" : "ipv4",
			 bf_program_priority(prog));
		break;
	}
	snprintf(buf, len, "%s/dispatch/%s_%s", h->ns_dir, bf_hook_to_str(hook),
		 what);
}

/* Remove @path and its parents up to @stop (excluded) while empty. */
void bf_rs_rmdirs(const char *path, const char *stop)
{
	char buf[BF_RS_PATH_MAX];
	size_t l = strlen(stop);

	snprintf(buf, sizeof(buf), "%s", path);
	while (strlen(buf) > l && !strncmp(buf, stop, l)) {
		char *slash;

		if (rmdir(buf))
			return;
		slash = strrchr(buf, '/');
		if (!slash)
			return;
		*slash = '\0';
	}
}

/* Take @h's pins away: the chain is gone. */
void bf_rs_unpin(struct bf_rs_chain *h)
{
	char dir[BF_RS_PATH_MAX];

	if (!h->dir)
		return;
	for (size_t k = 0; k < h->n; k++) {
		if (!h->progs[k])
			continue;
		_bf_rs_prog_dir(h, k, dir, sizeof(dir));
		bf_program_unpin(h->progs[k], dir);
	}
	bf_rs_rmdirs(h->dir, bf_rs_pin_root);
}

/* The chain folder of base chain @name of @ir in @ctx's netns. */
static int _bf_rs_chain_dir(const struct bf_netns_ctx *ctx,
			    const struct bf_table *ir, const char *name,
			    char *buf, size_t len)
{
	char ns_dir[BF_RS_PATH_MAX], table[256], chain[256];

	if (bf_ruleset_netns_dir(ctx, ns_dir, sizeof(ns_dir)))
		return -ENOENT;
	_bf_rs_name(table, sizeof(table), ir->name);
	_bf_rs_name(chain, sizeof(chain), name);
	if ((size_t)snprintf(buf, len, "%s/%s_%s/%s", ns_dir,
			     bf_family_to_str(ir->family), table, chain) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/*
 * Pin the new programs of pending chain @p in their folder (the old
 * program's files there are replaced one by one, atomically), and take
 * the old folder away when the chain was renamed. Before the handle takes
 * them (_bf_rs_keep()), while the old programs are known. Logged, not
 * fatal: the commit is visible already.
 */
void bf_rs_pin_progs(const struct bf_netns_ctx *ctx,
		     const struct bf_table *ir, struct bf_rs_pending *p)
{
	char ns_dir[BF_RS_PATH_MAX], dir[BF_RS_PATH_MAX], pdir[BF_RS_PATH_MAX];
	struct bf_rs_chain *h = p->rs, *old = p->base->rs;
	int r;

	if (bf_ruleset_netns_dir(ctx, ns_dir, sizeof(ns_dir)) ||
	    _bf_rs_chain_dir(ctx, ir, p->base->name, dir, sizeof(dir))) {
		bf_err("ruleset: chain '%s': pin path too long", p->base->name);
		return;
	}
	h->dir = strdup(dir);
	h->ns_dir = strdup(ns_dir);
	if (!h->dir || !h->ns_dir) {
		bf_err("ruleset: cannot pin %s: out of memory", dir);
		return;
	}
	for (size_t k = 0; k < h->n; k++) {
		_bf_rs_prog_dir(h, k, pdir, sizeof(pdir));
		r = bf_program_pin(h->progs[k], pdir);
		if (r)
			bf_err("ruleset: cannot pin chain programs in %s: %s",
			       pdir, strerror(-r));
	}
	if (old && old->dir && strcmp(old->dir, h->dir))
		bf_rs_unpin(old);
}

/* Pin the attach points of @h's links. */
void bf_rs_pin_links(struct bf_rs_chain *h)
{
	char pdir[BF_RS_PATH_MAX];
	int r;

	for (size_t k = 0; h->ns_dir && k < h->n; k++) {
		if (!h->links[k])
			continue;
		_bf_rs_point_dir(h, h->progs[k], pdir, sizeof(pdir));
		r = bf_link_pin(h->links[k], pdir);
		if (r)
			bf_err("ruleset: cannot pin the attach point %s: %s", pdir,
			       strerror(-r));
	}
}

int bf_ruleset_netns_dir(const struct bf_netns_ctx *ctx, char *buf, size_t len)
{
	if (!bf_rs_pin_root)
		return -ENOENT;
	snprintf(buf, len, "%s/netns-%llu", bf_rs_pin_root,
		 (unsigned long long)ctx->ino);
	return 0;
}

/*
 * Description blob of a handle (bf_rs_chain_describe()):
 *   u32 magic "BFR1", u32 number of programs, then per program
 *   u32 length, the codegen description (bf_program_describe()).
 */
#define BF_RS_DESC_MAGIC 0x31524642u

int bf_rs_chain_describe(const struct bf_rs_chain *rs, void **buf,
			 size_t *len)
{
	void *d[2] = { NULL, NULL };
	size_t dl[2] = { 0, 0 }, size = 8, n = rs ? rs->n : 0;
	uint8_t *out, *p;
	int r = 0;

	for (size_t k = 0; k < n && !r; k++) {
		if (!rs->progs[k])
			return -ENOENT;
		r = bf_program_describe(rs->progs[k], &d[k], &dl[k]);
		size += 4 + dl[k];
	}
	out = r ? NULL : malloc(size);
	if (!out) {
		free(d[0]);
		free(d[1]);
		return r ? r : -ENOMEM;
	}
	p = out;
	*(uint32_t *)p = BF_RS_DESC_MAGIC;
	*(uint32_t *)(p + 4) = (uint32_t)n;
	p += 8;
	for (size_t k = 0; k < n; k++) {
		*(uint32_t *)p = (uint32_t)dl[k];
		memcpy(p + 4, d[k], dl[k]);
		p += 4 + dl[k];
		free(d[k]);
	}
	*buf = out;
	*len = size;
	return 0;
}

/*
 * The pinned programs of base chain @b, as stand-ins to generate against
 * (same counter slots, the same counters map). Nothing pinned (a
 * crash before the pin, a dormant chain's folder removed by hand): the
 * chain is loaded afresh, with a warning.
 */
int bf_rs_adopt(const struct bf_netns_ctx *ctx, struct bf_table *ir,
		const struct bf_rs_base *b, struct bf_rs_chain *h,
		const int *nfproto, struct bf_program **adopted,
		char *msg, size_t msglen)
{
	const uint8_t *p = b->adopt;
	size_t len = b->adopt_len;
	char dir[BF_RS_PATH_MAX], pdir[BF_RS_PATH_MAX];
	int r;

	if (!bf_rs_pin_root)
		return 0;
	if (len < 8 || *(const uint32_t *)p != BF_RS_DESC_MAGIC ||
	    *(const uint32_t *)(p + 4) != h->n) {
		bf_rs_msg(msg, msglen, "chain '%s': bad program description in the state",
			  b->name);
		return -EBADMSG;
	}
	p += 8;
	len -= 8;
	r = _bf_rs_chain_dir(ctx, ir, b->name, dir, sizeof(dir));
	if (r) {
		bf_rs_msg(msg, msglen, "chain '%s': pin path: %s", b->name,
			  strerror(-r));
		return r;
	}
	for (size_t k = 0; k < h->n; k++) {
		uint32_t dl;

		if (len < 4 || (dl = *(const uint32_t *)p) > len - 4) {
			bf_rs_msg(msg, msglen, "chain '%s': truncated program description",
				  b->name);
			return -EBADMSG;
		}
		if ((size_t)snprintf(pdir, sizeof(pdir), "%s%s", dir,
				     h->n == 2 ? (k ? "/ipv6" : "/ipv4") : "") >=
		    sizeof(pdir))
			return -ENAMETOOLONG;
		r = bf_program_adopt(&adopted[k], pdir, ir, b->name, nfproto[k],
				     p + 4, dl, msg, msglen);
		if (r == -ENOENT) {
			bf_warn("restore: chain '%s': nothing pinned in %s, loading it afresh",
				b->name, pdir);
			r = 0;
		}
		if (r) {
			char tmp[256];

			snprintf(tmp, sizeof(tmp), "%s", msg);
			bf_rs_msg(msg, msglen, "chain '%s': pins that do not match the state: %s",
				  b->name, tmp);
			return r;
		}
		p += 4 + dl;
		len -= 4 + dl;
	}
	return 0;
}

/* Restore: put the new programs of @p where their pinned ones ran. */
int bf_rs_adopt_links(const struct bf_netns_ctx *ctx,
		      const struct bf_table *ir,
		      struct bf_rs_pending *p)
{
	struct bf_rs_chain *h = p->rs;
	char pdir[BF_RS_PATH_MAX];
	bool any = false;

	if (p->in_place || p->base->dormant)
		return -ENOENT;
	for (size_t k = 0; k < h->n; k++) {
		struct bf_rs_chain tmp = *h;
		char ns_dir[BF_RS_PATH_MAX];
		int r;

		if (!p->adopted[k])
			continue;
		bf_ruleset_netns_dir(ctx, ns_dir, sizeof(ns_dir));
		tmp.ns_dir = ns_dir;
		_bf_rs_point_dir(&tmp, h->progs[k], pdir, sizeof(pdir));
		r = bf_link_adopt(&h->links[k], h->progs[k], p->adopted[k], pdir);
		if (r) {
			/* Attached as a new chain instead (_bf_rs_attach_one()). */
			bf_warn("restore: chain '%s': attach point %s: %s; attaching it afresh",
				p->base->name, pdir, strerror(-r));
			continue;
		}
		any = true;
	}
	(void)ir;
	return any ? 0 : -ENOENT;
}

/* Is @path one of the folders of @pend (chains, their attach points)? */
static bool _bf_rs_in_use(const char *path, const struct bf_rs_pending *pend,
			  size_t n_pend)
{
	for (size_t i = 0; i < n_pend; i++) {
		const struct bf_rs_chain *h = pend[i].base->rs;
		char pdir[BF_RS_PATH_MAX];

		if (!h || !h->dir)
			continue;
		if (!strcmp(h->dir, path))
			return true;
		for (size_t k = 0; k < h->n; k++) {
			if (!h->links[k] || !h->progs[k])
				continue;
			_bf_rs_point_dir(h, h->progs[k], pdir, sizeof(pdir));
			if (!strcmp(pdir, path))
				return true;
		}
	}
	return false;
}

/* rm -r of a folder of pins. */
void bf_ruleset_unpin_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;

	if (!d) {
		(void)unlink(path);
		return;
	}
	while ((e = readdir(d))) {
		char sub[BF_RS_PATH_MAX];

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path,
				     e->d_name) >= sizeof(sub))
			continue;
		if (e->d_type == DT_DIR)
			bf_ruleset_unpin_dir(sub);
		else
			(void)unlink(sub);
	}
	closedir(d);
	(void)rmdir(path);
}

/*
 * After a restore, the netns folder holds exactly what was restored: a
 * folder the state does not know (a chain pinned by a daemon killed before
 * it saved the state naming it) is unpinned, so the datapath runs what the
 * listing shows.
 */
void bf_rs_sweep(const struct bf_netns_ctx *ctx,
		 const struct bf_rs_pending *pend, size_t n_pend)
{
	char ns_dir[BF_RS_PATH_MAX];
	struct dirent *e;
	DIR *d;

	if (bf_ruleset_netns_dir(ctx, ns_dir, sizeof(ns_dir)))
		return;
	d = opendir(ns_dir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		char sub[BF_RS_PATH_MAX];
		struct dirent *f;
		DIR *sd;

		if (e->d_name[0] == '.' || e->d_type != DT_DIR)
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", ns_dir,
				     e->d_name) >= sizeof(sub))
			continue;
		sd = opendir(sub);
		if (!sd)
			continue;
		while ((f = readdir(sd))) {
			char leaf[BF_RS_PATH_MAX];

			if (f->d_name[0] == '.')
				continue;
			if ((size_t)snprintf(leaf, sizeof(leaf), "%s/%s", sub,
					     f->d_name) >= sizeof(leaf))
				continue;
			if (_bf_rs_in_use(leaf, pend, n_pend))
				continue;
			bf_warn("restore: %s is not in the state: unpinned", leaf);
			bf_ruleset_unpin_dir(leaf);
		}
		closedir(sd);
		(void)rmdir(sub);
	}
	closedir(d);
}

/*
 * Pin the new programs of @pend under <netns>/staging/<i>_<k> before
 * they are swapped in; removed once the commit is over (the final pins
 * hold them then, or they were not taken). True if anything was staged.
 */
bool bf_rs_stage_pins(const struct bf_netns_ctx *ctx,
		      struct bf_rs_pending *pend, size_t n_pend, char *stage,
		      size_t len)
{
	char ns_dir[BF_RS_PATH_MAX], dir[BF_RS_PATH_MAX];
	bool any = false;

	if (bf_ruleset_netns_dir(ctx, ns_dir, sizeof(ns_dir)) ||
	    (size_t)snprintf(stage, len, "%s/staging", ns_dir) >= len)
		return false;
	for (size_t i = 0; i < n_pend; i++) {
		const struct bf_rs_chain *h = pend[i].rs;

		for (size_t k = 0; !pend[i].in_place && h && k < h->n; k++) {
			int r;

			if ((size_t)snprintf(dir, sizeof(dir), "%s/%zu_%zu", stage,
					     i, k) >= sizeof(dir))
				continue;
			r = bf_program_pin(h->progs[k], dir);
			if (r)
				bf_warn("ruleset: cannot stage pins in %s: %s", dir,
					strerror(-r));
			any = true;
		}
	}
	return any;
}
