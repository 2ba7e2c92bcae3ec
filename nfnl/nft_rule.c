/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * NEWRULE and DELRULE (nf_tables_newrule(), nf_tables_delrule()):
 * positions, replacement, jumps checked against the table's chains, and
 * expressions lowered to IR (nfnl/expr.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpfilter/helpers.h>

#include "nfnl/expr.h"
#include "nfnl/nft.h"
#include "nfnl/nft_obj.h"

int bf_nft_delrule_at(struct bf_nft_op *op, struct bf_nft_table *t,
			  struct bf_nft_chain *c, size_t idx)
{
	int r = bf_nft_notify(op, NFT_MSG_DELRULE, t, c, idx);
	struct bf_rule *ir;

	if (r)
		return r;
	ir = bf_rule_get(c->rules[idx]->ir);
	bf_nft_rule_remove_at(c, idx);
	bf_nft_unbind_sets(t, ir);
	bf_rule_free(&ir);
	c->last_nlh = op->nlh;
	t->dirty = true;
	op->txn->changed = true;

	return 0;
}

const struct bf_nla_policy bf_nft_rule_pol[NFTA_RULE_MAX + 1] = {
	[NFTA_RULE_TABLE] = { BF_NLA_STRING, BF_NFT_NAME_MAX - 1 },
	[NFTA_RULE_CHAIN] = { BF_NLA_STRING, BF_NFT_NAME_MAX - 1 },
	[NFTA_RULE_HANDLE] = { BF_NLA_U64, 0 },
	[NFTA_RULE_EXPRESSIONS] = { BF_NLA_NESTED, 0 },
	[NFTA_RULE_COMPAT] = { BF_NLA_NESTED, 0 },
	[NFTA_RULE_POSITION] = { BF_NLA_U64, 0 },
	[NFTA_RULE_USERDATA] = { BF_NLA_BINARY, BF_NFT_UDATA_MAX },
	[NFTA_RULE_ID] = { BF_NLA_U32, 0 },
	[NFTA_RULE_POSITION_ID] = { BF_NLA_U32, 0 },
	[NFTA_RULE_CHAIN_ID] = { BF_NLA_U32, 0 },
};

static int _bf_rule_chain(struct bf_nft_op *op, const struct nlattr **tb,
			  struct bf_nft_table *t, struct bf_nft_chain **out)
{
	char name[BF_NFT_NAME_MAX];

	*out = NULL;
	if (tb[NFTA_RULE_CHAIN]) {
		if (bf_nft_attr_str(tb[NFTA_RULE_CHAIN], name, sizeof(name)) ||
		    !(*out = bf_nft_chain_find(t, name)))
			return bf_nft_op_fail(op, tb[NFTA_RULE_CHAIN], -ENOENT, NULL);
		return 0;
	}
	if (tb[NFTA_RULE_CHAIN_ID]) {
		uint32_t id = bf_nla_get_be32(tb[NFTA_RULE_CHAIN_ID]);

		for (size_t i = 0; i < t->n_chains; i++) {
			if (t->chains[i]->id == id && id) {
				*out = t->chains[i];
				return 0;
			}
		}
		return bf_nft_op_fail(op, tb[NFTA_RULE_CHAIN_ID], -ENOENT, NULL);
	}

	return 0;
}

/* The NFTA_LIST_ELEM of expression @idx. */
static const struct nlattr *_bf_expr_elem(const struct nlattr *exprs,
					  size_t idx)
{
	const struct nlattr *a;
	size_t rem;

	for (a = bf_nla_first(exprs, &rem); a && idx; a = bf_nla_next(a, &rem))
		idx--;

	return a ? a : exprs;
}

static int _bf_check_jumps(struct bf_nft_op *op, const struct nlattr *exprs,
			   struct bf_nft_table *t, const struct bf_rule *ir)
{
	for (size_t i = 0; i < ir->n_exprs; i++) {
		const struct bf_expr *e = &ir->exprs[i];
		const struct bf_nft_chain *target;

		if (e->type != BF_EXPR_VERDICT ||
		    (e->verdict.code != BF_VERDICT_JUMP &&
		     e->verdict.code != BF_VERDICT_GOTO))
			continue;
		target = bf_nft_chain_find(t, e->verdict.chain);
		if (!target)
			return bf_nft_op_fail(op, _bf_expr_elem(exprs, i), -ENOENT,
					NULL);
		if (target->base)
			return bf_nft_op_fail(op, _bf_expr_elem(exprs, i),
					-EOPNOTSUPP, NULL);
	}

	return 0;
}

int bf_nft_newrule(struct bf_nft_op *op, const struct nlattr **tb)
{
	uint16_t nlflags = op->nlh->nlmsg_flags;
	struct bf_nft_rule *rule = NULL;
	struct bf_nft_table *t;
	struct bf_nft_chain *c;
	struct bf_nft_err err;
	ssize_t old = -1;
	uint64_t handle;
	size_t pos;
	int r = 0;

	t = bf_nft_op_table(op, tb[NFTA_RULE_TABLE], &r);
	if (!t)
		return r;
	r = _bf_rule_chain(op, tb, t, &c);
	if (r)
		return r;
	if (!c)
		return bf_nft_op_fail(op, NULL, -EINVAL, NULL);

	if (tb[NFTA_RULE_HANDLE]) {
		handle = bf_nla_get_be64(tb[NFTA_RULE_HANDLE]);
		old = bf_nft_rule_find(c, handle);
		if (old < 0)
			return bf_nft_op_fail(op, tb[NFTA_RULE_HANDLE], -ENOENT, NULL);
		if (nlflags & NLM_F_EXCL)
			return bf_nft_op_fail(op, tb[NFTA_RULE_HANDLE], -EEXIST, NULL);
		if (!(nlflags & NLM_F_REPLACE))
			return bf_nft_op_fail(op, NULL, -EOPNOTSUPP, NULL);
	} else {
		if (!(nlflags & NLM_F_CREATE) || (nlflags & NLM_F_REPLACE))
			return bf_nft_op_fail(op, NULL, -EINVAL, NULL);
		/* Consumed even if the rule is refused, as in the kernel. */
		handle = ++t->hgen;
		if (tb[NFTA_RULE_POSITION]) {
			old = bf_nft_rule_find(c,
				bf_nla_get_be64(tb[NFTA_RULE_POSITION]));
			if (old < 0)
				return bf_nft_op_fail(op, tb[NFTA_RULE_POSITION],
						-ENOENT, NULL);
		} else if (tb[NFTA_RULE_POSITION_ID]) {
			return bf_nft_op_fail(op, tb[NFTA_RULE_POSITION_ID],
					-EOPNOTSUPP,
					"bpfilter does not support NFTA_RULE_POSITION_ID");
		}
	}

	rule = calloc(1, sizeof(*rule));
	if (!rule)
		return -ENOMEM;
	rule->refcnt = 1;
	rule->handle = handle;
	r = bf_rule_new(&rule->ir);
	if (r)
		goto err;
	rule->ir->handle = handle;
	r = bf_nft_udata(tb[NFTA_RULE_USERDATA], &rule->udata, &rule->udlen);
	if (r)
		goto err;

	if (tb[NFTA_RULE_EXPRESSIONS]) {
		struct bf_nft_sets sets;

		bf_nft_sets_of(t, &sets);
		r = bf_nft_exprs_to_ir_sets(tb[NFTA_RULE_EXPRESSIONS],
					    op->family, &sets, rule->ir, &err);
		if (r) {
			bf_nft_op_fail(op, err.attr ? err.attr :
						tb[NFTA_RULE_EXPRESSIONS],
				 r, "%s", err.msg);
			goto err;
		}
		r = _bf_check_jumps(op, tb[NFTA_RULE_EXPRESSIONS], t,
				    rule->ir);
		if (r)
			goto err;
		rule->jumps = bf_nft_ir_jumps(rule->ir, NULL);
	}

	if (nlflags & NLM_F_REPLACE) {
		r = bf_nft_notify(op, NFT_MSG_DELRULE, t, c, (size_t)old);
		if (r)
			goto err;
		struct bf_rule *ir = bf_rule_get(c->rules[old]->ir);

		bf_nft_rule_put(&c->rules[old]);
		c->rules[old] = rule;
		pos = (size_t)old;
		bf_nft_unbind_sets(t, ir);
		bf_rule_free(&ir);
	} else {
		if (nlflags & NLM_F_APPEND)
			pos = old >= 0 ? (size_t)old + 1 : c->n_rules;
		else
			pos = old >= 0 ? (size_t)old : 0;
		r = bf_nft_rule_insert(c, pos, rule);
		if (r)
			goto err;
	}

	c->last_nlh = op->nlh;
	t->dirty = true;
	op->txn->changed = true;

	return bf_nft_notify(op, NFT_MSG_NEWRULE, t, c, pos);

err:
	bf_nft_rule_put(&rule);
	return r;
}

int bf_nft_delrule(struct bf_nft_op *op, const struct nlattr **tb)
{
	struct bf_nft_table *t;
	struct bf_nft_chain *c;
	ssize_t idx;
	int r = 0;

	t = bf_nft_op_table(op, tb[NFTA_RULE_TABLE], &r);
	if (!t)
		return r;
	r = _bf_rule_chain(op, tb, t, &c);
	if (r)
		return r;

	if (c) {
		if (tb[NFTA_RULE_HANDLE]) {
			idx = bf_nft_rule_find(c,
				bf_nla_get_be64(tb[NFTA_RULE_HANDLE]));
			if (idx < 0)
				return bf_nft_op_fail(op, tb[NFTA_RULE_HANDLE],
						-ENOENT, NULL);
			return bf_nft_delrule_at(op, t, c, (size_t)idx);
		}
		if (tb[NFTA_RULE_ID])
			return bf_nft_op_fail(op, tb[NFTA_RULE_ID], -EOPNOTSUPP,
					"bpfilter does not support NFTA_RULE_ID");
		return bf_nft_flush_chain(op, t, c);
	}

	for (size_t i = 0; i < t->n_chains; i++) {
		r = bf_nft_flush_chain(op, t, t->chains[i]);
		if (r)
			return r;
	}

	return 0;
}
