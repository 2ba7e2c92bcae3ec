/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * counter: packets and bytes. nft sends an empty counter (or initial
 * values, `counter packets 5 bytes 100`); the kernel always dumps both
 * values, bytes first, without NFTA_COUNTER_PAD on 64-bit hosts.
 */
#include <errno.h>

#include <linux/netfilter/nf_tables.h>

#include "nfnl/expr.h"

static const struct bf_nla_policy _bf_counter_policy[] = {
	[NFTA_COUNTER_BYTES] = { .type = BF_NLA_U64 },
	[NFTA_COUNTER_PACKETS] = { .type = BF_NLA_U64 },
	[NFTA_COUNTER_PAD] = { .type = BF_NLA_UNSPEC },
};

static int _bf_counter_parse(const struct bf_nft_pctx *ctx,
			     const struct nlattr *const *tb,
			     struct bf_expr *expr)
{
	*expr = bf_expr_counter();
	if (tb[NFTA_COUNTER_PACKETS])
		expr->counter.packets = bf_nla_get_be64(tb[NFTA_COUNTER_PACKETS]);
	if (tb[NFTA_COUNTER_BYTES])
		expr->counter.bytes = bf_nla_get_be64(tb[NFTA_COUNTER_BYTES]);

	return 0;
}

static int _bf_counter_dump(struct bf_nlb *b, const struct bf_expr *expr,
			    const uint64_t counter[2])
{
	bf_nlb_put_be64(b, NFTA_COUNTER_BYTES, counter[1]);
	bf_nlb_put_be64(b, NFTA_COUNTER_PACKETS, counter[0]);

	return 0;
}

const struct bf_nft_expr_ops bf_nft_counter_ops = {
	.name = "counter",
	.policy = _bf_counter_policy,
	.max_attr = NFTA_COUNTER_PAD,
	.parse = _bf_counter_parse,
	.dump = _bf_counter_dump,
};
