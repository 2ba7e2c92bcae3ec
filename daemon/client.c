/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Connections: framing and buffering.
 *
 * Each client reads at most BF_READ_BUDGET bytes per wakeup, so a client
 * streaming a 64 MiB frame shares the loop with the others. Replies go to a
 * per-client output buffer flushed as the socket allows; a client that sends
 * requests without reading the replies stops being read once BF_OUT_HIGH
 * bytes wait for it, which bounds what it can make the daemon hold.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpfilter/helpers.h>
#include <bpfilter/logger.h>

#include "daemon/client.h"
#include "daemon/request.h"

#define BF_READ_BUDGET (1u << 20)
#define BF_OUT_HIGH (4u << 20)
/** Output buffers above this size are freed once drained. */
#define BF_OUT_KEEP (64u << 10)

int bf_client_new(struct bf_client **out, int fd, int epfd,
		  const struct bf_opts *opts, uint64_t id)
{
	struct bf_client *c = calloc(1, sizeof(*c));

	if (!c) {
		close(fd);
		return -ENOMEM;
	}

	c->src.kind = BF_SRC_CLIENT;
	c->fd = fd;
	c->epfd = epfd;
	c->opts = opts;
	c->peer.id = id;
	*out = c;

	return 0;
}

int bf_client_watch(struct bf_client *c)
{
	int r = bf_epoll_set(c->epfd, EPOLL_CTL_ADD, c->fd, EPOLLIN, c);

	if (!r)
		c->events = EPOLLIN;

	return r;
}

void bf_client_free(struct bf_client **c)
{
	if (!*c)
		return;

	bf_dbg("client #%llu: disconnected", (unsigned long long)(*c)->peer.id);

	for (int i = 0; i < _BF_FRONT_MAX; i++) {
		const struct bf_front_ops *ops = bf_front_get(i);

		if ((*c)->front[i] && ops && ops->conn_free)
			ops->conn_free((*c)->front[i]);
		(*c)->front[i] = NULL;
	}

	/* Closing also removes the socket from the epoll set. */
	if ((*c)->fd >= 0)
		close((*c)->fd);
	free((*c)->payload);
	free((*c)->out);
	free(*c);
	*c = NULL;
}

const struct bf_peer *bf_client_peer(const struct bf_client *c)
{
	return &c->peer;
}

const struct bf_opts *bf_client_opts(const struct bf_client *c)
{
	return c->opts;
}

void *bf_client_front(const struct bf_client *c, enum bf_front front)
{
	return (unsigned int)front < _BF_FRONT_MAX ? c->front[front] : NULL;
}

void bf_client_set_front(struct bf_client *c, enum bf_front front, void *conn)
{
	if ((unsigned int)front < _BF_FRONT_MAX)
		c->front[front] = conn;
}

static size_t _bf_client_pending(const struct bf_client *c)
{
	return c->out_len - c->out_off;
}

static int _bf_client_reserve(struct bf_client *c, size_t len)
{
	size_t need, cap;
	uint8_t *out;

	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;

	if (c->out_cap - c->out_len >= len)
		return 0;

	if (c->out_off) {
		memmove(c->out, c->out + c->out_off, _bf_client_pending(c));
		c->out_len -= c->out_off;
		c->out_off = 0;
		if (c->out_cap - c->out_len >= len)
			return 0;
	}

	need = c->out_len + len;
	cap = BF_MAX(c->out_cap * 2, (size_t)4096);
	while (cap < need)
		cap *= 2;

	out = realloc(c->out, cap);
	if (!out)
		return -ENOMEM;

	c->out = out;
	c->out_cap = cap;

	return 0;
}

static int _bf_client_queue(struct bf_client *c, uint16_t type,
			    uint16_t flags, const void *p1, size_t l1,
			    const void *p2, size_t l2)
{
	struct bf_frame_hdr hdr = {
		.type = type,
		.flags = BF_FRAME_F_REPLY | flags,
	};
	size_t len = BF_FRAME_HDR_LEN + l1 + l2;
	int r;

	if (len > BF_FRAME_MAX_LEN)
		return -EMSGSIZE;

	r = _bf_client_reserve(c, len);
	if (r)
		return r;

	hdr.len = (uint32_t)len;
	memcpy(c->out + c->out_len, &hdr, sizeof(hdr));
	c->out_len += sizeof(hdr);
	if (l1)
		memcpy(c->out + c->out_len, p1, l1);
	c->out_len += l1;
	if (l2)
		memcpy(c->out + c->out_len, p2, l2);
	c->out_len += l2;

	return 0;
}

int bf_client_send(struct bf_client *c, uint16_t type, const void *payload,
		   size_t len)
{
	return _bf_client_queue(c, type, 0, payload, len, NULL, 0);
}

int bf_client_send2(struct bf_client *c, uint16_t type, uint16_t flags,
		    const void *p1, size_t l1, const void *p2, size_t l2)
{
	return _bf_client_queue(c, type, flags, p1, l1, p2, l2);
}

int bf_client_send_error(struct bf_client *c, int error, uint16_t req_type,
			 const char *fmt, ...)
{
	struct bf_msg_error err = {
		.error = error,
		.req_type = req_type,
	};
	char msg[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;

	bf_dbg("client #%llu: error %d (%s) for type %u: %s",
	       (unsigned long long)c->peer.id, error, strerror(-error),
	       req_type, msg);

	return _bf_client_queue(c, BF_MSG_ERROR, 0, &err, sizeof(err), msg,
				(size_t)n + 1);
}

/* Write what the socket takes now. Returns 0 or a negative errno (drop). */
static int _bf_client_flush(struct bf_client *c)
{
	while (_bf_client_pending(c)) {
		ssize_t n = send(c->fd, c->out + c->out_off,
				 _bf_client_pending(c),
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -errno;
		}
		c->out_off += (size_t)n;
	}

	c->out_off = c->out_len = 0;
	if (c->out_cap > BF_OUT_KEEP) {
		free(c->out);
		c->out = NULL;
		c->out_cap = 0;
	}

	return 0;
}

/*
 * Register the events the client's state calls for. Returns 1 when the
 * client is done (closing and drained) and must be freed.
 */
static int _bf_client_update(struct bf_client *c)
{
	uint32_t want = 0;
	int r;

	if (c->closing && !_bf_client_pending(c))
		return 1;

	if (!c->closing && _bf_client_pending(c) < BF_OUT_HIGH)
		want |= EPOLLIN;
	if (_bf_client_pending(c))
		want |= EPOLLOUT;

	if (want == c->events)
		return 0;

	r = bf_epoll_set(c->epfd, EPOLL_CTL_MOD, c->fd, want, c);
	if (r)
		return bf_err_r(r, "client #%llu: failed to update epoll",
				(unsigned long long)c->peer.id);
	c->events = want;

	return 0;
}

static void _bf_client_reset_input(struct bf_client *c)
{
	free(c->payload);
	c->payload = NULL;
	c->payload_got = 0;
	c->hdr_got = 0;
}

/*
 * A whole header arrived. Returns 0 to go on reading the payload (or
 * dispatch an empty one), 1 when the frame is malformed: an error is queued
 * and the connection closes once it is sent.
 */
static int _bf_client_check_hdr(struct bf_client *c)
{
	uint32_t len = c->hdr.len;

	if (len < BF_FRAME_HDR_LEN) {
		c->closing = true;
		return bf_client_send_error(c, -EINVAL, c->hdr.type,
					    "frame length %u is below the %u-byte header",
					    len, BF_FRAME_HDR_LEN) ?: 1;
	}
	if (len > BF_FRAME_MAX_LEN) {
		c->closing = true;
		return bf_client_send_error(c, -EMSGSIZE, c->hdr.type,
					    "frame length %u exceeds the limit of %u bytes",
					    len, BF_FRAME_MAX_LEN) ?: 1;
	}

	if (len > BF_FRAME_HDR_LEN) {
		c->payload = malloc(len - BF_FRAME_HDR_LEN);
		if (!c->payload) {
			c->closing = true;
			return bf_client_send_error(c, -ENOMEM, c->hdr.type,
						    "no memory for a %u-byte frame",
						    len) ?: 1;
		}
	}

	return 0;
}

static int _bf_client_dispatch(struct bf_client *c)
{
	int r;

	bf_dbg("client #%llu: request type %u, flags 0x%x, %u bytes",
	       (unsigned long long)c->peer.id, c->hdr.type, c->hdr.flags,
	       c->hdr.len);

	r = bf_request_handle(c, c->opts, &c->hdr, c->payload);
	_bf_client_reset_input(c);

	return r;
}

/* Read and handle frames. Returns 0 or a negative errno (drop). */
static int _bf_client_read(struct bf_client *c)
{
	size_t budget = BF_READ_BUDGET;
	int r;

	while (!c->closing && budget && _bf_client_pending(c) < BF_OUT_HIGH) {
		uint8_t *dst;
		size_t want;
		ssize_t n;

		if (c->hdr_got < BF_FRAME_HDR_LEN) {
			dst = (uint8_t *)&c->hdr + c->hdr_got;
			want = BF_FRAME_HDR_LEN - c->hdr_got;
		} else {
			dst = c->payload + c->payload_got;
			want = c->hdr.len - BF_FRAME_HDR_LEN - c->payload_got;
		}

		n = recv(c->fd, dst, BF_MIN(want, budget), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -errno;
		}
		if (n == 0) {
			if (c->hdr_got) {
				bf_dbg("client #%llu: hung up in the middle of a frame",
				       (unsigned long long)c->peer.id);
				return -ECONNRESET;
			}
			/* Half-closed: the replies already queued still go out. */
			c->closing = true;
			return 0;
		}
		budget -= (size_t)n;

		if (c->hdr_got < BF_FRAME_HDR_LEN) {
			c->hdr_got += (size_t)n;
			if (c->hdr_got < BF_FRAME_HDR_LEN)
				continue;
			r = _bf_client_check_hdr(c);
			if (r < 0)
				return r;
			if (r > 0)
				return 0;
		} else {
			c->payload_got += (size_t)n;
		}

		if (c->payload_got == c->hdr.len - BF_FRAME_HDR_LEN) {
			r = _bf_client_dispatch(c);
			if (r)
				return r;
		}
	}

	return 0;
}

void bf_client_kick(struct bf_client *c)
{
	if (_bf_client_flush(c)) {
		/* Dropped by the server on the error/hang-up event. */
		c->closing = true;
		c->out_off = c->out_len = 0;
	}
	(void)_bf_client_update(c);
}

int bf_client_on_event(struct bf_client *c, uint32_t events)
{
	int r = 0;

	if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		r = _bf_client_flush(c);
	if (!r && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->closing)
		r = _bf_client_read(c);
	if (!r)
		r = _bf_client_flush(c);
	if (!r)
		r = _bf_client_update(c);

	if (r < 0 && r != -EPIPE && r != -ECONNRESET) {
		bf_warn("client #%llu: dropped: %s",
			(unsigned long long)c->peer.id, strerror(-r));
	}

	return r;
}
