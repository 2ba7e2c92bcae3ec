/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Runs of rules `meta l4proto udp; udp dport == P; [counter;] accept|drop`
 * compile to one hash map lookup from 16 rules on (a linear group below):
 * the verdict and counter of the first rule with a port must win, later
 * rules with the same port stay shadowed, a miss falls through to what
 * follows the run, and both layouts must agree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/e2e.h"

#define _BASE_PORT 1000

/* Rule i: udp dport BASE+i, counter when @counters, drop when i % 3 == 0.
 * Then a duplicate of port BASE+5 with the opposite verdict, then a rule
 * after the run (tcp dport 7 accept), policy drop. */
static void _build(struct e2e *t, const struct e2e_flavour *f, size_t n,
		   bool counters)
{
	e2e_init_flavour(t, f, BF_VERDICT_DROP);
	for (size_t i = 0; i < n; i++) {
		struct bf_expr v = i % 3 ? e2e_accept() : e2e_drop();

		if (counters)
			E2E_RULE(t, NULL, bf_expr_meta(BF_META_L4PROTO, 0),
				 e2e_cmp_u8(BF_CMP_EQ, 0, PKT_PROTO_UDP),
				 bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 0),
				 e2e_cmp_be16(BF_CMP_EQ, 0, (uint16_t)(_BASE_PORT + i)),
				 bf_expr_counter(), v);
		else
			E2E_RULE(t, NULL, bf_expr_meta(BF_META_L4PROTO, 0),
				 e2e_cmp_u8(BF_CMP_EQ, 0, PKT_PROTO_UDP),
				 bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 0),
				 e2e_cmp_be16(BF_CMP_EQ, 0, (uint16_t)(_BASE_PORT + i)),
				 v);
	}
	/* rule n: shadowed duplicate of port BASE+5 (rule 5 accepts) */
	E2E_RULE(t, NULL, bf_expr_meta(BF_META_L4PROTO, 0),
		 e2e_cmp_u8(BF_CMP_EQ, 0, PKT_PROTO_UDP),
		 bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 0),
		 e2e_cmp_be16(BF_CMP_EQ, 0, _BASE_PORT + 5), bf_expr_counter(),
		 e2e_drop());
	/* rule n + 1: after the run */
	E2E_RULE(t, NULL, bf_expr_meta(BF_META_L4PROTO, 0),
		 e2e_cmp_u8(BF_CMP_EQ, 0, PKT_PROTO_TCP),
		 bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 0),
		 e2e_cmp_be16(BF_CMP_EQ, 0, 7), bf_expr_counter(), e2e_accept());
	e2e_load(t);
}

static void _check(const struct e2e_flavour *f, size_t n, bool counters)
{
	uint8_t pkt[PKT_MAX];
	size_t len, seen, policy_bytes = 0;
	struct e2e t;

	_build(&t, f, n, counters);

	len = e2e_port_pkt(f, PKT_PROTO_UDP, _BASE_PORT + 3, pkt); /* rule 3: drop */
	seen = e2e_seen_len(f->hook, len);
	e2e_expect(&t, pkt, len, BF_VERDICT_DROP);
	len = e2e_port_pkt(f, PKT_PROTO_UDP, _BASE_PORT + 4, pkt); /* rule 4: accept */
	e2e_expect(&t, pkt, len, BF_VERDICT_ACCEPT);
	len = e2e_port_pkt(f, PKT_PROTO_UDP, _BASE_PORT + 5, pkt); /* rule 5 wins */
	e2e_expect(&t, pkt, len, BF_VERDICT_ACCEPT);
	len = e2e_port_pkt(f, PKT_PROTO_UDP, (uint16_t)(_BASE_PORT + n - 1), pkt);
	e2e_expect(&t, pkt, len, (n - 1) % 3 ? BF_VERDICT_ACCEPT : BF_VERDICT_DROP);
	len = e2e_port_pkt(f, PKT_PROTO_UDP, 9, pkt); /* miss: policy */
	e2e_expect(&t, pkt, len, BF_VERDICT_DROP);
	policy_bytes += e2e_seen_len(f->hook, len);
	len = e2e_port_pkt(f, PKT_PROTO_TCP, 7, pkt); /* prefix fails: the rule after */
	e2e_expect(&t, pkt, len, BF_VERDICT_ACCEPT);
	len = e2e_port_pkt(f, PKT_PROTO_TCP, _BASE_PORT + 4, pkt); /* prefix fails: policy */
	e2e_expect(&t, pkt, len, BF_VERDICT_DROP);
	policy_bytes += e2e_seen_len(f->hook, len);

	if (counters) {
		e2e_expect_counter(&t, NULL, 3, 4, 1, seen);
		e2e_expect_counter(&t, NULL, 4, 4, 1, seen);
		e2e_expect_counter(&t, NULL, 5, 4, 1, seen);
		e2e_expect_counter(&t, NULL, 6, 4, 0, 0);
		e2e_expect_counter(&t, NULL, n - 1, 4, 1, seen);
	}
	e2e_expect_counter(&t, NULL, n, 4, 0, 0); /* the shadowed duplicate */
	e2e_expect_policy(&t, 2, policy_bytes);
	e2e_fini(&t);
}

static void test_map_counters(void **state)
{
	_check(e2e_state_flavour(state), 40, true);
}

static void test_map_no_counters(void **state)
{
	_check(e2e_state_flavour(state), 40, false);
}

static void test_linear_counters(void **state)
{
	_check(e2e_state_flavour(state), 15, true);
}

/* A large run: 5000 rules, the last port still found. */
static void test_map_large(void **state)
{
	_check(e2e_state_flavour(state), 5000, true);
}

static const char *const _flavour_names[] = {
	"xdp/ip4", "tc_ingress/ip6", "nf_input/ip", "nf_output/ip6",
	"nf_input/inet4", "cgroup_ingress/ip",
};

static const struct e2e_test _tests[] = {
	{ "map_counters", test_map_counters },
	{ "map_no_counters", test_map_no_counters },
	{ "linear_counters", test_linear_counters },
	{ "map_large", test_map_large },
};

int main(void)
{
	return e2e_run_tests("groups", _flavour_names, ARRAY_SIZE(_flavour_names),
			     _tests, ARRAY_SIZE(_tests));
}
