/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * In-place updates of a running program: when a chain changes only inside
 * a run of rules compiled as a hash map lookup, the program keeps its code
 * and its maps, and only the map entries that differ are written. No load,
 * no verifier, no link switch.
 *
 * Two ways to find out:
 *  - append: the table is the one the program was generated from (rules
 *    told apart by serial) plus one rule at the end of the program's own
 *    chain, which joins the mapped group ending there. Nothing is
 *    generated: the cost does not grow with the chain.
 *  - same code: the chain is generated again and its instructions are
 *    the running ones (a rule added, removed or replaced inside a group);
 *    counter slots must keep their numbers.
 *
 * Atomicity: a commit becomes visible all at once, and only a single map
 * update is atomic. So an update is done in place only when it changes at
 * most one entry that packets see; counter slots new to the program are
 * written first, while nothing refers to them. Anything bigger is loaded as
 * a new program.
 */
#include <errno.h>
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

struct bf_update {
	struct bf_program *prog;
	/* Same code: the generated program; after apply, it holds the
	 * running program's previous description. */
	struct bf_program *next;
	/* Append: the rule joining group @group of chain @snap. */
	bool append;
	size_t group, snap;
	uint64_t serial, key;
	uint32_t val[2];
	size_t rule, expr; /* counter: rule index, expression index */
	uint64_t handle, packets, bytes;

	struct bf_update_op ops[BF_UPDATE_MAX_OPS];
	size_t n_ops;
	bool applied;
};

void bf_update_free(struct bf_update **u)
{
	if (!*u)
		return;
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

/* Slots both programs have must count the same counter expression. */
static bool _bf_same_slots(const struct bf_program *old,
			   const struct bf_program *new)
{
	size_t n = old->n_slots < new->n_slots ? old->n_slots : new->n_slots;

	if (new->n_slots > old->counters_cap)
		return false;
	for (size_t i = 1; i < n; i++) {
		const struct bf_counter_slot *a = &old->slots[i], *b = &new->slots[i];

		if (a->handle != b->handle || a->expr != b->expr ||
		    (!a->handle && a->rule != b->rule) || strcmp(a->chain, b->chain))
			return false;
	}
	return true;
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

static bool _bf_same_hdr(const struct bf_chain *a, const struct bf_chain *b)
{
	return a->base == b->base && a->hook == b->hook &&
	       a->priority == b->priority && a->policy == b->policy &&
	       !strcmp(a->name, b->name) && !strcmp(a->ifname, b->ifname) &&
	       !strcmp(a->cgroup, b->cgroup);
}

/* Is @table the program's table plus one rule at the end of the program's
 * chain? Returns that chain's index in the snapshot, or -EAGAIN. */
static int _bf_appended(const struct bf_program *p, const struct bf_table *table)
{
	int at = -EAGAIN;

	if (p->family != table->family || strcmp(p->table, table->name) ||
	    p->n_snap != table->n_chains)
		return -EAGAIN;
	for (size_t c = 0; c < p->n_snap; c++) {
		const struct bf_snap_chain *sc = &p->snap[c];
		const struct bf_chain *ch = table->chains[c];
		size_t n = sc->n;

		if (!_bf_same_hdr(&sc->hdr, ch))
			return -EAGAIN;
		if (ch->base && !strcmp(ch->name, p->chain) && ch->n_rules == n + 1)
			at = (int)c;
		else if (ch->n_rules != n)
			return -EAGAIN;
		for (size_t i = 0; i < n; i++) {
			if (ch->rules[i]->serial != sc->serials[i])
				return -EAGAIN;
		}
	}
	return at;
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

static int _bf_plan_append(struct bf_update *u, const struct bf_table *table)
{
	struct bf_program *p = u->prog;
	const struct bf_chain *ch;
	const struct bf_rule *first;
	struct bf_rule *rule;
	struct bf_group_map *g = NULL;
	const struct bf_expr *e;
	size_t n, k;
	int c, r;

	c = _bf_appended(p, table);
	if (c < 0)
		return c;
	ch = table->chains[c];
	n = ch->n_rules - 1;
	rule = ch->rules[n];
	for (size_t gi = 0; gi < p->n_groups && !g; gi++) {
		if (p->groups[gi].base && p->groups[gi].end == n &&
		    !strcmp(p->groups[gi].chain, ch->name)) {
			g = &p->groups[gi];
			u->group = gi;
		}
	}
	if (!g || g->n + 1 > g->cap)
		return -EAGAIN;
	first = ch->rules[g->first];
	if (!bf_cg_group_takes(first, rule, g->p) || !_bf_rule_valid(table, rule))
		return -EAGAIN;

	u->append = true;
	u->snap = (size_t)c;
	u->serial = rule->serial;
	u->rule = n;
	k = g->p;
	u->key = bf_cg_bytes_le(rule->exprs[k].cmp.data.bytes,
				rule->exprs[k].cmp.data.len);
	u->val[0] = BF_GROUP_NO_SLOT;
	u->val[1] = 0;
	e = &rule->exprs[++k];
	if (e->type == BF_EXPR_COUNTER) {
		if (p->n_slots + 1 > p->counters_cap)
			return -EAGAIN;
		u->val[0] = (uint32_t)p->n_slots;
		u->val[1] |= BF_GROUP_CODE_COUNT;
		u->expr = k;
		u->handle = rule->handle;
		u->packets = e->counter.packets;
		u->bytes = e->counter.bytes;
		e = &rule->exprs[++k];
	}
	if (e->verdict.code == BF_VERDICT_DROP)
		u->val[1] |= BF_GROUP_CODE_DROP;
	/* Shadowed by an earlier rule with the same key: packets see no
	 * change, only the listing does. */
	if (!_bf_group_value(g, u->key)) {
		u->ops[0] = (struct bf_update_op) {
			.group = u->group,
			.kind = BF_UPDATE_INSERT,
			.key = u->key,
		};
		memcpy(u->ops[0].new_val, u->val, sizeof(u->val));
		u->n_ops = 1;
	}

	/* Room for what apply pushes, so that it cannot fail once the map
	 * has changed. */
	if (u->val[0] != BF_GROUP_NO_SLOT) {
		r = bf_slot_reserve(p, ch->name);
		if (r)
			return r;
	}
	if (g->n == g->ent_cap) {
		size_t cap = g->ent_cap * 2 + 16;
		uint64_t *keys = realloc(g->keys, cap * sizeof(*keys));
		uint32_t *values;

		if (!keys)
			return -ENOMEM;
		g->keys = keys;
		values = realloc(g->values, 2 * cap * sizeof(*values));
		if (!values)
			return -ENOMEM;
		g->values = values;
		g->ent_cap = cap;
	}
	if (p->snap[c].n == p->snap[c].cap) {
		size_t cap = p->snap[c].cap * 2 + 16;
		uint64_t *serials = realloc(p->snap[c].serials, cap * sizeof(*serials));

		if (!serials)
			return -ENOMEM;
		p->snap[c].serials = serials;
		p->snap[c].cap = cap;
	}
	return 0;
}

/* BF_UPDATE_CHECK=1 (tests): generate the chain anyway and abort unless
 * the append left the program as generating it would have. */
static void _bf_check_append(const struct bf_update *u,
			     const struct bf_table *table)
{
	struct bf_program *gen = NULL;
	const struct bf_program *p = u->prog;
	const struct bf_group_map *g = &p->groups[u->group];
	bool ok;

	if (bf_program_generate(&gen, table, p->chain, p->nfproto, NULL, 0)) {
		bf_err("update check: chain '%s' does not generate", p->chain);
		abort();
	}
	ok = _bf_same_code(p, gen) && gen->n_slots == p->n_slots + !!(u->val[1] & BF_GROUP_CODE_COUNT) &&
	     _bf_same_slots(p, gen) && gen->groups[u->group].n == g->n + 1 &&
	     !memcmp(gen->groups[u->group].keys, g->keys, g->n * sizeof(*g->keys)) &&
	     gen->groups[u->group].keys[g->n] == u->key &&
	     !memcmp(&gen->groups[u->group].values[2 * g->n], u->val, sizeof(u->val));
	if (ok && (u->val[1] & BF_GROUP_CODE_COUNT)) {
		const struct bf_counter_slot *s = &gen->slots[u->val[0]];

		ok = s->rule == u->rule && s->expr == u->expr &&
		     s->handle == u->handle && !strcmp(s->chain, p->chain);
	}
	bf_program_free(&gen);
	if (!ok) {
		bf_err("update check: chain '%s': the append differs from the generated program",
		       p->chain);
		abort();
	}
}

int bf_update_plan(struct bf_program *prog, const struct bf_table *table,
		   struct bf_program **gen, struct bf_update **out,
		   char *errbuf, size_t errlen)
{
	struct bf_update *u;
	int r;

	*gen = NULL;
	if (prog->prog_fd < 0)
		return -EAGAIN;
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->prog = prog;

	r = _bf_plan_append(u, table);
	if (!r) {
		const char *check = getenv("BF_UPDATE_CHECK");

		if (check && *check && strcmp(check, "0"))
			_bf_check_append(u, table);
		*out = u;
		return 0;
	}
	if (r != -EAGAIN) {
		bf_update_free(&u);
		return r;
	}

	memset(u, 0, sizeof(*u));
	u->prog = prog;
	r = bf_program_generate(&u->next, table, prog->chain, prog->nfproto,
				errbuf, errlen);
	if (r) {
		bf_update_free(&u);
		return r;
	}
	r = _bf_plan_same_code(u);
	if (r) {
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
	}
#undef _BF_SWAP
}

/* The description of @u's program gets the appended rule. */
static void _bf_push_append(struct bf_update *u)
{
	struct bf_program *p = u->prog;
	struct bf_group_map *g = &p->groups[u->group];
	struct bf_snap_chain *sc = &p->snap[u->snap];

	if (u->val[1] & BF_GROUP_CODE_COUNT)
		(void)bf_slot_add(p, sc->hdr.name, u->rule, u->expr, u->handle,
				  u->packets, u->bytes);
	g->keys[g->n] = u->key;
	memcpy(&g->values[2 * g->n], u->val, sizeof(u->val));
	g->n++;
	g->end++;
	sc->serials[sc->n++] = u->serial;
}

static void _bf_pop_append(struct bf_update *u)
{
	struct bf_program *p = u->prog;
	struct bf_group_map *g = &p->groups[u->group];

	if (u->val[1] & BF_GROUP_CODE_COUNT)
		bf_slot_pop(p);
	g->n--;
	g->end--;
	p->snap[u->snap].n--;
}

int bf_update_apply(struct bf_update *u)
{
	struct bf_program *p = u->prog;
	int r;

	if (u->applied)
		return -EALREADY;
	/* Counter slots new to the program: nothing reads them yet. */
	if (u->append && (u->val[1] & BF_GROUP_CODE_COUNT)) {
		r = bf_slot_write(p, u->val[0], u->packets, u->bytes);
		if (r)
			return r;
	}
	for (size_t i = u->next ? p->n_slots : 0; u->next && i < u->next->n_slots; i++) {
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
	if (u->append)
		_bf_push_append(u);
	else
		_bf_swap_rules(p, u->next);
	u->applied = true;

	return 0;
}

int bf_update_undo(struct bf_update *u)
{
	int r = 0;

	if (!u->applied)
		return 0;
	for (size_t i = u->n_ops; i-- > 0;) {
		int e = _bf_apply_op(u->prog, &u->ops[i], true);

		if (e && !r)
			r = e;
	}
	if (u->append)
		_bf_pop_append(u);
	else
		_bf_swap_rules(u->prog, u->next);
	u->applied = false;

	return r;
}
