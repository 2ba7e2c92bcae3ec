/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bitwise: mask-and-xor (NFT_BITWISE_BOOL, also when NFTA_BITWISE_OP is
 * absent) and shifts. The register-to-register and/or/xor of 6.13+
 * kernels (NFTA_BITWISE_SREG2) has no IR counterpart. The kernel always
 * dumps NFTA_BITWISE_OP, after NFTA_BITWISE_LEN.
 */
#include <errno.h>
#include <string.h>

#include <linux/netfilter/nf_tables.h>

#include "nfnl/expr.h"

static const struct bf_nla_policy _bf_bitwise_policy[] = {
	[NFTA_BITWISE_SREG] = { .type = BF_NLA_U32 },
	[NFTA_BITWISE_DREG] = { .type = BF_NLA_U32 },
	[NFTA_BITWISE_LEN] = { .type = BF_NLA_U32 },
	[NFTA_BITWISE_MASK] = { .type = BF_NLA_NESTED },
	[NFTA_BITWISE_XOR] = { .type = BF_NLA_NESTED },
	[NFTA_BITWISE_OP] = { .type = BF_NLA_U32 },
	[NFTA_BITWISE_DATA] = { .type = BF_NLA_NESTED },
	[BF_NFTA_BITWISE_SREG2] = { .type = BF_NLA_U32 },
};

_Static_assert(NFT_BITWISE_BOOL == (int)BF_BITWISE_BOOL &&
		       NFT_BITWISE_LSHIFT == (int)BF_BITWISE_LSHIFT &&
		       NFT_BITWISE_RSHIFT == (int)BF_BITWISE_RSHIFT &&
		       _BF_BITWISE_MAX == 3,
	       "bitwise ops out of sync with nf_tables");

static int _bf_bitwise_parse_bool(const struct bf_nft_pctx *ctx,
				  const struct nlattr *const *tb,
				  uint32_t len, struct bf_data *mask,
				  struct bf_data *xor)
{
	int r;

	if (tb[NFTA_BITWISE_DATA])
		return bf_nft_fail(ctx, tb[NFTA_BITWISE_DATA], -EINVAL,
				   "bitwise mask/xor with a shift amount");
	if (!tb[NFTA_BITWISE_MASK])
		return bf_nft_fail_missing(ctx, "NFTA_BITWISE_MASK");
	if (!tb[NFTA_BITWISE_XOR])
		return bf_nft_fail_missing(ctx, "NFTA_BITWISE_XOR");

	r = bf_nft_parse_value(ctx, tb[NFTA_BITWISE_MASK], mask);
	if (r)
		return r;
	if (mask->len != len)
		return bf_nft_fail(ctx, tb[NFTA_BITWISE_MASK], -EINVAL,
				   "bitwise mask of %u bytes, length %u",
				   mask->len, len);

	r = bf_nft_parse_value(ctx, tb[NFTA_BITWISE_XOR], xor);
	if (r)
		return r;
	if (xor->len != len)
		return bf_nft_fail(ctx, tb[NFTA_BITWISE_XOR], -EINVAL,
				   "bitwise xor of %u bytes, length %u",
				   xor->len, len);

	return 0;
}

static int _bf_bitwise_parse_shift(const struct bf_nft_pctx *ctx,
				   const struct nlattr *const *tb,
				   uint32_t len, uint32_t *shift)
{
	struct bf_data data;
	int r;

	if (tb[NFTA_BITWISE_MASK] || tb[NFTA_BITWISE_XOR])
		return bf_nft_fail(ctx,
				   tb[NFTA_BITWISE_MASK] ? tb[NFTA_BITWISE_MASK]
							 : tb[NFTA_BITWISE_XOR],
				   -EINVAL, "bitwise shift with a mask or xor");
	if (!tb[NFTA_BITWISE_DATA])
		return bf_nft_fail_missing(ctx, "NFTA_BITWISE_DATA");

	r = bf_nft_parse_value(ctx, tb[NFTA_BITWISE_DATA], &data);
	if (r)
		return r;
	if (data.len != sizeof(*shift))
		return bf_nft_fail(ctx, tb[NFTA_BITWISE_DATA], -EINVAL,
				   "shift amount of %u bytes, expected 4",
				   data.len);

	/* A u32 in host order, as the kernel reads it. */
	memcpy(shift, data.bytes, sizeof(*shift));
	if (*shift >= 32)
		return bf_nft_fail(ctx, tb[NFTA_BITWISE_DATA], -EINVAL,
				   "shift by %u bits", *shift);
	if (len % 4)
		return bf_nft_fail(ctx, tb[NFTA_BITWISE_LEN], -EOPNOTSUPP,
				   "unsupported bitwise shift of %u bytes (a "
				   "multiple of 4 is needed)",
				   len);

	return 0;
}

static int _bf_bitwise_parse(const struct bf_nft_pctx *ctx,
			     const struct nlattr *const *tb,
			     struct bf_expr *expr)
{
	uint32_t op = NFT_BITWISE_BOOL, len, shift = 0;
	struct bf_data mask, xor;
	uint8_t sreg, dreg;
	int r;

	if (!tb[NFTA_BITWISE_SREG])
		return bf_nft_fail_missing(ctx, "NFTA_BITWISE_SREG");
	if (!tb[NFTA_BITWISE_DREG])
		return bf_nft_fail_missing(ctx, "NFTA_BITWISE_DREG");
	if (!tb[NFTA_BITWISE_LEN])
		return bf_nft_fail_missing(ctx, "NFTA_BITWISE_LEN");

	if (tb[NFTA_BITWISE_OP]) {
		op = bf_nla_get_be32(tb[NFTA_BITWISE_OP]);
		if (op >= _BF_BITWISE_MAX)
			/* Including and/or/xor of two registers (3..5). */
			return bf_nft_fail(ctx, tb[NFTA_BITWISE_OP], -EOPNOTSUPP,
					   "unsupported bitwise op %u", op);
	}
	if (tb[BF_NFTA_BITWISE_SREG2])
		return bf_nft_fail(ctx, tb[BF_NFTA_BITWISE_SREG2], -EOPNOTSUPP,
				   "unsupported bitwise with two registers");

	len = bf_nla_get_be32(tb[NFTA_BITWISE_LEN]);
	if (!len || len > BF_DATA_MAX)
		return bf_nft_fail(ctx, tb[NFTA_BITWISE_LEN], -EINVAL,
				   "bitwise length %u, expected 1..%d", len,
				   BF_DATA_MAX);

	if (op == NFT_BITWISE_BOOL)
		r = _bf_bitwise_parse_bool(ctx, tb, len, &mask, &xor);
	else
		r = _bf_bitwise_parse_shift(ctx, tb, len, &shift);
	if (r)
		return r;

	r = bf_nft_parse_reg(ctx, tb[NFTA_BITWISE_SREG], len, &sreg);
	if (r)
		return r;
	r = bf_nft_parse_reg(ctx, tb[NFTA_BITWISE_DREG], len, &dreg);
	if (r)
		return r;

	if (op == NFT_BITWISE_BOOL)
		*expr = bf_expr_bitwise_bool(sreg, dreg, (uint8_t)len, &mask,
					     &xor);
	else
		*expr = bf_expr_bitwise_shift((enum bf_bitwise_op)op, sreg,
					      dreg, (uint8_t)len, shift);

	return 0;
}

static int _bf_bitwise_dump(struct bf_nlb *b, const struct bf_expr *expr,
			    const uint64_t counter[2])
{
	struct bf_data shift;

	if ((unsigned int)expr->bitwise.op >= _BF_BITWISE_MAX)
		return -EINVAL;

	bf_nlb_put_be32(b, NFTA_BITWISE_SREG,
			bf_nft_reg_to_nft(expr->bitwise.sreg));
	bf_nlb_put_be32(b, NFTA_BITWISE_DREG,
			bf_nft_reg_to_nft(expr->bitwise.dreg));
	bf_nlb_put_be32(b, NFTA_BITWISE_LEN, expr->bitwise.len);
	bf_nlb_put_be32(b, NFTA_BITWISE_OP, expr->bitwise.op);

	if (expr->bitwise.op == BF_BITWISE_BOOL) {
		bf_nft_dump_value(b, NFTA_BITWISE_MASK, &expr->bitwise.mask);
		bf_nft_dump_value(b, NFTA_BITWISE_XOR, &expr->bitwise.xor);
	} else {
		bf_data_u32(&shift, expr->bitwise.shift);
		bf_nft_dump_value(b, NFTA_BITWISE_DATA, &shift);
	}

	return 0;
}

const struct bf_nft_expr_ops bf_nft_bitwise_ops = {
	.name = "bitwise",
	.policy = _bf_bitwise_policy,
	.max_attr = BF_NFTA_BITWISE_SREG2,
	.parse = _bf_bitwise_parse,
	.dump = _bf_bitwise_dump,
};
