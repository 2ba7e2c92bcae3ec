/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Adoption of a pinned program by a restarted daemon (Documentation/
 * daemon.md, "Restore").
 *
 * A program's code can be generated again from the rules; what cannot is
 * the numbering of its counters, which follows the history of the chain
 * (stable slots, codegen/slots.c). So a program is described by its slot
 * table (bf_program_describe(): per slot the chain name, the rule's index
 * in it and the expression's index), which the caller keeps with its own
 * state. bf_program_adopt() turns the pinned program, its pinned counters
 * map and that description back into a stand-in for the running program:
 * enough to generate the chain again against it (bf_program_generate_for():
 * same slot numbers, the same counters map shared at load, so counters go
 * on counting exactly) and to take its place behind its dispatcher
 * (bf_link_adopt(), codegen/dispatch.c).
 *
 * Description format (host byte order, it never leaves the machine):
 *   u32 magic "BFD1", u32 n_slots, then per slot
 *   u16 name length (0: a number left unused), u8 freed, u8 pad,
 *   u32 pad, u64 rule index (UINT64_MAX: the policy), u64 expression index,
 *   the name's bytes (no NUL).
 * Untrusted at start (it comes from a file): every length is checked.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include <bpfilter/helpers.h>
#include <bpfilter/logger.h>

#include "codegen/cgen.h"

#define BF_DESC_MAGIC 0x31444642u /* "BFD1" */
#define BF_DESC_MAX_SLOTS (1u << 24)

struct _bf_desc_slot {
	uint16_t name_len;
	uint8_t freed;
	uint8_t pad;
	uint32_t pad2;
	uint64_t rule;
	uint64_t expr;
};

int bf_program_describe(const struct bf_program *prog, void **buf,
			size_t *len)
{
	size_t size = 8;
	uint8_t *out, *p;

	for (size_t s = 0; s < prog->n_slots; s++) {
		size += sizeof(struct _bf_desc_slot);
		if (prog->slots[s].chain)
			size += strlen(prog->slots[s].chain);
	}
	out = malloc(size);
	if (!out)
		return -ENOMEM;
	p = out;
	*(uint32_t *)p = BF_DESC_MAGIC;
	*(uint32_t *)(p + 4) = (uint32_t)prog->n_slots;
	p += 8;
	for (size_t s = 0; s < prog->n_slots; s++) {
		const struct bf_counter_slot *sl = &prog->slots[s];
		struct _bf_desc_slot d = {
			.name_len = sl->chain ? (uint16_t)strlen(sl->chain) : 0,
			.freed = sl->freed,
			.rule = sl->rule == SIZE_MAX ? UINT64_MAX : sl->rule,
			.expr = sl->expr,
		};

		memcpy(p, &d, sizeof(d));
		p += sizeof(d);
		memcpy(p, sl->chain ? sl->chain : "", d.name_len);
		p += d.name_len;
	}
	*buf = out;
	*len = size;
	return 0;
}

static const char *_bf_adopt_name(struct bf_program *p, const char *name,
				  size_t len)
{
	char **names;

	for (size_t i = 0; i < p->n_names; i++) {
		if (strlen(p->names[i]) == len && !memcmp(p->names[i], name, len))
			return p->names[i];
	}
	names = realloc(p->names, (p->n_names + 1) * sizeof(*names));
	if (!names)
		return NULL;
	p->names = names;
	p->names[p->n_names] = strndup(name, len);
	if (!p->names[p->n_names])
		return NULL;
	return p->names[p->n_names++];
}

static int _bf_adopt_slots(struct bf_program *p, const struct bf_table *table,
			   const uint8_t *buf, size_t len, char *errbuf,
			   size_t errlen)
{
	uint32_t n;

	if (len < 8 || *(const uint32_t *)buf != BF_DESC_MAGIC) {
		snprintf(errbuf, errlen, "bad program description");
		return -EBADMSG;
	}
	n = *(const uint32_t *)(buf + 4);
	if (!n || n > BF_DESC_MAX_SLOTS ||
	    (size_t)n > (len - 8) / sizeof(struct _bf_desc_slot)) {
		snprintf(errbuf, errlen, "bad program description: %u slots", n);
		return -EBADMSG;
	}
	p->slots = calloc(n, sizeof(*p->slots));
	if (!p->slots)
		return -ENOMEM;
	p->n_slots = p->slots_cap = n;
	buf += 8;
	len -= 8;
	for (uint32_t s = 0; s < n; s++) {
		struct bf_counter_slot *sl = &p->slots[s];
		const struct bf_chain *c;
		struct _bf_desc_slot d;

		if (len < sizeof(d))
			goto bad;
		memcpy(&d, buf, sizeof(d));
		buf += sizeof(d);
		len -= sizeof(d);
		if (len < d.name_len || (s == 0 && !d.name_len))
			goto bad;
		sl->freed = d.freed;
		if (d.name_len) {
			sl->chain = _bf_adopt_name(p, (const char *)buf, d.name_len);
			if (!sl->chain)
				return -ENOMEM;
		}
		buf += d.name_len;
		len -= d.name_len;
		sl->rule = d.rule == UINT64_MAX ? SIZE_MAX : (size_t)d.rule;
		sl->expr = (size_t)d.expr;
		if (!sl->chain || sl->rule == SIZE_MAX)
			continue;
		/* The counter follows its rule: the restored rule's id. */
		c = bf_table_get_chain(table, sl->chain);
		if (!c || sl->rule >= c->n_rules) {
			sl->chain = NULL;
			continue;
		}
		sl->rule_id = c->rules[sl->rule]->id;
	}
	if (len)
		goto bad;
	return 0;

bad:
	snprintf(errbuf, errlen, "bad program description: truncated");
	return -EBADMSG;
}

/* Ids of the maps program @fd uses, in *@ids (malloc'd). */
static int _bf_prog_map_ids(int fd, uint32_t **ids, uint32_t *n)
{
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info);
	uint32_t *m;

	if (bpf_prog_get_info_by_fd(fd, &info, &len))
		return -errno;
	m = calloc(info.nr_map_ids ? info.nr_map_ids : 1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	*n = info.nr_map_ids;
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = *n;
	info.map_ids = (uint64_t)(uintptr_t)m;
	len = sizeof(info);
	if (bpf_prog_get_info_by_fd(fd, &info, &len)) {
		free(m);
		return -errno;
	}
	*ids = m;
	return 0;
}

int bf_prog_next_map_id(int prog_fd, uint32_t *id)
{
	uint32_t *ids = NULL, n = 0;
	int r;

	*id = 0;
	r = _bf_prog_map_ids(prog_fd, &ids, &n);
	if (r)
		return r;
	for (uint32_t i = 0; i < n && !*id; i++) {
		struct bpf_map_info mi = {};
		uint32_t len = sizeof(mi);
		int fd = bpf_map_get_fd_by_id(ids[i]);

		if (fd < 0)
			continue;
		if (!bpf_map_get_info_by_fd(fd, &mi, &len) &&
		    mi.type == BPF_MAP_TYPE_PROG_ARRAY)
			*id = ids[i];
		close(fd);
	}
	free(ids);
	return *id ? 0 : -ENOENT;
}

int bf_program_adopt(struct bf_program **out, const char *dir,
		     const struct bf_table *table, const char *chain_name,
		     int nfproto, const void *desc, size_t desc_len,
		     char *errbuf, size_t errlen)
{
	_cleanup_close_ int prog_fd = -1, counters_fd = -1;
	const struct bf_chain *chain = bf_table_get_chain(table, chain_name);
	struct bpf_prog_info pi = {};
	struct bpf_map_info mi = {};
	uint32_t len, *ids = NULL, n = 0;
	struct bf_program *p;
	char path[BF_PIN_PATH_MAX];
	bool found = false;
	int r;

	if (!chain || !chain->base) {
		snprintf(errbuf, errlen, "no base chain '%s'", chain_name);
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "%s/prog", dir);
	prog_fd = bpf_obj_get(path);
	if (prog_fd < 0) {
		r = -errno;
		snprintf(errbuf, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	len = sizeof(pi);
	if (bpf_prog_get_info_by_fd(prog_fd, &pi, &len)) {
		r = -errno;
		snprintf(errbuf, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	if (pi.type != bf_flavour_get(chain->hook)->prog_type) {
		snprintf(errbuf, errlen, "%s: a program of type %u, not of hook %s",
			 path, pi.type, bf_hook_to_str(chain->hook));
		return -EBADMSG;
	}
	snprintf(path, sizeof(path), "%s/counters", dir);
	counters_fd = bpf_obj_get(path);
	if (counters_fd < 0) {
		r = -errno;
		snprintf(errbuf, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	len = sizeof(mi);
	if (bpf_map_get_info_by_fd(counters_fd, &mi, &len)) {
		r = -errno;
		snprintf(errbuf, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	r = _bf_prog_map_ids(prog_fd, &ids, &n);
	if (r) {
		snprintf(errbuf, errlen, "%s/prog: %s", dir, strerror(-r));
		return r;
	}
	for (uint32_t i = 0; i < n; i++)
		found |= ids[i] == mi.id;
	free(ids);
	if (!found || mi.type != BPF_MAP_TYPE_PERCPU_ARRAY ||
	    /* {packets, bytes}, codegen/loader.c */
	    mi.value_size != 2 * sizeof(uint64_t)) {
		snprintf(errbuf, errlen, "%s is not the counters map of %s/prog",
			 path, dir);
		return -EBADMSG;
	}

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->prog_fd = p->counters_fd = p->keys_fd = p->next_fd = p->share_fd = -1;
	snprintf(p->chain, sizeof(p->chain), "%s", chain->name);
	p->hook = chain->hook;
	p->nfproto = nfproto;
	p->priority = chain->priority;
	memcpy(p->ifname, chain->ifname, sizeof(p->ifname));
	p->ifname[sizeof(p->ifname) - 1] = '\0';
	snprintf(p->cgroup, sizeof(p->cgroup), "%s", chain->cgroup);
	p->flavour = bf_flavour_get(chain->hook);
	r = _bf_adopt_slots(p, table, desc, desc_len, errbuf, errlen);
	if (r) {
		bf_program_free(&p);
		return r;
	}
	if (mi.max_entries < p->n_slots) {
		snprintf(errbuf, errlen, "%s has %u entries, the description %zu slots",
			 path, mi.max_entries, p->n_slots);
		bf_program_free(&p);
		return -EBADMSG;
	}
	p->prog_fd = TAKE_FD(prog_fd);
	p->counters_fd = TAKE_FD(counters_fd);
	p->counters_cap = mi.max_entries;
	p->counters_id = mi.id;
	*out = p;
	return 0;
}
