/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bf_daemon_client: a small client of the daemon socket for
 * selftests/shell/daemon.sh. Not installed; built to
 * build/tools/bf_daemon_client and not linked into the daemon.
 *
 *   bf_daemon_client [-s SOCKET] [-T SECONDS] hello
 *   bf_daemon_client [-s SOCKET] [-T SECONDS] send TYPE [LEN [PAYLOAD]]
 *   bf_daemon_client [-s SOCKET] [-T SECONDS] pair
 *   bf_daemon_client [-s SOCKET] [-T SECONDS] stall
 *
 * Every socket has send and receive timeouts (default 5 s), so no command
 * waits forever. Exit 0: the exchange happened (the printed line tells what
 * the daemon answered); 1: I/O failure or unexpected reply; 2: usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <bpfilter/proto.h>

static const char *_sock_path = BF_RUNTIME_DIR_DEFAULT "/" BF_SOCKET_NAME;
static int _timeout_s = 5;

struct reply {
	struct bf_frame_hdr hdr;
	uint8_t *payload;
};

static int _connect(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = _timeout_s };
	int fd;

	if (strlen(_sock_path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "socket path too long: %s\n", _sock_path);
		return -1;
	}
	strcpy(addr.sun_path, _sock_path);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));

	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		fprintf(stderr, "connect %s: %s\n", _sock_path, strerror(errno));
		close(fd);
		return -1;
	}

	return fd;
}

/* Returns 0, or -errno (-ETIMEDOUT when the timeout expired). */
static int _write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		}
		p += n;
		len -= (size_t)n;
	}

	return 0;
}

/* Returns 0, -EPIPE on end of stream, or -errno. */
static int _read_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = recv(fd, p, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		}
		if (n == 0)
			return -EPIPE;
		p += n;
		len -= (size_t)n;
	}

	return 0;
}

static int _send_frame(int fd, uint16_t type, uint32_t len, size_t payload_len)
{
	struct bf_frame_hdr hdr = { .len = len, .type = type };
	uint8_t *payload;
	int r;

	r = _write_all(fd, &hdr, sizeof(hdr));
	if (r || !payload_len)
		return r;

	payload = calloc(1, payload_len);
	if (!payload)
		return -ENOMEM;
	r = _write_all(fd, payload, payload_len);
	free(payload);

	return r;
}

static int _recv_frame(int fd, struct reply *rep)
{
	size_t plen;
	int r;

	rep->payload = NULL;
	r = _read_all(fd, &rep->hdr, sizeof(rep->hdr));
	if (r)
		return r;
	if (rep->hdr.len < BF_FRAME_HDR_LEN || rep->hdr.len > BF_FRAME_MAX_LEN)
		return -EBADMSG;

	plen = rep->hdr.len - BF_FRAME_HDR_LEN;
	rep->payload = calloc(1, plen + 1); /* +1: messages end with NUL. */
	if (!rep->payload)
		return -ENOMEM;

	return _read_all(fd, rep->payload, plen);
}

static int _hello(int fd, struct bf_msg_hello *hello)
{
	struct reply rep;
	int r;

	r = _send_frame(fd, BF_MSG_HELLO, BF_FRAME_HDR_LEN, 0);
	if (!r)
		r = _recv_frame(fd, &rep);
	if (r)
		return r;

	if (rep.hdr.type != BF_MSG_HELLO ||
	    rep.hdr.len - BF_FRAME_HDR_LEN < sizeof(*hello)) {
		fprintf(stderr, "unexpected HELLO reply: type %u, len %u\n",
			rep.hdr.type, rep.hdr.len);
		free(rep.payload);
		return -EBADMSG;
	}

	memcpy(hello, rep.payload, sizeof(*hello));
	hello->version[sizeof(hello->version) - 1] = '\0';
	free(rep.payload);

	return 0;
}

static int _cmd_hello(void)
{
	static const char *const fronts[_BF_FRONT_MAX] = {
		[BF_FRONT_IPT] = "iptables",
		[BF_FRONT_NFT] = "nftables",
		[BF_FRONT_CLI] = "cli",
	};
	struct bf_msg_hello h;
	char fr[64] = "";
	int fd, r;

	fd = _connect();
	if (fd < 0)
		return 1;

	r = _hello(fd, &h);
	close(fd);
	if (r) {
		fprintf(stderr, "HELLO failed: %s\n", strerror(-r));
		return 1;
	}

	for (int i = 0; i < _BF_FRONT_MAX; ++i) {
		if (!(h.fronts & BF_FRONT_F(i)))
			continue;
		if (fr[0])
			strcat(fr, ",");
		strcat(fr, fronts[i]);
	}

	printf("proto=%u version=%s fronts=%s netns_ino=%llu netns_dev=%llu ctx_id=%llu netns_clients=%u pid=%u uid=%u gid=%u transient=%u\n",
	       h.proto, h.version, fr[0] ? fr : "none",
	       (unsigned long long)h.netns_ino,
	       (unsigned long long)h.netns_dev,
	       (unsigned long long)h.netns_ctx_id, h.netns_clients, h.peer_pid,
	       h.peer_uid, h.peer_gid, h.transient);

	return 0;
}

/* After an error reply: does the daemon still answer on this connection? */
static const char *_probe(int fd)
{
	struct bf_msg_hello h;
	int r = _hello(fd, &h);

	if (!r)
		return "open";
	if (r == -EPIPE || r == -ECONNRESET)
		return "closed";

	return strerror(-r);
}

static int _cmd_send(int argc, char *argv[])
{
	unsigned long type, len, plen = 0;
	struct reply rep;
	int fd, r;

	if (argc < 1 || argc > 3) {
		fprintf(stderr, "send TYPE [LEN [PAYLOAD_BYTES]]\n");
		return 2;
	}
	type = strtoul(argv[0], NULL, 0);
	if (argc >= 3)
		plen = strtoul(argv[2], NULL, 0);
	len = argc >= 2 ? strtoul(argv[1], NULL, 0) : BF_FRAME_HDR_LEN + plen;
	if (type > UINT16_MAX || len > UINT32_MAX) {
		fprintf(stderr, "TYPE or LEN out of range\n");
		return 2;
	}

	fd = _connect();
	if (fd < 0)
		return 1;

	r = _send_frame(fd, (uint16_t)type, (uint32_t)len, plen);
	if (!r)
		r = _recv_frame(fd, &rep);
	if (r) {
		fprintf(stderr, "no reply: %s\n", strerror(-r));
		close(fd);
		return 1;
	}

	if (rep.hdr.type == BF_MSG_ERROR &&
	    rep.hdr.len - BF_FRAME_HDR_LEN >= sizeof(struct bf_msg_error)) {
		struct bf_msg_error err;

		memcpy(&err, rep.payload, sizeof(err));
		printf("reply=error flags=0x%x error=%d req_type=%u msg=\"%s\"",
		       rep.hdr.flags, err.error, err.req_type,
		       (char *)rep.payload + sizeof(err));
	} else {
		printf("reply=%u flags=0x%x len=%u", rep.hdr.type,
		       rep.hdr.flags, rep.hdr.len);
	}
	free(rep.payload);

	printf(" connection=%s\n", _probe(fd));
	close(fd);

	return 0;
}

static int _cmd_pair(void)
{
	struct bf_msg_hello h1, h2;
	int fd1, fd2 = -1, r;

	fd1 = _connect();
	if (fd1 < 0)
		return 1;
	r = _hello(fd1, &h1);
	if (!r) {
		fd2 = _connect();
		r = fd2 < 0 ? -ENOTCONN : _hello(fd2, &h2);
	}
	close(fd1);
	if (fd2 >= 0)
		close(fd2);
	if (r) {
		fprintf(stderr, "HELLO failed: %s\n", strerror(-r));
		return 1;
	}

	printf("first_clients=%u second_clients=%u same_ctx=%d\n",
	       h1.netns_clients, h2.netns_clients,
	       h1.netns_ctx_id == h2.netns_ctx_id);

	return 0;
}

/*
 * One client stuck in the middle of a frame, one sending requests without
 * ever reading the replies until its socket is full: a third client's
 * HELLO must still be answered within the timeout.
 */
static int _cmd_stall(void)
{
	struct bf_frame_hdr hdr = { .len = BF_FRAME_HDR_LEN,
				    .type = BF_MSG_HELLO };
	struct bf_msg_hello h;
	unsigned long flood = 0;
	int partial, flooder, fd, r;

	partial = _connect();
	if (partial < 0)
		return 1;
	if (_write_all(partial, &hdr, 4)) {
		fprintf(stderr, "partial header: %s\n", strerror(errno));
		return 1;
	}

	flooder = _connect();
	if (flooder < 0)
		return 1;
	fcntl(flooder, F_SETFL, O_NONBLOCK);
	/*
	 * Send until the socket stays full for 500 ms: the daemon has stopped
	 * reading this client (its replies pile up unread). 16 Mi requests at
	 * most, so this ends even against a daemon without backpressure.
	 */
	while (flood < (16ul << 20)) {
		struct pollfd pfd = { .fd = flooder, .events = POLLOUT };
		ssize_t n = send(flooder, &hdr, sizeof(hdr), MSG_NOSIGNAL);

		if (n == (ssize_t)sizeof(hdr)) {
			++flood;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			r = poll(&pfd, 1, 500);
			if (r == 0)
				break;
			if (r > 0 || errno == EINTR)
				continue;
		}
		fprintf(stderr, "flood: %s\n", n < 0 ? strerror(errno) : "short send");
		return 1;
	}

	fd = _connect();
	if (fd < 0)
		return 1;
	r = _hello(fd, &h);
	close(fd);
	close(partial);
	close(flooder);
	if (r) {
		fprintf(stderr, "HELLO behind stalled clients failed: %s\n",
			strerror(-r));
		return 1;
	}

	printf("stall=ok flood_requests=%lu\n", flood);

	return 0;
}

static void _usage(FILE *f)
{
	fprintf(f, "usage: bf_daemon_client [-s SOCKET] [-T SECONDS] hello|pair|stall|send TYPE [LEN [PAYLOAD_BYTES]]\n");
}

int main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *cmd;
	int c;

	while ((c = getopt_long(argc, argv, "+s:T:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			_sock_path = optarg;
			break;
		case 'T':
			_timeout_s = atoi(optarg);
			if (_timeout_s <= 0) {
				fprintf(stderr, "bad timeout '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h':
			_usage(stdout);
			return 0;
		default:
			_usage(stderr);
			return 2;
		}
	}

	if (optind >= argc) {
		_usage(stderr);
		return 2;
	}
	cmd = argv[optind++];

	if (!strcmp(cmd, "hello"))
		return _cmd_hello();
	if (!strcmp(cmd, "send"))
		return _cmd_send(argc - optind, argv + optind);
	if (!strcmp(cmd, "pair"))
		return _cmd_pair();
	if (!strcmp(cmd, "stall"))
		return _cmd_stall();

	_usage(stderr);
	return 2;
}
