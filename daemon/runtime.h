/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The runtime directory: created at start, holds daemon.lock (one daemon per
 * directory) and daemon.sock. Persisted state will live here too.
 */
#pragma once

#include <stddef.h>

/**
 * Build "<dir>/<name>" into @buf.
 * @return 0, or -ENAMETOOLONG if it does not fit in @size bytes.
 */
int bf_runtime_path(char *buf, size_t size, const char *dir, const char *name);

/**
 * Create @dir and its missing parents with mode 0755; an existing directory
 * is used as it is.
 * @return 0 or a negative errno; the caller logs.
 */
int bf_runtime_dir_prepare(const char *dir);

/**
 * Take the exclusive lock on <dir>/daemon.lock and write our pid into it.
 * On success *fd holds the lock until bf_runtime_unlock().
 * @return 0, -EBUSY if another process holds it (*holder then has its pid,
 * or 0 if unknown), or another negative errno.
 */
int bf_runtime_lock(const char *dir, int *fd, long *holder);

/** Clear the pid and release the lock. Accepts fd < 0. */
void bf_runtime_unlock(int *fd);
