/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The front-end interface, both ways.
 *
 * Down: a front-end (nft over the netlink transport; iptables and bfcli
 * next) registers one const struct bf_front_ops, and the daemon reaches it
 * only through it: the frames of its message types, the end of a
 * connection, the per-netns state it keeps.
 *
 * Up: what a front-end may use of the daemon, declared here: the client
 * behind a connection (peer, options, replies), its per-connection slot,
 * the per-netns context and its slot. Commits go to the ruleset core
 * (daemon/ruleset.h). A front-end includes these two daemon headers and no
 * other; the daemon includes no front-end header.
 * Documentation/architecture.md, "The ruleset core".
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <bpfilter/proto.h>

#include "daemon/opts.h"

/** One connection to the daemon (daemon/client.c). Opaque. */
struct bf_client;
/** The daemon's state for one network namespace (daemon/netns.c). Opaque. */
struct bf_netns_ctx;

/** Who is on the other end of a connection, fixed at accept time. */
struct bf_peer {
	/** Daemon-local connection number, for logs. */
	uint64_t id;
	pid_t pid;
	uid_t uid;
	gid_t gid;
	/** Context of the netns the client was in when it connected. */
	struct bf_netns_ctx *ctx;
};

/**
 * A front-end, as the daemon sees it. Registered once at start-up with
 * bf_front_register(); every pointer but @name may be NULL.
 */
struct bf_front_ops {
	/** For logs: "nft", "ipt", "cli". */
	const char *name;
	/**
	 * Its slot: the per-connection state (bf_client_front()) and the
	 * per-netns state (bf_netns_front()) it keeps, and its enable flag.
	 */
	enum bf_front front;
	/** The request type (BF_MSG_*) that opens a connection of it. */
	uint16_t open_type;
	/** The other request types it takes: a (1 << BF_MSG_*) mask. */
	uint64_t frame_types;
	/**
	 * Open a connection of this front-end on client @c (request
	 * @open_type; @payload holds hdr->len - BF_FRAME_HDR_LEN bytes). The
	 * front-end stores its state with bf_client_set_front(). Replies,
	 * errors included, are queued on @c.
	 * @return 0, or a negative errno when the connection must be dropped.
	 */
	int (*open)(struct bf_client *c, const struct bf_frame_hdr *hdr,
		    const void *payload);
	/** One frame of a @frame_types type from @c; returns as @open. */
	int (*frame)(struct bf_client *c, const struct bf_frame_hdr *hdr,
		     const void *payload);
	/** The client goes away: free its state (bf_client_front()). */
	void (*conn_free)(void *conn);
	/**
	 * The last client of a netns left: true if @state (bf_netns_front())
	 * holds nothing worth keeping; it is then freed with @netns_free and
	 * its reference on the context dropped.
	 */
	bool (*netns_idle)(void *state);
	/** Free per-netns @state (idle, the namespace gone, or the daemon
	 * stopping), detaching its base chains (bf_rs_chain_free()). */
	void (*netns_free)(void *state);
	/**
	 * Persistence, for a restarted daemon to adopt what runs. May be
	 * NULL: the front-end's state then goes with the daemon.
	 * @netns_serialize writes per-netns @state as bytes only this
	 * front-end reads, through @put (0 or a negative errno).
	 * @netns_restore rebuilds the state of @ctx from those bytes into
	 * *@state (taking the context's reference as bf_netns_set_front()
	 * does), adopting its base chains through the ruleset core.
	 */
	int (*netns_serialize)(const void *state,
			       int (*put)(void *sink, const void *buf,
					  size_t len),
			       void *sink);
	int (*netns_restore)(struct bf_netns_ctx *ctx, const void *buf,
			     size_t len, void **state);
};

/** The nftables front-end (nfnl/), registered by daemon/main.c. */
extern const struct bf_front_ops bf_nft_front;

/**
 * Register @ops in its slot (@ops->front); the daemon dispatches its
 * message types to it from now on.
 * @return 0, -EEXIST if the slot or a message type is taken, -EINVAL.
 */
int bf_front_register(const struct bf_front_ops *ops);

/** The front-end of slot @front, or NULL. */
const struct bf_front_ops *bf_front_get(enum bf_front front);

/* The client behind a connection. */

const struct bf_peer *bf_client_peer(const struct bf_client *c);
/** Daemon options (front-ends enabled, verbosity). */
const struct bf_opts *bf_client_opts(const struct bf_client *c);
/** The state front-end @front keeps for @c (NULL until set). */
void *bf_client_front(const struct bf_client *c, enum bf_front front);
/** Set it; the daemon frees it with the ops' conn_free when @c goes. */
void bf_client_set_front(struct bf_client *c, enum bf_front front,
			 void *conn);

/** Queue a reply frame (BF_FRAME_F_REPLY set) to the client. */
int bf_client_send(struct bf_client *c, uint16_t type, const void *payload,
		   size_t len);

/**
 * Queue a reply frame whose payload is @p1 then @p2 (either may be empty),
 * with BF_FRAME_F_REPLY and @flags (BF_FRAME_F_MORE for a chunk).
 */
int bf_client_send2(struct bf_client *c, uint16_t type, uint16_t flags,
		    const void *p1, size_t l1, const void *p2, size_t l2);

/**
 * Queue an error frame answering a request of type @req_type: @error is a
 * negative errno, the message is formatted from @fmt.
 */
int bf_client_send_error(struct bf_client *c, int error, uint16_t req_type,
			 const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/**
 * Push output queued outside of this client's own events (a multicast
 * event from another client's request): write what the socket takes and
 * watch for EPOLLOUT for the rest. A write error marks the client closing;
 * the server drops it on its next event.
 */
void bf_client_kick(struct bf_client *c);

/**
 * Persist the state of @ctx now (after a commit, before answering it):
 * each front-end's netns_serialize() into <runtime-dir>/state/netns-<ino>,
 * atomically. Nothing in --transient mode; the file is removed when no
 * front-end keeps state. Logged on failure.
 * @return 0 or a negative errno.
 */
int bf_netns_persist(struct bf_netns_ctx *ctx);

/* The per-netns context. */

/** Daemon-local id of the context, never reused: for logs. */
uint64_t bf_netns_id(const struct bf_netns_ctx *ctx);
/** The state front-end @front keeps for @ctx (NULL until set). */
void *bf_netns_front(const struct bf_netns_ctx *ctx, enum bf_front front);
/**
 * Set it (non-NULL). The first state set takes a reference on @ctx, so
 * the context outlives its clients (every nft command is a new
 * connection); replacing a state keeps that reference. The daemon frees
 * the state with the ops' netns_free.
 */
void bf_netns_set_front(struct bf_netns_ctx *ctx, enum bf_front front,
			void *state);
