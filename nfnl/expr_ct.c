/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ct: conntrack loads (NFTA_CT_DREG, NFTA_CT_KEY, NFTA_CT_DIRECTION), the
 * keys of enum bf_ct_key, checked as nft_ct_get_init() checks them. ct set
 * (NFTA_CT_SREG) and the other keys are refused; netdev tables get the
 * kernel's EPROTO.
 */
#include <errno.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <bpfilter/helpers.h>

#include "nfnl/expr.h"

static const struct bf_nla_policy _bf_ct_policy[] = {
	[NFTA_CT_DREG] = { .type = BF_NLA_U32 },
	[NFTA_CT_KEY] = { .type = BF_NLA_U32 },
	[NFTA_CT_DIRECTION] = { .type = BF_NLA_U8 },
	[NFTA_CT_SREG] = { .type = BF_NLA_U32 },
};

static const uint32_t _bf_key_to_nft[] = {
	[BF_CT_STATE] = NFT_CT_STATE,
	[BF_CT_DIRECTION] = NFT_CT_DIRECTION,
	[BF_CT_STATUS] = NFT_CT_STATUS,
	[BF_CT_MARK] = NFT_CT_MARK,
	[BF_CT_EXPIRATION] = NFT_CT_EXPIRATION,
	[BF_CT_L3PROTO] = NFT_CT_L3PROTOCOL,
	[BF_CT_PROTOCOL] = NFT_CT_PROTOCOL,
	[BF_CT_ZONE] = NFT_CT_ZONE,
	[BF_CT_SRC] = NFT_CT_SRC,
	[BF_CT_DST] = NFT_CT_DST,
	[BF_CT_PROTO_SRC] = NFT_CT_PROTO_SRC,
	[BF_CT_PROTO_DST] = NFT_CT_PROTO_DST,
	[BF_CT_SRC_IP] = NFT_CT_SRC_IP,
	[BF_CT_DST_IP] = NFT_CT_DST_IP,
	[BF_CT_SRC_IP6] = NFT_CT_SRC_IP6,
	[BF_CT_DST_IP6] = NFT_CT_DST_IP6,
};
_Static_assert(ARRAY_SIZE(_bf_key_to_nft) == _BF_CT_MAX,
	       "ct keys out of sync");

/* nft's names for the keys the IR lacks, for messages. */
static const char *const _bf_nft_key_strs[] = {
	[NFT_CT_SECMARK] = "secmark",
	[NFT_CT_HELPER] = "helper",
	[NFT_CT_LABELS] = "label",
	[NFT_CT_PKTS] = "packets",
	[NFT_CT_BYTES] = "bytes",
	[NFT_CT_AVGPKT] = "avgpkt",
	[NFT_CT_EVENTMASK] = "event",
	[NFT_CT_ID] = "id",
};

/* Which keys dump NFTA_CT_DIRECTION (nft_ct_get_dump()): the tuple keys
 * always, the zone when one was given. */
static bool _bf_ct_dumps_dir(const struct bf_expr *expr)
{
	if (expr->ct.key >= BF_CT_SRC && expr->ct.key <= BF_CT_DST_IP6)
		return true;
	return expr->ct.key == BF_CT_ZONE && expr->ct.dir != BF_CT_DIR_NONE;
}

/* In nft_ct_get_init()'s order, so that a rule wrong in several ways
 * gets the kernel's errno: the key and whether it takes a direction
 * (EINVAL), the family of saddr/daddr (EAFNOSUPPORT), the direction's
 * value (EOPNOTSUPP), the register, then nf_ct_netns_get(), which has no
 * conntrack for NFPROTO_NETDEV (EPROTO, measured). */
static int _bf_ct_parse(const struct bf_nft_pctx *ctx,
			const struct nlattr *const *tb, struct bf_expr *expr)
{
	const struct nlattr *dir_attr = tb[NFTA_CT_DIRECTION];
	enum bf_ct_key key = _BF_CT_MAX;
	uint8_t dir = BF_CT_DIR_NONE;
	unsigned int len;
	uint32_t nkey;
	uint8_t dreg;
	int r;

	if (!tb[NFTA_CT_KEY])
		return bf_nft_fail_missing(ctx, "NFTA_CT_KEY");
	if (tb[NFTA_CT_SREG])
		return bf_nft_fail(ctx, tb[NFTA_CT_SREG], -EOPNOTSUPP,
				   "unsupported expression 'ct' (ct set)");
	if (!tb[NFTA_CT_DREG])
		return bf_nft_fail_missing(ctx, "NFTA_CT_DREG");

	nkey = bf_nla_get_be32(tb[NFTA_CT_KEY]);
	for (unsigned int k = 0; k < _BF_CT_MAX; k++) {
		if (_bf_key_to_nft[k] == nkey) {
			key = (enum bf_ct_key)k;
			break;
		}
	}
	if (key == _BF_CT_MAX) {
		if (nkey < ARRAY_SIZE(_bf_nft_key_strs) && _bf_nft_key_strs[nkey])
			return bf_nft_fail(ctx, tb[NFTA_CT_KEY], -EOPNOTSUPP,
					   "unsupported ct key '%s'",
					   _bf_nft_key_strs[nkey]);
		return bf_nft_fail(ctx, tb[NFTA_CT_KEY], -EOPNOTSUPP,
				   "unsupported ct key %u", nkey);
	}

	/* Tuple keys need a direction, the per-entry keys refuse one,
	 * l3proto, protocol and zone take either. */
	if (key >= BF_CT_SRC && !dir_attr)
		return bf_nft_fail_missing(ctx, "NFTA_CT_DIRECTION");
	if (key <= BF_CT_EXPIRATION && dir_attr)
		return bf_nft_fail(ctx, dir_attr, -EINVAL,
				   "ct %s takes no direction",
				   bf_ct_key_to_str(key));
	if ((key == BF_CT_SRC || key == BF_CT_DST) &&
	    ctx->family != NFPROTO_IPV4 && ctx->family != NFPROTO_IPV6 &&
	    ctx->family != NFPROTO_INET)
		return bf_nft_fail(ctx, tb[NFTA_CT_KEY], -EAFNOSUPPORT,
				   "ct %s in a family without addresses",
				   bf_ct_key_to_str(key));
	if (dir_attr) {
		dir = bf_nla_get_u8(dir_attr);
		if (dir > BF_CT_DIR_REPLY)
			return bf_nft_fail(ctx, dir_attr, -EOPNOTSUPP,
					   "unsupported ct direction %u", dir);
	}
	/* The kernel keeps the direction of l3proto and protocol only for
	 * compatibility: it neither uses nor dumps it. */
	if (key == BF_CT_L3PROTO || key == BF_CT_PROTOCOL)
		dir = BF_CT_DIR_NONE;

	len = bf_ct_key_len(key, ctx->family == NFPROTO_IPV4 ? BF_FAMILY_IP :
							      BF_FAMILY_INET);
	r = bf_nft_parse_reg(ctx, tb[NFTA_CT_DREG], len, &dreg);
	if (r)
		return r;

	if (ctx->family == NFPROTO_NETDEV)
		return bf_nft_fail(ctx, NULL, -EPROTO,
				   "ct: no conntrack at netdev hooks (ingress, egress)");

	*expr = bf_expr_ct(key, dir, dreg, (uint8_t)len);

	return 0;
}

static int _bf_ct_dump(struct bf_nlb *b, const struct bf_expr *expr,
		       const uint64_t counter[2])
{
	if ((unsigned int)expr->ct.key >= _BF_CT_MAX)
		return -EINVAL;

	/* nft_ct_get_dump(): DREG, KEY, then the direction. */
	bf_nlb_put_be32(b, NFTA_CT_DREG, bf_nft_reg_to_nft(expr->ct.dreg));
	bf_nlb_put_be32(b, NFTA_CT_KEY, _bf_key_to_nft[expr->ct.key]);
	if (_bf_ct_dumps_dir(expr))
		bf_nlb_put_u8(b, NFTA_CT_DIRECTION, expr->ct.dir);

	return 0;
}

const struct bf_nft_expr_ops bf_nft_ct_ops = {
	.name = "ct",
	.policy = _bf_ct_policy,
	.max_attr = NFTA_CT_SREG,
	.parse = _bf_ct_parse,
	.dump = _bf_ct_dump,
};
