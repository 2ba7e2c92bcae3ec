/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The daemon's socket protocol: length-prefixed frames on an AF_UNIX stream
 * socket. Shared by the daemon and its test client; it moves to
 * include/bpfilter/ when the client library in lib/ starts speaking it.
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
/** Flags a request may carry; any other bit is refused with -EINVAL. */
#define BF_FRAME_F_REQUEST_MASK 0x0000

enum bf_msg_type {
	/** Never valid: catches zero-filled frames. */
	BF_MSG_NONE = 0,
	/** Reply only: struct bf_msg_error + NUL-terminated message. */
	BF_MSG_ERROR = 1,
	/** Request: empty payload. Reply: struct bf_msg_hello. */
	BF_MSG_HELLO = 2,
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
