/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Netlink transport, daemon side: the NL_* frames of one interposed
 * NETLINK_NETFILTER socket. Owns portids (unique per netns, allocated like
 * the kernel's autobind), the socket options the replies depend on, group
 * memberships and multicast, the reassembly of chunked NL_SEND frames, and
 * the NLMSG_ERROR builder. Datagrams go to the nft front-end's handler; the
 * default one answers as a kernel without nf_tables (--no-nftables).
 */
#include <errno.h>
#include <limits.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/random.h>

#include <bpfilter/helpers.h>
#include <bpfilter/logger.h>

#include "daemon/front.h"
#include "nfnl/nft.h"
#include "nfnl/transport.h"

/* Groups 1..64 are tracked; nfnetlink has 10. */
#define BF_NFNL_MAX_GROUP 64u
/* First value of the kernel's negative autobind rover. */
#define BF_NFNL_ROVER_START (-4096)

struct bf_nfnl_conn {
	struct bf_client *client;
	bool open;
	uint32_t portid;
	/* BF_NL_F_* of the datagram being handled. */
	uint32_t nlflags;
	uint64_t groups;

	/* NL_SEND reassembly (BF_FRAME_F_MORE). */
	bool in_send;
	int send_err;
	uint8_t *sendbuf;
	size_t send_len;
	size_t send_cap;

	/* NL_RECV datagrams queued for the current NL_SEND. */
	uint32_t nrecv;

	struct bf_nfnl_conn *prev;
	struct bf_nfnl_conn *next;
};

static struct bf_nfnl_conn *_bf_nfnl_conns;
static int32_t _bf_nfnl_rover = BF_NFNL_ROVER_START;

uint32_t bf_nfnl_conn_portid(const struct bf_nfnl_conn *conn)
{
	return conn->portid;
}

uint32_t bf_nfnl_conn_nlflags(const struct bf_nfnl_conn *conn)
{
	return conn->nlflags;
}

bool bf_nfnl_conn_in_group(const struct bf_nfnl_conn *conn, uint32_t group)
{
	return group >= 1 && group <= BF_NFNL_MAX_GROUP &&
	       (conn->groups & (1ull << (group - 1)));
}

const struct bf_peer *bf_nfnl_conn_peer(const struct bf_nfnl_conn *conn)
{
	return bf_client_peer(conn->client);
}

static struct bf_netns_ctx *_bf_nfnl_ctx(const struct bf_nfnl_conn *conn)
{
	return bf_client_peer(conn->client)->ctx;
}

void bf_nfnl_conn_free(void *p)
{
	struct bf_nfnl_conn *conn = p;

	if (!conn)
		return;

	if (conn->prev)
		conn->prev->next = conn->next;
	else
		_bf_nfnl_conns = conn->next;
	if (conn->next)
		conn->next->prev = conn->prev;

	free(conn->sendbuf);
	free(conn);
}

static int _bf_nfnl_conn_get(struct bf_client *c, struct bf_nfnl_conn **out)
{
	struct bf_nfnl_conn *conn = bf_client_front(c, BF_FRONT_NFT);

	if (!conn) {
		conn = calloc(1, sizeof(*conn));
		if (!conn)
			return -ENOMEM;
		conn->client = c;
		conn->next = _bf_nfnl_conns;
		if (_bf_nfnl_conns)
			_bf_nfnl_conns->prev = conn;
		_bf_nfnl_conns = conn;
		bf_client_set_front(c, BF_FRONT_NFT, conn);
	}

	*out = conn;

	return 0;
}

static bool _bf_nfnl_portid_used(const struct bf_netns_ctx *ctx,
				 uint32_t portid)
{
	for (const struct bf_nfnl_conn *o = _bf_nfnl_conns; o; o = o->next) {
		if (o->open && o->portid == portid && _bf_nfnl_ctx(o) == ctx)
			return true;
	}

	return false;
}

/* The kernel's netlink_autobind(): the tgid, then random negative ids. */
static uint32_t _bf_nfnl_autobind(const struct bf_netns_ctx *ctx, uint32_t pid)
{
	uint32_t portid = pid;

	while (!portid || _bf_nfnl_portid_used(ctx, portid)) {
		if (_bf_nfnl_rover == BF_NFNL_ROVER_START) {
			uint32_t rnd = 0;

			if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) !=
			    (ssize_t)sizeof(rnd))
				rnd = (uint32_t)random();
			_bf_nfnl_rover = (int32_t)((int64_t)INT32_MIN +
				rnd % (uint32_t)((int64_t)BF_NFNL_ROVER_START -
						 1 - INT32_MIN));
		} else if (_bf_nfnl_rover >= BF_NFNL_ROVER_START) {
			_bf_nfnl_rover = BF_NFNL_ROVER_START - 1;
		}
		portid = (uint32_t)_bf_nfnl_rover--;
	}

	return portid;
}

int bf_nfnl_on_open(struct bf_client *c, const struct bf_frame_hdr *hdr,
		    const void *payload)
{
	const struct bf_peer *peer = bf_client_peer(c);
	struct bf_netns_ctx *ctx = peer->ctx;
	struct bf_nfnl_conn *conn;
	struct bf_nl_open req;
	int r;

	if (hdr->len - BF_FRAME_HDR_LEN != sizeof(req)) {
		return bf_client_send_error(c, -EINVAL, hdr->type,
					    "NL_OPEN takes %zu bytes, got %u",
					    sizeof(req),
					    hdr->len - BF_FRAME_HDR_LEN);
	}
	memcpy(&req, payload, sizeof(req));

	if (req.protocol != NETLINK_NETFILTER) {
		return bf_client_send_error(c, -EPROTONOSUPPORT, hdr->type,
					    "netlink protocol %u is not served",
					    req.protocol);
	}
	if (req.flags & ~BF_NL_OPEN_F_SHARE) {
		return bf_client_send_error(c, -EINVAL, hdr->type,
					    "unknown NL_OPEN flags 0x%x",
					    req.flags);
	}

	r = _bf_nfnl_conn_get(c, &conn);
	if (r)
		return bf_client_send_error(c, r, hdr->type, "out of memory");
	if (conn->open) {
		return bf_client_send_error(c, -EISCONN, hdr->type,
					    "this connection has portid %u already",
					    conn->portid);
	}

	if (!req.portid) {
		req.portid = _bf_nfnl_autobind(ctx, req.pid);
	} else if (!(req.flags & BF_NL_OPEN_F_SHARE) &&
		   _bf_nfnl_portid_used(ctx, req.portid)) {
		return bf_client_send_error(c, -EADDRINUSE, hdr->type,
					    "portid %u is in use", req.portid);
	}

	conn->portid = req.portid;
	conn->open = true;

	bf_dbg("client #%llu: netlink socket, portid %u%s",
	       (unsigned long long)peer->id, conn->portid,
	       req.flags & BF_NL_OPEN_F_SHARE ? " (shared)" : "");

	return bf_client_send(c, BF_MSG_NL_OPEN, &req, sizeof(req));
}

static int _bf_nfnl_done(struct bf_client *c, int error, uint32_t nrecv)
{
	struct bf_nl_done done = { .error = error, .nrecv = nrecv };

	return bf_client_send(c, BF_MSG_NL_DONE, &done, sizeof(done));
}

static int _bf_nfnl_append(struct bf_nfnl_conn *conn, const void *data,
			   size_t len)
{
	size_t cap;
	uint8_t *buf;

	if (len > BF_NL_MAX_DATAGRAM - conn->send_len)
		return -EMSGSIZE;

	if (conn->send_cap - conn->send_len < len) {
		cap = BF_MAX(conn->send_cap * 2, (size_t)1 << 20);
		while (cap < conn->send_len + len)
			cap *= 2;
		buf = realloc(conn->sendbuf, cap);
		if (!buf)
			return -ENOMEM;
		conn->sendbuf = buf;
		conn->send_cap = cap;
	}

	memcpy(conn->sendbuf + conn->send_len, data, len);
	conn->send_len += len;

	return 0;
}

static void _bf_nfnl_send_reset(struct bf_nfnl_conn *conn)
{
	free(conn->sendbuf);
	conn->sendbuf = NULL;
	conn->send_len = conn->send_cap = 0;
	conn->send_err = 0;
	conn->in_send = false;
}

static int _bf_nfnl_on_send(struct bf_client *c, const struct bf_frame_hdr *hdr,
			    const void *payload)
{
	size_t plen = hdr->len - BF_FRAME_HDR_LEN;
	bool more = hdr->flags & BF_FRAME_F_MORE;
	struct bf_nfnl_conn *conn = bf_client_front(c, BF_FRONT_NFT);
	bf_nfnl_handler_fn handler;
	const uint8_t *data = payload;
	const void *dgram;
	size_t dlen;
	int r;

	if (!conn || !conn->open)
		return _bf_nfnl_done(c, -ENOTCONN, 0);

	if (!conn->in_send) {
		struct bf_nl_send head;

		if (plen < sizeof(head)) {
			return bf_client_send_error(c, -EINVAL, hdr->type,
						    "NL_SEND without its %zu-byte head",
						    sizeof(head));
		}
		memcpy(&head, data, sizeof(head));
		data += sizeof(head);
		plen -= sizeof(head);
		conn->nlflags = head.nlflags;

		if (!more) {
			/* One frame: no copy. */
			dgram = data;
			dlen = plen;
			goto handle;
		}
		conn->in_send = true;
	}

	if (!conn->send_err)
		conn->send_err = _bf_nfnl_append(conn, data, plen);
	if (more)
		return 0;

	if (conn->send_err) {
		r = conn->send_err;
		_bf_nfnl_send_reset(conn);
		return _bf_nfnl_done(c, r, 0);
	}
	dgram = conn->sendbuf;
	dlen = conn->send_len;

handle:
	handler = bf_opts_front_enabled(bf_client_opts(c), BF_FRONT_NFT) ?
			  bf_nft_handler :
			  bf_nfnl_handler_default;

	conn->nrecv = 0;
	r = handler(conn, dgram, dlen);
	if (r)
		bf_dbg("client #%llu: netlink handler failed: %s",
		       (unsigned long long)bf_client_peer(c)->id, strerror(-r));

	_bf_nfnl_send_reset(conn);

	return _bf_nfnl_done(c, r, conn->nrecv);
}

static int _bf_nfnl_on_group(struct bf_client *c,
			     const struct bf_frame_hdr *hdr,
			     const void *payload)
{
	struct bf_nfnl_conn *conn = bf_client_front(c, BF_FRONT_NFT);
	struct bf_nl_group req;

	if (hdr->len - BF_FRAME_HDR_LEN != sizeof(req)) {
		return bf_client_send_error(c, -EINVAL, hdr->type,
					    "NL_GROUP takes %zu bytes, got %u",
					    sizeof(req),
					    hdr->len - BF_FRAME_HDR_LEN);
	}
	memcpy(&req, payload, sizeof(req));

	if (!conn || !conn->open)
		return _bf_nfnl_done(c, -ENOTCONN, 0);
	if (!req.group || req.group > BF_NFNL_MAX_GROUP)
		return _bf_nfnl_done(c, -EINVAL, 0);

	if (req.add)
		conn->groups |= 1ull << (req.group - 1);
	else
		conn->groups &= ~(1ull << (req.group - 1));

	return _bf_nfnl_done(c, 0, 0);
}

int bf_nfnl_on_frame(struct bf_client *c, const struct bf_frame_hdr *hdr,
		     const void *payload)
{
	if (hdr->type == BF_MSG_NL_SEND)
		return _bf_nfnl_on_send(c, hdr, payload);
	return _bf_nfnl_on_group(c, hdr, payload);
}

static int _bf_nfnl_queue(struct bf_client *c, uint16_t type,
			  const void *head, size_t hlen, const void *dgram,
			  size_t len)
{
	const uint8_t *p = dgram;
	size_t room = BF_FRAME_MAX_PAYLOAD - hlen;
	int r;

	/* Chunks of at most the frame limit; the head goes in the first. */
	do {
		size_t n = BF_MIN(len, room);

		r = bf_client_send2(c, type, len > n ? BF_FRAME_F_MORE : 0,
				    head, hlen, p, n);
		if (r)
			return r;
		p += n;
		len -= n;
		head = NULL;
		hlen = 0;
		room = BF_FRAME_MAX_PAYLOAD;
	} while (len);

	return 0;
}

int bf_nfnl_reply(struct bf_nfnl_conn *conn, const void *datagram, size_t len)
{
	int r = _bf_nfnl_queue(conn->client, BF_MSG_NL_RECV, NULL, 0,
			       datagram, len);

	if (!r)
		++conn->nrecv;

	return r;
}

int bf_nfnl_broadcast(struct bf_netns_ctx *ctx, uint32_t group,
		      const void *datagram, size_t len, uint32_t exclude)
{
	struct bf_nl_event head = { .group = group };
	int n = 0;

	for (struct bf_nfnl_conn *o = _bf_nfnl_conns; o; o = o->next) {
		if (!o->open || _bf_nfnl_ctx(o) != ctx ||
		    !bf_nfnl_conn_in_group(o, group) ||
		    (exclude && o->portid == exclude))
			continue;
		/* A reader that cannot take it misses it, like ENOBUFS. */
		if (_bf_nfnl_queue(o->client, BF_MSG_NL_EVENT, &head,
				   sizeof(head), datagram, len))
			continue;
		bf_client_kick(o->client);
		++n;
	}

	return n;
}

static void _bf_nfnl_put_attr(uint8_t *buf, size_t *off, uint16_t type,
			      const void *data, size_t len)
{
	struct nlattr nla = {
		.nla_len = (uint16_t)(NLA_HDRLEN + len),
		.nla_type = type,
	};

	memcpy(buf + *off, &nla, sizeof(nla));
	memcpy(buf + *off + NLA_HDRLEN, data, len);
	memset(buf + *off + NLA_HDRLEN + len, 0,
	       NLA_ALIGN(len) - len);
	*off += NLA_HDRLEN + NLA_ALIGN(len);
}

int bf_nfnl_ack(struct bf_nfnl_conn *conn, const struct nlmsghdr *req,
		int err, const struct bf_nfnl_extack *ext)
{
	const uint8_t *base = (const uint8_t *)req;
	size_t copy = 0, tlvlen = 0, msglen = 0, off;
	uint16_t flags = 0;
	_cleanup_free_ uint8_t *buf = NULL;
	struct nlmsgerr errmsg;
	struct nlmsghdr rep;

	if (err && !(conn->nlflags & BF_NL_F_CAP_ACK))
		copy = req->nlmsg_len - NLMSG_HDRLEN;
	else
		flags |= NLM_F_CAPPED;

	/* netlink_ack_tlv_len(): only with NETLINK_EXT_ACK. */
	if (ext && (conn->nlflags & BF_NL_F_EXT_ACK)) {
		if (ext->msg) {
			msglen = strlen(ext->msg) + 1;
			tlvlen += NLA_HDRLEN + NLA_ALIGN(msglen);
		}
		if (err) {
			if (ext->bad_attr)
				tlvlen += NLA_HDRLEN + NLA_ALIGN(sizeof(uint32_t));
			if (ext->miss_type)
				tlvlen += NLA_HDRLEN + NLA_ALIGN(sizeof(uint32_t));
			if (ext->miss_nest)
				tlvlen += NLA_HDRLEN + NLA_ALIGN(sizeof(uint32_t));
		}
	}
	if (tlvlen)
		flags |= NLM_F_ACK_TLVS;

	off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(errmsg)) + NLMSG_ALIGN(copy);
	buf = calloc(1, off + tlvlen);
	if (!buf)
		return -ENOMEM;

	rep = (struct nlmsghdr) {
		.nlmsg_len = (uint32_t)(off + tlvlen),
		.nlmsg_type = NLMSG_ERROR,
		.nlmsg_flags = flags,
		.nlmsg_seq = req->nlmsg_seq,
		.nlmsg_pid = conn->portid,
	};
	errmsg.error = err;
	errmsg.msg = *req;
	memcpy(buf, &rep, sizeof(rep));
	memcpy(buf + NLMSG_HDRLEN, &errmsg, sizeof(errmsg));
	if (copy)
		memcpy(buf + NLMSG_HDRLEN + sizeof(errmsg),
		       base + NLMSG_HDRLEN, copy);

	if (tlvlen) {
		uint32_t v;

		if (ext->msg)
			_bf_nfnl_put_attr(buf, &off, NLMSGERR_ATTR_MSG,
					  ext->msg, msglen);
		if (err && ext->bad_attr) {
			v = (uint32_t)((const uint8_t *)ext->bad_attr - base);
			_bf_nfnl_put_attr(buf, &off, NLMSGERR_ATTR_OFFS, &v,
					  sizeof(v));
		}
		if (err && ext->miss_type) {
			v = ext->miss_type;
			_bf_nfnl_put_attr(buf, &off, NLMSGERR_ATTR_MISS_TYPE,
					  &v, sizeof(v));
		}
		if (err && ext->miss_nest) {
			v = (uint32_t)((const uint8_t *)ext->miss_nest - base);
			_bf_nfnl_put_attr(buf, &off, NLMSGERR_ATTR_MISS_NEST,
					  &v, sizeof(v));
		}
	}

	return bf_nfnl_reply(conn, buf, rep.nlmsg_len);
}

/*
 * nfnetlink_rcv_skb_batch() when the subsystem is missing: the
 * NFNL_BATCH_GENID attribute is validated first (nla_parse_deprecated,
 * NLA_U32), then the subsystem id; the rest of the datagram is dropped.
 */
static int _bf_nfnl_missing_batch(struct bf_nfnl_conn *conn,
				  const uint8_t *buf, size_t len)
{
	const struct nlmsghdr *nlh = (const void *)buf;
	const size_t min_len = NLMSG_SPACE(sizeof(struct nfgenmsg));
	struct nfgenmsg nfg;
	uint16_t res_id;

	if (len < NLMSG_HDRLEN + sizeof(nfg))
		return 0;

	if (nlh->nlmsg_len > min_len) {
		size_t attrlen = BF_MIN(nlh->nlmsg_len, len) - min_len;
		const uint8_t *a = buf + min_len;

		while (attrlen >= NLA_HDRLEN) {
			const struct nlattr *nla = (const void *)a;

			if (nla->nla_len < NLA_HDRLEN || nla->nla_len > attrlen)
				break;
			size_t alen = nla->nla_len, step = NLA_ALIGN(alen);

			if ((nla->nla_type & NLA_TYPE_MASK) == NFNL_BATCH_GENID &&
			    alen - NLA_HDRLEN < sizeof(uint32_t))
				return bf_nfnl_ack(conn, nlh, -ERANGE, NULL);
			if (step >= attrlen)
				break;
			attrlen -= step;
			a += step;
		}
	}

	memcpy(&nfg, buf + NLMSG_HDRLEN, sizeof(nfg));
	/* The kernel accepts old nft's host byte order res_id too. */
	res_id = nfg.res_id == NFNL_SUBSYS_NFTABLES ? NFNL_SUBSYS_NFTABLES :
						      ntohs(nfg.res_id);

	return bf_nfnl_ack(conn, nlh,
			   res_id >= NFNL_SUBSYS_COUNT ? -EINVAL : -EOPNOTSUPP,
			   NULL);
}

int bf_nfnl_handler_default(struct bf_nfnl_conn *conn, const void *data,
			    size_t len)
{
	const struct nlmsghdr *nlh = data;
	const uint8_t *buf = data;
	int r;

	/* nfnetlink_rcv(): a truncated first message drops the datagram. */
	if (len < NLMSG_HDRLEN || nlh->nlmsg_len < NLMSG_HDRLEN ||
	    len < nlh->nlmsg_len)
		return 0;

	if (nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN)
		return _bf_nfnl_missing_batch(conn, buf, len);

	/* netlink_rcv_skb() with nfnetlink_rcv_msg() failing -EINVAL. */
	while (len >= NLMSG_HDRLEN) {
		size_t msglen;
		int err = 0;

		nlh = (const void *)buf;
		if (nlh->nlmsg_len < NLMSG_HDRLEN || len < nlh->nlmsg_len)
			return 0;

		if ((nlh->nlmsg_flags & NLM_F_REQUEST) &&
		    nlh->nlmsg_type >= NLMSG_MIN_TYPE &&
		    nlh->nlmsg_len - NLMSG_HDRLEN >= sizeof(struct nfgenmsg))
			err = -EINVAL;

		if ((nlh->nlmsg_flags & NLM_F_ACK) || err) {
			r = bf_nfnl_ack(conn, nlh, err, NULL);
			if (r)
				return r;
		}

		msglen = BF_MIN((size_t)NLMSG_ALIGN(nlh->nlmsg_len), len);
		buf += msglen;
		len -= msglen;
	}

	return 0;
}
