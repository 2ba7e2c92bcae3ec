/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Batch messages on nftables objects: the dispatch of NEW and DEL messages
 * to the table (nft_table.c), chain (nft_chain.c) and rule (nft_rule.c)
 * handlers, one file per object as libnftnl has them, and what they share:
 * failure reporting, user data, monitor events, table lookup. The checks,
 * error codes and offending attributes are those of
 * nf_tables_{new,del}{table,chain,rule}() (6.18), applied to the
 * transaction's copy of the world.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpfilter/helpers.h>

#include "nfnl/expr.h"
#include "nfnl/nft.h"
#include "nfnl/nft_obj.h"

int bf_nft_op_fail(struct bf_nft_op *op, const struct nlattr *bad, int err,
		    const char *fmt, ...)
{
	va_list ap;

	op->bad = bad;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(op->msg, sizeof(op->msg), fmt, ap);
		va_end(ap);
	}

	return err;
}

const char *bf_nft_family_str(int family)
{
	switch (family) {
	case NFPROTO_INET: return "inet";
	case NFPROTO_IPV4: return "ip";
	case NFPROTO_ARP: return "arp";
	case NFPROTO_NETDEV: return "netdev";
	case NFPROTO_BRIDGE: return "bridge";
	case NFPROTO_IPV6: return "ip6";
	default: return "unknown";
	}
}

int bf_nft_check_family(struct bf_nft_op *op)
{
	switch (op->family) {
	case NFPROTO_INET:
	case NFPROTO_IPV4:
	case NFPROTO_IPV6:
	case NFPROTO_NETDEV:
		return 0;
	case NFPROTO_ARP:
	case NFPROTO_BRIDGE:
		return bf_nft_op_fail(op, NULL, -EOPNOTSUPP,
				"bpfilter does not support the %s family",
				bf_nft_family_str(op->family));
	default:
		return bf_nft_op_fail(op, NULL, -EAFNOSUPPORT, NULL);
	}
}

int bf_nft_udata(const struct nlattr *a, uint8_t **data, uint16_t *len)
{
	if (!a)
		return 0;
	*len = (uint16_t)bf_nla_len(a);
	*data = malloc(*len ? *len : 1);
	if (!*data)
		return -ENOMEM;
	memcpy(*data, bf_nla_data(a), *len);

	return 0;
}

/* Events, as nf_tables_{table,chain,rule}_notify() build them. */
int bf_nft_notify(struct bf_nft_op *op, uint16_t event,
		      const struct bf_nft_table *t,
		      const struct bf_nft_chain *c, size_t idx)
{
	const struct nlmsghdr *nlh = op->nlh;
	uint16_t flags = nlh->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL);
	size_t size = 1 << 16;
	_cleanup_free_ uint8_t *buf = malloc(size);
	struct nlmsghdr *out = (struct nlmsghdr *)buf;
	uint32_t genid = op->txn->old->genid + 1;
	int r;

	if (!buf)
		return -ENOMEM;
	if (!genid)
		genid = 1;

	if (!c) {
		r = bf_nft_fill_table(out, size, event, flags, op->txn->portid,
				      nlh->nlmsg_seq, genid, t);
	} else if (idx == SIZE_MAX) {
		r = bf_nft_fill_chain(out, size, event, flags, op->txn->portid,
				      nlh->nlmsg_seq, genid, t, c);
	} else {
		if (nlh->nlmsg_flags & (NLM_F_APPEND | NLM_F_REPLACE))
			flags |= NLM_F_APPEND;
		r = bf_nft_fill_rule(out, size, event, flags, op->txn->portid,
				     nlh->nlmsg_seq, genid, t, c, idx, false);
	}
	if (r)
		return r;

	return bf_nft_txn_event(op->txn, buf, out->nlmsg_len,
				nlh->nlmsg_flags & NLM_F_ECHO);
}

struct bf_nft_table *bf_nft_op_table(struct bf_nft_op *op,
					     const struct nlattr *name,
					     int *err)
{
	char buf[BF_NFT_NAME_MAX];
	struct bf_nft_table *t;

	if (!name) {
		*err = bf_nft_op_fail(op, NULL, -EINVAL, NULL);
		return NULL;
	}
	if (bf_nft_attr_str(name, buf, sizeof(buf)) ||
	    !(t = bf_nft_table_find(op->txn->w, op->family, buf))) {
		*err = bf_nft_op_fail(op, name, -ENOENT, NULL);
		return NULL;
	}

	return t;
}

int bf_nft_obj_msg(struct bf_nft_op *op)
{
	const struct nlattr *tb[NFTA_RULE_MAX + NFTA_CHAIN_MAX + NFTA_SET_MAX + 1];
	const struct nlattr *bad = NULL;
	uint8_t type = op->nlh->nlmsg_type & 0xff;
	int r;

	switch (type) {
	case NFT_MSG_NEWTABLE:
	case NFT_MSG_DELTABLE:
		if (bf_nft_parse_msg(op->nlh, bf_nft_table_pol, NFTA_TABLE_MAX, tb,
				     &bad))
			return bf_nft_op_fail(op, bad, -EINVAL, NULL);
		if (type == NFT_MSG_DELTABLE)
			return bf_nft_deltable(op, tb);
		return bf_nft_newtable(op, tb);
	case NFT_MSG_NEWCHAIN:
	case NFT_MSG_DELCHAIN:
		if (bf_nft_parse_msg(op->nlh, bf_nft_chain_pol, NFTA_CHAIN_MAX, tb,
				     &bad))
			return bf_nft_op_fail(op, bad, -EINVAL, NULL);
		r = bf_nft_check_family(op);
		if (r)
			return r;
		if (type == NFT_MSG_DELCHAIN)
			return bf_nft_delchain(op, tb);
		return bf_nft_newchain(op, tb);
	case NFT_MSG_NEWRULE:
	case NFT_MSG_DELRULE:
		if (bf_nft_parse_msg(op->nlh, bf_nft_rule_pol, NFTA_RULE_MAX, tb,
				     &bad))
			return bf_nft_op_fail(op, bad, -EINVAL, NULL);
		r = bf_nft_check_family(op);
		if (r)
			return r;
		if (type == NFT_MSG_DELRULE)
			return bf_nft_delrule(op, tb);
		return bf_nft_newrule(op, tb);
	case NFT_MSG_NEWSET:
	case NFT_MSG_DELSET:
		if (bf_nft_parse_msg(op->nlh, bf_nft_set_pol, NFTA_SET_MAX, tb,
				     &bad))
			return bf_nft_op_fail(op, bad, -EINVAL, NULL);
		r = bf_nft_check_family(op);
		if (r)
			return r;
		if (type == NFT_MSG_DELSET)
			return bf_nft_delset(op, tb);
		return bf_nft_newset(op, tb);
	case NFT_MSG_NEWSETELEM:
	case NFT_MSG_DELSETELEM:
		if (bf_nft_parse_msg(op->nlh, bf_nft_setelem_list_pol,
				     NFTA_SET_ELEM_LIST_MAX, tb, &bad))
			return bf_nft_op_fail(op, bad, -EINVAL, NULL);
		r = bf_nft_check_family(op);
		if (r)
			return r;
		if (type == NFT_MSG_DELSETELEM)
			return bf_nft_delsetelem(op, tb);
		return bf_nft_newsetelem(op, tb);
	case NFT_MSG_NEWOBJ:
	case NFT_MSG_DELOBJ:
		return bf_nft_op_fail(op, NULL, -EOPNOTSUPP,
				"bpfilter does not support stateful objects yet");
	case NFT_MSG_NEWFLOWTABLE:
	case NFT_MSG_DELFLOWTABLE:
		return bf_nft_op_fail(op, NULL, -EOPNOTSUPP,
				"bpfilter does not support flowtables");
	default:
		return bf_nft_op_fail(op, NULL, -EOPNOTSUPP, NULL);
	}
}
