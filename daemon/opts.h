/* SPDX-License-Identifier: GPL-2.0-only */
/* The daemon's command line: flags as upstream bpfilter documents them. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <bpfilter/proto.h>

/** Exit status for a bad command line, as getopt-based tools use. */
#define BF_EXIT_USAGE 2

enum bf_verbose {
	BF_VERBOSE_DEBUG,
	BF_VERBOSE_BPF,
	BF_VERBOSE_BYTECODE,
	_BF_VERBOSE_MAX,
};

struct bf_opts {
	/** Pin nothing and persist nothing: everything goes with the daemon. */
	bool transient;
	/** Use a BPF token from the bpffs (refused: not implemented yet). */
	bool with_bpf_token;
	/** Where BPF objects will be pinned (under <bpffs>/bpfilter/). */
	const char *bpffs_path;
	/** Socket, lock and (later) persisted state. */
	const char *runtime_dir;
	/** Enabled front-ends, BF_FRONT_F() mask. */
	uint32_t fronts;
	/** Requested verbose flags, (1 << enum bf_verbose) mask. */
	uint32_t verbose;
};

/**
 * Parse @argv into @opts. --help, --usage and --version print and exit 0;
 * an unknown flag or a bad value prints a message and exits BF_EXIT_USAGE.
 * Checks that need the whole command line (at least one front-end) are
 * left to bf_opts_check().
 */
void bf_opts_parse(struct bf_opts *opts, int argc, char *argv[]);

/** Whole-command-line checks. Logs and returns -EINVAL on a conflict. */
int bf_opts_check(const struct bf_opts *opts);

static inline bool bf_opts_front_enabled(const struct bf_opts *opts,
					 enum bf_front front)
{
	return opts->fronts & BF_FRONT_F(front);
}

static inline bool bf_opts_verbose(const struct bf_opts *opts,
				   enum bf_verbose flag)
{
	return opts->verbose & (1u << flag);
}

const char *bf_front_to_str(enum bf_front front);
const char *bf_verbose_to_str(enum bf_verbose flag);
