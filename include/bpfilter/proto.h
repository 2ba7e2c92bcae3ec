/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The daemon's socket protocol: length-prefixed frames on an AF_UNIX stream
 * socket. Shared by the daemon, the interposer (nfnl/preload/), bfexec and
 * the test client (selftests/tools/bf_daemon_client.c); self-contained, as
 * every header of include/bpfilter/.
 *
 * Every field is in host byte order: both ends are on the same machine, as
 * with netlink. Documentation/daemon.md describes the format for humans.
 */
#pragma once

#include <assert.h>
#include <stdint.h>

/** Revision of this protocol, sent in the HELLO reply. */
#define BF_PROTO_VERSION 1

/** Daemon release, sent in the HELLO reply and printed by --version. */
#define BF_VERSION "0.1.0-dev"

/** Default location of the socket and the lock (--runtime-dir). */
#define BF_RUNTIME_DIR_DEFAULT "/run/bpfilter"
#define BF_SOCKET_NAME "daemon.sock"
#define BF_LOCK_NAME "daemon.lock"

/**
 * Frame header. @len counts the whole frame, header included, so a frame
 * with an empty payload has len == sizeof(struct bf_frame_hdr).
 */
struct bf_frame_hdr {
	uint32_t len;
	uint16_t type;
	uint16_t flags;
};
static_assert(sizeof(struct bf_frame_hdr) == 8, "frame header must be 8 bytes");

#define BF_FRAME_HDR_LEN ((uint32_t)sizeof(struct bf_frame_hdr))
/** Largest payload either side accepts: 64 MiB. */
#define BF_FRAME_MAX_PAYLOAD (64u << 20)
#define BF_FRAME_MAX_LEN (BF_FRAME_HDR_LEN + BF_FRAME_MAX_PAYLOAD)

/** Set by the daemon on every frame it sends: replies and errors. */
#define BF_FRAME_F_REPLY 0x0001
/**
 * More chunks of the same payload follow. Only NL_SEND (request) and
 * NL_RECV (reply) are chunked: a netlink datagram may exceed the 64 MiB
 * frame limit (trap E). The receiver concatenates the payloads up to and
 * including the first frame without this flag.
 */
#define BF_FRAME_F_MORE 0x0002
/** Flags a request may carry; any other bit is refused with -EINVAL. */
#define BF_FRAME_F_REQUEST_MASK BF_FRAME_F_MORE

enum bf_msg_type {
	/** Never valid: catches zero-filled frames. */
	BF_MSG_NONE = 0,
	/** Reply only: struct bf_msg_error + NUL-terminated message. */
	BF_MSG_ERROR = 1,
	/** Request: empty payload. Reply: struct bf_msg_hello. */
	BF_MSG_HELLO = 2,
	/*
	 * Netlink transport (nfnl/transport.c, Documentation/interposer.md).
	 * One connection carries one netlink socket of the application.
	 */
	/** Request and reply: struct bf_nl_open. Reply carries the portid. */
	BF_MSG_NL_OPEN = 3,
	/**
	 * Request: struct bf_nl_send then one netlink datagram, as the
	 * application sent it; may be chunked (BF_FRAME_F_MORE), the struct
	 * being in the first chunk only. Answered by NL_RECV frames then one
	 * NL_DONE.
	 */
	BF_MSG_NL_SEND = 4,
	/** Reply: one netlink datagram for the application; may be chunked. */
	BF_MSG_NL_RECV = 5,
	/** Reply: struct bf_nl_done, closes the answer to NL_SEND or NL_GROUP. */
	BF_MSG_NL_DONE = 6,
	/** Request: struct bf_nl_group. Answered by NL_DONE. */
	BF_MSG_NL_GROUP = 7,
	/** Unsolicited: struct bf_nl_event then one multicast datagram. */
	BF_MSG_NL_EVENT = 8,
	_BF_MSG_MAX,
};

/**
 * Payload of a BF_MSG_ERROR frame. @error is a negative errno; @req_type is
 * the type of the request it answers. A NUL-terminated, possibly empty,
 * human-readable message follows.
 */
struct bf_msg_error {
	int32_t error;
	uint16_t req_type;
	uint16_t reserved;
};
static_assert(sizeof(struct bf_msg_error) == 8, "error payload layout");

/**
 * Front-ends the daemon serves. The wire carries them as a bit mask:
 * BF_FRONT_F(BF_FRONT_NFT) and so on.
 */
enum bf_front {
	BF_FRONT_IPT,
	BF_FRONT_NFT,
	BF_FRONT_CLI,
	_BF_FRONT_MAX,
};
#define BF_FRONT_F(front) (1u << (front))
#define BF_FRONT_ALL (BF_FRONT_F(_BF_FRONT_MAX) - 1)

/**
 * Payload of the HELLO reply. Later revisions only append fields: a client
 * reads what it knows and ignores the rest.
 */
struct bf_msg_hello {
	/** BF_PROTO_VERSION of the daemon. */
	uint32_t proto;
	/** Enabled front-ends, BF_FRONT_F() mask. */
	uint32_t fronts;
	/** Network namespace the daemon filed this client under. */
	uint64_t netns_ino;
	uint64_t netns_dev;
	/** Daemon-local id of that namespace's context; never reused. */
	uint64_t netns_ctx_id;
	/** Clients of that namespace connected now, this one included. */
	uint32_t netns_clients;
	/** The client as SO_PEERCRED reports it to the daemon. */
	uint32_t peer_pid;
	uint32_t peer_uid;
	uint32_t peer_gid;
	/** 1 when started with --transient. */
	uint32_t transient;
	uint32_t reserved;
	/** NUL-terminated daemon release (BF_VERSION). */
	char version[32];
};
static_assert(sizeof(struct bf_msg_hello) == 88, "hello payload layout");

/** Largest netlink datagram NL_SEND accepts, chunks together: 256 MiB. */
#define BF_NL_MAX_DATAGRAM (256u << 20)

/** NL_OPEN: join a portid already held by another connection (fork). */
#define BF_NL_OPEN_F_SHARE 0x0001

/**
 * Payload of NL_OPEN, both ways. Request: @portid is the one the
 * application bound, or 0 to have one allocated as the kernel does
 * (@pid first, then negative numbers from -4096 down). Reply: @portid is
 * the socket's portid, unique among the connections of the client's netns
 * (unless shared with BF_NL_OPEN_F_SHARE). A taken portid is refused with
 * an error frame, -EADDRINUSE.
 */
struct bf_nl_open {
	/** NETLINK_NETFILTER (12); other protocols are refused. */
	uint32_t protocol;
	uint32_t portid;
	/** The application's pid in its own pid namespace (autobind). */
	uint32_t pid;
	/** BF_NL_OPEN_F_* */
	uint32_t flags;
};
static_assert(sizeof(struct bf_nl_open) == 16, "NL_OPEN payload layout");

/* Socket options of the application's netlink socket (SOL_NETLINK). */
#define BF_NL_F_EXT_ACK 0x0001
#define BF_NL_F_CAP_ACK 0x0002
#define BF_NL_F_STRICT_CHK 0x0004
#define BF_NL_F_NO_ENOBUFS 0x0008
#define BF_NL_F_BROADCAST_ERROR 0x0010
#define BF_NL_F_LISTEN_ALL_NSID 0x0020

/** Head of the first NL_SEND chunk; the datagram follows. */
struct bf_nl_send {
	/** BF_NL_F_* options in force when the application sent it. */
	uint32_t nlflags;
	uint32_t reserved;
};
static_assert(sizeof(struct bf_nl_send) == 8, "NL_SEND head layout");

/**
 * Payload of NL_DONE. @error is 0 or a negative errno for the transport
 * itself (-EMSGSIZE, -ENOMEM, -ENOTCONN before NL_OPEN): the application's
 * send fails with it. Netlink errors travel as NLMSG_ERROR in NL_RECV.
 */
struct bf_nl_done {
	int32_t error;
	/** NL_RECV datagrams sent for this request. */
	uint32_t nrecv;
};
static_assert(sizeof(struct bf_nl_done) == 8, "NL_DONE payload layout");

/** Payload of NL_GROUP: join (@add 1) or leave (@add 0) group @group. */
struct bf_nl_group {
	uint32_t group;
	uint32_t add;
};
static_assert(sizeof(struct bf_nl_group) == 8, "NL_GROUP payload layout");

/** Head of NL_EVENT; the multicast datagram follows. */
struct bf_nl_event {
	uint32_t group;
	uint32_t reserved;
};
static_assert(sizeof(struct bf_nl_event) == 8, "NL_EVENT head layout");
