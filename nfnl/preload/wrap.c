/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libbpfilter-preload: the libc functions it replaces. Calls on fds that
 * are not interposed netlink sockets go straight to libc; on interposed
 * ones, netlink semantics are rebuilt around the socketpair: 12-byte
 * AF_NETLINK source addresses (trap B), portids (trap C), SOL_NETLINK
 * options kept here (trap D), dup/close/fork (trap I).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/netlink.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <bpfilter/proto.h>
#include "nfnl/preload/preload.h"

#define BF_PL_INIT() bf_pl_fork_init()

/* Set errno from a negative errno and return -1. */
static int _bf_pl_fail(int r)
{
	errno = -r;
	return -1;
}

static bool _bf_pl_wanted(int domain, int type, int protocol)
{
	int t = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);

	return domain == AF_NETLINK && protocol == NETLINK_NETFILTER &&
	       (t == SOCK_RAW || t == SOCK_DGRAM);
}

BF_PL_EXPORT int socket(int domain, int type, int protocol)
{
	int fd, r;

	BF_PL_INIT();
	if (!_bf_pl_wanted(domain, type, protocol))
		return bf_pl_real.socket(domain, type, protocol);

	r = bf_pl_create(type, &fd);
	if (r)
		return _bf_pl_fail(r);

	return fd;
}

static void _bf_pl_fill_addr(struct sockaddr *addr, socklen_t *alen,
			     uint32_t pid, uint32_t groups)
{
	struct sockaddr_nl nl = {
		.nl_family = AF_NETLINK,
		.nl_pid = pid,
		.nl_groups = groups,
	};

	if (!addr || !alen)
		return;
	memcpy(addr, &nl, *alen < sizeof(nl) ? *alen : sizeof(nl));
	*alen = sizeof(nl);
}

BF_PL_EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct bf_pl_sock *s;
	struct sockaddr_nl nl;
	int r = 0;

	BF_PL_INIT();
	s = bf_pl_get(fd);
	if (!s)
		return bf_pl_real.bind(fd, addr, len);

	if (len < sizeof(nl)) {
		r = -EINVAL;
		goto out;
	}
	memcpy(&nl, addr, sizeof(nl));
	if (nl.nl_family != AF_NETLINK) {
		r = -EINVAL;
		goto out;
	}

	pthread_mutex_lock(&s->lock);
	if (s->bound && nl.nl_pid != s->portid)
		r = -EINVAL;
	else
		r = bf_pl_ensure_bound(s, nl.nl_pid);
	pthread_mutex_unlock(&s->lock);

	/* nl_groups replaces the membership of groups 1..32. */
	for (uint32_t g = 1; !r && g <= 32; ++g) {
		bool want = nl.nl_groups & (1u << (g - 1));
		bool have = s->groups & (1ull << (g - 1));

		if (want != have)
			r = bf_pl_group(s, g, want);
	}

out:
	bf_pl_put(s);
	return r ? _bf_pl_fail(r) : 0;
}

BF_PL_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct bf_pl_sock *s;
	struct sockaddr_nl nl;
	int r = 0;

	BF_PL_INIT();
	s = bf_pl_get(fd);
	if (!s)
		return bf_pl_real.connect(fd, addr, len);

	if (len < sizeof(sa_family_t)) {
		r = -EINVAL;
		goto out;
	}
	memset(&nl, 0, sizeof(nl));
	memcpy(&nl, addr, len < sizeof(nl) ? len : sizeof(nl));

	pthread_mutex_lock(&s->lock);
	if (nl.nl_family == AF_UNSPEC) {
		s->dst_pid = s->dst_group = 0;
	} else if (nl.nl_family != AF_NETLINK || len < sizeof(nl)) {
		r = -EINVAL;
	} else {
		r = bf_pl_ensure_bound(s, 0);
		if (!r) {
			s->dst_pid = nl.nl_pid;
			s->dst_group = nl.nl_groups;
		}
	}
	pthread_mutex_unlock(&s->lock);

out:
	bf_pl_put(s);
	return r ? _bf_pl_fail(r) : 0;
}

BF_PL_EXPORT int getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
	struct bf_pl_sock *s;

	BF_PL_INIT();
	s = bf_pl_get(fd);
	if (!s)
		return bf_pl_real.getsockname(fd, addr, len);

	pthread_mutex_lock(&s->lock);
	_bf_pl_fill_addr(addr, len, s->bound ? s->portid : 0,
			 (uint32_t)s->groups);
	pthread_mutex_unlock(&s->lock);
	bf_pl_put(s);

	return 0;
}

BF_PL_EXPORT int getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
	struct bf_pl_sock *s;

	BF_PL_INIT();
	s = bf_pl_get(fd);
	if (!s)
		return bf_pl_real.getpeername(fd, addr, len);

	pthread_mutex_lock(&s->lock);
	_bf_pl_fill_addr(addr, len, s->dst_pid, s->dst_group);
	pthread_mutex_unlock(&s->lock);
	bf_pl_put(s);

	return 0;
}

/* SOL_NETLINK flag options and the BF_NL_F_* bit each maps to. */
static uint32_t _bf_pl_nlflag(int opt)
{
	switch (opt) {
	case NETLINK_EXT_ACK:
		return BF_NL_F_EXT_ACK;
	case NETLINK_CAP_ACK:
		return BF_NL_F_CAP_ACK;
	case NETLINK_GET_STRICT_CHK:
		return BF_NL_F_STRICT_CHK;
	case NETLINK_NO_ENOBUFS:
		return BF_NL_F_NO_ENOBUFS;
	case NETLINK_BROADCAST_ERROR:
		return BF_NL_F_BROADCAST_ERROR;
	case NETLINK_LISTEN_ALL_NSID:
		return BF_NL_F_LISTEN_ALL_NSID;
	default:
		return 0;
	}
}

static int _bf_pl_setsockopt_nl(struct bf_pl_sock *s, int opt,
				const void *val, socklen_t len)
{
	uint32_t flag = _bf_pl_nlflag(opt);
	int v = 0;

	/* netlink_setsockopt(): a short value reads as 0. */
	if (len >= sizeof(int))
		memcpy(&v, val, sizeof(v));

	switch (opt) {
	case NETLINK_ADD_MEMBERSHIP:
	case NETLINK_DROP_MEMBERSHIP:
		return bf_pl_group(s, (uint32_t)v, opt == NETLINK_ADD_MEMBERSHIP);
	case NETLINK_PKTINFO:
		pthread_mutex_lock(&s->lock);
		s->pktinfo = v;
		pthread_mutex_unlock(&s->lock);
		return 0;
	default:
		if (!flag)
			return -ENOPROTOOPT;
		pthread_mutex_lock(&s->lock);
		if (v)
			s->nlflags |= flag;
		else
			s->nlflags &= ~flag;
		/* The pass-through socket formats its errors the same way. */
		if (s->kernel_fd >= 0)
			bf_pl_real.setsockopt(s->kernel_fd, SOL_NETLINK, opt,
					      &v, sizeof(v));
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
}

BF_PL_EXPORT int setsockopt(int fd, int level, int opt, const void *val,
			    socklen_t len)
{
	struct bf_pl_sock *s;
	int r;

	BF_PL_INIT();
	s = bf_pl_get(fd);
	if (!s)
		return bf_pl_real.setsockopt(fd, level, opt, val, len);

	if (level == SOL_NETLINK) {
		r = _bf_pl_setsockopt_nl(s, opt, val, len);
		bf_pl_put(s);
		return r ? _bf_pl_fail(r) : 0;
	}

	/* SOL_SOCKET (SO_SNDBUF, SO_RCVBUF(FORCE)...) on the socketpair end. */
	bf_pl_put(s);
	return bf_pl_real.setsockopt(fd, level, opt, val, len);
}

static int _bf_pl_getsockopt_nl(struct bf_pl_sock *s, int opt, void *val,
				socklen_t *len)
{
	uint32_t flag = _bf_pl_nlflag(opt);
	int v;

	if (!len)
		return -EFAULT;

	if (opt == NETLINK_LIST_MEMBERSHIPS) {
		/* NFNLGRP_MAX groups: one u32. */
		uint32_t g;
		socklen_t n = *len < sizeof(g) ? *len : sizeof(g);

		pthread_mutex_lock(&s->lock);
		g = (uint32_t)s->groups;
		pthread_mutex_unlock(&s->lock);
		if (val)
			memcpy(val, &g, n);
		*len = sizeof(g);
		return 0;
	}

	if (!flag && opt != NETLINK_PKTINFO)
		return -ENOPROTOOPT;
	if (*len < sizeof(int))
		return -EINVAL;

	pthread_mutex_lock(&s->lock);
	v = opt == NETLINK_PKTINFO ? s->pktinfo : !!(s->nlflags & flag);
	pthread_mutex_unlock(&s->lock);
	memcpy(val, &v, sizeof(v));
	*len = sizeof(v);

	return 0;
}

BF_PL_EXPORT int getsockopt(int fd, int level, int opt, void *val,
			    socklen_t *len)
{
	struct bf_pl_sock *s;
	int r, v = -1;

	BF_PL_INIT();
	s = bf_pl_get(fd);
	if (!s)
		return bf_pl_real.getsockopt(fd, level, opt, val, len);

	if (level == SOL_NETLINK) {
		r = _bf_pl_getsockopt_nl(s, opt, val, len);
		bf_pl_put(s);
		return r ? _bf_pl_fail(r) : 0;
	}

	if (level == SOL_SOCKET) {
		if (opt == SO_DOMAIN)
			v = AF_NETLINK;
		else if (opt == SO_PROTOCOL)
			v = NETLINK_NETFILTER;
		else if (opt == SO_TYPE)
			v = s->type;
	}
	bf_pl_put(s);

	if (v >= 0) {
		if (!len || *len < sizeof(int))
			return _bf_pl_fail(-EINVAL);
		memcpy(val, &v, sizeof(v));
		*len = sizeof(v);
		return 0;
	}

	return bf_pl_real.getsockopt(fd, level, opt, val, len);
}

/* netlink_sendmsg(): destination, size against SO_SNDBUF, then send. */
static ssize_t _bf_pl_send(struct bf_pl_sock *s, int fd, const void *buf,
			   size_t len, const struct sockaddr *dst,
			   socklen_t dlen)
{
	int sndbuf = 0;
	socklen_t sl = sizeof(sndbuf);
	uint32_t dst_pid;

	if (dst) {
		struct sockaddr_nl nl;

		if (dlen < sizeof(nl))
			return -EINVAL;
		memcpy(&nl, dst, sizeof(nl));
		if (nl.nl_family != AF_NETLINK)
			return -EINVAL;
		dst_pid = nl.nl_pid;
	} else {
		pthread_mutex_lock(&s->lock);
		dst_pid = s->dst_pid;
		pthread_mutex_unlock(&s->lock);
	}
	/* Other userspace sockets are out of reach. */
	if (dst_pid)
		return -ECONNREFUSED;

	if (bf_pl_real.getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &sl) == 0 &&
	    len > (size_t)sndbuf - 32)
		return -EMSGSIZE;

	return bf_pl_sendmsg(s, buf, len);
}

BF_PL_EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags,
			    const struct sockaddr *dst, socklen_t dlen)
{
	struct bf_pl_sock *s;
	ssize_t r;

	BF_PL_INIT();
	s = bf_pl_get(fd);
	if (!s)
		return bf_pl_real.sendto(fd, buf, len, flags, dst, dlen);

	r = _bf_pl_send(s, fd, buf, len, dst, dlen);
	bf_pl_put(s);

	return r < 0 ? _bf_pl_fail((int)r) : r;
}

BF_PL_EXPORT ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	struct bf_pl_sock *s;
	ssize_t r;

	BF_PL_INIT();
	s = bf_pl_get(fd);
	if (!s)
		return bf_pl_real.send(fd, buf, len, flags);

	r = _bf_pl_send(s, fd, buf, len, NULL, 0);
	bf_pl_put(s);

	return r < 0 ? _bf_pl_fail((int)r) : r;
}

BF_PL_EXPORT ssize_t write(int fd, const void *buf, size_t len)
{
	struct bf_pl_sock *s;
	ssize_t r;

	if (!bf_pl_tracked(fd)) {
		BF_PL_INIT();
		return bf_pl_real.write(fd, buf, len);
	}
	s = bf_pl_get(fd);
	if (!s)
		return bf_pl_real.write(fd, buf, len);

	r = _bf_pl_send(s, fd, buf, len, NULL, 0);
	bf_pl_put(s);

	return r < 0 ? _bf_pl_fail((int)r) : r;
}

BF_PL_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	struct bf_pl_sock *s;
	uint8_t *buf = NULL;
	size_t len = 0, off = 0;
	ssize_t r;

	BF_PL_INIT();
	s = bf_pl_get(fd);
	if (!s)
		return bf_pl_real.sendmsg(fd, msg, flags);

	for (size_t i = 0; i < msg->msg_iovlen; ++i)
		len += msg->msg_iov[i].iov_len;

	if (msg->msg_iovlen == 1) {
		buf = msg->msg_iov[0].iov_base;
	} else {
		buf = malloc(len ?: 1);
		if (!buf) {
			bf_pl_put(s);
			return _bf_pl_fail(-ENOMEM);
		}
		for (size_t i = 0; i < msg->msg_iovlen; ++i) {
			memcpy(buf + off, msg->msg_iov[i].iov_base,
			       msg->msg_iov[i].iov_len);
			off += msg->msg_iov[i].iov_len;
		}
	}

	r = _bf_pl_send(s, fd, buf, len, msg->msg_name, msg->msg_namelen);
	if (msg->msg_iovlen != 1)
		free(buf);
	bf_pl_put(s);

	return r < 0 ? _bf_pl_fail((int)r) : r;
}

/* Before and after a read: move queued replies into the socket. */
static void _bf_pl_refill(struct bf_pl_sock *s)
{
	pthread_mutex_lock(&s->lock);
	if (s->qhead || s->kernel_pending)
		bf_pl_refill(s);
	pthread_mutex_unlock(&s->lock);
}

BF_PL_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	struct bf_pl_sock *s;
	socklen_t namelen;
	ssize_t r;

	BF_PL_INIT();
	s = bf_pl_get(fd);
	if (!s)
		return bf_pl_real.recvmsg(fd, msg, flags);

	_bf_pl_refill(s);
	namelen = msg->msg_name ? msg->msg_namelen : 0;
	r = bf_pl_real.recvmsg(fd, msg, flags);
	if (r >= 0) {
		/* The kernel is the source: {AF_NETLINK, nl_pid 0} (trap B). */
		if (msg->msg_name) {
			msg->msg_namelen = namelen;
			_bf_pl_fill_addr(msg->msg_name, &msg->msg_namelen, 0, 0);
		}
		msg->msg_controllen = 0;
		_bf_pl_refill(s);
	}
	bf_pl_put(s);

	return r;
}

BF_PL_EXPORT ssize_t recvfrom(int fd, void *buf, size_t len, int flags,
			      struct sockaddr *src, socklen_t *slen)
{
	struct bf_pl_sock *s;
	ssize_t r;

	BF_PL_INIT();
	s = bf_pl_get(fd);
	if (!s)
		return bf_pl_real.recvfrom(fd, buf, len, flags, src, slen);

	_bf_pl_refill(s);
	r = bf_pl_real.recvfrom(fd, buf, len, flags, NULL, NULL);
	if (r >= 0) {
		_bf_pl_fill_addr(src, slen, 0, 0);
		_bf_pl_refill(s);
	}
	bf_pl_put(s);

	return r;
}

BF_PL_EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	return recvfrom(fd, buf, len, flags, NULL, NULL);
}

BF_PL_EXPORT ssize_t read(int fd, void *buf, size_t len)
{
	struct bf_pl_sock *s;
	ssize_t r;

	if (!bf_pl_tracked(fd)) {
		BF_PL_INIT();
		return bf_pl_real.read(fd, buf, len);
	}
	s = bf_pl_get(fd);
	if (!s)
		return bf_pl_real.read(fd, buf, len);

	_bf_pl_refill(s);
	r = bf_pl_real.read(fd, buf, len);
	if (r >= 0)
		_bf_pl_refill(s);
	bf_pl_put(s);

	return r;
}

BF_PL_EXPORT int close(int fd)
{
	BF_PL_INIT();
	/* The private fds go with the last fd of the socket (trap I). */
	bf_pl_detach(fd);

	return bf_pl_real.close(fd);
}

BF_PL_EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	BF_PL_INIT();
	if (!bf_pl_real.close_range)
		return _bf_pl_fail(-ENOSYS);

	/* CLOSE_RANGE_CLOEXEC only marks the fds: they stay open. */
	if (!(flags & CLOSE_RANGE_CLOEXEC)) {
		for (unsigned int fd = first; fd <= last && fd < BF_PL_MAX_FD;
		     ++fd)
			bf_pl_detach((int)fd);
	}

	return bf_pl_real.close_range(first, last, flags);
}

static int _bf_pl_dup_track(int oldfd, int newfd)
{
	struct bf_pl_sock *s;

	if (newfd < 0)
		return newfd;

	s = bf_pl_get(oldfd);
	if (s) {
		bf_pl_attach(newfd, s);
		bf_pl_put(s);
	} else {
		/* newfd was closed and reused by the dup: forget it. */
		bf_pl_detach(newfd);
	}

	return newfd;
}

BF_PL_EXPORT int dup(int fd)
{
	BF_PL_INIT();
	return _bf_pl_dup_track(fd, bf_pl_real.dup(fd));
}

BF_PL_EXPORT int dup2(int oldfd, int newfd)
{
	BF_PL_INIT();
	if (oldfd == newfd)
		return bf_pl_real.dup2(oldfd, newfd);
	return _bf_pl_dup_track(oldfd, bf_pl_real.dup2(oldfd, newfd));
}

BF_PL_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	BF_PL_INIT();
	return _bf_pl_dup_track(oldfd, bf_pl_real.dup3(oldfd, newfd, flags));
}

static int _bf_pl_fcntl(int (*real)(int, int, ...), int fd, int cmd,
			void *arg)
{
	int r;

	if (!real)
		return _bf_pl_fail(-ENOSYS);

	r = real(fd, cmd, arg);
	if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
		return _bf_pl_dup_track(fd, r);

	return r;
}

/*
 * The argument is an int or a pointer depending on @cmd; both are passed
 * in the same register by the ABIs glibc supports, as glibc does itself.
 */
BF_PL_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	BF_PL_INIT();
	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);

	return _bf_pl_fcntl(bf_pl_real.fcntl, fd, cmd, arg);
}

BF_PL_EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	BF_PL_INIT();
	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);

	return _bf_pl_fcntl(bf_pl_real.fcntl64 ?: bf_pl_real.fcntl, fd, cmd,
			    arg);
}
