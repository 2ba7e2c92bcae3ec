/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * e2e helpers: tables from expression lists, generate + load + test run,
 * verdict and counter assertions for every hook flavour.
 */
#include "e2e.h"

#include <stdio.h>
#include <string.h>

int e2e_retval(enum bf_hook hook, enum bf_verdict verdict)
{
	bool accept = verdict == BF_VERDICT_ACCEPT;

	assert_true(verdict == BF_VERDICT_ACCEPT || verdict == BF_VERDICT_DROP);

	switch (hook) {
	case BF_HOOK_XDP:
		return accept ? E2E_XDP_PASS : E2E_XDP_DROP;
	case BF_HOOK_TC_INGRESS:
	case BF_HOOK_TC_EGRESS:
		return accept ? E2E_TCX_NEXT : E2E_TCX_DROP;
	case BF_HOOK_CGROUP_SKB_INGRESS:
	case BF_HOOK_CGROUP_SKB_EGRESS:
		return accept ? E2E_CGROUP_PASS : E2E_CGROUP_DROP;
	default:
		assert_true(bf_hook_is_nf(hook));
		return accept ? E2E_NF_ACCEPT : E2E_NF_DROP;
	}
}

bool e2e_hook_is_l2(enum bf_hook hook)
{
	return hook == BF_HOOK_XDP || hook == BF_HOOK_TC_INGRESS ||
	       hook == BF_HOOK_TC_EGRESS;
}

size_t e2e_seen_len(enum bf_hook hook, size_t frame_len)
{
	/* nf_tables counts skb->len: the whole frame at netdev egress, from
	 * the network header at netdev ingress and at IP hooks. Frames here
	 * carry no VLAN tag unless a test says so (see e2e_seen_len_l2). */
	return e2e_seen_len_l2(hook, frame_len, PKT_ETH_HLEN);
}

size_t e2e_seen_len_l2(enum bf_hook hook, size_t frame_len, size_t l2_len)
{
	if (hook == BF_HOOK_TC_EGRESS)
		return frame_len;
	/* A tag is pulled at netdev ingress, but never in front of an IP
	 * hook's packet (the test run builds it from an untagged frame). */
	if (hook == BF_HOOK_XDP || hook == BF_HOOK_TC_INGRESS)
		return frame_len - l2_len;
	return frame_len - PKT_ETH_HLEN;
}

enum bf_family e2e_family(enum bf_hook hook, int l3)
{
	if (e2e_hook_is_l2(hook))
		return BF_FAMILY_NETDEV;
	if (l3 == 4)
		return BF_FAMILY_IP;
	if (l3 == 6)
		return BF_FAMILY_IP6;

	return BF_FAMILY_INET;
}

int e2e_nfproto(enum bf_hook hook, int l3)
{
	if (!bf_hook_is_nf(hook))
		return BF_NFPROTO_UNSPEC;

	return l3 == 6 ? BF_NFPROTO_IPV6 : BF_NFPROTO_IPV4;
}

#define _E2E_FLAVOUR(n, h, fam, v)                                       \
	{ .name = n, .hook = h, .family = fam, .l3 = v,                     \
	  .nfproto = (h) >= BF_HOOK_NF_PRE_ROUTING &&                      \
				     (h) <= BF_HOOK_NF_POST_ROUTING ?      \
			     ((v) == 6 ? BF_NFPROTO_IPV6 : BF_NFPROTO_IPV4) : \
			     BF_NFPROTO_UNSPEC }

const struct e2e_flavour e2e_flavours[] = {
	_E2E_FLAVOUR("xdp/ip4", BF_HOOK_XDP, BF_FAMILY_NETDEV, 4),
	_E2E_FLAVOUR("xdp/ip6", BF_HOOK_XDP, BF_FAMILY_NETDEV, 6),
	_E2E_FLAVOUR("tc_ingress/ip4", BF_HOOK_TC_INGRESS, BF_FAMILY_NETDEV, 4),
	_E2E_FLAVOUR("tc_ingress/ip6", BF_HOOK_TC_INGRESS, BF_FAMILY_NETDEV, 6),
	_E2E_FLAVOUR("tc_egress/ip4", BF_HOOK_TC_EGRESS, BF_FAMILY_NETDEV, 4),
	_E2E_FLAVOUR("tc_egress/ip6", BF_HOOK_TC_EGRESS, BF_FAMILY_NETDEV, 6),
	_E2E_FLAVOUR("nf_prerouting/ip", BF_HOOK_NF_PRE_ROUTING, BF_FAMILY_IP, 4),
	_E2E_FLAVOUR("nf_prerouting/ip6", BF_HOOK_NF_PRE_ROUTING, BF_FAMILY_IP6, 6),
	_E2E_FLAVOUR("nf_input/ip", BF_HOOK_NF_LOCAL_IN, BF_FAMILY_IP, 4),
	_E2E_FLAVOUR("nf_input/ip6", BF_HOOK_NF_LOCAL_IN, BF_FAMILY_IP6, 6),
	_E2E_FLAVOUR("nf_forward/ip", BF_HOOK_NF_FORWARD, BF_FAMILY_IP, 4),
	_E2E_FLAVOUR("nf_forward/ip6", BF_HOOK_NF_FORWARD, BF_FAMILY_IP6, 6),
	_E2E_FLAVOUR("nf_output/ip", BF_HOOK_NF_LOCAL_OUT, BF_FAMILY_IP, 4),
	_E2E_FLAVOUR("nf_output/ip6", BF_HOOK_NF_LOCAL_OUT, BF_FAMILY_IP6, 6),
	_E2E_FLAVOUR("nf_postrouting/ip", BF_HOOK_NF_POST_ROUTING, BF_FAMILY_IP, 4),
	_E2E_FLAVOUR("nf_postrouting/ip6", BF_HOOK_NF_POST_ROUTING, BF_FAMILY_IP6, 6),
	_E2E_FLAVOUR("nf_input/inet4", BF_HOOK_NF_LOCAL_IN, BF_FAMILY_INET, 4),
	_E2E_FLAVOUR("nf_input/inet6", BF_HOOK_NF_LOCAL_IN, BF_FAMILY_INET, 6),
	_E2E_FLAVOUR("cgroup_ingress/inet4", BF_HOOK_CGROUP_SKB_INGRESS, BF_FAMILY_INET, 4),
	_E2E_FLAVOUR("cgroup_ingress/inet6", BF_HOOK_CGROUP_SKB_INGRESS, BF_FAMILY_INET, 6),
	_E2E_FLAVOUR("cgroup_egress/inet4", BF_HOOK_CGROUP_SKB_EGRESS, BF_FAMILY_INET, 4),
	_E2E_FLAVOUR("cgroup_egress/inet6", BF_HOOK_CGROUP_SKB_EGRESS, BF_FAMILY_INET, 6),
	_E2E_FLAVOUR("cgroup_ingress/ip", BF_HOOK_CGROUP_SKB_INGRESS, BF_FAMILY_IP, 4),
	_E2E_FLAVOUR("cgroup_egress/ip6", BF_HOOK_CGROUP_SKB_EGRESS, BF_FAMILY_IP6, 6),
};
const size_t e2e_n_flavours = sizeof(e2e_flavours) / sizeof(e2e_flavours[0]);

void e2e_init(struct e2e *t, enum bf_hook hook, enum bf_family family,
	      enum bf_verdict policy)
{
	struct bf_chain *chain = NULL;

	memset(t, 0, sizeof(*t));
	t->hook = hook;
	t->family = family;
	t->nfproto = BF_NFPROTO_UNSPEC;
	assert_int_equal(bf_table_new(&t->table, "e2e", family), 0);
	assert_int_equal(bf_chain_new_base(&chain, E2E_BASE, hook, 0, policy),
			 0);
	assert_int_equal(bf_table_add_chain(t->table, &chain), 0);
	assert_null(chain);
}

void e2e_init_flavour(struct e2e *t, const struct e2e_flavour *f,
		      enum bf_verdict policy)
{
	e2e_init(t, f->hook, f->family, policy);
	t->nfproto = f->nfproto;
}

void e2e_chain(struct e2e *t, const char *name)
{
	struct bf_chain *chain = NULL;

	assert_int_equal(bf_chain_new(&chain, name), 0);
	assert_int_equal(bf_table_add_chain(t->table, &chain), 0);
}

void e2e_rule(struct e2e *t, const char *chain, const struct bf_expr *exprs,
	      size_t n)
{
	struct bf_chain *c = bf_table_get_chain(t->table, chain ? chain : E2E_BASE);
	struct bf_rule *rule = NULL;
	size_t i;

	assert_non_null(c);
	assert_int_equal(bf_rule_new(&rule), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(bf_rule_add_expr(rule, &exprs[i]), 0);
	assert_int_equal(bf_chain_add_rule(c, &rule), 0);
	assert_null(rule);
}

int e2e_try_load(struct e2e *t, int nfproto)
{
	char errbuf[1024] = "";
	static char log[65536];
	int r;

	bf_program_free(&t->prog);
	r = bf_program_generate(&t->prog, t->table, E2E_BASE, nfproto, errbuf,
				sizeof(errbuf));
	if (r) {
		fprintf(stderr, "# bf_program_generate: %d (%s)\n", r, errbuf);
		bf_table_dump(t->table, stderr);
		return r;
	}

	log[0] = '\0';
	r = bf_program_load(t->prog, log, sizeof(log));
	if (r) {
		fprintf(stderr, "# bf_program_load: %d\n%s\n", r, log);
		bf_table_dump(t->table, stderr);
		bf_program_free(&t->prog);
		return r;
	}

	return 0;
}

void e2e_load(struct e2e *t)
{
	assert_int_equal(e2e_try_load(t, t->nfproto), 0);
}

int e2e_run(struct e2e *t, const void *pkt, size_t len)
{
	int retval = 0x7fffffff;
	int r;

	assert_non_null(t->prog);
	r = bf_program_test_run(t->prog, pkt, len, 1, &retval, NULL);
	if (r)
		fprintf(stderr, "# bf_program_test_run: %d (len %zu)\n", r, len);
	assert_int_equal(r, 0);

	return retval;
}

void e2e_expect(struct e2e *t, const void *pkt, size_t len,
		enum bf_verdict verdict)
{
	int want = e2e_retval(t->hook, verdict);
	int got = e2e_run(t, pkt, len);

	if (got != want) {
		fprintf(stderr, "# %s: expected %s (%d), got %d\n",
			bf_hook_to_str(t->hook), bf_verdict_to_str(verdict),
			want, got);
		bf_table_dump(t->table, stderr);
	}
	assert_int_equal(got, want);
}

void e2e_counter(struct e2e *t, const char *chain, size_t rule, size_t expr,
		 uint64_t *packets, uint64_t *bytes)
{
	assert_int_equal(bf_program_get_counter(t->prog,
						chain ? chain : E2E_BASE, rule,
						expr, packets, bytes),
			 0);
}

void e2e_policy_counter(struct e2e *t, uint64_t *packets, uint64_t *bytes)
{
	assert_int_equal(bf_program_get_policy_counter(t->prog, packets, bytes),
			 0);
}

void e2e_expect_counter(struct e2e *t, const char *chain, size_t rule,
			size_t expr, uint64_t packets, uint64_t bytes)
{
	uint64_t p = ~0ULL, b = ~0ULL;

	e2e_counter(t, chain, rule, expr, &p, &b);
	if (p != packets || b != bytes)
		fprintf(stderr,
			"# counter %s[%zu][%zu]: expected %lu/%lu, got %lu/%lu\n",
			chain ? chain : E2E_BASE, rule, expr,
			(unsigned long)packets, (unsigned long)bytes,
			(unsigned long)p, (unsigned long)b);
	assert_int_equal(p, packets);
	assert_int_equal(b, bytes);
}

void e2e_expect_policy(struct e2e *t, uint64_t packets, uint64_t bytes)
{
	uint64_t p = ~0ULL, b = ~0ULL;

	e2e_policy_counter(t, &p, &b);
	if (p != packets || b != bytes)
		fprintf(stderr,
			"# policy counter: expected %lu/%lu, got %lu/%lu\n",
			(unsigned long)packets, (unsigned long)bytes,
			(unsigned long)p, (unsigned long)b);
	assert_int_equal(p, packets);
	assert_int_equal(b, bytes);
}

void e2e_fini(struct e2e *t)
{
	bf_program_free(&t->prog);
	bf_table_free(&t->table);
}

struct bf_expr e2e_cmp_bytes(enum bf_cmp_op op, uint8_t sreg,
			     const void *bytes, size_t len)
{
	struct bf_data d;

	assert_true(len <= BF_DATA_MAX);
	bf_data_set(&d, bytes, len);

	return bf_expr_cmp(op, sreg, &d);
}

struct bf_expr e2e_cmp_u8(enum bf_cmp_op op, uint8_t sreg, uint8_t v)
{
	struct bf_data d;

	bf_data_u8(&d, v);

	return bf_expr_cmp(op, sreg, &d);
}

struct bf_expr e2e_cmp_be16(enum bf_cmp_op op, uint8_t sreg, uint16_t v)
{
	struct bf_data d;

	bf_data_be16(&d, v);

	return bf_expr_cmp(op, sreg, &d);
}

struct bf_expr e2e_cmp_be32(enum bf_cmp_op op, uint8_t sreg, uint32_t v)
{
	struct bf_data d;

	bf_data_be32(&d, v);

	return bf_expr_cmp(op, sreg, &d);
}

struct bf_expr e2e_cmp_u32(enum bf_cmp_op op, uint8_t sreg, uint32_t v)
{
	struct bf_data d;

	bf_data_u32(&d, v);

	return bf_expr_cmp(op, sreg, &d);
}

struct bf_expr e2e_accept(void)
{
	return bf_expr_verdict(BF_VERDICT_ACCEPT, NULL);
}

struct bf_expr e2e_drop(void)
{
	return bf_expr_verdict(BF_VERDICT_DROP, NULL);
}

int e2e_verdict_of(const struct e2e_flavour *f, enum bf_verdict policy,
		   const struct bf_expr *rule, size_t n, const void *pkt,
		   size_t len)
{
	struct e2e t;
	int ret;

	e2e_init_flavour(&t, f, policy);
	if (n)
		e2e_rule(&t, NULL, rule, n);
	e2e_load(&t);
	ret = e2e_run(&t, pkt, len);
	e2e_fini(&t);

	return ret;
}

size_t e2e_pkt(const struct pkt_spec *spec, uint8_t *buf, size_t cap,
	       struct pkt_layout *layout)
{
	int r = pkt_build(spec, buf, cap, layout);

	assert_true(r > 0);

	return (size_t)r;
}

int e2e_run_tests(const char *group, const char *const *flavours,
		  size_t n_flavours, const struct e2e_test *tests,
		  size_t n_tests)
{
	struct CMUnitTest *cases = calloc(n_flavours * n_tests, sizeof(*cases));
	size_t n = 0;

	if (getenv("E2E_FILTER"))
		cmocka_set_test_filter(getenv("E2E_FILTER"));
	if (!cases)
		return 1;

	for (size_t i = 0; i < n_flavours; i++) {
		const struct e2e_flavour *f = NULL;

		for (size_t k = 0; k < e2e_n_flavours; k++)
			if (!strcmp(e2e_flavours[k].name, flavours[i]))
				f = &e2e_flavours[k];
		if (!f) {
			fprintf(stderr, "# unknown flavour '%s'\n", flavours[i]);
			return 1;
		}
		for (size_t j = 0; j < n_tests; j++) {
			char *name;

			if (tests[j].applies && !tests[j].applies(f))
				continue;
			if (asprintf(&name, "%s/%s", f->name, tests[j].name) < 0)
				return 1;
			cases[n++] = (struct CMUnitTest) {
				.name = name,
				.test_func = tests[j].fn,
				.initial_state = (void *)f,
			};
		}
	}

	return _cmocka_run_group_tests(group, cases, n, NULL, NULL);
}

size_t e2e_port_pkt(const struct e2e_flavour *f, int proto, uint16_t dport,
		    uint8_t *pkt)
{
	struct pkt_spec spec;

	pkt_spec_init(&spec, f->l3, proto);
	spec.dport = dport;
	spec.payload_len = 20;
	return e2e_pkt(&spec, pkt, PKT_MAX, NULL);
}
