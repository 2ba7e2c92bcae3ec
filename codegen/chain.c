/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A chain's rules (program.c lays out the program around them): each
 * rule's expressions, its counter and verdict (a jump or goto inlines the
 * target chain), verdict maps, and the groups of rules sharing a prefix,
 * a run of mappable rules of a group replaced by one hash map lookup.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpfilter/helpers.h>

#include "codegen/cgen.h"
#include "codegen/expr.h"

#define BF_GROUP_MIN 2

static int _bf_counter_slot(struct bf_cg *cg, const char *chain, size_t rule,
			    size_t expr, const struct bf_rule *r,
			    const struct bf_expr *e)
{
	int s = bf_slot_add(cg->prog, chain, rule, expr, r->id,
			    e->counter.packets, e->counter.bytes);

	if (s < 0)
		return bf_cg_fail(cg, s, "cannot allocate a counter: %s", strerror(-s));
	return s;
}

static unsigned int _bf_test_sreg(const struct bf_expr *t)
{
	return t->type == BF_EXPR_CMP ? t->cmp.sreg : t->range.sreg;
}

static unsigned int _bf_test_len(const struct bf_expr *t)
{
	return t->type == BF_EXPR_CMP ? t->cmp.data.len : t->range.from.len;
}

/* A load of <= 8 bytes followed by an (in)equality test of its value. */
static bool _bf_keyable(const struct bf_expr *load, const struct bf_expr *t)
{
	unsigned int len;

	if (t->type != BF_EXPR_CMP ||
	    (t->cmp.op != BF_CMP_EQ && t->cmp.op != BF_CMP_NEQ))
		return false;
	if (load->type == BF_EXPR_PAYLOAD)
		len = load->payload.len;
	else if (load->type == BF_EXPR_META)
		len = bf_meta_key_len(load->meta.key);
	else
		return false;
	return len <= 8 && len == t->cmp.data.len &&
	       t->cmp.sreg == (load->type == BF_EXPR_PAYLOAD ? load->payload.dreg :
							      load->meta.dreg);
}

/* One verdict, as a verdict expression has it: ACCEPT and DROP return,
 * RETURN leaves for @ret, JUMP inlines the chain then the next rule
 * (@fail), GOTO inlines it then @ret. CONTINUE: nothing (the caller goes
 * on). */
static int _bf_emit_one_verdict(struct bf_cg *cg, enum bf_verdict code,
				const char *name, int fail, int ret)
{
	const struct bf_chain *target;

	switch (code) {
	case BF_VERDICT_ACCEPT:
	case BF_VERDICT_DROP:
		bf_cg_emit_verdict(cg, code);
		break;
	case BF_VERDICT_CONTINUE:
		break;
	case BF_VERDICT_RETURN:
		bf_cg_emit_jmp(cg, BF_JA(0), ret);
		break;
	case BF_VERDICT_JUMP:
	case BF_VERDICT_GOTO:
		target = bf_table_get_chain(cg->table, name);
		if (!target)
			return bf_cg_fail(cg, -EINVAL, "no chain '%s'", name);
		if (cg->depth >= BF_JUMP_DEPTH_MAX)
			return bf_cg_fail(cg, -EINVAL,
					  "chain '%s': jump depth above %d", name,
					  BF_JUMP_DEPTH_MAX);
		cg->depth++;
		bf_cg_emit_chain(cg, target, code == BF_VERDICT_JUMP ? fail : ret);
		cg->depth--;
		break;
	default:
		return bf_cg_fail(cg, -EINVAL, "bad verdict %d", code);
	}
	return bf_cg_err(cg);
}

/* A verdict map: the key's element gives an index into the set's
 * verdicts; one branch per verdict, each emitted as a verdict expression
 * is. No element: the rule does not match. Returns 1 when some verdict
 * is continue (evaluation goes on after the label emitted here), 0 when
 * the rule ends, or an error. */
static int _bf_emit_vmap(struct bf_cg *cg, const struct bf_expr *e, int fail,
			 int ret)
{
	const struct bf_set *set;
	int idx, cont = -1, *labels;

	idx = bf_cg_emit_set_lookup(cg, e->vmap.set, e->vmap.sreg, e->vmap.len,
				    fail);
	if (idx < 0)
		return bf_cg_err(cg);
	set = cg->prog->sets[idx].set;
	bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JEQ, BPF_REG_0, 0, 0), fail);
	bf_cg_emit(cg, BF_LDX_MEM(BPF_W, BPF_REG_1, BPF_REG_0, 0));
	labels = calloc(set->n_verdicts ?: 1, sizeof(*labels));
	if (!labels)
		return bf_cg_fail(cg, -ENOMEM, "out of memory");
	for (size_t i = 0; i < set->n_verdicts; i++) {
		labels[i] = bf_cg_label_new(cg);
		bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JEQ, BPF_REG_1, (int32_t)i, 0),
			       labels[i]);
	}
	bf_cg_emit_jmp(cg, BF_JA(0), fail);
	for (size_t i = 0; i < set->n_verdicts && !cg->err; i++) {
		const struct bf_set_verdict *v = &set->verdicts[i];

		bf_cg_label_here(cg, labels[i]);
		if (v->code == BF_VERDICT_CONTINUE) {
			if (cont < 0)
				cont = bf_cg_label_new(cg);
			bf_cg_emit_jmp(cg, BF_JA(0), cont);
			continue;
		}
		_bf_emit_one_verdict(cg, v->code, v->chain, fail, ret);
	}
	free(labels);
	if (cg->err)
		return cg->err;
	if (cont < 0)
		return 0;
	bf_cg_label_here(cg, cont);

	return 1;
}

/* Emit exprs[from..n) of a rule. @live_more: extra expression lists (the
 * other rules of a group) that may read registers after this one. */
static int _bf_emit_rule_exprs(struct bf_cg *cg, const struct bf_chain *chain,
			       size_t ridx, size_t from, int fail, int ret)
{
	const struct bf_rule *rule = chain->rules[ridx];
	const struct bf_expr *ex = rule->exprs;
	size_t n = rule->n_exprs;

	for (size_t k = from; k < n && !cg->err; k++) {
		const struct bf_expr *e = &ex[k];
		const struct bf_chain *target;
		size_t j;
		int slot, r;

		/* Side effects happen only once every test held. */
		if (!bf_expr_is_pure(e))
			bf_cg_acc_flush(cg, fail);

		switch (e->type) {
		case BF_EXPR_VERDICT:
			switch (e->verdict.code) {
			case BF_VERDICT_ACCEPT:
			case BF_VERDICT_DROP:
				bf_cg_emit_verdict(cg, e->verdict.code);
				break;
			case BF_VERDICT_CONTINUE:
				/* NFT_CONTINUE: evaluation goes on with the
				 * next expression, as if nothing happened. */
				continue;
			case BF_VERDICT_RETURN:
				bf_cg_emit_jmp(cg, BF_JA(0), ret);
				break;
			case BF_VERDICT_JUMP:
			case BF_VERDICT_GOTO:
				target = bf_table_get_chain(cg->table, e->verdict.chain);
				if (!target)
					return bf_cg_fail(cg, -EINVAL, "no chain '%s'",
							  e->verdict.chain);
				if (cg->depth >= BF_JUMP_DEPTH_MAX)
					return bf_cg_fail(cg, -EINVAL,
							  "chain '%s': jump depth above %d",
							  e->verdict.chain, BF_JUMP_DEPTH_MAX);
				cg->depth++;
				/* After a jump, the rule after this one; after a
				 * goto, whatever follows the current chain. */
				bf_cg_emit_chain(cg, target,
					       e->verdict.code == BF_VERDICT_JUMP ? fail : ret);
				cg->depth--;
				break;
			default:
				return bf_cg_fail(cg, -EINVAL, "bad verdict %d",
						  e->verdict.code);
			}
			return bf_cg_err(cg);
		case BF_EXPR_VMAP:
			r = _bf_emit_vmap(cg, e, fail, ret);
			if (r <= 0)
				return r ? r : bf_cg_err(cg);
			/* A continue verdict: on with the next expression. */
			break;
		case BF_EXPR_COUNTER:
			slot = _bf_counter_slot(cg, chain->name, ridx, k, rule, e);
			if (slot < 0)
				return slot;
			if (k + 1 < n && ex[k + 1].type == BF_EXPR_VERDICT &&
			    (ex[k + 1].verdict.code == BF_VERDICT_ACCEPT ||
			     ex[k + 1].verdict.code == BF_VERDICT_DROP)) {
				bf_cg_emit(cg, BF_MOV64_IMM(BF_R_SLOT, slot));
				bf_cg_emit_jmp(cg, BF_JA(0),
					       cg->tail[ex[k + 1].verdict.code]);
				return bf_cg_err(cg);
			}
			bf_cg_emit_counter_update(cg, -1, (uint32_t)slot);
			break;
		default:
			j = bf_cg_fusable(cg, ex, n, k);
			if (j && !bf_cg_reg_live(ex, n, j + 1, _bf_test_sreg(&ex[j]),
						 _bf_test_len(&ex[j]))) {
				bf_cg_emit_fused(cg, ex, k, j, fail);
				k = j;
				break;
			}
			bf_cg_emit_expr(cg, e, fail);
			break;
		}
	}
	bf_cg_acc_flush(cg, fail);
	/* Matched without a verdict: on to the next rule. */
	bf_cg_emit_jmp(cg, BF_JA(0), fail);
	return bf_cg_err(cg);
}

/* Length of the pure prefix shared by rules a and b. */
size_t bf_cg_common_prefix(const struct bf_rule *a, const struct bf_rule *b)
{
	size_t i = 0;

	while (i < a->n_exprs && i < b->n_exprs && bf_expr_is_pure(&a->exprs[i]) &&
	       bf_expr_equal(&a->exprs[i], &b->exprs[i]))
		i++;
	return i;
}

/* Can @rule join a group whose prefix is its first @p expressions? Its
 * suffix must not overwrite a register the prefix wrote (later rules read
 * them) and must not jump (the jumped-to chain may clobber registers). */
static bool _bf_group_ok(const struct bf_rule *rule, size_t p)
{
	uint32_t pw = 0;

	for (size_t i = 0; i < p; i++) {
		unsigned int r, l;

		if (bf_expr_writes(&rule->exprs[i], &r, &l))
			for (unsigned int j = r; j < r + (l + 3) / 4 && j < 32; j++)
				pw |= 1u << j;
	}
	for (size_t i = p; i < rule->n_exprs; i++) {
		const struct bf_expr *e = &rule->exprs[i];
		unsigned int r, l;

		if (e->type == BF_EXPR_VERDICT && e->verdict.code == BF_VERDICT_JUMP)
			return false;
		/* Its jumps are not seen from here: never in a group. */
		if (e->type == BF_EXPR_VMAP)
			return false;
		if (bf_expr_writes(e, &r, &l))
			for (unsigned int j = r; j < r + (l + 3) / 4 && j < 32; j++)
				if (pw & (1u << j))
					return false;
	}
	return true;
}

/* Find the group starting at rule i: returns its end (exclusive) and the
 * prefix length, or end == i + 1 when rule i stands alone. */
static size_t _bf_find_group(const struct bf_chain *chain, size_t i, size_t *plen)
{
	size_t p, j;

	if (i + 1 >= chain->n_rules)
		return i + 1;
	p = bf_cg_common_prefix(chain->rules[i], chain->rules[i + 1]);
	if (p < 2 || !_bf_group_ok(chain->rules[i], p))
		return i + 1;
	for (j = i + 1; j < chain->n_rules; j++) {
		if (bf_cg_common_prefix(chain->rules[i], chain->rules[j]) < p ||
		    !_bf_group_ok(chain->rules[j], p))
			break;
	}
	if (j - i < BF_GROUP_MIN)
		return i + 1;
	*plen = p;
	return j;
}

/* Does rule @r test the key @load loaded, and nothing else reads it? */
static bool _bf_rule_keyed(const struct bf_expr *load, const struct bf_rule *r,
			   size_t p)
{
	return r->n_exprs > p && _bf_keyable(load, &r->exprs[p]) &&
	       !bf_cg_reg_live(r->exprs, r->n_exprs, p + 1, r->exprs[p].cmp.sreg,
			       r->exprs[p].cmp.data.len);
}

/* Is the group keyed: the prefix ends with a load of <= 8 bytes and every
 * rule's suffix starts with an equality test of it, the only use? */
static bool _bf_group_keyed(const struct bf_chain *chain, size_t i, size_t end,
			    size_t p)
{
	const struct bf_expr *load = &chain->rules[i]->exprs[p - 1];

	for (size_t j = i; j < end; j++) {
		if (!_bf_rule_keyed(load, chain->rules[j], p))
			return false;
	}
	return true;
}

/* A keyed group of at least BF_GROUP_MAP_MIN rules (cgen.h), each
 * `KEY == C` then `[counter] accept|drop` and nothing else, is one hash
 * map lookup. */

/* `KEY == C [counter] accept|drop` after the prefix, nothing else. */
static bool _bf_rule_mappable(const struct bf_rule *r, size_t p)
{
	const struct bf_expr *v;
	size_t k = p + 1;

	if (r->exprs[p].cmp.op != BF_CMP_EQ)
		return false;
	if (k < r->n_exprs && r->exprs[k].type == BF_EXPR_COUNTER)
		k++;
	if (k + 1 != r->n_exprs)
		return false;
	v = &r->exprs[k];
	return v->type == BF_EXPR_VERDICT &&
	       (v->verdict.code == BF_VERDICT_ACCEPT ||
		v->verdict.code == BF_VERDICT_DROP);
}

static bool _bf_group_mappable(const struct bf_chain *chain, size_t i,
			       size_t end, size_t p)
{
	/* BF_NO_GROUP_MAPS=1 keeps the linear layout (for benchmarks). */
	if (end - i < BF_GROUP_MAP_MIN || getenv("BF_NO_GROUP_MAPS"))
		return false;
	for (size_t j = i; j < end; j++) {
		if (!_bf_rule_mappable(chain->rules[j], p))
			return false;
	}
	return true;
}

bool bf_cg_group_takes(const struct bf_rule *first, const struct bf_rule *r,
		       size_t p)
{
	return p >= 2 && bf_cg_common_prefix(first, r) >= p && _bf_group_ok(r, p) &&
	       _bf_rule_keyed(&first->exprs[p - 1], r, p) &&
	       _bf_rule_mappable(r, p);
}

/* The lookup replacing the rules of a mappable group; r8 holds the key. */
static void _bf_emit_group_map(struct bf_cg *cg, const struct bf_chain *chain,
			       size_t i, size_t end, size_t p, int gend)
{
	struct bf_program *prog = cg->prog;
	struct bf_group_map *g;
	int with_count = bf_cg_label_new(cg);
	int drop_nc = bf_cg_label_new(cg);
	size_t n = end - i;

	g = realloc(prog->groups, (prog->n_groups + 1) * sizeof(*g));
	if (!g) {
		bf_cg_fail(cg, -ENOMEM, "out of memory");
		return;
	}
	prog->groups = g;
	g = &prog->groups[prog->n_groups];
	memset(g, 0, sizeof(*g));
	g->fd = -1;
	g->keys = calloc(n, sizeof(*g->keys));
	g->values = calloc(n * 2, sizeof(*g->values));
	if (!g->keys || !g->values) {
		free(g->keys);
		free(g->values);
		bf_cg_fail(cg, -ENOMEM, "out of memory");
		return;
	}
	g->n = n;
	g->ent_cap = n;
	snprintf(g->chain, sizeof(g->chain), "%s", chain->name);
	g->first = i;
	g->end = end;
	g->p = p;
	g->base = cg->depth == 0;
	prog->n_groups++;

	for (size_t j = i; j < end && !cg->err; j++) {
		const struct bf_rule *r = chain->rules[j];
		const struct bf_data *d = &r->exprs[p].cmp.data;
		size_t k = p + 1;
		uint32_t slot = BF_GROUP_NO_SLOT, code = 0;

		if (r->exprs[k].type == BF_EXPR_COUNTER) {
			int sl = _bf_counter_slot(cg, chain->name, j, k, r, &r->exprs[k]);

			if (sl < 0)
				return;
			slot = (uint32_t)sl;
			code |= BF_GROUP_CODE_COUNT;
			k++;
		}
		if (r->exprs[k].verdict.code == BF_VERDICT_DROP)
			code |= BF_GROUP_CODE_DROP;
		g->keys[j - i] = bf_cg_bytes_le(d->bytes, d->len);
		g->values[2 * (j - i)] = slot;
		g->values[2 * (j - i) + 1] = code;
	}

	bf_cg_emit(cg, BF_STX_MEM(BPF_DW, BPF_REG_10, BF_R_KEY, BF_FP_TMP));
	bf_cg_emit_ld_map(cg, BPF_REG_1, BF_MAP_GROUP0 + (int)(prog->n_groups - 1),
			  BPF_PSEUDO_MAP_FD, 0);
	bf_cg_emit(cg, BF_MOV64_REG(BPF_REG_2, BPF_REG_10));
	bf_cg_emit(cg, BF_ALU64_IMM(BPF_ADD, BPF_REG_2, BF_FP_TMP));
	bf_cg_emit(cg, BF_CALL_HELPER(BPF_FUNC_map_lookup_elem));
	bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JEQ, BPF_REG_0, 0, 0), gend);
	bf_cg_emit(cg, BF_LDX_MEM(BPF_W, BF_R_SLOT, BPF_REG_0, 0));
	bf_cg_emit(cg, BF_LDX_MEM(BPF_W, BPF_REG_1, BPF_REG_0, 4));
	bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JSET, BPF_REG_1, BF_GROUP_CODE_COUNT, 0),
		       with_count);
	bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JSET, BPF_REG_1, BF_GROUP_CODE_DROP, 0),
		       drop_nc);
	bf_cg_emit_verdict(cg, BF_VERDICT_ACCEPT);
	bf_cg_label_here(cg, drop_nc);
	bf_cg_emit_verdict(cg, BF_VERDICT_DROP);
	bf_cg_label_here(cg, with_count);
	bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JSET, BPF_REG_1, BF_GROUP_CODE_DROP, 0),
		       cg->tail[BF_VERDICT_DROP]);
	bf_cg_emit_jmp(cg, BF_JA(0), cg->tail[BF_VERDICT_ACCEPT]);
}

static void _bf_emit_group(struct bf_cg *cg, const struct bf_chain *chain,
			   size_t i, size_t end, size_t p, int ret)
{
	const struct bf_rule *first = chain->rules[i];
	int gend = bf_cg_label_new(cg);
	int gskip = bf_cg_label_new(cg);
	int body = bf_cg_label_new(cg);
	bool keyed = _bf_group_keyed(chain, i, end, p);
	size_t pre = keyed ? p - 1 : p;

	/* The prefix, once. Loads are not fused here: later rules of the
	 * group read what the prefix wrote. */
	for (size_t k = 0; k < pre && !cg->err; k++) {
		const struct bf_expr *e = &first->exprs[k];
		size_t j = bf_cg_fusable(cg, first->exprs, pre, k);

		/* Later rules of the group may read what the prefix wrote. */
		for (size_t r = i; j && r < end; r++)
			if (bf_cg_reg_live(chain->rules[r]->exprs, chain->rules[r]->n_exprs,
					   j + 1, _bf_test_sreg(&first->exprs[j]),
					   _bf_test_len(&first->exprs[j])))
				j = 0;
		if (j) {
			bf_cg_emit_fused(cg, first->exprs, k, j, gskip);
			k = j;
			continue;
		}
		bf_cg_emit_expr(cg, e, gskip);
	}
	if (keyed)
		bf_cg_load_to_reg(cg, &first->exprs[p - 1], BF_R_KEY, gskip);
	bf_cg_acc_flush(cg, gskip);
	/* Conditional jumps reach 16 bits only: leave a large group through
	 * an unconditional jump next to the prefix. */
	bf_cg_emit_jmp(cg, BF_JA(0), body);
	bf_cg_label_here(cg, gskip);
	bf_cg_emit_jmp(cg, BF_JA(0), gend);
	bf_cg_label_here(cg, body);

	if (keyed && _bf_group_mappable(chain, i, end, p)) {
		_bf_emit_group_map(cg, chain, i, end, p, gend);
		bf_cg_label_here(cg, gend);
		return;
	}

	for (size_t j = i; j < end && !cg->err; j++) {
		const struct bf_rule *r = chain->rules[j];
		int next = j + 1 == end ? gend : bf_cg_label_new(cg);
		size_t from = p;

		if (keyed) {
			bf_cg_test_reg(cg, BF_R_KEY, r->exprs[p].cmp.op,
				       &r->exprs[p].cmp.data, next);
			from = p + 1;
		}
		_bf_emit_rule_exprs(cg, chain, j, from, next, ret);
		if (j + 1 != end)
			bf_cg_label_here(cg, next);
	}
	bf_cg_label_here(cg, gend);
}

int bf_cg_emit_chain(struct bf_cg *cg, const struct bf_chain *chain, int ret)
{
	size_t i = 0;

	while (i < chain->n_rules && !cg->err) {
		size_t p = 0;
		size_t end = _bf_find_group(chain, i, &p);

		if (end > i + 1) {
			_bf_emit_group(cg, chain, i, end, p, ret);
		} else {
			int next = bf_cg_label_new(cg);

			_bf_emit_rule_exprs(cg, chain, i, 0, next, ret);
			bf_cg_label_here(cg, next);
		}
		i = end;
	}
	bf_cg_emit_jmp(cg, BF_JA(0), ret);
	return bf_cg_err(cg);
}
