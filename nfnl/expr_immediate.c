/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * immediate: a constant into a data register (IR immediate), or a verdict
 * into NFT_REG_VERDICT (IR verdict): NFTA_IMMEDIATE_DATA holds
 * NFTA_DATA_VALUE for the former, NFTA_DATA_VERDICT {CODE, CHAIN} for the
 * latter.
 */
#include <errno.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <bpfilter/helpers.h>

#include "nfnl/expr.h"

static const struct bf_nla_policy _bf_immediate_policy[] = {
	[NFTA_IMMEDIATE_DREG] = { .type = BF_NLA_U32 },
	[NFTA_IMMEDIATE_DATA] = { .type = BF_NLA_NESTED },
};

static const struct bf_nla_policy _bf_data_policy[] = {
	[NFTA_DATA_VALUE] = { .type = BF_NLA_BINARY,
			      .max_len = NFT_DATA_VALUE_MAXLEN },
	[NFTA_DATA_VERDICT] = { .type = BF_NLA_NESTED },
};

static const struct bf_nla_policy _bf_verdict_policy[] = {
	[NFTA_VERDICT_CODE] = { .type = BF_NLA_U32 },
	[NFTA_VERDICT_CHAIN] = { .type = BF_NLA_STRING,
				 .max_len = NFT_CHAIN_MAXNAMELEN - 1 },
	[NFTA_VERDICT_CHAIN_ID] = { .type = BF_NLA_U32 },
};

static const int32_t _bf_verdict_to_nft[] = {
	[BF_VERDICT_ACCEPT] = NF_ACCEPT,
	[BF_VERDICT_DROP] = NF_DROP,
	[BF_VERDICT_CONTINUE] = NFT_CONTINUE,
	[BF_VERDICT_RETURN] = NFT_RETURN,
	[BF_VERDICT_JUMP] = NFT_JUMP,
	[BF_VERDICT_GOTO] = NFT_GOTO,
};
_Static_assert(ARRAY_SIZE(_bf_verdict_to_nft) == _BF_VERDICT_MAX,
	       "verdicts out of sync");

int bf_nft_parse_verdict(const struct bf_nft_pctx *ctx,
			 const struct nlattr *attr, struct bf_expr *expr)
{
	const struct nlattr *tb[NFTA_VERDICT_MAX + 1];
	const struct nlattr *bad = attr;
	enum bf_verdict code;
	char chain[BF_NAME_MAX];
	size_t len;
	int32_t v;
	int r;

	r = bf_nla_parse_nested(attr, _bf_verdict_policy, NFTA_VERDICT_MAX, tb,
				&bad);
	if (r)
		return bf_nft_fail(ctx, bad, r, "malformed verdict");
	if (!tb[NFTA_VERDICT_CODE])
		return bf_nft_fail(ctx, attr, -EINVAL,
				   "verdict without a code");

	v = (int32_t)bf_nla_get_be32(tb[NFTA_VERDICT_CODE]);
	switch (v) {
	case NF_ACCEPT:
		code = BF_VERDICT_ACCEPT;
		break;
	case NF_DROP:
		code = BF_VERDICT_DROP;
		break;
	case NFT_CONTINUE:
		code = BF_VERDICT_CONTINUE;
		break;
	case NFT_RETURN:
		code = BF_VERDICT_RETURN;
		break;
	case NFT_JUMP:
		code = BF_VERDICT_JUMP;
		break;
	case NFT_GOTO:
		code = BF_VERDICT_GOTO;
		break;
	case NF_QUEUE:
		return bf_nft_fail(ctx, tb[NFTA_VERDICT_CODE], -EOPNOTSUPP,
				   "unsupported verdict 'queue'");
	case NFT_BREAK:
		return bf_nft_fail(ctx, tb[NFTA_VERDICT_CODE], -EOPNOTSUPP,
				   "unsupported verdict 'break'");
	default:
		return bf_nft_fail(ctx, tb[NFTA_VERDICT_CODE], -EINVAL,
				   "unknown verdict code %d", v);
	}

	memset(chain, 0, sizeof(chain));
	if (code == BF_VERDICT_JUMP || code == BF_VERDICT_GOTO) {
		if (!tb[NFTA_VERDICT_CHAIN]) {
			if (tb[NFTA_VERDICT_CHAIN_ID])
				/* The front-end resolves chain ids of the
				 * transaction to names before this point, or
				 * does not support them. */
				return bf_nft_fail(ctx,
						   tb[NFTA_VERDICT_CHAIN_ID],
						   -EOPNOTSUPP,
						   "unsupported %s to a chain "
						   "id",
						   bf_verdict_to_str(code));
			return bf_nft_fail(ctx, tb[NFTA_VERDICT_CODE], -EINVAL,
					   "%s without a chain",
					   bf_verdict_to_str(code));
		}
		len = strnlen(bf_nla_data(tb[NFTA_VERDICT_CHAIN]),
			      bf_nla_len(tb[NFTA_VERDICT_CHAIN]));
		if (!len)
			return bf_nft_fail(ctx, tb[NFTA_VERDICT_CHAIN], -EINVAL,
					   "%s to an empty chain name",
					   bf_verdict_to_str(code));
		/* The policy keeps len below BF_NAME_MAX. */
		memcpy(chain, bf_nla_data(tb[NFTA_VERDICT_CHAIN]), len);
	}

	*expr = bf_expr_verdict(code, chain[0] ? chain : NULL);

	return 0;
}

static int _bf_immediate_parse(const struct bf_nft_pctx *ctx,
			       const struct nlattr *const *tb,
			       struct bf_expr *expr)
{
	const struct nlattr *dtb[NFTA_DATA_MAX + 1];
	const struct nlattr *bad;
	struct bf_data data;
	uint8_t dreg;
	int r;

	if (!tb[NFTA_IMMEDIATE_DREG])
		return bf_nft_fail_missing(ctx, "NFTA_IMMEDIATE_DREG");
	if (!tb[NFTA_IMMEDIATE_DATA])
		return bf_nft_fail_missing(ctx, "NFTA_IMMEDIATE_DATA");

	if (bf_nla_get_be32(tb[NFTA_IMMEDIATE_DREG]) != NFT_REG_VERDICT) {
		r = bf_nft_parse_value(ctx, tb[NFTA_IMMEDIATE_DATA], &data);
		if (r)
			return r;
		r = bf_nft_parse_reg(ctx, tb[NFTA_IMMEDIATE_DREG], data.len,
				     &dreg);
		if (r)
			return r;

		*expr = bf_expr_immediate(dreg, &data);
		return 0;
	}

	bad = tb[NFTA_IMMEDIATE_DATA];
	r = bf_nla_parse_nested(tb[NFTA_IMMEDIATE_DATA], _bf_data_policy,
				NFTA_DATA_MAX, dtb, &bad);
	if (r)
		return bf_nft_fail(ctx, bad, r, "malformed data attribute");
	if (dtb[NFTA_DATA_VALUE] || !dtb[NFTA_DATA_VERDICT])
		return bf_nft_fail(ctx, tb[NFTA_IMMEDIATE_DATA], -EINVAL,
				   "the verdict register takes a verdict");

	return bf_nft_parse_verdict(ctx, dtb[NFTA_DATA_VERDICT], expr);
}

int32_t bf_nft_verdict_code(enum bf_verdict code)
{
	return (unsigned int)code < _BF_VERDICT_MAX ? _bf_verdict_to_nft[code] :
						      NFT_BREAK;
}

static int _bf_immediate_dump(struct bf_nlb *b, const struct bf_expr *expr,
			      const uint64_t counter[2])
{
	struct nlattr *data, *verdict;
	enum bf_verdict code;

	if (expr->type == BF_EXPR_IMMEDIATE) {
		bf_nlb_put_be32(b, NFTA_IMMEDIATE_DREG,
				bf_nft_reg_to_nft(expr->immediate.dreg));
		bf_nft_dump_value(b, NFTA_IMMEDIATE_DATA, &expr->immediate.data);
		return 0;
	}

	code = expr->verdict.code;
	if ((unsigned int)code >= _BF_VERDICT_MAX)
		return -EINVAL;

	bf_nlb_put_be32(b, NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
	data = bf_nlb_nest_start(b, NFTA_IMMEDIATE_DATA);
	verdict = bf_nlb_nest_start(b, NFTA_DATA_VERDICT);
	bf_nlb_put_be32(b, NFTA_VERDICT_CODE,
			(uint32_t)_bf_verdict_to_nft[code]);
	if (code == BF_VERDICT_JUMP || code == BF_VERDICT_GOTO) {
		if (strnlen(expr->verdict.chain, BF_NAME_MAX) == BF_NAME_MAX)
			return -EINVAL;
		bf_nlb_put_strz(b, NFTA_VERDICT_CHAIN, expr->verdict.chain);
	}
	bf_nlb_nest_end(b, verdict);
	bf_nlb_nest_end(b, data);

	return 0;
}

const struct bf_nft_expr_ops bf_nft_immediate_ops = {
	.name = "immediate",
	.policy = _bf_immediate_policy,
	.max_attr = NFTA_IMMEDIATE_DATA,
	.parse = _bf_immediate_parse,
	.dump = _bf_immediate_dump,
};
