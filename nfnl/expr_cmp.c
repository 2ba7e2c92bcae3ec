/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cmp: compare a register with a constant. The nf_tables ops are the IR's
 * ops, in the same order.
 */
#include <errno.h>

#include <linux/netfilter/nf_tables.h>

#include "nfnl/expr.h"

static const struct bf_nla_policy _bf_cmp_policy[] = {
	[NFTA_CMP_SREG] = { .type = BF_NLA_U32 },
	[NFTA_CMP_OP] = { .type = BF_NLA_U32 },
	[NFTA_CMP_DATA] = { .type = BF_NLA_NESTED },
};

_Static_assert(NFT_CMP_EQ == (int)BF_CMP_EQ && NFT_CMP_NEQ == (int)BF_CMP_NEQ &&
		       NFT_CMP_LT == (int)BF_CMP_LT &&
		       NFT_CMP_LTE == (int)BF_CMP_LTE &&
		       NFT_CMP_GT == (int)BF_CMP_GT &&
		       NFT_CMP_GTE == (int)BF_CMP_GTE && _BF_CMP_MAX == 6,
	       "cmp ops out of sync with nf_tables");

static int _bf_cmp_parse(const struct bf_nft_pctx *ctx,
			 const struct nlattr *const *tb, struct bf_expr *expr)
{
	struct bf_data data;
	uint32_t op;
	uint8_t sreg;
	int r;

	if (!tb[NFTA_CMP_SREG])
		return bf_nft_fail_missing(ctx, "NFTA_CMP_SREG");
	if (!tb[NFTA_CMP_OP])
		return bf_nft_fail_missing(ctx, "NFTA_CMP_OP");
	if (!tb[NFTA_CMP_DATA])
		return bf_nft_fail_missing(ctx, "NFTA_CMP_DATA");

	op = bf_nla_get_be32(tb[NFTA_CMP_OP]);
	if (op >= _BF_CMP_MAX)
		return bf_nft_fail(ctx, tb[NFTA_CMP_OP], -EINVAL,
				   "unknown cmp op %u", op);

	r = bf_nft_parse_value(ctx, tb[NFTA_CMP_DATA], &data);
	if (r)
		return r;

	r = bf_nft_parse_reg(ctx, tb[NFTA_CMP_SREG], data.len, &sreg);
	if (r)
		return r;

	*expr = bf_expr_cmp((enum bf_cmp_op)op, sreg, &data);

	return 0;
}

static int _bf_cmp_dump(struct bf_nlb *b, const struct bf_expr *expr,
			const uint64_t counter[2])
{
	if ((unsigned int)expr->cmp.op >= _BF_CMP_MAX)
		return -EINVAL;

	bf_nlb_put_be32(b, NFTA_CMP_SREG, bf_nft_reg_to_nft(expr->cmp.sreg));
	bf_nlb_put_be32(b, NFTA_CMP_OP, expr->cmp.op);
	bf_nft_dump_value(b, NFTA_CMP_DATA, &expr->cmp.data);

	return 0;
}

const struct bf_nft_expr_ops bf_nft_cmp_ops = {
	.name = "cmp",
	.policy = _bf_cmp_policy,
	.max_attr = NFTA_CMP_DATA,
	.parse = _bf_cmp_parse,
	.dump = _bf_cmp_dump,
};
