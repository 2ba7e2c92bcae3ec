/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * set_probe: set and element messages nft never sends, as raw nftables
 * batches (plain libc), one batch per case, each answered with the
 * errno and the offset of the offending attribute (extended ack):
 *
 *   set_probe TABLE   one "case NAME: errno E offset O" line per case
 *
 * Run it against the kernel and under bfexec (selftests/shell/
 * nft_set_errors.sh): the lines must be the same. The table must exist
 * with set s (ipv4_addr), map m (ipv4_addr : mark), interval set i
 * (ipv4_addr); each case is refused, so nothing changes.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif

static uint8_t _buf[8192];
static size_t _len;
static struct nlattr *_nest[8];
static int _depth;
static uint32_t _probe_seq;

static struct nlmsghdr *_msg(uint16_t type, uint16_t flags, uint32_t seq,
			     int family)
{
	struct nlmsghdr *nlh = (void *)(_buf + _len);
	struct nfgenmsg *g = (void *)(nlh + 1);

	memset(nlh, 0, NLMSG_HDRLEN + sizeof(*g));
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_len = NLMSG_HDRLEN + sizeof(*g);
	g->nfgen_family = (uint8_t)family;
	g->version = NFNETLINK_V0;
	g->res_id = htons(type == NFNL_MSG_BATCH_BEGIN ||
				  type == NFNL_MSG_BATCH_END ?
			  NFNL_SUBSYS_NFTABLES : 0);
	return nlh;
}

static struct nlmsghdr *_cur;

static void _put(uint16_t type, const void *data, size_t len)
{
	struct nlattr *a = (void *)((uint8_t *)_cur + _cur->nlmsg_len);

	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	memcpy((uint8_t *)a + NLA_HDRLEN, data, len);
	memset((uint8_t *)a + NLA_HDRLEN + len, 0, NLA_ALIGN(len) - len);
	_cur->nlmsg_len += NLA_ALIGN(NLA_HDRLEN + len);
}

static void _put32(uint16_t type, uint32_t v)
{
	v = htonl(v);
	_put(type, &v, 4);
}

static void _putstr(uint16_t type, const char *s)
{
	_put(type, s, strlen(s) + 1);
}

static void _open(uint16_t type)
{
	struct nlattr *a = (void *)((uint8_t *)_cur + _cur->nlmsg_len);

	a->nla_type = type | NLA_F_NESTED;
	_nest[_depth++] = a;
	_cur->nlmsg_len += NLA_HDRLEN;
}

static void _close(void)
{
	struct nlattr *a = _nest[--_depth];

	a->nla_len = (uint16_t)((uint8_t *)_cur + _cur->nlmsg_len - (uint8_t *)a);
}

static void _end_msg(void)
{
	_len += NLMSG_ALIGN(_cur->nlmsg_len);
}

/* A batch of one message, built by @fill. */
static void _begin(uint16_t msg, uint16_t flags, int family)
{
	_len = 0;
	_cur = _msg(NFNL_MSG_BATCH_BEGIN, 0, 1, AF_UNSPEC);
	_end_msg();
	_probe_seq = 2;
	_cur = _msg((uint16_t)(NFNL_SUBSYS_NFTABLES << 8 | msg),
		    flags | NLM_F_ACK, _probe_seq, family);
}

static void _finish(void)
{
	_end_msg();
	_cur = _msg(NFNL_MSG_BATCH_END, 0, 3, AF_UNSPEC);
	_end_msg();
}

/* Send the batch; the errno of the probe and its attribute's offset. */
static void _run(int fd, const char *name)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	uint8_t rbuf[16384];
	int err = 1, off = -1;
	ssize_t n;

	if (sendto(fd, _buf, _len, 0, (void *)&sa, sizeof(sa)) < 0) {
		printf("case %s: send failed %d\n", name, errno);
		return;
	}
	while ((n = recv(fd, rbuf, sizeof(rbuf), MSG_DONTWAIT)) > 0) {
		for (struct nlmsghdr *h = (void *)rbuf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			struct nlmsgerr *e = NLMSG_DATA(h);
			size_t at;

			if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_seq != _probe_seq)
				continue;
			err = -e->error;
			if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
				continue;
			at = NLMSG_HDRLEN + sizeof(*e) +
			     ((h->nlmsg_flags & NLM_F_CAPPED) ?
				      0 : e->msg.nlmsg_len - NLMSG_HDRLEN);
			while (at + NLA_HDRLEN <= h->nlmsg_len) {
				struct nlattr *a = (void *)((uint8_t *)h + at);

				if (a->nla_len < NLA_HDRLEN)
					break;
				if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_OFFS)
					memcpy(&off, (uint8_t *)a + NLA_HDRLEN, 4);
				at += NLA_ALIGN(a->nla_len);
			}
		}
	}
	printf("case %s: errno %d offset %d\n", name, err, off);
}

static const char *_table;

/* NEWSETELEM/DELSETELEM on @set with one element: key of @klen bytes,
 * and optional flags, data, timeout. */
static void _elem(int fd, const char *name, uint16_t msg, const char *set,
		  size_t klen, int flags, int dlen, int timeout, bool nokey)
{
	uint8_t key[64] = { 10, 0, 0, 1 }, data[64] = { 0 };

	_begin(msg, NLM_F_CREATE, 2 /* NFPROTO_IPV4 */);
	_putstr(NFTA_SET_ELEM_LIST_TABLE, _table);
	_putstr(NFTA_SET_ELEM_LIST_SET, set);
	_open(NFTA_SET_ELEM_LIST_ELEMENTS);
	_open(NFTA_LIST_ELEM);
	if (!nokey) {
		_open(NFTA_SET_ELEM_KEY);
		_put(NFTA_DATA_VALUE, key, klen);
		_close();
	}
	if (flags >= 0)
		_put32(NFTA_SET_ELEM_FLAGS, (uint32_t)flags);
	if (dlen > 0) {
		_open(NFTA_SET_ELEM_DATA);
		_put(NFTA_DATA_VALUE, data, (size_t)dlen);
		_close();
	}
	if (timeout) {
		uint64_t t = htobe64(1000);

		_put(NFTA_SET_ELEM_TIMEOUT, &t, 8);
	}
	_close();
	_close();
	_finish();
	_run(fd, name);
}

/* NEWSET @name with key length @klen (-1: none), @flags (-1: none),
 * data type (0: none), id (0: none), desc concat lengths. */
static void _set(int fd, const char *cname, const char *name, int klen,
		 int flags, uint32_t dtype, uint32_t id, const int *fields,
		 int n_fields)
{
	_begin(NFT_MSG_NEWSET, NLM_F_CREATE, 2 /* NFPROTO_IPV4 */);
	_putstr(NFTA_SET_TABLE, _table);
	_putstr(NFTA_SET_NAME, name);
	if (flags >= 0)
		_put32(NFTA_SET_FLAGS, (uint32_t)flags);
	_put32(NFTA_SET_KEY_TYPE, 7);
	if (klen >= 0)
		_put32(NFTA_SET_KEY_LEN, (uint32_t)klen);
	if (dtype) {
		_put32(NFTA_SET_DATA_TYPE, dtype);
		_put32(NFTA_SET_DATA_LEN, 4);
	}
	if (id)
		_put32(NFTA_SET_ID, id);
	if (n_fields) {
		_open(NFTA_SET_DESC);
		_open(NFTA_SET_DESC_CONCAT);
		for (int i = 0; i < n_fields; i++) {
			_open(NFTA_LIST_ELEM);
			_put32(NFTA_SET_FIELD_LEN, (uint32_t)fields[i]);
			_close();
		}
		_close();
		_close();
	}
	_finish();
	_run(fd, cname);
}

int main(int argc, char **argv)
{
	static const int bad_concat[] = { 4, 2 };
	int fd, one = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: set_probe TABLE\n");
		return 2;
	}
	_table = argv[1];
	fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));

	_elem(fd, "key of 2 bytes", NFT_MSG_NEWSETELEM, "s", 2, -1, 0, 0, false);
	_elem(fd, "key of 5 bytes", NFT_MSG_NEWSETELEM, "s", 5, -1, 0, 0, false);
	_elem(fd, "no key", NFT_MSG_NEWSETELEM, "s", 4, -1, 0, 0, true);
	_elem(fd, "data in a set", NFT_MSG_NEWSETELEM, "s", 4, -1, 4, 0, false);
	_elem(fd, "map without data", NFT_MSG_NEWSETELEM, "m", 4, -1, 0, 0, false);
	_elem(fd, "map data of 2 bytes", NFT_MSG_NEWSETELEM, "m", 4, -1, 2, 0, false);
	_elem(fd, "interval end in a set", NFT_MSG_NEWSETELEM, "s", 4,
	      NFT_SET_ELEM_INTERVAL_END, 0, 0, false);
	_elem(fd, "unknown element flag", NFT_MSG_NEWSETELEM, "s", 4, 0x10, 0,
	      0, false);
	_elem(fd, "timeout without the flag", NFT_MSG_NEWSETELEM, "s", 4, -1, 0,
	      1, false);
	_elem(fd, "unknown set", NFT_MSG_NEWSETELEM, "nosuch", 4, -1, 0, 0, false);
	_elem(fd, "delete: absent key", NFT_MSG_DELSETELEM, "s", 4, -1, 0, 0, false);
	_elem(fd, "delete: key of 3 bytes", NFT_MSG_DELSETELEM, "s", 3, -1, 0, 0,
	      false);
	_set(fd, "set without key length", "n1", -1, 0, 0, 1, NULL, 0);
	_set(fd, "set without id", "n2", 4, 0, 0, 0, NULL, 0);
	_set(fd, "key length 0", "n3", 0, 0, 0, 1, NULL, 0);
	_set(fd, "key length 65", "n4", 65, 0, 0, 1, NULL, 0);
	_set(fd, "unknown set flag", "n5", 4, 0x10000, 0, 1, NULL, 0);
	_set(fd, "map flag without data type", "n6", 4, NFT_SET_MAP, 0, 1, NULL, 0);
	_set(fd, "data type without map flag", "n7", 4, 0, 7, 1, NULL, 0);
	_set(fd, "bad name pattern", "__set%s", 4, 0, 0, 1, NULL, 0);
	_set(fd, "concat not adding up", "n8", 12, NFT_SET_CONCAT, 0, 1,
	     bad_concat, 2);
	_set(fd, "existing set, other key", "s", 8, 0, 0, 1, NULL, 0);
	close(fd);

	return 0;
}
