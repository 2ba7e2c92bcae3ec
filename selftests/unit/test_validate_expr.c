/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for lib/validate.c: expressions (every kind, registers read
 * and written, the fields of each kind) accepted and rejected, and which
 * error is reported first. */
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

#include "validate_helpers.h"

/* Every expression kind */

static void test_every_expr_kind(void **state)
{
	struct bf_table *table = new_table(BF_FAMILY_INET);
	struct bf_chain *chain = add_base(table, "in");
	struct bf_data lo = data_be16(1000), hi = data_be16(2000);
	struct bf_data m4 = data_len(4), x4 = data_len(4);
	struct bf_data ifname, mark;

	bf_data_str(&ifname, "eth0", BF_IFNAME_MAX);
	bf_data_u32(&mark, 42);
	add_chain(table, "sub");

	ADD_RULE(chain, bf_expr_payload(BF_PAYLOAD_TH, 0, 2, 0),
		 bf_expr_range(BF_RANGE_EQ, 0, &lo, &hi),
		 bf_expr_payload(BF_PAYLOAD_NH, 12, 8, 1),
		 bf_expr_bitwise_bool(1, 3, 4, &m4, &x4),
		 bf_expr_bitwise_shift(BF_BITWISE_LSHIFT, 1, 4, 8, 31),
		 bf_expr_byteorder(BF_BYTEORDER_NTOH, 1, 6, 8, 2),
		 bf_expr_byteorder(BF_BYTEORDER_HTON, 6, 6, 8, 8),
		 bf_expr_cmp(BF_CMP_LT, 6, &(struct bf_data) { .len = 8 }),
		 bf_expr_meta(BF_META_IIFNAME, 12),
		 bf_expr_cmp(BF_CMP_EQ, 12, &ifname),
		 bf_expr_immediate(8, &mark),
		 bf_expr_cmp(BF_CMP_NEQ, 8, &mark), bf_expr_counter(),
		 bf_expr_verdict(BF_VERDICT_JUMP, "sub"));
	/* Counter and verdict need no register. */
	ADD_RULE(chain, bf_expr_counter(),
		 bf_expr_verdict(BF_VERDICT_GOTO, "sub"));
	ADD_RULE(chain, bf_expr_verdict(BF_VERDICT_CONTINUE, NULL));
	ADD_RULE(chain, bf_expr_verdict(BF_VERDICT_RETURN, NULL));
	ADD_RULE(chain, bf_expr_verdict(BF_VERDICT_DROP, NULL));

	expect_valid(table);
	bf_table_free(&table);
}

/* Registers */

static void test_register_message(void **state)
{
	struct bf_table *table = new_table(BF_FAMILY_IP);
	struct bf_chain *chain = add_base(table, "foo");
	struct bf_data port = data_be16(22);
	char err[ERRLEN];

	for (int i = 0; i < 3; i++) {
		ADD_RULE(chain, bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 4),
			 bf_expr_cmp(BF_CMP_EQ, 4, &port));
	}
	ADD_RULE(chain, bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 1),
		 bf_expr_cmp(BF_CMP_EQ, 4, &port));

	assert_int_equal(bf_table_validate(table, err, sizeof(err)), -EINVAL);
	assert_string_equal(
		err,
		"chain 'foo' rule 3 expr 1 (cmp): reads register 4 which is not set");

	/* Truncated, still terminated. */
	memset(err, 'x', sizeof(err));
	assert_int_equal(bf_table_validate(table, err, 12), -EINVAL);
	assert_string_equal(err, "chain 'foo'");
	assert_int_equal(bf_table_validate(table, err, 1), -EINVAL);
	assert_string_equal(err, "");
	assert_int_equal(bf_table_validate(table, NULL, 0), -EINVAL);
	bf_table_free(&table);
}

static void test_registers(void **state)
{
	struct bf_table *table;
	struct bf_chain *chain;
	struct bf_data d4 = data_len(4), d8 = data_len(8), d16 = data_len(16);
	struct bf_data d2 = data_len(2);

	/* Written in one rule, read in the next: registers do not carry. */
	table = new_table(BF_FAMILY_IP);
	chain = add_base(table, "in");
	ADD_RULE(chain, bf_expr_payload(BF_PAYLOAD_NH, 12, 4, 0),
		 bf_expr_cmp(BF_CMP_EQ, 0, &d4));
	ADD_RULE(chain, bf_expr_cmp(BF_CMP_EQ, 0, &d4));
	expect_invalid(table, "chain 'in' rule 1 expr 0 (cmp): ",
		       "reads register 0 which is not set");
	bf_table_free(&table);

	/* Partly written: 4 bytes at reg 2, 8 bytes read from reg 2. */
	table = new_table(BF_FAMILY_IP);
	chain = add_base(table, "in");
	ADD_RULE(chain, bf_expr_payload(BF_PAYLOAD_NH, 12, 4, 2),
		 bf_expr_cmp(BF_CMP_EQ, 2, &d8));
	expect_invalid(table, "chain 'in' rule 0 expr 1 (cmp): ",
		       "reads register 3 which is not set");
	/* A 5-byte value spans two registers. */
	chain->rules[0]->exprs[0].payload.len = 5;
	expect_valid(table);
	bf_table_free(&table);

	/* Writes past register 15. */
	table = new_table(BF_FAMILY_IP);
	chain = add_base(table, "in");
	ADD_RULE(chain, bf_expr_payload(BF_PAYLOAD_NH, 12, 4, 15),
		 bf_expr_cmp(BF_CMP_EQ, 15, &d4));
	expect_valid(table);
	chain->rules[0]->exprs[0].payload.len = 8;
	expect_invalid(table, "chain 'in' rule 0 expr 0 (payload): ",
		       "writes 8 bytes at register 15, past register 15");
	chain->rules[0]->exprs[0].payload.dreg = 16;
	chain->rules[0]->exprs[0].payload.len = 1;
	expect_invalid(table, "chain 'in' rule 0 expr 0 (payload): ",
		       "past register 15");
	chain->rules[0]->exprs[0].payload.dreg = 255;
	expect_invalid(table, "chain 'in' rule 0 expr 0 (payload): ",
		       "writes 1 bytes at register 255, past register 15");
	bf_table_free(&table);

	/* meta iifname is 16 bytes: 4 registers. */
	table = new_table(BF_FAMILY_IP);
	chain = add_base(table, "in");
	ADD_RULE(chain, bf_expr_meta(BF_META_IIFNAME, 12),
		 bf_expr_cmp(BF_CMP_EQ, 12, &d16));
	expect_valid(table);
	chain->rules[0]->exprs[0].meta.dreg = 13;
	expect_invalid(table, "chain 'in' rule 0 expr 0 (meta): ",
		       "writes 16 bytes at register 13, past register 15");
	/* A 2-byte key needs one register. */
	chain->rules[0]->exprs[0].meta.key = BF_META_PROTOCOL;
	chain->rules[0]->exprs[0].meta.dreg = 15;
	chain->rules[0]->exprs[1].cmp.sreg = 15;
	chain->rules[0]->exprs[1].cmp.data = d2;
	expect_valid(table);
	/* Reads past register 15. */
	chain->rules[0]->exprs[1].cmp.data = d8;
	expect_invalid(table, "chain 'in' rule 0 expr 1 (cmp): ",
		       "reads 8 bytes at register 15, past register 15");
	bf_table_free(&table);

	/* Each reader: range, bitwise, byteorder. */
	table = new_table(BF_FAMILY_IP);
	chain = add_base(table, "in");
	ADD_RULE(chain, bf_expr_range(BF_RANGE_EQ, 7, &d4, &d4));
	expect_invalid(table, "chain 'in' rule 0 expr 0 (range): ",
		       "reads register 7 which is not set");
	ADD_RULE(chain, bf_expr_bitwise_bool(5, 6, 4, &d4, &d4));
	chain->rules[0]->exprs[0] = bf_expr_counter();
	expect_invalid(table, "chain 'in' rule 1 expr 0 (bitwise): ",
		       "reads register 5 which is not set");
	ADD_RULE(chain, bf_expr_immediate(1, &d4),
		 bf_expr_byteorder(BF_BYTEORDER_NTOH, 1, 1, 8, 4));
	chain->rules[1]->exprs[0] = bf_expr_counter();
	expect_invalid(table, "chain 'in' rule 2 expr 1 (byteorder): ",
		       "reads register 2 which is not set");
	/* The writers, and their output read back. */
	chain->rules[2]->exprs[0] = bf_expr_immediate(1, &d8);
	expect_valid(table);
	ADD_RULE(chain, bf_expr_immediate(0, &d4),
		 bf_expr_bitwise_shift(BF_BITWISE_RSHIFT, 0, 9, 4, 3),
		 bf_expr_byteorder(BF_BYTEORDER_HTON, 9, 10, 4, 2),
		 bf_expr_range(BF_RANGE_NEQ, 10, &d4, &d4),
		 bf_expr_cmp(BF_CMP_EQ, 9, &d4));
	expect_valid(table);
	chain->rules[3]->exprs[3].range.sreg = 11;
	expect_invalid(table, "chain 'in' rule 3 expr 3 (range): ",
		       "reads register 11 which is not set");
	bf_table_free(&table);
}

/* Expression fields */

/* A one-rule table: immediate 16 bytes in registers 0..3, then @e. */
static struct bf_table *one_expr_table(struct bf_expr e)
{
	struct bf_table *table = new_table(BF_FAMILY_NETDEV);
	struct bf_chain *chain = add_base(table, "in");
	struct bf_data d16 = data_len(16);

	ADD_RULE(chain, bf_expr_immediate(0, &d16), e);

	return table;
}

#define EXPECT_EXPR_VALID(e)                                \
	do {                                                \
		struct bf_table *_t = one_expr_table(e);    \
		expect_valid(_t);                           \
		bf_table_free(&_t);                         \
	} while (0)

#define EXPECT_EXPR_INVALID(e, type, what)                              \
	do {                                                            \
		struct bf_table *_t = one_expr_table(e);                \
		expect_invalid(_t, "chain 'in' rule 0 expr 1 (" type "): ", \
			       what);                                   \
		bf_table_free(&_t);                                     \
	} while (0)

static void test_payload_fields(void **state)
{
	EXPECT_EXPR_VALID(bf_expr_payload(BF_PAYLOAD_LL, 0, 1, 0));
	EXPECT_EXPR_VALID(bf_expr_payload(BF_PAYLOAD_TH, 255, 16, 12));
	EXPECT_EXPR_INVALID(bf_expr_payload(BF_PAYLOAD_NH, 0, 0, 0),
			    "payload", "length 0 out of range 1..16");
	EXPECT_EXPR_INVALID(bf_expr_payload(BF_PAYLOAD_NH, 0, 17, 0),
			    "payload", "length 17 out of range 1..16");
	EXPECT_EXPR_INVALID(bf_expr_payload(BF_PAYLOAD_NH, 256, 4, 0),
			    "payload", "offset 256 exceeds 255");
	EXPECT_EXPR_INVALID(bf_expr_payload(_BF_PAYLOAD_MAX, 0, 4, 0),
			    "payload", "unknown payload base 3");
}

static void test_meta_fields(void **state)
{
	for (int k = 0; k < _BF_META_MAX; k++)
		EXPECT_EXPR_VALID(bf_expr_meta(k, 0));
	EXPECT_EXPR_INVALID(bf_expr_meta(_BF_META_MAX, 0), "meta",
			    "unknown meta key");
}

static void test_cmp_fields(void **state)
{
	struct bf_data d0 = data_len(0), d16 = data_len(16);
	struct bf_data d17 = data_len(17);

	for (int op = 0; op < _BF_CMP_MAX; op++)
		EXPECT_EXPR_VALID(bf_expr_cmp(op, 0, &d16));
	EXPECT_EXPR_INVALID(bf_expr_cmp(_BF_CMP_MAX, 0, &d16), "cmp",
			    "unknown cmp op 6");
	EXPECT_EXPR_INVALID(bf_expr_cmp(BF_CMP_EQ, 0, &d0), "cmp",
			    "data length 0 out of range 1..16");
	/* bf_data_set() keeps the length it was asked for. */
	EXPECT_EXPR_INVALID(bf_expr_cmp(BF_CMP_EQ, 0, &d17), "cmp",
			    "data length 17 out of range 1..16");
}

static void test_range_fields(void **state)
{
	struct bf_data d0 = data_len(0), d2 = data_len(2), d4 = data_len(4);
	struct bf_data d17 = data_len(17);

	EXPECT_EXPR_VALID(bf_expr_range(BF_RANGE_EQ, 0, &d2, &d2));
	EXPECT_EXPR_VALID(bf_expr_range(BF_RANGE_NEQ, 0, &d4, &d4));
	EXPECT_EXPR_INVALID(bf_expr_range(_BF_RANGE_MAX, 0, &d2, &d2), "range",
			    "unknown range op 2");
	EXPECT_EXPR_INVALID(bf_expr_range(BF_RANGE_EQ, 0, &d2, &d4), "range",
			    "bounds have different lengths (from 2, to 4)");
	EXPECT_EXPR_INVALID(bf_expr_range(BF_RANGE_EQ, 0, &d0, &d0), "range",
			    "data length 0 out of range");
	EXPECT_EXPR_INVALID(bf_expr_range(BF_RANGE_EQ, 0, &d17, &d17), "range",
			    "data length 17 out of range");
}

static void test_bitwise_fields(void **state)
{
	struct bf_data d2 = data_len(2), d4 = data_len(4);
	struct bf_data d16 = data_len(16);
	struct bf_expr e;

	EXPECT_EXPR_VALID(bf_expr_bitwise_bool(0, 0, 2, &d2, &d2));
	EXPECT_EXPR_VALID(bf_expr_bitwise_bool(0, 4, 16, &d16, &d16));
	EXPECT_EXPR_INVALID(bf_expr_bitwise_bool(0, 0, 4, &d2, &d4), "bitwise",
			    "mask length 2 differs from length 4");
	EXPECT_EXPR_INVALID(bf_expr_bitwise_bool(0, 0, 4, &d4, &d2), "bitwise",
			    "xor length 2 differs from length 4");
	EXPECT_EXPR_INVALID(bf_expr_bitwise_bool(0, 0, 0, &d2, &d2), "bitwise",
			    "length 0 out of range 1..16");

	e = bf_expr_bitwise_bool(0, 0, 17, &d16, &d16);
	e.bitwise.mask.len = e.bitwise.xor.len = 17;
	EXPECT_EXPR_INVALID(e, "bitwise", "length 17 out of range 1..16");

	EXPECT_EXPR_VALID(bf_expr_bitwise_shift(BF_BITWISE_LSHIFT, 0, 0, 4, 0));
	EXPECT_EXPR_VALID(
		bf_expr_bitwise_shift(BF_BITWISE_RSHIFT, 0, 1, 16, 31));
	EXPECT_EXPR_INVALID(
		bf_expr_bitwise_shift(BF_BITWISE_LSHIFT, 0, 0, 4, 32),
		"bitwise", "shift 32 out of range 0..31");
	EXPECT_EXPR_INVALID(
		bf_expr_bitwise_shift(BF_BITWISE_RSHIFT, 0, 0, 6, 1),
		"bitwise", "shift length 6 is not a multiple of 4");
	EXPECT_EXPR_INVALID(
		bf_expr_bitwise_shift(BF_BITWISE_RSHIFT, 0, 0, 2, 1),
		"bitwise", "shift length 2 is not a multiple of 4");
	EXPECT_EXPR_INVALID(bf_expr_bitwise_shift(_BF_BITWISE_MAX, 0, 0, 4, 1),
			    "bitwise", "unknown bitwise op 3");
	/* The register file bounds the output too. */
	EXPECT_EXPR_INVALID(
		bf_expr_bitwise_shift(BF_BITWISE_LSHIFT, 0, 14, 16, 1),
		"bitwise", "writes 16 bytes at register 14, past register 15");
}

static void test_byteorder_fields(void **state)
{
	EXPECT_EXPR_VALID(bf_expr_byteorder(BF_BYTEORDER_NTOH, 0, 0, 2, 2));
	EXPECT_EXPR_VALID(bf_expr_byteorder(BF_BYTEORDER_HTON, 0, 0, 12, 4));
	EXPECT_EXPR_VALID(bf_expr_byteorder(BF_BYTEORDER_NTOH, 0, 4, 16, 8));
	EXPECT_EXPR_INVALID(bf_expr_byteorder(_BF_BYTEORDER_MAX, 0, 0, 4, 4),
			    "byteorder", "unknown byteorder op 2");
	EXPECT_EXPR_INVALID(bf_expr_byteorder(BF_BYTEORDER_NTOH, 0, 0, 6, 3),
			    "byteorder", "element size 3 is not 2, 4 or 8");
	EXPECT_EXPR_INVALID(bf_expr_byteorder(BF_BYTEORDER_NTOH, 0, 0, 1, 1),
			    "byteorder", "element size 1 is not 2, 4 or 8");
	EXPECT_EXPR_INVALID(bf_expr_byteorder(BF_BYTEORDER_NTOH, 0, 0, 16, 16),
			    "byteorder", "element size 16 is not 2, 4 or 8");
	EXPECT_EXPR_INVALID(bf_expr_byteorder(BF_BYTEORDER_NTOH, 0, 0, 6, 4),
			    "byteorder",
			    "length 6 is not a multiple of element size 4");
	EXPECT_EXPR_INVALID(bf_expr_byteorder(BF_BYTEORDER_NTOH, 0, 0, 4, 8),
			    "byteorder",
			    "length 4 is not a multiple of element size 8");
	EXPECT_EXPR_INVALID(bf_expr_byteorder(BF_BYTEORDER_NTOH, 0, 0, 0, 2),
			    "byteorder", "length 0 out of range 1..16");
	EXPECT_EXPR_INVALID(bf_expr_byteorder(BF_BYTEORDER_NTOH, 0, 0, 24, 8),
			    "byteorder", "length 24 out of range 1..16");
}

static void test_immediate_fields(void **state)
{
	struct bf_data d0 = data_len(0), d1 = data_len(1);
	struct bf_data d17 = data_len(17);

	EXPECT_EXPR_VALID(bf_expr_immediate(15, &d1));
	EXPECT_EXPR_INVALID(bf_expr_immediate(0, &d0), "immediate",
			    "data length 0 out of range 1..16");
	EXPECT_EXPR_INVALID(bf_expr_immediate(0, &d17), "immediate",
			    "data length 17 out of range 1..16");
}

static void test_unknown_expr_type(void **state)
{
	struct bf_expr e = bf_expr_counter();

	e.type = _BF_EXPR_MAX;
	EXPECT_EXPR_INVALID(e, "unknown", "unknown expression type");
}

/* The first error is reported, in table order. */
static void test_first_error_wins(void **state)
{
	struct bf_table *table = new_table(BF_FAMILY_IP);
	struct bf_chain *a = add_base(table, "a");
	struct bf_chain *b = add_chain(table, "b");
	struct bf_data d4 = data_len(4);

	ADD_RULE(a, bf_expr_verdict(BF_VERDICT_JUMP, "b"));
	ADD_RULE(b, bf_expr_cmp(BF_CMP_EQ, 0, &d4));
	ADD_RULE(b, bf_expr_verdict(BF_VERDICT_JUMP, "b"));
	expect_invalid(table, "chain 'b' rule 0 expr 0 (cmp): ",
		       "reads register 0 which is not set");

	/* Chain-level problems come before expression problems. */
	a->policy = BF_VERDICT_RETURN;
	expect_invalid(table, "chain 'a': ", "policy must be accept or drop");
	bf_table_free(&table);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_expr_kind),
		cmocka_unit_test(test_register_message),
		cmocka_unit_test(test_registers),
		cmocka_unit_test(test_payload_fields),
		cmocka_unit_test(test_meta_fields),
		cmocka_unit_test(test_cmp_fields),
		cmocka_unit_test(test_range_fields),
		cmocka_unit_test(test_bitwise_fields),
		cmocka_unit_test(test_byteorder_fields),
		cmocka_unit_test(test_immediate_fields),
		cmocka_unit_test(test_unknown_expr_type),
		cmocka_unit_test(test_first_error_wins),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
