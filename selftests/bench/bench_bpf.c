/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The bpfilter side of build/bench: per hook, generate the program of a
 * table, load it, count its instructions and time it with
 * BPF_PROG_TEST_RUN; check that the policy dropped every run.
 */
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/netfilter.h>

#include <bpfilter/helpers.h>
#include <bpfilter/ir.h>

#include "codegen/codegen.h"

#include "bench.h"

#define BENCH_LOG_LEN (1 << 20)
#define BENCH_LOG_TAIL 2048

const struct bench_hook bench_hooks[] = {
	{ "xdp", BF_HOOK_XDP, BF_FAMILY_NETDEV, BF_NFPROTO_UNSPEC, 1 /* XDP_DROP */ },
	{ "nf_local_in", BF_HOOK_NF_LOCAL_IN, BF_FAMILY_IP, BF_NFPROTO_IPV4, NF_DROP },
};

static_assert(ARRAY_SIZE(bench_hooks) == BENCH_HOOKS,
	      "BENCH_HOOKS out of sync with bench_hooks[]");

static void _bench_print_log_tail(const char *log)
{
	size_t len = strlen(log);

	if (!len)
		return;
	if (len > BENCH_LOG_TAIL)
		log += len - BENCH_LOG_TAIL;
	fprintf(stderr, "bench: verifier log (tail):\n%s\n", log);
}

static uint32_t _bench_verified_insns(const struct bf_program *prog)
{
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info);

	if (bpf_prog_get_info_by_fd(bf_program_fd(prog), &info, &len))
		return 0;
	return info.verified_insns;
}

int bench_run_bpfilter(struct bench_result *res,
		       const struct bench_series *series,
		       const struct bench_hook *hook, size_t n_rules,
		       uint32_t repeat, const uint8_t *pkt, size_t pkt_len)
{
	struct bf_table *table = NULL;
	struct bf_program *prog = NULL;
	char errbuf[1024] = "";
	_cleanup_free_ char *log = NULL;
	uint64_t bytes;
	double t0;
	int r;

	memset(res, 0, sizeof(*res));
	res->rules = n_rules;

	r = bench_build_table(&table, series, hook, n_rules);
	if (r) {
		fprintf(stderr, "bench: %s %s, %zu rules: building the IR: %s\n",
			series->name, hook->name, n_rules, strerror(-r));
		return r;
	}

	t0 = bench_now_ms();
	r = bf_program_generate(&prog, table, "c", hook->nfproto, errbuf,
				sizeof(errbuf));
	res->gen_ms = bench_now_ms() - t0;
	if (r) {
		fprintf(stderr, "bench: %s %s, %zu rules: codegen failed: %s: %s\n",
			series->name, hook->name, n_rules, strerror(-r), errbuf);
		goto out;
	}
	res->insns = bf_program_insn_count(prog);

	log = calloc(1, BENCH_LOG_LEN);
	if (!log) {
		r = -ENOMEM;
		goto out;
	}
	t0 = bench_now_ms();
	r = bf_program_load(prog, log, BENCH_LOG_LEN);
	res->load_ms = bench_now_ms() - t0;
	if (r) {
		fprintf(stderr, "bench: %s %s, %zu rules: load failed after %.1f ms: %s\n",
			series->name, hook->name, n_rules, res->load_ms, strerror(-r));
		_bench_print_log_tail(log);
		goto out;
	}

	r = bf_program_xlated_count(prog, &res->xlated);
	if (r) {
		fprintf(stderr, "bench: %s %s, %zu rules: xlated count: %s\n",
			series->name, hook->name, n_rules, strerror(-r));
		goto out;
	}
	res->verified = _bench_verified_insns(prog);

	r = bf_program_test_run(prog, pkt, pkt_len, repeat, &res->retval,
				&res->ns_per_pkt);
	if (r) {
		fprintf(stderr, "bench: %s %s, %zu rules: test run failed: %s\n",
			series->name, hook->name, n_rules, strerror(-r));
		goto out;
	}
	/* Every run went through every rule to the policy. */
	r = bf_program_get_policy_counter(prog, &res->policy_packets, &bytes);
	if (r) {
		fprintf(stderr, "bench: %s %s, %zu rules: policy counter: %s\n",
			series->name, hook->name, n_rules, strerror(-r));
		goto out;
	}
	res->ok = true;

out:
	bf_program_free(&prog);
	bf_table_free(&table);
	return r;
}

bool bench_result_right(const struct bench_hook *hook,
			const struct bench_result *res, uint32_t repeat)
{
	return res->ok && res->retval == hook->expect_ret &&
	       res->policy_packets == repeat;
}

/*
 * The first codegen in a process parses vmlinux BTF (a one-time cost of
 * about 10 ms that a daemon pays once) and the first loads warm the
 * kernel's caches: do it once per hook before measuring.
 */
void bench_warmup(const uint8_t *pkt, size_t pkt_len)
{
	struct bench_result res;

	for (size_t h = 0; h < BENCH_HOOKS; h++)
		bench_run_bpfilter(&res, &bench_series[0], &bench_hooks[h], 1, 1,
				   pkt, pkt_len);
}
