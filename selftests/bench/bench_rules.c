/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The workload of build/bench: the packet, the two rule series (udp and
 * mixed) as IR rules and as nft text, and the table of one chain that holds
 * N rules of a series.
 */
#include <assert.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>

#include <bpfilter/helpers.h>
#include <bpfilter/ir.h>

#include "common/packets.h"

#include "bench.h"

#define BENCH_PKT_LEN 64

/* ----------------------------------------------------------------------- */
/* The packet: Ethernet + IPv4 + UDP, 64 bytes, to a port no rule matches. */

int bench_build_packet(uint8_t *buf, size_t cap)
{
	struct pkt_spec spec;

	pkt_spec_init(&spec, 4, PKT_PROTO_UDP);
	spec.sport = 40000;
	spec.dport = BENCH_PKT_DPORT;
	spec.payload_len = BENCH_PKT_LEN - PKT_ETH_HLEN - PKT_IP4_HLEN -
			   pkt_l4_hlen(PKT_PROTO_UDP);

	return pkt_build(&spec, buf, cap, NULL);
}

/* ----------------------------------------------------------------------- */
/* The rules: IR as nft lowers them, and the same in nft syntax. */

/* Append @n expressions to @chain as one rule. */
static int _bench_add_exprs(struct bf_chain *chain, const struct bf_expr *exprs,
			    size_t n)
{
	struct bf_rule *rule = NULL;
	int r;

	r = bf_rule_new(&rule);
	if (r)
		return r;
	for (size_t i = 0; i < n; i++) {
		r = bf_rule_add_expr(rule, &exprs[i]);
		if (r)
			goto err_free;
	}
	r = bf_chain_add_rule(chain, &rule);
	if (r)
		goto err_free;
	return 0;

err_free:
	bf_rule_free(&rule);
	return r;
}

/* `<l4> dport @port`, as nft lowers it. */
static size_t _bench_l4_dport(struct bf_expr *exprs, uint8_t l4proto,
			      uint16_t port)
{
	struct bf_data proto, dport;

	bf_data_u8(&proto, l4proto);
	bf_data_be16(&dport, port);
	exprs[0] = bf_expr_meta(BF_META_L4PROTO, 0);
	exprs[1] = bf_expr_cmp(BF_CMP_EQ, 0, &proto);
	exprs[2] = bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 0);
	exprs[3] = bf_expr_cmp(BF_CMP_EQ, 0, &dport);
	return 4;
}

/* `ip saddr|daddr @addr/@plen`, as nft lowers it: in a netdev table it
 * first checks `meta protocol ip`; a prefix is a mask, then a test. */
static size_t _bench_ip_addr(struct bf_expr *exprs, enum bf_family family,
			     uint16_t offset, uint32_t addr, unsigned int plen)
{
	struct bf_data proto, a, mask, xor;
	uint32_t m = plen ? ~0u << (32 - plen) : 0;
	size_t n = 0;

	if (family == BF_FAMILY_NETDEV) {
		bf_data_be16(&proto, 0x0800);
		exprs[n++] = bf_expr_meta(BF_META_PROTOCOL, 0);
		exprs[n++] = bf_expr_cmp(BF_CMP_EQ, 0, &proto);
	}
	exprs[n++] = bf_expr_payload(BF_PAYLOAD_NH, offset, 4, 0);
	if (plen < 32) {
		bf_data_be32(&mask, m);
		bf_data_be32(&xor, 0);
		exprs[n++] = bf_expr_bitwise_bool(0, 0, 4, &mask, &xor);
	}
	bf_data_be32(&a, addr & m);
	exprs[n++] = bf_expr_cmp(BF_CMP_EQ, 0, &a);
	return n;
}

/* Rule @i of the mixed series has shape i % 4 and values of its own, never
 * the packet's (10.0.0.1 -> 10.0.0.2, UDP port 9). The order keeps the two
 * `ip` shapes apart: in a netdev table they share `meta protocol ip`. */
#define BENCH_MIXED_SADDR 0xc0a80000u /* 192.168.0.0 + i */
#define BENCH_MIXED_DNET 0xac100000u /* 172.16.0.0 + (i << 8), /24 */

static size_t _bench_mixed_exprs(struct bf_expr *exprs, enum bf_family family,
				 size_t i)
{
	uint16_t port = (uint16_t)(BENCH_PORT_BASE + i);

	switch (i % 4) {
	case 0:
		return _bench_l4_dport(exprs, IPPROTO_TCP, port);
	case 1:
		return _bench_ip_addr(exprs, family, 12,
				      BENCH_MIXED_SADDR + (uint32_t)i, 32);
	case 2:
		return _bench_l4_dport(exprs, IPPROTO_UDP, port);
	default:
		return _bench_ip_addr(exprs, family, 16,
				      BENCH_MIXED_DNET + ((uint32_t)i << 8), 24);
	}
}

static int _bench_add_rule_udp(struct bf_chain *chain, enum bf_family family,
			       size_t i)
{
	struct bf_expr exprs[8];
	size_t n;

	(void)family;
	n = _bench_l4_dport(exprs, IPPROTO_UDP, (uint16_t)(BENCH_PORT_BASE + i));
	exprs[n++] = bf_expr_counter();
	exprs[n++] = bf_expr_verdict(BF_VERDICT_ACCEPT, NULL);
	return _bench_add_exprs(chain, exprs, n);
}

static int _bench_add_rule_mixed(struct bf_chain *chain, enum bf_family family,
				 size_t i)
{
	struct bf_expr exprs[8];
	size_t n;

	n = _bench_mixed_exprs(exprs, family, i);
	exprs[n++] = bf_expr_counter();
	exprs[n++] = bf_expr_verdict(BF_VERDICT_ACCEPT, NULL);
	return _bench_add_exprs(chain, exprs, n);
}

static void _bench_ip4_str(char *buf, size_t len, uint32_t addr)
{
	snprintf(buf, len, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 0xff,
		 (addr >> 8) & 0xff, addr & 0xff);
}

/* The same rules in nft syntax. */
static void _bench_nft_rule_udp(FILE *f, size_t i)
{
	fprintf(f, "\t\tudp dport %zu counter accept\n", BENCH_PORT_BASE + i);
}

static void _bench_nft_rule_mixed(FILE *f, size_t i)
{
	char a[16];

	switch (i % 4) {
	case 0:
		fprintf(f, "\t\ttcp dport %zu counter accept\n", BENCH_PORT_BASE + i);
		break;
	case 1:
		_bench_ip4_str(a, sizeof(a), BENCH_MIXED_SADDR + (uint32_t)i);
		fprintf(f, "\t\tip saddr %s counter accept\n", a);
		break;
	case 2:
		fprintf(f, "\t\tudp dport %zu counter accept\n", BENCH_PORT_BASE + i);
		break;
	default:
		_bench_ip4_str(a, sizeof(a), BENCH_MIXED_DNET + ((uint32_t)i << 8));
		fprintf(f, "\t\tip daddr %s/24 counter accept\n", a);
		break;
	}
}

const struct bench_series bench_series[] = {
	{ "udp", "N x 'udp dport P counter accept' (consecutive rules share a prefix)",
	  _bench_add_rule_udp, _bench_nft_rule_udp },
	{ "mixed",
	  "N rules cycling through 'tcp dport P', 'ip saddr A', 'udp dport P',\n"
	  "'ip daddr A/24', each 'counter accept' (no two consecutive rules share a prefix)",
	  _bench_add_rule_mixed, _bench_nft_rule_mixed },
};

static_assert(ARRAY_SIZE(bench_series) == BENCH_SERIES,
	      "BENCH_SERIES out of sync with bench_series[]");

int bench_build_table(struct bf_table **out, const struct bench_series *series,
		      const struct bench_hook *hook, size_t n_rules)
{
	struct bf_table *table = NULL;
	struct bf_chain *chain = NULL;
	int r;

	r = bf_table_new(&table, "t", hook->family);
	if (r)
		return r;
	r = bf_chain_new_base(&chain, "c", hook->hook, 0, BF_VERDICT_DROP);
	if (r)
		goto err_table;
	for (size_t i = 0; i < n_rules; i++) {
		r = series->add_rule(chain, hook->family, i);
		if (r)
			goto err_chain;
	}
	r = bf_table_add_chain(table, &chain);
	if (r)
		goto err_chain;

	*out = table;
	return 0;

err_chain:
	bf_chain_free(&chain);
err_table:
	bf_table_free(&table);
	return r;
}
