/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests for lib/expr_desc.c and the emit table of codegen/expr.c:
 * every expression kind has every stage, an explicit purity and an
 * emitter; the registers a kind declares are what validation checks (a
 * rule that reads a register nothing wrote is refused) and what the
 * queries of ir.h answer.
 */
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

#include "codegen/expr.h"
#include "lib/expr_desc.h"

#define ERRLEN 1024

/* One valid expression of each kind, reading (if it reads) registers 2 and
 * up. Tied to the enum like the tables under test, so a new kind needs a
 * sample here too. */
static struct bf_expr sample(enum bf_expr_type type)
{
	struct bf_data d2, d4, m4, x4;

	bf_data_be16(&d2, 22);
	bf_data_be32(&d4, 0x0a000001);
	bf_data_be32(&m4, 0xffffff00);
	bf_data_be32(&x4, 0);

	switch (type) {
	case BF_EXPR_PAYLOAD:
		return bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 2);
	case BF_EXPR_META:
		return bf_expr_meta(BF_META_MARK, 2);
	case BF_EXPR_BITWISE:
		return bf_expr_bitwise_bool(2, 3, 4, &m4, &x4);
	case BF_EXPR_BYTEORDER:
		return bf_expr_byteorder(BF_BYTEORDER_HTON, 2, 3, 4, 4);
	case BF_EXPR_CMP:
		return bf_expr_cmp(BF_CMP_EQ, 2, &d2);
	case BF_EXPR_RANGE:
		return bf_expr_range(BF_RANGE_EQ, 2, &d4, &d4);
	case BF_EXPR_IMMEDIATE:
		return bf_expr_immediate(2, &d4);
	case BF_EXPR_COUNTER:
		return bf_expr_counter();
	case BF_EXPR_VERDICT:
		return bf_expr_verdict(BF_VERDICT_JUMP, "sub");
	case BF_EXPR_LOOKUP:
		return bf_expr_lookup("s", 2, 4, false);
	case BF_EXPR_VMAP:
		return bf_expr_vmap("v", 2, 4);
	case BF_EXPR_CT:
		return bf_expr_ct(BF_CT_STATE, BF_CT_DIR_NONE, 2, 4);
	case BF_EXPR_META_SET:
		return bf_expr_meta_set(BF_META_MARK, 2);
	default:
		fail_msg("no sample expression for kind %d", (int)type);
		return bf_expr_counter();
	}
}

static void test_every_kind_has_every_stage(void **state)
{
	for (unsigned int t = 0; t < _BF_EXPR_MAX; t++) {
		const struct bf_expr_desc *desc = bf_expr_desc_get(t);

		if (!desc)
			fail_msg("kind %u has no descriptor", t);
		if (!desc->name || !desc->name[0])
			fail_msg("kind %u has no name", t);
		if (!desc->validate || !desc->reads || !desc->writes ||
		    !desc->dump || !desc->equal)
			fail_msg("kind %s misses a stage", desc->name);
		assert_string_equal(bf_expr_type_to_str(t), desc->name);
	}

	assert_null(bf_expr_desc_get(_BF_EXPR_MAX));
	assert_null(bf_expr_desc_get((enum bf_expr_type)-1));
}

static void test_every_kind_has_an_emitter(void **state)
{
	for (unsigned int t = 0; t < _BF_EXPR_MAX; t++) {
		const struct bf_cg_expr_ops *ops = bf_cg_expr_ops_get(t);

		if (!ops || !ops->emit)
			fail_msg("kind %s has no emitter",
				 bf_expr_type_to_str(t));
	}

	assert_null(bf_cg_expr_ops_get(_BF_EXPR_MAX));
	assert_null(bf_cg_expr_ops_get((enum bf_expr_type)-1));
}

/* Purity is said by every kind (no zero value to fall back on), and it is
 * what the query answers. The impure kinds are listed here on purpose: a
 * new one must be thought about, not inherited. */
static void test_purity_is_explicit(void **state)
{
	static const enum bf_expr_purity expected[] = {
		[BF_EXPR_PAYLOAD] = BF_EXPR_PURE,
		[BF_EXPR_META] = BF_EXPR_PURE,
		[BF_EXPR_BITWISE] = BF_EXPR_PURE,
		[BF_EXPR_BYTEORDER] = BF_EXPR_PURE,
		[BF_EXPR_CMP] = BF_EXPR_PURE,
		[BF_EXPR_LOOKUP] = BF_EXPR_PURE,
		[BF_EXPR_VMAP] = BF_EXPR_EFFECT,
		[BF_EXPR_RANGE] = BF_EXPR_PURE,
		[BF_EXPR_IMMEDIATE] = BF_EXPR_PURE,
		[BF_EXPR_COUNTER] = BF_EXPR_EFFECT,
		[BF_EXPR_VERDICT] = BF_EXPR_EFFECT,
		[BF_EXPR_CT] = BF_EXPR_PURE,
		[BF_EXPR_META_SET] = BF_EXPR_EFFECT,
	};
	_Static_assert(ARRAY_SIZE(expected) == _BF_EXPR_MAX,
		       "expected purity out of sync");

	for (unsigned int t = 0; t < _BF_EXPR_MAX; t++) {
		const struct bf_expr_desc *desc = bf_expr_desc_get(t);
		struct bf_expr e = sample(t);

		if (desc->purity != BF_EXPR_PURE &&
		    desc->purity != BF_EXPR_EFFECT)
			fail_msg("kind %s does not say whether it is pure",
				 desc->name);
		assert_int_equal(desc->purity, expected[t]);
		assert_int_equal(bf_expr_is_pure(&e),
				 expected[t] == BF_EXPR_PURE);
	}
}

static struct bf_table *table_with_rule(const struct bf_expr *exprs, size_t n)
{
	struct bf_table *table;
	struct bf_chain *base, *sub;
	struct bf_set *set = NULL;
	struct bf_rule *rule;

	assert_int_equal(bf_table_new(&table, "t", BF_FAMILY_INET), 0);
	assert_int_equal(bf_chain_new_base(&base, "in", BF_HOOK_NF_LOCAL_IN, 0,
					   BF_VERDICT_ACCEPT),
			 0);
	assert_int_equal(bf_rule_new(&rule), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(bf_rule_add_expr(rule, &exprs[i]), 0);
	assert_int_equal(bf_chain_add_rule(base, &rule), 0);
	assert_int_equal(bf_table_add_chain(table, &base), 0);
	/* The target of the verdict sample. */
	assert_int_equal(bf_chain_new(&sub, "sub"), 0);
	assert_int_equal(bf_table_add_chain(table, &sub), 0);
	/* The set of the lookup sample. */
	assert_int_equal(bf_set_new(&set, "s", 4, 0), 0);
	assert_int_equal(bf_table_add_set(table, &set), 0);
	/* The verdict map of the vmap sample: one key, a jump to "sub". */
	{
		static const uint8_t key[4] = { 10, 0, 0, 1 };

		assert_int_equal(bf_set_new(&set, "v", 4, BF_SET_F_VMAP), 0);
		assert_int_equal(bf_set_add_verdict_key(set, key, 32,
							BF_VERDICT_JUMP, "sub"),
				 0);
		assert_int_equal(bf_table_add_set(table, &set), 0);
	}

	return table;
}

/* What validation checks is what the kind declares: a kind that reads is
 * refused when nothing wrote its registers, and accepted once something
 * did; a kind that does not read is accepted alone. */
static void test_reads_need_writes(void **state)
{
	for (unsigned int t = 0; t < _BF_EXPR_MAX; t++) {
		struct bf_expr e = sample(t);
		struct bf_table *table;
		struct bf_data fill;
		char err[ERRLEN], want[ERRLEN];
		unsigned int reg, len;
		int r;

		table = table_with_rule(&e, 1);
		r = bf_table_validate(table, err, sizeof(err));
		bf_table_free(&table);

		if (!bf_expr_reads(&e, &reg, &len)) {
			if (r)
				fail_msg("%s alone: %s", bf_expr_type_to_str(t),
					 err);
			continue;
		}

		snprintf(want, sizeof(want),
			 "chain 'in' rule 0 expr 0 (%s): reads register %u "
			 "which is not set",
			 bf_expr_type_to_str(t), reg);
		assert_int_equal(r, -EINVAL);
		assert_string_equal(err, want);

		/* Written first, by an immediate of the length read. */
		{
			static const uint8_t zeros[BF_DATA_MAX];
			struct bf_expr exprs[2];

			assert_true(len >= 1 && len <= BF_DATA_MAX);
			bf_data_set(&fill, zeros, len);
			exprs[0] = bf_expr_immediate(reg, &fill);
			exprs[1] = e;
			table = table_with_rule(exprs, 2);
			r = bf_table_validate(table, err, sizeof(err));
			bf_table_free(&table);
			if (r)
				fail_msg("%s after a write: %s",
					 bf_expr_type_to_str(t), err);
		}

		/* Written, but one register short. */
		if (len > 4) {
			struct bf_expr exprs[2];
			static const uint8_t zeros[BF_DATA_MAX];

			bf_data_set(&fill, zeros, len - 4);
			exprs[0] = bf_expr_immediate(reg, &fill);
			exprs[1] = e;
			table = table_with_rule(exprs, 2);
			assert_int_equal(bf_table_validate(table, err,
							   sizeof(err)),
					 -EINVAL);
			assert_non_null(strstr(err, "which is not set"));
			bf_table_free(&table);
		}
	}
}

/* Registers declared by each kind: the fields of its member. */
static void test_declared_registers(void **state)
{
	static const struct {
		int read_reg, read_len; /* -1: none */
		int write_reg, write_len;
	} expected[] = {
		[BF_EXPR_PAYLOAD] = { -1, -1, 2, 2 },
		[BF_EXPR_META] = { -1, -1, 2, 4 },
		[BF_EXPR_BITWISE] = { 2, 4, 3, 4 },
		[BF_EXPR_BYTEORDER] = { 2, 4, 3, 4 },
		[BF_EXPR_CMP] = { 2, 2, -1, -1 },
		[BF_EXPR_RANGE] = { 2, 4, -1, -1 },
		[BF_EXPR_IMMEDIATE] = { -1, -1, 2, 4 },
		[BF_EXPR_COUNTER] = { -1, -1, -1, -1 },
		[BF_EXPR_VERDICT] = { -1, -1, -1, -1 },
		[BF_EXPR_LOOKUP] = { 2, 4, -1, -1 },
		[BF_EXPR_VMAP] = { 2, 4, -1, -1 },
		[BF_EXPR_CT] = { -1, -1, 2, 4 },
		[BF_EXPR_META_SET] = { 2, 4, -1, -1 },
	};
	_Static_assert(ARRAY_SIZE(expected) == _BF_EXPR_MAX,
		       "expected registers out of sync");

	for (unsigned int t = 0; t < _BF_EXPR_MAX; t++) {
		struct bf_expr e = sample(t);
		unsigned int reg = 99, len = 99;

		if (bf_expr_reads(&e, &reg, &len)) {
			assert_int_equal(reg, expected[t].read_reg);
			assert_int_equal(len, expected[t].read_len);
		} else {
			assert_int_equal(expected[t].read_reg, -1);
			assert_int_equal(reg, 99);
		}

		reg = len = 99;
		if (bf_expr_writes(&e, &reg, &len)) {
			assert_int_equal(reg, expected[t].write_reg);
			assert_int_equal(len, expected[t].write_len);
		} else {
			assert_int_equal(expected[t].write_reg, -1);
			assert_int_equal(reg, 99);
		}
	}
}

/* A write past the register file is refused through what the kind
 * declares, whatever the kind. */
static void test_writes_stay_in_the_register_file(void **state)
{
	for (unsigned int t = 0; t < _BF_EXPR_MAX; t++) {
		struct bf_expr e = sample(t);
		struct bf_table *table;
		char err[ERRLEN];
		unsigned int reg, len;

		if (!bf_expr_writes(&e, &reg, &len) || bf_expr_reads(&e, &reg, &len))
			continue;

		switch (t) {
		case BF_EXPR_PAYLOAD:
			e.payload.dreg = BF_REG_COUNT - 1;
			e.payload.len = 8;
			break;
		case BF_EXPR_META:
			e.meta.key = BF_META_IIFNAME;
			e.meta.dreg = BF_REG_COUNT - 1;
			break;
		case BF_EXPR_IMMEDIATE:
			e.immediate.dreg = BF_REG_COUNT - 1;
			e.immediate.data.len = 8;
			break;
		case BF_EXPR_CT:
			e.ct.key = BF_CT_SRC_IP6;
			e.ct.dir = BF_CT_DIR_REPLY;
			e.ct.len = 16;
			e.ct.dreg = BF_REG_COUNT - 1;
			break;
		default:
			fail_msg("no out-of-range write for kind %s",
				 bf_expr_type_to_str(t));
		}

		table = table_with_rule(&e, 1);
		assert_int_equal(bf_table_validate(table, err, sizeof(err)),
				 -EINVAL);
		assert_non_null(strstr(err, "past register 15"));
		bf_table_free(&table);
	}
}

static void test_equal(void **state)
{
	for (unsigned int t = 0; t < _BF_EXPR_MAX; t++) {
		struct bf_expr a = sample(t), b = sample(t);
		struct bf_expr other = sample((t + 1) % _BF_EXPR_MAX);

		assert_true(bf_expr_equal(&a, &b));
		assert_false(bf_expr_equal(&a, &other));
	}

	/* Only the kind's own fields count; a verdict's target up to its
	 * NUL. */
	{
		struct bf_expr a = bf_expr_verdict(BF_VERDICT_JUMP, "sub");
		struct bf_expr b = a;
		struct bf_expr c = bf_expr_verdict(BF_VERDICT_GOTO, "sub");
		struct bf_expr d = bf_expr_verdict(BF_VERDICT_JUMP, "sub2");

		b.verdict.chain[100] = 'x';
		assert_true(bf_expr_equal(&a, &b));
		assert_false(bf_expr_equal(&a, &c));
		assert_false(bf_expr_equal(&a, &d));
	}
	{
		struct bf_data d1, d2;
		struct bf_expr a, b;

		bf_data_be16(&d1, 22);
		bf_data_be16(&d2, 23);
		a = bf_expr_cmp(BF_CMP_EQ, 2, &d1);
		b = bf_expr_cmp(BF_CMP_EQ, 2, &d2);
		assert_false(bf_expr_equal(&a, &b));
		b = bf_expr_cmp(BF_CMP_NEQ, 2, &d1);
		assert_false(bf_expr_equal(&a, &b));
	}
}

/* Every kind prints itself, starting with its name. */
static void test_dump_names_the_kind(void **state)
{
	for (unsigned int t = 0; t < _BF_EXPR_MAX; t++) {
		struct bf_expr e = sample(t);
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);

		assert_non_null(f);
		bf_expr_dump(&e, f);
		fclose(f);
		if (strncmp(buf, bf_expr_type_to_str(t),
			    strlen(bf_expr_type_to_str(t))))
			fail_msg("dump of %s is '%s'", bf_expr_type_to_str(t),
				 buf);
		free(buf);
	}
}

/* An unknown kind is an error at every stage that can see one. */
static void test_unknown_kind(void **state)
{
	struct bf_expr e = bf_expr_counter();
	struct bf_table *table;
	char err[ERRLEN], want[64];
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	e.type = _BF_EXPR_MAX;
	snprintf(want, sizeof(want), "unknown expression type %d", _BF_EXPR_MAX);
	table = table_with_rule(&e, 1);
	assert_int_equal(bf_table_validate(table, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, want));
	bf_table_free(&table);

	f = open_memstream(&buf, &len);
	assert_non_null(f);
	bf_expr_dump(&e, f);
	fclose(f);
	assert_string_equal(buf, want);
	free(buf);

	assert_string_equal(bf_expr_type_to_str(_BF_EXPR_MAX), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_kind_has_every_stage),
		cmocka_unit_test(test_every_kind_has_an_emitter),
		cmocka_unit_test(test_purity_is_explicit),
		cmocka_unit_test(test_reads_need_writes),
		cmocka_unit_test(test_declared_registers),
		cmocka_unit_test(test_writes_stay_in_the_register_file),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_dump_names_the_kind),
		cmocka_unit_test(test_unknown_kind),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
