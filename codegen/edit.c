/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One rule inserted into or removed from a run of rules compiled as a hash
 * map, told without generating the chain again: the table is compared
 * with the snapshot the program keeps (rules by serial), the run's
 * grouping conditions are checked for the one rule that changes, and the
 * program's description (counter slots, group entries, snapshot) is
 * copied with the edit made. codegen/update.c then writes the one map
 * entry that differs. Generating the chain with the running program as a
 * hint would give the same description: BF_UPDATE_CHECK=1 verifies it.
 *
 * This is what keeps `nft add rule` and `nft insert rule` next to 10000
 * rules from costing 10000 rules of work.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpfilter/helpers.h>

#include "codegen/cgen.h"
#include "codegen/expr.h"

static bool _bf_same_hdr(const struct bf_chain *a, const struct bf_chain *b)
{
	return a->base == b->base && a->hook == b->hook &&
	       a->priority == b->priority && a->policy == b->policy &&
	       !strcmp(a->name, b->name) && !strcmp(a->ifname, b->ifname) &&
	       !strcmp(a->cgroup, b->cgroup);
}

/* Another base chain than the program's: never part of it (base chains
 * cannot be jumped to), so its changes do not matter. */
static bool _bf_elsewhere(const struct bf_program *p, const struct bf_chain *ch)
{
	return ch->base && strcmp(ch->name, p->chain);
}

/* What changed in the program's own chain. */
enum _bf_edit_kind {
	_BF_EDIT_NONE,
	_BF_EDIT_INSERT,
	_BF_EDIT_REMOVE,
	_BF_EDIT_REPLACE, /* `nft replace rule`: a rule in another's place */
};

/* The edit from the snapshot to @table, in what the program is made of:
 * none, or one rule inserted, removed or replaced at *q in chain *c, the
 * program's own. -EAGAIN for anything else. */
static int _bf_find_edit(const struct bf_program *p, const struct bf_table *table,
			 enum _bf_edit_kind *kind, size_t *c, size_t *q)
{
	*kind = _BF_EDIT_NONE;
	if (p->family != table->family || strcmp(p->table, table->name) ||
	    p->n_snap != table->n_chains)
		return -EAGAIN;
	for (size_t ci = 0; ci < p->n_snap; ci++) {
		const struct bf_snap_chain *sc = &p->snap[ci];
		const struct bf_chain *ch = table->chains[ci];
		size_t n = ch->n_rules, i = 0, skip_new, skip_old;

		if (sc->hdr.base != ch->base || strcmp(sc->hdr.name, ch->name))
			return -EAGAIN;
		if (_bf_elsewhere(p, ch))
			continue;
		if (!_bf_same_hdr(&sc->hdr, ch))
			return -EAGAIN;
		while (i < n && i < sc->n && ch->rules[i]->serial == sc->serials[i])
			i++;
		if (i == n && n == sc->n)
			continue;
		if (*kind != _BF_EDIT_NONE || !ch->base ||
		    (n != sc->n + 1 && n + 1 != sc->n && n != sc->n))
			return -EAGAIN;
		/* After the edit, the rest the same, shifted by one for an
		 * insertion or a removal. */
		skip_new = n >= sc->n;
		skip_old = n <= sc->n;
		for (size_t j = i; j + skip_new < n; j++) {
			if (ch->rules[j + skip_new]->serial != sc->serials[j + skip_old])
				return -EAGAIN;
		}
		*kind = n > sc->n ? _BF_EDIT_INSERT :
			n < sc->n ? _BF_EDIT_REMOVE : _BF_EDIT_REPLACE;
		*c = ci;
		*q = i;
	}
	return 0;
}

/* The snapshot of the other base chains: as they are now. */
static int _bf_snap_elsewhere(struct bf_program *n, const struct bf_table *table)
{
	for (size_t ci = 0; ci < n->n_snap; ci++) {
		const struct bf_chain *ch = table->chains[ci];
		struct bf_snap_chain *sc = &n->snap[ci];

		if (!_bf_elsewhere(n, ch))
			continue;
		if (ch->n_rules > sc->cap) {
			uint64_t *serials = realloc(sc->serials,
						    ch->n_rules * sizeof(*serials));

			if (!serials)
				return -ENOMEM;
			sc->serials = serials;
			sc->cap = ch->n_rules;
		}
		sc->hdr = *ch;
		sc->hdr.rules = NULL;
		sc->hdr.n_rules = 0;
		sc->hdr.cap_rules = 0;
		for (size_t i = 0; i < ch->n_rules; i++)
			sc->serials[i] = ch->rules[i]->serial;
		sc->n = ch->n_rules;
	}
	return 0;
}

/* A rule without jumps is checked alone, in a table of its own. */
static bool _bf_rule_valid(const struct bf_table *table, struct bf_rule *rule)
{
	struct bf_table *t = NULL;
	struct bf_chain *c = NULL;
	struct bf_rule *r = bf_rule_get(rule);
	char err[8];
	bool ok = false;

	if (!bf_table_new(&t, table->name, table->family) &&
	    !bf_chain_new(&c, "bf_check") && !bf_chain_add_rule(c, &r) &&
	    !bf_table_add_chain(t, &c))
		ok = !bf_table_validate(t, err, sizeof(err));
	bf_rule_free(&r);
	bf_chain_free(&c);
	bf_table_free(&t);
	return ok;
}

/*
 * Would the chain, generated again, group its rules as before, but for the
 * edit at @q inside @g (rules: the chain after the edit)? A group is its
 * first rule's prefix of g->p expressions, p being what the first two
 * rules share: a new first or second rule must share exactly p with its
 * neighbour, and a rule joins when it has the prefix and the shape of a
 * map entry. At the chain's head only: a group after other rules could
 * otherwise merge with what is before it.
 */
static bool _bf_keeps_group(const struct bf_group_map *g,
			    struct bf_rule *const *rules, size_t q, bool ins)
{
	size_t first = g->first, p = g->p;

	if (ins) {
		const struct bf_rule *r = rules[q];
		const struct bf_rule *f = rules[q == first ? first + 1 : first];

		if (q == first && first)
			return false;
		if ((q == first || q == first + 1) && bf_cg_common_prefix(f, r) != p)
			return false;
		return bf_cg_group_takes(f, r, p);
	}
	if (g->n - 1 < BF_GROUP_MAP_MIN || (q == first && first))
		return false;
	if (q == first || q == first + 1)
		return bf_cg_common_prefix(rules[first], rules[first + 1]) == p;
	return true;
}

static void _bf_desc_free(struct bf_program **p)
{
	bf_program_free(p);
}

/* A copy of @p's description, room for one more entry everywhere. */
static int _bf_desc_clone(const struct bf_program *p, struct bf_program **out)
{
	struct bf_program *n = calloc(1, sizeof(*n));
	int r = -ENOMEM;

	if (!n)
		return -ENOMEM;
	n->prog_fd = n->counters_fd = n->keys_fd = -1;
	n->next_fd = n->share_fd = -1;
	memcpy(n->chain, p->chain, sizeof(n->chain));
	memcpy(n->table, p->table, sizeof(n->table));
	n->family = p->family;
	n->needs_ct = p->needs_ct;

	n->names = calloc(p->n_names ?: 1, sizeof(*n->names));
	if (!n->names)
		goto err;
	for (; n->n_names < p->n_names; n->n_names++) {
		n->names[n->n_names] = strdup(p->names[n->n_names]);
		if (!n->names[n->n_names])
			goto err;
	}
	n->slots_cap = p->n_slots + 1;
	n->slots = malloc(n->slots_cap * sizeof(*n->slots));
	if (!n->slots)
		goto err;
	memcpy(n->slots, p->slots, p->n_slots * sizeof(*n->slots));
	n->n_slots = p->n_slots;
	/* Slots point to their own program's names. */
	for (size_t s = 0, k = 0; s < n->n_slots; s++) {
		if (!n->slots[s].chain)
			continue;
		if (p->names[k] != p->slots[s].chain) {
			for (k = 0; k < p->n_names; k++) {
				if (p->names[k] == p->slots[s].chain)
					break;
			}
			if (k == p->n_names) {
				r = -EINVAL;
				goto err;
			}
		}
		n->slots[s].chain = n->names[k];
	}

	n->groups = calloc(p->n_groups ?: 1, sizeof(*n->groups));
	if (!n->groups)
		goto err;
	for (; n->n_groups < p->n_groups; n->n_groups++) {
		const struct bf_group_map *a = &p->groups[n->n_groups];
		struct bf_group_map *b = &n->groups[n->n_groups];

		*b = *a;
		b->fd = -1;
		b->ent_cap = a->n + 1;
		b->keys = malloc(b->ent_cap * sizeof(*b->keys));
		b->values = malloc(2 * b->ent_cap * sizeof(*b->values));
		if (!b->keys || !b->values) {
			free(b->keys);
			free(b->values);
			goto err;
		}
		memcpy(b->keys, a->keys, a->n * sizeof(*a->keys));
		memcpy(b->values, a->values, 2 * a->n * sizeof(*a->values));
	}

	n->snap = calloc(p->n_snap ?: 1, sizeof(*n->snap));
	if (!n->snap)
		goto err;
	for (; n->n_snap < p->n_snap; n->n_snap++) {
		const struct bf_snap_chain *a = &p->snap[n->n_snap];
		struct bf_snap_chain *b = &n->snap[n->n_snap];

		*b = *a;
		b->cap = a->n + 1;
		b->serials = malloc(b->cap * sizeof(*b->serials));
		if (!b->serials)
			goto err;
		memcpy(b->serials, a->serials, a->n * sizeof(*a->serials));
	}
	*out = n;
	return 0;

err:
	_bf_desc_free(&n);
	return r;
}

/* Rule indices of the program's own chain from @q on move by @delta; the
 * rule at @q (removal) loses its slots. */
static void _bf_shift_slots(struct bf_program *n, size_t q, int delta)
{
	for (size_t s = 1; s < n->n_slots; s++) {
		struct bf_counter_slot *sl = &n->slots[s];

		if (!sl->chain || sl->rule < q || strcmp(sl->chain, n->chain))
			continue;
		if (delta < 0 && sl->rule == q) {
			memset(sl, 0, sizeof(*sl));
			sl->freed = true;
		}
		else
			sl->rule += delta;
	}
}

static void _bf_shift_groups(struct bf_program *n, const struct bf_group_map *g,
			     size_t q, int delta)
{
	for (size_t gi = 0; gi < n->n_groups; gi++) {
		struct bf_group_map *h = &n->groups[gi];

		if (h == g || !h->base || h->first < q || strcmp(h->chain, n->chain))
			continue;
		h->first += delta;
		h->end += delta;
	}
}

static int _bf_edit_insert(struct bf_program *n, size_t c, size_t gi,
			   const struct bf_chain *ch, size_t q)
{
	struct bf_group_map *g = &n->groups[gi];
	const struct bf_rule *rule = ch->rules[q];
	struct bf_snap_chain *sc = &n->snap[c];
	size_t at = q - g->first, k = g->p;
	uint32_t val[2] = { BF_GROUP_NO_SLOT, 0 };
	int r;

	_bf_shift_slots(n, q, 1);
	_bf_shift_groups(n, g, q, 1);
	r = bf_slot_reindex(n);
	if (r)
		return r;
	if (rule->exprs[k + 1].type == BF_EXPR_COUNTER) {
		const struct bf_expr *e = &rule->exprs[k + 1];
		int s = bf_slot_add(n, n->chain, q, k + 1, rule->id,
				    e->counter.packets, e->counter.bytes);

		if (s < 0)
			return s;
		val[0] = (uint32_t)s;
		val[1] |= BF_GROUP_CODE_COUNT;
		k++;
	}
	if (rule->exprs[k + 1].verdict.code == BF_VERDICT_DROP)
		val[1] |= BF_GROUP_CODE_DROP;

	memmove(&g->keys[at + 1], &g->keys[at], (g->n - at) * sizeof(*g->keys));
	memmove(&g->values[2 * (at + 1)], &g->values[2 * at],
		2 * (g->n - at) * sizeof(*g->values));
	g->keys[at] = bf_cg_bytes_le(rule->exprs[g->p].cmp.data.bytes,
				     rule->exprs[g->p].cmp.data.len);
	memcpy(&g->values[2 * at], val, sizeof(val));
	g->n++;
	g->end++;

	memmove(&sc->serials[q + 1], &sc->serials[q],
		(sc->n - q) * sizeof(*sc->serials));
	sc->serials[q] = rule->serial;
	sc->n++;
	return 0;
}

static int _bf_edit_remove(struct bf_program *n, size_t c, size_t gi, size_t q)
{
	struct bf_group_map *g = &n->groups[gi];
	struct bf_snap_chain *sc = &n->snap[c];
	size_t at = q - g->first;

	_bf_shift_slots(n, q, -1);
	_bf_shift_groups(n, g, q + 1, -1);
	memmove(&g->keys[at], &g->keys[at + 1], (g->n - at - 1) * sizeof(*g->keys));
	memmove(&g->values[2 * at], &g->values[2 * (at + 1)],
		2 * (g->n - at - 1) * sizeof(*g->values));
	g->n--;
	g->end--;
	memmove(&sc->serials[q], &sc->serials[q + 1],
		(sc->n - q - 1) * sizeof(*sc->serials));
	sc->n--;
	return bf_slot_reindex(n);
}

int bf_cg_edit_desc(const struct bf_program *p, const struct bf_table *table,
		    struct bf_program **out)
{
	const struct bf_group_map *g = NULL;
	const struct bf_chain *ch = NULL;
	struct bf_program *n = NULL;
	enum _bf_edit_kind kind;
	size_t c = 0, q = 0, gi = 0;
	bool ins;
	int r;

	r = _bf_find_edit(p, table, &kind, &c, &q);
	if (r)
		return r;
	/* A replacement keeps the group's size and is checked as the new
	 * rule's insertion where the old one was. */
	ins = kind != _BF_EDIT_REMOVE;
	if (kind != _BF_EDIT_NONE) {
		ch = table->chains[c];
		for (gi = 0; gi < p->n_groups; gi++) {
			g = &p->groups[gi];
			if (g->base && !strcmp(g->chain, ch->name) && g->first <= q &&
			    (kind == _BF_EDIT_INSERT ? q <= g->end : q < g->end))
				break;
		}
		if (gi == p->n_groups || !_bf_keeps_group(g, ch->rules, q, ins) ||
		    (ins && !_bf_rule_valid(table, ch->rules[q])))
			return -EAGAIN;
	}

	r = _bf_desc_clone(p, &n);
	if (!r && (kind == _BF_EDIT_REMOVE || kind == _BF_EDIT_REPLACE))
		r = _bf_edit_remove(n, c, gi, q);
	if (!r && (kind == _BF_EDIT_INSERT || kind == _BF_EDIT_REPLACE))
		r = _bf_edit_insert(n, c, gi, ch, q);
	if (!r)
		r = _bf_snap_elsewhere(n, table);
	/* No edit of the program's own chain: the clone still needs the
	 * index counters are read through once it is swapped in. */
	if (!r && !n->slot_index)
		r = bf_slot_reindex(n);
	if (r) {
		_bf_desc_free(&n);
		return r;
	}
	*out = n;
	return 0;
}
