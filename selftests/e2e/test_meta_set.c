/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * meta mark set / meta priority set: written to struct __sk_buff at TC
 * and cgroup_skb hooks, so a later rule (and a later chain, and the
 * stack) sees the new value; refused with EOPNOTSUPP where the program
 * cannot write the skb (netfilter, XDP). Real traffic and `ip rule
 * fwmark`: selftests/shell/nft_mark.sh.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/e2e.h"

static bool _writable(const struct e2e_flavour *f)
{
	return f->hook == BF_HOOK_TC_INGRESS || f->hook == BF_HOOK_TC_EGRESS ||
	       f->hook == BF_HOOK_CGROUP_SKB_INGRESS ||
	       f->hook == BF_HOOK_CGROUP_SKB_EGRESS;
}

static bool _not_writable(const struct e2e_flavour *f)
{
	return !_writable(f);
}

/* rule 0: KEY set 0x2a (or KEY | 0x10 via a mask/xor, as nft sends
 * `meta mark set mark or 0x10`); rule 1: KEY == WANT counter. */
static void _set_then_match(const struct e2e_flavour *f, enum bf_meta_key key)
{
	uint8_t pkt[PKT_MAX];
	size_t len = e2e_port_pkt(f, 17, 53, pkt);
	struct bf_data v, mask, xor;
	struct e2e t;

	bf_data_u32(&v, 0x2a);
	bf_data_u32(&mask, 0xffffffef);
	bf_data_u32(&xor, 0x10);
	e2e_init_flavour(&t, f, BF_VERDICT_ACCEPT);
	E2E_RULE(&t, NULL, bf_expr_immediate(1, &v), bf_expr_meta_set(key, 1));
	E2E_RULE(&t, NULL, bf_expr_meta(key, 0), e2e_cmp_u32(BF_CMP_EQ, 0, 0x2a),
		 bf_expr_counter());
	E2E_RULE(&t, NULL, bf_expr_meta(key, 0),
		 bf_expr_bitwise_bool(0, 0, 4, &mask, &xor), bf_expr_meta_set(key, 0));
	E2E_RULE(&t, NULL, bf_expr_meta(key, 0), e2e_cmp_u32(BF_CMP_EQ, 0, 0x3a),
		 bf_expr_counter());
	/* A failing test before the set: the set does not run. */
	E2E_RULE(&t, NULL, bf_expr_immediate(1, &v), bf_expr_meta(key, 0),
		 e2e_cmp_u32(BF_CMP_EQ, 0, 7), bf_expr_meta_set(key, 1));
	E2E_RULE(&t, NULL, bf_expr_meta(key, 0), e2e_cmp_u32(BF_CMP_EQ, 0, 0x3a),
		 bf_expr_counter());
	e2e_load(&t);
	e2e_expect(&t, pkt, len, BF_VERDICT_ACCEPT);
	e2e_expect_counter(&t, NULL, 1, 2, 1, e2e_seen_len(f->hook, len));
	e2e_expect_counter(&t, NULL, 3, 2, 1, e2e_seen_len(f->hook, len));
	e2e_expect_counter(&t, NULL, 5, 2, 1, e2e_seen_len(f->hook, len));
	e2e_fini(&t);
}

static void test_mark_set(void **state)
{
	_set_then_match(e2e_state_flavour(state), BF_META_MARK);
}

static void test_priority_set(void **state)
{
	_set_then_match(e2e_state_flavour(state), BF_META_PRIORITY);
}

/* meta priority loads everywhere: 0 for a fresh test packet. */
static void test_priority_load(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	uint8_t pkt[PKT_MAX];
	size_t len = e2e_port_pkt(f, 17, 53, pkt);
	struct e2e t;

	e2e_init_flavour(&t, f, BF_VERDICT_ACCEPT);
	E2E_RULE(&t, NULL, bf_expr_meta(BF_META_PRIORITY, 0),
		 e2e_cmp_u32(BF_CMP_EQ, 0, 0), bf_expr_counter());
	e2e_load(&t);
	e2e_expect(&t, pkt, len, BF_VERDICT_ACCEPT);
	e2e_expect_counter(&t, NULL, 0, 2, 1, e2e_seen_len(f->hook, len));
	e2e_fini(&t);
}

static void test_refused(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	struct bf_program *prog = NULL;
	struct bf_data v;
	char err[512];
	struct e2e t;

	bf_data_u32(&v, 1);
	e2e_init_flavour(&t, f, BF_VERDICT_ACCEPT);
	E2E_RULE(&t, NULL, bf_expr_immediate(0, &v), bf_expr_meta_set(BF_META_MARK, 0));
	assert_int_equal(bf_program_generate(&prog, t.table, E2E_BASE, t.nfproto,
					     err, sizeof(err)), -EOPNOTSUPP);
	assert_non_null(strstr(err, "meta mark set is not supported at hook"));
	assert_non_null(strstr(err, bf_hook_to_str(f->hook)));
	bf_program_free(&prog);
	e2e_fini(&t);
}

static const struct e2e_test _tests[] = {
	{ "mark_set", test_mark_set, _writable },
	{ "priority_set", test_priority_set, _writable },
	{ "priority_load", test_priority_load },
	{ "refused", test_refused, _not_writable },
};

static const char *const _flavour_names[] = {
	"xdp/ip4",
	"tc_ingress/ip6",
	"tc_egress/ip4",
	"nf_prerouting/ip",
	"nf_input/inet4",
	"cgroup_ingress/inet6",
	"cgroup_egress/inet4",
};

int main(void)
{
	return e2e_run_tests("meta_set", _flavour_names, ARRAY_SIZE(_flavour_names),
			     _tests, ARRAY_SIZE(_tests));
}
