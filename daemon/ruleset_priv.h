/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Internals of the ruleset core shared by its two files: ruleset.c (the
 * commit: compile, attach, undo, handles, counters) and ruleset_pin.c
 * (pins, staging, restore). Private to them: front-ends use ruleset.h.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/ruleset.h"

struct bf_link;
struct bf_netns_ctx;
struct bf_program;
struct bf_table;
struct bf_update;

/* Longest pin path. */
#define BF_RS_PATH_MAX 4096

struct bf_rs_chain {
	/* Priority the programs were built and attached for. */
	int32_t prio;
	size_t n;
	struct bf_program *progs[2];
	struct bf_link *links[2];
	/* Pins (persistent mode): the netns folder, the chain's folder
	 * (below it, the programs' when there are two). NULL: not pinned. */
	char *ns_dir;
	char *dir;
};

struct bf_rs_pending {
	struct bf_rs_base *base;
	size_t table;
	size_t idx;
	struct bf_rs_chain *rs; /* new programs, then new links */
	/* The running programs take the new rules in place (their maps are
	 * updated, rs holds no program): codegen/update.c. */
	bool in_place;
	struct bf_update *ups[2];
	/* Restore: the pinned programs the new ones replace (stand-ins). */
	struct bf_program *adopted[2];
};

/* <bpffs>/bpfilter, or NULL: transient, nothing pinned (ruleset_pin.c). */
extern char *bf_rs_pin_root;

/* ruleset.c */
__attribute__((format(printf, 3, 4)))
void bf_rs_msg(char *msg, size_t len, const char *fmt, ...);

/* ruleset_pin.c */
void bf_rs_rmdirs(const char *path, const char *stop);
void bf_rs_unpin(struct bf_rs_chain *h);
void bf_rs_pin_progs(const struct bf_netns_ctx *ctx,
		     const struct bf_table *ir, struct bf_rs_pending *p);
void bf_rs_pin_links(struct bf_rs_chain *h);
int bf_rs_adopt(const struct bf_netns_ctx *ctx, struct bf_table *ir,
		const struct bf_rs_base *b, struct bf_rs_chain *h,
		const int *nfproto, struct bf_program **adopted,
		char *msg, size_t msglen);
int bf_rs_adopt_links(const struct bf_netns_ctx *ctx,
		      const struct bf_table *ir,
		      struct bf_rs_pending *p);
void bf_rs_sweep(const struct bf_netns_ctx *ctx,
		 const struct bf_rs_pending *pend, size_t n_pend);
bool bf_rs_stage_pins(const struct bf_netns_ctx *ctx,
		      struct bf_rs_pending *pend, size_t n_pend, char *stage,
		      size_t len);
