/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libFuzzer target for the nftables front-end's message handling
 * (nfnl/nft_msg.c, nft_obj.c, nft_dump.c, nft_world.c, expr*.c): what an
 * untrusted client's netlink datagrams reach in the daemon. The input is a
 * sequence of datagrams, each prefixed by its length (u16, little
 * endian), handled in order against one fresh nftables world, so batches
 * can create what later requests dump. The transport is stubbed here: every
 * reply must be a well-formed netlink datagram (checked). Commits go to
 * the real ruleset core (daemon/ruleset.c) in dry-run mode: programs are
 * generated, never loaded or attached.
 */
#include <linux/netlink.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/netns.h"
#include "daemon/ruleset.h"
#include "nfnl/nft.h"
#include "nfnl/transport.h"

struct bf_nfnl_conn {
	struct bf_peer peer;
};

bf_nfnl_handler_fn bf_nfnl_handler;

/* A reply must be whole netlink messages, nothing more, nothing less. */
static void _bf_check_datagram(const void *buf, size_t len)
{
	const struct nlmsghdr *nlh = buf;
	size_t left = len;

	if (len > (1u << 20))
		abort();
	while (left) {
		if (left < sizeof(*nlh) || nlh->nlmsg_len < sizeof(*nlh) ||
		    nlh->nlmsg_len > left)
			abort();
		if (NLMSG_ALIGN(nlh->nlmsg_len) >= left)
			break;
		left -= NLMSG_ALIGN(nlh->nlmsg_len);
		nlh = (const struct nlmsghdr *)((const uint8_t *)nlh +
						NLMSG_ALIGN(nlh->nlmsg_len));
	}
}

int bf_nfnl_reply(struct bf_nfnl_conn *conn, const void *datagram, size_t len)
{
	(void)conn;
	_bf_check_datagram(datagram, len);
	return 0;
}

int bf_nfnl_ack(struct bf_nfnl_conn *conn, const struct nlmsghdr *req, int err,
		const struct bf_nfnl_extack *ext)
{
	(void)conn;
	(void)ext;
	if (err > 0 || err < -4095 || !req)
		abort();
	return 0;
}

int bf_nfnl_broadcast(struct bf_netns_ctx *ctx, uint32_t group,
		      const void *datagram, size_t len, uint32_t exclude)
{
	(void)ctx;
	(void)group;
	(void)exclude;
	_bf_check_datagram(datagram, len);
	return 0;
}

const struct bf_peer *bf_nfnl_conn_peer(const struct bf_nfnl_conn *conn)
{
	return &conn->peer;
}

uint32_t bf_nfnl_conn_portid(const struct bf_nfnl_conn *conn)
{
	(void)conn;
	return 4242;
}

uint32_t bf_nfnl_conn_nlflags(const struct bf_nfnl_conn *conn)
{
	(void)conn;
	return 0;
}

bool bf_nfnl_conn_in_group(const struct bf_nfnl_conn *conn, uint32_t group)
{
	(void)conn;
	(void)group;
	return false;
}

int bf_nfnl_handler_default(struct bf_nfnl_conn *conn, const void *buf,
			    size_t len)
{
	(void)conn;
	(void)buf;
	(void)len;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bf_netns_ctx *ctx = calloc(1, sizeof(*ctx));
	struct bf_nfnl_conn conn = {};

	if (!ctx)
		return 0;
	bf_nft_setup();
	bf_ruleset_set_dry_run(true);
	ctx->refcnt = 1;
	conn.peer.pid = getpid();
	conn.peer.ctx = ctx;

	while (size >= 2) {
		size_t n = (size_t)data[0] | (size_t)data[1] << 8;
		uint8_t *dgram;

		data += 2;
		size -= 2;
		if (n > size)
			n = size;
		/* Exactly sized, so ASan sees any read past the end. */
		dgram = malloc(n ? n : 1);
		if (!dgram)
			break;
		memcpy(dgram, data, n);
		bf_nfnl_handler(&conn, dgram, n);
		free(dgram);
		data += n;
		size -= n;
	}

	if (ctx->front[BF_FRONT_NFT])
		bf_netns_fronts[BF_FRONT_NFT].free(ctx->front[BF_FRONT_NFT]);
	free(ctx);
	return 0;
}
