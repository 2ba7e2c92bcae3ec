/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * range: test whether a register lies between two constants (eq) or
 * outside of them (neq).
 */
#include <errno.h>

#include <linux/netfilter/nf_tables.h>

#include "nfnl/expr.h"

static const struct bf_nla_policy _bf_range_policy[] = {
	[NFTA_RANGE_SREG] = { .type = BF_NLA_U32 },
	[NFTA_RANGE_OP] = { .type = BF_NLA_U32 },
	[NFTA_RANGE_FROM_DATA] = { .type = BF_NLA_NESTED },
	[NFTA_RANGE_TO_DATA] = { .type = BF_NLA_NESTED },
};

_Static_assert(NFT_RANGE_EQ == (int)BF_RANGE_EQ &&
		       NFT_RANGE_NEQ == (int)BF_RANGE_NEQ &&
		       _BF_RANGE_MAX == 2,
	       "range ops out of sync with nf_tables");

static int _bf_range_parse(const struct bf_nft_pctx *ctx,
			   const struct nlattr *const *tb,
			   struct bf_expr *expr)
{
	struct bf_data from, to;
	uint32_t op;
	uint8_t sreg;
	int r;

	if (!tb[NFTA_RANGE_SREG])
		return bf_nft_fail_missing(ctx, "NFTA_RANGE_SREG");
	if (!tb[NFTA_RANGE_OP])
		return bf_nft_fail_missing(ctx, "NFTA_RANGE_OP");
	if (!tb[NFTA_RANGE_FROM_DATA])
		return bf_nft_fail_missing(ctx, "NFTA_RANGE_FROM_DATA");
	if (!tb[NFTA_RANGE_TO_DATA])
		return bf_nft_fail_missing(ctx, "NFTA_RANGE_TO_DATA");

	op = bf_nla_get_be32(tb[NFTA_RANGE_OP]);
	if (op >= _BF_RANGE_MAX)
		return bf_nft_fail(ctx, tb[NFTA_RANGE_OP], -EINVAL,
				   "unknown range op %u", op);

	r = bf_nft_parse_value(ctx, tb[NFTA_RANGE_FROM_DATA], &from);
	if (r)
		return r;
	r = bf_nft_parse_value(ctx, tb[NFTA_RANGE_TO_DATA], &to);
	if (r)
		return r;
	if (from.len != to.len)
		return bf_nft_fail(ctx, tb[NFTA_RANGE_TO_DATA], -EINVAL,
				   "range bounds of %u and %u bytes", from.len,
				   to.len);

	r = bf_nft_parse_reg(ctx, tb[NFTA_RANGE_SREG], from.len, &sreg);
	if (r)
		return r;

	*expr = bf_expr_range((enum bf_range_op)op, sreg, &from, &to);

	return 0;
}

static int _bf_range_dump(struct bf_nlb *b, const struct bf_expr *expr,
			  const uint64_t counter[2])
{
	if ((unsigned int)expr->range.op >= _BF_RANGE_MAX)
		return -EINVAL;

	bf_nlb_put_be32(b, NFTA_RANGE_SREG, bf_nft_reg_to_nft(expr->range.sreg));
	bf_nlb_put_be32(b, NFTA_RANGE_OP, expr->range.op);
	bf_nft_dump_value(b, NFTA_RANGE_FROM_DATA, &expr->range.from);
	bf_nft_dump_value(b, NFTA_RANGE_TO_DATA, &expr->range.to);

	return 0;
}

const struct bf_nft_expr_ops bf_nft_range_ops = {
	.name = "range",
	.policy = _bf_range_policy,
	.max_attr = NFTA_RANGE_TO_DATA,
	.parse = _bf_range_parse,
	.dump = _bf_range_dump,
};
