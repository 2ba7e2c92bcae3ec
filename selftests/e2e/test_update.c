/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * In-place updates (codegen/update.c): a running program takes a rule
 * appended to its mapped group, or a rule removed from or changed inside
 * it, through its maps; packets and counters must then be what a freshly
 * generated program gives, undo must put the previous rules back, and
 * changes that do not fit must ask for a new program. BF_UPDATE_CHECK=1
 * makes every append also generate the chain and compare.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/e2e.h"

#define _BASE_PORT 1000
#define _N 40

static uint64_t _handle;

static struct bf_chain *_base_chain(struct e2e *t)
{
	return bf_table_get_chain(t->table, E2E_BASE);
}

static void _port_rule(struct e2e *t, uint16_t port, bool counter,
		       enum bf_verdict v)
{
	struct bf_expr verdict = v == BF_VERDICT_DROP ? e2e_drop() : e2e_accept();

	if (counter)
		E2E_RULE(t, NULL, bf_expr_meta(BF_META_L4PROTO, 0),
			 e2e_cmp_u8(BF_CMP_EQ, 0, PKT_PROTO_UDP),
			 bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 0),
			 e2e_cmp_be16(BF_CMP_EQ, 0, port), bf_expr_counter(),
			 verdict);
	else
		E2E_RULE(t, NULL, bf_expr_meta(BF_META_L4PROTO, 0),
			 e2e_cmp_u8(BF_CMP_EQ, 0, PKT_PROTO_UDP),
			 bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 0),
			 e2e_cmp_be16(BF_CMP_EQ, 0, port), verdict);
	/* Handles, as the front-end gives them: counters follow them. */
	_base_chain(t)->rules[_base_chain(t)->n_rules - 1]->handle = ++_handle;
}

/* _N rules `udp dport BASE+i [counter] accept`, policy drop. */
static void _build(struct e2e *t, const struct e2e_flavour *f, bool counters)
{
	e2e_init_flavour(t, f, BF_VERDICT_DROP);
	for (uint16_t i = 0; i < _N; i++)
		_port_rule(t, _BASE_PORT + i, counters, BF_VERDICT_ACCEPT);
	e2e_load(t);
}

/* Plan the table's current rules for the running program. */
static int _plan(struct e2e *t, struct bf_program **gen, struct bf_update **u)
{
	char err[256] = "";
	int r = bf_update_plan(t->prog, t->table, E2E_BASE, gen, u, err,
			       sizeof(err));

	if (r && r != -EAGAIN)
		fprintf(stderr, "# bf_update_plan: %d (%s)\n", r, err);
	return r;
}

/* Plan must succeed in place; apply it. */
static void _update(struct e2e *t)
{
	struct bf_program *gen = NULL;
	struct bf_update *u = NULL;

	assert_int_equal(_plan(t, &gen, &u), 0);
	assert_null(gen);
	assert_int_equal(bf_update_apply(u), 0);
	bf_update_free(&u);
}

/* Plan must refuse; load the generated program instead, counters kept. */
static void _reload(struct e2e *t)
{
	struct bf_program *gen = NULL;
	struct bf_update *u = NULL;
	char log[4096];

	assert_int_equal(_plan(t, &gen, &u), -EAGAIN);
	assert_null(u);
	if (!gen)
		assert_int_equal(bf_program_generate(&gen, t->table, E2E_BASE,
						     bf_program_nfproto(t->prog), NULL, 0), 0);
	assert_int_equal(bf_program_load(gen, log, sizeof(log)), 0);
	assert_int_equal(bf_program_inherit_counters(gen, t->prog), 0);
	bf_program_free(&t->prog);
	t->prog = gen;
}

static void _remove_rule(struct e2e *t, size_t idx)
{
	struct bf_chain *c = _base_chain(t);

	bf_rule_free(&c->rules[idx]);
	memmove(&c->rules[idx], &c->rules[idx + 1],
		(c->n_rules - idx - 1) * sizeof(*c->rules));
	c->n_rules--;
}

static void test_append(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	uint8_t pkt[PKT_MAX];
	size_t len, seen;
	struct e2e t;

	_build(&t, f, true);
	len = e2e_port_pkt(f, PKT_PROTO_UDP, _BASE_PORT + 3, pkt);
	seen = e2e_seen_len(f->hook, len);
	e2e_expect(&t, pkt, len, BF_VERDICT_ACCEPT);
	len = e2e_port_pkt(f, PKT_PROTO_UDP, 7, pkt);
	e2e_expect(&t, pkt, len, BF_VERDICT_DROP);

	_port_rule(&t, 7, true, BF_VERDICT_ACCEPT);
	_update(&t);
	e2e_expect(&t, pkt, len, BF_VERDICT_ACCEPT);
	e2e_expect_counter(&t, NULL, _N, 4, 1, seen);
	/* Counters of the rules already there go on. */
	e2e_expect_counter(&t, NULL, 3, 4, 1, seen);
	e2e_expect_policy(&t, 1, seen);

	/* A drop rule with a counter, then one without. */
	_port_rule(&t, 8, true, BF_VERDICT_DROP);
	_update(&t);
	_port_rule(&t, 9, false, BF_VERDICT_ACCEPT);
	_update(&t);
	len = e2e_port_pkt(f, PKT_PROTO_UDP, 8, pkt);
	e2e_expect(&t, pkt, len, BF_VERDICT_DROP);
	e2e_expect_counter(&t, NULL, _N + 1, 4, 1, seen);
	len = e2e_port_pkt(f, PKT_PROTO_UDP, 9, pkt);
	e2e_expect(&t, pkt, len, BF_VERDICT_ACCEPT);
	e2e_expect_policy(&t, 1, seen);
	e2e_fini(&t);
}

/* A port already in the group: the first rule keeps it. */
static void test_append_shadowed(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	uint8_t pkt[PKT_MAX];
	size_t len;
	struct e2e t;

	_build(&t, f, true);
	_port_rule(&t, _BASE_PORT + 4, true, BF_VERDICT_DROP);
	_update(&t);
	len = e2e_port_pkt(f, PKT_PROTO_UDP, _BASE_PORT + 4, pkt);
	e2e_expect(&t, pkt, len, BF_VERDICT_ACCEPT);
	e2e_expect_counter(&t, NULL, 4, 4, 1, e2e_seen_len(f->hook, len));
	e2e_expect_counter(&t, NULL, _N, 4, 0, 0);
	e2e_fini(&t);
}

static void test_append_undo(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	struct bf_program *gen = NULL;
	struct bf_update *u = NULL;
	uint8_t pkt[PKT_MAX];
	size_t len;
	struct e2e t;

	_build(&t, f, true);
	len = e2e_port_pkt(f, PKT_PROTO_UDP, 7, pkt);
	_port_rule(&t, 7, true, BF_VERDICT_ACCEPT);
	assert_int_equal(_plan(&t, &gen, &u), 0);
	assert_int_equal(bf_update_apply(u), 0);
	e2e_expect(&t, pkt, len, BF_VERDICT_ACCEPT);
	assert_int_equal(bf_update_undo(u), 0);
	bf_update_free(&u);
	e2e_expect(&t, pkt, len, BF_VERDICT_DROP);
	e2e_expect_counter(&t, NULL, _N - 1, 4, 0, 0);

	/* The program is back to the table without the rule. */
	_remove_rule(&t, _N);
	_port_rule(&t, 7, true, BF_VERDICT_DROP);
	_update(&t);
	e2e_expect(&t, pkt, len, BF_VERDICT_DROP);
	e2e_expect_counter(&t, NULL, _N, 4, 1, e2e_seen_len(f->hook, len));
	/* The packet that came while the rule was undone. */
	e2e_expect_policy(&t, 1, e2e_seen_len(f->hook, len));
	e2e_fini(&t);
}

/* Rules that do not join the group need a new program. */
static void test_append_other(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	uint8_t pkt[PKT_MAX];
	size_t len;
	struct e2e t;

	_build(&t, f, true);
	/* Another chain than the program's (a rename): not in place. */
	{
		struct bf_program *gen = NULL;
		struct bf_update *u = NULL;

		assert_int_equal(bf_update_plan(t.prog, t.table, "renamed", &gen,
						&u, NULL, 0), -EAGAIN);
		assert_null(gen);
		assert_null(u);
	}
	E2E_RULE(&t, NULL, bf_expr_meta(BF_META_L4PROTO, 0),
		 e2e_cmp_u8(BF_CMP_EQ, 0, PKT_PROTO_TCP),
		 bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 0),
		 e2e_cmp_be16(BF_CMP_EQ, 0, 7), bf_expr_counter(), e2e_accept());
	_reload(&t);
	len = e2e_port_pkt(f, PKT_PROTO_TCP, 7, pkt);
	e2e_expect(&t, pkt, len, BF_VERDICT_ACCEPT);
	/* A range is not a key. */
	E2E_RULE(&t, NULL, bf_expr_meta(BF_META_L4PROTO, 0),
		 e2e_cmp_u8(BF_CMP_EQ, 0, PKT_PROTO_UDP),
		 bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 0),
		 e2e_cmp_be16(BF_CMP_NEQ, 0, 5), e2e_accept());
	_reload(&t);
	len = e2e_port_pkt(f, PKT_PROTO_UDP, 6, pkt);
	e2e_expect(&t, pkt, len, BF_VERDICT_ACCEPT);
	e2e_fini(&t);
}

/* Appending past the room the maps were created with reloads, and the
 * bigger maps take the next appends again. */
static void test_append_many(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	size_t in_place = 0, reloads = 0;
	uint8_t pkt[PKT_MAX];
	size_t len;
	struct e2e t;

	_build(&t, f, true);
	for (uint16_t i = 0; i < 120; i++) {
		struct bf_program *gen = NULL;
		struct bf_update *u = NULL;

		_port_rule(&t, (uint16_t)(2000 + i), true,
			   i % 2 ? BF_VERDICT_DROP : BF_VERDICT_ACCEPT);
		if (!_plan(&t, &gen, &u)) {
			assert_int_equal(bf_update_apply(u), 0);
			bf_update_free(&u);
			in_place++;
		} else {
			bf_program_free(&gen);
			_reload(&t);
			reloads++;
		}
	}
	assert_true(in_place >= 100);
	assert_true(reloads >= 1);
	for (uint16_t i = 0; i < 120; i += 7) {
		len = e2e_port_pkt(f, PKT_PROTO_UDP, (uint16_t)(2000 + i), pkt);
		e2e_expect(&t, pkt, len, i % 2 ? BF_VERDICT_DROP : BF_VERDICT_ACCEPT);
		e2e_expect_counter(&t, NULL, _N + i, 4, 1, e2e_seen_len(f->hook, len));
	}
	e2e_fini(&t);
}

/* Without counters, removing or changing one rule of the group keeps the
 * code: one map entry is deleted or changed. */
static void test_same_code(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	struct bf_chain *c;
	uint8_t pkt[PKT_MAX];
	size_t len;
	struct e2e t;

	_build(&t, f, false);
	len = e2e_port_pkt(f, PKT_PROTO_UDP, _BASE_PORT + 10, pkt);
	e2e_expect(&t, pkt, len, BF_VERDICT_ACCEPT);
	_remove_rule(&t, 10);
	_update(&t);
	e2e_expect(&t, pkt, len, BF_VERDICT_DROP);

	/* Rule 20 (port BASE+21 now) becomes a drop, in place. */
	c = _base_chain(&t);
	{
		struct bf_rule *r = NULL;
		struct bf_expr ex[] = {
			bf_expr_meta(BF_META_L4PROTO, 0),
			e2e_cmp_u8(BF_CMP_EQ, 0, PKT_PROTO_UDP),
			bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 0),
			e2e_cmp_be16(BF_CMP_EQ, 0, _BASE_PORT + 21), e2e_drop(),
		};

		assert_int_equal(bf_rule_new(&r), 0);
		for (size_t k = 0; k < ARRAY_SIZE(ex); k++)
			assert_int_equal(bf_rule_add_expr(r, &ex[k]), 0);
		bf_rule_free(&c->rules[20]);
		c->rules[20] = r;
	}
	_update(&t);
	len = e2e_port_pkt(f, PKT_PROTO_UDP, _BASE_PORT + 21, pkt);
	e2e_expect(&t, pkt, len, BF_VERDICT_DROP);
	len = e2e_port_pkt(f, PKT_PROTO_UDP, _BASE_PORT + 22, pkt);
	e2e_expect(&t, pkt, len, BF_VERDICT_ACCEPT);

	/* Two rules removed at once: two entries, a new program. */
	_remove_rule(&t, 2);
	_remove_rule(&t, 30);
	_reload(&t);
	len = e2e_port_pkt(f, PKT_PROTO_UDP, _BASE_PORT + 2, pkt);
	e2e_expect(&t, pkt, len, BF_VERDICT_DROP);
	len = e2e_port_pkt(f, PKT_PROTO_UDP, _BASE_PORT + 3, pkt);
	e2e_expect(&t, pkt, len, BF_VERDICT_ACCEPT);
	e2e_fini(&t);
}

/* Move the chain's last rule to position @pos. */
static void _move_last(struct e2e *t, size_t pos)
{
	struct bf_chain *c = _base_chain(t);
	struct bf_rule *r = c->rules[c->n_rules - 1];

	memmove(&c->rules[pos + 1], &c->rules[pos],
		(c->n_rules - 1 - pos) * sizeof(*c->rules));
	c->rules[pos] = r;
}

/* With counters: a rule removed from the group or inserted at its head is
 * one map entry too, the other counters keeping their slots; a change of
 * two entries reloads, counters carried over. */
static void test_counters_kept(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	uint8_t pkt[PKT_MAX], p1020[PKT_MAX], p1005[PKT_MAX], p7[PKT_MAX];
	size_t len, l1020, l1005, l7, seen;
	struct e2e t;

	_build(&t, f, true);
	l1020 = e2e_port_pkt(f, PKT_PROTO_UDP, _BASE_PORT + 20, p1020);
	l1005 = e2e_port_pkt(f, PKT_PROTO_UDP, _BASE_PORT + 5, p1005);
	l7 = e2e_port_pkt(f, PKT_PROTO_UDP, 7, p7);
	seen = e2e_seen_len(f->hook, l1020);
	e2e_expect(&t, p1020, l1020, BF_VERDICT_ACCEPT);
	e2e_expect(&t, p1005, l1005, BF_VERDICT_ACCEPT);

	_remove_rule(&t, 10);
	_update(&t);
	len = e2e_port_pkt(f, PKT_PROTO_UDP, _BASE_PORT + 10, pkt);
	e2e_expect(&t, pkt, len, BF_VERDICT_DROP);
	e2e_expect_counter(&t, NULL, 19, 4, 1, seen);
	e2e_expect_counter(&t, NULL, 5, 4, 1, seen);

	_port_rule(&t, 7, true, BF_VERDICT_ACCEPT);
	_move_last(&t, 0);
	_update(&t);
	e2e_expect(&t, p7, l7, BF_VERDICT_ACCEPT);
	e2e_expect(&t, p1020, l1020, BF_VERDICT_ACCEPT);
	e2e_expect_counter(&t, NULL, 0, 4, 1, seen);
	e2e_expect_counter(&t, NULL, 20, 4, 2, 2 * seen);
	e2e_expect_counter(&t, NULL, 6, 4, 1, seen);

	/* Rule 6 (port BASE+5) replaced by port 8: two entries. */
	_remove_rule(&t, 6);
	_port_rule(&t, 8, true, BF_VERDICT_DROP);
	_move_last(&t, 6);
	_reload(&t);
	e2e_expect(&t, p1005, l1005, BF_VERDICT_DROP);
	len = e2e_port_pkt(f, PKT_PROTO_UDP, 8, pkt);
	e2e_expect(&t, pkt, len, BF_VERDICT_DROP);
	e2e_expect_counter(&t, NULL, 6, 4, 1, seen);
	e2e_expect_counter(&t, NULL, 0, 4, 1, seen);
	e2e_expect_counter(&t, NULL, 20, 4, 2, 2 * seen);

	/* In place again, from the reloaded program. */
	_remove_rule(&t, 1);
	_update(&t);
	e2e_expect(&t, p1020, l1020, BF_VERDICT_ACCEPT);
	e2e_expect_counter(&t, NULL, 19, 4, 3, 3 * seen);
	e2e_expect_policy(&t, 2, 2 * e2e_seen_len(f->hook, len));
	e2e_fini(&t);
}

/*
 * Random edits against a model: rules `udp dport P [counter] accept|drop`
 * with ports drawn from a small range (duplicates shadow each other) and
 * now and then a TCP rule (another shape), changed one at a time by
 * append, insert, delete or replace; each change is planned, applied in
 * place or reloaded; verdicts and counters must follow the model (first
 * matching rule wins). With BF_UPDATE_CHECK=1 every edit is also compared
 * with generating the chain. BF_TEST_SEED=N changes the sequence.
 */
struct _model_rule {
	uint16_t port;
	bool tcp, counter, drop;
	uint64_t packets;
};

static void _model_add(struct e2e *t, struct _model_rule *m, size_t *n,
		       size_t pos, struct _model_rule r)
{
	if (r.tcp) {
		E2E_RULE(t, NULL, bf_expr_meta(BF_META_L4PROTO, 0),
			 e2e_cmp_u8(BF_CMP_EQ, 0, PKT_PROTO_TCP),
			 bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 0),
			 e2e_cmp_be16(BF_CMP_EQ, 0, r.port), bf_expr_counter(),
			 e2e_accept());
		_base_chain(t)->rules[_base_chain(t)->n_rules - 1]->handle = ++_handle;
	} else {
		_port_rule(t, r.port, r.counter,
			   r.drop ? BF_VERDICT_DROP : BF_VERDICT_ACCEPT);
	}
	_move_last(t, pos);
	memmove(&m[pos + 1], &m[pos], (*n - pos) * sizeof(*m));
	m[pos] = r;
	(*n)++;
}

static void _model_del(struct e2e *t, struct _model_rule *m, size_t *n,
		       size_t pos)
{
	_remove_rule(t, pos);
	memmove(&m[pos], &m[pos + 1], (*n - pos - 1) * sizeof(*m));
	(*n)--;
}

static struct _model_rule _model_rand(unsigned int *seed)
{
	struct _model_rule r = {
		.port = (uint16_t)(1000 + rand_r(seed) % 40),
		.tcp = rand_r(seed) % 25 == 0,
		.counter = rand_r(seed) % 4 != 0,
		.drop = rand_r(seed) % 3 == 0,
	};

	if (r.tcp)
		r.counter = true;
	return r;
}

static void test_random(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	const char *env = getenv("BF_TEST_SEED");
	unsigned int seed0 = env ? (unsigned int)strtoul(env, NULL, 0) : 1;
	unsigned int seed = seed0;
	struct _model_rule m[128];
	size_t n = 0, in_place = 0, reloads = 0, seen;
	uint64_t policy = 0;
	uint8_t pkt[PKT_MAX];
	struct e2e t;

	e2e_init_flavour(&t, f, BF_VERDICT_DROP);
	for (size_t i = 0; i < 24; i++) {
		struct _model_rule r = _model_rand(&seed);

		r.tcp = false;
		_model_add(&t, m, &n, n, r);
	}
	e2e_load(&t);
	seen = e2e_seen_len(f->hook, e2e_port_pkt(f, PKT_PROTO_UDP, 1000, pkt));

	for (int step = 0; step < 300; step++) {
		struct bf_program *gen = NULL;
		struct bf_update *u = NULL;
		int op = rand_r(&seed) % 100;

		if (n < 20)
			op = 0;
		else if (n > 100)
			op = 60;
		if (op < 35) {
			_model_add(&t, m, &n, n, _model_rand(&seed));
		} else if (op < 55) {
			_model_add(&t, m, &n, (size_t)rand_r(&seed) % (n + 1),
				   _model_rand(&seed));
		} else if (op < 85) {
			_model_del(&t, m, &n, (size_t)rand_r(&seed) % n);
		} else {
			size_t pos = (size_t)rand_r(&seed) % n;

			_model_del(&t, m, &n, pos);
			_model_add(&t, m, &n, pos, _model_rand(&seed));
		}
		if (!_plan(&t, &gen, &u)) {
			assert_int_equal(bf_update_apply(u), 0);
			bf_update_free(&u);
			in_place++;
		} else {
			bf_program_free(&gen);
			_reload(&t);
			reloads++;
		}

		/* Three datagrams; the model says where each goes. */
		for (int k = 0; k < 3; k++) {
			uint16_t port = (uint16_t)(1000 + rand_r(&seed) % 42);
			size_t len = e2e_port_pkt(f, PKT_PROTO_UDP, port, pkt);
			enum bf_verdict v = BF_VERDICT_DROP;
			size_t i;

			for (i = 0; i < n && (m[i].tcp || m[i].port != port); i++)
				;
			if (i < n) {
				v = m[i].drop ? BF_VERDICT_DROP : BF_VERDICT_ACCEPT;
				m[i].packets += m[i].counter;
			} else {
				policy++;
			}
			e2e_expect(&t, pkt, len, v);
		}
		if (step % 10 == 9 || step == 299) {
			for (size_t i = 0; i < n; i++) {
				if (m[i].counter)
					e2e_expect_counter(&t, NULL, i, 4, m[i].packets,
							   m[i].packets * seen);
			}
			e2e_expect_policy(&t, policy, policy * seen);
		}
	}
	fprintf(stderr, "# seed %u: %zu in place, %zu reloads\n", seed0, in_place,
		reloads);
	/* The path under test was taken (67 to 290 of 300 over seeds 1-300). */
	assert_true(in_place >= 30);
	e2e_fini(&t);
}

static bool _one_per_hook_kind(const struct e2e_flavour *f)
{
	return !strcmp(f->name, "xdp/ip4") || !strcmp(f->name, "nf_input/inet4");
}

static const char *const _flavour_names[] = {
	"xdp/ip4", "tc_ingress/ip6", "nf_input/ip", "nf_input/inet4",
	"cgroup_ingress/ip",
};

static const struct e2e_test _tests[] = {
	{ "append", test_append },
	{ "append_shadowed", test_append_shadowed },
	{ "append_undo", test_append_undo },
	{ "append_other", test_append_other },
	{ "append_many", test_append_many },
	{ "same_code", test_same_code },
	{ "counters_kept", test_counters_kept },
	{ "random", test_random, _one_per_hook_kind },
};

int main(void)
{
	setenv("BF_UPDATE_CHECK", "1", 1);
	return e2e_run_tests("update", _flavour_names, ARRAY_SIZE(_flavour_names),
			     _tests, ARRAY_SIZE(_tests));
}
