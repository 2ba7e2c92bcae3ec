/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Request dispatch. Each message type has one handler; types without one
 * are answered -EOPNOTSUPP and the connection stays open, as framing is
 * intact. The nftables, iptables and bfcli front-ends plug in here.
 */
#include <errno.h>
#include <string.h>

#include <bpfilter/helpers.h>
#include <bpfilter/logger.h>

#include "daemon/netns.h"
#include "daemon/request.h"

typedef int (*bf_request_fn)(struct bf_client *c, const struct bf_opts *opts,
			     const struct bf_frame_hdr *hdr,
			     const void *payload);

static int _bf_request_hello(struct bf_client *c, const struct bf_opts *opts,
			     const struct bf_frame_hdr *hdr,
			     const void *payload)
{
	const struct bf_peer *peer = bf_client_peer(c);
	struct bf_msg_hello hello = {
		.proto = BF_PROTO_VERSION,
		.fronts = opts->fronts,
		.netns_ino = peer->ctx->ino,
		.netns_dev = peer->ctx->dev,
		.netns_ctx_id = peer->ctx->id,
		.netns_clients = peer->ctx->nclients,
		.peer_pid = (uint32_t)peer->pid,
		.peer_uid = peer->uid,
		.peer_gid = peer->gid,
		.transient = opts->transient,
	};

	(void)payload;

	if (hdr->len != BF_FRAME_HDR_LEN) {
		return bf_client_send_error(c, -EINVAL, hdr->type,
					    "HELLO takes no payload, got %u bytes",
					    hdr->len - BF_FRAME_HDR_LEN);
	}

	static_assert(sizeof(BF_VERSION) <= sizeof(hello.version),
		      "BF_VERSION does not fit in the HELLO reply");
	strcpy(hello.version, BF_VERSION);

	return bf_client_send(c, BF_MSG_HELLO, &hello, sizeof(hello));
}

static const bf_request_fn _bf_request_handlers[_BF_MSG_MAX] = {
	[BF_MSG_HELLO] = _bf_request_hello,
};

int bf_request_handle(struct bf_client *c, const struct bf_opts *opts,
		      const struct bf_frame_hdr *hdr, const void *payload)
{
	if (hdr->flags & ~BF_FRAME_F_REQUEST_MASK) {
		return bf_client_send_error(c, -EINVAL, hdr->type,
					    "unknown request flags 0x%04x",
					    hdr->flags & ~BF_FRAME_F_REQUEST_MASK);
	}

	if (hdr->type >= _BF_MSG_MAX || !_bf_request_handlers[hdr->type]) {
		return bf_client_send_error(c, -EOPNOTSUPP, hdr->type,
					    "unsupported request type %u",
					    hdr->type);
	}

	return _bf_request_handlers[hdr->type](c, opts, hdr, payload);
}
