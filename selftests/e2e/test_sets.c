/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Sets as BPF maps: lookups of exact keys (a hash map), of prefixes (an
 * LPM trie), of a concatenation over two registers, inverted lookups,
 * verdict maps (drop, accept, jump, goto, continue, no element), and a
 * set changed in place (bf_update_plan(): a new inner map swapped in, no
 * new program) then undone. Each test runs on a few hook flavours.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/e2e.h"

#define PORT 4242

static void _be16(uint8_t *k, uint16_t v)
{
	k[0] = v >> 8;
	k[1] = v & 0xff;
}

/* A set named @name of 2-byte port keys (@flags), with @n ports. */
static struct bf_set *_port_set(const char *name, uint32_t flags,
				const uint16_t *ports, const uint8_t *prefix,
				size_t n)
{
	struct bf_set *s = NULL;

	assert_int_equal(bf_set_new(&s, name, 2, flags), 0);
	for (size_t i = 0; i < n; i++) {
		uint8_t k[2];

		_be16(k, ports[i]);
		assert_int_equal(bf_set_add_key(s, k, prefix ? prefix[i] : 16), 0);
	}
	return s;
}

static void _add_set(struct e2e *t, struct bf_set *s)
{
	assert_int_equal(bf_table_add_set(t->table, &s), 0);
}

static int _verdict_for(struct e2e *t, const struct e2e_flavour *f,
			uint16_t port)
{
	uint8_t pkt[PKT_MAX];
	size_t len = e2e_port_pkt(f, PKT_PROTO_UDP, port, pkt);

	return e2e_run(t, pkt, len);
}

#define EXPECT_PORT(t, f, port, verdict) \
	assert_int_equal(_verdict_for((t), (f), (port)), \
			 e2e_retval((f)->hook, (verdict)))

/* udp dport { PORT, PORT + 2 } drop; and the inverted lookup. */
static void test_exact(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	const uint16_t ports[] = { PORT, PORT + 2 };
	struct e2e t;

	e2e_init_flavour(&t, f, BF_VERDICT_ACCEPT);
	_add_set(&t, _port_set("s", 0, ports, NULL, 2));
	E2E_RULE(&t, NULL, bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 0),
		 bf_expr_lookup("s", 0, 2, false), bf_expr_counter(), e2e_drop());
	e2e_load(&t);
	EXPECT_PORT(&t, f, PORT, BF_VERDICT_DROP);
	EXPECT_PORT(&t, f, PORT + 1, BF_VERDICT_ACCEPT);
	EXPECT_PORT(&t, f, PORT + 2, BF_VERDICT_DROP);
	e2e_expect_counter(&t, NULL, 0, 2, 2, 2 * e2e_seen_len(f->hook,
		e2e_port_pkt(f, PKT_PROTO_UDP, PORT, (uint8_t[PKT_MAX]){ 0 })));
	e2e_fini(&t);

	e2e_init_flavour(&t, f, BF_VERDICT_ACCEPT);
	_add_set(&t, _port_set("s", 0, ports, NULL, 2));
	E2E_RULE(&t, NULL, bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 0),
		 bf_expr_lookup("s", 0, 2, true), e2e_drop());
	e2e_load(&t);
	EXPECT_PORT(&t, f, PORT, BF_VERDICT_ACCEPT);
	EXPECT_PORT(&t, f, PORT + 1, BF_VERDICT_DROP);
	e2e_fini(&t);
}

/* Prefixes of a 2-byte key: PORT/12 matches PORT..PORT+15 (aligned). */
static void test_prefix(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	const uint16_t base = PORT & 0xfff0;
	const uint16_t ports[] = { base, 0x8000 };
	const uint8_t prefix[] = { 12, 16 };
	struct e2e t;

	e2e_init_flavour(&t, f, BF_VERDICT_ACCEPT);
	_add_set(&t, _port_set("p", BF_SET_F_PREFIX, ports, prefix, 2));
	E2E_RULE(&t, NULL, bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 0),
		 bf_expr_lookup("p", 0, 2, false), e2e_drop());
	e2e_load(&t);
	EXPECT_PORT(&t, f, base, BF_VERDICT_DROP);
	EXPECT_PORT(&t, f, base + 15, BF_VERDICT_DROP);
	EXPECT_PORT(&t, f, base + 16, BF_VERDICT_ACCEPT);
	EXPECT_PORT(&t, f, base - 1, BF_VERDICT_ACCEPT);
	EXPECT_PORT(&t, f, 0x8000, BF_VERDICT_DROP);
	EXPECT_PORT(&t, f, 0x8001, BF_VERDICT_ACCEPT);
	e2e_fini(&t);
}

/* meta l4proto . udp dport: two registers, each padded to 4 bytes. */
static void test_concat(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	uint8_t key[8] = { PKT_PROTO_UDP, 0, 0, 0, 0, 0, 0, 0 };
	struct bf_set *s = NULL;
	struct e2e t;

	_be16(key + 4, PORT);
	e2e_init_flavour(&t, f, BF_VERDICT_ACCEPT);
	assert_int_equal(bf_set_new(&s, "c", 8, 0), 0);
	assert_int_equal(bf_set_add_key(s, key, 0), 0);
	_add_set(&t, s);
	E2E_RULE(&t, NULL, bf_expr_meta(BF_META_L4PROTO, 0),
		 bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 1),
		 bf_expr_lookup("c", 0, 8, false), e2e_drop());
	e2e_load(&t);
	EXPECT_PORT(&t, f, PORT, BF_VERDICT_DROP);
	EXPECT_PORT(&t, f, PORT + 1, BF_VERDICT_ACCEPT);
	e2e_fini(&t);
}

/* vmap: PORT drop, +1 jump j (counts, falls back: next rule accepts),
 * +2 goto g (drops), +3 continue (next expression: a counter, then the
 * next rule), +4 accept; no element: the rule does not match. */
static void test_vmap(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	static const struct {
		uint16_t off;
		enum bf_verdict code;
		const char *chain;
	} els[] = {
		{ 0, BF_VERDICT_DROP, NULL }, { 1, BF_VERDICT_JUMP, "j" },
		{ 2, BF_VERDICT_GOTO, "g" }, { 3, BF_VERDICT_CONTINUE, NULL },
		{ 4, BF_VERDICT_ACCEPT, NULL },
	};
	struct bf_set *s = NULL;
	struct e2e t;

	e2e_init_flavour(&t, f, BF_VERDICT_DROP);
	e2e_chain(&t, "j");
	e2e_chain(&t, "g");
	E2E_RULE(&t, "j", bf_expr_counter());
	E2E_RULE(&t, "g", bf_expr_counter(), e2e_drop());
	assert_int_equal(bf_set_new(&s, "v", 2, BF_SET_F_VMAP), 0);
	for (size_t i = 0; i < ARRAY_SIZE(els); i++) {
		uint8_t k[2];

		_be16(k, PORT + els[i].off);
		assert_int_equal(bf_set_add_verdict_key(s, k, 16, els[i].code,
							els[i].chain),
				 0);
	}
	_add_set(&t, s);
	E2E_RULE(&t, NULL, bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 0),
		 bf_expr_vmap("v", 0, 2), bf_expr_counter());
	E2E_RULE(&t, NULL, bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 0),
		 e2e_cmp_be16(BF_CMP_NEQ, 0, PORT + 5), e2e_accept());
	e2e_load(&t);
	EXPECT_PORT(&t, f, PORT, BF_VERDICT_DROP);
	EXPECT_PORT(&t, f, PORT + 1, BF_VERDICT_ACCEPT);
	EXPECT_PORT(&t, f, PORT + 2, BF_VERDICT_DROP);
	EXPECT_PORT(&t, f, PORT + 3, BF_VERDICT_ACCEPT);
	EXPECT_PORT(&t, f, PORT + 4, BF_VERDICT_ACCEPT);
	/* No element: the rule does not match; the next one accepts. */
	EXPECT_PORT(&t, f, PORT + 9, BF_VERDICT_ACCEPT);
	/* No element, and the next rule does not match: the policy. */
	EXPECT_PORT(&t, f, PORT + 5, BF_VERDICT_DROP);
	{
		uint64_t p, b;

		e2e_counter(&t, "j", 0, 0, &p, &b);
		assert_int_equal(p, 1);
		e2e_counter(&t, "g", 0, 0, &p, &b);
		assert_int_equal(p, 1);
		/* The counter after the vmap: only continue reaches it. */
		e2e_counter(&t, NULL, 0, 2, &p, &b);
		assert_int_equal(p, 1);
	}
	e2e_fini(&t);
}

/* Elements changed in place: the same program, a new inner map. */
static void test_in_place(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	const uint16_t ports[] = { PORT };
	struct bf_program *gen = NULL;
	struct bf_update *u = NULL;
	struct bf_set *s;
	char err[256];
	struct e2e t;
	uint8_t k[2];
	int fd;

	e2e_init_flavour(&t, f, BF_VERDICT_ACCEPT);
	_add_set(&t, _port_set("s", 0, ports, NULL, 1));
	E2E_RULE(&t, NULL, bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 0),
		 bf_expr_lookup("s", 0, 2, false), bf_expr_counter(), e2e_drop());
	e2e_load(&t);
	fd = bf_program_fd(t.prog);
	EXPECT_PORT(&t, f, PORT, BF_VERDICT_DROP);
	EXPECT_PORT(&t, f, PORT + 1, BF_VERDICT_ACCEPT);

	/* Add PORT + 1, in the table's IR set. */
	s = t.table->sets[0];
	_be16(k, PORT + 1);
	assert_int_equal(bf_set_add_key(s, k, 16), 0);
	assert_int_equal(bf_update_plan(t.prog, t.table, E2E_BASE, &gen, &u,
					err, sizeof(err)),
			 0);
	assert_null(gen);
	/* Planned, not applied: packets still see the old set. */
	EXPECT_PORT(&t, f, PORT + 1, BF_VERDICT_ACCEPT);
	assert_int_equal(bf_update_apply(u), 0);
	assert_int_equal(bf_program_fd(t.prog), fd);
	EXPECT_PORT(&t, f, PORT + 1, BF_VERDICT_DROP);
	EXPECT_PORT(&t, f, PORT, BF_VERDICT_DROP);
	/* Counters go on. */
	e2e_expect_counter(&t, NULL, 0, 2, 3, 3 * e2e_seen_len(f->hook,
		e2e_port_pkt(f, PKT_PROTO_UDP, PORT, (uint8_t[PKT_MAX]){ 0 })));
	assert_int_equal(bf_update_undo(u), 0);
	EXPECT_PORT(&t, f, PORT + 1, BF_VERDICT_ACCEPT);
	EXPECT_PORT(&t, f, PORT, BF_VERDICT_DROP);
	bf_update_free(&u);

	/* Two more keys (a new inner map swapped in), kept. */
	_be16(k, PORT + 2);
	assert_int_equal(bf_set_add_key(s, k, 16), 0);
	assert_int_equal(bf_update_plan(t.prog, t.table, E2E_BASE, &gen, &u,
					err, sizeof(err)),
			 0);
	assert_int_equal(bf_update_apply(u), 0);
	bf_update_free(&u);
	EXPECT_PORT(&t, f, PORT + 1, BF_VERDICT_DROP);
	EXPECT_PORT(&t, f, PORT + 2, BF_VERDICT_DROP);
	EXPECT_PORT(&t, f, PORT + 3, BF_VERDICT_ACCEPT);

	/* One key out (the live map's entry deleted): PORT, the first, is
	 * replaced by the last (another order, one entry less). */
	memcpy(s->keys, s->keys + (s->n - 1) * s->key_len, s->key_len);
	s->n--;
	assert_int_equal(bf_update_plan(t.prog, t.table, E2E_BASE, &gen, &u,
					err, sizeof(err)),
			 0);
	assert_int_equal(bf_update_apply(u), 0);
	EXPECT_PORT(&t, f, PORT, BF_VERDICT_ACCEPT);
	EXPECT_PORT(&t, f, PORT + 1, BF_VERDICT_DROP);
	EXPECT_PORT(&t, f, PORT + 2, BF_VERDICT_DROP);
	assert_int_equal(bf_update_undo(u), 0);
	EXPECT_PORT(&t, f, PORT, BF_VERDICT_DROP);
	assert_int_equal(bf_update_apply(u), 0);
	bf_update_free(&u);
	EXPECT_PORT(&t, f, PORT, BF_VERDICT_ACCEPT);
	assert_int_equal(bf_program_fd(t.prog), fd);

	/* A rule changed too: not in place (a new program). */
	E2E_RULE(&t, NULL, bf_expr_counter());
	assert_int_equal(bf_update_plan(t.prog, t.table, E2E_BASE, &gen, &u,
					err, sizeof(err)),
			 -EAGAIN);
	bf_program_free(&gen);
	e2e_fini(&t);
}

/* Validation: the set must exist, with the lookup's key length, and a
 * vmap needs a verdict map. */
static void test_refused(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	const uint16_t ports[] = { PORT };
	struct e2e t;

	e2e_init_flavour(&t, f, BF_VERDICT_ACCEPT);
	E2E_RULE(&t, NULL, bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 0),
		 bf_expr_lookup("none", 0, 2, false), e2e_drop());
	assert_int_equal(e2e_try_load(&t, t.nfproto), -EINVAL);
	e2e_fini(&t);

	e2e_init_flavour(&t, f, BF_VERDICT_ACCEPT);
	_add_set(&t, _port_set("s", 0, ports, NULL, 1));
	E2E_RULE(&t, NULL, bf_expr_payload(BF_PAYLOAD_TH, 0, 4, 0),
		 bf_expr_lookup("s", 0, 4, false), e2e_drop());
	assert_int_equal(e2e_try_load(&t, t.nfproto), -EINVAL);
	e2e_fini(&t);

	e2e_init_flavour(&t, f, BF_VERDICT_ACCEPT);
	_add_set(&t, _port_set("s", 0, ports, NULL, 1));
	E2E_RULE(&t, NULL, bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 0),
		 bf_expr_vmap("s", 0, 2));
	assert_int_equal(e2e_try_load(&t, t.nfproto), -EINVAL);
	e2e_fini(&t);
}

static const struct e2e_test _tests[] = {
	{ "exact", test_exact },
	{ "prefix", test_prefix },
	{ "concat", test_concat },
	{ "vmap", test_vmap },
	{ "in_place", test_in_place },
	{ "refused", test_refused },
};

static const char *const _flavour_names[] = {
	"xdp/ip4",
	"tc_ingress/ip6",
	"nf_prerouting/ip",
	"nf_input/inet4",
	"cgroup_egress/inet4",
};

int main(void)
{
	return e2e_run_tests("sets", _flavour_names, ARRAY_SIZE(_flavour_names),
			     _tests, ARRAY_SIZE(_tests));
}
