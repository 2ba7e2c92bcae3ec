/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libFuzzer target for the nftables expression parser (nfnl/expr*.c), the
 * first code to read bytes an untrusted client sends. The input is the
 * payload of an NFTA_RULE_EXPRESSIONS attribute. Besides never crashing
 * (ASan, UBSan), whatever parses must dump back and parse again to the
 * same IR.
 */
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <bpfilter/ir.h>

#include "nfnl/expr.h"

#define _BF_FUZZ_MAX 65000

static int _bf_fuzz_family(const uint8_t *data, size_t size)
{
	static const int families[] = { NFPROTO_IPV4, NFPROTO_IPV6, NFPROTO_INET,
					NFPROTO_NETDEV };

	return families[size ? data[size - 1] % 4 : 0];
}

static void _bf_check_roundtrip(const struct bf_rule *rule, int family)
{
	static uint8_t out[1 << 17];
	struct nlmsghdr *nlh = (struct nlmsghdr *)out;
	const struct nlattr *attr;
	struct bf_rule *again = NULL;

	memset(out, 0, sizeof(struct nlmsghdr) + sizeof(struct nfgenmsg));
	nlh->nlmsg_len = NLMSG_LENGTH(sizeof(struct nfgenmsg));
	if (bf_nft_exprs_from_ir(nlh, sizeof(out), rule, family, NULL))
		return; /* an IR nf_tables cannot express: refused, fine */

	attr = (const struct nlattr *)((const uint8_t *)nlh +
				       NLMSG_LENGTH(sizeof(struct nfgenmsg)));
	if (bf_rule_new(&again))
		return;
	if (bf_nft_exprs_to_ir(attr, family, again, NULL))
		abort(); /* our own dump must parse */
	if (again->n_exprs != rule->n_exprs ||
	    (rule->n_exprs &&
	     memcmp(again->exprs, rule->exprs, rule->n_exprs * sizeof(*rule->exprs))))
		abort(); /* and give the same IR */
	bf_rule_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bf_nft_err err;
	struct bf_rule *rule = NULL;
	struct nlattr *attr;
	int family = _bf_fuzz_family(data, size);

	if (size > _BF_FUZZ_MAX)
		size = _BF_FUZZ_MAX;

	/* An exactly sized buffer, so ASan sees any read past the end. */
	attr = malloc(NLA_HDRLEN + size);
	if (!attr)
		return 0;
	attr->nla_len = (uint16_t)(NLA_HDRLEN + size);
	attr->nla_type = NFTA_RULE_EXPRESSIONS | NLA_F_NESTED;
	memcpy((uint8_t *)attr + NLA_HDRLEN, data, size);

	if (!bf_rule_new(&rule)) {
		if (!bf_nft_exprs_to_ir(attr, family, rule, &err))
			_bf_check_roundtrip(rule, family);
		bf_rule_free(&rule);
	}
	free(attr);
	return 0;
}
