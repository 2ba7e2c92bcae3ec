/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libbpfilter-preload internals. An interposed NETLINK_NETFILTER socket is
 * one end of an AF_UNIX datagram socketpair handed to the application (so
 * poll/select/O_NONBLOCK/recvmsg are the kernel's own), a private stream
 * connection to the daemon, and, for subsystems the daemon does not serve,
 * a real netlink socket opened on first use. Documentation/interposer.md.
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

/* Only these symbols leave the library. */
#define BF_PL_EXPORT __attribute__((visibility("default")))

/* Application fds tracked: the table is indexed by fd. */
#define BF_PL_MAX_FD 65536

/* Kernel replies held in memory before pass-through draining pauses. */
#define BF_PL_KERNEL_HIGH (4u << 20)

/** The libc functions we wrap, resolved with dlsym(RTLD_NEXT). */
struct bf_pl_real {
	int (*socket)(int, int, int);
	int (*bind)(int, const struct sockaddr *, socklen_t);
	int (*connect)(int, const struct sockaddr *, socklen_t);
	int (*getsockname)(int, struct sockaddr *, socklen_t *);
	int (*getpeername)(int, struct sockaddr *, socklen_t *);
	int (*setsockopt)(int, int, int, const void *, socklen_t);
	int (*getsockopt)(int, int, int, void *, socklen_t *);
	ssize_t (*send)(int, const void *, size_t, int);
	ssize_t (*sendto)(int, const void *, size_t, int,
			  const struct sockaddr *, socklen_t);
	ssize_t (*sendmsg)(int, const struct msghdr *, int);
	ssize_t (*recv)(int, void *, size_t, int);
	ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *,
			    socklen_t *);
	ssize_t (*recvmsg)(int, struct msghdr *, int);
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*write)(int, const void *, size_t);
	int (*close)(int);
	int (*close_range)(unsigned int, unsigned int, int);
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*fcntl)(int, int, ...);
	int (*fcntl64)(int, int, ...);
};

extern struct bf_pl_real bf_pl_real;

/** A datagram waiting for room in the application's socket. */
struct bf_pl_dgram {
	struct bf_pl_dgram *next;
	size_t len;
	uint8_t data[];
};

/** One interposed socket, shared by every fd dup()ed from it. */
struct bf_pl_sock {
	/* Serialises exchanges with the daemon, delivery and the queue. */
	pthread_mutex_t lock;
	/* Table entries plus operations in flight (table lock). */
	unsigned int refs;

	int type;
	/* Our end of the socketpair: replies are written here. */
	int peer_fd;
	/* Private connection to the daemon; -1 once lost. */
	int daemon_fd;
	/* Process that opened daemon_fd: a fork child reconnects. */
	pid_t owner;
	char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];

	bool bound;
	uint32_t portid;
	/* connect()ed destination, as getpeername reports it. */
	uint32_t dst_pid;
	uint32_t dst_group;
	/* BF_NL_F_* options, as set with SOL_NETLINK. */
	uint32_t nlflags;
	bool pktinfo;
	/* Joined multicast groups 1..64 (bit group - 1). */
	uint64_t groups;

	/* Pass-through socket for subsystems the daemon does not serve. */
	int kernel_fd;
	uint32_t kernel_portid;
	/* A kernel reply stream was left unread for lack of room. */
	bool kernel_pending;

	/* Replies waiting for room in the socketpair, in order. */
	struct bf_pl_dgram *qhead;
	struct bf_pl_dgram *qtail;
	size_t qbytes;

	/* Multicast pump: a thread moving events while nobody sends. */
	bool pump_running;
	pthread_t pump;
	int wake_fd;
	bool closing;

	/* All sockets, for fork handling (table lock). */
	struct bf_pl_sock *prev;
	struct bf_pl_sock *next;
};

/* sock.c: table, lifetime and daemon connection. */
struct bf_pl_sock *bf_pl_get(int fd);
void bf_pl_put(struct bf_pl_sock *s);
bool bf_pl_tracked(int fd);
int bf_pl_create(int type, int *app_fd);
void bf_pl_attach(int fd, struct bf_pl_sock *s);
void bf_pl_detach(int fd);
int bf_pl_ensure_bound(struct bf_pl_sock *s, uint32_t portid);
int bf_pl_ensure_conn(struct bf_pl_sock *s);
void bf_pl_fork_init(void);
void bf_pl_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void bf_pl_dbg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* io.c: frames, exchanges, delivery, pass-through, pump. */
int bf_pl_frame_write(int fd, uint16_t type, uint16_t flags, const void *p1,
		      size_t l1, const void *p2, size_t l2);
int bf_pl_frame_read(int fd, uint16_t *type, uint16_t *flags, uint8_t **payload,
		     size_t *len);
ssize_t bf_pl_sendmsg(struct bf_pl_sock *s, const uint8_t *buf, size_t len);
int bf_pl_group(struct bf_pl_sock *s, uint32_t group, bool add);
void bf_pl_refill(struct bf_pl_sock *s);
void bf_pl_queue_free(struct bf_pl_sock *s);
int bf_pl_kernel_open(struct bf_pl_sock *s);
void bf_pl_pump_stop(struct bf_pl_sock *s);
