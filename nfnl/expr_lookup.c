/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lookup: is the key in registers sreg.. in a set of the rule's table
 * (nft_lookup_init(), 6.18)? The set is found by name, then by
 * NFTA_LOOKUP_SET_ID among the sets of the same batch, through the
 * resolver the rule's caller gives (bf_nft_pctx.sets). A lookup into
 * NFT_REG_VERDICT of a verdict map is a vmap in the IR; maps with data
 * are refused: they are not compiled yet.
 */
#include <errno.h>

#include <linux/netfilter/nf_tables.h>

#include "nfnl/expr.h"

static const struct bf_nla_policy _bf_lookup_policy[] = {
	[NFTA_LOOKUP_SET] = { .type = BF_NLA_STRING, .max_len = 255 },
	[NFTA_LOOKUP_SREG] = { .type = BF_NLA_U32 },
	[NFTA_LOOKUP_DREG] = { .type = BF_NLA_U32 },
	[NFTA_LOOKUP_SET_ID] = { .type = BF_NLA_U32 },
	[NFTA_LOOKUP_FLAGS] = { .type = BF_NLA_U32 },
};

static int _bf_lookup_parse(const struct bf_nft_pctx *ctx,
			    const struct nlattr *const *tb,
			    struct bf_expr *expr)
{
	struct bf_nft_set_ref set;
	uint32_t flags = 0;
	uint8_t sreg;
	int r;

	if (!tb[NFTA_LOOKUP_SET])
		return bf_nft_fail_missing(ctx, "NFTA_LOOKUP_SET");
	if (!tb[NFTA_LOOKUP_SREG])
		return bf_nft_fail_missing(ctx, "NFTA_LOOKUP_SREG");
	if (!ctx->sets)
		return bf_nft_fail(ctx, tb[NFTA_LOOKUP_SET], -ENOENT,
				   "lookup: no set to look up");
	r = ctx->sets->find(ctx->sets, tb[NFTA_LOOKUP_SET],
			    tb[NFTA_LOOKUP_SET_ID], &set);
	if (r)
		return bf_nft_fail(ctx, tb[NFTA_LOOKUP_SET], r,
				   "lookup: no such set");

	r = bf_nft_parse_reg(ctx, tb[NFTA_LOOKUP_SREG], set.klen, &sreg);
	if (r)
		return r;
	if (tb[NFTA_LOOKUP_FLAGS]) {
		flags = bf_nla_get_be32(tb[NFTA_LOOKUP_FLAGS]);
		if (flags & ~NFT_LOOKUP_F_INV)
			return bf_nft_fail(ctx, tb[NFTA_LOOKUP_FLAGS], -EINVAL,
					   "lookup: unknown flags 0x%x", flags);
	}
	if (tb[NFTA_LOOKUP_DREG]) {
		if (flags & NFT_LOOKUP_F_INV)
			return bf_nft_fail(ctx, tb[NFTA_LOOKUP_DREG], -EINVAL,
					   "lookup: inverted map lookup");
		if (!(set.flags & NFT_SET_MAP))
			return bf_nft_fail(ctx, tb[NFTA_LOOKUP_DREG], -EINVAL,
					   "lookup: DREG on a set that is not a map");
		if (set.dtype != NFT_DATA_VERDICT)
			return bf_nft_fail(ctx, NULL, -EOPNOTSUPP,
					   "bpfilter does not support maps with data yet");
		if (bf_nla_get_be32(tb[NFTA_LOOKUP_DREG]) != NFT_REG_VERDICT)
			return bf_nft_fail(ctx, tb[NFTA_LOOKUP_DREG], -EINVAL,
					   "lookup: a verdict map into a data register");
		if (set.busy)
			return bf_nft_fail(ctx, tb[NFTA_LOOKUP_SET], -EBUSY,
					   "lookup: anonymous set already bound");
		*expr = bf_expr_vmap(set.name, sreg, (uint8_t)set.klen);
		return 0;
	}
	if ((set.flags & NFT_SET_MAP) && (flags & NFT_LOOKUP_F_INV))
		return bf_nft_fail(ctx, tb[NFTA_LOOKUP_FLAGS], -EINVAL,
				   "lookup: inverted map lookup");
	if (set.flags & NFT_SET_CONCAT)
		return bf_nft_fail(ctx, NULL, -EOPNOTSUPP,
				   "bpfilter does not support concatenations with intervals yet");
	if (set.busy)
		return bf_nft_fail(ctx, tb[NFTA_LOOKUP_SET], -EBUSY,
				   "lookup: anonymous set already bound");

	*expr = bf_expr_lookup(set.name, sreg, (uint8_t)set.klen,
			       flags & NFT_LOOKUP_F_INV);

	return 0;
}

static int _bf_lookup_dump(struct bf_nlb *b, const struct bf_expr *expr,
			   const uint64_t counter[2])
{
	if (expr->type == BF_EXPR_VMAP) {
		bf_nlb_put_strz(b, NFTA_LOOKUP_SET, expr->vmap.set);
		bf_nlb_put_be32(b, NFTA_LOOKUP_SREG,
				bf_nft_reg_to_nft(expr->vmap.sreg));
		bf_nlb_put_be32(b, NFTA_LOOKUP_DREG, NFT_REG_VERDICT);
		bf_nlb_put_be32(b, NFTA_LOOKUP_FLAGS, 0);
		return 0;
	}
	bf_nlb_put_strz(b, NFTA_LOOKUP_SET, expr->lookup.set);
	bf_nlb_put_be32(b, NFTA_LOOKUP_SREG,
			bf_nft_reg_to_nft(expr->lookup.sreg));
	bf_nlb_put_be32(b, NFTA_LOOKUP_FLAGS,
			expr->lookup.invert ? NFT_LOOKUP_F_INV : 0);

	return 0;
}

const struct bf_nft_expr_ops bf_nft_lookup_ops = {
	.name = "lookup",
	.policy = _bf_lookup_policy,
	.max_attr = NFTA_LOOKUP_FLAGS,
	.parse = _bf_lookup_parse,
	.dump = _bf_lookup_dump,
};
