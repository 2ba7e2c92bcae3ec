/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Counters and verdicts: a counter counts the packets that reach it;
 * accept and drop end the evaluation, continue moves to the next rule,
 * return goes back after the jumping rule (the policy in the base chain),
 * jump comes back and goto does not, down to the deepest jump chain the
 * IR allows. Each test runs on a few representative hook flavours.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/e2e.h"

static size_t _udp(const struct e2e_flavour *f, uint8_t *pkt,
		   struct pkt_spec *spec)
{
	struct pkt_spec s;

	if (!spec)
		spec = &s;
	pkt_spec_init(spec, f->l3, PKT_PROTO_UDP);
	spec->payload_len = 40;

	return e2e_pkt(spec, pkt, PKT_MAX, NULL);
}

/* A counter counts the packets that reach it: before a failing match it
 * counts, after it not. Bytes are the length the hook sees. */
static void test_counters(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	uint8_t pkt[PKT_MAX];
	struct pkt_spec spec;
	size_t len = _udp(f, pkt, &spec);
	size_t seen = e2e_seen_len(f->hook, len);
	uint64_t bytes = 0;
	struct e2e t;
	int i;

	e2e_init_flavour(&t, f, BF_VERDICT_ACCEPT);
	E2E_RULE(&t, NULL, bf_expr_counter(),
		 bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 0),
		 e2e_cmp_be16(BF_CMP_EQ, 0, spec.dport + 1), bf_expr_counter(),
		 e2e_drop());
	E2E_RULE(&t, NULL, bf_expr_counter(), bf_expr_counter());
	E2E_RULE(&t, NULL, bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 0),
		 e2e_cmp_be16(BF_CMP_EQ, 0, spec.dport), bf_expr_counter());
	e2e_load(&t);

	/* Five packets of different lengths, each built whole. */
	for (i = 0; i < 5; i++) {
		size_t l;

		spec.payload_len = 40 + 7 * i;
		l = e2e_pkt(&spec, pkt, sizeof(pkt), NULL);
		e2e_expect(&t, pkt, l, BF_VERDICT_ACCEPT);
		bytes += e2e_seen_len(f->hook, l);
	}
	spec.payload_len = 40;
	assert_int_equal(e2e_pkt(&spec, pkt, sizeof(pkt), NULL), len);
	e2e_expect_counter(&t, NULL, 0, 0, 5, bytes);
	e2e_expect_counter(&t, NULL, 0, 3, 0, 0);
	e2e_expect_counter(&t, NULL, 1, 0, 5, bytes);
	e2e_expect_counter(&t, NULL, 1, 1, 5, bytes);
	e2e_expect_counter(&t, NULL, 2, 2, 5, bytes);
	e2e_expect_policy(&t, 5, bytes);
	/* No counter at (rule 0, expr 1). */
	{
		uint64_t p, b;

		assert_int_equal(bf_program_get_counter(t.prog, E2E_BASE, 0, 1,
							&p, &b),
				 -ENOENT);
		assert_int_equal(bf_program_get_counter(t.prog, E2E_BASE, 9, 0,
							&p, &b),
				 -ENOENT);
	}

	/* Repeat counts every run. */
	{
		int retval;

		assert_int_equal(bf_program_reset_counters(t.prog), 0);
		assert_int_equal(bf_program_test_run(t.prog, pkt, len, 10,
						     &retval, NULL),
				 0);
		assert_int_equal(retval, e2e_retval(f->hook, BF_VERDICT_ACCEPT));
		e2e_expect_counter(&t, NULL, 1, 1, 10, 10 * seen);
		e2e_expect_policy(&t, 10, 10 * seen);
	}
	e2e_fini(&t);
}

/* Verdicts. */

/* accept and drop end the evaluation; continue goes on to the next rule. */
static void test_verdict_terminal(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	uint8_t pkt[PKT_MAX];
	size_t len = _udp(f, pkt, NULL);
	size_t seen = e2e_seen_len(f->hook, len);
	enum bf_verdict pol, v;
	struct e2e t;

	for (pol = BF_VERDICT_ACCEPT; pol <= BF_VERDICT_DROP; pol++) {
		for (v = BF_VERDICT_ACCEPT; v <= BF_VERDICT_DROP; v++) {
			e2e_init_flavour(&t, f, pol);
			E2E_RULE(&t, NULL, bf_expr_counter(),
				 bf_expr_verdict(BF_VERDICT_CONTINUE, NULL));
			E2E_RULE(&t, NULL, bf_expr_counter(),
				 bf_expr_verdict(v, NULL));
			E2E_RULE(&t, NULL, bf_expr_counter(),
				 bf_expr_verdict(v == BF_VERDICT_ACCEPT ?
							 BF_VERDICT_DROP :
							 BF_VERDICT_ACCEPT,
						 NULL));
			e2e_load(&t);
			e2e_expect(&t, pkt, len, v);
			e2e_expect_counter(&t, NULL, 0, 0, 1, seen);
			e2e_expect_counter(&t, NULL, 1, 0, 1, seen);
			e2e_expect_counter(&t, NULL, 2, 0, 0, 0);
			e2e_expect_policy(&t, 0, 0);
			e2e_fini(&t);
		}
	}
}

/* return in the base chain applies the policy; the rules after it are not
 * evaluated. */
static void test_verdict_return_base(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	uint8_t pkt[PKT_MAX];
	size_t len = _udp(f, pkt, NULL);
	size_t seen = e2e_seen_len(f->hook, len);
	enum bf_verdict pol;
	struct e2e t;

	for (pol = BF_VERDICT_ACCEPT; pol <= BF_VERDICT_DROP; pol++) {
		e2e_init_flavour(&t, f, pol);
		E2E_RULE(&t, NULL, bf_expr_counter(),
			 bf_expr_verdict(BF_VERDICT_RETURN, NULL));
		E2E_RULE(&t, NULL, bf_expr_counter(),
			 bf_expr_verdict(pol == BF_VERDICT_ACCEPT ?
						 BF_VERDICT_DROP :
						 BF_VERDICT_ACCEPT,
					 NULL));
		e2e_load(&t);
		e2e_expect(&t, pkt, len, pol);
		e2e_expect_counter(&t, NULL, 0, 0, 1, seen);
		e2e_expect_counter(&t, NULL, 1, 0, 0, 0);
		e2e_expect_policy(&t, 1, seen);
		e2e_fini(&t);
	}
}

/* jump: the target's end (or return) comes back after the jumping rule;
 * a verdict in the target ends everything. */
static void test_verdict_jump(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	uint8_t pkt[PKT_MAX];
	struct pkt_spec spec;
	size_t len = _udp(f, pkt, &spec);
	size_t seen = e2e_seen_len(f->hook, len);
	struct e2e t;

	/* base: [jump a] [counter]; a: [counter] [counter return]
	 * [counter drop] -> policy accept */
	e2e_init_flavour(&t, f, BF_VERDICT_ACCEPT);
	e2e_chain(&t, "a");
	E2E_RULE(&t, NULL, bf_expr_counter(),
		 bf_expr_verdict(BF_VERDICT_JUMP, "a"), bf_expr_counter());
	E2E_RULE(&t, NULL, bf_expr_counter());
	E2E_RULE(&t, "a", bf_expr_counter());
	E2E_RULE(&t, "a", bf_expr_counter(),
		 bf_expr_verdict(BF_VERDICT_RETURN, NULL));
	E2E_RULE(&t, "a", bf_expr_counter(), e2e_drop());
	e2e_load(&t);
	e2e_expect(&t, pkt, len, BF_VERDICT_ACCEPT);
	e2e_expect_counter(&t, NULL, 0, 0, 1, seen);
	/* Nothing after a verdict in the same rule runs (the compiler may
	 * also drop that counter altogether). */
	{
		uint64_t p = 0, b = 0;
		int r = bf_program_get_counter(t.prog, E2E_BASE, 0, 2, &p, &b);

		assert_true(r == 0 || r == -ENOENT);
		assert_int_equal(p, 0);
	}
	e2e_expect_counter(&t, NULL, 1, 0, 1, seen);
	e2e_expect_counter(&t, "a", 0, 0, 1, seen);
	e2e_expect_counter(&t, "a", 1, 0, 1, seen);
	e2e_expect_counter(&t, "a", 2, 0, 0, 0);
	e2e_expect_policy(&t, 1, seen);
	e2e_fini(&t);

	/* The end of the target is an implicit return; policy drop. */
	e2e_init_flavour(&t, f, BF_VERDICT_DROP);
	e2e_chain(&t, "a");
	E2E_RULE(&t, NULL, bf_expr_verdict(BF_VERDICT_JUMP, "a"));
	E2E_RULE(&t, NULL, bf_expr_counter(), e2e_accept());
	E2E_RULE(&t, "a", bf_expr_counter());
	e2e_load(&t);
	e2e_expect(&t, pkt, len, BF_VERDICT_ACCEPT);
	e2e_expect_counter(&t, "a", 0, 0, 1, seen);
	e2e_expect_counter(&t, NULL, 1, 0, 1, seen);
	e2e_expect_policy(&t, 0, 0);
	e2e_fini(&t);

	/* A drop in the target is final; a conditional jump only jumps on a
	 * match; two rules may jump to the same chain. */
	e2e_init_flavour(&t, f, BF_VERDICT_ACCEPT);
	e2e_chain(&t, "a");
	e2e_chain(&t, "b");
	E2E_RULE(&t, NULL, bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 0),
		 e2e_cmp_be16(BF_CMP_EQ, 0, spec.dport + 1),
		 bf_expr_verdict(BF_VERDICT_JUMP, "b"));
	E2E_RULE(&t, NULL, bf_expr_verdict(BF_VERDICT_JUMP, "a"));
	E2E_RULE(&t, NULL, bf_expr_verdict(BF_VERDICT_JUMP, "a"));
	E2E_RULE(&t, NULL, bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 0),
		 e2e_cmp_be16(BF_CMP_EQ, 0, spec.dport),
		 bf_expr_verdict(BF_VERDICT_JUMP, "b"));
	E2E_RULE(&t, NULL, bf_expr_counter());
	E2E_RULE(&t, "a", bf_expr_counter());
	E2E_RULE(&t, "b", bf_expr_counter(), e2e_drop());
	e2e_load(&t);
	e2e_expect(&t, pkt, len, BF_VERDICT_DROP);
	e2e_expect_counter(&t, "a", 0, 0, 2, 2 * seen);
	e2e_expect_counter(&t, "b", 0, 0, 1, seen);
	e2e_expect_counter(&t, NULL, 4, 0, 0, 0);
	e2e_expect_policy(&t, 0, 0);
	e2e_fini(&t);
}

/* goto: no return to the rule that went there. From the base chain, the
 * end of the target applies the policy; from a jumped-to chain, it
 * returns to that chain's caller. */
static void test_verdict_goto(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	uint8_t pkt[PKT_MAX];
	size_t len = _udp(f, pkt, NULL);
	size_t seen = e2e_seen_len(f->hook, len);
	struct e2e t;

	e2e_init_flavour(&t, f, BF_VERDICT_DROP);
	e2e_chain(&t, "a");
	E2E_RULE(&t, NULL, bf_expr_verdict(BF_VERDICT_GOTO, "a"));
	E2E_RULE(&t, NULL, bf_expr_counter(), e2e_accept());
	E2E_RULE(&t, "a", bf_expr_counter());
	e2e_load(&t);
	e2e_expect(&t, pkt, len, BF_VERDICT_DROP);
	e2e_expect_counter(&t, "a", 0, 0, 1, seen);
	e2e_expect_counter(&t, NULL, 1, 0, 0, 0);
	e2e_expect_policy(&t, 1, seen);
	e2e_fini(&t);

	/* base: [jump a] [counter accept]; a: [goto b] [counter drop];
	 * b: [counter] [counter return] [counter drop] */
	e2e_init_flavour(&t, f, BF_VERDICT_DROP);
	e2e_chain(&t, "a");
	e2e_chain(&t, "b");
	E2E_RULE(&t, NULL, bf_expr_verdict(BF_VERDICT_JUMP, "a"));
	E2E_RULE(&t, NULL, bf_expr_counter(), e2e_accept());
	E2E_RULE(&t, "a", bf_expr_verdict(BF_VERDICT_GOTO, "b"));
	E2E_RULE(&t, "a", bf_expr_counter(), e2e_drop());
	E2E_RULE(&t, "b", bf_expr_counter());
	E2E_RULE(&t, "b", bf_expr_counter(),
		 bf_expr_verdict(BF_VERDICT_RETURN, NULL));
	E2E_RULE(&t, "b", bf_expr_counter(), e2e_drop());
	e2e_load(&t);
	e2e_expect(&t, pkt, len, BF_VERDICT_ACCEPT);
	e2e_expect_counter(&t, "b", 0, 0, 1, seen);
	e2e_expect_counter(&t, "b", 1, 0, 1, seen);
	e2e_expect_counter(&t, "b", 2, 0, 0, 0);
	e2e_expect_counter(&t, "a", 1, 0, 0, 0);
	e2e_expect_counter(&t, NULL, 1, 0, 1, seen);
	e2e_fini(&t);

	/* Mixed: base jumps to a, a goes to b, b jumps to c and c returns:
	 * back in b, whose end returns to base (a is gone); continue in c
	 * only moves on to c's next rule. */
	e2e_init_flavour(&t, f, BF_VERDICT_DROP);
	e2e_chain(&t, "a");
	e2e_chain(&t, "b");
	e2e_chain(&t, "c");
	E2E_RULE(&t, NULL, bf_expr_verdict(BF_VERDICT_JUMP, "a"));
	E2E_RULE(&t, NULL, bf_expr_counter(), e2e_accept());
	E2E_RULE(&t, "a", bf_expr_verdict(BF_VERDICT_GOTO, "b"));
	E2E_RULE(&t, "a", bf_expr_counter(), e2e_drop());
	E2E_RULE(&t, "b", bf_expr_verdict(BF_VERDICT_JUMP, "c"));
	E2E_RULE(&t, "b", bf_expr_counter());
	E2E_RULE(&t, "c", bf_expr_counter(),
		 bf_expr_verdict(BF_VERDICT_CONTINUE, NULL));
	E2E_RULE(&t, "c", bf_expr_counter(),
		 bf_expr_verdict(BF_VERDICT_RETURN, NULL));
	E2E_RULE(&t, "c", bf_expr_counter(), e2e_drop());
	e2e_load(&t);
	e2e_expect(&t, pkt, len, BF_VERDICT_ACCEPT);
	e2e_expect_counter(&t, "c", 0, 0, 1, seen);
	e2e_expect_counter(&t, "c", 1, 0, 1, seen);
	e2e_expect_counter(&t, "c", 2, 0, 0, 0);
	e2e_expect_counter(&t, "b", 1, 0, 1, seen);
	e2e_expect_counter(&t, "a", 1, 0, 0, 0);
	e2e_expect_counter(&t, NULL, 1, 0, 1, seen);
	e2e_expect_policy(&t, 0, 0);
	e2e_fini(&t);

	/* goto from the base chain, then return: the policy (accept). */
	e2e_init_flavour(&t, f, BF_VERDICT_ACCEPT);
	e2e_chain(&t, "a");
	E2E_RULE(&t, NULL, bf_expr_verdict(BF_VERDICT_GOTO, "a"));
	E2E_RULE(&t, NULL, bf_expr_counter(), e2e_drop());
	E2E_RULE(&t, "a", bf_expr_verdict(BF_VERDICT_RETURN, NULL));
	E2E_RULE(&t, "a", bf_expr_counter(), e2e_drop());
	e2e_load(&t);
	e2e_expect(&t, pkt, len, BF_VERDICT_ACCEPT);
	e2e_expect_counter(&t, NULL, 1, 0, 0, 0);
	e2e_expect_counter(&t, "a", 1, 0, 0, 0);
	e2e_expect_policy(&t, 1, seen);
	e2e_fini(&t);
}

/* A line of @depth chains c1..cN, each jumping to the next; every chain
 * counts after its jump returns. cN ends with @last. */
static void _jump_line(struct e2e *t, int depth, enum bf_verdict last)
{
	char name[32], next[32];
	int i;

	for (i = 1; i <= depth; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		e2e_chain(t, name);
	}
	E2E_RULE(t, NULL, bf_expr_verdict(BF_VERDICT_JUMP, "c1"));
	E2E_RULE(t, NULL, bf_expr_counter());
	for (i = 1; i <= depth; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		snprintf(next, sizeof(next), "c%d", i + 1);
		E2E_RULE(t, name, bf_expr_counter());
		if (i < depth)
			E2E_RULE(t, name, bf_expr_verdict(BF_VERDICT_JUMP, next));
		else
			E2E_RULE(t, name, bf_expr_verdict(last, NULL));
		E2E_RULE(t, name, bf_expr_counter());
	}
}

static void test_jump_depth(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	uint8_t pkt[PKT_MAX];
	size_t len = _udp(f, pkt, NULL);
	size_t seen = e2e_seen_len(f->hook, len);
	char name[32];
	struct e2e t;
	int i;

	/* 15 nested jumps (BF_JUMP_DEPTH_MAX), the last returns: every
	 * level comes back. */
	e2e_init_flavour(&t, f, BF_VERDICT_DROP);
	_jump_line(&t, BF_JUMP_DEPTH_MAX, BF_VERDICT_RETURN);
	E2E_RULE(&t, NULL, e2e_accept());
	e2e_load(&t);
	e2e_expect(&t, pkt, len, BF_VERDICT_ACCEPT);
	for (i = 1; i <= BF_JUMP_DEPTH_MAX; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		e2e_expect_counter(&t, name, 0, 0, 1, seen);
		e2e_expect_counter(&t, name, 2, 0,
				   i == BF_JUMP_DEPTH_MAX ? 0 : 1,
				   i == BF_JUMP_DEPTH_MAX ? 0 : seen);
	}
	e2e_expect_counter(&t, NULL, 1, 0, 1, seen);
	e2e_fini(&t);

	/* Same, the deepest chain drops. */
	e2e_init_flavour(&t, f, BF_VERDICT_ACCEPT);
	_jump_line(&t, BF_JUMP_DEPTH_MAX, BF_VERDICT_DROP);
	e2e_load(&t);
	e2e_expect(&t, pkt, len, BF_VERDICT_DROP);
	e2e_expect_counter(&t, "c15", 0, 0, 1, seen);
	e2e_expect_counter(&t, "c1", 2, 0, 0, 0);
	e2e_expect_counter(&t, NULL, 1, 0, 0, 0);
	e2e_fini(&t);

	/* One more level is refused, with the kernel's EMLINK. */
	e2e_init_flavour(&t, f, BF_VERDICT_ACCEPT);
	_jump_line(&t, BF_JUMP_DEPTH_MAX + 1, BF_VERDICT_DROP);
	assert_int_equal(e2e_try_load(&t, t.nfproto), -EMLINK);
	e2e_fini(&t);
}

static const struct e2e_test _tests[] = {
	{ "counters", test_counters },
	{ "verdict_terminal", test_verdict_terminal },
	{ "verdict_return_base", test_verdict_return_base },
	{ "verdict_jump", test_verdict_jump },
	{ "verdict_goto", test_verdict_goto },
	{ "jump_depth", test_jump_depth },
};

/* The flavours each test runs on. */
static const char *const _flavour_names[] = {
	"xdp/ip4",
	"tc_ingress/ip6",
	"tc_egress/ip4",
	"nf_prerouting/ip",
	"nf_output/ip6",
	"nf_input/inet4",
	"cgroup_ingress/inet6",
	"cgroup_egress/inet4",
};

int main(void)
{
	return e2e_run_tests("verdicts", _flavour_names, ARRAY_SIZE(_flavour_names),
			     _tests, ARRAY_SIZE(_tests));
}
