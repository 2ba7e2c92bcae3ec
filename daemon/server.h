/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The socket server: one epoll loop serving every client on
 * <runtime-dir>/daemon.sock with non-blocking I/O and per-client buffers,
 * so a slow or stuck client never holds the others up.
 */
#pragma once

#include "daemon/opts.h"

struct bf_server;

/**
 * Create the server: remove a stale <runtime-dir>/daemon.sock, listen on a
 * fresh one (mode 0600) and set up the epoll loop. The caller must hold the
 * runtime directory's lock. Logs its own errors.
 */
int bf_server_new(struct bf_server **out, const struct bf_opts *opts);

/** Disconnect every client, unlink the socket, free. Accepts NULL. */
void bf_server_free(struct bf_server **srv);

/**
 * Serve until a signal arrives on @sigfd (a signalfd).
 * @return 0 on a termination signal, a negative errno on a fatal error.
 */
int bf_server_run(struct bf_server *srv, int sigfd);
