/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Daemon side of the netlink transport: the interposer's NETLINK_NETFILTER
 * sockets arrive here as NL_OPEN / NL_SEND / NL_GROUP frames. This module
 * owns portids, socket options and group memberships, and is the nft
 * front-end's side of the front-end interface (bf_nft_front, open and
 * frame). What the datagrams mean is the handler's business
 * (bf_nft_handler(), or bf_nfnl_handler_default() with --no-nftables),
 * which answers through bf_nfnl_reply() and bf_nfnl_ack().
 * Documentation/interposer.md.
 */
#pragma once

#include <linux/netlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <bpfilter/proto.h>

#include "daemon/front.h"

/** One application netlink socket, carried by one daemon connection. */
struct bf_nfnl_conn;

/**
 * Handle one netlink datagram (@len bytes, possibly several messages, as
 * the application sent it in one sendmsg). Every reply is produced with
 * bf_nfnl_reply()/bf_nfnl_ack() before returning: the transport closes the
 * answer with NL_DONE right after, and the interposer returns from the
 * application's sendmsg then (trap A).
 * @return 0, or a negative errno for a transport failure (the
 * application's sendmsg fails with it; -ENOMEM mostly). Netlink errors are
 * NLMSG_ERROR replies, not return values.
 */
typedef int (*bf_nfnl_handler_fn)(struct bf_nfnl_conn *conn, const void *buf,
				  size_t len);

/**
 * What the kernel answers when the nfnetlink subsystem is not there
 * (nf_tables not built or not loaded): a batch (NFNL_MSG_BATCH_BEGIN) gets
 * one NLMSG_ERROR -EOPNOTSUPP on BEGIN and the rest is dropped; other
 * requests get NLMSG_ERROR -EINVAL each; non-requests and control
 * messages only an ACK if NLM_F_ACK asks. Mirrors nfnetlink_rcv().
 */
int bf_nfnl_handler_default(struct bf_nfnl_conn *conn, const void *buf,
			    size_t len);

/**
 * Queue one netlink datagram for the application. It is delivered as one
 * recvmsg: keep dumps to about 3.7 KiB per datagram, as the kernel does,
 * since some readers use 4 KiB buffers (trap F).
 */
int bf_nfnl_reply(struct bf_nfnl_conn *conn, const void *datagram,
		  size_t len);

/** Extended ack contents, as struct netlink_ext_ack carries them. */
struct bf_nfnl_extack {
	/** NLMSGERR_ATTR_MSG, or NULL. */
	const char *msg;
	/**
	 * NLMSGERR_ATTR_OFFS: the offending attribute, a pointer inside the
	 * request being answered (errors only), or NULL.
	 */
	const void *bad_attr;
	/** NLMSGERR_ATTR_MISS_TYPE (errors only), or 0. */
	uint32_t miss_type;
	/** NLMSGERR_ATTR_MISS_NEST: pointer inside the request, or NULL. */
	const void *miss_nest;
};

/**
 * Queue an NLMSG_ERROR answering @req, in its own datagram, exactly as
 * the kernel's netlink_ack() builds it (trap G): nlmsg_pid the socket's
 * portid, the request's seq; error 0 is an ACK. The request is copied
 * whole for an error unless NETLINK_CAP_ACK is set (then header only and
 * NLM_F_CAPPED, always for an ACK); with NETLINK_EXT_ACK and @ext, TLVs
 * follow and NLM_F_ACK_TLVS is set. @ext may be NULL.
 */
int bf_nfnl_ack(struct bf_nfnl_conn *conn, const struct nlmsghdr *req,
		int err, const struct bf_nfnl_extack *ext);

/**
 * Send a multicast datagram to every socket of netns @ctx that joined
 * @group, except portid @exclude (0: none), as NL_EVENT frames.
 * @return the number of sockets it was queued for.
 */
int bf_nfnl_broadcast(struct bf_netns_ctx *ctx, uint32_t group,
		      const void *datagram, size_t len, uint32_t exclude);

/** The socket's portid: nlmsg_pid of every unicast reply. */
uint32_t bf_nfnl_conn_portid(const struct bf_nfnl_conn *conn);

/** BF_NL_F_* options in force for the datagram being handled. */
uint32_t bf_nfnl_conn_nlflags(const struct bf_nfnl_conn *conn);

/** Does the socket belong to multicast group @group (1-based)? */
bool bf_nfnl_conn_in_group(const struct bf_nfnl_conn *conn, uint32_t group);

/** The client: credentials and network namespace context. */
const struct bf_peer *bf_nfnl_conn_peer(const struct bf_nfnl_conn *conn);

/* The nft front-end's ops (bf_nft_front, nft_msg.c): */
/** open: NL_OPEN. */
int bf_nfnl_on_open(struct bf_client *c, const struct bf_frame_hdr *hdr,
		    const void *payload);
/** frame: NL_SEND (datagrams to bf_nft_handler() when the nftables
 * front-end is enabled, bf_nfnl_handler_default() otherwise), NL_GROUP. */
int bf_nfnl_on_frame(struct bf_client *c, const struct bf_frame_hdr *hdr,
		     const void *payload);
/** conn_free: the client goes away. Accepts NULL. */
void bf_nfnl_conn_free(void *conn);
