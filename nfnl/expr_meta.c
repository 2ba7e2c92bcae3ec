/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * meta: load packet metadata (the keys of enum bf_meta_key), and set the
 * mark or the priority (NFTA_META_SREG) in netdev tables, whose chains
 * run at TC. At netfilter hooks (ip, ip6, inet tables) meta set is
 * refused: a BPF netfilter program cannot write the skb (see
 * Documentation/nft-expressions.md, "meta set").
 */
#include <errno.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <bpfilter/helpers.h>

#include "nfnl/expr.h"

static const struct bf_nla_policy _bf_meta_policy[] = {
	[NFTA_META_DREG] = { .type = BF_NLA_U32 },
	[NFTA_META_KEY] = { .type = BF_NLA_U32 },
	[NFTA_META_SREG] = { .type = BF_NLA_U32 },
};

static const uint32_t _bf_key_to_nft[] = {
	[BF_META_LEN] = NFT_META_LEN,
	[BF_META_PROTOCOL] = NFT_META_PROTOCOL,
	[BF_META_NFPROTO] = NFT_META_NFPROTO,
	[BF_META_L4PROTO] = NFT_META_L4PROTO,
	[BF_META_MARK] = NFT_META_MARK,
	[BF_META_IIF] = NFT_META_IIF,
	[BF_META_OIF] = NFT_META_OIF,
	[BF_META_IIFNAME] = NFT_META_IIFNAME,
	[BF_META_OIFNAME] = NFT_META_OIFNAME,
	[BF_META_IIFTYPE] = NFT_META_IIFTYPE,
	[BF_META_OIFTYPE] = NFT_META_OIFTYPE,
	[BF_META_PKTTYPE] = NFT_META_PKTTYPE,
	[BF_META_SKUID] = NFT_META_SKUID,
	[BF_META_SKGID] = NFT_META_SKGID,
	[BF_META_PRIORITY] = NFT_META_PRIORITY,
};
_Static_assert(ARRAY_SIZE(_bf_key_to_nft) == _BF_META_MAX,
	       "meta keys out of sync");

/* nft's names for the keys the IR lacks, for messages. */
static const char *const _bf_nft_key_strs[] = {
	[NFT_META_NFTRACE] = "nftrace",
	[NFT_META_RTCLASSID] = "rtclassid",
	[NFT_META_SECMARK] = "secmark",
	[NFT_META_BRI_IIFNAME] = "ibrname",
	[NFT_META_BRI_OIFNAME] = "obrname",
	[NFT_META_CPU] = "cpu",
	[NFT_META_IIFGROUP] = "iifgroup",
	[NFT_META_OIFGROUP] = "oifgroup",
	[NFT_META_CGROUP] = "cgroup",
	[NFT_META_PRANDOM] = "random",
	[NFT_META_SECPATH] = "ipsec",
	[NFT_META_IIFKIND] = "iifkind",
	[NFT_META_OIFKIND] = "oifkind",
	[NFT_META_BRI_IIFPVID] = "ibrpvid",
	[NFT_META_BRI_IIFVPROTO] = "ibrvproto",
	[NFT_META_TIME_NS] = "time",
	[NFT_META_TIME_DAY] = "day",
	[NFT_META_TIME_HOUR] = "hour",
	[NFT_META_SDIF] = "sdif",
	[NFT_META_SDIFNAME] = "sdifname",
	[NFT_META_BRI_BROUTE] = "broute",
};

static const char *_bf_nft_key_str(uint32_t nkey)
{
	for (unsigned int k = 0; k < _BF_META_MAX; k++) {
		if (_bf_key_to_nft[k] == nkey)
			return bf_meta_key_to_str((enum bf_meta_key)k);
	}
	if (nkey < ARRAY_SIZE(_bf_nft_key_strs) && _bf_nft_key_strs[nkey])
		return _bf_nft_key_strs[nkey];
	return NULL;
}

/* meta set (nft_meta_set_init()): mark and priority, 4 bytes. */
static int _bf_meta_set_parse(const struct bf_nft_pctx *ctx,
			      const struct nlattr *const *tb,
			      struct bf_expr *expr)
{
	uint32_t nkey = bf_nla_get_be32(tb[NFTA_META_KEY]);
	const char *name = _bf_nft_key_str(nkey);
	enum bf_meta_key key;
	uint8_t sreg;
	int r;

	if (nkey == NFT_META_MARK) {
		key = BF_META_MARK;
	} else if (nkey == NFT_META_PRIORITY) {
		key = BF_META_PRIORITY;
	} else if (name) {
		return bf_nft_fail(ctx, tb[NFTA_META_KEY], -EOPNOTSUPP,
				   "unsupported expression 'meta' (meta %s set)", name);
	} else {
		return bf_nft_fail(ctx, tb[NFTA_META_KEY], -EOPNOTSUPP,
				   "unsupported expression 'meta' (meta %u set)", nkey);
	}
	if (ctx->family != NFPROTO_NETDEV)
		return bf_nft_fail(ctx, NULL, -EOPNOTSUPP,
				   "unsupported expression 'meta' (meta set) at netfilter hooks: "
				   "BPF netfilter programs cannot write skb->%s",
				   name);

	r = bf_nft_parse_reg(ctx, tb[NFTA_META_SREG], 4, &sreg);
	if (r)
		return r;

	*expr = bf_expr_meta_set(key, sreg);

	return 0;
}

static int _bf_meta_parse(const struct bf_nft_pctx *ctx,
			  const struct nlattr *const *tb, struct bf_expr *expr)
{
	enum bf_meta_key key = _BF_META_MAX;
	uint32_t nkey;
	uint8_t dreg;
	int r;

	if (!tb[NFTA_META_KEY])
		return bf_nft_fail_missing(ctx, "NFTA_META_KEY");
	if (tb[NFTA_META_SREG] && tb[NFTA_META_DREG])
		return bf_nft_fail(ctx, tb[NFTA_META_SREG], -EINVAL,
				   "meta: both NFTA_META_SREG and NFTA_META_DREG");
	if (tb[NFTA_META_SREG])
		return _bf_meta_set_parse(ctx, tb, expr);
	if (!tb[NFTA_META_DREG])
		return bf_nft_fail_missing(ctx, "NFTA_META_DREG");

	nkey = bf_nla_get_be32(tb[NFTA_META_KEY]);
	for (unsigned int k = 0; k < _BF_META_MAX; k++) {
		if (_bf_key_to_nft[k] == nkey) {
			key = (enum bf_meta_key)k;
			break;
		}
	}
	if (key == _BF_META_MAX) {
		if (nkey < ARRAY_SIZE(_bf_nft_key_strs) &&
		    _bf_nft_key_strs[nkey])
			return bf_nft_fail(ctx, tb[NFTA_META_KEY], -EOPNOTSUPP,
					   "unsupported meta key '%s'",
					   _bf_nft_key_strs[nkey]);
		return bf_nft_fail(ctx, tb[NFTA_META_KEY], -EOPNOTSUPP,
				   "unsupported meta key %u", nkey);
	}

	r = bf_nft_parse_reg(ctx, tb[NFTA_META_DREG], bf_meta_key_len(key),
			     &dreg);
	if (r)
		return r;

	*expr = bf_expr_meta(key, dreg);

	return 0;
}

static int _bf_meta_dump(struct bf_nlb *b, const struct bf_expr *expr,
			 const uint64_t counter[2])
{
	if (expr->type == BF_EXPR_META_SET) {
		if ((unsigned int)expr->meta_set.key >= _BF_META_MAX)
			return -EINVAL;
		/* nft_meta_set_dump(): the key, then the source. */
		bf_nlb_put_be32(b, NFTA_META_KEY, _bf_key_to_nft[expr->meta_set.key]);
		bf_nlb_put_be32(b, NFTA_META_SREG,
				bf_nft_reg_to_nft(expr->meta_set.sreg));
		return 0;
	}
	if ((unsigned int)expr->meta.key >= _BF_META_MAX)
		return -EINVAL;

	/* The kernel dumps the key first. */
	bf_nlb_put_be32(b, NFTA_META_KEY, _bf_key_to_nft[expr->meta.key]);
	bf_nlb_put_be32(b, NFTA_META_DREG, bf_nft_reg_to_nft(expr->meta.dreg));

	return 0;
}

const struct bf_nft_expr_ops bf_nft_meta_ops = {
	.name = "meta",
	.policy = _bf_meta_policy,
	.max_attr = NFTA_META_SREG,
	.parse = _bf_meta_parse,
	.dump = _bf_meta_dump,
};
