/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * NFTA_RULE_EXPRESSIONS <-> IR: the walk over the expression list, the
 * name -> ops dispatch, and what the expression files share (registers,
 * data values, errors). The expressions themselves live in expr_<kind>.c.
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <linux/netfilter/nf_tables.h>

#include <bpfilter/helpers.h>

#include "nfnl/expr.h"

/* Longest expression name accepted; longer ones cannot name a kernel
 * module either (the kernel's NFTA_EXPR_NAME policy is shorter still). */
#define _BF_EXPR_NAME_MAX 63

static const struct bf_nft_expr_ops *const _bf_ops[] = {
	&bf_nft_payload_ops, &bf_nft_meta_ops,	    &bf_nft_cmp_ops,
	&bf_nft_bitwise_ops, &bf_nft_byteorder_ops, &bf_nft_range_ops,
	&bf_nft_immediate_ops, &bf_nft_counter_ops, &bf_nft_ct_ops,
	&bf_nft_lookup_ops,
};

/* IR expression type -> the nf_tables expression that dumps it. */
static const struct bf_nft_expr_ops *const _bf_dump_ops[] = {
	[BF_EXPR_PAYLOAD] = &bf_nft_payload_ops,
	[BF_EXPR_META] = &bf_nft_meta_ops,
	[BF_EXPR_BITWISE] = &bf_nft_bitwise_ops,
	[BF_EXPR_BYTEORDER] = &bf_nft_byteorder_ops,
	[BF_EXPR_CMP] = &bf_nft_cmp_ops,
	[BF_EXPR_RANGE] = &bf_nft_range_ops,
	[BF_EXPR_IMMEDIATE] = &bf_nft_immediate_ops,
	[BF_EXPR_COUNTER] = &bf_nft_counter_ops,
	[BF_EXPR_VERDICT] = &bf_nft_immediate_ops,
	[BF_EXPR_LOOKUP] = &bf_nft_lookup_ops,
	[BF_EXPR_VMAP] = &bf_nft_lookup_ops,
	[BF_EXPR_CT] = &bf_nft_ct_ops,
	[BF_EXPR_META_SET] = &bf_nft_meta_ops,
};
_Static_assert(ARRAY_SIZE(_bf_dump_ops) == _BF_EXPR_MAX,
	       "expression dump table out of sync");

static const struct bf_nla_policy _bf_list_elem_policy[] = {
	[NFTA_EXPR_NAME] = { .type = BF_NLA_STRING,
			     .max_len = _BF_EXPR_NAME_MAX },
	[NFTA_EXPR_DATA] = { .type = BF_NLA_NESTED },
};

static void _bf_vfail(struct bf_nft_err *err, const struct nlattr *attr,
		      const struct nlattr *inner, int errnum, const char *fmt,
		      va_list ap)
{
	if (!err)
		return;

	err->attr = attr;
	err->inner = inner;
	err->err = errnum;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

int bf_nft_fail(const struct bf_nft_pctx *ctx, const struct nlattr *inner,
		int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	_bf_vfail(ctx->err, ctx->elem, inner ? inner : ctx->elem, errnum, fmt,
		  ap);
	va_end(ap);

	return errnum;
}

int bf_nft_fail_missing(const struct bf_nft_pctx *ctx, const char *what)
{
	return bf_nft_fail(ctx, ctx->data, -EINVAL, "%s: missing %s",
			   ctx->data == ctx->elem ? "expression" : "expression data",
			   what);
}

/* Errors outside of any expression. */
__attribute__((format(printf, 5, 6))) static int
_bf_fail_at(struct bf_nft_err *err, const struct nlattr *attr,
	    const struct nlattr *inner, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	_bf_vfail(err, attr, inner, errnum, fmt, ap);
	va_end(ap);

	return errnum;
}

int bf_nft_parse_reg(const struct bf_nft_pctx *ctx, const struct nlattr *attr,
		     unsigned int len, uint8_t *reg)
{
	uint32_t v = bf_nla_get_be32(attr);
	unsigned int r;

	/* NFT_REG_1..4 are the 16-byte registers, words 4, 8, 12, 16 of the
	 * kernel's register file; NFT_REG32_00..15 are words 4..19. Words
	 * 0..3 hold the verdict, so IR register = word - 4. */
	if (v >= NFT_REG_1 && v <= NFT_REG_4)
		r = (v - NFT_REG_1) * (NFT_REG_SIZE / NFT_REG32_SIZE);
	else if (v >= NFT_REG32_00 && v <= NFT_REG32_15)
		r = v - NFT_REG32_00;
	else if (v == NFT_REG_VERDICT)
		return bf_nft_fail(ctx, attr, -EINVAL,
				   "the verdict register cannot hold data");
	else
		return bf_nft_fail(ctx, attr, -EINVAL,
				   "register %u out of range", v);

	if (!len || r * NFT_REG32_SIZE + len > BF_REG_BYTES) {
		return bf_nft_fail(ctx, attr, -EINVAL,
				   "%u bytes at register %u run past the "
				   "register file",
				   len, v);
	}

	*reg = (uint8_t)r;

	return 0;
}

uint32_t bf_nft_reg_to_nft(uint8_t reg)
{
	/* What nft_dump_register() does with word reg + 4: the 16-byte name
	 * when the word starts a 16-byte register. */
	if (reg % (NFT_REG_SIZE / NFT_REG32_SIZE) == 0)
		return NFT_REG_1 + reg / (NFT_REG_SIZE / NFT_REG32_SIZE);

	return NFT_REG32_00 + reg;
}

static const struct bf_nla_policy _bf_data_policy[] = {
	[NFTA_DATA_VALUE] = { .type = BF_NLA_BINARY,
			      .max_len = NFT_DATA_VALUE_MAXLEN },
	[NFTA_DATA_VERDICT] = { .type = BF_NLA_NESTED },
};

int bf_nft_parse_value(const struct bf_nft_pctx *ctx,
		       const struct nlattr *attr, struct bf_data *data)
{
	const struct nlattr *tb[NFTA_DATA_MAX + 1];
	const struct nlattr *bad = attr;
	size_t len;
	int r;

	r = bf_nla_parse_nested(attr, _bf_data_policy, NFTA_DATA_MAX, tb,
				&bad);
	if (r)
		return bf_nft_fail(ctx, bad, r, "malformed data attribute");
	if (tb[NFTA_DATA_VERDICT])
		return bf_nft_fail(ctx, tb[NFTA_DATA_VERDICT], -EINVAL,
				   "a verdict where a value is expected");
	if (!tb[NFTA_DATA_VALUE])
		return bf_nft_fail(ctx, attr, -EINVAL, "data without a value");

	len = bf_nla_len(tb[NFTA_DATA_VALUE]);
	if (!len || len > BF_DATA_MAX) {
		return bf_nft_fail(ctx, tb[NFTA_DATA_VALUE], -EINVAL,
				   "value of %zu bytes, expected 1..%d", len,
				   BF_DATA_MAX);
	}

	bf_data_set(data, bf_nla_data(tb[NFTA_DATA_VALUE]), len);

	return 0;
}

void bf_nft_dump_value(struct bf_nlb *b, uint16_t type,
		       const struct bf_data *data)
{
	struct nlattr *nest = bf_nlb_nest_start(b, type);

	bf_nlb_put(b, NFTA_DATA_VALUE, data->bytes,
		   BF_MIN(data->len, (uint8_t)BF_DATA_MAX));
	bf_nlb_nest_end(b, nest);
}

/* A name fit for a message: printable characters only. */
static void _bf_printable(char *dst, size_t size, const struct nlattr *attr)
{
	const char *s = bf_nla_data(attr);
	size_t len = strnlen(s, bf_nla_len(attr));
	size_t i;

	for (i = 0; i < len && i + 1 < size; i++)
		dst[i] = isprint((unsigned char)s[i]) ? s[i] : '?';
	dst[i] = '\0';
}

static const struct bf_nft_expr_ops *_bf_ops_find(const struct nlattr *name)
{
	const char *s = bf_nla_data(name);
	size_t len = strnlen(s, bf_nla_len(name));

	for (size_t i = 0; i < ARRAY_SIZE(_bf_ops); i++) {
		if (strlen(_bf_ops[i]->name) == len &&
		    !memcmp(_bf_ops[i]->name, s, len))
			return _bf_ops[i];
	}

	return NULL;
}

static int _bf_parse_elem(const struct nlattr *elem, int family,
			  const struct bf_nft_sets *sets,
			  struct bf_rule *rule, struct bf_nft_err *err)
{
	const struct nlattr *etb[NFTA_EXPR_MAX + 1];
	const struct nlattr *tb[BF_NFT_ATTR_MAX + 1];
	const struct bf_nft_expr_ops *ops;
	struct bf_nft_pctx ctx = {
		.family = family,
		.elem = elem,
		.data = elem,
		.err = err,
		.sets = sets,
	};
	const struct nlattr *bad = elem;
	char name[_BF_EXPR_NAME_MAX + 1];
	struct bf_expr expr;
	int r;

	r = bf_nla_parse_nested(elem, _bf_list_elem_policy, NFTA_EXPR_MAX, etb,
				&bad);
	if (r)
		return bf_nft_fail(&ctx, bad, r, "malformed expression");

	if (!etb[NFTA_EXPR_NAME])
		return bf_nft_fail(&ctx, NULL, -EINVAL,
				   "expression without a name");
	_bf_printable(name, sizeof(name), etb[NFTA_EXPR_NAME]);
	if (!name[0])
		return bf_nft_fail(&ctx, etb[NFTA_EXPR_NAME], -EINVAL,
				   "expression with an empty name");

	ops = _bf_ops_find(etb[NFTA_EXPR_NAME]);
	if (!ops)
		return bf_nft_fail(&ctx, etb[NFTA_EXPR_NAME], -EOPNOTSUPP,
				   "unsupported expression '%s'", name);

	/* Without NFTA_EXPR_DATA every attribute is missing, as in the
	 * kernel; the expression decides whether that is fine. */
	if (etb[NFTA_EXPR_DATA]) {
		ctx.data = etb[NFTA_EXPR_DATA];
		assert(ops->max_attr <= BF_NFT_ATTR_MAX);
		r = bf_nla_parse_nested(ctx.data, ops->policy, ops->max_attr,
					tb, &bad);
		if (r)
			return bf_nft_fail(&ctx, bad, r, "%s: malformed attribute",
					   ops->name);
	} else {
		memset(tb, 0, sizeof(tb));
	}

	r = ops->parse(&ctx, tb, &expr);
	if (r)
		return r;

	r = bf_rule_add_expr(rule, &expr);
	if (r)
		return bf_nft_fail(&ctx, NULL, r, "out of memory");

	return 0;
}

int bf_nft_exprs_to_ir(const struct nlattr *exprs, int family,
		       struct bf_rule *rule, struct bf_nft_err *err)
{
	return bf_nft_exprs_to_ir_sets(exprs, family, NULL, rule, err);
}

int bf_nft_exprs_to_ir_sets(const struct nlattr *exprs, int family,
			    const struct bf_nft_sets *sets,
			    struct bf_rule *rule, struct bf_nft_err *err)
{
	const struct nlattr *elem;
	size_t rem, n = 0;
	int r;

	assert(exprs);
	assert(rule);

	if (err)
		memset(err, 0, sizeof(*err));

	for (elem = bf_nla_first(exprs, &rem); elem;
	     elem = bf_nla_next(elem, &rem)) {
		/* The kernel names no attribute for these two. */
		if (bf_nla_type(elem) != NFTA_LIST_ELEM) {
			return _bf_fail_at(err, NULL, elem, -EINVAL,
					   "expression list holds attribute "
					   "type %u",
					   bf_nla_type(elem));
		}
		if (n == BF_NFT_RULE_MAXEXPRS) {
			return _bf_fail_at(err, NULL, elem, -EINVAL,
					   "more than %d expressions in a rule",
					   BF_NFT_RULE_MAXEXPRS);
		}

		r = _bf_parse_elem(elem, family, sets, rule, err);
		if (r)
			return r;
		n++;
	}

	if (rem) {
		return _bf_fail_at(err, NULL, exprs, -EINVAL,
				   "truncated expression list");
	}

	return 0;
}

static int _bf_dump_expr(struct bf_nlb *b, const struct bf_rule *rule,
			 size_t idx, const struct bf_nft_dump_ctx *ctx)
{
	const struct bf_expr *expr = &rule->exprs[idx];
	const struct bf_nft_expr_ops *ops;
	uint64_t counter[2] = { 0, 0 };
	struct nlattr *elem, *data;
	int r;

	if ((unsigned int)expr->type >= _BF_EXPR_MAX)
		return -EINVAL;
	ops = _bf_dump_ops[expr->type];

	if (expr->type == BF_EXPR_COUNTER) {
		if (ctx && ctx->read) {
			r = ctx->read(ctx->data, idx, &counter[0], &counter[1]);
			if (r)
				return r;
		} else {
			counter[0] = expr->counter.packets;
			counter[1] = expr->counter.bytes;
		}
	}

	elem = bf_nlb_nest_start(b, NFTA_LIST_ELEM);
	bf_nlb_put_strz(b, NFTA_EXPR_NAME, ops->name);
	data = bf_nlb_nest_start(b, NFTA_EXPR_DATA);
	r = ops->dump(b, expr, counter);
	if (r)
		return r;
	bf_nlb_nest_end(b, data);
	bf_nlb_nest_end(b, elem);

	return 0;
}

int bf_nft_exprs_from_ir(struct nlmsghdr *nlh, size_t buflen,
			 const struct bf_rule *rule, int family,
			 const struct bf_nft_dump_ctx *ctx)
{
	struct bf_nlb b = { .nlh = nlh, .buflen = buflen };
	uint32_t start = nlh->nlmsg_len;
	struct nlattr *list;
	int r = 0;

	assert(rule);

	list = bf_nlb_nest_start(&b, NFTA_RULE_EXPRESSIONS);
	for (size_t i = 0; i < rule->n_exprs && !r && !b.err; i++)
		r = _bf_dump_expr(&b, rule, i, ctx);
	bf_nlb_nest_end(&b, list);

	if (!r)
		r = b.err;
	if (r)
		nlh->nlmsg_len = start;

	return r;
}
