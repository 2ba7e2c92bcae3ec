/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Every hook flavour: policies, a matching and a non-matching rule, the
 * policy and rule counters, and which packets a family lets in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/e2e.h"

static size_t _udp_pkt(const struct e2e_flavour *f, uint16_t dport,
		       uint8_t *buf, size_t cap)
{
	struct pkt_spec spec;

	pkt_spec_init(&spec, f->l3, PKT_PROTO_UDP);
	spec.dport = dport;

	return e2e_pkt(&spec, buf, cap, NULL);
}

static void _policy(void **state, enum bf_verdict policy)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	uint8_t pkt[PKT_MAX];
	size_t len = _udp_pkt(f, 80, pkt, sizeof(pkt));
	size_t seen = e2e_seen_len(f->hook, len);
	struct e2e t;

	e2e_init_flavour(&t, f, policy);
	e2e_load(&t);
	e2e_expect_policy(&t, 0, 0);
	e2e_expect(&t, pkt, len, policy);
	e2e_expect_policy(&t, 1, seen);
	e2e_expect(&t, pkt, len, policy);
	e2e_expect(&t, pkt, len - 3, policy);
	e2e_expect_policy(&t, 3, 3 * seen - 3);
	assert_int_equal(bf_program_reset_counters(t.prog), 0);
	e2e_expect_policy(&t, 0, 0);
	e2e_fini(&t);
}

static void test_policy_accept(void **state)
{
	_policy(state, BF_VERDICT_ACCEPT);
}

static void test_policy_drop(void **state)
{
	_policy(state, BF_VERDICT_DROP);
}

/* Policy accept; `meta l4proto udp udp dport 80 counter drop`. */
static void test_drop_rule(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	uint8_t hit[PKT_MAX], miss[PKT_MAX];
	size_t hit_len = _udp_pkt(f, 80, hit, sizeof(hit));
	size_t miss_len = _udp_pkt(f, 81, miss, sizeof(miss));
	size_t seen = e2e_seen_len(f->hook, hit_len);
	struct e2e t;

	e2e_init_flavour(&t, f, BF_VERDICT_ACCEPT);
	E2E_RULE(&t, NULL, bf_expr_meta(BF_META_L4PROTO, 0),
		 e2e_cmp_u8(BF_CMP_EQ, 0, PKT_PROTO_UDP),
		 bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 1),
		 e2e_cmp_be16(BF_CMP_EQ, 1, 80), bf_expr_counter(),
		 e2e_drop());
	e2e_load(&t);

	e2e_expect(&t, hit, hit_len, BF_VERDICT_DROP);
	e2e_expect_counter(&t, NULL, 0, 4, 1, seen);
	e2e_expect_policy(&t, 0, 0);

	e2e_expect(&t, miss, miss_len, BF_VERDICT_ACCEPT);
	e2e_expect(&t, miss, miss_len, BF_VERDICT_ACCEPT);
	e2e_expect_counter(&t, NULL, 0, 4, 1, seen);
	e2e_expect_policy(&t, 2, 2 * seen);

	e2e_expect(&t, hit, hit_len, BF_VERDICT_DROP);
	e2e_expect_counter(&t, NULL, 0, 4, 2, 2 * seen);
	e2e_fini(&t);
}

/* Policy drop; `ip(6) saddr <src> counter accept`, then a rule that never
 * matches. */
static void test_accept_rule(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	uint8_t hit[PKT_MAX], miss[PKT_MAX];
	struct pkt_spec spec;
	size_t hit_len, miss_len, seen;
	size_t alen = f->l3 == 6 ? 16 : 4;
	uint16_t off = f->l3 == 6 ? 8 : 12;
	struct e2e t;

	pkt_spec_init(&spec, f->l3, PKT_PROTO_TCP);
	hit_len = e2e_pkt(&spec, hit, sizeof(hit), NULL);
	if (f->l3 == 6)
		assert_int_equal(pkt_spec_set_addrs(&spec, "2001:db8::99",
						    "2001:db8::2"),
				 0);
	else
		assert_int_equal(pkt_spec_set_addrs(&spec, "10.0.0.99",
						    "10.0.0.2"),
				 0);
	miss_len = e2e_pkt(&spec, miss, sizeof(miss), NULL);
	seen = e2e_seen_len(f->hook, hit_len);

	e2e_init_flavour(&t, f, BF_VERDICT_DROP);
	E2E_RULE(&t, NULL, bf_expr_payload(BF_PAYLOAD_NH, 0, 1, 0),
		 e2e_cmp_u8(BF_CMP_EQ, 0, 0xff), e2e_accept());
	E2E_RULE(&t, NULL, bf_expr_payload(BF_PAYLOAD_NH, off, alen, 0),
		 e2e_cmp_bytes(BF_CMP_EQ, 0, spec.daddr, alen),
		 bf_expr_counter(), e2e_accept());
	{
		struct pkt_spec s0;

		/* Source 10.0.0.1 / 2001:db8::1 (the hit packet's): rule 2
		 * looks for it as destination (never), rule 3 as source. */
		pkt_spec_init(&s0, f->l3, PKT_PROTO_TCP);
		E2E_RULE(&t, NULL,
			 bf_expr_payload(BF_PAYLOAD_NH, off + alen, alen, 2),
			 e2e_cmp_bytes(BF_CMP_EQ, 2, s0.saddr, alen),
			 bf_expr_counter(), e2e_accept());
		E2E_RULE(&t, NULL,
			 bf_expr_payload(BF_PAYLOAD_NH, off, alen, 4),
			 e2e_cmp_bytes(BF_CMP_EQ, 4, s0.saddr, alen),
			 bf_expr_counter(), e2e_accept());
	}
	e2e_load(&t);

	e2e_expect(&t, hit, hit_len, BF_VERDICT_ACCEPT);
	e2e_expect_counter(&t, NULL, 1, 2, 0, 0);
	e2e_expect_counter(&t, NULL, 2, 2, 0, 0);
	e2e_expect_counter(&t, NULL, 3, 2, 1, seen);
	e2e_expect_policy(&t, 0, 0);

	e2e_expect(&t, miss, miss_len, BF_VERDICT_DROP);
	e2e_expect_counter(&t, NULL, 3, 2, 1, seen);
	e2e_expect_policy(&t, 1, e2e_seen_len(f->hook, miss_len));
	e2e_fini(&t);
}

/* A NEQ rule on a field that differs matches; on an equal one it does not. */
static void test_neq_rule(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	uint8_t pkt[PKT_MAX];
	size_t len = _udp_pkt(f, 80, pkt, sizeof(pkt));
	const struct bf_expr neq80[] = {
		bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 0),
		e2e_cmp_be16(BF_CMP_NEQ, 0, 80),
		e2e_drop(),
	};
	const struct bf_expr neq81[] = {
		bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 0),
		e2e_cmp_be16(BF_CMP_NEQ, 0, 81),
		e2e_drop(),
	};

	assert_int_equal(e2e_verdict_of(f, BF_VERDICT_ACCEPT, neq80, 3, pkt,
					len),
			 e2e_retval(f->hook, BF_VERDICT_ACCEPT));
	assert_int_equal(e2e_verdict_of(f, BF_VERDICT_ACCEPT, neq81, 3, pkt,
					len),
			 e2e_retval(f->hook, BF_VERDICT_DROP));
}

/* A rule with only a verdict matches everything; the rules after it and
 * the policy are never reached. */
static void test_first_verdict_wins(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	uint8_t pkt[PKT_MAX];
	size_t len = _udp_pkt(f, 80, pkt, sizeof(pkt));
	struct e2e t;

	e2e_init_flavour(&t, f, BF_VERDICT_ACCEPT);
	E2E_RULE(&t, NULL, bf_expr_counter());
	E2E_RULE(&t, NULL, bf_expr_counter(), e2e_drop());
	E2E_RULE(&t, NULL, bf_expr_counter(), e2e_accept());
	e2e_load(&t);
	e2e_expect(&t, pkt, len, BF_VERDICT_DROP);
	e2e_expect_counter(&t, NULL, 0, 0, 1, e2e_seen_len(f->hook, len));
	e2e_expect_counter(&t, NULL, 1, 0, 1, e2e_seen_len(f->hook, len));
	e2e_expect_counter(&t, NULL, 2, 0, 0, 0);
	e2e_expect_policy(&t, 0, 0);
	e2e_fini(&t);
}

/* An ip (ip6) table is not traversed by IPv6 (IPv4) packets: neither its
 * rules nor its policy apply (nf_tables: the chain is registered for one
 * family only). A netdev table sees every frame, IP or not. */
static void test_family_filter(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	int other = f->l3 == 6 ? 4 : 6;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec spec;
	size_t len;
	struct e2e t;

	pkt_spec_init(&spec, other, PKT_PROTO_UDP);
	len = e2e_pkt(&spec, pkt, sizeof(pkt), NULL);

	e2e_init_flavour(&t, f, BF_VERDICT_DROP);
	E2E_RULE(&t, NULL, bf_expr_counter(), e2e_drop());
	e2e_load(&t);
	if (f->family == BF_FAMILY_NETDEV || f->family == BF_FAMILY_INET) {
		e2e_expect(&t, pkt, len, BF_VERDICT_DROP);
		e2e_expect_counter(&t, NULL, 0, 0, 1,
				   e2e_seen_len(f->hook, len));
	} else {
		e2e_expect(&t, pkt, len, BF_VERDICT_ACCEPT);
		e2e_expect_counter(&t, NULL, 0, 0, 0, 0);
		e2e_expect_policy(&t, 0, 0);
	}
	e2e_fini(&t);
}

/* Netdev: a non-IP frame gets the policy; l4proto and transport loads
 * fail on it, even in a NEQ comparison. */
static void test_non_ip(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	uint8_t pkt[PKT_MAX];
	struct pkt_spec spec;
	size_t len;
	struct e2e t;

	pkt_spec_init(&spec, 0, 0);
	spec.payload_len = 64;
	len = e2e_pkt(&spec, pkt, sizeof(pkt), NULL);

	e2e_init_flavour(&t, f, BF_VERDICT_DROP);
	E2E_RULE(&t, NULL, bf_expr_meta(BF_META_L4PROTO, 0),
		 e2e_cmp_u8(BF_CMP_NEQ, 0, PKT_PROTO_TCP), e2e_accept());
	E2E_RULE(&t, NULL, bf_expr_payload(BF_PAYLOAD_TH, 0, 1, 0),
		 e2e_cmp_u8(BF_CMP_NEQ, 0, 0x42), e2e_accept());
	E2E_RULE(&t, NULL, bf_expr_meta(BF_META_PROTOCOL, 0),
		 e2e_cmp_be16(BF_CMP_EQ, 0, 0x88b5), bf_expr_counter());
	e2e_load(&t);
	e2e_expect(&t, pkt, len, BF_VERDICT_DROP);
	e2e_expect_counter(&t, NULL, 2, 2, 1, e2e_seen_len(f->hook, len));
	e2e_expect_policy(&t, 1, e2e_seen_len(f->hook, len));
	e2e_fini(&t);
}

/* nf_tables netdev: the network header of any frame is set right after
 * the link-layer header, so a network-header load reads the bytes there
 * (here the first payload byte, 0xa0) whatever the ethertype. */
static void test_non_ip_nh(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	uint8_t pkt[PKT_MAX];
	struct pkt_spec spec;
	size_t len;
	struct e2e t;

	pkt_spec_init(&spec, 0, 0);
	spec.payload_len = 64;
	len = e2e_pkt(&spec, pkt, sizeof(pkt), NULL);

	e2e_init_flavour(&t, f, BF_VERDICT_DROP);
	E2E_RULE(&t, NULL, bf_expr_payload(BF_PAYLOAD_NH, 0, 2, 0),
		 e2e_cmp_be16(BF_CMP_EQ, 0, 0xa0a1), e2e_accept());
	e2e_load(&t);
	e2e_expect(&t, pkt, len, BF_VERDICT_ACCEPT);
	e2e_fini(&t);
}

struct _test_def {
	const char *name;
	CMUnitTestFunction fn;
	bool netdev_only;
	bool family_filter;
};

static const struct _test_def _tests[] = {
	{ "policy_accept", test_policy_accept },
	{ "policy_drop", test_policy_drop },
	{ "drop_rule", test_drop_rule },
	{ "accept_rule", test_accept_rule },
	{ "neq_rule", test_neq_rule },
	{ "first_verdict_wins", test_first_verdict_wins },
	{ "family_filter", test_family_filter, false, true },
	{ "non_ip", test_non_ip, true },
	{ "non_ip_nh", test_non_ip_nh, true },
};

int main(void)
{
	size_t n = 0, i, j;
	struct CMUnitTest *tests;
	int r;

	/* E2E_FILTER=PATTERN (cmocka wildcards) runs only the tests whose name matches. */
	if (getenv("E2E_FILTER"))
		cmocka_set_test_filter(getenv("E2E_FILTER"));

	tests = calloc(e2e_n_flavours * ARRAY_SIZE(_tests), sizeof(*tests));
	if (!tests)
		return 1;

	for (i = 0; i < e2e_n_flavours; i++) {
		const struct e2e_flavour *f = &e2e_flavours[i];

		for (j = 0; j < ARRAY_SIZE(_tests); j++) {
			char *name;

			if (_tests[j].netdev_only &&
			    f->family != BF_FAMILY_NETDEV)
				continue;
			/* NF programs serve one protocol family: only the
			 * other hooks get packets of the other family. */
			if (_tests[j].family_filter && bf_hook_is_nf(f->hook))
				continue;
			if (asprintf(&name, "%s/%s", f->name, _tests[j].name) < 0)
				return 1;
			tests[n++] = (struct CMUnitTest) {
				.name = name,
				.test_func = _tests[j].fn,
				.initial_state = (void *)f,
			};
		}
	}

	r = _cmocka_run_group_tests("flavours", tests, n, NULL, NULL);
	for (i = 0; i < n; i++)
		free((char *)tests[i].name);
	free(tests);

	return r;
}
