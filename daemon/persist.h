/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Persisted state: one file per network namespace under
 * <runtime-dir>/state/, written after every commit, read back at start
 * (daemon/persist.c; Documentation/daemon.md, "State and restore").
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <bpfilter/proto.h>

struct bf_netns_registry;

/** A parsed state file: its namespace and one section per front-end. */
struct bf_state {
	uint64_t dev;
	uint64_t ino;
	uint64_t cookie;
	const void *sections[_BF_FRONT_MAX];
	size_t lens[_BF_FRONT_MAX];
};

/**
 * Persistent mode: state files go to @runtime_dir/state/ (created, mode
 * 0700); @bpffs names the pins in messages. Not called with --transient:
 * bf_netns_persist() then writes nothing.
 */
int bf_persist_init(const char *runtime_dir, const char *bpffs);

/**
 * Check and split the state file @buf of @len bytes (untrusted: it is
 * read at start). Sections point into @buf.
 * @return 0; -EPROTO (another version) or -EBADMSG, with @msg saying what
 * is wrong.
 */
int bf_state_parse(const void *buf, size_t len, struct bf_state *st,
		   char *msg, size_t msglen);

/**
 * Restore every state file into @reg: each namespace found again gets a
 * context and each front-end its state (netns_restore), adopting what
 * runs; a namespace that is gone has its state and pins released. On an
 * error (logged, with the clean-up to do) nothing that runs is touched
 * and the daemon is to stop: bf_ruleset_set_stopping() is called.
 */
int bf_persist_restore(struct bf_netns_registry *reg);
