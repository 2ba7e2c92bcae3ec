/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * payload: load packet bytes into registers. Only the load form is
 * lowered: a payload with NFTA_PAYLOAD_SREG is a payload write (with its
 * checksum update), and the inner and tunnel header bases have no IR
 * counterpart.
 */
#include <errno.h>

#include <linux/netfilter/nf_tables.h>

#include "nfnl/expr.h"

static const struct bf_nla_policy _bf_payload_policy[] = {
	[NFTA_PAYLOAD_DREG] = { .type = BF_NLA_U32 },
	[NFTA_PAYLOAD_BASE] = { .type = BF_NLA_U32 },
	[NFTA_PAYLOAD_OFFSET] = { .type = BF_NLA_U32 },
	[NFTA_PAYLOAD_LEN] = { .type = BF_NLA_U32 },
	[NFTA_PAYLOAD_SREG] = { .type = BF_NLA_U32 },
	[NFTA_PAYLOAD_CSUM_TYPE] = { .type = BF_NLA_U32 },
	[NFTA_PAYLOAD_CSUM_OFFSET] = { .type = BF_NLA_U32 },
	[NFTA_PAYLOAD_CSUM_FLAGS] = { .type = BF_NLA_U32 },
};

static const uint32_t _bf_base_to_nft[] = {
	[BF_PAYLOAD_LL] = NFT_PAYLOAD_LL_HEADER,
	[BF_PAYLOAD_NH] = NFT_PAYLOAD_NETWORK_HEADER,
	[BF_PAYLOAD_TH] = NFT_PAYLOAD_TRANSPORT_HEADER,
};
_Static_assert(sizeof(_bf_base_to_nft) / sizeof(_bf_base_to_nft[0]) ==
		       _BF_PAYLOAD_MAX,
	       "payload bases out of sync");

static int _bf_payload_parse(const struct bf_nft_pctx *ctx,
			     const struct nlattr *const *tb,
			     struct bf_expr *expr)
{
	uint32_t base, offset, len;
	uint8_t dreg;
	int r;

	if (tb[NFTA_PAYLOAD_SREG])
		return bf_nft_fail(ctx, tb[NFTA_PAYLOAD_SREG], -EOPNOTSUPP,
				   "unsupported expression 'payload' (payload "
				   "set)");
	if (!tb[NFTA_PAYLOAD_DREG])
		return bf_nft_fail_missing(ctx, "NFTA_PAYLOAD_DREG");
	if (!tb[NFTA_PAYLOAD_BASE])
		return bf_nft_fail_missing(ctx, "NFTA_PAYLOAD_BASE");
	if (!tb[NFTA_PAYLOAD_OFFSET])
		return bf_nft_fail_missing(ctx, "NFTA_PAYLOAD_OFFSET");
	if (!tb[NFTA_PAYLOAD_LEN])
		return bf_nft_fail_missing(ctx, "NFTA_PAYLOAD_LEN");

	base = bf_nla_get_be32(tb[NFTA_PAYLOAD_BASE]);
	switch (base) {
	case NFT_PAYLOAD_LL_HEADER:
	case NFT_PAYLOAD_NETWORK_HEADER:
	case NFT_PAYLOAD_TRANSPORT_HEADER:
		break;
	case NFT_PAYLOAD_INNER_HEADER:
	case NFT_PAYLOAD_TUN_HEADER:
		return bf_nft_fail(ctx, tb[NFTA_PAYLOAD_BASE], -EOPNOTSUPP,
				   "unsupported payload base %s",
				   base == NFT_PAYLOAD_INNER_HEADER ? "inner"
								    : "tunnel");
	default:
		return bf_nft_fail(ctx, tb[NFTA_PAYLOAD_BASE], -EINVAL,
				   "unknown payload base %u", base);
	}

	offset = bf_nla_get_be32(tb[NFTA_PAYLOAD_OFFSET]);
	if (offset > BF_PAYLOAD_OFFSET_MAX)
		return bf_nft_fail(ctx, tb[NFTA_PAYLOAD_OFFSET], -EINVAL,
				   "payload offset %u exceeds %d", offset,
				   BF_PAYLOAD_OFFSET_MAX);

	len = bf_nla_get_be32(tb[NFTA_PAYLOAD_LEN]);
	if (!len)
		return bf_nft_fail(ctx, tb[NFTA_PAYLOAD_LEN], -EINVAL,
				   "payload length 0");
	if (len > BF_DATA_MAX)
		/* The kernel loads up to the register file's size; nft
		 * never asks for more than 16 bytes at once. */
		return bf_nft_fail(ctx, tb[NFTA_PAYLOAD_LEN], -EOPNOTSUPP,
				   "unsupported payload load of %u bytes "
				   "(at most %d)",
				   len, BF_DATA_MAX);

	r = bf_nft_parse_reg(ctx, tb[NFTA_PAYLOAD_DREG], len, &dreg);
	if (r)
		return r;

	*expr = bf_expr_payload(base == NFT_PAYLOAD_LL_HEADER	   ? BF_PAYLOAD_LL
				: base == NFT_PAYLOAD_NETWORK_HEADER ? BF_PAYLOAD_NH
								     : BF_PAYLOAD_TH,
				(uint16_t)offset, (uint8_t)len, dreg);

	return 0;
}

static int _bf_payload_dump(struct bf_nlb *b, const struct bf_expr *expr,
			    const uint64_t counter[2])
{
	if ((unsigned int)expr->payload.base >= _BF_PAYLOAD_MAX)
		return -EINVAL;

	bf_nlb_put_be32(b, NFTA_PAYLOAD_DREG,
			bf_nft_reg_to_nft(expr->payload.dreg));
	bf_nlb_put_be32(b, NFTA_PAYLOAD_BASE,
			_bf_base_to_nft[expr->payload.base]);
	bf_nlb_put_be32(b, NFTA_PAYLOAD_OFFSET, expr->payload.offset);
	bf_nlb_put_be32(b, NFTA_PAYLOAD_LEN, expr->payload.len);

	return 0;
}

const struct bf_nft_expr_ops bf_nft_payload_ops = {
	.name = "payload",
	.policy = _bf_payload_policy,
	.max_attr = NFTA_PAYLOAD_CSUM_FLAGS,
	.parse = _bf_payload_parse,
	.dump = _bf_payload_dump,
};
