/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Per network namespace contexts. A client is filed under the netns its
 * process was in when the daemon accepted it (SO_PEERCRED pid, then
 * /proc/PID/ns/net). The front-ends hang their per-netns world here: the
 * nftables tables, handles and generation id, like the kernel keeps one per
 * netns.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <bpfilter/proto.h>

#include "daemon/front.h"

struct bf_netns_ctx {
	/** Identity of the namespace: nsfs device and inode. */
	dev_t dev;
	ino_t ino;
	/**
	 * The namespace's unique id (NS_GET_ID, or its socket cookie): an
	 * inode is reused as soon as a namespace dies, this never is. 0 when
	 * the kernel tells neither.
	 */
	uint64_t cookie;
	/** Daemon-local id, never reused (inodes can be, once a netns dies). */
	uint64_t id;
	/**
	 * O_RDONLY fd to the namespace, opened when the context was created:
	 * the ruleset core enters the namespace through it (setns()), never by
	 * reopening /proc/PID/ns/net of a process that may be gone. -1 when
	 * the context was made without one (tests).
	 */
	int fd;
	/** Clients and front-ends holding this context. */
	unsigned int refcnt;
	/** Connected clients filed under this netns. */
	unsigned int nclients;
	/**
	 * Per front-end state, owned by that front-end (bf_netns_front(),
	 * bf_netns_set_front()); the registry frees it through the front-end's
	 * ops (netns_idle, netns_free). A front-end with state holds a
	 * reference, so the context outlives its clients (every nft command
	 * is a new connection).
	 */
	void *front[_BF_FRONT_MAX];
	struct bf_netns_ctx *next;
};

struct bf_netns_registry;

int bf_netns_registry_new(struct bf_netns_registry **out);
/** Free the registry and every context left in it. Accepts NULL. */
void bf_netns_registry_free(struct bf_netns_registry **reg);
/** Number of live contexts. */
unsigned int bf_netns_registry_count(const struct bf_netns_registry *reg);

/**
 * Find the context of netns (@dev, @ino, @cookie), creating it on first
 * use, and take a reference on it. A context of the same inode with
 * another cookie belongs to a namespace that is gone (its inode was given
 * to the new one): its state is freed, programs and links with it.
 * A new context keeps a duplicate of @fd (the namespace open O_RDONLY, as
 * bf_netns_identify() gives it; -1: none); the caller keeps @fd.
 */
int bf_netns_ctx_acquire(struct bf_netns_registry *reg, dev_t dev, ino_t ino,
			 uint64_t cookie, int fd, struct bf_netns_ctx **out);

/** Drop a reference; the last one frees the context. Sets *ctx to NULL. */
void bf_netns_ctx_release(struct bf_netns_registry *reg,
			  struct bf_netns_ctx **ctx);

/**
 * Identify the network namespace of process @pid: /proc/PID/ns/net, its
 * device and inode, and its unique id (*@cookie, 0 if the kernel tells
 * none). If @pidfd >= 0 (SO_PEERPIDFD), the process is checked to be still
 * alive afterwards, so a recycled pid cannot hand us another process'
 * netns. *@fd gets the namespace open O_RDONLY | O_CLOEXEC; the caller
 * closes it.
 * @return 0 or a negative errno (-ESRCH: the process is gone).
 */
int bf_netns_identify(pid_t pid, int pidfd, dev_t *dev, ino_t *ino,
		      uint64_t *cookie, int *fd);

/** The unique id of the namespace open as @fd (NS_GET_ID, or the cookie
 * of a socket made inside it); 0 if the kernel tells neither. */
uint64_t bf_netns_fd_cookie(int fd);

/**
 * Enter the network namespace of @ctx, through the fd it keeps. *@saved
 * gets an fd to the daemon's namespace for bf_netns_leave(), or -1 when
 * the daemon is in that namespace already (nothing to undo).
 * @return 0 or a negative errno (-EBADF: the context has no fd).
 */
int bf_netns_enter(const struct bf_netns_ctx *ctx, int *saved);

/** Go back to the namespace bf_netns_enter() left; closes *@saved. */
void bf_netns_leave(int *saved);
