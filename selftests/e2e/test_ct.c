/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ct loads. BPF_PROG_TEST_RUN builds an skb conntrack never saw
 * (skb->_nfct is 0): at netfilter hooks every key loads and verifies,
 * `ct state` is invalid (nft_ct: no entry, not untracked) and the keys
 * that need an entry make the rule not match. Traffic with real entries:
 * selftests/shell/nft_ct.sh. At XDP, TC and cgroup hooks ct is refused
 * with EOPNOTSUPP.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/e2e.h"

static bool _matches(const struct e2e_flavour *f, const struct bf_expr *exprs,
		     size_t n, const void *pkt, size_t len)
{
	struct bf_expr all[16];
	uint64_t p, b;
	struct e2e t;

	assert_true(n < ARRAY_SIZE(all));
	memcpy(all, exprs, n * sizeof(*exprs));
	all[n] = bf_expr_counter();

	e2e_init_flavour(&t, f, BF_VERDICT_ACCEPT);
	e2e_rule(&t, NULL, all, n + 1);
	e2e_load(&t);
	e2e_expect(&t, pkt, len, BF_VERDICT_ACCEPT);
	e2e_counter(&t, NULL, 0, n, &p, &b);
	e2e_fini(&t);
	assert_true(p <= 1);

	return p == 1;
}

#define MATCHES(f, pkt, len, ...) \
	_matches((f), E2E_EXPRS(__VA_ARGS__), E2E_NEXPRS(__VA_ARGS__), (pkt), (len))

static bool _nf(const struct e2e_flavour *f)
{
	return bf_hook_is_nf(f->hook);
}

static bool _not_nf(const struct e2e_flavour *f)
{
	return !_nf(f);
}

/* `ct state invalid`: 0x01 in the state bits. */
static void test_state_without_entry(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	uint8_t pkt[PKT_MAX];
	size_t len = e2e_port_pkt(f, 6, 22, pkt);
	struct bf_data mask, zero;

	bf_data_u32(&mask, BF_CT_STATE_INVALID);
	bf_data_u32(&zero, 0);
	assert_true(MATCHES(f, pkt, len, bf_expr_ct(BF_CT_STATE, BF_CT_DIR_NONE, 0, 4),
			    bf_expr_bitwise_bool(0, 0, 4, &mask, &zero),
			    e2e_cmp_u32(BF_CMP_NEQ, 0, 0)));
	assert_true(MATCHES(f, pkt, len, bf_expr_ct(BF_CT_STATE, BF_CT_DIR_NONE, 0, 4),
			    e2e_cmp_u32(BF_CMP_EQ, 0, BF_CT_STATE_INVALID)));
	bf_data_u32(&mask, BF_CT_STATE_ESTABLISHED | BF_CT_STATE_RELATED |
			   BF_CT_STATE_NEW | BF_CT_STATE_UNTRACKED);
	assert_false(MATCHES(f, pkt, len, bf_expr_ct(BF_CT_STATE, BF_CT_DIR_NONE, 0, 4),
			     bf_expr_bitwise_bool(0, 0, 4, &mask, &zero),
			     e2e_cmp_u32(BF_CMP_NEQ, 0, 0)));
}

/* Every other key needs an entry: the rule does not match, whatever the
 * test (eq or neq), and each key's code passes the verifier. */
static void test_keys_need_an_entry(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	uint8_t pkt[PKT_MAX];
	size_t len = e2e_port_pkt(f, 17, 53, pkt);
	enum bf_family fam = f->family;

	for (unsigned int k = BF_CT_DIRECTION; k < _BF_CT_MAX; k++) {
		bool tuple = k >= BF_CT_SRC;
		uint8_t dirs[] = { BF_CT_DIR_NONE, BF_CT_DIR_ORIGINAL, BF_CT_DIR_REPLY };

		for (size_t d = 0; d < ARRAY_SIZE(dirs); d++) {
			uint8_t zero[16] = { 0 };
			unsigned int l = bf_ct_key_len(k, fam);
			struct bf_expr ld;

			if (tuple && dirs[d] == BF_CT_DIR_NONE)
				continue;
			if (k <= BF_CT_EXPIRATION && dirs[d] != BF_CT_DIR_NONE)
				continue;
			if ((k == BF_CT_L3PROTO || k == BF_CT_PROTOCOL) &&
			    dirs[d] != BF_CT_DIR_NONE)
				continue;
			ld = bf_expr_ct(k, dirs[d], 0, l);
			if (MATCHES(f, pkt, len, ld, e2e_cmp_bytes(BF_CMP_EQ, 0, zero, l)) ||
			    MATCHES(f, pkt, len, ld, e2e_cmp_bytes(BF_CMP_NEQ, 0, zero, l)))
				fail_msg("ct %s dir %u matched without an entry",
					 bf_ct_key_to_str(k), dirs[d]);
		}
	}
}

/* XDP, TC, cgroup: refused at generation, naming the hook. */
static void test_refused_off_netfilter(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	char err[512];
	struct bf_program *prog = NULL;
	struct e2e t;
	int r;

	e2e_init_flavour(&t, f, BF_VERDICT_ACCEPT);
	E2E_RULE(&t, NULL, bf_expr_ct(BF_CT_STATE, BF_CT_DIR_NONE, 0, 4),
		 e2e_cmp_u32(BF_CMP_EQ, 0, BF_CT_STATE_NEW), e2e_accept());
	r = bf_program_generate(&prog, t.table, E2E_BASE, t.nfproto, err,
				sizeof(err));
	assert_int_equal(r, -EOPNOTSUPP);
	assert_non_null(strstr(err, "ct state is not supported at hook"));
	assert_non_null(strstr(err, bf_hook_to_str(f->hook)));
	bf_program_free(&prog);
	e2e_fini(&t);
}

static const struct e2e_test _tests[] = {
	{ "state_without_entry", test_state_without_entry, _nf },
	{ "keys_need_an_entry", test_keys_need_an_entry, _nf },
	{ "refused_off_netfilter", test_refused_off_netfilter, _not_nf },
};

static const char *const _flavour_names[] = {
	"xdp/ip4",
	"tc_ingress/ip6",
	"tc_egress/ip4",
	"nf_prerouting/ip",
	"nf_input/ip6",
	"nf_output/ip6",
	"nf_input/inet4",
	"nf_forward/ip",
	"cgroup_ingress/inet6",
};

int main(void)
{
	return e2e_run_tests("ct", _flavour_names, ARRAY_SIZE(_flavour_names),
			     _tests, ARRAY_SIZE(_tests));
}
