/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The scenarios of bf_chaintool: each a base chain (and the regular chains
 * it jumps to) in a table of its own, built with a sticky-error rule
 * builder. Rule handles stay the same across scenarios, so that counters
 * follow their rules through a replacement.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <bpfilter/helpers.h>
#include <bpfilter/ir.h>

#include "chaintool.h"

#define _BF_TABLE_NAME "bf_chaintool"
#define _BF_UDP_CHAIN "udp_in"

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
static void _bf_rb_l3(struct _bf_rb *rb, const struct bf_ct_ctx *ctx,
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
static enum _bf_l3 _bf_ctx_l3(const struct bf_ct_ctx *ctx)
{
	if (ctx->v4 && ctx->v6)
		return _BF_L3_ANY;
	return ctx->v4 ? _BF_L3_V4 : _BF_L3_V6;
}

static void _bf_rule_udp_drop(struct _bf_rb *rb, struct bf_chain *chain,
			      const struct bf_ct_ctx *ctx)
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
				const struct bf_ct_ctx *ctx)
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
				const struct bf_ct_ctx *ctx)
{
	struct _bf_rb rb = {};

	_bf_rule_udp_drop(&rb, chain, ctx);
	return rb.err;
}

static int _bf_sc_drop_icmp(struct bf_table *table, struct bf_chain *chain,
			    const struct bf_ct_ctx *ctx)
{
	struct _bf_rb rb = {};

	_bf_rules_icmp_drop(&rb, chain, ctx);
	return rb.err;
}

/* Same UDP rule as drop-udp-port (same handle) behind ICMP drop rules: its
 * counter must follow it to another index on replacement. */
static int _bf_sc_drop_icmp_udp_port(struct bf_table *table,
				     struct bf_chain *chain,
				     const struct bf_ct_ctx *ctx)
{
	struct _bf_rb rb = {};

	_bf_rules_icmp_drop(&rb, chain, ctx);
	_bf_rule_udp_drop(&rb, chain, ctx);
	return rb.err;
}

static int _bf_sc_drop_saddr(struct bf_table *table, struct bf_chain *chain,
			     const struct bf_ct_ctx *ctx)
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
				       const struct bf_ct_ctx *ctx)
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
				const struct bf_ct_ctx *ctx)
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
			       const struct bf_ct_ctx *ctx)
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
			     const struct bf_ct_ctx *ctx)
{
	struct _bf_rb rb = {};

	return _bf_rule_ping_count(&rb, chain, ctx);
}

/* The same counting rule (same handle) behind a rule of another shape
 * (UDP to --port, counter, drop): other code, the counter moves from
 * index 0 to 1 and must follow it. */
static int _bf_sc_count_ping_behind(struct bf_table *table,
				    struct bf_chain *chain,
				    const struct bf_ct_ctx *ctx)
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
		     const struct bf_ct_ctx *ctx);
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

int bf_ct_scenario_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(_bf_scenarios); i++) {
		if (!strcmp(_bf_scenarios[i].name, name))
			return (int)i;
	}
	return -1;
}

const char *bf_ct_scenario_name(int scenario)
{
	return _bf_scenarios[scenario].name;
}

int bf_ct_table_build(struct bf_table **out, int scenario,
		      const struct bf_ct_ctx *ctx)
{
	struct bf_table *table = NULL;
	struct bf_chain *chain = NULL, *base;
	int r;

	r = bf_table_new(&table, _BF_TABLE_NAME, ctx->family);
	if (r)
		return r;

	r = bf_chain_new_base(&chain, BF_CT_BASE_CHAIN, ctx->hook,
			      ctx->priority, _bf_scenarios[scenario].policy);
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
