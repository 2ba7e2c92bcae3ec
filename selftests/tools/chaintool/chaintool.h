/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Internal to build/tools/bf_chaintool (what it does: main.c). The pieces:
 *   main.c       options, the signal loop, main();
 *   scenarios.c  the named scenarios: their rules and tables;
 *   programs.c   the programs of a scenario: generate, load, swap the
 *                links over, print the counters.
 * bf_ct_ is the prefix of what they share.
 */
#ifndef CHAINTOOL_CHAINTOOL_H
#define CHAINTOOL_CHAINTOOL_H

#include <stdbool.h>
#include <stdint.h>

#include <bpfilter/ir.h>

#include "codegen/codegen.h"

#define BF_CT_BASE_CHAIN "base"
#define BF_CT_MAX_PROGS 2 /* inet at a netfilter hook: IPv4 + IPv6 */

struct bf_ct_ctx {
	enum bf_hook hook;
	enum bf_family family; /* table family */
	bool v4; /* the scenario covers IPv4 */
	bool v6; /* the scenario covers IPv6 */
	uint16_t port;
	int addr_af; /* AF_INET, AF_INET6 or 0 */
	uint8_t addr[16];
	int32_t priority;
	char ifname[BF_IFNAME_MAX];
	char cgroup[BF_NAME_MAX];
};

struct bf_ct_opts {
	struct bf_ct_ctx ctx;
	int scenarios[2]; /* --scenario, --scenario2 (-1: none) */
	double replace_after; /* < 0: never */
	unsigned long replace_loop; /* swaps per SIGUSR1 (0: one) */
	double max_time; /* < 0: no limit */
	bool xdp_native;
	bool verbose;
};

/* One program per nfproto: an inet table at a netfilter hook gets two. */
struct bf_ct_set {
	struct bf_table *table;
	struct bf_program *progs[BF_CT_MAX_PROGS];
	size_t n_progs;
};

static inline bool bf_ct_is_nf(enum bf_hook hook)
{
	return hook >= BF_HOOK_NF_PRE_ROUTING &&
	       hook <= BF_HOOK_NF_POST_ROUTING;
}

/* scenarios.c */
int bf_ct_scenario_find(const char *name);
const char *bf_ct_scenario_name(int scenario);
int bf_ct_table_build(struct bf_table **out, int scenario,
		      const struct bf_ct_ctx *ctx);

/* programs.c */
void bf_ct_set_clean(struct bf_ct_set *set);
int bf_ct_set_make(struct bf_ct_set *set, const struct bf_ct_set *running,
		   int scenario, const struct bf_ct_ctx *ctx, bool verbose);
void bf_ct_print_counters(const struct bf_ct_set *set);
int bf_ct_swap(struct bf_ct_set sets[2], int *cur, struct bf_link *links[],
	       const struct bf_ct_opts *o);

#endif /* CHAINTOOL_CHAINTOOL_H */
