/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Internal to build/bench (what it measures: bench.c). The pieces:
 *   bench.c        options, the tables printed, main();
 *   bench_rules.c  the workload: the packet, the rule series, the IR tables
 *                  and their nft text;
 *   bench_bpf.c    the bpfilter side: generate, load, test-run, per hook;
 *   bench_nft.c    the kernel nftables side, in a scratch netns.
 */
#ifndef BENCH_BENCH_H
#define BENCH_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <bpfilter/ir.h>

#define BENCH_SIZES_MAX 32
#define BENCH_NFT_RUNS_MAX 16
/* Rules match ports BENCH_PORT_BASE + i; the packet goes to BENCH_PKT_DPORT,
 * below every rule's port. */
#define BENCH_PORT_BASE 1024
#define BENCH_PKT_DPORT 9

struct bench_hook {
	const char *name;
	enum bf_hook hook;
	enum bf_family family;
	int nfproto;
	int expect_ret; /* the program's return value for DROP */
};

/* bench_hooks[] (bench_bpf.c) and bench_series[] (bench_rules.c): their
 * sizes are checked where they are defined. */
enum {
	BENCH_HOOKS = 2,
	BENCH_SERIES = 2,
};

extern const struct bench_hook bench_hooks[BENCH_HOOKS];

/* One measurement of one hook at one size. */
struct bench_result {
	bool ok;
	size_t rules;
	double gen_ms;
	double load_ms;
	size_t insns;
	uint32_t xlated;
	uint32_t verified;
	uint32_t ns_per_pkt;
	int retval;
	uint64_t policy_packets; /* after the runs: should be the repeat count */
};

struct bench_series {
	const char *name;
	const char *title;
	int (*add_rule)(struct bf_chain *chain, enum bf_family family, size_t i);
	void (*nft_rule)(FILE *f, size_t i);
};

extern const struct bench_series bench_series[BENCH_SERIES];

static inline double bench_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* bench_rules.c */
int bench_build_packet(uint8_t *buf, size_t cap);
int bench_build_table(struct bf_table **out, const struct bench_series *series,
		      const struct bench_hook *hook, size_t n_rules);

/* bench_bpf.c */
int bench_run_bpfilter(struct bench_result *res,
		       const struct bench_series *series,
		       const struct bench_hook *hook, size_t n_rules,
		       uint32_t repeat, const uint8_t *pkt, size_t pkt_len);
bool bench_result_right(const struct bench_hook *hook,
			const struct bench_result *res, uint32_t repeat);
void bench_warmup(const uint8_t *pkt, size_t pkt_len);

/* bench_nft.c */
void bench_install_cleanup(void);
int bench_netns_create(void);
void bench_netns_cleanup(void);
int bench_run_nft(int nsfd, const struct bench_series *series,
		  size_t n_rules, unsigned int runs, double *ms);

#endif /* BENCH_BENCH_H */
