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
#include <inttypes.h>
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

#define _BF_TABLE_NAME "bf_chaintool"
#define _BF_BASE_CHAIN "base"
#define _BF_UDP_CHAIN "udp_in"
#define _BF_MAX_PROGS 2 /* inet at a netfilter hook: IPv4 + IPv6 */

#define _BF_IPPROTO_ICMP 1
#define _BF_IPPROTO_UDP 17
#define _BF_IPPROTO_ICMPV6 58
#define _BF_ETH_P_IP 0x0800
#define _BF_ETH_P_ARP 0x0806
#define _BF_ETH_P_IPV6 0x86dd

/* Rule handles, stable across scenarios: a rule doing the same thing keeps
 * its handle, so its counter survives a replacement. */
enum {
	_BF_H_UDP_DROP = 1,
	_BF_H_ICMP_DROP = 2,
	_BF_H_ICMP6_DROP = 3,
	_BF_H_SADDR_DROP = 4,
	_BF_H_ARP_ACCEPT = 5,
	_BF_H_ND_ACCEPT = 6,
	_BF_H_UDP_ACCEPT = 7,
	_BF_H_UDP_JUMP = 8,
	_BF_H_UDP_CHAIN_DROP = 9,
	_BF_H_UDP_CHAIN_RETURN = 10,
	_BF_H_UDP_AFTER_RETURN = 11,
	_BF_H_PING_COUNT = 12,
	_BF_H_PING_LEADER = 13,
};

/* Which L3 protocols a rule is about. */
enum _bf_l3 {
	_BF_L3_ANY,
	_BF_L3_V4,
	_BF_L3_V6,
};

struct _bf_ctx {
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

static bool _bf_is_nf(enum bf_hook hook)
{
	return hook >= BF_HOOK_NF_PRE_ROUTING &&
	       hook <= BF_HOOK_NF_POST_ROUTING;
}

/* Rule building: the first error sticks, checked once per scenario. */
struct _bf_rb {
	int err;
	struct bf_rule *rule;
};

static void _bf_rb_begin(struct _bf_rb *rb, uint64_t handle)
{
	if (rb->err)
		return;
	rb->err = bf_rule_new(&rb->rule);
	/* Each run builds the rules again: their counters follow the
	 * handles given on the command line. */
	if (!rb->err) {
		rb->rule->handle = handle;
		rb->rule->id = handle;
	}
}

static void _bf_rb_add(struct _bf_rb *rb, struct bf_expr expr)
{
	if (rb->err)
		return;
	rb->err = bf_rule_add_expr(rb->rule, &expr);
}

static void _bf_rb_end(struct _bf_rb *rb, struct bf_chain *chain)
{
	if (!rb->err)
		rb->err = bf_chain_add_rule(chain, &rb->rule);
	bf_rule_free(&rb->rule);
}

static void _bf_rb_cmp(struct _bf_rb *rb, uint8_t reg,
		       const struct bf_data *data)
{
	_bf_rb_add(rb, bf_expr_cmp(BF_CMP_EQ, reg, data));
}

static void _bf_rb_l4proto(struct _bf_rb *rb, uint8_t proto)
{
	struct bf_data d;

	bf_data_u8(&d, proto);
	_bf_rb_add(rb, bf_expr_meta(BF_META_L4PROTO, 0));
	_bf_rb_cmp(rb, 0, &d);
}

static void _bf_rb_dport(struct _bf_rb *rb, uint16_t port)
{
	struct bf_data d;

	bf_data_be16(&d, port);
	_bf_rb_add(rb, bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 1));
	_bf_rb_cmp(rb, 1, &d);
}

/*
 * Restrict a rule to one L3 protocol, as nft adds its dependencies: nothing
 * in an ip/ip6 table (its hooks only see that family), meta nfproto in an
 * inet table, meta protocol (the ethertype) in a netdev table, whose
 * programs see every frame (XDP, TC).
 */
static void _bf_rb_l3(struct _bf_rb *rb, const struct _bf_ctx *ctx,
		      enum _bf_l3 l3)
{
	struct bf_data d;

	if (l3 == _BF_L3_ANY)
		return;

	if (ctx->family == BF_FAMILY_INET) {
		bf_data_u8(&d, l3 == _BF_L3_V4 ? BF_NFPROTO_IPV4 :
						 BF_NFPROTO_IPV6);
		_bf_rb_add(rb, bf_expr_meta(BF_META_NFPROTO, 2));
		_bf_rb_cmp(rb, 2, &d);
	} else if (ctx->family == BF_FAMILY_NETDEV) {
		bf_data_be16(&d, l3 == _BF_L3_V4 ? _BF_ETH_P_IP :
						   _BF_ETH_P_IPV6);
		_bf_rb_add(rb, bf_expr_meta(BF_META_PROTOCOL, 2));
		_bf_rb_cmp(rb, 2, &d);
	}
}

/* The L3 protocols the scenario's table covers. */
static enum _bf_l3 _bf_ctx_l3(const struct _bf_ctx *ctx)
{
	if (ctx->v4 && ctx->v6)
		return _BF_L3_ANY;
	return ctx->v4 ? _BF_L3_V4 : _BF_L3_V6;
}

static void _bf_rule_udp_drop(struct _bf_rb *rb, struct bf_chain *chain,
			      const struct _bf_ctx *ctx)
{
	_bf_rb_begin(rb, _BF_H_UDP_DROP);
	_bf_rb_l3(rb, ctx, _bf_ctx_l3(ctx));
	_bf_rb_l4proto(rb, _BF_IPPROTO_UDP);
	_bf_rb_dport(rb, ctx->port);
	_bf_rb_add(rb, bf_expr_counter());
	_bf_rb_add(rb, bf_expr_verdict(BF_VERDICT_DROP, NULL));
	_bf_rb_end(rb, chain);
}

static void _bf_rules_icmp_drop(struct _bf_rb *rb, struct bf_chain *chain,
				const struct _bf_ctx *ctx)
{
	/* The protocol number tells ICMP from ICMPv6: no L3 dependency. */
	if (ctx->v4) {
		_bf_rb_begin(rb, _BF_H_ICMP_DROP);
		_bf_rb_l4proto(rb, _BF_IPPROTO_ICMP);
		_bf_rb_add(rb, bf_expr_counter());
		_bf_rb_add(rb, bf_expr_verdict(BF_VERDICT_DROP, NULL));
		_bf_rb_end(rb, chain);
	}
	if (ctx->v6) {
		_bf_rb_begin(rb, _BF_H_ICMP6_DROP);
		_bf_rb_l4proto(rb, _BF_IPPROTO_ICMPV6);
		_bf_rb_add(rb, bf_expr_counter());
		_bf_rb_add(rb, bf_expr_verdict(BF_VERDICT_DROP, NULL));
		_bf_rb_end(rb, chain);
	}
}

static int _bf_sc_drop_udp_port(struct bf_table *table, struct bf_chain *chain,
				const struct _bf_ctx *ctx)
{
	struct _bf_rb rb = {};

	_bf_rule_udp_drop(&rb, chain, ctx);
	return rb.err;
}

static int _bf_sc_drop_icmp(struct bf_table *table, struct bf_chain *chain,
			    const struct _bf_ctx *ctx)
{
	struct _bf_rb rb = {};

	_bf_rules_icmp_drop(&rb, chain, ctx);
	return rb.err;
}

/* Same UDP rule as drop-udp-port (same handle) behind ICMP drop rules: its
 * counter must follow it to another index on replacement. */
static int _bf_sc_drop_icmp_udp_port(struct bf_table *table,
				     struct bf_chain *chain,
				     const struct _bf_ctx *ctx)
{
	struct _bf_rb rb = {};

	_bf_rules_icmp_drop(&rb, chain, ctx);
	_bf_rule_udp_drop(&rb, chain, ctx);
	return rb.err;
}

static int _bf_sc_drop_saddr(struct bf_table *table, struct bf_chain *chain,
			     const struct _bf_ctx *ctx)
{
	struct _bf_rb rb = {};
	struct bf_data d;
	bool v6 = ctx->addr_af == AF_INET6;

	if (!ctx->addr_af) {
		fprintf(stderr, "bf_chaintool: drop-saddr needs --addr\n");
		return -EINVAL;
	}
	if ((v6 && !ctx->v6) || (!v6 && !ctx->v4)) {
		fprintf(stderr, "bf_chaintool: --addr does not fit --family\n");
		return -EINVAL;
	}

	bf_data_set(&d, ctx->addr, v6 ? 16 : 4);
	_bf_rb_begin(&rb, _BF_H_SADDR_DROP);
	_bf_rb_l3(&rb, ctx, v6 ? _BF_L3_V6 : _BF_L3_V4);
	/* IPv4 saddr at nh + 12, IPv6 saddr at nh + 8. */
	_bf_rb_add(&rb, bf_expr_payload(BF_PAYLOAD_NH, v6 ? 8 : 12, d.len, 4));
	_bf_rb_cmp(&rb, 4, &d);
	_bf_rb_add(&rb, bf_expr_counter());
	_bf_rb_add(&rb, bf_expr_verdict(BF_VERDICT_DROP, NULL));
	_bf_rb_end(&rb, chain);

	return rb.err;
}

/*
 * Policy drop; accept UDP to the port, plus what keeps the link usable:
 * ARP in a netdev table, whose programs see link-layer frames (ip/ip6/inet
 * hooks never see ARP), and IPv6 neighbour discovery (ICMPv6 types 133-137:
 * router and neighbour solicitation/advertisement, redirect) when IPv6 is
 * covered.
 * Nothing else: ping must fail.
 */
static int _bf_sc_accept_only_udp_port(struct bf_table *table,
				       struct bf_chain *chain,
				       const struct _bf_ctx *ctx)
{
	struct _bf_rb rb = {};
	struct bf_data d, lo, hi;

	_bf_rb_begin(&rb, _BF_H_UDP_ACCEPT);
	_bf_rb_l3(&rb, ctx, _bf_ctx_l3(ctx));
	_bf_rb_l4proto(&rb, _BF_IPPROTO_UDP);
	_bf_rb_dport(&rb, ctx->port);
	_bf_rb_add(&rb, bf_expr_counter());
	_bf_rb_add(&rb, bf_expr_verdict(BF_VERDICT_ACCEPT, NULL));
	_bf_rb_end(&rb, chain);

	if (ctx->family == BF_FAMILY_NETDEV) {
		bf_data_be16(&d, _BF_ETH_P_ARP);
		_bf_rb_begin(&rb, _BF_H_ARP_ACCEPT);
		_bf_rb_add(&rb, bf_expr_meta(BF_META_PROTOCOL, 0));
		_bf_rb_cmp(&rb, 0, &d);
		_bf_rb_add(&rb, bf_expr_counter());
		_bf_rb_add(&rb, bf_expr_verdict(BF_VERDICT_ACCEPT, NULL));
		_bf_rb_end(&rb, chain);
	}

	if (ctx->v6) {
		bf_data_u8(&lo, 133);
		bf_data_u8(&hi, 137);
		_bf_rb_begin(&rb, _BF_H_ND_ACCEPT);
		_bf_rb_l4proto(&rb, _BF_IPPROTO_ICMPV6);
		_bf_rb_add(&rb, bf_expr_payload(BF_PAYLOAD_TH, 0, 1, 1));
		_bf_rb_add(&rb, bf_expr_range(BF_RANGE_EQ, 1, &lo, &hi));
		_bf_rb_add(&rb, bf_expr_counter());
		_bf_rb_add(&rb, bf_expr_verdict(BF_VERDICT_ACCEPT, NULL));
		_bf_rb_end(&rb, chain);
	}

	return rb.err;
}

/*
 * base:   [0] l4proto udp counter jump udp_in
 *         [1] l4proto udp counter            (UDP that came back)
 *         policy accept
 * udp_in: [0] th dport PORT counter drop
 *         [1] counter return
 */
static int _bf_sc_jump_udp_port(struct bf_table *table, struct bf_chain *chain,
				const struct _bf_ctx *ctx)
{
	struct bf_chain *sub = NULL;
	struct _bf_rb rb = {};
	int r;

	_bf_rb_begin(&rb, _BF_H_UDP_JUMP);
	_bf_rb_l3(&rb, ctx, _bf_ctx_l3(ctx));
	_bf_rb_l4proto(&rb, _BF_IPPROTO_UDP);
	_bf_rb_add(&rb, bf_expr_counter());
	_bf_rb_add(&rb, bf_expr_verdict(BF_VERDICT_JUMP, _BF_UDP_CHAIN));
	_bf_rb_end(&rb, chain);

	_bf_rb_begin(&rb, _BF_H_UDP_AFTER_RETURN);
	_bf_rb_l3(&rb, ctx, _bf_ctx_l3(ctx));
	_bf_rb_l4proto(&rb, _BF_IPPROTO_UDP);
	_bf_rb_add(&rb, bf_expr_counter());
	_bf_rb_end(&rb, chain);
	if (rb.err)
		return rb.err;

	r = bf_chain_new(&sub, _BF_UDP_CHAIN);
	if (r)
		return r;

	_bf_rb_begin(&rb, _BF_H_UDP_CHAIN_DROP);
	_bf_rb_dport(&rb, ctx->port);
	_bf_rb_add(&rb, bf_expr_counter());
	_bf_rb_add(&rb, bf_expr_verdict(BF_VERDICT_DROP, NULL));
	_bf_rb_end(&rb, sub);

	_bf_rb_begin(&rb, _BF_H_UDP_CHAIN_RETURN);
	_bf_rb_add(&rb, bf_expr_counter());
	_bf_rb_add(&rb, bf_expr_verdict(BF_VERDICT_RETURN, NULL));
	_bf_rb_end(&rb, sub);

	if (!rb.err)
		rb.err = bf_table_add_chain(table, &sub);
	bf_chain_free(&sub);

	return rb.err;
}

/*
 * Count the echo requests from --addr: (netdev: meta protocol) saddr ==
 * ADDR, l4proto icmp (icmpv6), type 8 (128), counter; no verdict. Nothing
 * but a ping from ADDR matches it: no ARP, neighbour discovery or reply.
 */
static int _bf_rule_ping_count(struct _bf_rb *rb, struct bf_chain *chain,
			       const struct _bf_ctx *ctx)
{
	bool v6 = ctx->addr_af == AF_INET6;
	struct bf_data d;

	if (!ctx->addr_af) {
		fprintf(stderr, "bf_chaintool: count-ping needs --addr\n");
		return -EINVAL;
	}
	if ((v6 && !ctx->v6) || (!v6 && !ctx->v4)) {
		fprintf(stderr, "bf_chaintool: --addr does not fit --family\n");
		return -EINVAL;
	}

	bf_data_set(&d, ctx->addr, v6 ? 16 : 4);
	_bf_rb_begin(rb, _BF_H_PING_COUNT);
	_bf_rb_l3(rb, ctx, v6 ? _BF_L3_V6 : _BF_L3_V4);
	_bf_rb_add(rb, bf_expr_payload(BF_PAYLOAD_NH, v6 ? 8 : 12, d.len, 4));
	_bf_rb_cmp(rb, 4, &d);
	_bf_rb_l4proto(rb, v6 ? _BF_IPPROTO_ICMPV6 : _BF_IPPROTO_ICMP);
	bf_data_u8(&d, v6 ? 128 : 8);
	_bf_rb_add(rb, bf_expr_payload(BF_PAYLOAD_TH, 0, 1, 1));
	_bf_rb_cmp(rb, 1, &d);
	_bf_rb_add(rb, bf_expr_counter());
	_bf_rb_end(rb, chain);

	return rb->err;
}

static int _bf_sc_count_ping(struct bf_table *table, struct bf_chain *chain,
			     const struct _bf_ctx *ctx)
{
	struct _bf_rb rb = {};

	return _bf_rule_ping_count(&rb, chain, ctx);
}

/* The same counting rule (same handle) behind a rule of another shape
 * (UDP to --port, counter, drop): other code, the counter moves from
 * index 0 to 1 and must follow it. */
static int _bf_sc_count_ping_behind(struct bf_table *table,
				    struct bf_chain *chain,
				    const struct _bf_ctx *ctx)
{
	struct _bf_rb rb = {};

	_bf_rb_begin(&rb, _BF_H_PING_LEADER);
	_bf_rb_l3(&rb, ctx, _bf_ctx_l3(ctx));
	_bf_rb_l4proto(&rb, _BF_IPPROTO_UDP);
	_bf_rb_dport(&rb, ctx->port);
	_bf_rb_add(&rb, bf_expr_counter());
	_bf_rb_add(&rb, bf_expr_verdict(BF_VERDICT_DROP, NULL));
	_bf_rb_end(&rb, chain);

	return rb.err ? rb.err : _bf_rule_ping_count(&rb, chain, ctx);
}

static const struct {
	const char *name;
	enum bf_verdict policy;
	int (*build)(struct bf_table *table, struct bf_chain *chain,
		     const struct _bf_ctx *ctx);
} _bf_scenarios[] = {
	{ "drop-udp-port", BF_VERDICT_ACCEPT, _bf_sc_drop_udp_port },
	{ "drop-icmp", BF_VERDICT_ACCEPT, _bf_sc_drop_icmp },
	{ "drop-icmp-udp-port", BF_VERDICT_ACCEPT, _bf_sc_drop_icmp_udp_port },
	{ "drop-saddr", BF_VERDICT_ACCEPT, _bf_sc_drop_saddr },
	{ "accept-only-udp-port", BF_VERDICT_DROP,
	  _bf_sc_accept_only_udp_port },
	{ "jump-udp-port", BF_VERDICT_ACCEPT, _bf_sc_jump_udp_port },
	{ "count-ping", BF_VERDICT_ACCEPT, _bf_sc_count_ping },
	{ "count-ping-behind", BF_VERDICT_ACCEPT, _bf_sc_count_ping_behind },
};

static int _bf_scenario_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(_bf_scenarios); i++) {
		if (!strcmp(_bf_scenarios[i].name, name))
			return (int)i;
	}
	return -1;
}

static int _bf_table_build(struct bf_table **out, int scenario,
			   const struct _bf_ctx *ctx)
{
	struct bf_table *table = NULL;
	struct bf_chain *chain = NULL, *base;
	int r;

	r = bf_table_new(&table, _BF_TABLE_NAME, ctx->family);
	if (r)
		return r;

	r = bf_chain_new_base(&chain, _BF_BASE_CHAIN, ctx->hook, ctx->priority,
			      _bf_scenarios[scenario].policy);
	if (r)
		goto err;
	snprintf(chain->ifname, sizeof(chain->ifname), "%s", ctx->ifname);
	snprintf(chain->cgroup, sizeof(chain->cgroup), "%s", ctx->cgroup);

	/* The table owns the chain from here; keep a pointer to fill it. */
	base = chain;
	r = bf_table_add_chain(table, &chain);
	if (r)
		goto err;

	r = _bf_scenarios[scenario].build(table, base, ctx);
	if (r)
		goto err;

	*out = table;
	return 0;

err:
	bf_chain_free(&chain);
	bf_table_free(&table);
	return r;
}

/* One program per nfproto: an inet table at a netfilter hook gets two. */
struct _bf_set {
	struct bf_table *table;
	struct bf_program *progs[_BF_MAX_PROGS];
	size_t n_progs;
};

static void _bf_set_clean(struct _bf_set *set)
{
	for (size_t i = 0; i < set->n_progs; i++)
		bf_program_free(&set->progs[i]);
	set->n_progs = 0;
	bf_table_free(&set->table);
}

/* @running: the set whose programs run (NULL: none), which the new ones
 * are generated against so that they share its counters. */
static int _bf_set_make(struct _bf_set *set, const struct _bf_set *running,
			int scenario,
			const struct _bf_ctx *ctx, bool verbose)
{
	int nfprotos[_BF_MAX_PROGS] = { BF_NFPROTO_UNSPEC };
	size_t n = 1;
	char msg[8192];
	int r;

	if (_bf_is_nf(ctx->hook) && ctx->family == BF_FAMILY_INET) {
		nfprotos[0] = BF_NFPROTO_IPV4;
		nfprotos[1] = BF_NFPROTO_IPV6;
		n = 2;
	}

	r = _bf_table_build(&set->table, scenario, ctx);
	if (r) {
		fprintf(stderr, "bf_chaintool: building '%s': %s\n",
			_bf_scenarios[scenario].name, strerror(-r));
		return r;
	}
	if (verbose)
		bf_table_dump(set->table, stderr);

	for (size_t i = 0; i < n; i++) {
		msg[0] = '\0';
		if (running && i < running->n_progs)
			r = bf_program_generate_for(&set->progs[i], set->table,
						    _BF_BASE_CHAIN, nfprotos[i],
						    running->progs[i], msg,
						    sizeof(msg));
		else
			r = bf_program_generate(&set->progs[i], set->table,
						_BF_BASE_CHAIN, nfprotos[i], msg,
						sizeof(msg));
		if (r) {
			fprintf(stderr, "bf_chaintool: generating '%s': %s: %s\n",
				_bf_scenarios[scenario].name, strerror(-r),
				msg);
			goto err;
		}
		set->n_progs++;
		if (verbose)
			bf_program_dump(set->progs[i], stderr);

		msg[0] = '\0';
		r = bf_program_load(set->progs[i], msg, sizeof(msg));
		if (r) {
			fprintf(stderr, "bf_chaintool: loading '%s': %s\n%s\n",
				_bf_scenarios[scenario].name, strerror(-r),
				msg);
			goto err;
		}
	}

	return 0;

err:
	_bf_set_clean(set);
	return r;
}

static void _bf_print_chain_counters(const struct _bf_set *set,
				     const struct bf_chain *chain)
{
	for (size_t ri = 0; ri < chain->n_rules; ri++) {
		const struct bf_rule *rule = chain->rules[ri];

		for (size_t ei = 0; ei < rule->n_exprs; ei++) {
			uint64_t pkts = 0, bytes = 0;
			bool found = false;

			if (rule->exprs[ei].type != BF_EXPR_COUNTER)
				continue;

			for (size_t p = 0; p < set->n_progs; p++) {
				uint64_t pk, by;
				int r = bf_program_get_counter(set->progs[p],
							       chain->name, ri,
							       ei, &pk, &by);
				if (r == -ENOENT)
					continue;
				if (r) {
					fprintf(stderr, "bf_chaintool: counter %s:%zu: %s\n",
						chain->name, ri, strerror(-r));
					continue;
				}
				pkts += pk;
				bytes += by;
				found = true;
			}
			if (!found)
				continue;

			if (chain->base)
				printf("counter %zu packets %" PRIu64
				       " bytes %" PRIu64 "\n",
				       ri, pkts, bytes);
			else
				printf("counter %s:%zu packets %" PRIu64
				       " bytes %" PRIu64 "\n",
				       chain->name, ri, pkts, bytes);
			printf("handle %" PRIu64 " packets %" PRIu64
			       " bytes %" PRIu64 "\n",
			       rule->handle, pkts, bytes);
			/* One counter per rule in these scenarios. */
			break;
		}
	}
}

static void _bf_print_counters(const struct _bf_set *set)
{
	const struct bf_chain *base =
		bf_table_get_chain(set->table, _BF_BASE_CHAIN);
	uint64_t pkts = 0, bytes = 0;

	_bf_print_chain_counters(set, base);
	for (size_t i = 0; i < set->table->n_chains; i++) {
		if (set->table->chains[i] != base)
			_bf_print_chain_counters(set, set->table->chains[i]);
	}

	for (size_t p = 0; p < set->n_progs; p++) {
		uint64_t pk, by;
		int r = bf_program_get_policy_counter(set->progs[p], &pk, &by);
		if (r) {
			fprintf(stderr, "bf_chaintool: policy counter: %s\n",
				strerror(-r));
			continue;
		}
		pkts += pk;
		bytes += by;
	}
	printf("policy packets %" PRIu64 " bytes %" PRIu64 "\n", pkts, bytes);
	fflush(stdout);
}

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

struct _bf_opts {
	struct _bf_ctx ctx;
	int scenarios[2]; /* --scenario, --scenario2 (-1: none) */
	double replace_after; /* < 0: never */
	unsigned long replace_loop; /* swaps per SIGUSR1 (0: one) */
	double max_time; /* < 0: no limit */
	bool xdp_native;
	bool verbose;
};

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
static int _bf_ctx_set_family(struct _bf_ctx *ctx, const char *family)
{
	bool netdev = ctx->hook == BF_HOOK_XDP ||
		      ctx->hook == BF_HOOK_TC_INGRESS ||
		      ctx->hook == BF_HOOK_TC_EGRESS;

	/* Default: ip at netfilter hooks, inet at cgroup hooks; a netdev
	 * table sees every frame, --family only narrows its rules. */
	if (!family)
		family = netdev || !_bf_is_nf(ctx->hook) ? "inet" : "ip";

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
static int _bf_parse_args(int argc, char *argv[], struct _bf_opts *o,
			  bool *done)
{
	struct _bf_ctx *ctx = &o->ctx;
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
			o->scenarios[idx] = _bf_scenario_find(optarg);
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

/*
 * Swap every link to the programs of the other scenario. Programs already
 * switched when a later one fails stay switched (they hold the counters
 * now); the set that is left is then only freed once nothing uses it.
 */
static int _bf_swap(struct _bf_set sets[2], int *cur,
		    struct bf_link *links[], const struct _bf_opts *o)
{
	int next = !*cur;
	size_t i;
	int r;

	/* Still half in use after an earlier partial failure. */
	if (sets[next].n_progs)
		return -EBUSY;

	r = _bf_set_make(&sets[next], &sets[*cur], o->scenarios[next], &o->ctx,
			 o->verbose);
	if (r)
		return r;

	for (i = 0; i < sets[next].n_progs; i++) {
		r = bf_link_replace(links[i], sets[next].progs[i],
				    sets[*cur].progs[i]);
		if (r) {
			fprintf(stderr, "bf_chaintool: replacing program %zu: %s\n",
				i, strerror(-r));
			break;
		}
	}
	if (r && i == 0) {
		_bf_set_clean(&sets[next]);
		return r;
	}
	if (!r)
		_bf_set_clean(&sets[*cur]);
	*cur = next;

	return r;
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
static bool _bf_run(struct _bf_set sets[2], int *cur, struct bf_link *links[],
		    const struct _bf_opts *o, const sigset_t *sigs)
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
				if (_bf_swap(sets, cur, links, o)) {
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

		if (_bf_swap(sets, cur, links, o)) {
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
	struct _bf_opts o = {
		.ctx = { .hook = _BF_HOOK_MAX, .port = 4242 },
		.scenarios = { -1, -1 },
		.replace_after = -1,
		.max_time = -1,
	};
	struct _bf_set sets[2] = {};
	struct bf_link *links[_BF_MAX_PROGS] = {};
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

	if (_bf_set_make(&sets[0], NULL, o.scenarios[0], &o.ctx, o.verbose))
		goto out;

	for (size_t i = 0; i < sets[0].n_progs; i++) {
		r = bf_link_attach(&links[i], sets[0].progs[i], &lopts);
		if (r) {
			fprintf(stderr, "bf_chaintool: attaching '%s' at %s: %s\n",
				_bf_scenarios[o.scenarios[0]].name,
				bf_hook_to_str(o.ctx.hook), strerror(-r));
			goto out;
		}
	}

	printf("ready\n");
	fflush(stdout);

	ret = _bf_run(sets, &cur, links, &o, &sigs) ? 1 : 0;
	_bf_print_counters(&sets[cur]);

out:
	for (size_t i = 0; i < ARRAY_SIZE(links); i++)
		bf_link_free(&links[i]);
	_bf_set_clean(&sets[0]);
	_bf_set_clean(&sets[1]);

	return ret;
}
