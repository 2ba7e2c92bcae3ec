/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Request dispatch. Each message type has one handler; types without one
 * are answered -EOPNOTSUPP and the connection stays open, as framing is
 * intact. The daemon's own types are here; the others go to the front-end
 * that registered them (daemon/front.h: nft, then iptables and bfcli).
 */
#include <errno.h>
#include <string.h>

#include <bpfilter/helpers.h>
#include <bpfilter/logger.h>

#include "daemon/front.h"
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

/* The front-end that takes request type @type: its open or frame entry. */
static int _bf_request_front(struct bf_client *c,
			     const struct bf_frame_hdr *hdr,
			     const void *payload, bool *handled)
{
	*handled = true;
	for (int i = 0; i < _BF_FRONT_MAX; i++) {
		const struct bf_front_ops *ops = bf_front_get(i);

		if (!ops)
			continue;
		if (ops->open && hdr->type == ops->open_type)
			return ops->open(c, hdr, payload);
		if (ops->frame && hdr->type < 64 &&
		    (ops->frame_types & (1ull << hdr->type)))
			return ops->frame(c, hdr, payload);
	}
	*handled = false;

	return 0;
}

/* Request flags each type may carry: only NL_SEND is chunked. */
static uint16_t _bf_request_flags_allowed(uint16_t type)
{
	return type == BF_MSG_NL_SEND ? BF_FRAME_F_MORE : 0;
}

int bf_request_handle(struct bf_client *c, const struct bf_opts *opts,
		      const struct bf_frame_hdr *hdr, const void *payload)
{
	uint16_t bad = hdr->flags & ~(BF_FRAME_F_REQUEST_MASK &
				      _bf_request_flags_allowed(hdr->type));

	if (bad) {
		return bf_client_send_error(c, -EINVAL, hdr->type,
					    "unknown request flags 0x%04x",
					    bad);
	}

	if (hdr->type < _BF_MSG_MAX && !_bf_request_handlers[hdr->type]) {
		bool handled;
		int r = _bf_request_front(c, hdr, payload, &handled);

		if (handled)
			return r;
	}

	if (hdr->type >= _BF_MSG_MAX || !_bf_request_handlers[hdr->type]) {
		return bf_client_send_error(c, -EOPNOTSUPP, hdr->type,
					    "unsupported request type %u",
					    hdr->type);
	}

	return _bf_request_handlers[hdr->type](c, opts, hdr, payload);
}
