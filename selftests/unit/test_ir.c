/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for lib/ir.c (IR objects and helpers) and lib/dump.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <bpfilter/helpers.h>
#include <bpfilter/ir.h>

/* A pointer value no constructor returns: shows *out was not touched. */
#define SENTINEL ((void *)0x5a5a5a5a)

static char long_name[BF_NAME_MAX + 1];
static char max_name[BF_NAME_MAX];

static void fill_names(void)
{
	memset(long_name, 'a', BF_NAME_MAX);
	long_name[BF_NAME_MAX] = '\0';
	memset(max_name, 'b', BF_NAME_MAX - 1);
	max_name[BF_NAME_MAX - 1] = '\0';
}

/* Strings */

static void test_family_strs(void **state)
{
	assert_string_equal(bf_family_to_str(BF_FAMILY_IP), "ip");
	assert_string_equal(bf_family_to_str(BF_FAMILY_IP6), "ip6");
	assert_string_equal(bf_family_to_str(BF_FAMILY_INET), "inet");
	assert_string_equal(bf_family_to_str(BF_FAMILY_NETDEV), "netdev");
	assert_string_equal(bf_family_to_str(_BF_FAMILY_MAX), "unknown");
	assert_string_equal(bf_family_to_str((enum bf_family)-1), "unknown");
}

static void test_hook_strs(void **state)
{
	static const char *const expected[] = {
		"xdp",		  "tc_ingress",		"tc_egress",
		"nf_pre_routing", "nf_local_in",	"nf_forward",
		"nf_local_out",	  "nf_post_routing",	"cgroup_skb_ingress",
		"cgroup_skb_egress",
	};

	assert_int_equal(ARRAY_SIZE(expected), _BF_HOOK_MAX);
	for (int i = 0; i < _BF_HOOK_MAX; i++)
		assert_string_equal(bf_hook_to_str(i), expected[i]);
	assert_string_equal(bf_hook_to_str(_BF_HOOK_MAX), "unknown");
	assert_string_equal(bf_hook_to_str((enum bf_hook)1000), "unknown");
}

static void test_verdict_strs(void **state)
{
	static const char *const expected[] = {
		"accept", "drop", "continue", "return", "jump", "goto",
	};

	assert_int_equal(ARRAY_SIZE(expected), _BF_VERDICT_MAX);
	for (int i = 0; i < _BF_VERDICT_MAX; i++)
		assert_string_equal(bf_verdict_to_str(i), expected[i]);
	assert_string_equal(bf_verdict_to_str(_BF_VERDICT_MAX), "unknown");
}

static void test_payload_base_strs(void **state)
{
	assert_string_equal(bf_payload_base_to_str(BF_PAYLOAD_LL), "ll");
	assert_string_equal(bf_payload_base_to_str(BF_PAYLOAD_NH), "nh");
	assert_string_equal(bf_payload_base_to_str(BF_PAYLOAD_TH), "th");
	assert_string_equal(bf_payload_base_to_str(_BF_PAYLOAD_MAX),
			    "unknown");
}

static void test_meta_key_strs_and_lens(void **state)
{
	static const struct {
		const char *name;
		unsigned int len;
	} expected[] = {
		[BF_META_LEN] = { "len", 4 },
		[BF_META_PROTOCOL] = { "protocol", 2 },
		[BF_META_NFPROTO] = { "nfproto", 1 },
		[BF_META_L4PROTO] = { "l4proto", 1 },
		[BF_META_MARK] = { "mark", 4 },
		[BF_META_IIF] = { "iif", 4 },
		[BF_META_OIF] = { "oif", 4 },
		[BF_META_IIFNAME] = { "iifname", 16 },
		[BF_META_OIFNAME] = { "oifname", 16 },
		[BF_META_IIFTYPE] = { "iiftype", 2 },
		[BF_META_OIFTYPE] = { "oiftype", 2 },
		[BF_META_PKTTYPE] = { "pkttype", 1 },
		[BF_META_SKUID] = { "skuid", 4 },
		[BF_META_SKGID] = { "skgid", 4 },
		[BF_META_PRIORITY] = { "priority", 4 },
	};

	assert_int_equal(ARRAY_SIZE(expected), _BF_META_MAX);
	for (int i = 0; i < _BF_META_MAX; i++) {
		assert_string_equal(bf_meta_key_to_str(i), expected[i].name);
		assert_int_equal(bf_meta_key_len(i), expected[i].len);
	}
	assert_string_equal(bf_meta_key_to_str(_BF_META_MAX), "unknown");
	assert_int_equal(bf_meta_key_len(_BF_META_MAX), 0);
	assert_int_equal(bf_meta_key_len((enum bf_meta_key)-1), 0);
}

static void test_cmp_op_strs(void **state)
{
	static const char *const expected[] = {
		"eq", "neq", "lt", "lte", "gt", "gte",
	};

	assert_int_equal(ARRAY_SIZE(expected), _BF_CMP_MAX);
	for (int i = 0; i < _BF_CMP_MAX; i++)
		assert_string_equal(bf_cmp_op_to_str(i), expected[i]);
	assert_string_equal(bf_cmp_op_to_str(_BF_CMP_MAX), "unknown");
}

static void test_expr_type_strs(void **state)
{
	static const char *const expected[] = {
		"payload", "meta",	"bitwise", "byteorder", "cmp",
		"range",   "immediate", "counter", "verdict", "ct", "meta_set",
		"lookup",  "vmap",
	};

	assert_int_equal(ARRAY_SIZE(expected), _BF_EXPR_MAX);
	for (int i = 0; i < _BF_EXPR_MAX; i++)
		assert_string_equal(bf_expr_type_to_str(i), expected[i]);
	assert_string_equal(bf_expr_type_to_str(_BF_EXPR_MAX), "unknown");
}

static void test_hook_is_nf(void **state)
{
	for (int i = 0; i < _BF_HOOK_MAX; i++) {
		bool nf = i >= BF_HOOK_NF_PRE_ROUTING &&
			  i <= BF_HOOK_NF_POST_ROUTING;

		assert_int_equal(bf_hook_is_nf(i), nf);
	}
	assert_false(bf_hook_is_nf(_BF_HOOK_MAX));
}

/* Data */

static void test_data_numbers(void **state)
{
	struct bf_data d;
	uint32_t host = 0x11223344;

	memset(&d, 0xff, sizeof(d));
	bf_data_u8(&d, 0xab);
	assert_int_equal(d.len, 1);
	assert_int_equal(d.bytes[0], 0xab);
	/* The rest is cleared: data can be compared as a whole. */
	for (size_t i = 1; i < BF_DATA_MAX; i++)
		assert_int_equal(d.bytes[i], 0);

	memset(&d, 0xff, sizeof(d));
	bf_data_be16(&d, 22);
	assert_int_equal(d.len, 2);
	assert_memory_equal(d.bytes, "\x00\x16", 2);
	assert_int_equal(d.bytes[2], 0);

	bf_data_be32(&d, 0xc0a80001);
	assert_int_equal(d.len, 4);
	assert_memory_equal(d.bytes, "\xc0\xa8\x00\x01", 4);

	bf_data_u32(&d, host);
	assert_int_equal(d.len, 4);
	assert_memory_equal(d.bytes, &host, 4);
}

static void test_data_set(void **state)
{
	const uint8_t bytes[BF_DATA_MAX + 4] = { 1, 2, 3, 4, 5, 6, 7, 8,
						 9, 10, 11, 12, 13, 14, 15, 16,
						 17, 18, 19, 20 };
	struct bf_data d;

	bf_data_set(&d, bytes, 3);
	assert_int_equal(d.len, 3);
	assert_memory_equal(d.bytes, bytes, 3);
	assert_int_equal(d.bytes[3], 0);

	bf_data_set(&d, bytes, BF_DATA_MAX);
	assert_int_equal(d.len, BF_DATA_MAX);
	assert_memory_equal(d.bytes, bytes, BF_DATA_MAX);

	bf_data_set(&d, NULL, 0);
	assert_int_equal(d.len, 0);

	/* Too long: the length says so (for the validator to reject), the
	 * copy stays inside the buffer. */
	bf_data_set(&d, bytes, BF_DATA_MAX + 4);
	assert_int_equal(d.len, BF_DATA_MAX + 4);
	assert_memory_equal(d.bytes, bytes, BF_DATA_MAX);
}

static void test_data_str(void **state)
{
	struct bf_data d;

	memset(&d, 0xff, sizeof(d));
	bf_data_str(&d, "eth0", BF_IFNAME_MAX);
	assert_int_equal(d.len, BF_IFNAME_MAX);
	assert_memory_equal(d.bytes, "eth0\0\0\0\0\0\0\0\0\0\0\0\0",
			    BF_IFNAME_MAX);

	/* Prefix match: only len bytes, no terminator. */
	bf_data_str(&d, "veth1234", 4);
	assert_int_equal(d.len, 4);
	assert_memory_equal(d.bytes, "veth", 4);
	assert_int_equal(d.bytes[4], 0);

	bf_data_str(&d, "a-very-long-interface", BF_IFNAME_MAX);
	assert_int_equal(d.len, BF_IFNAME_MAX);
	assert_memory_equal(d.bytes, "a-very-long-inte", BF_IFNAME_MAX);
}

/* Expressions */

static void assert_zero_from(const struct bf_expr *e, size_t from)
{
	const uint8_t *p = (const uint8_t *)e;

	for (size_t i = from; i < sizeof(*e); i++) {
		if (p[i])
			fail_msg("byte %zu of the expression is not zero", i);
	}
}

static void test_expr_constructors(void **state)
{
	struct bf_data a, b;
	struct bf_expr e, e2;

	e = bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 1);
	assert_int_equal(e.type, BF_EXPR_PAYLOAD);
	assert_int_equal(e.payload.base, BF_PAYLOAD_TH);
	assert_int_equal(e.payload.offset, 2);
	assert_int_equal(e.payload.len, 2);
	assert_int_equal(e.payload.dreg, 1);
	assert_zero_from(&e, offsetof(struct bf_expr, payload.dreg) + 1);

	/* Zeroed first: the same arguments give the same bytes. */
	e2 = bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 1);
	assert_memory_equal(&e, &e2, sizeof(e));

	e = bf_expr_meta(BF_META_MARK, 3);
	assert_int_equal(e.type, BF_EXPR_META);
	assert_int_equal(e.meta.key, BF_META_MARK);
	assert_int_equal(e.meta.dreg, 3);
	assert_zero_from(&e, offsetof(struct bf_expr, meta.dreg) + 1);

	bf_data_be16(&a, 22);
	e = bf_expr_cmp(BF_CMP_GTE, 4, &a);
	assert_int_equal(e.type, BF_EXPR_CMP);
	assert_int_equal(e.cmp.op, BF_CMP_GTE);
	assert_int_equal(e.cmp.sreg, 4);
	assert_memory_equal(&e.cmp.data, &a, sizeof(a));

	bf_data_be16(&b, 1024);
	e = bf_expr_range(BF_RANGE_NEQ, 5, &a, &b);
	assert_int_equal(e.type, BF_EXPR_RANGE);
	assert_int_equal(e.range.op, BF_RANGE_NEQ);
	assert_int_equal(e.range.sreg, 5);
	assert_memory_equal(&e.range.from, &a, sizeof(a));
	assert_memory_equal(&e.range.to, &b, sizeof(b));

	e = bf_expr_bitwise_bool(1, 2, 2, &a, &b);
	assert_int_equal(e.type, BF_EXPR_BITWISE);
	assert_int_equal(e.bitwise.op, BF_BITWISE_BOOL);
	assert_int_equal(e.bitwise.sreg, 1);
	assert_int_equal(e.bitwise.dreg, 2);
	assert_int_equal(e.bitwise.len, 2);
	assert_memory_equal(&e.bitwise.mask, &a, sizeof(a));
	assert_memory_equal(&e.bitwise.xor, &b, sizeof(b));
	assert_int_equal(e.bitwise.shift, 0);

	e = bf_expr_bitwise_shift(BF_BITWISE_RSHIFT, 6, 7, 8, 4);
	assert_int_equal(e.type, BF_EXPR_BITWISE);
	assert_int_equal(e.bitwise.op, BF_BITWISE_RSHIFT);
	assert_int_equal(e.bitwise.sreg, 6);
	assert_int_equal(e.bitwise.dreg, 7);
	assert_int_equal(e.bitwise.len, 8);
	assert_int_equal(e.bitwise.shift, 4);
	assert_int_equal(e.bitwise.mask.len, 0);
	assert_int_equal(e.bitwise.xor.len, 0);

	e = bf_expr_byteorder(BF_BYTEORDER_HTON, 1, 2, 8, 4);
	assert_int_equal(e.type, BF_EXPR_BYTEORDER);
	assert_int_equal(e.byteorder.op, BF_BYTEORDER_HTON);
	assert_int_equal(e.byteorder.sreg, 1);
	assert_int_equal(e.byteorder.dreg, 2);
	assert_int_equal(e.byteorder.len, 8);
	assert_int_equal(e.byteorder.size, 4);

	e = bf_expr_immediate(9, &b);
	assert_int_equal(e.type, BF_EXPR_IMMEDIATE);
	assert_int_equal(e.immediate.dreg, 9);
	assert_memory_equal(&e.immediate.data, &b, sizeof(b));

	e = bf_expr_counter();
	assert_int_equal(e.type, BF_EXPR_COUNTER);
	assert_zero_from(&e, sizeof(e.type));
}

static void test_expr_verdict(void **state)
{
	struct bf_expr e;

	e = bf_expr_verdict(BF_VERDICT_DROP, NULL);
	assert_int_equal(e.type, BF_EXPR_VERDICT);
	assert_int_equal(e.verdict.code, BF_VERDICT_DROP);
	assert_string_equal(e.verdict.chain, "");
	assert_zero_from(&e, offsetof(struct bf_expr, verdict.chain));

	e = bf_expr_verdict(BF_VERDICT_JUMP, "foo");
	assert_int_equal(e.verdict.code, BF_VERDICT_JUMP);
	assert_string_equal(e.verdict.chain, "foo");
	assert_zero_from(&e, offsetof(struct bf_expr, verdict.chain) + 3);

	e = bf_expr_verdict(BF_VERDICT_GOTO, max_name);
	assert_string_equal(e.verdict.chain, max_name);

	/* Not truncated into another (possibly existing) chain's name. */
	e = bf_expr_verdict(BF_VERDICT_GOTO, long_name);
	assert_int_equal(e.verdict.code, BF_VERDICT_GOTO);
	assert_string_equal(e.verdict.chain, "");
}

/* Rules, chains, tables */

static void test_rule(void **state)
{
	struct bf_rule *rule = SENTINEL;
	struct bf_expr e;

	assert_int_equal(bf_rule_new(&rule), 0);
	assert_non_null(rule);
	assert_ptr_not_equal(rule, SENTINEL);
	assert_int_equal(rule->n_exprs, 0);
	assert_int_equal(rule->handle, 0);

	/* Enough to grow the array several times. */
	for (int i = 0; i < 100; i++) {
		e = bf_expr_payload(BF_PAYLOAD_NH, i, 4, i % 16);
		assert_int_equal(bf_rule_add_expr(rule, &e), 0);
	}
	assert_int_equal(rule->n_exprs, 100);
	assert_true(rule->cap_exprs >= 100);
	for (int i = 0; i < 100; i++) {
		e = bf_expr_payload(BF_PAYLOAD_NH, i, 4, i % 16);
		assert_memory_equal(&rule->exprs[i], &e, sizeof(e));
	}

	bf_rule_free(&rule);
	assert_null(rule);
	bf_rule_free(&rule);
	bf_rule_free(NULL);
}

static void test_chain_new(void **state)
{
	struct bf_chain *chain = SENTINEL;

	assert_int_equal(bf_chain_new(&chain, long_name), -EINVAL);
	assert_ptr_equal(chain, SENTINEL);
	assert_int_equal(bf_chain_new(&chain, NULL), -EINVAL);
	assert_ptr_equal(chain, SENTINEL);
	assert_int_equal(bf_chain_new(&chain, ""), -EINVAL);
	assert_ptr_equal(chain, SENTINEL);

	assert_int_equal(bf_chain_new(&chain, max_name), 0);
	assert_ptr_not_equal(chain, SENTINEL);
	assert_string_equal(chain->name, max_name);
	assert_false(chain->base);
	assert_int_equal(chain->n_rules, 0);
	bf_chain_free(&chain);
	assert_null(chain);
	bf_chain_free(&chain);
	bf_chain_free(NULL);
}

static void test_chain_new_base(void **state)
{
	struct bf_chain *chain = SENTINEL;

	assert_int_equal(bf_chain_new_base(&chain, long_name, BF_HOOK_XDP, 0,
					   BF_VERDICT_ACCEPT),
			 -EINVAL);
	assert_ptr_equal(chain, SENTINEL);
	assert_int_equal(bf_chain_new_base(&chain, "in", _BF_HOOK_MAX, 0,
					   BF_VERDICT_ACCEPT),
			 -EINVAL);
	assert_ptr_equal(chain, SENTINEL);
	assert_int_equal(bf_chain_new_base(&chain, "in", BF_HOOK_XDP, 0,
					   BF_VERDICT_RETURN),
			 -EINVAL);
	assert_ptr_equal(chain, SENTINEL);
	assert_int_equal(bf_chain_new_base(&chain, "in", BF_HOOK_XDP, 0,
					   BF_VERDICT_JUMP),
			 -EINVAL);
	assert_ptr_equal(chain, SENTINEL);

	assert_int_equal(bf_chain_new_base(&chain, "in", BF_HOOK_NF_LOCAL_IN,
					   -150, BF_VERDICT_DROP),
			 0);
	assert_ptr_not_equal(chain, SENTINEL);
	assert_string_equal(chain->name, "in");
	assert_true(chain->base);
	assert_int_equal(chain->hook, BF_HOOK_NF_LOCAL_IN);
	assert_int_equal(chain->priority, -150);
	assert_int_equal(chain->policy, BF_VERDICT_DROP);
	assert_string_equal(chain->ifname, "");
	assert_string_equal(chain->cgroup, "");
	bf_chain_free(&chain);
	assert_null(chain);
}

static void test_chain_add_rule(void **state)
{
	struct bf_chain *chain;
	struct bf_rule *rules[40];
	struct bf_rule *null_rule = NULL;

	assert_int_equal(bf_chain_new(&chain, "c"), 0);

	for (size_t i = 0; i < ARRAY_SIZE(rules); i++) {
		struct bf_rule *r;

		assert_int_equal(bf_rule_new(&r), 0);
		r->handle = i + 1;
		rules[i] = r;
		assert_int_equal(bf_chain_add_rule(chain, &r), 0);
		/* Ownership moved to the chain. */
		assert_null(r);
	}
	assert_int_equal(chain->n_rules, ARRAY_SIZE(rules));
	for (size_t i = 0; i < ARRAY_SIZE(rules); i++) {
		assert_ptr_equal(chain->rules[i], rules[i]);
		assert_int_equal(chain->rules[i]->handle, i + 1);
	}

	assert_int_equal(bf_chain_add_rule(chain, &null_rule), -EINVAL);
	assert_int_equal(bf_chain_add_rule(chain, NULL), -EINVAL);
	assert_int_equal(chain->n_rules, ARRAY_SIZE(rules));

	/* Frees the rules too (checked by ASan/valgrind runs). */
	bf_chain_free(&chain);
	assert_null(chain);
}

static void test_table_new(void **state)
{
	struct bf_table *table = SENTINEL;

	assert_int_equal(bf_table_new(&table, long_name, BF_FAMILY_IP),
			 -EINVAL);
	assert_ptr_equal(table, SENTINEL);
	assert_int_equal(bf_table_new(&table, NULL, BF_FAMILY_IP), -EINVAL);
	assert_ptr_equal(table, SENTINEL);
	assert_int_equal(bf_table_new(&table, "", BF_FAMILY_IP), -EINVAL);
	assert_ptr_equal(table, SENTINEL);
	assert_int_equal(bf_table_new(&table, "t", _BF_FAMILY_MAX), -EINVAL);
	assert_ptr_equal(table, SENTINEL);

	assert_int_equal(bf_table_new(&table, max_name, BF_FAMILY_NETDEV), 0);
	assert_ptr_not_equal(table, SENTINEL);
	assert_string_equal(table->name, max_name);
	assert_int_equal(table->family, BF_FAMILY_NETDEV);
	assert_int_equal(table->n_chains, 0);
	bf_table_free(&table);
	assert_null(table);
	bf_table_free(&table);
	bf_table_free(NULL);
}

static void test_table_add_chain(void **state)
{
	struct bf_table *table;
	struct bf_chain *chain, *dup, *keep[20];
	struct bf_chain *null_chain = NULL;
	char name[32];

	assert_int_equal(bf_table_new(&table, "filter", BF_FAMILY_INET), 0);

	for (size_t i = 0; i < ARRAY_SIZE(keep); i++) {
		snprintf(name, sizeof(name), "chain%zu", i);
		assert_int_equal(bf_chain_new(&chain, name), 0);
		keep[i] = chain;
		assert_int_equal(bf_table_add_chain(table, &chain), 0);
		assert_null(chain);
	}
	assert_int_equal(table->n_chains, ARRAY_SIZE(keep));

	for (size_t i = 0; i < ARRAY_SIZE(keep); i++) {
		snprintf(name, sizeof(name), "chain%zu", i);
		assert_ptr_equal(bf_table_get_chain(table, name), keep[i]);
		assert_ptr_equal(table->chains[i], keep[i]);
	}
	assert_null(bf_table_get_chain(table, "nope"));
	assert_null(bf_table_get_chain(table, "chain"));
	assert_null(bf_table_get_chain(table, NULL));

	/* A duplicate name is refused and stays with the caller. */
	assert_int_equal(bf_chain_new(&dup, "chain3"), 0);
	assert_int_equal(bf_table_add_chain(table, &dup), -EEXIST);
	assert_non_null(dup);
	assert_int_equal(table->n_chains, ARRAY_SIZE(keep));
	bf_chain_free(&dup);

	assert_int_equal(bf_table_add_chain(table, &null_chain), -EINVAL);
	assert_int_equal(bf_table_add_chain(table, NULL), -EINVAL);

	bf_table_free(&table);
	assert_null(table);
}

/* Dump */

struct memout {
	char *buf;
	size_t len;
	FILE *f;
};

static void memout_open(struct memout *m)
{
	m->buf = NULL;
	m->len = 0;
	m->f = open_memstream(&m->buf, &m->len);
	assert_non_null(m->f);
}

/* Returns the text, to free. */
static char *memout_close(struct memout *m)
{
	assert_int_equal(fclose(m->f), 0);
	return m->buf;
}

static void assert_expr_dump(const struct bf_expr *e, const char *expected)
{
	struct memout m;
	char *text;

	memout_open(&m);
	bf_expr_dump(e, m.f);
	text = memout_close(&m);
	assert_string_equal(text, expected);
	free(text);
}

static void test_expr_dump(void **state)
{
	struct bf_data a, b;
	struct bf_expr e;

	e = bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 1);
	assert_expr_dump(&e, "payload load 2b @ th + 2 => reg 1");
	e = bf_expr_payload(BF_PAYLOAD_NH, 12, 4, 0);
	assert_expr_dump(&e, "payload load 4b @ nh + 12 => reg 0");

	e = bf_expr_meta(BF_META_L4PROTO, 1);
	assert_expr_dump(&e, "meta load l4proto => reg 1");

	bf_data_be16(&a, 22);
	e = bf_expr_cmp(BF_CMP_EQ, 1, &a);
	assert_expr_dump(&e, "cmp eq reg 1 0x0016");

	bf_data_be16(&b, 1024);
	e = bf_expr_range(BF_RANGE_NEQ, 2, &a, &b);
	assert_expr_dump(&e, "range neq reg 2 0x0016 0x0400");

	bf_data_be32(&a, 0xffffff00);
	bf_data_u32(&b, 0);
	e = bf_expr_bitwise_bool(1, 2, 4, &a, &b);
	assert_expr_dump(&e,
			 "bitwise 4b reg 2 = (reg 1 & 0xffffff00) ^ 0x00000000");

	e = bf_expr_bitwise_shift(BF_BITWISE_LSHIFT, 3, 3, 4, 8);
	assert_expr_dump(&e, "bitwise 4b reg 3 = reg 3 << 8");
	e = bf_expr_bitwise_shift(BF_BITWISE_RSHIFT, 3, 4, 8, 31);
	assert_expr_dump(&e, "bitwise 8b reg 4 = reg 3 >> 31");

	e = bf_expr_byteorder(BF_BYTEORDER_NTOH, 1, 2, 4, 2);
	assert_expr_dump(&e, "byteorder 4b reg 2 = ntoh(reg 1, size 2)");
	e = bf_expr_byteorder(BF_BYTEORDER_HTON, 0, 0, 8, 8);
	assert_expr_dump(&e, "byteorder 8b reg 0 = hton(reg 0, size 8)");

	bf_data_str(&a, "lo", 4);
	e = bf_expr_immediate(5, &a);
	assert_expr_dump(&e, "immediate 0x6c6f0000 => reg 5");

	e = bf_expr_counter();
	assert_expr_dump(&e, "counter packets 0 bytes 0");
	e.counter.packets = 12;
	e.counter.bytes = 10000000000ULL;
	assert_expr_dump(&e, "counter packets 12 bytes 10000000000");

	e = bf_expr_verdict(BF_VERDICT_ACCEPT, NULL);
	assert_expr_dump(&e, "verdict accept");
	e = bf_expr_verdict(BF_VERDICT_RETURN, NULL);
	assert_expr_dump(&e, "verdict return");
	e = bf_expr_verdict(BF_VERDICT_JUMP, "foo");
	assert_expr_dump(&e, "verdict jump foo");
	e = bf_expr_verdict(BF_VERDICT_GOTO, "bar");
	assert_expr_dump(&e, "verdict goto bar");
	/* A target on a non-jump verdict means nothing and is not shown. */
	e = bf_expr_verdict(BF_VERDICT_DROP, "bar");
	assert_expr_dump(&e, "verdict drop");
}

static void test_expr_dump_invalid(void **state)
{
	struct bf_data a;
	struct bf_expr e;

	/* Invalid IR still dumps, without reading out of bounds. */
	e = bf_expr_payload((enum bf_payload_base)7, 300, 20, 15);
	assert_expr_dump(&e, "payload load 20b @ unknown + 300 => reg 15");

	e = bf_expr_meta(_BF_META_MAX, 1);
	assert_expr_dump(&e, "meta load unknown => reg 1");

	memset(&a, 0, sizeof(a));
	e = bf_expr_cmp((enum bf_cmp_op)42, 0, &a);
	assert_expr_dump(&e, "cmp unknown reg 0 0x");

	bf_data_set(&a, "0123456789abcdefXYZ", 19);
	e = bf_expr_immediate(0, &a);
	assert_expr_dump(&e, "immediate 0x30313233343536373839616263646566"
			     "... (19 bytes) => reg 0");

	e = bf_expr_bitwise_shift((enum bf_bitwise_op)9, 1, 1, 4, 1);
	assert_expr_dump(&e, "bitwise 4b reg 1 = reg 1 unknown 1");

	e = bf_expr_verdict((enum bf_verdict)77, NULL);
	assert_expr_dump(&e, "verdict unknown");

	e = bf_expr_counter();
	e.type = _BF_EXPR_MAX;
	{
		char want[64];

		snprintf(want, sizeof(want), "unknown expression type %d",
			 _BF_EXPR_MAX);
		assert_expr_dump(&e, want);
	}
}

static void add_rule(struct bf_chain *chain, uint64_t handle,
		     const struct bf_expr *exprs, size_t n)
{
	struct bf_rule *rule;

	assert_int_equal(bf_rule_new(&rule), 0);
	rule->handle = handle;
	for (size_t i = 0; i < n; i++)
		assert_int_equal(bf_rule_add_expr(rule, &exprs[i]), 0);
	assert_int_equal(bf_chain_add_rule(chain, &rule), 0);
}

static void test_table_dump(void **state)
{
	struct bf_table *table;
	struct bf_chain *chain;
	struct bf_data port;
	struct memout m;
	char *text;

	bf_data_be16(&port, 22);

	assert_int_equal(bf_table_new(&table, "filter", BF_FAMILY_INET), 0);

	assert_int_equal(bf_chain_new_base(&chain, "input", BF_HOOK_NF_LOCAL_IN,
					   0, BF_VERDICT_ACCEPT),
			 0);
	{
		const struct bf_expr exprs[] = {
			bf_expr_meta(BF_META_L4PROTO, 0),
			bf_expr_cmp(BF_CMP_EQ, 0,
				    &(struct bf_data) { .len = 1,
							.bytes = { 6 } }),
			bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 1),
			bf_expr_cmp(BF_CMP_EQ, 1, &port),
			bf_expr_counter(),
			bf_expr_verdict(BF_VERDICT_JUMP, "ssh"),
		};

		add_rule(chain, 0, exprs, ARRAY_SIZE(exprs));
	}
	assert_int_equal(bf_table_add_chain(table, &chain), 0);

	assert_int_equal(bf_chain_new(&chain, "ssh"), 0);
	{
		const struct bf_expr exprs[] = {
			bf_expr_verdict(BF_VERDICT_DROP, NULL),
		};

		add_rule(chain, 7, exprs, ARRAY_SIZE(exprs));
	}
	add_rule(chain, 0, NULL, 0);
	assert_int_equal(bf_table_add_chain(table, &chain), 0);

	assert_int_equal(bf_chain_new_base(&chain, "egress",
					   BF_HOOK_CGROUP_SKB_EGRESS, -5,
					   BF_VERDICT_DROP),
			 0);
	strcpy(chain->cgroup, "/sys/fs/cgroup/app");
	assert_int_equal(bf_table_add_chain(table, &chain), 0);

	memout_open(&m);
	bf_table_dump(table, m.f);
	text = memout_close(&m);
	assert_string_equal(text,
			    "table inet filter\n"
			    "chain input hook nf_local_in priority 0 policy accept\n"
			    "  rule 0\n"
			    "    meta load l4proto => reg 0\n"
			    "    cmp eq reg 0 0x06\n"
			    "    payload load 2b @ th + 2 => reg 1\n"
			    "    cmp eq reg 1 0x0016\n"
			    "    counter packets 0 bytes 0\n"
			    "    verdict jump ssh\n"
			    "chain ssh\n"
			    "  rule 0 handle 7\n"
			    "    verdict drop\n"
			    "  rule 1\n"
			    "chain egress hook cgroup_skb_egress priority -5 "
			    "policy drop cgroup /sys/fs/cgroup/app\n");
	free(text);
	bf_table_free(&table);

	assert_int_equal(bf_table_new(&table, "xdpfw", BF_FAMILY_NETDEV), 0);
	assert_int_equal(bf_chain_new_base(&chain, "in", BF_HOOK_XDP, 10,
					   BF_VERDICT_ACCEPT),
			 0);
	strcpy(chain->ifname, "eth0");
	assert_int_equal(bf_table_add_chain(table, &chain), 0);

	memout_open(&m);
	bf_table_dump(table, m.f);
	text = memout_close(&m);
	assert_string_equal(text,
			    "table netdev xdpfw\n"
			    "chain in hook xdp priority 10 policy accept "
			    "ifname eth0\n");
	free(text);
	bf_table_free(&table);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_family_strs),
		cmocka_unit_test(test_hook_strs),
		cmocka_unit_test(test_verdict_strs),
		cmocka_unit_test(test_payload_base_strs),
		cmocka_unit_test(test_meta_key_strs_and_lens),
		cmocka_unit_test(test_cmp_op_strs),
		cmocka_unit_test(test_expr_type_strs),
		cmocka_unit_test(test_hook_is_nf),
		cmocka_unit_test(test_data_numbers),
		cmocka_unit_test(test_data_set),
		cmocka_unit_test(test_data_str),
		cmocka_unit_test(test_expr_constructors),
		cmocka_unit_test(test_expr_verdict),
		cmocka_unit_test(test_rule),
		cmocka_unit_test(test_chain_new),
		cmocka_unit_test(test_chain_new_base),
		cmocka_unit_test(test_chain_add_rule),
		cmocka_unit_test(test_table_new),
		cmocka_unit_test(test_table_add_chain),
		cmocka_unit_test(test_expr_dump),
		cmocka_unit_test(test_expr_dump_invalid),
		cmocka_unit_test(test_table_dump),
	};

	fill_names();

	return cmocka_run_group_tests(tests, NULL, NULL);
}
