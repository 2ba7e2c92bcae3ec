/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libbpfilter-preload data path: frames to and from the daemon, the
 * synchronous send (every reply is in the application's socket when
 * sendmsg returns, trap A), routing by nfnetlink subsystem between the
 * daemon and a real kernel socket (trap K), the overflow queue, and the
 * multicast pump thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include <bpfilter/proto.h>
#include "nfnl/preload/preload.h"

#define BF_PL_MIN(a, b) ((a) < (b) ? (a) : (b))

static int _bf_pl_writev_full(int fd, struct iovec *iov, int iovcnt)
{
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)iovcnt };

	while (msg.msg_iovlen) {
		ssize_t n = bf_pl_real.sendmsg(fd, &msg, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		while (n && msg.msg_iovlen) {
			size_t k = BF_PL_MIN((size_t)n, msg.msg_iov->iov_len);

			msg.msg_iov->iov_base = (uint8_t *)msg.msg_iov->iov_base + k;
			msg.msg_iov->iov_len -= k;
			n -= (ssize_t)k;
			if (!msg.msg_iov->iov_len) {
				++msg.msg_iov;
				--msg.msg_iovlen;
			}
		}
		while (msg.msg_iovlen && !msg.msg_iov->iov_len) {
			++msg.msg_iov;
			--msg.msg_iovlen;
		}
	}

	return 0;
}

static int _bf_pl_read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = bf_pl_real.recv(fd, p, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= (size_t)n;
	}

	return 0;
}

int bf_pl_frame_write(int fd, uint16_t type, uint16_t flags, const void *p1,
		      size_t l1, const void *p2, size_t l2)
{
	struct bf_frame_hdr hdr = {
		.len = (uint32_t)(BF_FRAME_HDR_LEN + l1 + l2),
		.type = type,
		.flags = flags,
	};
	struct iovec iov[3] = {
		{ &hdr, sizeof(hdr) },
		{ (void *)p1, l1 },
		{ (void *)p2, l2 },
	};

	return _bf_pl_writev_full(fd, iov, 3);
}

int bf_pl_frame_read(int fd, uint16_t *type, uint16_t *flags,
		     uint8_t **payload, size_t *len)
{
	struct bf_frame_hdr hdr;
	uint8_t *p = NULL;
	size_t plen;
	int r;

	r = _bf_pl_read_full(fd, &hdr, sizeof(hdr));
	if (r)
		return r;
	if (hdr.len < BF_FRAME_HDR_LEN || hdr.len > BF_FRAME_MAX_LEN)
		return -EPROTO;

	plen = hdr.len - BF_FRAME_HDR_LEN;
	p = malloc(plen ?: 1);
	if (!p)
		return -ENOMEM;
	r = _bf_pl_read_full(fd, p, plen);
	if (r) {
		free(p);
		return r;
	}

	*type = hdr.type;
	*flags = hdr.flags;
	*payload = p;
	*len = plen;

	return 0;
}

void bf_pl_queue_free(struct bf_pl_sock *s)
{
	while (s->qhead) {
		struct bf_pl_dgram *d = s->qhead;

		s->qhead = d->next;
		free(d);
	}
	s->qtail = NULL;
	s->qbytes = 0;
}

/* 1: sent, 0: no room (EAGAIN), -1: dropped. */
static int _bf_pl_push(struct bf_pl_sock *s, const void *data, size_t len)
{
	for (;;) {
		ssize_t n = bf_pl_real.send(s->peer_fd, data, len,
					    MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n >= 0)
			return 1;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
			return 0;
		bf_pl_dbg("dropping a %zu-byte datagram: %s", len,
			  strerror(errno));
		return -1;
	}
}

/* Put one datagram in the application's socket, or queue it in order. */
static void _bf_pl_deliver(struct bf_pl_sock *s, const void *data, size_t len)
{
	struct bf_pl_dgram *d;

	if (!s->qhead && _bf_pl_push(s, data, len))
		return;

	d = malloc(sizeof(*d) + len);
	if (!d) {
		bf_pl_dbg("no memory: dropping a %zu-byte datagram", len);
		return;
	}
	d->next = NULL;
	d->len = len;
	memcpy(d->data, data, len);
	if (s->qtail)
		s->qtail->next = d;
	else
		s->qhead = d;
	s->qtail = d;
	s->qbytes += len;
}

static void _bf_pl_kernel_drain(struct bf_pl_sock *s);

void bf_pl_refill(struct bf_pl_sock *s)
{
	while (s->qhead) {
		struct bf_pl_dgram *d = s->qhead;

		if (!_bf_pl_push(s, d->data, d->len))
			break;
		s->qhead = d->next;
		if (!s->qhead)
			s->qtail = NULL;
		s->qbytes -= d->len;
		free(d);
	}

	if (s->kernel_pending && s->qbytes < BF_PL_KERNEL_HIGH)
		_bf_pl_kernel_drain(s);
}

static void _bf_pl_lost(struct bf_pl_sock *s, int r)
{
	if (s->daemon_fd < 0)
		return;

	bf_pl_log("lost the connection to the bpfilter daemon (%s): %s",
		  s->sock_path, strerror(-r));
	bf_pl_real.close(s->daemon_fd);
	s->daemon_fd = -1;
}

/*
 * Read frames until NL_DONE: NL_RECV datagrams (chunks concatenated) and
 * NL_EVENT datagrams go to the application in order.
 * @return NL_DONE's error, an error frame's error, or an I/O error.
 */
static int _bf_pl_wait_done(struct bf_pl_sock *s)
{
	uint8_t *acc = NULL;
	size_t acc_len = 0;
	int r;

	for (;;) {
		uint16_t type, flags;
		uint8_t *p;
		size_t len;

		r = bf_pl_frame_read(s->daemon_fd, &type, &flags, &p, &len);
		if (r) {
			_bf_pl_lost(s, r);
			r = -ECONNRESET;
			break;
		}

		if (type == BF_MSG_NL_RECV && ((flags & BF_FRAME_F_MORE) || acc)) {
			uint8_t *n = realloc(acc, acc_len + len);

			if (!n) {
				free(p);
				r = -ENOMEM;
				break;
			}
			acc = n;
			memcpy(acc + acc_len, p, len);
			acc_len += len;
			if (!(flags & BF_FRAME_F_MORE)) {
				_bf_pl_deliver(s, acc, acc_len);
				free(acc);
				acc = NULL;
				acc_len = 0;
			}
		} else if (type == BF_MSG_NL_RECV) {
			_bf_pl_deliver(s, p, len);
		} else if (type == BF_MSG_NL_EVENT &&
			   len >= sizeof(struct bf_nl_event)) {
			_bf_pl_deliver(s, p + sizeof(struct bf_nl_event),
				       len - sizeof(struct bf_nl_event));
		} else if (type == BF_MSG_NL_DONE &&
			   len >= sizeof(struct bf_nl_done)) {
			struct bf_nl_done done;

			memcpy(&done, p, sizeof(done));
			free(p);
			r = done.error;
			break;
		} else if (type == BF_MSG_ERROR &&
			   len >= sizeof(struct bf_msg_error)) {
			struct bf_msg_error err;

			memcpy(&err, p, sizeof(err));
			bf_pl_dbg("daemon error %d: %.*s", err.error,
				  (int)(len - sizeof(err)),
				  (const char *)p + sizeof(err));
			free(p);
			r = err.error ?: -EPROTO;
			break;
		}
		free(p);
	}

	free(acc);

	return r;
}

static int _bf_pl_daemon_send(struct bf_pl_sock *s, const uint8_t *buf,
			      size_t len)
{
	struct bf_nl_send head = { .nlflags = s->nlflags };
	size_t room = BF_FRAME_MAX_PAYLOAD - sizeof(head);
	const void *h = &head;
	size_t hlen = sizeof(head);
	int r;

	/* Chunks within the frame limit; the head rides in the first (trap E). */
	do {
		size_t n = BF_PL_MIN(len, room);

		r = bf_pl_frame_write(s->daemon_fd, BF_MSG_NL_SEND,
				      len > n ? BF_FRAME_F_MORE : 0, h, hlen,
				      buf, n);
		if (r) {
			_bf_pl_lost(s, r);
			return -ECONNRESET;
		}
		buf += n;
		len -= n;
		h = NULL;
		hlen = 0;
		room = BF_FRAME_MAX_PAYLOAD;
	} while (len);

	return _bf_pl_wait_done(s);
}

static void _bf_pl_kernel_opts(struct bf_pl_sock *s)
{
	static const struct {
		uint32_t flag;
		int opt;
	} map[] = {
		{ BF_NL_F_EXT_ACK, NETLINK_EXT_ACK },
		{ BF_NL_F_CAP_ACK, NETLINK_CAP_ACK },
		{ BF_NL_F_STRICT_CHK, NETLINK_GET_STRICT_CHK },
		{ BF_NL_F_NO_ENOBUFS, NETLINK_NO_ENOBUFS },
		{ BF_NL_F_BROADCAST_ERROR, NETLINK_BROADCAST_ERROR },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); ++i) {
		int on = !!(s->nlflags & map[i].flag);

		bf_pl_real.setsockopt(s->kernel_fd, SOL_NETLINK, map[i].opt,
				      &on, sizeof(on));
	}
}

int bf_pl_kernel_open(struct bf_pl_sock *s)
{
	struct sockaddr_nl addr = { .nl_family = AF_NETLINK };
	socklen_t alen = sizeof(addr);
	int fd, bufsz = 1 << 20;

	if (s->kernel_fd >= 0) {
		_bf_pl_kernel_opts(s);
		return 0;
	}

	fd = bf_pl_real.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC,
			       NETLINK_NETFILTER);
	if (fd < 0)
		return -errno;
	if (bf_pl_real.bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    bf_pl_real.getsockname(fd, (struct sockaddr *)&addr, &alen) < 0) {
		int r = -errno;

		bf_pl_real.close(fd);
		return r;
	}
	bf_pl_real.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));

	s->kernel_fd = fd;
	s->kernel_portid = addr.nl_pid;
	_bf_pl_kernel_opts(s);
	bf_pl_dbg("pass-through kernel socket, kernel portid %u",
		  s->kernel_portid);

	return 0;
}

/* Kernel replies to us name the kernel socket's portid: show ours. */
static void _bf_pl_kernel_fix_pid(struct bf_pl_sock *s, uint8_t *buf,
				  size_t len)
{
	while (len >= NLMSG_HDRLEN) {
		struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
		size_t step;

		if (nlh->nlmsg_len < NLMSG_HDRLEN || nlh->nlmsg_len > len)
			break;
		if (nlh->nlmsg_pid == s->kernel_portid)
			nlh->nlmsg_pid = s->portid;
		step = BF_PL_MIN((size_t)NLMSG_ALIGN(nlh->nlmsg_len), len);
		buf += step;
		len -= step;
	}
}

/*
 * Move what the kernel socket holds to the application. A dump is built by
 * the kernel as it is read, so reading until EAGAIN gets all of it; past
 * BF_PL_KERNEL_HIGH queued bytes the rest waits for the application to
 * read (bf_pl_refill), as the kernel would wait (trap H).
 */
static void _bf_pl_kernel_drain(struct bf_pl_sock *s)
{
	s->kernel_pending = false;

	while (s->kernel_fd >= 0) {
		uint8_t peek[1];
		uint8_t *buf;
		ssize_t n;

		if (s->qbytes >= BF_PL_KERNEL_HIGH) {
			s->kernel_pending = true;
			return;
		}

		n = bf_pl_real.recv(s->kernel_fd, peek, sizeof(peek),
				    MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				bf_pl_dbg("kernel socket: %s", strerror(errno));
			if (errno == ENOBUFS)
				continue;
			return;
		}

		buf = malloc((size_t)n ?: 1);
		if (!buf)
			return;
		n = bf_pl_real.recv(s->kernel_fd, buf, (size_t)n, MSG_DONTWAIT);
		if (n > 0) {
			_bf_pl_kernel_fix_pid(s, buf, (size_t)n);
			_bf_pl_deliver(s, buf, (size_t)n);
		}
		free(buf);
	}
}

static int _bf_pl_kernel_send(struct bf_pl_sock *s, const uint8_t *buf,
			      size_t len)
{
	struct sockaddr_nl dst = { .nl_family = AF_NETLINK };
	int r;

	r = bf_pl_kernel_open(s);
	if (r)
		return r;

	if (bf_pl_real.sendto(s->kernel_fd, buf, len, 0, (struct sockaddr *)&dst,
			      sizeof(dst)) < 0)
		return -errno;

	/* Replies are queued by the kernel inside sendto: take them now. */
	_bf_pl_kernel_drain(s);

	return 0;
}

static bool _bf_pl_subsys_served(unsigned int subsys)
{
	return subsys == NFNL_SUBSYS_NFTABLES || subsys == NFNL_SUBSYS_NFT_COMPAT;
}

static bool _bf_pl_msg_ok(const uint8_t *p, size_t rem)
{
	const struct nlmsghdr *nlh = (const void *)p;

	return rem >= NLMSG_HDRLEN && nlh->nlmsg_len >= NLMSG_HDRLEN &&
	       nlh->nlmsg_len <= rem;
}

/*
 * Length of the run of messages at the start of @buf that go to the same
 * place; *daemon says where. A batch (BATCH_BEGIN first in the datagram)
 * goes whole by its res_id, as nfnetlink treats the rest of the datagram
 * as the batch. A malformed message ends the datagram for the kernel: it
 * stays with the current run.
 */
static size_t _bf_pl_segment(const uint8_t *buf, size_t len, bool first,
			     bool *daemon)
{
	const struct nlmsghdr *nlh = (const void *)buf;
	size_t off;

	if (!_bf_pl_msg_ok(buf, len)) {
		*daemon = false;
		return len;
	}

	if (first && nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN) {
		struct nfgenmsg nfg;
		uint16_t res_id;

		if (len < NLMSG_HDRLEN + sizeof(nfg)) {
			*daemon = false;
			return len;
		}
		memcpy(&nfg, buf + NLMSG_HDRLEN, sizeof(nfg));
		res_id = nfg.res_id == NFNL_SUBSYS_NFTABLES ?
				 NFNL_SUBSYS_NFTABLES : ntohs(nfg.res_id);
		*daemon = _bf_pl_subsys_served(res_id);
		return len;
	}

	*daemon = _bf_pl_subsys_served(NFNL_SUBSYS_ID(nlh->nlmsg_type));
	off = BF_PL_MIN((size_t)NLMSG_ALIGN(nlh->nlmsg_len), len);
	while (off < len) {
		nlh = (const void *)(buf + off);
		if (!_bf_pl_msg_ok(buf + off, len - off))
			return len;
		if (_bf_pl_subsys_served(NFNL_SUBSYS_ID(nlh->nlmsg_type)) !=
		    *daemon)
			break;
		off += BF_PL_MIN((size_t)NLMSG_ALIGN(nlh->nlmsg_len), len - off);
	}

	return off;
}

ssize_t bf_pl_sendmsg(struct bf_pl_sock *s, const uint8_t *buf, size_t len)
{
	size_t off = 0;
	int r;

	pthread_mutex_lock(&s->lock);

	/* Sending autobinds, as netlink_sendmsg() does. */
	r = bf_pl_ensure_bound(s, 0);

	while (!r && (off < len || !len)) {
		bool daemon;
		size_t n = _bf_pl_segment(buf + off, len - off, off == 0,
					  &daemon);

		bf_pl_dbg("send %zu bytes to the %s", n,
			  daemon ? "daemon" : "kernel");
		r = daemon ? _bf_pl_daemon_send(s, buf + off, n) :
			     _bf_pl_kernel_send(s, buf + off, n);
		off += n;
		if (!len)
			break;
	}

	pthread_mutex_unlock(&s->lock);

	return r ? r : (ssize_t)len;
}

static bool _bf_pl_group_daemon(uint32_t group)
{
	return group == NFNLGRP_NFTABLES || group == NFNLGRP_NFTRACE;
}

static void *_bf_pl_pump(void *arg);

static int _bf_pl_pump_start(struct bf_pl_sock *s)
{
	uint64_t one = 1;

	if (s->pump_running) {
		/* New fds to watch. */
		if (bf_pl_real.write(s->wake_fd, &one, sizeof(one)) < 0)
			return 0;
		return 0;
	}

	if (s->wake_fd < 0) {
		s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (s->wake_fd < 0)
			return -errno;
	}
	s->closing = false;
	if (pthread_create(&s->pump, NULL, _bf_pl_pump, s))
		return -EAGAIN;
	s->pump_running = true;

	return 0;
}

void bf_pl_pump_stop(struct bf_pl_sock *s)
{
	uint64_t one = 1;
	bool running;

	pthread_mutex_lock(&s->lock);
	running = s->pump_running;
	s->closing = true;
	pthread_mutex_unlock(&s->lock);

	if (!running)
		return;

	if (bf_pl_real.write(s->wake_fd, &one, sizeof(one)) < 0)
		bf_pl_dbg("cannot wake the pump: %s", strerror(errno));
	pthread_join(s->pump, NULL);
	s->pump_running = false;
}

int bf_pl_group(struct bf_pl_sock *s, uint32_t group, bool add)
{
	uint64_t bit;
	int r;

	if (!group || group > NFNLGRP_MAX)
		return -EINVAL;
	bit = 1ull << (group - 1);

	pthread_mutex_lock(&s->lock);

	if (_bf_pl_group_daemon(group)) {
		struct bf_nl_group req = { .group = group, .add = add };

		r = bf_pl_ensure_bound(s, 0);
		if (!r)
			r = bf_pl_frame_write(s->daemon_fd, BF_MSG_NL_GROUP, 0,
					      &req, sizeof(req), NULL, 0);
		if (!r)
			r = _bf_pl_wait_done(s);
	} else {
		int opt = add ? NETLINK_ADD_MEMBERSHIP : NETLINK_DROP_MEMBERSHIP;

		r = bf_pl_kernel_open(s);
		if (!r && bf_pl_real.setsockopt(s->kernel_fd, SOL_NETLINK, opt,
						&group, sizeof(group)) < 0)
			r = -errno;
	}

	if (!r) {
		if (add)
			s->groups |= bit;
		else
			s->groups &= ~bit;
		if (s->groups)
			r = _bf_pl_pump_start(s);
	}

	pthread_mutex_unlock(&s->lock);

	return r;
}

/* Lock held: take every complete NL_EVENT the daemon has sent. */
static void _bf_pl_pump_daemon(struct bf_pl_sock *s)
{
	for (;;) {
		struct pollfd p = { .fd = s->daemon_fd, .events = POLLIN };
		uint16_t type, flags;
		uint8_t *payload;
		size_t len;
		int r;

		if (s->daemon_fd < 0 || poll(&p, 1, 0) <= 0)
			return;
		if (!(p.revents & POLLIN)) {
			_bf_pl_lost(s, -ECONNRESET);
			return;
		}

		r = bf_pl_frame_read(s->daemon_fd, &type, &flags, &payload,
				     &len);
		if (r) {
			_bf_pl_lost(s, r);
			return;
		}
		if (type == BF_MSG_NL_EVENT && len >= sizeof(struct bf_nl_event))
			_bf_pl_deliver(s, payload + sizeof(struct bf_nl_event),
				       len - sizeof(struct bf_nl_event));
		else
			bf_pl_dbg("unexpected frame type %u outside a request",
				  type);
		free(payload);
	}
}

static void *_bf_pl_pump(void *arg)
{
	struct bf_pl_sock *s = arg;

	for (;;) {
		struct pollfd p[3];
		int dfd, kfd, n = 0, r;

		pthread_mutex_lock(&s->lock);
		if (s->closing) {
			pthread_mutex_unlock(&s->lock);
			break;
		}
		dfd = s->daemon_fd;
		kfd = s->kernel_fd;
		pthread_mutex_unlock(&s->lock);

		p[n++] = (struct pollfd) { .fd = s->wake_fd, .events = POLLIN };
		if (dfd >= 0)
			p[n++] = (struct pollfd) { .fd = dfd, .events = POLLIN };
		if (kfd >= 0)
			p[n++] = (struct pollfd) { .fd = kfd, .events = POLLIN };

		r = poll(p, (nfds_t)n, -1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}

		if (p[0].revents) {
			uint64_t v;

			if (bf_pl_real.read(s->wake_fd, &v, sizeof(v)) < 0)
				bf_pl_dbg("pump wake-up: %s", strerror(errno));
			continue;
		}

		pthread_mutex_lock(&s->lock);
		if (dfd >= 0 && s->daemon_fd == dfd && s->owner == getpid())
			_bf_pl_pump_daemon(s);
		if (kfd >= 0 && s->kernel_fd == kfd)
			_bf_pl_kernel_drain(s);
		pthread_mutex_unlock(&s->lock);

		/* A lost daemon connection must not spin the loop. */
		if (dfd >= 0 && s->daemon_fd < 0 && kfd < 0)
			break;
	}

	return NULL;
}
