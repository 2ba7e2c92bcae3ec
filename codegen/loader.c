/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Loading a generated program: the per-CPU counters map, map fd patching,
 * BPF_PROG_LOAD with the verifier log kept for errors; counters access,
 * BPF_PROG_TEST_RUN, accessors.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <bpfilter/helpers.h>
#include <bpfilter/logger.h>

#include "codegen/cgen.h"
#include "codegen/insn.h"

static bool _bf_verbose_bytecode;
static bool _bf_verbose_verifier;

void bf_codegen_set_verbose(bool bytecode, bool verifier)
{
	_bf_verbose_bytecode = bytecode;
	_bf_verbose_verifier = verifier;
}

bool bf_codegen_verbose_bytecode(void)
{
	return _bf_verbose_bytecode;
}

struct bf_counter_value {
	uint64_t packets;
	uint64_t bytes;
};

static int _bf_ncpus(void)
{
	int n = libbpf_num_possible_cpus();

	return n > 0 ? n : 1;
}

static enum bpf_attach_type _bf_expected_attach(const struct bf_program *p)
{
	switch (p->hook) {
	case BF_HOOK_CGROUP_SKB_INGRESS:
		return BPF_CGROUP_INET_INGRESS;
	case BF_HOOK_CGROUP_SKB_EGRESS:
		return BPF_CGROUP_INET_EGRESS;
	default:
		return p->flavour->attach_type;
	}
}

int bf_slot_write(const struct bf_program *p, uint32_t slot,
		  uint64_t packets, uint64_t bytes)
{
	int ncpus = _bf_ncpus();
	_cleanup_free_ struct bf_counter_value *v = calloc(ncpus, sizeof(*v));

	if (!v)
		return -ENOMEM;
	v[0].packets = packets;
	v[0].bytes = bytes;
	if (bpf_map_update_elem(p->counters_fd, &slot, v, BPF_ANY))
		return -errno;
	return 0;
}

/* The kernel's id of map @fd, or 0. */
static uint32_t _bf_map_id(int fd)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);

	if (bpf_map_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.id;
}

/*
 * The counters map. Generated against a running program whose map has
 * room for every slot, the program shares that map: counters it keeps
 * (same number, rule and expression) go on counting in place, so no
 * packet is lost or counted twice when the programs are swapped; the
 * other slots, which the running program does not count in, start from
 * their own initial values. Otherwise a new map, with room for rules
 * added later (an in-place update, update.c, fills it without a new
 * program), and the caller carries values over
 * (bf_program_inherit_counters()).
 */
static int _bf_counters_create(struct bf_program *prog, char *log, size_t loglen)
{
	bool shared = prog->share_fd >= 0 && prog->share_cap >= prog->n_slots;
	int r;

	if (shared) {
		prog->counters_fd = TAKE_FD(prog->share_fd);
		prog->counters_cap = prog->share_cap;
	} else {
		prog->counters_cap = bf_map_room(prog->n_slots);
		char mname[BPF_OBJ_NAME_LEN];

		bf_map_name(mname, sizeof(mname), prog, 'c');
		prog->counters_fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, mname,
						   sizeof(uint32_t),
						   sizeof(struct bf_counter_value),
						   (uint32_t)prog->counters_cap, NULL);
		if (prog->counters_fd < 0) {
			r = -errno;
			if (log && loglen)
				snprintf(log, loglen, "cannot create counters map: %s",
					 strerror(-r));
			prog->counters_fd = -1;
			return r;
		}
	}
	if (prog->share_fd >= 0) {
		close(prog->share_fd);
		prog->share_fd = -1;
	}
	prog->counters_id = _bf_map_id(prog->counters_fd);

	for (size_t i = 0; i < prog->n_slots; i++) {
		const struct bf_counter_slot *sl = &prog->slots[i];

		/* Shared: the policy and the carried counters run on. */
		if (shared && (i == 0 || sl->carried || !sl->chain))
			continue;
		if (!shared && !sl->init_packets && !sl->init_bytes)
			continue;
		r = bf_slot_write(prog, (uint32_t)i, sl->init_packets,
				  sl->init_bytes);
		if (r) {
			close(prog->counters_fd);
			prog->counters_fd = -1;
			return r;
		}
	}
	return 0;
}

/* The program array through which an accepted packet goes on to the next
 * chain of the hook (codegen/dispatch.c). */
static int _bf_next_create(struct bf_program *prog)
{
	char mname[BPF_OBJ_NAME_LEN];
	int fd;

	bf_map_name(mname, sizeof(mname), prog, 'n');
	fd = bpf_map_create(BPF_MAP_TYPE_PROG_ARRAY, mname, sizeof(uint32_t),
			    sizeof(uint32_t), 1, NULL);
	if (fd < 0)
		return -errno;
	prog->next_fd = fd;
	return 0;
}

int bf_set_map_fill(const struct bf_set *s, size_t cap, int *out)
{
	bool lpm = s->flags & BF_SET_F_PREFIX;
	LIBBPF_OPTS(bpf_map_create_opts, opts,
		    .map_flags = lpm ? BPF_F_NO_PREALLOC : 0);
	char mname[BPF_OBJ_NAME_LEN];
	bool vmap = s->flags & BF_SET_F_VMAP;
	uint8_t key[4 + BF_SET_KEY_MAX];
	uint32_t one = 1;
	int fd, r;

	if (s->n > cap)
		return -E2BIG;
	bf_obj_name(mname, sizeof(mname), "s", s->name);
	fd = bpf_map_create(lpm ? BPF_MAP_TYPE_LPM_TRIE : BPF_MAP_TYPE_HASH,
			    mname, s->key_len + (lpm ? 4 : 0), vmap ? 4 : 1,
			    (uint32_t)cap, &opts);
	if (fd < 0)
		return -errno;
	for (size_t e = 0; e < s->n; e++) {
		uint32_t plen = s->prefix[e];
		uint8_t *k = key;

		if (lpm) {
			memcpy(key, &plen, 4);
			k += 4;
		}
		memcpy(k, s->keys + e * s->key_len, s->key_len);
		/* vmap: the index of the element's verdict; else one byte
		 * (the first of a little-endian 1). */
		if (bpf_map_update_elem(fd, key, vmap ? &s->values[e] : &one,
					BPF_ANY)) {
			r = -errno;
			close(fd);
			return r;
		}
	}
	*out = fd;

	return 0;
}

/* The maps of the sets the program looks up: exact keys in a hash map,
 * prefixes in an LPM trie ({u32 prefix length, key}), each behind a
 * one-entry array of maps. The value is unused (one byte). */
static int _bf_sets_create(struct bf_program *prog)
{
	for (size_t i = 0; i < prog->n_sets; i++) {
		struct bf_set_map *m = &prog->sets[i];
		char mname[BPF_OBJ_NAME_LEN];
		uint32_t zero = 0;
		int r;

		m->cap = bf_map_room(m->set->n);
		r = bf_set_map_fill(m->set, m->cap, &m->inner_fd);
		if (r)
			return r;
		LIBBPF_OPTS(bpf_map_create_opts, opts,
			    .inner_map_fd = (uint32_t)m->inner_fd);
		bf_obj_name(mname, sizeof(mname), "o", m->set->name);
		m->fd = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, mname,
				       sizeof(uint32_t), sizeof(uint32_t), 1,
				       &opts);
		if (m->fd < 0) {
			m->fd = -1;
			return -errno;
		}
		if (bpf_map_update_elem(m->fd, &zero, &m->inner_fd, BPF_ANY))
			return -errno;
	}

	return 0;
}

int bf_program_load(struct bf_program *prog, char *log, size_t loglen)
{
	LIBBPF_OPTS(bpf_prog_load_opts, opts);
	_cleanup_free_ char *vlog = NULL;
	size_t vlog_len = 16 * 1024 * 1024;
	char name[BPF_OBJ_NAME_LEN];
	int fd, r;

	if (log && loglen)
		log[0] = '\0';
	if (prog->prog_fd >= 0)
		return -EALREADY;

	r = _bf_counters_create(prog, log, loglen);
	if (r)
		return r;

	/* The opaque zero, then keys 0..n-1 for counter lookups without
	 * stack writes (BF_KEYS_OFF). Not frozen: the verifier must not see
	 * the zero as a constant. */
	{
		size_t size = BF_KEYS_OFF(prog->n_slots);
		_cleanup_free_ uint8_t *keys = calloc(1, size);
		uint32_t zero = 0;

		if (!keys) {
			r = -ENOMEM;
			goto err_close_map;
		}
		for (size_t i = 0; i < prog->n_slots; i++) {
			uint32_t k = (uint32_t)i;

			memcpy(keys + BF_KEYS_OFF(i), &k, sizeof(k));
		}
		char mname[BPF_OBJ_NAME_LEN];

		bf_map_name(mname, sizeof(mname), prog, 'k');
		prog->keys_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, mname,
					       sizeof(uint32_t), (uint32_t)size, 1, NULL);
		if (prog->keys_fd < 0) {
			r = -errno;
			prog->keys_fd = -1;
			goto err_close_map;
		}
		if (bpf_map_update_elem(prog->keys_fd, &zero, keys, BPF_ANY)) {
			r = -errno;
			goto err_close_map;
		}
	}

	/* Grouped rules: one hash map each, filled in rule order so that
	 * the first rule with a key keeps it. */
	for (size_t gi = 0; gi < prog->n_groups; gi++) {
		struct bf_group_map *g = &prog->groups[gi];

		g->cap = bf_map_room(g->n);
		char mname[BPF_OBJ_NAME_LEN];

		bf_map_name(mname, sizeof(mname), prog, 'g');
		g->fd = bpf_map_create(BPF_MAP_TYPE_HASH, mname, sizeof(uint64_t),
				       2 * sizeof(uint32_t), (uint32_t)g->cap, NULL);
		if (g->fd < 0) {
			r = -errno;
			g->fd = -1;
			goto err_close_map;
		}
		for (size_t e = 0; e < g->n; e++) {
			if (bpf_map_update_elem(g->fd, &g->keys[e], &g->values[2 * e],
						BPF_NOEXIST) && errno != EEXIST) {
				r = -errno;
				goto err_close_map;
			}
		}
	}

	r = _bf_sets_create(prog);
	if (r)
		goto err_close_map;

	r = _bf_next_create(prog);
	if (r)
		goto err_close_map;

	for (size_t i = 0; i < prog->n_map_refs; i++) {
		int map = prog->map_refs[i].map;

		prog->insns[prog->map_refs[i].insn].imm =
			map >= BF_MAP_SET0 ? prog->sets[map - BF_MAP_SET0].fd :
			map >= BF_MAP_GROUP0 ? prog->groups[map - BF_MAP_GROUP0].fd :
			map == BF_MAP_KEYS ? prog->keys_fd :
			map == BF_MAP_NEXT ? prog->next_fd : prog->counters_fd;
	}

	/* Try without a log first: cheaper for large programs; reload with
	 * the log only to explain a rejection. */
	opts.expected_attach_type = _bf_expected_attach(prog);
	bf_obj_name(name, sizeof(name), "bf", prog->chain);
	if (_bf_verbose_verifier || getenv("BF_VERIFIER_STATS")) {
		/* -v bpf (or the debug aid): the verifier's statistics. */
		static char stats[4096];

		stats[0] = '\0';
		opts.log_buf = stats;
		opts.log_size = sizeof(stats);
		opts.log_level = 4; /* BPF_LOG_STATS */
		fd = bpf_prog_load(prog->flavour->prog_type, name, "GPL",
				   prog->insns, prog->n_insns, &opts);
		fprintf(stderr, "bpfilter: verifier: chain %s, hook %s: %s",
			prog->chain, bf_hook_to_str(prog->hook), stats);
		opts.log_buf = NULL;
		opts.log_size = 0;
		opts.log_level = 0;
		if (fd >= 0)
			goto loaded;
	}
	fd = bpf_prog_load(prog->flavour->prog_type, name, "GPL", prog->insns,
			   prog->n_insns, &opts);
	if (fd < 0) {
		r = -errno;
		vlog = malloc(vlog_len);
		if (vlog) {
			vlog[0] = '\0';
			opts.log_buf = vlog;
			opts.log_size = (uint32_t)vlog_len;
			opts.log_level = 1;
			fd = bpf_prog_load(prog->flavour->prog_type, name, "GPL",
					   prog->insns, prog->n_insns, &opts);
			if (fd >= 0) {
				/* Loaded with a log after failing without:
				 * keep it. */
				goto loaded;
			}
			r = -errno;
			if (log && loglen) {
				size_t l = strlen(vlog);
				const char *tail = l >= loglen ? vlog + l - (loglen - 1) : vlog;

				snprintf(log, loglen, "%s", tail);
			}
		}
		goto err_close_map;
	}
loaded:
	prog->prog_fd = fd;
	/* For bpftool; a kernel without it only loses the listing. */
	(void)bf_program_bind_metadata(prog);
	return 0;

err_close_map:
	for (size_t i = 0; i < prog->n_sets; i++) {
		if (prog->sets[i].fd >= 0)
			close(prog->sets[i].fd);
		if (prog->sets[i].inner_fd >= 0)
			close(prog->sets[i].inner_fd);
		prog->sets[i].fd = -1;
		prog->sets[i].inner_fd = -1;
	}
	for (size_t gi = 0; gi < prog->n_groups; gi++) {
		if (prog->groups[gi].fd >= 0)
			close(prog->groups[gi].fd);
		prog->groups[gi].fd = -1;
	}
	close(prog->counters_fd);
	prog->counters_fd = -1;
	if (prog->keys_fd >= 0)
		close(prog->keys_fd);
	prog->keys_fd = -1;
	if (prog->next_fd >= 0)
		close(prog->next_fd);
	prog->next_fd = -1;
	return r;
}

void bf_program_free(struct bf_program **prog)
{
	struct bf_program *p;

	if (!prog || !*prog)
		return;
	p = *prog;
	if (p->prog_fd >= 0)
		close(p->prog_fd);
	if (p->counters_fd >= 0)
		close(p->counters_fd);
	if (p->keys_fd >= 0)
		close(p->keys_fd);
	if (p->share_fd >= 0)
		close(p->share_fd);
	/* Packets still inside the program may go on through it. */
	if (p->next_fd >= 0)
		bf_dispatch_retire_fd(p->next_fd);
	for (size_t gi = 0; gi < p->n_groups; gi++) {
		if (p->groups[gi].fd >= 0)
			close(p->groups[gi].fd);
		free(p->groups[gi].keys);
		free(p->groups[gi].values);
	}
	free(p->groups);
	for (size_t i = 0; i < p->n_sets; i++) {
		if (p->sets[i].fd >= 0)
			close(p->sets[i].fd);
		if (p->sets[i].inner_fd >= 0)
			close(p->sets[i].inner_fd);
		bf_set_free(&p->sets[i].set);
	}
	free(p->sets);
	free(p->insns);
	free(p->map_refs);
	free(p->slots);
	for (size_t i = 0; i < p->n_names; i++)
		free(p->names[i]);
	free(p->names);
	for (size_t i = 0; i < p->n_snap; i++)
		free(p->snap[i].serials);
	free(p->snap);
	free(p->slot_index);
	free(p->hint_index);
	free(p);
	*prog = NULL;
}

int bf_program_fd(const struct bf_program *prog)
{
	return prog->prog_fd;
}

int bf_program_counters_fd(const struct bf_program *prog)
{
	return prog->counters_fd;
}

size_t bf_program_insn_count(const struct bf_program *prog)
{
	return prog->n_insns;
}

int bf_program_xlated_count(const struct bf_program *prog, uint32_t *count)
{
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info);

	if (prog->prog_fd < 0)
		return -EBADF;
	if (bpf_prog_get_info_by_fd(prog->prog_fd, &info, &len))
		return -errno;
	*count = info.xlated_prog_len / sizeof(struct bpf_insn);
	return 0;
}

enum bf_hook bf_program_hook(const struct bf_program *prog)
{
	return prog->hook;
}

int bf_program_nfproto(const struct bf_program *prog)
{
	return prog->nfproto;
}

const char *bf_program_chain(const struct bf_program *prog)
{
	return prog->chain;
}

int32_t bf_program_priority(const struct bf_program *prog)
{
	return prog->priority;
}

const char *bf_program_ifname(const struct bf_program *prog)
{
	return prog->ifname;
}

const char *bf_program_cgroup(const struct bf_program *prog)
{
	return prog->cgroup;
}

static int _bf_read_slot(const struct bf_program *p, uint32_t slot,
			 uint64_t *packets, uint64_t *bytes)
{
	int ncpus = _bf_ncpus();
	_cleanup_free_ struct bf_counter_value *v = calloc(ncpus, sizeof(*v));
	uint64_t pk = 0, by = 0;

	if (!v)
		return -ENOMEM;
	if (p->counters_fd < 0)
		return -EBADF;
	if (bpf_map_lookup_elem(p->counters_fd, &slot, v))
		return -errno;
	for (int i = 0; i < ncpus; i++) {
		pk += v[i].packets;
		by += v[i].bytes;
	}
	if (packets)
		*packets = pk;
	if (bytes)
		*bytes = by;
	return 0;
}

int bf_program_get_counter(const struct bf_program *prog, const char *chain,
			   size_t rule, size_t expr, uint64_t *packets,
			   uint64_t *bytes)
{
	int slot = bf_slot_find(prog, chain, rule, expr);

	if (slot < 0)
		return slot;
	return _bf_read_slot(prog, (uint32_t)slot, packets, bytes);
}

int bf_program_get_policy_counter(const struct bf_program *prog,
				  uint64_t *packets, uint64_t *bytes)
{
	return _bf_read_slot(prog, 0, packets, bytes);
}

int bf_program_reset_counters(const struct bf_program *prog)
{
	for (size_t i = 0; i < prog->n_slots; i++) {
		int r = bf_slot_write(prog, (uint32_t)i, 0, 0);

		if (r)
			return r;
	}
	return 0;
}

struct _bf_slot_ref {
	uint64_t rule_id;
	size_t expr;
	uint32_t slot;
};

/* A counter is its rule's (bf_rule.id, kept across a chain's rename) and
 * the expression's index in it. */
static int _bf_slot_ref_cmp(const void *a, const void *b)
{
	const struct _bf_slot_ref *x = a, *y = b;

	if (x->rule_id != y->rule_id)
		return x->rule_id < y->rule_id ? -1 : 1;
	if (x->expr != y->expr)
		return x->expr < y->expr ? -1 : 1;
	return 0;
}

/* Every slot's per-CPU values of a counters map, in one batch when the
 * kernel allows it: @out gets n_slots * ncpus values. */
static int _bf_read_all(const struct bf_program *p, struct bf_counter_value *out)
{
	int ncpus = _bf_ncpus();
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	_cleanup_free_ uint32_t *keys = calloc(p->n_slots, sizeof(*keys));
	uint32_t count = (uint32_t)p->n_slots, out_batch = 0;

	if (!keys)
		return -ENOMEM;
	if (!bpf_map_lookup_batch(p->counters_fd, NULL, &out_batch, keys, out,
				  &count, &opts) ||
	    (errno == ENOENT && count == p->n_slots))
		return 0;

	/* One by one. */
	for (uint32_t k = 0; k < p->n_slots; k++)
		if (bpf_map_lookup_elem(p->counters_fd, &k, &out[(size_t)k * ncpus]))
			return -errno;
	return 0;
}

int bf_program_inherit_counters(struct bf_program *new_prog,
				const struct bf_program *old_prog)
{
	int ncpus = _bf_ncpus();
	_cleanup_free_ struct _bf_slot_ref *refs = NULL;
	_cleanup_free_ struct bf_counter_value *old_v = NULL;
	_cleanup_free_ struct bf_counter_value *new_v = NULL;
	_cleanup_free_ uint32_t *keys = NULL;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	size_t n_refs = 0;
	uint32_t count;
	int r;

	if (new_prog->counters_fd < 0 || old_prog->counters_fd < 0)
		return -EBADF;
	/* One map: the counters are where they are. */
	if (new_prog->counters_id && new_prog->counters_id == old_prog->counters_id)
		return 0;

	old_v = calloc(old_prog->n_slots * ncpus, sizeof(*old_v));
	new_v = calloc(new_prog->n_slots * ncpus, sizeof(*new_v));
	refs = calloc(old_prog->n_slots, sizeof(*refs));
	keys = calloc(new_prog->n_slots, sizeof(*keys));
	if (!old_v || !new_v || !refs || !keys)
		return -ENOMEM;
	r = _bf_read_all(old_prog, old_v);
	if (r)
		return r;

	/* Old slots by (rule, expression): a sorted index, so that carrying
	 * 10000 counters over stays n log n. */
	for (size_t j = 1; j < old_prog->n_slots; j++) {
		if (!old_prog->slots[j].chain)
			continue;
		refs[n_refs++] = (struct _bf_slot_ref) {
			.rule_id = old_prog->slots[j].rule_id,
			.expr = old_prog->slots[j].expr,
			.slot = (uint32_t)j,
		};
	}
	qsort(refs, n_refs, sizeof(*refs), _bf_slot_ref_cmp);

	for (size_t i = 0; i < new_prog->n_slots; i++) {
		const struct bf_counter_slot *n = &new_prog->slots[i];
		static const struct _bf_slot_ref policy = { .slot = 0 };
		const struct _bf_slot_ref *hit = NULL;
		struct _bf_slot_ref want;
		struct bf_counter_value sum = {};

		keys[i] = (uint32_t)i;
		/* Keep what the new program starts from, if anything. */
		new_v[i * ncpus].packets = n->init_packets;
		new_v[i * ncpus].bytes = n->init_bytes;
		if (i == 0) {
			hit = &policy;
		} else if (n->chain) {
			want = (struct _bf_slot_ref) {
				.rule_id = n->rule_id, .expr = n->expr,
			};
			hit = bsearch(&want, refs, n_refs, sizeof(*refs), _bf_slot_ref_cmp);
		}
		if (!hit)
			continue;
		for (int c = 0; c < ncpus; c++) {
			sum.packets += old_v[(size_t)hit->slot * ncpus + c].packets;
			sum.bytes += old_v[(size_t)hit->slot * ncpus + c].bytes;
		}
		new_v[i * ncpus] = sum;
	}

	count = (uint32_t)new_prog->n_slots;
	if (!bpf_map_update_batch(new_prog->counters_fd, keys, new_v, &count, &opts))
		return 0;
	for (size_t i = 0; i < new_prog->n_slots; i++)
		if (bpf_map_update_elem(new_prog->counters_fd, &keys[i],
					&new_v[i * ncpus], BPF_ANY))
			return -errno;
	return 0;
}

int bf_dispatch_prog_load(const struct bf_program *like, int next_fd,
			  int *prog_fd)
{
	LIBBPF_OPTS(bpf_prog_load_opts, opts);
	const struct bpf_insn insns[] = {
		BF_LD_IMM64_LO(BPF_REG_2, BPF_PSEUDO_MAP_FD, next_fd),
		BF_LD_IMM64_HI(0),
		BF_MOV64_IMM(BPF_REG_3, 0),
		BF_CALL_HELPER(BPF_FUNC_tail_call),
		BF_MOV64_IMM(BPF_REG_0, like->flavour->retval(BF_VERDICT_ACCEPT)),
		BF_EXIT(),
	};
	int fd;

	opts.expected_attach_type = _bf_expected_attach(like);
	fd = bpf_prog_load(like->flavour->prog_type, "bf_dispatch", "GPL", insns,
			   ARRAY_SIZE(insns), &opts);
	if (fd < 0)
		return -errno;
	*prog_fd = fd;
	return 0;
}

int bf_program_test_run(const struct bf_program *prog, const void *pkt,
			size_t len, uint32_t repeat, int *retval,
			uint32_t *duration_ns)
{
	return bf_test_run_fd(prog, prog->prog_fd, pkt, len, repeat, retval,
			      duration_ns);
}

int bf_test_run_fd(const struct bf_program *prog, int prog_fd, const void *pkt,
		   size_t len, uint32_t repeat, int *retval,
		   uint32_t *duration_ns)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	int r;

	if (prog_fd < 0)
		return -EBADF;

	opts.data_in = pkt;
	opts.data_size_in = (uint32_t)len;
	opts.repeat = repeat;
	if (bf_hook_is_nf(prog->hook)) {
		/* struct nf_hook_state { u8 hook; u8 pf; ... } as ctx_in:
		 * the kernel reads hook and pf from it. */
		static const int hooknum[] = {
			[BF_HOOK_NF_PRE_ROUTING] = 0, [BF_HOOK_NF_LOCAL_IN] = 1,
			[BF_HOOK_NF_FORWARD] = 2, [BF_HOOK_NF_LOCAL_OUT] = 3,
			[BF_HOOK_NF_POST_ROUTING] = 4,
		};
		uint8_t state[48] = {};

		state[0] = (uint8_t)hooknum[prog->hook];
		state[1] = (uint8_t)prog->nfproto;
		/* The kernel runs LOCAL_OUT on data from the IP header (an
		 * output packet has no link layer yet); the other hooks on a
		 * frame whose Ethernet header it pulls. */
		if (prog->hook == BF_HOOK_NF_LOCAL_OUT) {
			const uint8_t *b = pkt;
			size_t l2 = 14;

			if (len >= 14 && ((b[12] == 0x81 && b[13] == 0x00) ||
					  (b[12] == 0x88 && b[13] == 0xa8)))
				l2 = 18;
			if (len < l2)
				return -EINVAL;
			opts.data_in = b + l2;
			opts.data_size_in = (uint32_t)(len - l2);
		}
		opts.ctx_in = state;
		opts.ctx_size_in = sizeof(state);
		r = bpf_prog_test_run_opts(prog_fd, &opts);
		if (r && errno == EINVAL) {
			opts.ctx_in = NULL;
			opts.ctx_size_in = 0;
			r = bpf_prog_test_run_opts(prog_fd, &opts);
		}
	} else {
		r = bpf_prog_test_run_opts(prog_fd, &opts);
	}
	if (r)
		return -errno;
	if (retval)
		*retval = (int)opts.retval;
	if (duration_ns)
		*duration_ns = opts.duration;
	return 0;
}
