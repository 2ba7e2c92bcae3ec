/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * byteorder: convert a register between host and network order, in
 * elements of 2, 4 or 8 bytes.
 */
#include <errno.h>

#include <linux/netfilter/nf_tables.h>

#include "nfnl/expr.h"

static const struct bf_nla_policy _bf_byteorder_policy[] = {
	[NFTA_BYTEORDER_SREG] = { .type = BF_NLA_U32 },
	[NFTA_BYTEORDER_DREG] = { .type = BF_NLA_U32 },
	[NFTA_BYTEORDER_OP] = { .type = BF_NLA_U32 },
	[NFTA_BYTEORDER_LEN] = { .type = BF_NLA_U32 },
	[NFTA_BYTEORDER_SIZE] = { .type = BF_NLA_U32 },
};

_Static_assert(NFT_BYTEORDER_NTOH == (int)BF_BYTEORDER_NTOH &&
		       NFT_BYTEORDER_HTON == (int)BF_BYTEORDER_HTON &&
		       _BF_BYTEORDER_MAX == 2,
	       "byteorder ops out of sync with nf_tables");

static int _bf_byteorder_parse(const struct bf_nft_pctx *ctx,
			       const struct nlattr *const *tb,
			       struct bf_expr *expr)
{
	uint32_t op, len, size;
	uint8_t sreg, dreg;
	int r;

	if (!tb[NFTA_BYTEORDER_SREG])
		return bf_nft_fail_missing(ctx, "NFTA_BYTEORDER_SREG");
	if (!tb[NFTA_BYTEORDER_DREG])
		return bf_nft_fail_missing(ctx, "NFTA_BYTEORDER_DREG");
	if (!tb[NFTA_BYTEORDER_OP])
		return bf_nft_fail_missing(ctx, "NFTA_BYTEORDER_OP");
	if (!tb[NFTA_BYTEORDER_LEN])
		return bf_nft_fail_missing(ctx, "NFTA_BYTEORDER_LEN");
	if (!tb[NFTA_BYTEORDER_SIZE])
		return bf_nft_fail_missing(ctx, "NFTA_BYTEORDER_SIZE");

	op = bf_nla_get_be32(tb[NFTA_BYTEORDER_OP]);
	if (op >= _BF_BYTEORDER_MAX)
		return bf_nft_fail(ctx, tb[NFTA_BYTEORDER_OP], -EINVAL,
				   "unknown byteorder op %u", op);

	size = bf_nla_get_be32(tb[NFTA_BYTEORDER_SIZE]);
	if (size != 2 && size != 4 && size != 8)
		return bf_nft_fail(ctx, tb[NFTA_BYTEORDER_SIZE], -EINVAL,
				   "byteorder element size %u", size);

	len = bf_nla_get_be32(tb[NFTA_BYTEORDER_LEN]);
	if (!len || len > BF_DATA_MAX)
		return bf_nft_fail(ctx, tb[NFTA_BYTEORDER_LEN], -EINVAL,
				   "byteorder length %u, expected 1..%d", len,
				   BF_DATA_MAX);
	if (len % size)
		return bf_nft_fail(ctx, tb[NFTA_BYTEORDER_LEN], -EINVAL,
				   "byteorder length %u is not a multiple of "
				   "%u",
				   len, size);

	r = bf_nft_parse_reg(ctx, tb[NFTA_BYTEORDER_SREG], len, &sreg);
	if (r)
		return r;
	r = bf_nft_parse_reg(ctx, tb[NFTA_BYTEORDER_DREG], len, &dreg);
	if (r)
		return r;

	*expr = bf_expr_byteorder((enum bf_byteorder_op)op, sreg, dreg,
				  (uint8_t)len, (uint8_t)size);

	return 0;
}

static int _bf_byteorder_dump(struct bf_nlb *b, const struct bf_expr *expr,
			      const uint64_t counter[2])
{
	if ((unsigned int)expr->byteorder.op >= _BF_BYTEORDER_MAX)
		return -EINVAL;

	bf_nlb_put_be32(b, NFTA_BYTEORDER_SREG,
			bf_nft_reg_to_nft(expr->byteorder.sreg));
	bf_nlb_put_be32(b, NFTA_BYTEORDER_DREG,
			bf_nft_reg_to_nft(expr->byteorder.dreg));
	bf_nlb_put_be32(b, NFTA_BYTEORDER_OP, expr->byteorder.op);
	bf_nlb_put_be32(b, NFTA_BYTEORDER_LEN, expr->byteorder.len);
	bf_nlb_put_be32(b, NFTA_BYTEORDER_SIZE, expr->byteorder.size);

	return 0;
}

const struct bf_nft_expr_ops bf_nft_byteorder_ops = {
	.name = "byteorder",
	.policy = _bf_byteorder_policy,
	.max_attr = NFTA_BYTEORDER_SIZE,
	.parse = _bf_byteorder_parse,
	.dump = _bf_byteorder_dump,
};
