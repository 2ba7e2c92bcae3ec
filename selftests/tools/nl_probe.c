/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * nl_probe: checks the netlink semantics an application sees through
 * libbpfilter-preload (run it under bfexec). Plain libc, no libmnl.
 *
 *   nl_probe transport   every check below, one TAP-like line each
 *   nl_probe ctdump      dump the conntrack table (ctnetlink, subsystem 1)
 *                        and print what came back: run it with and without
 *                        bfexec, the outputs must match (pass-through)
 *
 * The differential checks send the same request once to subsystem 10
 * (nf_tables: the daemon) and once to a subsystem the kernel has no
 * handler for (passed through to the kernel), and compare the replies
 * byte for byte, the subsystem bytes aside: the daemon's default handler
 * must answer as a kernel without nf_tables.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

#define NFT_MSG_GETGEN 16
#define NFT_MSG_NEWTABLE 0
/* No nfnetlink subsystem has this id: the kernel answers -EINVAL. */
#define SUBSYS_NONE_HI 13

static int nfail;

static void check(bool ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void check(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s - ", ok ? "ok" : "not ok");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (!ok)
		++nfail;
}

struct reply {
	size_t len;
	uint8_t *data;
	socklen_t namelen;
	struct sockaddr_nl from;
};

struct replies {
	size_t n;
	struct reply r[4096];
};

static void replies_free(struct replies *rs)
{
	for (size_t i = 0; i < rs->n; ++i)
		free(rs->r[i].data);
	rs->n = 0;
}

static bool readable_now(int fd)
{
	struct timeval tv = { 0, 0 };
	fd_set set;

	FD_ZERO(&set);
	FD_SET(fd, &set);

	return select(fd + 1, &set, NULL, NULL, &tv) == 1;
}

/* Everything readable now, as nft reads after a send: stop at EAGAIN. */
static void drain(int fd, struct replies *rs)
{
	static uint8_t buf[1 << 20];

	while (readable_now(fd) && rs->n < sizeof(rs->r) / sizeof(rs->r[0])) {
		struct reply *r = &rs->r[rs->n];
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr msg = {
			.msg_name = &r->from,
			.msg_namelen = sizeof(r->from),
			.msg_iov = &iov,
			.msg_iovlen = 1,
		};
		ssize_t n = recvmsg(fd, &msg, 0);

		if (n < 0)
			break;
		r->len = (size_t)n;
		r->data = malloc((size_t)n);
		memcpy(r->data, buf, (size_t)n);
		r->namelen = msg.msg_namelen;
		++rs->n;
	}
}

static size_t put_msg(uint8_t *buf, uint16_t type, uint16_t flags,
		      uint32_t seq, uint16_t res_id, size_t extra)
{
	struct nlmsghdr nlh = {
		.nlmsg_len = (uint32_t)(NLMSG_HDRLEN + sizeof(struct nfgenmsg) +
					extra),
		.nlmsg_type = type,
		.nlmsg_flags = flags,
		.nlmsg_seq = seq,
	};
	struct nfgenmsg nfg = {
		.nfgen_family = AF_UNSPEC,
		.version = NFNETLINK_V0,
		.res_id = htons(res_id),
	};

	memcpy(buf, &nlh, sizeof(nlh));
	memcpy(buf + NLMSG_HDRLEN, &nfg, sizeof(nfg));
	memset(buf + NLMSG_HDRLEN + sizeof(nfg), 0xab, extra);

	return NLMSG_ALIGN(nlh.nlmsg_len);
}

static ssize_t send_nl(int fd, const void *buf, size_t len)
{
	struct sockaddr_nl dst = { .nl_family = AF_NETLINK };
	struct iovec iov = { (void *)buf, len };
	struct msghdr msg = {
		.msg_name = &dst,
		.msg_namelen = sizeof(dst),
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};

	return sendmsg(fd, &msg, 0);
}

static int open_nl(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);

	if (fd >= 0)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);

	return fd;
}

static int setopt(int fd, int level, int opt, int v)
{
	return setsockopt(fd, level, opt, &v, sizeof(v));
}

static const struct nlmsgerr *as_err(const struct reply *r)
{
	const struct nlmsghdr *nlh = (const void *)r->data;

	if (r->len < NLMSG_HDRLEN + sizeof(struct nlmsgerr) ||
	    nlh->nlmsg_type != NLMSG_ERROR)
		return NULL;

	return (const void *)(r->data + NLMSG_HDRLEN);
}

static uint32_t portid_of(int fd)
{
	struct sockaddr_nl a = { 0 };
	socklen_t l = sizeof(a);

	if (getsockname(fd, (struct sockaddr *)&a, &l) < 0 || l != sizeof(a) ||
	    a.nl_family != AF_NETLINK)
		return UINT32_MAX;

	return a.nl_pid;
}

/*
 * Send @req with the subsystem bytes set to @daemon_id, then to @kernel_id;
 * compare the replies with the bytes at @mask_off (2 bytes, relative to
 * each reply) cleared.
 */
static void differential(int fd, const char *what, uint8_t *req, size_t len,
			 size_t id_off, bool id_is_type, uint16_t daemon_id,
			 uint16_t kernel_id, size_t mask_off)
{
	struct replies a = { 0 }, b = { 0 };
	bool same;

	for (int pass = 0; pass < 2; ++pass) {
		uint16_t id = pass ? kernel_id : daemon_id;
		uint16_t v;

		if (id_is_type) {
			memcpy(&v, req + id_off, 2);
			v = (uint16_t)((id << 8) | (v & 0xff));
		} else {
			v = htons(id);
		}
		memcpy(req + id_off, &v, 2);
		if (send_nl(fd, req, len) != (ssize_t)len) {
			check(false, "%s: send: %s", what, strerror(errno));
			return;
		}
		drain(fd, pass ? &b : &a);
	}

	same = a.n == b.n && a.n > 0;
	for (size_t i = 0; same && i < a.n; ++i) {
		same = a.r[i].len == b.r[i].len && a.r[i].len >= mask_off + 2;
		if (same) {
			memset(a.r[i].data + mask_off, 0, 2);
			memset(b.r[i].data + mask_off, 0, 2);
			same = !memcmp(a.r[i].data, b.r[i].data, a.r[i].len);
		}
	}
	check(same, "%s: daemon (subsystem %u) and kernel (subsystem %u) answer alike: %zu vs %zu datagrams, error %d vs %d",
	      what, daemon_id, kernel_id, a.n, b.n,
	      a.n && as_err(&a.r[0]) ? as_err(&a.r[0])->error : 0,
	      b.n && as_err(&b.r[0]) ? as_err(&b.r[0])->error : 0);

	replies_free(&a);
	replies_free(&b);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		++n;
	closedir(d);

	return n;
}

/* GETGEN with NLM_F_ACK: exactly one NLMSG_ERROR comes back, at once. */
static bool ping(int fd, uint32_t seq)
{
	uint8_t buf[64];
	size_t len = put_msg(buf, NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETGEN,
			     NLM_F_REQUEST | NLM_F_ACK, seq, 0, 0);
	struct replies rs = { 0 };
	bool ok;

	if (send_nl(fd, buf, len) != (ssize_t)len)
		return false;
	drain(fd, &rs);
	ok = rs.n == 1 && as_err(&rs.r[0]) &&
	     ((struct nlmsghdr *)rs.r[0].data)->nlmsg_seq == seq;
	replies_free(&rs);

	return ok;
}

static void big_batch(int fd, size_t total, uint32_t seq)
{
	size_t msgsz = 1 << 16, off = 0, n;
	uint8_t *buf = malloc(total + 2 * msgsz);
	struct replies rs = { 0 };
	const struct nlmsgerr *e;
	int sndbuf = (int)(total + (1 << 20));

	setopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, sndbuf);
	off += put_msg(buf, NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, seq, NFNL_SUBSYS_NFTABLES, 0);
	for (n = 1; off < total; ++n)
		off += put_msg(buf + off, NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWTABLE,
			       NLM_F_REQUEST | NLM_F_CREATE, seq + (uint32_t)n,
			       0, msgsz - NLMSG_HDRLEN - 4);
	off += put_msg(buf + off, NFNL_MSG_BATCH_END, NLM_F_REQUEST, seq + (uint32_t)n,
		       NFNL_SUBSYS_NFTABLES, 0);

	check(send_nl(fd, buf, off) == (ssize_t)off, "%zu MiB batch sent in one sendmsg",
	      off >> 20);
	drain(fd, &rs);
	e = rs.n ? as_err(&rs.r[0]) : NULL;
	check(rs.n == 1 && e && e->error == -EOPNOTSUPP && e->msg.nlmsg_seq == seq,
	      "%zu MiB batch: one -EOPNOTSUPP on BEGIN, readable at once (got %zu replies)",
	      off >> 20, rs.n);
	replies_free(&rs);
	free(buf);
}

static int run_transport(void)
{
	uint8_t buf[256];
	struct replies rs = { 0 };
	const struct nlmsgerr *e;
	int fd, fd2, fd3, v, fds_before;
	socklen_t l;
	uint32_t p1, p2;
	size_t len;

	fds_before = count_fds();

	fd = open_nl();
	check(fd >= 0, "socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER): %s",
	      fd < 0 ? strerror(errno) : "ok");
	if (fd < 0)
		return 1;

	/* SOL_NETLINK options: accepted, read back, unknown refused. */
	check(setopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, 1) == 0,
	      "setsockopt NETLINK_EXT_ACK");
	check(setopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1) == 0,
	      "setsockopt NETLINK_GET_STRICT_CHK");
	v = 0;
	l = sizeof(v);
	check(getsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &v, &l) == 0 && v == 1 &&
	      l == sizeof(int), "getsockopt NETLINK_EXT_ACK reads 1");
	check(setopt(fd, SOL_NETLINK, 4242, 1) < 0 && errno == ENOPROTOOPT,
	      "unknown SOL_NETLINK option: ENOPROTOOPT");
	check(setopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, 4 << 20) == 0 &&
	      setopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, 4 << 20) == 0,
	      "SO_SNDBUFFORCE and SO_RCVBUFFORCE accepted");
	v = 0;
	l = sizeof(v);
	check(getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &l) == 0 &&
	      v == NETLINK_NETFILTER, "SO_PROTOCOL is NETLINK_NETFILTER");

	check(portid_of(fd) == 0, "unbound socket: getsockname portid 0");

	/* A batch: the answer is queued when sendmsg returns (trap A). */
	len = put_msg(buf, NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, 100, NFNL_SUBSYS_NFTABLES, 0);
	len += put_msg(buf + len, NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWTABLE,
		       NLM_F_REQUEST | NLM_F_CREATE, 101, 0, 8);
	len += put_msg(buf + len, NFNL_MSG_BATCH_END, NLM_F_REQUEST, 102, NFNL_SUBSYS_NFTABLES, 0);
	check(send_nl(fd, buf, len) == (ssize_t)len, "batch sendmsg returns its length");
	check(readable_now(fd), "reply readable right after sendmsg (zero-timeout select)");
	drain(fd, &rs);
	e = rs.n ? as_err(&rs.r[0]) : NULL;
	check(rs.n == 1 && e && e->error == -EOPNOTSUPP && e->msg.nlmsg_seq == 100,
	      "batch without nf_tables: one NLMSG_ERROR -EOPNOTSUPP on BEGIN's seq (%zu replies)",
	      rs.n);
	check(rs.n && rs.r[0].namelen == sizeof(struct sockaddr_nl) &&
	      rs.r[0].from.nl_family == AF_NETLINK && rs.r[0].from.nl_pid == 0,
	      "recvmsg source: 12-byte AF_NETLINK, nl_pid 0 (namelen %u)",
	      rs.n ? rs.r[0].namelen : 0);
	check(rs.n && ((struct nlmsghdr *)rs.r[0].data)->nlmsg_flags == 0 &&
	      rs.r[0].len == NLMSG_HDRLEN + sizeof(struct nlmsgerr) + 4,
	      "error reply: full copy of BEGIN, no CAPPED/ACK_TLVS flag");
	p1 = portid_of(fd);
	check(rs.n && p1 && p1 != UINT32_MAX &&
	      ((struct nlmsghdr *)rs.r[0].data)->nlmsg_pid == p1,
	      "sending autobound portid %u, reply nlmsg_pid matches", p1);
	check(p1 == (uint32_t)getpid(), "first socket's portid is the pid");
	replies_free(&rs);

	/* Portids: unique; explicit bind to a taken one fails. */
	fd2 = open_nl();
	{
		struct sockaddr_nl a = { .nl_family = AF_NETLINK };

		check(fd2 >= 0 && bind(fd2, (struct sockaddr *)&a, sizeof(a)) == 0,
		      "second socket: bind(portid 0)");
		p2 = portid_of(fd2);
		check(p2 && p2 != p1 && (int32_t)p2 <= -4096,
		      "second socket: unique portid %d", (int32_t)p2);
		fd3 = open_nl();
		a.nl_pid = p1;
		check(fd3 >= 0 && bind(fd3, (struct sockaddr *)&a, sizeof(a)) < 0 &&
		      errno == EADDRINUSE, "bind to a taken portid: EADDRINUSE");
		close(fd3);
	}

	/* Multicast groups: nf_tables groups are the daemon's. */
	check(setopt(fd2, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, NFNLGRP_NFTABLES) == 0,
	      "NETLINK_ADD_MEMBERSHIP NFNLGRP_NFTABLES");
	{
		uint32_t g = 0;

		l = sizeof(g);
		check(getsockopt(fd2, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, &g, &l) == 0 &&
		      g == 1u << (NFNLGRP_NFTABLES - 1),
		      "NETLINK_LIST_MEMBERSHIPS shows group %d", NFNLGRP_NFTABLES);
	}
	check(setopt(fd2, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, 99) < 0 && errno == EINVAL,
	      "NETLINK_ADD_MEMBERSHIP of a group that does not exist: EINVAL");
	check(ping(fd2, 7), "socket with a group (pump thread) still answers");
	check(setopt(fd2, SOL_NETLINK, NETLINK_DROP_MEMBERSHIP, NFNLGRP_NFTABLES) == 0,
	      "NETLINK_DROP_MEMBERSHIP");
	close(fd2);

	/* The default handler against the kernel's own missing-subsystem path. */
	len = put_msg(buf, 0, NLM_F_REQUEST, 200, 0, 0);
	differential(fd, "GETGEN request", buf, len, 4, true, NFNL_SUBSYS_NFTABLES,
		     SUBSYS_NONE_HI, NLMSG_HDRLEN + 4 + 4);
	len = put_msg(buf, NFT_MSG_GETGEN, NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP, 201, 0, 12);
	len += put_msg(buf + len, 1, NLM_F_ACK, 202, 0, 0);
	differential(fd, "dump request + ACK-only message", buf, len, 4, true,
		     NFNL_SUBSYS_NFTABLES, SUBSYS_NONE_HI, NLMSG_HDRLEN + 4 + 4);
	len = put_msg(buf, NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, 300, 0, 0);
	len += put_msg(buf + len, NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWTABLE,
		       NLM_F_REQUEST | NLM_F_CREATE | NLM_F_ACK, 301, 0, 8);
	len += put_msg(buf + len, NFNL_MSG_BATCH_END, NLM_F_REQUEST, 302, 0, 0);
	differential(fd, "batch", buf, len, NLMSG_HDRLEN + 2, false,
		     NFNL_SUBSYS_NFTABLES, 0,
		     NLMSG_HDRLEN + 4 + NLMSG_HDRLEN + 2);
	check(setopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, 1) == 0, "setsockopt NETLINK_CAP_ACK");
	differential(fd, "batch with NETLINK_CAP_ACK", buf, len, NLMSG_HDRLEN + 2, false,
		     NFNL_SUBSYS_NFTABLES, 0, 0);
	len = put_msg(buf, 0, NLM_F_REQUEST | NLM_F_ACK, 400, 0, 0);
	differential(fd, "request with NETLINK_CAP_ACK", buf, len, 4, true,
		     NFNL_SUBSYS_NFTABLES, SUBSYS_NONE_HI, NLMSG_HDRLEN + 4 + 4);
	setopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, 0);

	/* A send larger than SO_SNDBUF fails as netlink_sendmsg() fails. */
	{
		size_t sz = 8 << 20;
		uint8_t *big = calloc(1, sz);

		put_msg(big, NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, 1, NFNL_SUBSYS_NFTABLES, 0);
		setopt(fd, SOL_SOCKET, SO_SNDBUF, 1 << 20);
		check(send_nl(fd, big, sz) < 0 && errno == EMSGSIZE,
		      "8 MiB send with a 2 MiB SO_SNDBUF: EMSGSIZE");
		free(big);
	}

	/* Big batches (trap E), including one above the 64 MiB frame limit. */
	big_batch(fd, 16 << 20, 1000);
	big_batch(fd, 72 << 20, 2000);

	/* Many replies: more than the socketpair holds, delivered in order. */
	{
		size_t msgsz = 1 << 16, nmsg = 640, off = 0;
		uint8_t *req = malloc(nmsg * msgsz);
		bool inorder = true;
		size_t got = 0;

		for (size_t i = 0; i < nmsg; ++i)
			off += put_msg(req + off, NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETGEN,
				       NLM_F_REQUEST, (uint32_t)(5000 + i), 0,
				       msgsz - NLMSG_HDRLEN - 4);
		setopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, (int)off + (1 << 20));
		check(send_nl(fd, req, off) == (ssize_t)off,
		      "%zu MiB of requests each answered with a full copy", off >> 20);
		for (;;) {
			drain(fd, &rs);
			if (!rs.n)
				break;
			for (size_t i = 0; i < rs.n; ++i) {
				e = as_err(&rs.r[i]);
				if (!e || e->error != -EINVAL ||
				    e->msg.nlmsg_seq != 5000 + got + i)
					inorder = false;
			}
			got += rs.n;
			replies_free(&rs);
		}
		check(got == nmsg && inorder, "%zu of %zu error replies, in order", got, nmsg);
		free(req);
	}

	/* dup: both fds are the same socket; closing one keeps the other. */
	fd2 = dup(fd);
	check(fd2 >= 0 && ping(fd2, 11), "dup()ed fd sends and receives");
	fd3 = fcntl(fd, F_DUPFD_CLOEXEC, 100);
	check(fd3 >= 100 && ping(fd3, 12), "fcntl(F_DUPFD_CLOEXEC) fd works");
	close(fd3);
	close(fd);
	check(ping(fd2, 13) && portid_of(fd2) == p1,
	      "original closed: the dup keeps the socket and its portid");
	fd = fd2;

	/* fork: the child uses the inherited socket. */
	{
		pid_t pid = fork();
		int status = -1;

		if (pid == 0)
			_exit(ping(fd, 21) && portid_of(fd) == p1 ? 0 : 1);
		waitpid(pid, &status, 0);
		check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "fork child sends and receives on the inherited socket");
		check(ping(fd, 22), "parent still works after the child exited");
	}

	close(fd);
	check(count_fds() == fds_before,
	      "after close, no descriptor is left behind (%d, was %d)",
	      count_fds(), fds_before);

	return nfail ? 1 : 0;
}

/* Conntrack dump: print a summary the pass-through must reproduce. */
static int run_ctdump(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER);
	uint8_t buf[64];
	size_t len;
	int nmsg = 0, ndone = 0, nerr = 0, err = 0;
	uint32_t me;
	bool pid_ok = true;
	static uint8_t rbuf[1 << 16];

	if (fd < 0) {
		perror("socket");
		return 1;
	}
	{
		struct sockaddr_nl a = { .nl_family = AF_NETLINK };

		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
			perror("bind");
			return 1;
		}
	}
	me = portid_of(fd);

	len = put_msg(buf, NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_GET,
		      NLM_F_REQUEST | NLM_F_DUMP, 1, 0, 0);
	((struct nfgenmsg *)(buf + NLMSG_HDRLEN))->nfgen_family = AF_INET;
	if (send_nl(fd, buf, len) != (ssize_t)len) {
		perror("send");
		return 1;
	}

	while (!ndone && !nerr) {
		ssize_t n = recv(fd, rbuf, sizeof(rbuf), 0);
		const uint8_t *p = rbuf;

		if (n <= 0)
			break;
		while (n >= (ssize_t)NLMSG_HDRLEN) {
			const struct nlmsghdr *nlh = (const void *)p;

			if (nlh->nlmsg_len < NLMSG_HDRLEN || nlh->nlmsg_len > (size_t)n)
				break;
			if (nlh->nlmsg_pid != me)
				pid_ok = false;
			if (nlh->nlmsg_type == NLMSG_DONE) {
				++ndone;
			} else if (nlh->nlmsg_type == NLMSG_ERROR) {
				++nerr;
				err = ((const struct nlmsgerr *)NLMSG_DATA(nlh))->error;
			} else {
				++nmsg;
			}
			n -= NLMSG_ALIGN(nlh->nlmsg_len);
			p += NLMSG_ALIGN(nlh->nlmsg_len);
		}
	}
	printf("conntrack entries %d, done %d, errors %d (%d), nlmsg_pid %s\n",
	       nmsg, ndone, nerr, err, pid_ok ? "ours" : "WRONG");
	close(fd);

	return 0;
}

int main(int argc, char *argv[])
{
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (argc == 2 && !strcmp(argv[1], "transport"))
		return run_transport();
	if (argc == 2 && !strcmp(argv[1], "ctdump"))
		return run_ctdump();

	fprintf(stderr, "usage: %s transport|ctdump\n", argv[0]);
	return 2;
}
