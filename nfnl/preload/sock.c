/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libbpfilter-preload: the fd table, socket lifetime (dup shares, last
 * close frees), the private connection to the daemon and its portid, and
 * fork handling. The wrappers live in wrap.c, the data path in io.c.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpfilter/proto.h>
#include "nfnl/preload/preload.h"

struct bf_pl_real bf_pl_real;

static _Atomic(struct bf_pl_sock *) _bf_pl_fds[BF_PL_MAX_FD];
static pthread_mutex_t _bf_pl_table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct bf_pl_sock *_bf_pl_socks;
static pthread_once_t _bf_pl_once = PTHREAD_ONCE_INIT;
static bool _bf_pl_debug;

void bf_pl_log(const char *fmt, ...)
{
	va_list ap;

	fputs("bpfilter-preload: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void bf_pl_dbg(const char *fmt, ...)
{
	va_list ap;

	if (!_bf_pl_debug)
		return;

	fprintf(stderr, "bpfilter-preload[%d]: ", (int)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void _bf_pl_fork_prepare(void)
{
	pthread_mutex_lock(&_bf_pl_table_lock);
	for (struct bf_pl_sock *s = _bf_pl_socks; s; s = s->next)
		pthread_mutex_lock(&s->lock);
}

static void _bf_pl_fork_parent(void)
{
	for (struct bf_pl_sock *s = _bf_pl_socks; s; s = s->next)
		pthread_mutex_unlock(&s->lock);
	pthread_mutex_unlock(&_bf_pl_table_lock);
}

/*
 * The child has the parent's fds but none of its threads. Each socket
 * reconnects to the daemon on first use (bf_pl_ensure_conn); the parent's
 * pump keeps delivering the multicast events both processes read.
 */
static void _bf_pl_fork_child(void)
{
	for (struct bf_pl_sock *s = _bf_pl_socks; s; s = s->next) {
		pthread_mutex_init(&s->lock, NULL);
		s->pump_running = false;
		if (s->wake_fd >= 0) {
			bf_pl_real.close(s->wake_fd);
			s->wake_fd = -1;
		}
	}
	pthread_mutex_init(&_bf_pl_table_lock, NULL);
}

#define BF_PL_RESOLVE(name) \
	bf_pl_real.name = (__typeof__(bf_pl_real.name))dlsym(RTLD_NEXT, #name)

static void _bf_pl_resolve(void)
{
	BF_PL_RESOLVE(socket);
	BF_PL_RESOLVE(bind);
	BF_PL_RESOLVE(connect);
	BF_PL_RESOLVE(getsockname);
	BF_PL_RESOLVE(getpeername);
	BF_PL_RESOLVE(setsockopt);
	BF_PL_RESOLVE(getsockopt);
	BF_PL_RESOLVE(send);
	BF_PL_RESOLVE(sendto);
	BF_PL_RESOLVE(sendmsg);
	BF_PL_RESOLVE(recv);
	BF_PL_RESOLVE(recvfrom);
	BF_PL_RESOLVE(recvmsg);
	BF_PL_RESOLVE(read);
	BF_PL_RESOLVE(write);
	BF_PL_RESOLVE(close);
	BF_PL_RESOLVE(close_range);
	BF_PL_RESOLVE(dup);
	BF_PL_RESOLVE(dup2);
	BF_PL_RESOLVE(dup3);
	BF_PL_RESOLVE(fcntl);
	BF_PL_RESOLVE(fcntl64);

	_bf_pl_debug = getenv("BPFILTER_PRELOAD_DEBUG") != NULL;
	pthread_atfork(_bf_pl_fork_prepare, _bf_pl_fork_parent,
		       _bf_pl_fork_child);
}

void bf_pl_fork_init(void)
{
	pthread_once(&_bf_pl_once, _bf_pl_resolve);
}

__attribute__((constructor)) static void _bf_pl_ctor(void)
{
	bf_pl_fork_init();
}

bool bf_pl_tracked(int fd)
{
	return fd >= 0 && fd < BF_PL_MAX_FD &&
	       atomic_load_explicit(&_bf_pl_fds[fd], memory_order_acquire);
}

struct bf_pl_sock *bf_pl_get(int fd)
{
	struct bf_pl_sock *s;

	if (!bf_pl_tracked(fd))
		return NULL;

	pthread_mutex_lock(&_bf_pl_table_lock);
	s = atomic_load(&_bf_pl_fds[fd]);
	if (s)
		++s->refs;
	pthread_mutex_unlock(&_bf_pl_table_lock);

	return s;
}

static void _bf_pl_destroy(struct bf_pl_sock *s)
{
	bf_pl_pump_stop(s);

	bf_pl_dbg("socket portid %u: closing", s->portid);
	if (s->daemon_fd >= 0)
		bf_pl_real.close(s->daemon_fd);
	if (s->peer_fd >= 0)
		bf_pl_real.close(s->peer_fd);
	if (s->kernel_fd >= 0)
		bf_pl_real.close(s->kernel_fd);
	if (s->wake_fd >= 0)
		bf_pl_real.close(s->wake_fd);
	bf_pl_queue_free(s);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* Table lock held. Returns true when @s must be destroyed. */
static bool _bf_pl_unref_locked(struct bf_pl_sock *s)
{
	if (--s->refs)
		return false;

	if (s->prev)
		s->prev->next = s->next;
	else
		_bf_pl_socks = s->next;
	if (s->next)
		s->next->prev = s->prev;

	return true;
}

void bf_pl_put(struct bf_pl_sock *s)
{
	bool last;

	if (!s)
		return;

	pthread_mutex_lock(&_bf_pl_table_lock);
	last = _bf_pl_unref_locked(s);
	pthread_mutex_unlock(&_bf_pl_table_lock);

	if (last)
		_bf_pl_destroy(s);
}

void bf_pl_attach(int fd, struct bf_pl_sock *s)
{
	struct bf_pl_sock *old;
	bool last = false;

	if (fd < 0 || fd >= BF_PL_MAX_FD)
		return;

	pthread_mutex_lock(&_bf_pl_table_lock);
	old = atomic_load(&_bf_pl_fds[fd]);
	++s->refs;
	atomic_store(&_bf_pl_fds[fd], s);
	/* A stale entry: the fd was closed behind our back. */
	if (old)
		last = _bf_pl_unref_locked(old);
	pthread_mutex_unlock(&_bf_pl_table_lock);

	if (last)
		_bf_pl_destroy(old);
}

void bf_pl_detach(int fd)
{
	struct bf_pl_sock *old;
	bool last = false;

	if (!bf_pl_tracked(fd))
		return;

	pthread_mutex_lock(&_bf_pl_table_lock);
	old = atomic_load(&_bf_pl_fds[fd]);
	atomic_store(&_bf_pl_fds[fd], NULL);
	if (old)
		last = _bf_pl_unref_locked(old);
	pthread_mutex_unlock(&_bf_pl_table_lock);

	if (last)
		_bf_pl_destroy(old);
}

static int _bf_pl_connect(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, r;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);

	fd = bf_pl_real.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;

	if (bf_pl_real.connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		r = -errno;
		bf_pl_real.close(fd);
		return r;
	}

	return fd;
}

/* Send NL_OPEN and wait for its answer (lock held). */
static int _bf_pl_open(struct bf_pl_sock *s, uint32_t portid, uint32_t flags)
{
	struct bf_nl_open req = {
		.protocol = NETLINK_NETFILTER,
		.portid = portid,
		.pid = (uint32_t)getpid(),
		.flags = flags,
	};
	uint16_t type, fflags;
	uint8_t *payload;
	size_t len;
	int r;

	r = bf_pl_frame_write(s->daemon_fd, BF_MSG_NL_OPEN, 0, &req,
			      sizeof(req), NULL, 0);
	if (r)
		return r;

	r = bf_pl_frame_read(s->daemon_fd, &type, &fflags, &payload, &len);
	if (r)
		return r;

	if (type == BF_MSG_NL_OPEN && len == sizeof(req)) {
		memcpy(&req, payload, sizeof(req));
		s->portid = req.portid;
		s->bound = true;
		bf_pl_dbg("bound to portid %u", s->portid);
	} else if (type == BF_MSG_ERROR && len >= sizeof(struct bf_msg_error)) {
		struct bf_msg_error err;

		memcpy(&err, payload, sizeof(err));
		r = err.error ?: -EPROTO;
		bf_pl_dbg("NL_OPEN refused: %s: %.*s", strerror(-r),
			  (int)(len - sizeof(err)),
			  (const char *)payload + sizeof(err));
	} else {
		r = -EPROTO;
	}
	free(payload);

	return r;
}

int bf_pl_ensure_conn(struct bf_pl_sock *s)
{
	pid_t me = getpid();
	int fd, r;

	if (s->owner == me)
		return s->daemon_fd >= 0 ? 0 : -ECONNRESET;

	/* A fork child: the parent's connection stays the parent's. */
	if (s->daemon_fd >= 0)
		bf_pl_real.close(s->daemon_fd);
	if (s->kernel_fd >= 0)
		bf_pl_real.close(s->kernel_fd);
	s->kernel_fd = -1;
	s->kernel_pending = false;
	s->daemon_fd = -1;
	s->owner = me;

	fd = _bf_pl_connect(s->sock_path);
	if (fd < 0) {
		bf_pl_log("cannot reconnect to the bpfilter daemon at %s after fork: %s",
			  s->sock_path, strerror(-fd));
		return -ECONNRESET;
	}
	s->daemon_fd = fd;

	if (s->bound) {
		s->bound = false;
		r = _bf_pl_open(s, s->portid, BF_NL_OPEN_F_SHARE);
		if (r)
			return r;
	}

	return 0;
}

int bf_pl_ensure_bound(struct bf_pl_sock *s, uint32_t portid)
{
	int r;

	r = bf_pl_ensure_conn(s);
	if (r)
		return r;

	if (s->bound)
		return 0;

	return _bf_pl_open(s, portid, 0);
}

static const char *_bf_pl_runtime_dir(void)
{
	const char *dir = getenv("BPFILTER_RUNTIME_DIR");

	return dir && *dir ? dir : BF_RUNTIME_DIR_DEFAULT;
}

static void _bf_pl_set_fl(int fd, int fdfl, int fl)
{
	if (fdfl >= 0)
		bf_pl_real.fcntl(fd, F_SETFD, fdfl);
	if (fl >= 0)
		bf_pl_real.fcntl(fd, F_SETFL, fl);
}

int bf_pl_create(int type, int *app_fd)
{
	int pair[2] = { -1, -1 };
	struct bf_pl_sock *s;
	int fd, bufsz, r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	s->type = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	s->peer_fd = s->daemon_fd = s->kernel_fd = s->wake_fd = -1;
	s->owner = getpid();

	r = snprintf(s->sock_path, sizeof(s->sock_path), "%s/%s",
		     _bf_pl_runtime_dir(), BF_SOCKET_NAME);
	if (r < 0 || (size_t)r >= sizeof(s->sock_path)) {
		bf_pl_log("socket path %s/%s is too long", _bf_pl_runtime_dir(),
			  BF_SOCKET_NAME);
		r = -ENAMETOOLONG;
		goto err;
	}

	fd = _bf_pl_connect(s->sock_path);
	if (fd < 0) {
		r = fd;
		bf_pl_log("cannot connect to the bpfilter daemon at %s: %s "
			  "(is bpfilter running? set BPFILTER_RUNTIME_DIR for another runtime directory)",
			  s->sock_path, strerror(-r));
		goto err;
	}
	s->daemon_fd = fd;

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair) < 0) {
		r = -errno;
		goto err;
	}
	if (pair[0] >= BF_PL_MAX_FD) {
		r = -EMFILE;
		goto err;
	}

	/* The application's end gets the flags it asked socket() for. */
	_bf_pl_set_fl(pair[0], type & SOCK_CLOEXEC ? FD_CLOEXEC : 0,
		      type & SOCK_NONBLOCK ? O_RDWR | O_NONBLOCK : -1);
	s->peer_fd = pair[1];

	/* Room for dumps: the queue in io.c takes what does not fit. */
	bufsz = 32 << 20;
	if (bf_pl_real.setsockopt(s->peer_fd, SOL_SOCKET, SO_SNDBUFFORCE,
				  &bufsz, sizeof(bufsz)) < 0) {
		bf_pl_real.setsockopt(s->peer_fd, SOL_SOCKET, SO_SNDBUF,
				      &bufsz, sizeof(bufsz));
	}

	pthread_mutex_lock(&_bf_pl_table_lock);
	s->next = _bf_pl_socks;
	if (_bf_pl_socks)
		_bf_pl_socks->prev = s;
	_bf_pl_socks = s;
	pthread_mutex_unlock(&_bf_pl_table_lock);

	bf_pl_attach(pair[0], s);
	*app_fd = pair[0];
	bf_pl_dbg("fd %d: NETLINK_NETFILTER socket through %s", pair[0],
		  s->sock_path);

	return 0;

err:
	if (pair[0] >= 0)
		bf_pl_real.close(pair[0]);
	if (pair[1] >= 0)
		bf_pl_real.close(pair[1]);
	if (s->daemon_fd >= 0)
		bf_pl_real.close(s->daemon_fd);
	pthread_mutex_destroy(&s->lock);
	free(s);

	return r;
}
