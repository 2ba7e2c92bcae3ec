/* SPDX-License-Identifier: GPL-2.0-only */
/* Registry of per-netns contexts: a small hash table keyed by inode. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpfilter/helpers.h>
#include <bpfilter/logger.h>

#include "daemon/netns.h"

#define BF_NETNS_BUCKETS 256

struct bf_netns_registry {
	struct bf_netns_ctx *buckets[BF_NETNS_BUCKETS];
	unsigned int count;
	uint64_t next_id;
};

static unsigned int _bf_netns_hash(dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)dev;

	return (unsigned int)(h >> 32) % BF_NETNS_BUCKETS;
}

int bf_netns_registry_new(struct bf_netns_registry **out)
{
	struct bf_netns_registry *reg = calloc(1, sizeof(*reg));

	if (!reg)
		return -ENOMEM;

	reg->next_id = 1;
	*out = reg;

	return 0;
}

static void _bf_netns_ctx_free(struct bf_netns_ctx *ctx)
{
	if (ctx->fd >= 0)
		close(ctx->fd);
	for (int i = 0; i < _BF_FRONT_MAX; ++i) {
		const struct bf_front_ops *ops = bf_front_get(i);

		/* Only the registry going away frees a context with state. */
		if (ctx->front[i] && ops && ops->netns_free) {
			ops->netns_free(ctx->front[i]);
			ctx->front[i] = NULL;
		}
		assert(!ctx->front[i]);
	}
	free(ctx);
}

void bf_netns_registry_free(struct bf_netns_registry **reg)
{
	if (!*reg)
		return;

	for (int i = 0; i < BF_NETNS_BUCKETS; ++i) {
		struct bf_netns_ctx *ctx = (*reg)->buckets[i];

		while (ctx) {
			struct bf_netns_ctx *next = ctx->next;

			_bf_netns_ctx_free(ctx);
			ctx = next;
		}
	}

	free(*reg);
	*reg = NULL;
}

unsigned int bf_netns_registry_count(const struct bf_netns_registry *reg)
{
	return reg->count;
}

/* The namespace of @ctx is gone: drop what the front-ends keep for it. */
static void _bf_netns_ctx_stale(struct bf_netns_registry *reg,
				struct bf_netns_ctx *ctx)
{
	bf_info("netns %llu:%lu: namespace #%llu is gone (its inode is reused), its state is dropped",
		(unsigned long long)ctx->dev, (unsigned long)ctx->ino,
		(unsigned long long)ctx->id);
	for (int i = 0; i < _BF_FRONT_MAX; ++i) {
		const struct bf_front_ops *ops = bf_front_get(i);

		if (!ctx->front[i] || !ops || !ops->netns_free)
			continue;
		ops->netns_free(ctx->front[i]);
		ctx->front[i] = NULL;
		--ctx->refcnt;
	}
	if (!ctx->refcnt) {
		/* Take a reference to let release unlink and free it. */
		++ctx->refcnt;
		bf_netns_ctx_release(reg, &ctx);
	}
}

int bf_netns_ctx_acquire(struct bf_netns_registry *reg, dev_t dev, ino_t ino,
			 uint64_t cookie, int fd, struct bf_netns_ctx **out)
{
	unsigned int b = _bf_netns_hash(dev, ino);
	struct bf_netns_ctx *ctx, *next;

	for (ctx = reg->buckets[b]; ctx; ctx = next) {
		next = ctx->next;
		if (ctx->dev != dev || ctx->ino != ino)
			continue;
		if (ctx->cookie == cookie || !ctx->cookie || !cookie) {
			++ctx->refcnt;
			*out = ctx;
			return 0;
		}
		/* No process can be left in a namespace whose inode is
		 * reused; a context still with clients is left alone. */
		if (!ctx->nclients)
			_bf_netns_ctx_stale(reg, ctx);
	}

	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->fd = -1;
	if (fd >= 0) {
		ctx->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (ctx->fd < 0) {
			int r = -errno;

			free(ctx);
			return r;
		}
	}

	ctx->dev = dev;
	ctx->ino = ino;
	ctx->cookie = cookie;
	ctx->id = reg->next_id++;
	ctx->refcnt = 1;
	ctx->next = reg->buckets[b];
	reg->buckets[b] = ctx;
	++reg->count;

	bf_dbg("netns %llu:%lu (id %llu): new context #%llu",
	       (unsigned long long)dev, (unsigned long)ino,
	       (unsigned long long)cookie, (unsigned long long)ctx->id);

	*out = ctx;

	return 0;
}

void bf_netns_ctx_release(struct bf_netns_registry *reg,
			  struct bf_netns_ctx **ctx)
{
	struct bf_netns_ctx **link;

	if (!*ctx)
		return;

	assert((*ctx)->refcnt > 0);
	--(*ctx)->refcnt;

	/* The last client left: front-ends drop state that holds nothing. */
	for (int i = 0; i < _BF_FRONT_MAX && (*ctx)->refcnt > 0 &&
			!(*ctx)->nclients; ++i) {
		const struct bf_front_ops *ops = bf_front_get(i);

		if (!(*ctx)->front[i] || !ops || !ops->netns_idle ||
		    !ops->netns_free || !ops->netns_idle((*ctx)->front[i]))
			continue;
		ops->netns_free((*ctx)->front[i]);
		(*ctx)->front[i] = NULL;
		--(*ctx)->refcnt;
	}

	if ((*ctx)->refcnt > 0) {
		*ctx = NULL;
		return;
	}

	link = &reg->buckets[_bf_netns_hash((*ctx)->dev, (*ctx)->ino)];
	while (*link != *ctx)
		link = &(*link)->next;
	*link = (*ctx)->next;
	--reg->count;

	bf_dbg("netns %llu:%lu: context #%llu released",
	       (unsigned long long)(*ctx)->dev, (unsigned long)(*ctx)->ino,
	       (unsigned long long)(*ctx)->id);

	_bf_netns_ctx_free(*ctx);
	*ctx = NULL;
}

uint64_t bf_netns_id(const struct bf_netns_ctx *ctx)
{
	return ctx->id;
}

void *bf_netns_front(const struct bf_netns_ctx *ctx, enum bf_front front)
{
	assert((unsigned int)front < _BF_FRONT_MAX);
	return ctx->front[front];
}

void bf_netns_set_front(struct bf_netns_ctx *ctx, enum bf_front front,
			void *state)
{
	assert((unsigned int)front < _BF_FRONT_MAX && state);
	if (!ctx->front[front])
		++ctx->refcnt;
	ctx->front[front] = state;
}

#ifndef NS_GET_ID
#define NS_GET_ID _IOR(0xb7, 13, uint64_t) /* Linux 6.18 */
#endif
#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71 /* Linux 5.14 */
#endif

/* The unique id of the namespace open as @fd: NS_GET_ID, else the cookie
 * of a socket made inside it. 0 when neither works. */
uint64_t bf_netns_fd_cookie(int fd)
{
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);
	int self, sock = -1;

	if (!ioctl(fd, NS_GET_ID, &cookie))
		return cookie;
	cookie = 0;
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return 0;
	if (!setns(fd, CLONE_NEWNET)) {
		sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (setns(self, CLONE_NEWNET) < 0)
			bf_err("cannot return to the daemon's netns: %s", strerror(errno));
	}
	if (sock >= 0 &&
	    getsockopt(sock, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) < 0)
		cookie = 0;
	if (sock >= 0)
		close(sock);
	close(self);
	return cookie;
}

int bf_netns_identify(pid_t pid, int pidfd, dev_t *dev, ino_t *ino,
		      uint64_t *cookie, int *nsfd)
{
	char path[64];
	struct stat st;
	int fd;

	if (pid <= 0)
		return -ESRCH; /* Peer outside our pid namespace. */

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	if (fstat(fd, &st) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}

	/*
	 * Still alive after the open: the pid was not recycled meanwhile.
	 * EPERM also proves the process exists.
	 */
	if (pidfd >= 0 && syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0 &&
	    errno == ESRCH) {
		close(fd);
		return -ESRCH;
	}

	*dev = st.st_dev;
	*ino = st.st_ino;
	*cookie = bf_netns_fd_cookie(fd);
	*nsfd = fd;

	return 0;
}

int bf_netns_enter(const struct bf_netns_ctx *ctx, int *saved)
{
	struct stat a, b;
	int self;

	*saved = -1;
	if (ctx->fd < 0)
		return -EBADF;
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return -errno;
	if (!fstat(ctx->fd, &a) && !fstat(self, &b) && a.st_ino == b.st_ino &&
	    a.st_dev == b.st_dev) {
		close(self);
		return 0;
	}
	if (setns(ctx->fd, CLONE_NEWNET) < 0) {
		int r = -errno;

		close(self);
		return r;
	}
	*saved = self;

	return 0;
}

void bf_netns_leave(int *saved)
{
	if (*saved < 0)
		return;
	if (setns(*saved, CLONE_NEWNET) < 0)
		bf_err("cannot return to the daemon's netns: %s", strerror(errno));
	close(*saved);
	*saved = -1;
}
