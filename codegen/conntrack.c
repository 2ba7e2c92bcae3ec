/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Conntrack running in a namespace while an attached program reads it.
 *
 * The kernel registers conntrack's hooks in a netns only on demand, through
 * nf_ct_netns_get(): nft_ct's init calls it when a ct expression is
 * loaded, xt_conntrack when a rule uses it. Nothing a BPF program or link
 * does calls it (BPF_F_NETFILTER_IP_DEFRAG enables defragmentation only;
 * bpf_skb_ct_lookup() looks entries up and creates none), so without it
 * skb->_nfct stays 0 and every packet is `ct state invalid`. Measured:
 * in a fresh netns no entry appears in /proc/net/nf_conntrack; with a
 * kernel nf_tables table holding a regular chain with one `ct state new`
 * rule (never evaluated: no base chain jumps to it) entries appear, and
 * they stop appearing once the table is deleted.
 *
 * So, per (netns, family) in use, the daemon holds such a table, created
 * with NFT_TABLE_F_OWNER on a netlink socket of its own in that netns:
 * the kernel deletes an owned table when its socket closes, so conntrack
 * goes when the last program that needed it goes, or with the daemon,
 * and no other process can change the table. See
 * Documentation/nft-expressions.md, "ct".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include <bpfilter/helpers.h>
#include <bpfilter/logger.h>

#include "codegen/conntrack.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

struct bf_ct_ref {
	uint64_t netns;
	int family;
	int fd;
	unsigned int refs;
	struct bf_ct_ref *next;
};

static struct bf_ct_ref *_bf_ct_refs;

struct _bf_nlbuf {
	char buf[1024];
	size_t len;
	uint32_t seq;
};

static struct nlmsghdr *_bf_msg(struct _bf_nlbuf *b, uint16_t type,
				uint16_t flags, int family, uint16_t res_id)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)(b->buf + b->len);
	struct nfgenmsg *g = (struct nfgenmsg *)NLMSG_DATA(nlh);

	memset(nlh, 0, NLMSG_LENGTH(sizeof(*g)));
	nlh->nlmsg_len = NLMSG_LENGTH(sizeof(*g));
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = b->seq++;
	g->nfgen_family = (uint8_t)family;
	g->version = NFNETLINK_V0;
	g->res_id = htons(res_id);
	return nlh;
}

static struct nlattr *_bf_attr(struct _bf_nlbuf *b, struct nlmsghdr *nlh,
			       uint16_t type, const void *data, size_t len)
{
	struct nlattr *a = (struct nlattr *)((char *)nlh + NLMSG_ALIGN(nlh->nlmsg_len));

	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	if (len)
		memcpy((char *)a + NLA_HDRLEN, data, len);
	memset((char *)a + NLA_HDRLEN + len, 0, NLA_ALIGN(len) - len);
	nlh->nlmsg_len = NLMSG_ALIGN(nlh->nlmsg_len) + NLA_ALIGN(a->nla_len);
	return a;
}

static void _bf_attr_str(struct _bf_nlbuf *b, struct nlmsghdr *nlh,
			 uint16_t type, const char *s)
{
	_bf_attr(b, nlh, type, s, strlen(s) + 1);
}

static void _bf_attr_be32(struct _bf_nlbuf *b, struct nlmsghdr *nlh,
			  uint16_t type, uint32_t v)
{
	uint32_t be = htonl(v);

	_bf_attr(b, nlh, type, &be, sizeof(be));
}

static void _bf_nest_end(struct nlmsghdr *nlh, struct nlattr *nest)
{
	nest->nla_len = (uint16_t)((char *)nlh + nlh->nlmsg_len - (char *)nest);
}

static void _bf_msg_done(struct _bf_nlbuf *b, struct nlmsghdr *nlh)
{
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
}

/* The batch: table (owned), regular chain "ct", rule `ct state`. */
static void _bf_anchor_batch(struct _bf_nlbuf *b, int family, const char *name)
{
	struct nlmsghdr *nlh;
	struct nlattr *list, *elem, *data;

	nlh = _bf_msg(b, NFNL_MSG_BATCH_BEGIN, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
	_bf_msg_done(b, nlh);

	nlh = _bf_msg(b, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE,
		      NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, family, 0);
	_bf_attr_str(b, nlh, NFTA_TABLE_NAME, name);
	_bf_attr_be32(b, nlh, NFTA_TABLE_FLAGS, NFT_TABLE_F_OWNER);
	_bf_msg_done(b, nlh);

	nlh = _bf_msg(b, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWCHAIN,
		      NLM_F_CREATE | NLM_F_ACK, family, 0);
	_bf_attr_str(b, nlh, NFTA_CHAIN_TABLE, name);
	_bf_attr_str(b, nlh, NFTA_CHAIN_NAME, "ct");
	_bf_msg_done(b, nlh);

	nlh = _bf_msg(b, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE,
		      NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK, family, 0);
	_bf_attr_str(b, nlh, NFTA_RULE_TABLE, name);
	_bf_attr_str(b, nlh, NFTA_RULE_CHAIN, "ct");
	list = _bf_attr(b, nlh, NLA_F_NESTED | NFTA_RULE_EXPRESSIONS, NULL, 0);
	elem = _bf_attr(b, nlh, NLA_F_NESTED | NFTA_LIST_ELEM, NULL, 0);
	_bf_attr_str(b, nlh, NFTA_EXPR_NAME, "ct");
	data = _bf_attr(b, nlh, NLA_F_NESTED | NFTA_EXPR_DATA, NULL, 0);
	_bf_attr_be32(b, nlh, NFTA_CT_DREG, NFT_REG_1);
	_bf_attr_be32(b, nlh, NFTA_CT_KEY, NFT_CT_STATE);
	_bf_nest_end(nlh, data);
	_bf_nest_end(nlh, elem);
	_bf_nest_end(nlh, list);
	_bf_msg_done(b, nlh);

	nlh = _bf_msg(b, NFNL_MSG_BATCH_END, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
	_bf_msg_done(b, nlh);
}

/* Send the batch and read its three acks: 0 or the first error. */
static int _bf_anchor_create(int fd, int family)
{
	struct _bf_nlbuf b = { .len = 0, .seq = 1 };
	char name[32], rbuf[8192];
	int acks = 0;

	snprintf(name, sizeof(name), "bpfilter_ct_%d", (int)getpid());
	_bf_anchor_batch(&b, family, name);
	if (send(fd, b.buf, b.len, 0) != (ssize_t)b.len)
		return -errno ?: -EIO;

	while (acks < 3) {
		ssize_t n = recv(fd, rbuf, sizeof(rbuf), 0);
		struct nlmsghdr *nlh = (struct nlmsghdr *)rbuf;
		size_t len = n > 0 ? (size_t)n : 0;

		if (n < 0)
			return -errno;
		for (; NLMSG_OK(nlh, len); nlh = NLMSG_NEXT(nlh, len)) {
			const struct nlmsgerr *e = NLMSG_DATA(nlh);

			if (nlh->nlmsg_type != NLMSG_ERROR)
				continue;
			if (e->error)
				return e->error;
			acks++;
		}
		if (!n)
			return -EIO;
	}
	return 0;
}

int bf_ct_ref_get(int family, struct bf_ct_ref **out)
{
	_cleanup_close_ int fd = -1;
	struct bf_ct_ref *ref;
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);
	struct timeval tv = { .tv_sec = 2 };
	int r;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (fd < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len))
		return -errno;

	for (ref = _bf_ct_refs; ref; ref = ref->next) {
		if (ref->netns == cookie && ref->family == family) {
			ref->refs++;
			*out = ref;
			return 0;
		}
	}

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	r = _bf_anchor_create(fd, family);
	if (r) {
		bf_dbg("conntrack: cannot turn conntrack on (family %d): %s",
		       family, strerror(-r));
		return r;
	}

	ref = calloc(1, sizeof(*ref));
	if (!ref)
		return -ENOMEM;
	ref->netns = cookie;
	ref->family = family;
	ref->fd = TAKE_FD(fd);
	ref->refs = 1;
	ref->next = _bf_ct_refs;
	_bf_ct_refs = ref;
	*out = ref;
	return 0;
}

void bf_ct_ref_put(struct bf_ct_ref **ref)
{
	struct bf_ct_ref **p;

	if (!ref || !*ref)
		return;
	if (--(*ref)->refs) {
		*ref = NULL;
		return;
	}
	for (p = &_bf_ct_refs; *p; p = &(*p)->next) {
		if (*p == *ref) {
			*p = (*ref)->next;
			break;
		}
	}
	/* Closing the socket deletes the owned table, and with it the
	 * netns' hold on conntrack. */
	close((*ref)->fd);
	free(*ref);
	*ref = NULL;
}
