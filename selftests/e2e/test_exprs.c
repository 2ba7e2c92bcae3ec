/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Expressions other than payload: meta keys, cmp and range (memcmp order,
 * as nf_tables), bitwise mask/xor and shifts, byteorder, immediate data.
 * Counters and verdicts are in test_verdicts.c. Each test runs on a few
 * representative hook flavours.
 */
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/e2e.h"

/* Values under test sit in the UDP payload: transport header + 8. */
#define VAL_OFF 8

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

static size_t _th(const struct e2e_flavour *f)
{
	return PKT_ETH_HLEN + (f->l3 == 6 ? PKT_IP6_HLEN : PKT_IP4_HLEN);
}

static int _nbo_cmp(const uint8_t *a, const uint8_t *b, size_t n)
{
	return memcmp(a, b, n);
}

static bool _cmp_holds(enum bf_cmp_op op, int d)
{
	switch (op) {
	case BF_CMP_EQ:
		return d == 0;
	case BF_CMP_NEQ:
		return d != 0;
	case BF_CMP_LT:
		return d < 0;
	case BF_CMP_LTE:
		return d <= 0;
	case BF_CMP_GT:
		return d > 0;
	default:
		return d >= 0;
	}
}

/* a +/- 1 as a big-endian number; false on wrap. */
static bool _nbo_add(uint8_t *a, size_t n, int delta)
{
	size_t i = n;

	while (i--) {
		if (delta > 0) {
			if (++a[i] != 0)
				return true;
		} else {
			if (a[i]-- != 0)
				return true;
		}
	}

	return false;
}

#define _NCONST 7

static void _consts(size_t n, uint8_t c[_NCONST][BF_DATA_MAX])
{
	size_t i;

	memset(c, 0, _NCONST * BF_DATA_MAX);
	/* 0 */
	/* all ones */
	memset(c[1], 0xff, n);
	/* 0x80 00 .. 00: sign bit as a big-endian number */
	c[2][0] = 0x80;
	/* 0x7f ff .. ff */
	c[3][0] = 0x7f;
	memset(c[3] + 1, 0xff, n - 1);
	/* 01 02 03 ... */
	for (i = 0; i < n; i++)
		c[4][i] = i + 1;
	/* 00 .. 00 01: only the last byte set (little-endian readers see it
	 * as the biggest) */
	c[5][n - 1] = 1;
	/* 01 00 .. 00 */
	c[6][0] = 1;
}

/* cmp with every op on n-byte values, and range eq/neq: every constant is
 * tried against values equal to it and one above and below it. */
static void _cmp_len(const struct e2e_flavour *f, size_t n)
{
	static const enum bf_cmp_op ops[] = { BF_CMP_EQ, BF_CMP_NEQ,
					      BF_CMP_LT, BF_CMP_LTE,
					      BF_CMP_GT, BF_CMP_GTE };
	uint8_t c[_NCONST][BF_DATA_MAX];
	uint8_t vals[3 * _NCONST][BF_DATA_MAX];
	uint64_t expect[6 * _NCONST + 2 * _NCONST * _NCONST] = {};
	size_t nvals = 0, nrules = 0, i, j, k, bad = 0;
	uint8_t pkt[PKT_MAX];
	size_t len = _udp(f, pkt, NULL);
	size_t th = _th(f);
	struct e2e t;

	_consts(n, c);
	for (i = 0; i < _NCONST; i++) {
		memcpy(vals[nvals++], c[i], BF_DATA_MAX);
		memcpy(vals[nvals], c[i], BF_DATA_MAX);
		if (_nbo_add(vals[nvals], n, 1))
			nvals++;
		memcpy(vals[nvals], c[i], BF_DATA_MAX);
		if (_nbo_add(vals[nvals], n, -1))
			nvals++;
	}

	e2e_init_flavour(&t, f, BF_VERDICT_ACCEPT);
	for (i = 0; i < _NCONST; i++) {
		for (k = 0; k < ARRAY_SIZE(ops); k++) {
			uint8_t reg = (i + k) % (BF_REG_COUNT - (n + 3) / 4 + 1);

			E2E_RULE(&t, NULL,
				 bf_expr_payload(BF_PAYLOAD_TH, VAL_OFF, n, reg),
				 e2e_cmp_bytes(ops[k], reg, c[i], n),
				 bf_expr_counter());
			nrules++;
		}
	}
	/* Ranges: [c[i], c[j]] for every ordered pair, eq and neq. */
	for (i = 0; i < _NCONST; i++) {
		for (j = 0; j < _NCONST; j++) {
			struct bf_data from, to;

			if (_nbo_cmp(c[i], c[j], n) > 0)
				continue;
			bf_data_set(&from, c[i], n);
			bf_data_set(&to, c[j], n);
			E2E_RULE(&t, NULL,
				 bf_expr_payload(BF_PAYLOAD_TH, VAL_OFF, n, 1),
				 bf_expr_range(BF_RANGE_EQ, 1, &from, &to),
				 bf_expr_counter());
			E2E_RULE(&t, NULL,
				 bf_expr_payload(BF_PAYLOAD_TH, VAL_OFF, n, 0),
				 bf_expr_range(BF_RANGE_NEQ, 0, &from, &to),
				 bf_expr_counter());
		}
	}
	e2e_load(&t);

	for (size_t v = 0; v < nvals; v++) {
		size_t r = 0;

		memcpy(pkt + th + VAL_OFF, vals[v], n);
		e2e_expect(&t, pkt, len, BF_VERDICT_ACCEPT);

		for (i = 0; i < _NCONST; i++)
			for (k = 0; k < ARRAY_SIZE(ops); k++)
				expect[r++] += _cmp_holds(
					ops[k], _nbo_cmp(vals[v], c[i], n));
		for (i = 0; i < _NCONST; i++) {
			for (j = 0; j < _NCONST; j++) {
				bool in;

				if (_nbo_cmp(c[i], c[j], n) > 0)
					continue;
				in = _nbo_cmp(vals[v], c[i], n) >= 0 &&
				     _nbo_cmp(vals[v], c[j], n) <= 0;
				expect[r++] += in;
				expect[r++] += !in;
			}
		}
	}

	for (i = 0; i < nrules; i++) {
		uint64_t p, b;

		e2e_counter(&t, NULL, i, 2, &p, &b);
		if (p != expect[i]) {
			fprintf(stderr,
				"# %s: cmp %s on %zu bytes, const #%zu: %lu matches, expected %lu\n",
				f->name, bf_cmp_op_to_str(ops[i % 6]), n, i / 6,
				(unsigned long)p, (unsigned long)expect[i]);
			bad++;
		}
	}
	for (i = 0; i < _NCONST; i++) {
		for (j = 0; j < _NCONST; j++) {
			uint64_t p, b;

			if (_nbo_cmp(c[i], c[j], n) > 0)
				continue;
			for (k = 0; k < 2; k++) {
				e2e_counter(&t, NULL, nrules, 2, &p, &b);
				if (p != expect[nrules]) {
					fprintf(stderr,
						"# %s: range %s [#%zu, #%zu] on %zu bytes: %lu matches, expected %lu\n",
						f->name, k ? "neq" : "eq", i, j,
						n, (unsigned long)p,
						(unsigned long)expect[nrules]);
					bad++;
				}
				nrules++;
			}
		}
	}
	e2e_fini(&t);
	assert_int_equal(bad, 0);
}

static void test_cmp_1(void **state)
{
	_cmp_len(e2e_state_flavour(state), 1);
}

static void test_cmp_2(void **state)
{
	_cmp_len(e2e_state_flavour(state), 2);
}

static void test_cmp_3(void **state)
{
	_cmp_len(e2e_state_flavour(state), 3);
}

static void test_cmp_4(void **state)
{
	_cmp_len(e2e_state_flavour(state), 4);
}

static void test_cmp_6(void **state)
{
	_cmp_len(e2e_state_flavour(state), 6);
}

static void test_cmp_8(void **state)
{
	_cmp_len(e2e_state_flavour(state), 8);
}

static void test_cmp_16(void **state)
{
	_cmp_len(e2e_state_flavour(state), 16);
}

/* Run @pkt through a table of one rule @exprs + counter (policy accept),
 * return whether the rule matched. */
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

static void test_meta_l4proto(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	uint8_t pkt[PKT_MAX];
	struct pkt_spec spec;
	size_t len;

	pkt_spec_init(&spec, f->l3, PKT_PROTO_TCP);
	len = e2e_pkt(&spec, pkt, sizeof(pkt), NULL);
	assert_true(MATCHES(f, pkt, len, bf_expr_meta(BF_META_L4PROTO, 2),
			    e2e_cmp_u8(BF_CMP_EQ, 2, PKT_PROTO_TCP)));
	assert_false(MATCHES(f, pkt, len, bf_expr_meta(BF_META_L4PROTO, 2),
			     e2e_cmp_u8(BF_CMP_EQ, 2, PKT_PROTO_UDP)));
	assert_true(MATCHES(f, pkt, len, bf_expr_meta(BF_META_L4PROTO, 2),
			    e2e_cmp_u8(BF_CMP_NEQ, 2, PKT_PROTO_UDP)));
	pkt_spec_init(&spec, f->l3,
		      f->l3 == 6 ? PKT_PROTO_ICMPV6 : PKT_PROTO_ICMP);
	len = e2e_pkt(&spec, pkt, sizeof(pkt), NULL);
	assert_true(MATCHES(f, pkt, len, bf_expr_meta(BF_META_L4PROTO, 15),
			    e2e_cmp_u8(BF_CMP_EQ, 15, spec.l4proto)));
}

static void test_meta_protocol(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	uint16_t proto = f->l3 == 6 ? PKT_ETH_P_IPV6 : PKT_ETH_P_IP;
	uint16_t other = f->l3 == 6 ? PKT_ETH_P_IP : PKT_ETH_P_IPV6;
	uint8_t pkt[PKT_MAX];
	size_t len = _udp(f, pkt, NULL);

	assert_true(MATCHES(f, pkt, len, bf_expr_meta(BF_META_PROTOCOL, 0),
			    e2e_cmp_be16(BF_CMP_EQ, 0, proto)));
	assert_false(MATCHES(f, pkt, len, bf_expr_meta(BF_META_PROTOCOL, 0),
			     e2e_cmp_be16(BF_CMP_EQ, 0, other)));
}

/* nf_tables netdev sees a VLAN frame with the tag taken off (skb_vlan_untag
 * or hardware offload): meta protocol is the inner ethertype. */
static void test_meta_protocol_vlan(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	uint16_t proto = f->l3 == 6 ? PKT_ETH_P_IPV6 : PKT_ETH_P_IP;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec spec;
	size_t len;

	pkt_spec_init(&spec, f->l3, PKT_PROTO_UDP);
	spec.vlan = true;
	spec.vlan_tci = 10;
	len = e2e_pkt(&spec, pkt, sizeof(pkt), NULL);
	assert_true(MATCHES(f, pkt, len, bf_expr_meta(BF_META_PROTOCOL, 0),
			    e2e_cmp_be16(BF_CMP_EQ, 0, proto)));
	assert_true(MATCHES(f, pkt, len, bf_expr_meta(BF_META_L4PROTO, 0),
			    e2e_cmp_u8(BF_CMP_EQ, 0, PKT_PROTO_UDP)));
}

/* meta pkttype from the destination MAC address at L2 hooks: the I/G bit
 * makes a group address (PACKET_MULTICAST, 2), all ones is broadcast
 * (PACKET_BROADCAST, 1); a group address ending in ff:ff is not. */
static void test_meta_pkttype(void **state)
{
	static const struct {
		uint8_t mac[6];
		uint8_t want;
	} cases[] = {
		{ { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 1 },
		{ { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 }, 2 },
		{ { 0x01, 0x00, 0x5e, 0x7f, 0xff, 0xff }, 2 },
		{ { 0x33, 0x33, 0xff, 0xff, 0xff, 0xff }, 2 },
	};
	const struct e2e_flavour *f = e2e_state_flavour(state);
	uint8_t pkt[PKT_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pkt_spec spec;
		size_t len;

		/* At TC the value is the skb's, set by eth_type_trans() against
		 * the test run's loopback device, whose broadcast address is
		 * not all ones: only the group addresses are checked there. */
		if (f->hook != BF_HOOK_XDP && cases[i].want == 1)
			continue;
		pkt_spec_init(&spec, f->l3, PKT_PROTO_UDP);
		memcpy(spec.dmac, cases[i].mac, 6);
		len = e2e_pkt(&spec, pkt, sizeof(pkt), NULL);
		assert_true(MATCHES(f, pkt, len, bf_expr_meta(BF_META_PKTTYPE, 0),
				    e2e_cmp_u8(BF_CMP_EQ, 0, cases[i].want)));
		assert_false(MATCHES(f, pkt, len, bf_expr_meta(BF_META_PKTTYPE, 0),
				     e2e_cmp_u8(BF_CMP_EQ, 0, cases[i].want == 1 ? 2 : 1)));
	}
}

static void test_meta_nfproto(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	uint8_t want = f->l3 == 6 ? BF_NFPROTO_IPV6 : BF_NFPROTO_IPV4;
	uint8_t pkt[PKT_MAX];
	size_t len = _udp(f, pkt, NULL);

	assert_true(MATCHES(f, pkt, len, bf_expr_meta(BF_META_NFPROTO, 1),
			    e2e_cmp_u8(BF_CMP_EQ, 1, want)));
	assert_false(MATCHES(f, pkt, len, bf_expr_meta(BF_META_NFPROTO, 1),
			     e2e_cmp_u8(BF_CMP_EQ, 1,
					want == BF_NFPROTO_IPV4 ?
						BF_NFPROTO_IPV6 :
						BF_NFPROTO_IPV4)));
}

/* meta len is host order: cmp eq against host-order bytes; for an order
 * comparison nft converts to big endian first (byteorder hton). */
static void test_meta_len(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	uint8_t pkt[PKT_MAX];
	size_t len = _udp(f, pkt, NULL);
	uint32_t seen = e2e_seen_len(f->hook, len);

	assert_true(MATCHES(f, pkt, len, bf_expr_meta(BF_META_LEN, 4),
			    e2e_cmp_u32(BF_CMP_EQ, 4, seen)));
	assert_false(MATCHES(f, pkt, len, bf_expr_meta(BF_META_LEN, 4),
			     e2e_cmp_u32(BF_CMP_EQ, 4, seen + 1)));
	assert_true(MATCHES(f, pkt, len, bf_expr_meta(BF_META_LEN, 4),
			    bf_expr_byteorder(BF_BYTEORDER_HTON, 4, 4, 4, 4),
			    e2e_cmp_be32(BF_CMP_GT, 4, seen - 1)));
	assert_false(MATCHES(f, pkt, len, bf_expr_meta(BF_META_LEN, 4),
			     bf_expr_byteorder(BF_BYTEORDER_HTON, 4, 4, 4, 4),
			     e2e_cmp_be32(BF_CMP_GT, 4, seen)));
	assert_true(MATCHES(f, pkt, len, bf_expr_meta(BF_META_LEN, 4),
			    bf_expr_byteorder(BF_BYTEORDER_HTON, 4, 0, 4, 4),
			    e2e_cmp_be32(BF_CMP_LTE, 0, seen)));
	/* Truncating the packet changes the length seen. */
	assert_true(MATCHES(f, pkt, len - 5, bf_expr_meta(BF_META_LEN, 4),
			    e2e_cmp_u32(BF_CMP_EQ, 4, seen - 5)));
}

static void test_meta_mark(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	uint8_t pkt[PKT_MAX];
	size_t len = _udp(f, pkt, NULL);

	assert_true(MATCHES(f, pkt, len, bf_expr_meta(BF_META_MARK, 0),
			    e2e_cmp_u32(BF_CMP_EQ, 0, 0)));
	assert_false(MATCHES(f, pkt, len, bf_expr_meta(BF_META_MARK, 0),
			     e2e_cmp_u32(BF_CMP_NEQ, 0, 0)));
}

/* In BPF_PROG_TEST_RUN the packet comes from or goes to the loopback
 * device of the current netns (ifindex 1): XDP, TC ingress and cgroup
 * ingress have an input device; TC egress and cgroup egress an output
 * device; the netfilter test run sets only the output device, whatever
 * the hook (the kernel fills nf_hook_state from its LOCAL_OUT default).
 * nf_tables reads a missing device as ifindex 0 and name "" (it does not
 * break the rule). */
static void test_meta_iif_oif(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	bool has_in = f->hook == BF_HOOK_XDP || f->hook == BF_HOOK_TC_INGRESS ||
		      f->hook == BF_HOOK_CGROUP_SKB_INGRESS;
	enum bf_meta_key present = has_in ? BF_META_IIF : BF_META_OIF;
	enum bf_meta_key absent = has_in ? BF_META_OIF : BF_META_IIF;
	enum bf_meta_key present_name = has_in ? BF_META_IIFNAME : BF_META_OIFNAME;
	enum bf_meta_key absent_name = has_in ? BF_META_OIFNAME : BF_META_IIFNAME;
	uint8_t pkt[PKT_MAX];
	size_t len = _udp(f, pkt, NULL);
	struct bf_data lo, empty;

	bf_data_str(&lo, "lo", BF_IFNAME_MAX);
	bf_data_str(&empty, "", BF_IFNAME_MAX);

	assert_true(MATCHES(f, pkt, len, bf_expr_meta(present, 0),
			    e2e_cmp_u32(BF_CMP_EQ, 0, 1)));
	assert_false(MATCHES(f, pkt, len, bf_expr_meta(present, 0),
			     e2e_cmp_u32(BF_CMP_NEQ, 0, 1)));
	assert_true(MATCHES(f, pkt, len, bf_expr_meta(present_name, 0),
			    bf_expr_cmp(BF_CMP_EQ, 0, &lo)));
	/* `meta oifname "lo*"`: a 2-byte prefix compare */
	assert_true(MATCHES(f, pkt, len, bf_expr_meta(present_name, 0),
			    e2e_cmp_bytes(BF_CMP_EQ, 0, "lo", 2)));

	assert_true(MATCHES(f, pkt, len, bf_expr_meta(absent, 0),
			    e2e_cmp_u32(BF_CMP_EQ, 0, 0)));
	assert_true(MATCHES(f, pkt, len, bf_expr_meta(absent, 0),
			    e2e_cmp_u32(BF_CMP_NEQ, 0, 1)));
	assert_true(MATCHES(f, pkt, len, bf_expr_meta(absent_name, 0),
			    bf_expr_cmp(BF_CMP_EQ, 0, &empty)));
}

static void test_bitwise_prefix(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	uint8_t pkt[PKT_MAX];
	struct pkt_spec spec;
	size_t len;
	struct bf_data mask, xor, zero;
	uint16_t soff = f->l3 == 6 ? 8 : 12;

	pkt_spec_init(&spec, f->l3, PKT_PROTO_UDP);
	len = e2e_pkt(&spec, pkt, sizeof(pkt), NULL);

	if (f->l3 == 4) {
		/* ip saddr 10.0.0.0/8 */
		bf_data_be32(&mask, 0xff000000);
		bf_data_be32(&zero, 0);
		assert_true(MATCHES(
			f, pkt, len, bf_expr_payload(BF_PAYLOAD_NH, soff, 4, 0),
			bf_expr_bitwise_bool(0, 0, 4, &mask, &zero),
			e2e_cmp_be32(BF_CMP_EQ, 0, 0x0a000000)));
		assert_false(MATCHES(
			f, pkt, len, bf_expr_payload(BF_PAYLOAD_NH, soff, 4, 0),
			bf_expr_bitwise_bool(0, 0, 4, &mask, &zero),
			e2e_cmp_be32(BF_CMP_EQ, 0, 0x0b000000)));
		/* 10.0.0.0/31 holds 10.0.0.1; /32 of 10.0.0.0 does not. */
		bf_data_be32(&mask, 0xfffffffe);
		assert_true(MATCHES(
			f, pkt, len, bf_expr_payload(BF_PAYLOAD_NH, soff, 4, 3),
			bf_expr_bitwise_bool(3, 7, 4, &mask, &zero),
			e2e_cmp_be32(BF_CMP_EQ, 7, 0x0a000000),
			/* sreg is left alone */
			e2e_cmp_be32(BF_CMP_EQ, 3, 0x0a000001)));
		/* xor: (saddr & ffff0000) ^ 00ff00ff */
		bf_data_be32(&mask, 0xffff0000);
		bf_data_be32(&xor, 0x00ff00ff);
		assert_true(MATCHES(
			f, pkt, len, bf_expr_payload(BF_PAYLOAD_NH, soff, 4, 0),
			bf_expr_bitwise_bool(0, 1, 4, &mask, &xor),
			e2e_cmp_be32(BF_CMP_EQ, 1, 0x0aff00ff)));
	} else {
		uint8_t m[16] = { 0xff, 0xff, 0xff, 0xff };
		uint8_t x[16] = {};
		uint8_t want[16] = { 0x20, 0x01, 0x0d, 0xb8 };

		/* ip6 saddr 2001:db8::/32 */
		bf_data_set(&mask, m, 16);
		bf_data_set(&zero, x, 16);
		assert_true(MATCHES(
			f, pkt, len, bf_expr_payload(BF_PAYLOAD_NH, soff, 16, 0),
			bf_expr_bitwise_bool(0, 0, 16, &mask, &zero),
			e2e_cmp_bytes(BF_CMP_EQ, 0, want, 16)));
		want[3] = 0xb9;
		assert_false(MATCHES(
			f, pkt, len, bf_expr_payload(BF_PAYLOAD_NH, soff, 16, 0),
			bf_expr_bitwise_bool(0, 0, 16, &mask, &zero),
			e2e_cmp_bytes(BF_CMP_EQ, 0, want, 16)));
		/* /127 with an xor on the last byte, into other registers */
		memset(m, 0xff, 16);
		m[15] = 0xfe;
		x[15] = 0x81;
		memcpy(want, spec.saddr, 16);
		want[15] = (want[15] & 0xfe) ^ 0x81;
		bf_data_set(&mask, m, 16);
		bf_data_set(&xor, x, 16);
		assert_true(MATCHES(
			f, pkt, len, bf_expr_payload(BF_PAYLOAD_NH, soff, 16, 0),
			bf_expr_bitwise_bool(0, 12, 16, &mask, &xor),
			e2e_cmp_bytes(BF_CMP_EQ, 12, want, 16),
			e2e_cmp_bytes(BF_CMP_EQ, 0, spec.saddr, 16)));
	}

	/* ether saddr & ff:ff:ff:00:00:00 (OUI) on 6 bytes, at L2 hooks. */
	if (e2e_hook_is_l2(f->hook)) {
		uint8_t m6[6] = { 0xff, 0xff, 0xff };
		uint8_t x6[6] = {};
		uint8_t w6[6] = { 0x02, 0x00, 0x00 };

		bf_data_set(&mask, m6, 6);
		bf_data_set(&xor, x6, 6);
		assert_true(MATCHES(
			f, pkt, len, bf_expr_payload(BF_PAYLOAD_LL, 6, 6, 2),
			bf_expr_bitwise_bool(2, 2, 6, &mask, &xor),
			e2e_cmp_bytes(BF_CMP_EQ, 2, w6, 6)));
	}
}

/* nf_tables shifts on host-order 32-bit words, the carry going from word
 * i + 1 into word i for lshift and from word i into word i + 1 for rshift. */
static void _nft_shift(bool left, const uint32_t *src, uint32_t *dst,
		       size_t words, unsigned int shift)
{
	uint32_t carry = 0;
	size_t i;

	if (left) {
		for (i = words; i > 0; i--) {
			dst[i - 1] = (src[i - 1] << shift) | carry;
			carry = src[i - 1] >> (32 - shift);
		}
	} else {
		for (i = 0; i < words; i++) {
			dst[i] = carry | (src[i] >> shift);
			carry = src[i] << (32 - shift);
		}
	}
}

static void test_shift(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	static const uint32_t words[4] = { 0x80000001, 0xf0000003, 0x12345678,
					   0xdeadbeef };
	static const unsigned int shifts[] = { 1, 4, 8, 31 };
	uint8_t pkt[PKT_MAX];
	size_t len = _udp(f, pkt, NULL);
	size_t nw, s;
	int left;

	for (nw = 1; nw <= 4; nw *= 2) {
		for (s = 0; s < ARRAY_SIZE(shifts); s++) {
			for (left = 0; left < 2; left++) {
				uint32_t out[4];
				struct bf_data in, want;

				_nft_shift(left, words, out, nw, shifts[s]);
				bf_data_set(&in, words, nw * 4);
				bf_data_set(&want, out, nw * 4);
				if (!MATCHES(f, pkt, len,
					     bf_expr_immediate(4, &in),
					     bf_expr_bitwise_shift(
						     left ? BF_BITWISE_LSHIFT :
							    BF_BITWISE_RSHIFT,
						     4, 8, nw * 4, shifts[s]),
					     bf_expr_cmp(BF_CMP_EQ, 8, &want),
					     bf_expr_cmp(BF_CMP_EQ, 4, &in))) {
					fprintf(stderr,
						"# %s: %s by %u on %zu words\n",
						f->name, left ? "lshift" : "rshift",
						shifts[s], nw);
					fail();
				}
			}
		}
	}

	/* `ip saddr >> 24 == 10` the nft way: ntoh, then rshift. */
	if (f->l3 == 4) {
		assert_true(MATCHES(f, pkt, len,
				    bf_expr_payload(BF_PAYLOAD_NH, 12, 4, 0),
				    bf_expr_byteorder(BF_BYTEORDER_NTOH, 0, 0, 4, 4),
				    bf_expr_bitwise_shift(BF_BITWISE_RSHIFT, 0, 0, 4, 24),
				    e2e_cmp_u32(BF_CMP_EQ, 0, 10)));
		assert_true(MATCHES(f, pkt, len,
				    bf_expr_payload(BF_PAYLOAD_NH, 12, 4, 0),
				    bf_expr_byteorder(BF_BYTEORDER_NTOH, 0, 0, 4, 4),
				    bf_expr_bitwise_shift(BF_BITWISE_LSHIFT, 0, 0, 4, 8),
				    e2e_cmp_u32(BF_CMP_EQ, 0, 0x00000100)));
	}
}

static void test_byteorder(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	static const unsigned int sizes[] = { 2, 4, 8 };
	uint8_t pkt[PKT_MAX];
	struct pkt_spec spec;
	size_t len = _udp(f, pkt, &spec);
	uint8_t in[16];
	size_t i, s, n;
	int op;

	for (i = 0; i < 16; i++)
		in[i] = i + 1;

	for (s = 0; s < ARRAY_SIZE(sizes); s++) {
		for (n = sizes[s]; n <= 16; n *= 2) {
			for (op = 0; op < 2; op++) {
				uint8_t out[16];
				struct bf_data d_in, d_out;
				size_t e, b;

				/* On a little-endian host both ops swap
				 * each element. */
				for (e = 0; e < n; e += sizes[s])
					for (b = 0; b < sizes[s]; b++)
						out[e + b] = in[e + sizes[s] - 1 - b];
				bf_data_set(&d_in, in, n);
				bf_data_set(&d_out, out, n);
				if (!MATCHES(f, pkt, len,
					     bf_expr_immediate(0, &d_in),
					     bf_expr_byteorder(op, 0, 0, n,
							       sizes[s]),
					     bf_expr_cmp(BF_CMP_EQ, 0, &d_out))) {
					fprintf(stderr,
						"# %s: byteorder %s len %zu size %u\n",
						f->name, op ? "hton" : "ntoh", n,
						sizes[s]);
					fail();
				}
			}
		}
	}

	/* udp dport (network order) -> host order, compared with host-order
	 * bytes, then back. */
	{
		uint16_t host = spec.dport;
		struct bf_data d;

		bf_data_set(&d, &host, 2);
		assert_true(MATCHES(f, pkt, len,
				    bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 3),
				    bf_expr_byteorder(BF_BYTEORDER_NTOH, 3, 5, 2, 2),
				    bf_expr_cmp(BF_CMP_EQ, 5, &d),
				    bf_expr_byteorder(BF_BYTEORDER_HTON, 5, 6, 2, 2),
				    e2e_cmp_be16(BF_CMP_EQ, 6, spec.dport),
				    e2e_cmp_be16(BF_CMP_EQ, 3, spec.dport)));
	}
}

static void test_immediate(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	uint8_t pkt[PKT_MAX];
	struct pkt_spec spec;
	size_t len = _udp(f, pkt, &spec);
	uint8_t v16[16];
	struct bf_data d4, d16, d1;
	size_t i;

	for (i = 0; i < 16; i++)
		v16[i] = 0xf0 - i;
	bf_data_u32(&d4, 0xcafebabe);
	bf_data_set(&d16, v16, 16);
	bf_data_u8(&d1, 0x5a);

	assert_true(MATCHES(f, pkt, len, bf_expr_immediate(5, &d4),
			    e2e_cmp_u32(BF_CMP_EQ, 5, 0xcafebabe)));
	assert_false(MATCHES(f, pkt, len, bf_expr_immediate(5, &d4),
			     e2e_cmp_u32(BF_CMP_EQ, 5, 0xcafebabf)));
	assert_true(MATCHES(f, pkt, len, bf_expr_immediate(12, &d16),
			    e2e_cmp_bytes(BF_CMP_EQ, 12, v16, 16),
			    e2e_cmp_bytes(BF_CMP_EQ, 13, v16 + 4, 12),
			    e2e_cmp_bytes(BF_CMP_EQ, 15, v16 + 12, 4)));
	/* An immediate overwrites what a load put in the register. */
	assert_true(MATCHES(f, pkt, len, bf_expr_payload(BF_PAYLOAD_TH, 0, 4, 2),
			    bf_expr_immediate(2, &d1),
			    e2e_cmp_u8(BF_CMP_EQ, 2, 0x5a)));
	/* A 4-byte immediate into register 1 replaces only that register of
	 * a 16-byte value written at register 0. */
	assert_true(MATCHES(f, pkt, len, bf_expr_immediate(0, &d16),
			    bf_expr_immediate(1, &d4),
			    e2e_cmp_bytes(BF_CMP_EQ, 0, v16, 4),
			    e2e_cmp_u32(BF_CMP_EQ, 1, 0xcafebabe),
			    e2e_cmp_bytes(BF_CMP_EQ, 2, v16 + 8, 8)));
}

/* VLAN frames reach L2 hooks only; netdev tables have no IP family
 * (nf_tables says NFPROTO_NETDEV): those tests are not registered there. */
static bool _l2_only(const struct e2e_flavour *f)
{
	return e2e_hook_is_l2(f->hook);
}

static bool _ip_family(const struct e2e_flavour *f)
{
	return f->family != BF_FAMILY_NETDEV;
}

static const struct e2e_test _tests[] = {
	{ "meta_l4proto", test_meta_l4proto },
	{ "meta_protocol", test_meta_protocol },
	{ "meta_protocol_vlan", test_meta_protocol_vlan, _l2_only },
	{ "meta_pkttype", test_meta_pkttype, _l2_only },
	{ "meta_nfproto", test_meta_nfproto, _ip_family },
	{ "meta_len", test_meta_len },
	{ "meta_mark", test_meta_mark },
	{ "meta_iif_oif", test_meta_iif_oif },
	{ "cmp_1", test_cmp_1 },
	{ "cmp_2", test_cmp_2 },
	{ "cmp_3", test_cmp_3 },
	{ "cmp_4", test_cmp_4 },
	{ "cmp_6", test_cmp_6 },
	{ "cmp_8", test_cmp_8 },
	{ "cmp_16", test_cmp_16 },
	{ "bitwise_prefix", test_bitwise_prefix },
	{ "shift", test_shift },
	{ "byteorder", test_byteorder },
	{ "immediate", test_immediate },
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
	return e2e_run_tests("exprs", _flavour_names, ARRAY_SIZE(_flavour_names),
			     _tests, ARRAY_SIZE(_tests));
}
