/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One connection: who the peer is, its input framing state and its output
 * buffer. The server (server.c) owns the list of clients and their netns
 * references; this module moves bytes and frames.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/types.h>

#include <bpfilter/proto.h>

#include "daemon/front.h"
#include "daemon/opts.h"

/** What an epoll event points to: the first member of each source. */
enum bf_src_kind {
	BF_SRC_LISTEN,
	BF_SRC_SIGNAL,
	BF_SRC_CLIENT,
};

struct bf_src {
	enum bf_src_kind kind;
};

struct bf_client {
	struct bf_src src;
	int fd;
	int epfd;
	const struct bf_opts *opts;
	struct bf_peer peer;
	/** Events currently registered with epoll. */
	uint32_t events;
	/** No more reading: flush the output, then close. */
	bool closing;

	/* Input: the header, then a payload buffer of exactly the frame size. */
	struct bf_frame_hdr hdr;
	size_t hdr_got;
	uint8_t *payload;
	size_t payload_got;

	/* Output: bytes [out_off, out_len) of out wait for the socket. */
	uint8_t *out;
	size_t out_off;
	size_t out_len;
	size_t out_cap;

	/* Per front-end connection state (bf_client_front()): the netlink
	 * socket this connection carries, for the nft front-end. */
	void *front[_BF_FRONT_MAX];

	/* The server's list of clients. */
	struct bf_client *prev;
	struct bf_client *next;
};

static inline int bf_epoll_set(int epfd, int op, int fd, uint32_t events,
			       void *ptr)
{
	struct epoll_event ev = { .events = events, .data.ptr = ptr };

	return epoll_ctl(epfd, op, fd, &ev) < 0 ? -errno : 0;
}

/**
 * Wrap the accepted, non-blocking socket @fd; the client owns it from now
 * on, even on failure. Not registered with epoll yet: bf_client_watch().
 */
int bf_client_new(struct bf_client **out, int fd, int epfd,
		  const struct bf_opts *opts, uint64_t id);

/** Register the client with its epoll instance, for reading. */
int bf_client_watch(struct bf_client *c);

/**
 * Close the socket and free the buffers. The caller has released
 * c->peer.ctx and unlinked the client. Accepts NULL.
 */
void bf_client_free(struct bf_client **c);

/**
 * Handle epoll @events: flush, read and dispatch frames, re-arm.
 * @return 0 to keep the client, non-zero when it must be freed (hung up,
 * closed after an error reply, or an I/O error, which is logged).
 */
int bf_client_on_event(struct bf_client *c, uint32_t events);

/* bf_client_peer(), bf_client_send*() and bf_client_kick(): daemon/front.h. */
