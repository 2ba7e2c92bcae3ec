/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * nft_capture: dump the rules of the current network namespace from the
 * kernel (NFT_MSG_GETRULE, NLM_F_DUMP) and print each rule's
 * NFTA_RULE_EXPRESSIONS attribute, header included, as a C byte array.
 * Used to record what the kernel dumps for the golden data of
 * selftests/unit/nft_expr_corpus_*.c. Run it in a scratch netns only:
 *
 *   ip netns add x; ip netns exec x nft -f rules.nft
 *   ip netns exec x build/tools/nft_capture; ip netns del x
 *
 * Plain sockets, no libmnl, so that it links like the other tools.
 * Exit: 0 ok, 1 failure.
 */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#define _BF_BUF_SIZE 65536

static void _bf_print_bytes(const void *data, size_t len)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < len; i++) {
		printf("%s0x%02x,", i % 12 ? " " : "\n\t", p[i]);
	}
	printf("\n");
}

static void _bf_print_rule(const struct nlmsghdr *nlh)
{
	const struct nfgenmsg *nfg = NLMSG_DATA(nlh);
	const struct nlattr *attr = (const void *)((const char *)nfg +
						   NLMSG_ALIGN(sizeof(*nfg)));
	int rem = (int)nlh->nlmsg_len -
		  (int)((const char *)attr - (const char *)nlh);
	const char *table = "?", *chain = "?";
	const struct nlattr *exprs = NULL;
	uint64_t handle = 0;

	while (rem >= (int)sizeof(*attr) && attr->nla_len >= sizeof(*attr) &&
	       attr->nla_len <= rem) {
		const void *pl = (const char *)attr + NLA_HDRLEN;

		switch (attr->nla_type & NLA_TYPE_MASK) {
		case NFTA_RULE_TABLE:
			table = pl;
			break;
		case NFTA_RULE_CHAIN:
			chain = pl;
			break;
		case NFTA_RULE_HANDLE:
			memcpy(&handle, pl, sizeof(handle));
			handle = be64toh(handle);
			break;
		case NFTA_RULE_EXPRESSIONS:
			exprs = attr;
			break;
		}
		rem -= NLA_ALIGN(attr->nla_len);
		attr = (const void *)((const char *)attr +
				      NLA_ALIGN(attr->nla_len));
	}

	printf("/* family %u table %s chain %s handle %" PRIu64 " */",
	       nfg->nfgen_family, table, chain, handle);
	if (exprs)
		_bf_print_bytes(exprs, exprs->nla_len);
	else
		printf("\n/* no expressions */\n");
}

int main(void)
{
	static char buf[_BF_BUF_SIZE];
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct {
		struct nlmsghdr nlh;
		struct nfgenmsg nfg;
	} req = {
		.nlh = {
			.nlmsg_len = sizeof(req),
			.nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) |
				      NFT_MSG_GETRULE,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
			.nlmsg_seq = 1,
		},
		.nfg = { .nfgen_family = AF_UNSPEC, .version = NFNETLINK_V0 },
	};
	int fd;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&sa,
		   sizeof(sa)) < 0) {
		perror("sendto");
		close(fd);
		return 1;
	}

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *nlh = (struct nlmsghdr *)buf;

		if (n < 0) {
			perror("recv");
			close(fd);
			return 1;
		}
		for (; NLMSG_OK(nlh, n); nlh = NLMSG_NEXT(nlh, n)) {
			if (nlh->nlmsg_type == NLMSG_DONE) {
				close(fd);
				return 0;
			}
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nlh);

				fprintf(stderr, "dump failed: %s\n",
					strerror(-e->error));
				close(fd);
				return 1;
			}
			_bf_print_rule(nlh);
		}
	}
}
