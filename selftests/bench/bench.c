/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * build/bench: rule-scale benchmark of the compiler core, side by side with
 * kernel nftables.
 *
 * Two series of chains with a DROP policy, each compiled for XDP and for
 * netfilter (NF_LOCAL_IN, IPv4) at every chain size:
 *   udp    N rules `udp dport P counter accept`: consecutive rules share
 *          their prefix and form one group;
 *   mixed  N rules cycling through `tcp dport P`, `ip saddr A`,
 *          `udp dport P`, `ip daddr A/24` (each `counter accept`): no two
 *          consecutive rules share a prefix, so each rule is compiled on
 *          its own.
 * Measured: codegen time, load time (maps + verifier), emitted and xlated
 * instruction counts, the instructions the verifier processed, the marginal
 * xlated instructions per rule, and the per-packet cost with
 * BPF_PROG_TEST_RUN on a UDP packet (10.0.0.1 -> 10.0.0.2, port 9) that no
 * rule matches, so that every rule is evaluated and the policy decides.
 *
 * Beside it, the same ruleset is loaded into kernel nftables with `nft -f`
 * in a scratch network namespace this program creates and always deletes;
 * the host's ruleset is never touched.
 *
 * A benchmark measures; it asserts nothing about timings. The exit status is
 * non-zero only when something failed to build, load or run, or a program
 * gave a wrong verdict or count.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpfilter/helpers.h>
#include <bpfilter/logger.h>

#include "common/packets.h"

#include "bench.h"

#define BENCH_RULES_MAX 1000000
#define BENCH_REPEAT_DEFAULT 100000
#define BENCH_NFT_RUNS_DEFAULT 3

struct bench_opts {
	size_t sizes[BENCH_SIZES_MAX];
	size_t n_sizes;
	uint32_t repeat;
	unsigned int nft_runs;
	bool nft;
	unsigned int series; /* bit i: bench_series[i] runs */
};

/* ----------------------------------------------------------------------- */
/* Output. */

static void _bench_print_header(void)
{
	printf("%-13s %6s %9s %9s %9s %7s %7s %9s %8s %8s %8s %-8s\n",
	       "hook", "rules", "gen ms", "load ms", "total ms", "insns",
	       "xlated", "verified", "xl/rule", "ns/pkt", "ns/rule", "verdict");
}

static void _bench_print_row(const struct bench_hook *hook,
			     const struct bench_result *res,
			     const struct bench_result *prev, uint32_t repeat)
{
	char xl_rule[16] = "-", ns_rule[16] = "-";

	if (!res->ok) {
		printf("%-13s %6zu %9.2f %9.2f %9s %7zu %7s %9s %8s %8s %8s %-8s\n",
		       hook->name, res->rules, res->gen_ms, res->load_ms, "-",
		       res->insns, "-", "-", "-", "-", "-", "FAILED");
		return;
	}
	if (prev && prev->ok && res->rules > prev->rules) {
		double dn = (double)(res->rules - prev->rules);

		snprintf(xl_rule, sizeof(xl_rule), "%.2f",
			 ((double)res->xlated - prev->xlated) / dn);
		snprintf(ns_rule, sizeof(ns_rule), "%.2f",
			 ((double)res->ns_per_pkt - prev->ns_per_pkt) / dn);
	}
	printf("%-13s %6zu %9.2f %9.2f %9.2f %7zu %7u %9u %8s %8u %8s %-8s\n",
	       hook->name, res->rules, res->gen_ms, res->load_ms,
	       res->gen_ms + res->load_ms, res->insns, res->xlated,
	       res->verified, xl_rule, res->ns_per_pkt, ns_rule,
	       res->retval != hook->expect_ret ? "WRONG" :
	       res->policy_packets != repeat ? "BADCOUNT" : "drop ok");
}

static void _bench_print_nft_row(size_t rules, int r, double ms)
{
	if (r)
		printf("%-13s %6zu %9s %9s %9s %7s %7s %9s %8s %8s %8s %-8s\n",
		       "nft (kernel)", rules, "-", "-", "-", "-", "-", "-", "-",
		       "-", "-", "FAILED");
	else
		printf("%-13s %6zu %9s %9s %9.2f %7s %7s %9s %8s %8s %8s %-8s\n",
		       "nft (kernel)", rules, "-", "-", ms, "-", "-", "-", "-",
		       "-", "-", "");
}

/* ----------------------------------------------------------------------- */

static void _bench_usage(FILE *f)
{
	fprintf(f,
		"usage: bench [--series NAME,...] [--sizes N,N,...] [--repeat N] [--nft-runs N]\n"
		"             [--no-nft]\n"
		"  --series    udp, mixed or both (default udp,mixed)\n"
		"  --sizes     chain sizes in rules (default 1,10,100,1000,10000)\n"
		"  --repeat    BPF_PROG_TEST_RUN repetitions per measure (default %d)\n"
		"  --nft-runs  nft -f runs per size, the median is shown (default %d)\n"
		"  --no-nft    skip the kernel nftables measurements\n",
		BENCH_REPEAT_DEFAULT, BENCH_NFT_RUNS_DEFAULT);
}

static int _bench_parse_sizes(struct bench_opts *opts, const char *arg)
{
	_cleanup_free_ char *copy = strdup(arg);
	char *saveptr = NULL, *tok;

	if (!copy)
		return -ENOMEM;
	opts->n_sizes = 0;
	for (tok = strtok_r(copy, ",", &saveptr); tok;
	     tok = strtok_r(NULL, ",", &saveptr)) {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(tok, &end, 10);
		if (errno || *end || end == tok || v > BENCH_RULES_MAX ||
		    opts->n_sizes == BENCH_SIZES_MAX)
			return -EINVAL;
		/* The rules' ports must stay below 65536 and above the packet's. */
		if (BENCH_PORT_BASE + v > 65536)
			return -EINVAL;
		opts->sizes[opts->n_sizes++] = v;
	}
	return opts->n_sizes ? 0 : -EINVAL;
}

static int _bench_parse_series(struct bench_opts *opts, const char *arg)
{
	_cleanup_free_ char *copy = strdup(arg);
	char *saveptr = NULL, *tok;

	if (!copy)
		return -ENOMEM;
	opts->series = 0;
	for (tok = strtok_r(copy, ",", &saveptr); tok;
	     tok = strtok_r(NULL, ",", &saveptr)) {
		size_t i;

		for (i = 0; i < BENCH_SERIES; i++)
			if (!strcmp(tok, bench_series[i].name))
				break;
		if (i == BENCH_SERIES)
			return -EINVAL;
		opts->series |= 1u << i;
	}
	return opts->series ? 0 : -EINVAL;
}

static int _bench_parse_opts(struct bench_opts *opts, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "series", required_argument, NULL, 'S' },
		{ "sizes", required_argument, NULL, 's' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "nft-runs", required_argument, NULL, 'n' },
		{ "no-nft", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	static const size_t default_sizes[] = { 1, 10, 100, 1000, 10000 };
	unsigned long v;
	char *end;
	int c;

	memcpy(opts->sizes, default_sizes, sizeof(default_sizes));
	opts->n_sizes = ARRAY_SIZE(default_sizes);
	opts->repeat = BENCH_REPEAT_DEFAULT;
	opts->nft_runs = BENCH_NFT_RUNS_DEFAULT;
	opts->nft = true;
	opts->series = (1u << BENCH_SERIES) - 1;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'S':
			if (_bench_parse_series(opts, optarg)) {
				fprintf(stderr, "bench: bad --series '%s' (udp, mixed)\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 's':
			if (_bench_parse_sizes(opts, optarg)) {
				fprintf(stderr, "bench: bad --sizes '%s' (comma-separated rule counts, each <= %d)\n",
					optarg, 65536 - BENCH_PORT_BASE);
				return -EINVAL;
			}
			break;
		case 'r':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || !v || v > UINT32_MAX) {
				fprintf(stderr, "bench: bad --repeat '%s'\n", optarg);
				return -EINVAL;
			}
			opts->repeat = (uint32_t)v;
			break;
		case 'n':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || !v || v > BENCH_NFT_RUNS_MAX) {
				fprintf(stderr, "bench: bad --nft-runs '%s' (1..%d)\n",
					optarg, BENCH_NFT_RUNS_MAX);
				return -EINVAL;
			}
			opts->nft_runs = (unsigned int)v;
			break;
		case 'N':
			opts->nft = false;
			break;
		case 'h':
			_bench_usage(stdout);
			exit(0);
		default:
			_bench_usage(stderr);
			return -EINVAL;
		}
	}
	if (optind != argc) {
		_bench_usage(stderr);
		return -EINVAL;
	}
	return 0;
}

/* Against the targets: reported, never asserted. The per-rule target is
 * about the udp series; the load-time target applies to both. */
static void _bench_print_summary(const struct bench_opts *opts,
				 const struct bench_series *series,
				 struct bench_result res[][BENCH_SIZES_MAX],
				 const double *nft_ms, const int *nft_r)
{
	size_t last = opts->n_sizes - 1;
	bool udp = !strcmp(series->name, "udp");

	printf("\n%s: against the targets (reported, not asserted):\n", series->name);
	for (size_t h = 0; h < BENCH_HOOKS; h++) {
		const struct bench_result *a = NULL, *b = &res[h][last];

		for (size_t i = last; i-- > 0;) {
			if (res[h][i].ok && res[h][i].rules < b->rules) {
				a = &res[h][i];
				break;
			}
		}
		if (b->ok && a)
			printf("  %-12s xlated/rule %zu -> %zu rules: %.2f%s\n",
			       bench_hooks[h].name, a->rules, b->rules,
			       ((double)b->xlated - a->xlated) /
				       (double)(b->rules - a->rules),
			       udp ? " (target <= 6)" : "");
		if (b->ok)
			printf("  %-12s %zu rules: codegen + load %.1f ms (target < 1000 ms), %u verified insns, %u ns/pkt\n",
			       bench_hooks[h].name, b->rules,
			       b->gen_ms + b->load_ms, b->verified, b->ns_per_pkt);
		else
			printf("  %-12s %zu rules: FAILED (see the error above)\n",
			       bench_hooks[h].name, b->rules);
	}
	if (opts->nft && !nft_r[last])
		printf("  %-12s %zu rules: nft -f %.1f ms (reference ~125 ms for 10000 udp rules)\n",
		       "nft", opts->sizes[last], nft_ms[last]);
}

int main(int argc, char **argv)
{
	static struct bench_result res[BENCH_SERIES][BENCH_HOOKS][BENCH_SIZES_MAX];
	double nft_ms[BENCH_SERIES][BENCH_SIZES_MAX] = {};
	int nft_r[BENCH_SERIES][BENCH_SIZES_MAX] = {};
	struct bench_opts opts;
	uint8_t pkt[PKT_MAX];
	size_t pkt_len;
	double nft_base = 0;
	int nsfd = -1, failed = 0;
	int r;

	if (_bench_parse_opts(&opts, argc, argv))
		return 2;
	if (geteuid() != 0) {
		fprintf(stderr, "bench: needs root (BPF and network namespaces)\n");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	bf_log_set_level(BF_LOG_WARN);

	r = bench_build_packet(pkt, sizeof(pkt));
	if (r < 0) {
		fprintf(stderr, "bench: building the packet: %s\n", strerror(-r));
		return 1;
	}
	pkt_len = (size_t)r;

	if (opts.nft) {
		bench_install_cleanup();
		nsfd = bench_netns_create();
		if (nsfd < 0) {
			fprintf(stderr, "bench: no scratch netns (%s): skipping nft\n",
				strerror(-nsfd));
			opts.nft = false;
		} else if (bench_run_nft(nsfd, &bench_series[0], 0, opts.nft_runs,
					 &nft_base)) {
			fprintf(stderr, "bench: nft does not run: skipping nft\n");
			opts.nft = false;
		}
	}

	bench_warmup(pkt, pkt_len);

	for (size_t s = 0; s < BENCH_SERIES; s++) {
		const struct bench_series *series = &bench_series[s];

		if (!(opts.series & (1u << s)))
			continue;
		printf("bpfilter bench, series '%s': %s;\n"
		       "policy drop; UDP packet of %zu bytes to port %d (no rule matches),\n"
		       "%u runs per measure\n\n",
		       series->name, series->title, pkt_len, BENCH_PKT_DPORT,
		       opts.repeat);
		_bench_print_header();

		for (size_t i = 0; i < opts.n_sizes; i++) {
			for (size_t h = 0; h < BENCH_HOOKS; h++) {
				struct bench_result *cur = &res[s][h][i];

				r = bench_run_bpfilter(cur, series, &bench_hooks[h],
						       opts.sizes[i], opts.repeat, pkt,
						       pkt_len);
				if (r || !bench_result_right(&bench_hooks[h], cur,
							      opts.repeat))
					failed = 1;
				_bench_print_row(&bench_hooks[h], cur,
						 i ? &res[s][h][i - 1] : NULL,
						 opts.repeat);
			}
			if (opts.nft) {
				nft_r[s][i] = bench_run_nft(nsfd, series, opts.sizes[i],
							    opts.nft_runs,
							    &nft_ms[s][i]);
				if (nft_r[s][i])
					failed = 1;
				_bench_print_nft_row(opts.sizes[i], nft_r[s][i],
						     nft_ms[s][i]);
			}
		}
		printf("\n");
	}

	printf("columns: gen = bf_program_generate (validation + codegen); load = maps +\n"
	       "verifier; insns = emitted; xlated = after the kernel's rewrites; verified =\n"
	       "instructions the verifier processed; xl/rule and ns/rule = marginal cost\n"
	       "against the previous size; ns/pkt = BPF_PROG_TEST_RUN mean; verdict = the\n"
	       "program dropped and the policy counter saw every run; nft = median wall\n"
	       "clock of `nft -f` (fork + exec + netlink commit) over %u runs",
	       opts.nft_runs);
	if (opts.nft)
		printf(", empty-chain baseline %.2f ms", nft_base);
	printf("\n");

	for (size_t s = 0; s < BENCH_SERIES; s++)
		if (opts.series & (1u << s))
			_bench_print_summary(&opts, &bench_series[s], res[s],
					     nft_ms[s], nft_r[s]);

	if (nsfd >= 0)
		close(nsfd);
	bench_netns_cleanup();
	return failed;
}
