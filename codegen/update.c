/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * In-place updates of a running program: when a chain changes only inside
 * a run of rules compiled as a hash map lookup, the program keeps its code
 * and its maps, and only the map entries that differ are written. No load,
 * no verifier, no link switch.
 *
 * Two ways to find out:
 *  - edit (codegen/edit.c): the table is the one the program was generated
 *    from (rules told apart by serial) with one rule inserted into or
 *    removed from a mapped group of the program's own chain. Nothing is
 *    generated: the cost is a copy of the program's description.
 *  - same code: the chain is generated again, counters keeping their slot
 *    numbers (bf_slot_hint()), and its instructions are the running ones
 *    (a rule changed inside a group, say).
 *
 * Atomicity: a commit becomes visible all at once, and only a single map
 * update is atomic. So an update is done in place only when it changes at
 * most one entry that packets see; counter slots new to the program are
 * written first, while nothing refers to them. Anything bigger is loaded as
 * a new program.
 */
#include <errno.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include <bpfilter/helpers.h>
#include <bpfilter/logger.h>

#include "codegen/cgen.h"
#include "codegen/expr.h"

/* Entries seen by packets that an in-place update may change. */
#define BF_UPDATE_MAX_OPS 1

enum bf_update_kind {
	BF_UPDATE_INSERT,
	BF_UPDATE_CHANGE,
	BF_UPDATE_DELETE,
};

struct bf_update_op {
	size_t group;
	enum bf_update_kind kind;
	uint64_t key;
	uint32_t old_val[2];
	uint32_t new_val[2];
};

/* A set whose contents changed: one entry of its live map written
 * (one key in or out, or one verdict changed: atomic), or else a new
 * inner map swapped in by one update of the set's array of maps. The
 * copy of the IR set the program keeps follows. */
struct bf_update_set {
	size_t idx; /* in prog->sets */
	enum bf_update_kind kind; /* or _BF_UPDATE_SWAP */
	int fd; /* swap: before apply the new inner map; after, the old one */
	struct bf_set *set; /* same */
	uint8_t key[4 + BF_SET_KEY_MAX]; /* one entry: its map key */
	uint32_t old_val, new_val;
};

#define _BF_UPDATE_SWAP (BF_UPDATE_DELETE + 1)

struct bf_update {
	struct bf_program *prog;
	struct bf_update_set *sets;
	size_t n_sets;
	/* The new description (slots, groups, snapshot) of prog's rules;
	 * after apply, the previous one. */
	struct bf_program *next;
	struct bf_update_op ops[BF_UPDATE_MAX_OPS];
	size_t n_ops;
	bool applied;
};

void bf_update_free(struct bf_update **u)
{
	if (!*u)
		return;
	for (size_t i = 0; i < (*u)->n_sets; i++) {
		if ((*u)->sets[i].fd >= 0)
			close((*u)->sets[i].fd);
		bf_set_free(&(*u)->sets[i].set);
	}
	free((*u)->sets);
	bf_program_free(&(*u)->next);
	free(*u);
	*u = NULL;
}

static bool _bf_is_map_ref(const struct bf_program *p, size_t insn, size_t *ref)
{
	/* map_refs are in instruction order. */
	while (*ref < p->n_map_refs && p->map_refs[*ref].insn < insn)
		(*ref)++;
	return *ref < p->n_map_refs && p->map_refs[*ref].insn == insn;
}

/* Same code: equal instructions, except the map fds @old was patched with. */
static bool _bf_same_code(const struct bf_program *old,
			  const struct bf_program *new)
{
	size_t ref = 0;

	if (old->n_insns != new->n_insns || old->n_map_refs != new->n_map_refs ||
	    old->n_groups != new->n_groups)
		return false;
	for (size_t i = 0; i < old->n_map_refs; i++) {
		if (old->map_refs[i].insn != new->map_refs[i].insn ||
		    old->map_refs[i].map != new->map_refs[i].map)
			return false;
	}
	for (size_t i = 0; i < old->n_insns; i++) {
		struct bpf_insn a = old->insns[i], b = new->insns[i];

		if (_bf_is_map_ref(old, i, &ref))
			a.imm = b.imm = 0;
		if (memcmp(&a, &b, sizeof(a)))
			return false;
	}
	return true;
}

/* A slot number both programs use must count the same counter
 * expression (bf_slot_hint() sees to it). */
static bool _bf_same_slots(const struct bf_program *old,
			   const struct bf_program *new)
{
	size_t n = old->n_slots < new->n_slots ? old->n_slots : new->n_slots;

	if (new->n_slots > old->counters_cap)
		return false;
	for (size_t i = 1; i < n; i++) {
		const struct bf_counter_slot *a = &old->slots[i], *b = &new->slots[i];

		if (!a->chain || !b->chain)
			continue;
		if (a->rule_id != b->rule_id || a->expr != b->expr ||
		    strcmp(a->chain, b->chain))
			return false;
	}
	return true;
}

/* Does @new count in slot @i where @old did not? */
static bool _bf_fresh_slot(const struct bf_program *old,
			   const struct bf_program *new, size_t i)
{
	return new->slots[i].chain && (i >= old->n_slots || !old->slots[i].chain);
}

/* The value packets see for @key: its first entry's (first match). */
static const uint32_t *_bf_group_value(const struct bf_group_map *g,
				       uint64_t key)
{
	for (size_t i = 0; i < g->n; i++) {
		if (g->keys[i] == key)
			return &g->values[2 * i];
	}
	return NULL;
}

static int _bf_plan_key(struct bf_update *u, size_t gi,
			const struct bf_group_map *og,
			const struct bf_group_map *ng, uint64_t key)
{
	const uint32_t *a = _bf_group_value(og, key);
	const uint32_t *b = _bf_group_value(ng, key);
	struct bf_update_op op = { .group = gi, .key = key };

	if (!a && !b)
		return 0;
	if (a && b && a[0] == b[0] && a[1] == b[1])
		return 0;
	for (size_t i = 0; i < u->n_ops; i++) {
		if (u->ops[i].group == gi && u->ops[i].key == key)
			return 0;
	}
	if (u->n_ops == BF_UPDATE_MAX_OPS)
		return -EAGAIN;
	op.kind = !a ? BF_UPDATE_INSERT : !b ? BF_UPDATE_DELETE : BF_UPDATE_CHANGE;
	if (a)
		memcpy(op.old_val, a, sizeof(op.old_val));
	if (b)
		memcpy(op.new_val, b, sizeof(op.new_val));
	u->ops[u->n_ops++] = op;

	return 0;
}

/*
 * The entries of a group that differ: its old and new lists share a prefix
 * and a suffix, and what lies between (a rule added, removed or replaced)
 * is a couple of keys whose visible values are compared.
 */
static int _bf_plan_group(struct bf_update *u, size_t gi)
{
	const struct bf_group_map *og = &u->prog->groups[gi];
	const struct bf_group_map *ng = &u->next->groups[gi];
	size_t pre = 0, suf = 0;
	int r;

	if (ng->n > og->cap)
		return -EAGAIN;
	while (pre < og->n && pre < ng->n && og->keys[pre] == ng->keys[pre] &&
	       !memcmp(&og->values[2 * pre], &ng->values[2 * pre],
		       2 * sizeof(uint32_t)))
		pre++;
	while (suf < og->n - pre && suf < ng->n - pre &&
	       og->keys[og->n - 1 - suf] == ng->keys[ng->n - 1 - suf] &&
	       !memcmp(&og->values[2 * (og->n - 1 - suf)],
		       &ng->values[2 * (ng->n - 1 - suf)], 2 * sizeof(uint32_t)))
		suf++;
	/* Too much in between to be one visible change. */
	if (og->n - pre - suf + ng->n - pre - suf > 2 * BF_UPDATE_MAX_OPS)
		return -EAGAIN;
	for (size_t i = pre; i < og->n - suf; i++) {
		r = _bf_plan_key(u, gi, og, ng, og->keys[i]);
		if (r)
			return r;
	}
	for (size_t i = pre; i < ng->n - suf; i++) {
		r = _bf_plan_key(u, gi, og, ng, ng->keys[i]);
		if (r)
			return r;
	}
	return 0;
}

static int _bf_plan_same_code(struct bf_update *u)
{
	const struct bf_program *old = u->prog, *new = u->next;
	int r;

	if (old->hook != new->hook || old->nfproto != new->nfproto ||
	    old->priority != new->priority || strcmp(old->chain, new->chain) ||
	    strcmp(old->ifname, new->ifname) || strcmp(old->cgroup, new->cgroup) ||
	    !_bf_same_code(old, new) || !_bf_same_slots(old, new))
		return -EAGAIN;
	for (size_t gi = 0; gi < new->n_groups; gi++) {
		r = _bf_plan_group(u, gi);
		if (r)
			return r;
	}
	return 0;
}

/* Two descriptions of the same rules (BF_UPDATE_CHECK). */
static bool _bf_same_desc(const struct bf_program *a, const struct bf_program *b)
{
	size_t n = a->n_slots > b->n_slots ? a->n_slots : b->n_slots;

	for (size_t i = 1; i < n; i++) {
		const struct bf_counter_slot *x = i < a->n_slots ? &a->slots[i] : NULL;
		const struct bf_counter_slot *y = i < b->n_slots ? &b->slots[i] : NULL;

		if (x && !x->chain)
			x = NULL;
		if (y && !y->chain)
			y = NULL;
		if (!x != !y)
			return false;
		if (x && (x->rule != y->rule || x->expr != y->expr ||
			  x->rule_id != y->rule_id || x->init_packets != y->init_packets ||
			  x->init_bytes != y->init_bytes || strcmp(x->chain, y->chain)))
			return false;
	}
	if (a->n_groups != b->n_groups || a->n_snap != b->n_snap)
		return false;
	for (size_t gi = 0; gi < a->n_groups; gi++) {
		const struct bf_group_map *x = &a->groups[gi], *y = &b->groups[gi];

		if (x->n != y->n || x->first != y->first || x->end != y->end ||
		    x->p != y->p || x->base != y->base || strcmp(x->chain, y->chain) ||
		    memcmp(x->keys, y->keys, x->n * sizeof(*x->keys)) ||
		    memcmp(x->values, y->values, 2 * x->n * sizeof(*x->values)))
			return false;
	}
	for (size_t c = 0; c < a->n_snap; c++) {
		if (a->snap[c].n != b->snap[c].n ||
		    memcmp(a->snap[c].serials, b->snap[c].serials,
			   a->snap[c].n * sizeof(*a->snap[c].serials)))
			return false;
	}
	return true;
}

/* BF_UPDATE_CHECK=1 (tests): generate the chain anyway and abort unless
 * the edit gave the description generating gives. */
static void _bf_check_edit(const struct bf_update *u, const struct bf_table *table)
{
	const struct bf_program *p = u->prog;
	struct bf_program *gen = NULL;
	bool ok;

	if (bf_program_generate_hinted(&gen, table, p->chain, p->nfproto, p,
				       NULL, 0)) {
		bf_err("update check: chain '%s' does not generate", p->chain);
		abort();
	}
	ok = _bf_same_code(p, gen) && _bf_same_desc(u->next, gen);
	bf_program_free(&gen);
	if (!ok) {
		bf_err("update check: chain '%s': the edit differs from the generated program",
		       p->chain);
		abort();
	}
}

/* One rule inserted or removed in a mapped group: no generation. */
static int _bf_plan_edit(struct bf_update *u, const struct bf_table *table)
{
	const char *check = getenv("BF_UPDATE_CHECK");
	int r;

	r = bf_cg_edit_desc(u->prog, table, &u->next);
	if (r)
		return r;
	if (!_bf_same_slots(u->prog, u->next))
		return -EAGAIN;
	for (size_t gi = 0; gi < u->next->n_groups; gi++) {
		r = _bf_plan_group(u, gi);
		if (r)
			return r;
	}
	if (check && *check && strcmp(check, "0"))
		_bf_check_edit(u, table);
	return 0;
}

/* The table's chains are the snapshot's, rule for rule (by serial). */
static bool _bf_same_rules(const struct bf_program *p,
			   const struct bf_table *table)
{
	if (p->n_snap != table->n_chains)
		return false;
	for (size_t c = 0; c < p->n_snap; c++) {
		const struct bf_snap_chain *sc = &p->snap[c];
		const struct bf_chain *ch = table->chains[c];

		if (strcmp(sc->hdr.name, ch->name) || sc->hdr.base != ch->base ||
		    sc->hdr.policy != ch->policy || sc->n != ch->n_rules)
			return false;
		for (size_t r = 0; r < sc->n; r++) {
			if (sc->serials[r] != ch->rules[r]->serial)
				return false;
		}
	}
	return true;
}

static bool _bf_same_verdicts(const struct bf_set *a, const struct bf_set *b)
{
	if (a->n_verdicts != b->n_verdicts)
		return false;
	for (size_t i = 0; i < a->n_verdicts; i++) {
		if (a->verdicts[i].code != b->verdicts[i].code ||
		    strncmp(a->verdicts[i].chain, b->verdicts[i].chain,
			    BF_NAME_MAX))
			return false;
	}
	return true;
}

static bool _bf_same_set(const struct bf_set *a, const struct bf_set *b)
{
	return a->n == b->n && !memcmp(a->keys, b->keys, a->n * a->key_len) &&
	       !memcmp(a->prefix, b->prefix, a->n) &&
	       (!(a->flags & BF_SET_F_VMAP) ||
		!memcmp(a->values, b->values, a->n * sizeof(*a->values)));
}

static int _bf_set_copy(const struct bf_set *src, struct bf_set **out)
{
	struct bf_set *s = NULL;
	int r = bf_set_new(&s, src->name, src->key_len, src->flags);

	for (size_t i = 0; !r && i < src->n; i++) {
		const uint8_t *k = src->keys + i * src->key_len;

		if (src->flags & BF_SET_F_VMAP) {
			const struct bf_set_verdict *v =
				&src->verdicts[src->values[i]];

			r = bf_set_add_verdict_key(s, k, src->prefix[i],
						   v->code, v->chain);
		} else {
			r = bf_set_add_key(s, k, src->prefix[i]);
		}
	}
	if (r)
		bf_set_free(&s);
	else
		*out = s;
	return r;
}

/* Map key (LPM: {prefix length, key}) and value of entry @i of @s, as
 * bf_set_map_fill() writes them: a record of klen + 4 bytes. */
static size_t _bf_set_records(const struct bf_set *s, uint8_t **out)
{
	bool lpm = s->flags & BF_SET_F_PREFIX;
	size_t mk = s->key_len + (lpm ? 4 : 0), rl = mk + 4;
	uint8_t *rec = malloc((s->n ?: 1) * rl);

	if (!rec)
		return 0;
	for (size_t i = 0; i < s->n; i++) {
		uint8_t *r = rec + i * rl;
		uint32_t plen = s->prefix[i];
		uint32_t val = (s->flags & BF_SET_F_VMAP) ? s->values[i] : 1;

		if (lpm) {
			memcpy(r, &plen, 4);
			r += 4;
		}
		memcpy(r, s->keys + i * s->key_len, s->key_len);
		memcpy(rec + i * rl + mk, &val, 4);
	}
	*out = rec;

	return mk;
}

static int _bf_rec_cmp(const void *a, const void *b, void *mk)
{
	return memcmp(a, b, *(size_t *)mk);
}

/* Is @now @was with one entry in, out or changed? 1 with the entry in
 * @us; 0 when more differs (a new inner map); -EALREADY when nothing
 * does (another order); -ENOMEM. Sorting both costs no system call, a
 * refill one per element. */
static int _bf_set_diff(const struct bf_set *was, const struct bf_set *now,
			struct bf_update_set *us)
{
	_cleanup_free_ uint8_t *a = NULL, *b = NULL;
	size_t mk, rl, i = 0, j = 0, n_diff = 0;

	if ((was->n > now->n ? was->n - now->n : now->n - was->n) > 1)
		return 0;
	mk = _bf_set_records(was, &a);
	if (!mk || !_bf_set_records(now, &b))
		return -ENOMEM;
	rl = mk + 4;
	qsort_r(a, was->n, rl, _bf_rec_cmp, &mk);
	qsort_r(b, now->n, rl, _bf_rec_cmp, &mk);
	while (i < was->n || j < now->n) {
		const uint8_t *x = i < was->n ? a + i * rl : NULL;
		const uint8_t *y = j < now->n ? b + j * rl : NULL;
		int c = !x ? 1 : !y ? -1 : memcmp(x, y, mk);

		/* Keys are unique in a map: two equal ones, refill. */
		if ((x && i + 1 < was->n && !memcmp(x, x + rl, mk)) ||
		    (y && j + 1 < now->n && !memcmp(y, y + rl, mk)))
			return 0;
		if (c == 0 && !memcmp(x + mk, y + mk, 4)) {
			i++;
			j++;
			continue;
		}
		if (++n_diff > 1)
			return 0;
		if (c == 0) {
			us->kind = BF_UPDATE_CHANGE;
			memcpy(us->key, x, mk);
			memcpy(&us->old_val, x + mk, 4);
			memcpy(&us->new_val, y + mk, 4);
			i++;
			j++;
		} else if (c < 0) {
			us->kind = BF_UPDATE_DELETE;
			memcpy(us->key, x, mk);
			memcpy(&us->old_val, x + mk, 4);
			i++;
		} else {
			us->kind = BF_UPDATE_INSERT;
			memcpy(us->key, y, mk);
			memcpy(&us->new_val, y + mk, 4);
			j++;
		}
	}

	return n_diff ? 1 : -EALREADY;
}

/* Only set contents changed: for each changed set one entry of its map,
 * or a new inner map; nothing generated. -EAGAIN when rules changed (a
 * new program). */
static int _bf_plan_sets(struct bf_program *prog, const struct bf_table *table,
			 struct bf_update **out)
{
	size_t n_entries = 0;
	struct bf_update *u;
	int r = 0;

	if (!_bf_same_rules(prog, table))
		return -EAGAIN;
	for (size_t i = 0; i < prog->n_sets; i++) {
		const struct bf_set *now = bf_table_get_set(table,
							    prog->sets[i].set->name);
		const struct bf_set *was = prog->sets[i].set;

		/* A verdict map's code has one branch per verdict: new
		 * verdicts are new code. */
		if (!now || now->key_len != was->key_len ||
		    now->flags != was->flags || now->n > prog->sets[i].cap ||
		    !_bf_same_verdicts(now, was))
			return -EAGAIN;
	}
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->prog = prog;
	u->sets = calloc(prog->n_sets, sizeof(*u->sets));
	if (!u->sets) {
		free(u);
		return -ENOMEM;
	}
	for (size_t i = 0; i < prog->n_sets && !r; i++) {
		const struct bf_set *now = bf_table_get_set(table,
							    prog->sets[i].set->name);
		struct bf_update_set *us = &u->sets[u->n_sets];

		if (_bf_same_set(now, prog->sets[i].set))
			continue;
		us->idx = i;
		us->fd = -1;
		us->kind = _BF_UPDATE_SWAP;
		r = _bf_set_copy(now, &us->set);
		u->n_sets++;
		if (r)
			break;
		r = _bf_set_diff(prog->sets[i].set, now, us);
		if (r == 1) {
			r = 0;
			n_entries++;
		} else if (r == 0) {
			r = bf_set_map_fill(us->set, prog->sets[i].cap, &us->fd);
		} else if (r == -EALREADY) {
			/* The same contents in another order. */
			bf_set_free(&us->set);
			u->n_sets--;
			r = 0;
		}
	}
	if (r) {
		bf_update_free(&u);
		return r;
	}
	bf_dbg("update: chain '%s': %zu set(s) changed in place (%zu by one entry)",
	       prog->chain, u->n_sets, n_entries);
	*out = u;

	return 0;
}

/* Apply (or undo) the change of one set: the entry, or the swap of the
 * inner map; then the program's copy of the set follows. */
static int _bf_set_op(struct bf_program *p, struct bf_update_set *us, bool undo)
{
	struct bf_set_map *m = &p->sets[us->idx];
	enum bf_update_kind kind = us->kind;
	uint32_t zero = 0, val = undo ? us->old_val : us->new_val;
	struct bf_set *t;
	int fd;

	if ((int)kind == _BF_UPDATE_SWAP) {
		if (bpf_map_update_elem(m->fd, &zero, &us->fd, BPF_ANY))
			return -errno;
		fd = m->inner_fd;
		m->inner_fd = us->fd;
		us->fd = fd;
	} else {
		if (undo && kind != BF_UPDATE_CHANGE)
			kind = kind == BF_UPDATE_INSERT ? BF_UPDATE_DELETE :
							  BF_UPDATE_INSERT;
		if (kind == BF_UPDATE_DELETE ?
			    bpf_map_delete_elem(m->inner_fd, us->key) :
			    bpf_map_update_elem(m->inner_fd, us->key, &val,
						kind == BF_UPDATE_INSERT ?
							BPF_NOEXIST :
							BPF_EXIST))
			return -errno;
	}
	t = m->set;
	m->set = us->set;
	us->set = t;

	return 0;
}

/* Apply (or undo) every set change of @u, all or nothing. */
static int _bf_swap_sets(struct bf_update *u, bool undo)
{
	for (size_t i = 0; i < u->n_sets; i++) {
		int r = _bf_set_op(u->prog, &u->sets[i], undo);

		if (r) {
			while (i-- > 0)
				(void)_bf_set_op(u->prog, &u->sets[i], !undo);
			return r;
		}
	}

	return 0;
}

int bf_update_plan(struct bf_program *prog, const struct bf_table *table,
		   const char *chain_name, struct bf_program **gen,
		   struct bf_update **out,
		   char *errbuf, size_t errlen)
{
	struct bf_update *u;
	int r;

	*gen = NULL;
	/* Not loaded, or the chain is not the program's (renamed, say): a
	 * new program. */
	if (prog->prog_fd < 0 || strcmp(chain_name, prog->chain))
		return -EAGAIN;
	/* A program that looks up sets: in place only when its rules are
	 * the same and sets changed (new inner maps, swapped at apply). */
	if (prog->n_sets)
		return _bf_plan_sets(prog, table, out);
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->prog = prog;

	r = _bf_plan_edit(u, table);
	if (!r) {
		bf_dbg("update: chain '%s': not generated (one rule in or out of a map, or no change to it)",
		       prog->chain);
		*out = u;
		return 0;
	}
	if (r != -EAGAIN) {
		bf_update_free(&u);
		return r;
	}
	bf_program_free(&u->next);
	memset(u, 0, sizeof(*u));
	u->prog = prog;
	r = bf_program_generate_hinted(&u->next, table, prog->chain,
				       prog->nfproto, prog, errbuf, errlen);
	if (r) {
		bf_update_free(&u);
		return r;
	}
	r = _bf_plan_same_code(u);
	if (!r)
		bf_dbg("update: chain '%s': generated, same code", prog->chain);
	if (r) {
		/* A new program, keeping the running program's numbers: it
		 * shares its counters map when there is room, so no packet
		 * counted between load and swap is lost (bf_program_load()). */
		*gen = TAKE_PTR(u->next);
		bf_update_free(&u);
		return r;
	}
	*out = u;
	return 0;
}

static int _bf_apply_op(const struct bf_program *p,
			const struct bf_update_op *op, bool undo)
{
	int fd = p->groups[op->group].fd;
	enum bf_update_kind kind = op->kind;
	const uint32_t *val = undo ? op->old_val : op->new_val;

	if (undo && kind != BF_UPDATE_CHANGE)
		kind = kind == BF_UPDATE_INSERT ? BF_UPDATE_DELETE : BF_UPDATE_INSERT;
	if (kind == BF_UPDATE_DELETE)
		return bpf_map_delete_elem(fd, &op->key) ? -errno : 0;
	return bpf_map_update_elem(fd, &op->key, val,
				   kind == BF_UPDATE_INSERT ? BPF_NOEXIST :
							      BPF_EXIST) ? -errno : 0;
}

/* Exchange what describes the rules: code and maps stay with @a. */
static void _bf_swap_rules(struct bf_program *a, struct bf_program *b)
{
#define _BF_SWAP(x)                    \
	do {                           \
		typeof(a->x) t = a->x; \
		a->x = b->x;           \
		b->x = t;              \
	} while (0)
	_BF_SWAP(slots);
	_BF_SWAP(n_slots);
	_BF_SWAP(slots_cap);
	_BF_SWAP(names);
	_BF_SWAP(n_names);
	_BF_SWAP(slot_index);
	_BF_SWAP(slot_index_cap);
	_BF_SWAP(snap);
	_BF_SWAP(n_snap);
	for (size_t gi = 0; gi < a->n_groups; gi++) {
		_BF_SWAP(groups[gi].keys);
		_BF_SWAP(groups[gi].values);
		_BF_SWAP(groups[gi].n);
		_BF_SWAP(groups[gi].ent_cap);
		_BF_SWAP(groups[gi].first);
		_BF_SWAP(groups[gi].end);
		_BF_SWAP(groups[gi].p);
		_BF_SWAP(groups[gi].base);
		/* A regular chain renamed keeps its code. */
		{
			char tmp[sizeof(a->groups[gi].chain)];

			memcpy(tmp, a->groups[gi].chain, sizeof(tmp));
			memcpy(a->groups[gi].chain, b->groups[gi].chain, sizeof(tmp));
			memcpy(b->groups[gi].chain, tmp, sizeof(tmp));
		}
	}
#undef _BF_SWAP
}

int bf_update_apply(struct bf_update *u)
{
	struct bf_program *p = u->prog;
	int r;

	if (u->applied)
		return -EALREADY;
	if (!u->next) {
		r = _bf_swap_sets(u, false);
		if (!r)
			u->applied = true;
		return r;
	}
	/* Counter slots new to the program: nothing reads them yet. */
	for (size_t i = 1; i < u->next->n_slots; i++) {
		if (!_bf_fresh_slot(p, u->next, i))
			continue;
		r = bf_slot_write(p, (uint32_t)i, u->next->slots[i].init_packets,
				  u->next->slots[i].init_bytes);
		if (r)
			return r;
	}
	for (size_t i = 0; i < u->n_ops; i++) {
		r = _bf_apply_op(p, &u->ops[i], false);
		if (r) {
			while (i-- > 0)
				(void)_bf_apply_op(p, &u->ops[i], true);
			return r;
		}
	}
	_bf_swap_rules(p, u->next);
	u->applied = true;

	return 0;
}

int bf_update_undo(struct bf_update *u)
{
	int r = 0;

	if (!u->applied)
		return 0;
	if (!u->next) {
		r = _bf_swap_sets(u, true);
		if (r)
			bf_err("update: chain '%s': a set could not be put back: %s",
			       u->prog->chain, strerror(-r));
		u->applied = false;
		return r;
	}
	for (size_t i = u->n_ops; i-- > 0;) {
		int e = _bf_apply_op(u->prog, &u->ops[i], true);

		if (e && !r)
			r = e;
	}
	if (r)
		bf_err("update: chain '%s': a map entry could not be put back: %s",
		       u->prog->chain, strerror(-r));
	_bf_swap_rules(u->prog, u->next);
	u->applied = false;

	return r;
}
