/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bf_chaintool: build one of a few named IR scenarios, generate, load and
 * attach it, print "ready", wait for SIGTERM/SIGINT (or --max-time), print
 * the counters and detach. With --scenario2, SIGUSR1 (or --replace-after)
 * swaps the running program for the other scenario through
 * bf_link_replace(), printing "replaced N" each time. With --replace-loop
 * N, one SIGUSR1 makes N swaps back to back, alternating the two
 * scenarios (each swap generates and loads a new program), then prints
 * "replace-done N" (selftests/shell/replace_traffic.sh floods the chain
 * meanwhile). Used by the shell selftests (selftests/shell/attach_veth.sh,
 * replace_traffic.sh) to drive real traffic.
 *
 * stdout (one line each, flushed):
 *   ready
 *   replaced N
 *   replace-done N                          (after a --replace-loop run)
 *   replace-failed
 *   counter RULEIDX packets N bytes N      (rules of the base chain)
 *   counter CHAIN:RULEIDX packets N bytes N (rules of regular chains)
 *   handle H packets N bytes N             (the same, by rule handle)
 *   policy packets N bytes N
 *
 * Exit: 0 ok, 1 runtime failure, 2 usage error.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpfilter/helpers.h>
#include <bpfilter/ir.h>
#include <bpfilter/logger.h>

#include "codegen/codegen.h"

#include "chaintool.h"

static const struct {
	const char *name;
	enum bf_hook hook;
} _bf_hooks[] = {
	{ "xdp", BF_HOOK_XDP },
	{ "tc-ingress", BF_HOOK_TC_INGRESS },
	{ "tc-egress", BF_HOOK_TC_EGRESS },
	{ "nf-prerouting", BF_HOOK_NF_PRE_ROUTING },
	{ "nf-input", BF_HOOK_NF_LOCAL_IN },
	{ "nf-forward", BF_HOOK_NF_FORWARD },
	{ "nf-output", BF_HOOK_NF_LOCAL_OUT },
	{ "nf-postrouting", BF_HOOK_NF_POST_ROUTING },
	{ "cgroup-ingress", BF_HOOK_CGROUP_SKB_INGRESS },
	{ "cgroup-egress", BF_HOOK_CGROUP_SKB_EGRESS },
};
static_assert(ARRAY_SIZE(_bf_hooks) == _BF_HOOK_MAX,
	      "hook names out of sync with enum bf_hook");

static void _bf_usage(FILE *f)
{
	fprintf(f,
		"usage: bf_chaintool --hook HOOK --scenario NAME [options]\n"
		"  --hook HOOK          xdp, tc-ingress, tc-egress, nf-prerouting, nf-input,\n"
		"                       nf-forward, nf-output, nf-postrouting, cgroup-ingress,\n"
		"                       cgroup-egress\n"
		"  --ifname IF          interface (xdp, tc-*)\n"
		"  --cgroup PATH        cgroup v2 directory (cgroup-*)\n"
		"  --scenario NAME      drop-udp-port, drop-icmp, drop-icmp-udp-port, drop-saddr,\n"
		"                       accept-only-udp-port, jump-udp-port, count-ping,\n"
		"                       count-ping-behind\n"
		"  --family F           ip, ip6, inet (default: ip at netfilter hooks, inet\n"
		"                       at cgroup hooks; XDP/TC tables are netdev, F narrows\n"
		"                       the rules)\n"
		"  --port N             UDP port (default 4242)\n"
		"  --addr A             IPv4 or IPv6 address (drop-saddr, count-ping*)\n"
		"  --priority N         netfilter priority (default 0)\n"
		"  --scenario2 NAME     swap to NAME on SIGUSR1 (and back on the next one)\n"
		"  --replace-after S    also swap once after S seconds\n"
		"  --replace-loop N     SIGUSR1 swaps N times back to back, then prints\n"
		"                       \"replace-done N\"\n"
		"  --max-time S         detach and exit after S seconds\n"
		"  --xdp-native         XDP in native mode (default: generic/skb mode)\n"
		"  --verbose            debug logs, IR and bytecode on stderr\n");
}

static int _bf_parse_uint(const char *s, unsigned long max, unsigned long *v)
{
	char *end;

	errno = 0;
	*v = strtoul(s, &end, 0);
	if (errno || end == s || *end || *v > max)
		return -EINVAL;
	return 0;
}

static double _bf_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

enum {
	_BF_OPT_HOOK = 256,
	_BF_OPT_IFNAME,
	_BF_OPT_CGROUP,
	_BF_OPT_SCENARIO,
	_BF_OPT_FAMILY,
	_BF_OPT_PORT,
	_BF_OPT_ADDR,
	_BF_OPT_PRIORITY,
	_BF_OPT_SCENARIO2,
	_BF_OPT_REPLACE_AFTER,
	_BF_OPT_REPLACE_LOOP,
	_BF_OPT_MAX_TIME,
	_BF_OPT_XDP_NATIVE,
	_BF_OPT_VERBOSE,
	_BF_OPT_HELP,
};

static const struct option _bf_options[] = {
	{ "hook", required_argument, NULL, _BF_OPT_HOOK },
	{ "ifname", required_argument, NULL, _BF_OPT_IFNAME },
	{ "cgroup", required_argument, NULL, _BF_OPT_CGROUP },
	{ "scenario", required_argument, NULL, _BF_OPT_SCENARIO },
	{ "family", required_argument, NULL, _BF_OPT_FAMILY },
	{ "port", required_argument, NULL, _BF_OPT_PORT },
	{ "addr", required_argument, NULL, _BF_OPT_ADDR },
	{ "priority", required_argument, NULL, _BF_OPT_PRIORITY },
	{ "scenario2", required_argument, NULL, _BF_OPT_SCENARIO2 },
	{ "replace-after", required_argument, NULL, _BF_OPT_REPLACE_AFTER },
	{ "replace-loop", required_argument, NULL, _BF_OPT_REPLACE_LOOP },
	{ "max-time", required_argument, NULL, _BF_OPT_MAX_TIME },
	{ "xdp-native", no_argument, NULL, _BF_OPT_XDP_NATIVE },
	{ "verbose", no_argument, NULL, _BF_OPT_VERBOSE },
	{ "help", no_argument, NULL, _BF_OPT_HELP },
	{},
};

/* The table family and the L3 protocols the scenario covers. */
static int _bf_ctx_set_family(struct bf_ct_ctx *ctx, const char *family)
{
	bool netdev = ctx->hook == BF_HOOK_XDP ||
		      ctx->hook == BF_HOOK_TC_INGRESS ||
		      ctx->hook == BF_HOOK_TC_EGRESS;

	/* Default: ip at netfilter hooks, inet at cgroup hooks; a netdev
	 * table sees every frame, --family only narrows its rules. */
	if (!family)
		family = netdev || !bf_ct_is_nf(ctx->hook) ? "inet" : "ip";

	if (!strcmp(family, "ip")) {
		ctx->family = BF_FAMILY_IP;
		ctx->v4 = true;
	} else if (!strcmp(family, "ip6")) {
		ctx->family = BF_FAMILY_IP6;
		ctx->v6 = true;
	} else if (!strcmp(family, "inet")) {
		ctx->family = BF_FAMILY_INET;
		ctx->v4 = ctx->v6 = true;
	} else {
		fprintf(stderr, "bf_chaintool: bad family '%s'\n", family);
		return -EINVAL;
	}

	if (netdev)
		ctx->family = BF_FAMILY_NETDEV;

	return 0;
}

/* Returns 0, or the exit code: 2 for a usage error, 0 after --help. */
static int _bf_parse_args(int argc, char *argv[], struct bf_ct_opts *o,
			  bool *done)
{
	struct bf_ct_ctx *ctx = &o->ctx;
	const char *family = NULL;
	int opt;

	while ((opt = getopt_long(argc, argv, "h", _bf_options, NULL)) != -1) {
		unsigned long v;
		long sv;
		char *end;
		int idx;

		switch (opt) {
		case _BF_OPT_HOOK:
			for (size_t i = 0; i < ARRAY_SIZE(_bf_hooks); i++) {
				if (!strcmp(_bf_hooks[i].name, optarg))
					ctx->hook = _bf_hooks[i].hook;
			}
			if (ctx->hook == _BF_HOOK_MAX) {
				fprintf(stderr, "bf_chaintool: unknown hook '%s'\n",
					optarg);
				return 2;
			}
			break;
		case _BF_OPT_IFNAME:
		case _BF_OPT_CGROUP:
			if (strlen(optarg) >= (opt == _BF_OPT_IFNAME ?
							sizeof(ctx->ifname) :
							sizeof(ctx->cgroup))) {
				fprintf(stderr, "bf_chaintool: '%s' is too long\n",
					optarg);
				return 2;
			}
			if (opt == _BF_OPT_IFNAME)
				snprintf(ctx->ifname, sizeof(ctx->ifname), "%s",
					 optarg);
			else
				snprintf(ctx->cgroup, sizeof(ctx->cgroup), "%s",
					 optarg);
			break;
		case _BF_OPT_SCENARIO:
		case _BF_OPT_SCENARIO2:
			idx = opt == _BF_OPT_SCENARIO2;
			o->scenarios[idx] = bf_ct_scenario_find(optarg);
			if (o->scenarios[idx] < 0) {
				fprintf(stderr, "bf_chaintool: unknown scenario '%s'\n",
					optarg);
				return 2;
			}
			break;
		case _BF_OPT_FAMILY:
			family = optarg;
			break;
		case _BF_OPT_PORT:
			if (_bf_parse_uint(optarg, 65535, &v) || !v) {
				fprintf(stderr, "bf_chaintool: bad port '%s'\n",
					optarg);
				return 2;
			}
			ctx->port = (uint16_t)v;
			break;
		case _BF_OPT_ADDR:
			if (inet_pton(AF_INET, optarg, ctx->addr) == 1) {
				ctx->addr_af = AF_INET;
			} else if (inet_pton(AF_INET6, optarg, ctx->addr) == 1) {
				ctx->addr_af = AF_INET6;
			} else {
				fprintf(stderr, "bf_chaintool: bad address '%s'\n",
					optarg);
				return 2;
			}
			break;
		case _BF_OPT_PRIORITY:
			errno = 0;
			sv = strtol(optarg, &end, 0);
			if (errno || end == optarg || *end || sv < INT32_MIN ||
			    sv > INT32_MAX) {
				fprintf(stderr, "bf_chaintool: bad priority '%s'\n",
					optarg);
				return 2;
			}
			ctx->priority = (int32_t)sv;
			break;
		case _BF_OPT_REPLACE_AFTER:
		case _BF_OPT_MAX_TIME:
			if (_bf_parse_uint(optarg, 86400, &v)) {
				fprintf(stderr, "bf_chaintool: bad duration '%s'\n",
					optarg);
				return 2;
			}
			if (opt == _BF_OPT_REPLACE_AFTER)
				o->replace_after = (double)v;
			else
				o->max_time = (double)v;
			break;
		case _BF_OPT_REPLACE_LOOP:
			if (_bf_parse_uint(optarg, 1000000, &v) || !v) {
				fprintf(stderr, "bf_chaintool: bad count '%s'\n",
					optarg);
				return 2;
			}
			o->replace_loop = v;
			break;
		case _BF_OPT_XDP_NATIVE:
			o->xdp_native = true;
			break;
		case _BF_OPT_VERBOSE:
			o->verbose = true;
			break;
		case _BF_OPT_HELP:
		case 'h':
			_bf_usage(stdout);
			*done = true;
			return 0;
		default:
			_bf_usage(stderr);
			return 2;
		}
	}

	if (optind != argc || ctx->hook == _BF_HOOK_MAX || o->scenarios[0] < 0) {
		_bf_usage(stderr);
		return 2;
	}
	if ((o->replace_after >= 0 || o->replace_loop) && o->scenarios[1] < 0) {
		fprintf(stderr, "bf_chaintool: --replace-after and --replace-loop need --scenario2\n");
		return 2;
	}
	if (_bf_ctx_set_family(ctx, family))
		return 2;

	return 0;
}

/* A stop signal is pending: end a --replace-loop run early; the main loop
 * then takes the signal. */
static bool _bf_stop_pending(void)
{
	sigset_t p;

	if (sigpending(&p))
		return false;
	return sigismember(&p, SIGTERM) == 1 || sigismember(&p, SIGINT) == 1 ||
	       sigismember(&p, SIGHUP) == 1;
}

/* Wait for signals (synchronously, nothing runs in a handler) until
 * SIGTERM/SIGINT/SIGHUP or --max-time. Returns true if a swap failed. */
static bool _bf_run(struct bf_ct_set sets[2], int *cur, struct bf_link *links[],
		    const struct bf_ct_opts *o, const sigset_t *sigs)
{
	double start = _bf_now(), replace_at = -1;
	unsigned int n_replaced = 0;
	bool failed = false;

	if (o->replace_after >= 0)
		replace_at = start + o->replace_after;

	for (;;) {
		struct timespec ts = { .tv_sec = 0, .tv_nsec = 100000000 };
		int sig = sigtimedwait(sigs, NULL, &ts);
		double now = _bf_now();
		bool swap = false;

		if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP)
			break;
		if (o->max_time >= 0 && now - start >= o->max_time) {
			fprintf(stderr, "bf_chaintool: --max-time reached\n");
			break;
		}
		if (sig == SIGUSR1 && o->scenarios[1] >= 0)
			swap = true;
		if (replace_at >= 0 && now >= replace_at) {
			replace_at = -1;
			swap = true;
		}
		if (!swap)
			continue;

		if (o->replace_loop && sig == SIGUSR1) {
			unsigned long done = 0;

			while (done < o->replace_loop && !_bf_stop_pending()) {
				if (bf_ct_swap(sets, cur, links, o)) {
					failed = true;
					printf("replace-failed\n");
					break;
				}
				printf("replaced %u\n", ++n_replaced);
				done++;
			}
			printf("replace-done %lu\n", done);
			fflush(stdout);
			continue;
		}

		if (bf_ct_swap(sets, cur, links, o)) {
			failed = true;
			printf("replace-failed\n");
		} else {
			printf("replaced %u\n", ++n_replaced);
		}
		fflush(stdout);
	}

	return failed;
}

int main(int argc, char *argv[])
{
	struct bf_ct_opts o = {
		.ctx = { .hook = _BF_HOOK_MAX, .port = 4242 },
		.scenarios = { -1, -1 },
		.replace_after = -1,
		.max_time = -1,
	};
	struct bf_ct_set sets[2] = {};
	struct bf_link *links[BF_CT_MAX_PROGS] = {};
	struct bf_link_opts lopts = {};
	bool done = false;
	int cur = 0, r, ret = 1;
	sigset_t sigs;

	r = _bf_parse_args(argc, argv, &o, &done);
	if (r || done)
		return r;

	lopts.xdp_skb_mode = !o.xdp_native;
	if (o.verbose)
		bf_log_set_level(BF_LOG_DBG);

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	sigprocmask(SIG_BLOCK, &sigs, NULL);

	if (bf_ct_set_make(&sets[0], NULL, o.scenarios[0], &o.ctx, o.verbose))
		goto out;

	for (size_t i = 0; i < sets[0].n_progs; i++) {
		r = bf_link_attach(&links[i], sets[0].progs[i], &lopts);
		if (r) {
			fprintf(stderr, "bf_chaintool: attaching '%s' at %s: %s\n",
				bf_ct_scenario_name(o.scenarios[0]),
				bf_hook_to_str(o.ctx.hook), strerror(-r));
			goto out;
		}
	}

	printf("ready\n");
	fflush(stdout);

	ret = _bf_run(sets, &cur, links, &o, &sigs) ? 1 : 0;
	bf_ct_print_counters(&sets[cur]);

out:
	for (size_t i = 0; i < ARRAY_SIZE(links); i++)
		bf_link_free(&links[i]);
	bf_ct_set_clean(&sets[0]);
	bf_ct_set_clean(&sets[1]);

	return ret;
}
