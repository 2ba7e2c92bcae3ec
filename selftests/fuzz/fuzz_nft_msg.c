/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libFuzzer target for the nftables front-end: what an untrusted client's
 * netlink datagrams reach in the daemon. The input is a sequence of
 * datagrams, each prefixed by its length (u16, little endian), handled in
 * order against one fresh netns context, so batches can create what later
 * requests dump.
 *
 * Nothing of the daemon is stubbed: the datagrams enter through the
 * front-end interface (bf_nft_front.open with NL_OPEN, .frame with NL_SEND,
 * daemon/front.h) on a real connection (daemon/client.c) over a
 * socketpair, the nft front-end and the netlink transport handle them, and
 * commits go to the real ruleset core (daemon/ruleset.c) in dry-run mode:
 * programs are generated, never loaded or attached, no namespace is
 * entered. Every frame the connection sends back is checked: replies and
 * monitor events (the connection joins the nftables group) are whole
 * netlink messages, NLMSG_ERROR codes are 0 or negative errnos.
 */
#include <errno.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpfilter/logger.h>

#include "daemon/client.h"
#include "daemon/front.h"
#include "daemon/netns.h"
#include "daemon/ruleset.h"

static struct bf_opts _bf_opts = {
	.transient = true,
	.fronts = BF_FRONT_ALL,
};

/* A datagram must be whole netlink messages, nothing more, nothing less. */
static void _bf_check_datagram(const uint8_t *buf, size_t len)
{
	const struct nlmsghdr *nlh = (const void *)buf;
	size_t left = len;

	if (len > (1u << 20))
		abort();
	while (left) {
		if (left < sizeof(*nlh) || nlh->nlmsg_len < sizeof(*nlh) ||
		    nlh->nlmsg_len > left)
			abort();
		if (nlh->nlmsg_type == NLMSG_ERROR) {
			struct nlmsgerr e;

			if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(e))
				abort();
			memcpy(&e, NLMSG_DATA(nlh), sizeof(e));
			if (e.error > 0 || e.error < -4095)
				abort();
		}
		if (NLMSG_ALIGN(nlh->nlmsg_len) >= left)
			break;
		left -= NLMSG_ALIGN(nlh->nlmsg_len);
		nlh = (const void *)((const uint8_t *)nlh +
				     NLMSG_ALIGN(nlh->nlmsg_len));
	}
}

/* Check the frames in @buf[0..@len); returns the bytes of whole frames. */
static size_t _bf_check_frames(const uint8_t *buf, size_t len)
{
	size_t off = 0;

	while (len - off >= BF_FRAME_HDR_LEN) {
		struct bf_frame_hdr hdr;
		const uint8_t *p = buf + off + BF_FRAME_HDR_LEN;
		size_t plen;

		memcpy(&hdr, buf + off, sizeof(hdr));
		if (hdr.len < BF_FRAME_HDR_LEN || !(hdr.flags & BF_FRAME_F_REPLY))
			abort();
		if (hdr.len > len - off)
			break;
		plen = hdr.len - BF_FRAME_HDR_LEN;
		switch (hdr.type) {
		case BF_MSG_NL_RECV:
			if (hdr.flags & BF_FRAME_F_MORE)
				abort(); /* no reply of a fuzz input is 64 MiB */
			_bf_check_datagram(p, plen);
			break;
		case BF_MSG_NL_EVENT:
			if (plen < sizeof(struct bf_nl_event))
				abort();
			_bf_check_datagram(p + sizeof(struct bf_nl_event),
					   plen - sizeof(struct bf_nl_event));
			break;
		case BF_MSG_NL_DONE:
		case BF_MSG_NL_OPEN:
			break;
		default:
			/* An error frame: a datagram the transport refused. */
			if (hdr.type != BF_MSG_ERROR)
				abort();
		}
		off += hdr.len;
	}

	return off;
}

/* What the connection sent, in order: what reached the socket (written by
 * a kick), then what is still queued. */
static void _bf_drain(struct bf_client *c, int peer, uint8_t **acc,
		      size_t *acc_len)
{
	size_t queued = c->out_len - c->out_off;
	uint8_t chunk[65536];
	ssize_t n;
	size_t used;

	while ((n = recv(peer, chunk, sizeof(chunk), MSG_DONTWAIT)) > 0 ||
	       queued) {
		const uint8_t *src = chunk;
		size_t len = (size_t)n;
		uint8_t *p;

		if (n <= 0) {
			src = c->out + c->out_off;
			len = queued;
			queued = 0;
			c->out_off = c->out_len = 0;
		}
		p = realloc(*acc, *acc_len + len);
		if (!p)
			abort();
		memcpy(p + *acc_len, src, len);
		*acc = p;
		*acc_len += len;
	}
	used = _bf_check_frames(*acc, *acc_len);
	memmove(*acc, *acc + used, *acc_len - used);
	*acc_len -= used;
}

static int _bf_request(struct bf_client *c, uint16_t type, const void *head,
		       size_t hlen, const void *data, size_t len)
{
	struct bf_frame_hdr hdr = {
		.len = (uint32_t)(BF_FRAME_HDR_LEN + hlen + len),
		.type = type,
	};
	uint8_t *payload = malloc(hlen + len ? hlen + len : 1);
	int r;

	if (!payload)
		return -ENOMEM;
	memcpy(payload, head, hlen);
	if (len)
		memcpy(payload + hlen, data, len);
	/* Exactly sized, so ASan sees any read past the end. */
	if (type == bf_nft_front.open_type)
		r = bf_nft_front.open(c, &hdr, payload);
	else
		r = bf_nft_front.frame(c, &hdr, payload);
	free(payload);

	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool once;
	struct bf_netns_registry *reg = NULL;
	struct bf_netns_ctx *ctx = NULL;
	struct bf_client *c = NULL;
	struct bf_nl_open open_req = {
		.protocol = NETLINK_NETFILTER,
		.pid = (uint32_t)getpid(),
	};
	struct bf_nl_group group = { .group = NFNLGRP_NFTABLES, .add = 1 };
	struct bf_nl_send head = { .nlflags = BF_NL_F_EXT_ACK };
	uint8_t *acc = NULL;
	size_t acc_len = 0;
	int sv[2], epfd;

	if (!once) {
		bf_log_set_level(BF_LOG_ERR);
		if (bf_front_register(&bf_nft_front))
			abort();
		bf_ruleset_set_dry_run(true);
		once = true;
	}

	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
					    SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	if (bf_netns_registry_new(&reg) ||
	    bf_netns_ctx_acquire(reg, 0, 1, 1, -1, &ctx) ||
	    bf_client_new(&c, sv[0], epfd, &_bf_opts, 1) ||
	    bf_client_watch(c))
		abort();
	c->peer.pid = getpid();
	c->peer.ctx = ctx;
	++ctx->nclients;

	if (_bf_request(c, BF_MSG_NL_OPEN, &open_req, sizeof(open_req), NULL, 0) ||
	    _bf_request(c, BF_MSG_NL_GROUP, &group, sizeof(group), NULL, 0))
		abort();
	_bf_drain(c, sv[1], &acc, &acc_len);

	while (size >= 2) {
		size_t n = (size_t)data[0] | (size_t)data[1] << 8;

		data += 2;
		size -= 2;
		if (n > size)
			n = size;
		if (_bf_request(c, BF_MSG_NL_SEND, &head, sizeof(head), data, n))
			abort();
		_bf_drain(c, sv[1], &acc, &acc_len);
		data += n;
		size -= n;
	}

	--ctx->nclients;
	bf_netns_ctx_release(reg, &c->peer.ctx);
	bf_client_free(&c);
	bf_netns_registry_free(&reg);
	close(sv[1]);
	close(epfd);
	free(acc);

	return 0;
}
