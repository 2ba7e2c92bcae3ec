/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The server: the listening socket, one level-triggered epoll loop over it,
 * the signalfd and every client, and the list of clients with their netns
 * references. Moving bytes and frames is client.c's job.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <bpfilter/helpers.h>
#include <bpfilter/logger.h>

#include "daemon/client.h"
#include "daemon/netns.h"
#include "daemon/ruleset.h"
#include "daemon/runtime.h"
#include "daemon/persist.h"
#include "daemon/server.h"

#define BF_MAX_EVENTS 64
#define BF_ACCEPT_BATCH 64

struct bf_server {
	const struct bf_opts *opts;
	int epfd;
	int listen_fd;
	bool accept_paused;
	struct bf_src listen_src;
	struct bf_src signal_src;
	char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	bool sock_bound;
	struct bf_netns_registry *netns;
	struct bf_client *clients;
	unsigned int nclients;
	uint64_t next_client_id;
	bool stop;
};

static void _bf_server_pause_accept(struct bf_server *srv, bool pause)
{
	if (srv->accept_paused == pause)
		return;

	if (bf_epoll_set(srv->epfd, EPOLL_CTL_MOD, srv->listen_fd,
			 pause ? 0 : EPOLLIN, &srv->listen_src) == 0)
		srv->accept_paused = pause;
}

static void _bf_server_drop(struct bf_server *srv, struct bf_client *c)
{
	if (c->peer.ctx) {
		--c->peer.ctx->nclients;
		bf_netns_ctx_release(srv->netns, &c->peer.ctx);
	}

	if (c->prev)
		c->prev->next = c->next;
	else
		srv->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	--srv->nclients;

	bf_client_free(&c);

	/* A file descriptor is free again. */
	_bf_server_pause_accept(srv, false);
}

static int _bf_client_identify(struct bf_server *srv, struct bf_client *c)
{
	_cleanup_close_ int pidfd = -1;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	dev_t dev;
	ino_t ino;
	uint64_t cookie;
	int nsfd;
	int r;

	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;

	/* Kernels before 6.5 lack SO_PEERPIDFD: the pid check is then skipped. */
	len = sizeof(pidfd);
	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) < 0)
		pidfd = -1;

	r = bf_netns_identify(cred.pid, pidfd, &dev, &ino, &cookie, &nsfd);
	if (r)
		return r;

	r = bf_netns_ctx_acquire(srv->netns, dev, ino, cookie, nsfd,
				 &c->peer.ctx);
	close(nsfd);
	if (r)
		return r;
	++c->peer.ctx->nclients;

	c->peer.pid = cred.pid;
	c->peer.uid = cred.uid;
	c->peer.gid = cred.gid;

	bf_dbg("client #%llu: pid %d, uid %u, gid %u, netns %llu:%lu (context #%llu, %u client(s))",
	       (unsigned long long)c->peer.id, (int)cred.pid, cred.uid,
	       cred.gid, (unsigned long long)dev, (unsigned long)ino,
	       (unsigned long long)c->peer.ctx->id, c->peer.ctx->nclients);

	return 0;
}

static void _bf_server_accept_one(struct bf_server *srv, int fd)
{
	struct bf_client *c;
	int r;

	r = bf_client_new(&c, fd, srv->epfd, srv->opts, srv->next_client_id++);
	if (r) {
		bf_warn("no memory for a new client: connection refused");
		return;
	}

	c->next = srv->clients;
	if (srv->clients)
		srv->clients->prev = c;
	srv->clients = c;
	++srv->nclients;

	r = _bf_client_identify(srv, c);
	if (r) {
		bf_warn("client #%llu: cannot identify its network namespace, connection refused: %s",
			(unsigned long long)c->peer.id, strerror(-r));
		_bf_server_drop(srv, c);
		return;
	}

	r = bf_client_watch(c);
	if (r) {
		bf_warn("client #%llu: cannot watch the connection: %s",
			(unsigned long long)c->peer.id, strerror(-r));
		_bf_server_drop(srv, c);
	}
}

static void _bf_server_on_accept(struct bf_server *srv)
{
	for (int i = 0; i < BF_ACCEPT_BATCH; ++i) {
		int fd = accept4(srv->listen_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			_bf_server_accept_one(srv, fd);
			continue;
		}

		switch (errno) {
		case EINTR:
		case ECONNABORTED:
			continue;
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			/* Resumed when a client goes away. */
			bf_warn("cannot accept more clients (%u connected): %s",
				srv->nclients, strerror(errno));
			_bf_server_pause_accept(srv, true);
			return;
		default:
			return; /* EAGAIN included. */
		}
	}
}

static int _bf_server_listen(struct bf_server *srv)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;
	struct stat st;
	mode_t old_umask;
	int r;

	r = bf_runtime_path(srv->sock_path, sizeof(srv->sock_path),
			    srv->opts->runtime_dir, BF_SOCKET_NAME);
	if (r)
		return bf_err_r(r, "socket path in '%s' is too long",
				srv->opts->runtime_dir);
	strcpy(addr.sun_path, srv->sock_path);

	/* We hold the lock: a socket left here belongs to a dead daemon. */
	if (lstat(srv->sock_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			return bf_err_r(-EEXIST, "%s exists and is not a socket, not removing it",
					srv->sock_path);
		}
		bf_info("removing stale socket %s", srv->sock_path);
		if (unlink(srv->sock_path) < 0 && errno != ENOENT)
			return bf_err_r(-errno, "failed to remove %s",
					srv->sock_path);
	}

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return bf_err_r(-errno, "failed to create the socket");

	/* Created 0600 from the start: no window where others can connect. */
	old_umask = umask(0177);
	r = bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ? -errno : 0;
	umask(old_umask);
	if (r)
		return bf_err_r(r, "failed to bind %s", srv->sock_path);
	srv->sock_bound = true;

	if (chmod(srv->sock_path, 0600) < 0)
		return bf_err_r(-errno, "failed to chmod %s", srv->sock_path);

	if (listen(fd, SOMAXCONN) < 0)
		return bf_err_r(-errno, "failed to listen on %s",
				srv->sock_path);

	srv->listen_fd = TAKE_FD(fd);

	return 0;
}

int bf_server_new(struct bf_server **out, const struct bf_opts *opts)
{
	struct bf_server *srv;
	int r;

	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return bf_err_r(-ENOMEM, "failed to allocate the server");

	srv->opts = opts;
	srv->epfd = -1;
	srv->listen_fd = -1;
	srv->listen_src.kind = BF_SRC_LISTEN;
	srv->signal_src.kind = BF_SRC_SIGNAL;
	srv->next_client_id = 1;

	r = bf_netns_registry_new(&srv->netns);
	if (r) {
		bf_err_r(r, "failed to create the netns registry");
		goto err;
	}

	/* Before the socket listens: no client sees a world not restored. */
	if (!opts->transient) {
		r = bf_persist_restore(srv->netns);
		if (r)
			goto err;
	}

	srv->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (srv->epfd < 0) {
		r = bf_err_r(-errno, "failed to create the epoll instance");
		goto err;
	}

	r = _bf_server_listen(srv);
	if (r)
		goto err;

	r = bf_epoll_set(srv->epfd, EPOLL_CTL_ADD, srv->listen_fd, EPOLLIN,
			  &srv->listen_src);
	if (r) {
		bf_err_r(r, "failed to watch the listening socket");
		goto err;
	}

	*out = srv;

	return 0;

err:
	bf_server_free(&srv);
	return r;
}

void bf_server_free(struct bf_server **srvp)
{
	struct bf_server *srv = *srvp;

	if (!srv)
		return;

	while (srv->clients)
		_bf_server_drop(srv, srv->clients);

	if (srv->listen_fd >= 0)
		close(srv->listen_fd);
	if (srv->sock_bound && unlink(srv->sock_path) < 0 && errno != ENOENT)
		bf_warn("failed to remove %s: %s", srv->sock_path,
			strerror(errno));
	if (srv->epfd >= 0)
		close(srv->epfd);
	bf_netns_registry_free(&srv->netns);

	free(srv);
	*srvp = NULL;
}

static void _bf_server_on_signal(struct bf_server *srv, int sigfd)
{
	struct signalfd_siginfo si;
	ssize_t n;

	n = read(sigfd, &si, sizeof(si));
	if (n != (ssize_t)sizeof(si))
		return;

	bf_info("received SIG%s, shutting down",
		sigabbrev_np(si.ssi_signo) ?: "?");
	srv->stop = true;
}

int bf_server_run(struct bf_server *srv, int sigfd)
{
	struct epoll_event events[BF_MAX_EVENTS];
	int r;

	r = bf_epoll_set(srv->epfd, EPOLL_CTL_ADD, sigfd, EPOLLIN,
			  &srv->signal_src);
	if (r)
		return bf_err_r(r, "failed to watch signals");

	bf_info("listening on %s", srv->sock_path);

	while (!srv->stop) {
		int n = epoll_wait(srv->epfd, events, BF_MAX_EVENTS,
				   bf_ruleset_tick());

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return bf_err_r(-errno, "epoll_wait failed");
		}

		for (int i = 0; i < n; ++i) {
			struct bf_src *src = events[i].data.ptr;

			switch (src->kind) {
			case BF_SRC_LISTEN:
				_bf_server_on_accept(srv);
				break;
			case BF_SRC_SIGNAL:
				_bf_server_on_signal(srv, sigfd);
				break;
			case BF_SRC_CLIENT:
				if (bf_client_on_event((struct bf_client *)src,
						       events[i].events))
					_bf_server_drop(srv,
							(struct bf_client *)src);
				break;
			}
		}
	}

	return 0;
}
