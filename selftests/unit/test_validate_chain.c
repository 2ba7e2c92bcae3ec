/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for lib/validate.c: tables, hooks, policies, chain names,
 * verdicts and jumps (targets, loops, depth), accepted and rejected. */
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

/* Tables and chains */

static void test_valid_tables(void **state)
{
	struct bf_table *table;
	char err[8] = "garbage";

	for (int f = 0; f < _BF_FAMILY_MAX; f++) {
		table = ssh_table(f);
		expect_valid(table);
		bf_table_free(&table);
	}

	table = new_table(BF_FAMILY_IP);
	expect_valid(table);
	add_chain(table, "empty");
	add_base(table, "in");
	expect_valid(table);

	/* No message buffer: still validated. */
	assert_int_equal(bf_table_validate(table, NULL, 0), 0);
	/* Cleared on success. */
	assert_int_equal(bf_table_validate(table, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	bf_table_free(&table);
}

static bool hook_fits(enum bf_family family, enum bf_hook hook)
{
	if (family == BF_FAMILY_NETDEV) {
		return hook == BF_HOOK_XDP || hook == BF_HOOK_TC_INGRESS ||
		       hook == BF_HOOK_TC_EGRESS;
	}

	return bf_hook_is_nf(hook) || hook == BF_HOOK_CGROUP_SKB_INGRESS ||
	       hook == BF_HOOK_CGROUP_SKB_EGRESS;
}

static void test_hook_family(void **state)
{
	char what[128];

	for (int f = 0; f < _BF_FAMILY_MAX; f++) {
		for (int h = 0; h < _BF_HOOK_MAX; h++) {
			struct bf_table *table = new_table(f);

			add_chain(table, "regular");
			add_base_hook(table, "base", h);

			if (hook_fits(f, h)) {
				expect_valid(table);
			} else {
				snprintf(what, sizeof(what),
					 "hook %s does not fit family %s",
					 bf_hook_to_str(h),
					 bf_family_to_str(f));
				expect_invalid(table, "chain 'base': ", what);
			}
			bf_table_free(&table);
		}
	}

	/* Spot checks that do not depend on the helper above. */
	{
		struct bf_table *table = new_table(BF_FAMILY_NETDEV);

		add_base_hook(table, "in", BF_HOOK_NF_LOCAL_IN);
		expect_invalid(table, "chain 'in': ",
			       "hook nf_local_in does not fit family netdev");
		bf_table_free(&table);

		table = new_table(BF_FAMILY_IP6);
		add_base_hook(table, "in", BF_HOOK_TC_INGRESS);
		expect_invalid(table, "chain 'in': ",
			       "hook tc_ingress does not fit family ip6");
		bf_table_free(&table);
	}
}

static void test_unknown_family_and_hook(void **state)
{
	struct bf_table *table = ssh_table(BF_FAMILY_IP);

	table->family = _BF_FAMILY_MAX;
	expect_invalid(table, "table 't': ", "unknown family 4");
	table->family = BF_FAMILY_IP;

	table->chains[0]->hook = (enum bf_hook)99;
	expect_invalid(table, "chain 'in': ", "unknown hook 99");
	bf_table_free(&table);
}

static void test_policy(void **state)
{
	static const enum bf_verdict bad[] = {
		BF_VERDICT_CONTINUE, BF_VERDICT_RETURN, BF_VERDICT_JUMP,
		BF_VERDICT_GOTO,     _BF_VERDICT_MAX,
	};
	struct bf_table *table = ssh_table(BF_FAMILY_IP);
	struct bf_chain *regular = add_chain(table, "regular");

	table->chains[0]->policy = BF_VERDICT_DROP;
	expect_valid(table);

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		table->chains[0]->policy = bad[i];
		expect_invalid(table, "chain 'in': ",
			       "policy must be accept or drop");
	}
	table->chains[0]->policy = BF_VERDICT_ACCEPT;

	/* Regular chains have no policy. */
	regular->policy = BF_VERDICT_RETURN;
	expect_valid(table);
	bf_table_free(&table);
}

static void test_chain_names(void **state)
{
	struct bf_table *table = ssh_table(BF_FAMILY_IP);
	struct bf_chain *a = add_chain(table, "a");
	struct bf_chain *b = add_chain(table, "b");

	expect_valid(table);

	/* bf_table_add_chain() refuses duplicates, a rename does not. */
	strcpy(b->name, "a");
	expect_invalid(table, "chain 'a': ", "name used by more than one");
	strcpy(b->name, "in");
	expect_invalid(table, "chain 'in': ", "name used by more than one");
	strcpy(b->name, "b");

	a->name[0] = '\0';
	expect_invalid(table, "table 't': ",
		       "chain at index 1 has an empty name");

	memset(a->name, 'x', BF_NAME_MAX);
	expect_invalid(table, "table 't': ",
		       "chain at index 1 has a name that is not NUL-terminated");
	strcpy(a->name, "a");

	memset(table->chains[0]->ifname, 'x', BF_IFNAME_MAX);
	expect_invalid(table, "chain 'in': ",
		       "interface name is not NUL-terminated");
	strcpy(table->chains[0]->ifname, "eth0");
	expect_valid(table);

	memset(table->chains[0]->cgroup, 'x', BF_NAME_MAX);
	expect_invalid(table, "chain 'in': ", "cgroup path is not NUL");
	bf_table_free(&table);
}

/* Verdicts and jumps */

static void test_verdict_code(void **state)
{
	struct bf_table *table = new_table(BF_FAMILY_IP);
	struct bf_chain *chain = add_base(table, "in");

	ADD_RULE(chain, bf_expr_counter(),
		 bf_expr_verdict(_BF_VERDICT_MAX, NULL));
	expect_invalid(table, "chain 'in' rule 0 expr 1 (verdict): ",
		       "unknown verdict code 6");

	last_expr(chain)->verdict.code = (enum bf_verdict)-1;
	expect_invalid(table, "chain 'in' rule 0 expr 1 (verdict): ",
		       "unknown verdict code -1");
	bf_table_free(&table);
}

static void test_jump_targets(void **state)
{
	struct bf_table *table = new_table(BF_FAMILY_INET);
	struct bf_chain *in = add_base(table, "in");
	char long_name[BF_NAME_MAX + 1];

	add_base_hook(table, "out", BF_HOOK_NF_LOCAL_OUT);
	add_chain(table, "sub");

	ADD_RULE(in, bf_expr_verdict(BF_VERDICT_JUMP, "sub"));
	expect_valid(table);

	last_expr(in)->verdict.code = BF_VERDICT_GOTO;
	expect_valid(table);

	ADD_RULE(in, bf_expr_counter(),
		 bf_expr_verdict(BF_VERDICT_JUMP, "missing"));
	expect_invalid(table, "chain 'in' rule 1 expr 1 (verdict): ",
		       "jump target 'missing' does not exist");

	last_expr(in)->verdict.code = BF_VERDICT_GOTO;
	expect_invalid(table, "chain 'in' rule 1 expr 1 (verdict): ",
		       "goto target 'missing' does not exist");

	strcpy(last_expr(in)->verdict.chain, "out");
	expect_invalid(table, "chain 'in' rule 1 expr 1 (verdict): ",
		       "goto target 'out' is a base chain");

	/* A base chain cannot jump to itself either. */
	strcpy(last_expr(in)->verdict.chain, "in");
	expect_invalid(table, "chain 'in' rule 1 expr 1 (verdict): ",
		       "goto target 'in' is a base chain");

	last_expr(in)->verdict.chain[0] = '\0';
	expect_invalid(table, "chain 'in' rule 1 expr 1 (verdict): ",
		       "goto has no target chain");

	/* bf_expr_verdict() leaves an overlong target empty. */
	memset(long_name, 'z', BF_NAME_MAX);
	long_name[BF_NAME_MAX] = '\0';
	*last_expr(in) = bf_expr_verdict(BF_VERDICT_JUMP, long_name);
	expect_invalid(table, "chain 'in' rule 1 expr 1 (verdict): ",
		       "jump has no target chain");

	memset(last_expr(in)->verdict.chain, 'z', BF_NAME_MAX);
	expect_invalid(table, "chain 'in' rule 1 expr 1 (verdict): ",
		       "jump target is not NUL-terminated");

	/* The target of a non-jump verdict is ignored. */
	last_expr(in)->verdict.code = BF_VERDICT_ACCEPT;
	expect_valid(table);
	bf_table_free(&table);
}

static void test_loops(void **state)
{
	struct bf_table *table;
	struct bf_chain *in, *a, *b, *c;

	/* Self jump. */
	table = new_table(BF_FAMILY_IP);
	in = add_base(table, "in");
	a = add_chain(table, "a");
	ADD_RULE(in, bf_expr_verdict(BF_VERDICT_JUMP, "a"));
	ADD_RULE(a, bf_expr_counter());
	ADD_RULE(a, bf_expr_verdict(BF_VERDICT_JUMP, "a"));
	expect_emlink(table, "chain 'a' rule 1 expr 0 (verdict): ",
		       "jump to 'a' creates a loop");

	/* Self goto. */
	last_expr(a)->verdict.code = BF_VERDICT_GOTO;
	expect_emlink(table, "chain 'a' rule 1 expr 0 (verdict): ",
		       "goto 'a' creates a loop");
	bf_table_free(&table);

	/* a -> b -> c -> a, reached from the base chain. */
	table = new_table(BF_FAMILY_IP);
	in = add_base(table, "in");
	a = add_chain(table, "a");
	b = add_chain(table, "b");
	c = add_chain(table, "c");
	ADD_RULE(in, bf_expr_verdict(BF_VERDICT_JUMP, "a"));
	ADD_RULE(a, bf_expr_verdict(BF_VERDICT_JUMP, "b"));
	ADD_RULE(b, bf_expr_verdict(BF_VERDICT_GOTO, "c"));
	ADD_RULE(c, bf_expr_verdict(BF_VERDICT_ACCEPT, NULL));
	expect_valid(table);
	ADD_RULE(c, bf_expr_verdict(BF_VERDICT_JUMP, "a"));
	expect_emlink(table, "chain 'c' rule 1 expr 0 (verdict): ",
		       "jump to 'a' creates a loop");
	bf_table_free(&table);

	/* A loop no base chain reaches is accepted, as nf_tables does (it
	 * validates from the base chains), until a base chain reaches it. */
	table = new_table(BF_FAMILY_NETDEV);
	in = add_base(table, "in");
	a = add_chain(table, "a");
	b = add_chain(table, "b");
	ADD_RULE(a, bf_expr_verdict(BF_VERDICT_JUMP, "b"));
	ADD_RULE(b, bf_expr_verdict(BF_VERDICT_JUMP, "a"));
	expect_valid(table);
	ADD_RULE(in, bf_expr_verdict(BF_VERDICT_JUMP, "a"));
	expect_emlink(table, "chain 'b' rule 0 expr 0 (verdict): ",
		      "jump to 'a' creates a loop");
	bf_table_free(&table);

	/* Diamonds are not loops: a -> b, a -> c, b -> c. */
	table = new_table(BF_FAMILY_IP);
	in = add_base(table, "in");
	a = add_chain(table, "a");
	b = add_chain(table, "b");
	add_chain(table, "c");
	ADD_RULE(in, bf_expr_verdict(BF_VERDICT_JUMP, "a"));
	ADD_RULE(in, bf_expr_verdict(BF_VERDICT_JUMP, "c"));
	ADD_RULE(a, bf_expr_verdict(BF_VERDICT_JUMP, "b"));
	ADD_RULE(a, bf_expr_verdict(BF_VERDICT_JUMP, "c"));
	ADD_RULE(b, bf_expr_verdict(BF_VERDICT_JUMP, "c"));
	expect_valid(table);
	bf_table_free(&table);
}

/* base -> c1 -> c2 -> ... -> c<depth>: a jump depth of @depth. The chains
 * are added last first, so the search does not meet them in path order. */
static struct bf_table *jump_line(unsigned int depth, enum bf_verdict code)
{
	struct bf_table *table = new_table(BF_FAMILY_IP);
	struct bf_chain *chains[64];
	char name[32], target[32];

	assert_true(depth < ARRAY_SIZE(chains));

	for (unsigned int i = depth; i >= 1; i--) {
		snprintf(name, sizeof(name), "c%u", i);
		chains[i] = add_chain(table, name);
	}
	chains[0] = add_base(table, "base");

	for (unsigned int i = 0; i < depth; i++) {
		snprintf(target, sizeof(target), "c%u", i + 1);
		ADD_RULE(chains[i], bf_expr_counter(),
			 bf_expr_verdict(code, target));
	}

	return table;
}

static void test_jump_depth(void **state)
{
	struct bf_table *table;

	table = jump_line(1, BF_VERDICT_JUMP);
	expect_valid(table);
	bf_table_free(&table);

	table = jump_line(BF_JUMP_DEPTH_MAX, BF_VERDICT_JUMP);
	expect_valid(table);
	bf_table_free(&table);

	table = jump_line(BF_JUMP_DEPTH_MAX + 1, BF_VERDICT_JUMP);
	expect_emlink(table, "chain 'c15' rule 0 expr 1 (verdict): ",
		       "jump to 'c16' exceeds the maximum jump depth of 15 "
		       "from base chain 'base'");
	bf_table_free(&table);

	/* A goto counts as a level, as in nf_tables' chain validation. */
	table = jump_line(BF_JUMP_DEPTH_MAX, BF_VERDICT_GOTO);
	expect_valid(table);
	bf_table_free(&table);

	table = jump_line(BF_JUMP_DEPTH_MAX + 1, BF_VERDICT_GOTO);
	expect_emlink(table, "chain 'c15' rule 0 expr 1 (verdict): ",
		       "goto 'c16' exceeds the maximum jump depth of 15");
	bf_table_free(&table);

	table = jump_line(40, BF_VERDICT_JUMP);
	expect_emlink(table, "chain 'c15' rule 0 expr 1 (verdict): ",
		       "jump to 'c16' exceeds");
	bf_table_free(&table);

	/* Depth counts from base chains only: a long line no base chain
	 * enters is fine... */
	table = jump_line(BF_JUMP_DEPTH_MAX + 1, BF_VERDICT_JUMP);
	last_expr(bf_table_get_chain(table, "base"))->verdict.code =
		BF_VERDICT_ACCEPT;
	expect_valid(table);

	/* ...and a base chain entering it half-way sees only the rest. */
	ADD_RULE(bf_table_get_chain(table, "base"),
		 bf_expr_verdict(BF_VERDICT_JUMP, "c2"));
	expect_valid(table);
	bf_table_free(&table);
}

/* @layers layers of @width chains, every chain jumping to every chain of
 * the next layer: width^layers paths, checked without walking them all. */
static struct bf_table *jump_mesh(unsigned int layers, unsigned int width)
{
	struct bf_table *table = new_table(BF_FAMILY_IP);
	struct bf_chain *base = add_base(table, "base");
	char name[32];

	for (unsigned int l = 1; l <= layers; l++) {
		for (unsigned int w = 0; w < width; w++) {
			snprintf(name, sizeof(name), "l%u_%u", l, w);
			add_chain(table, name);
		}
	}

	for (unsigned int w = 0; w < width; w++) {
		snprintf(name, sizeof(name), "l1_%u", w);
		ADD_RULE(base, bf_expr_verdict(BF_VERDICT_JUMP, name));
	}
	for (unsigned int l = 1; l < layers; l++) {
		for (unsigned int w = 0; w < width; w++) {
			struct bf_chain *from;

			snprintf(name, sizeof(name), "l%u_%u", l, w);
			from = bf_table_get_chain(table, name);
			for (unsigned int t = 0; t < width; t++) {
				snprintf(name, sizeof(name), "l%u_%u", l + 1,
					 t);
				ADD_RULE(from,
					 bf_expr_verdict(BF_VERDICT_JUMP, name));
			}
		}
	}

	return table;
}

static void test_jump_depth_mesh(void **state)
{
	struct bf_table *table;

	table = jump_mesh(BF_JUMP_DEPTH_MAX, 8);
	expect_valid(table);
	bf_table_free(&table);

	table = jump_mesh(BF_JUMP_DEPTH_MAX + 1, 8);
	expect_emlink(table, "chain 'l15_0' rule 0 expr 0 (verdict): ",
		       "jump to 'l16_0' exceeds the maximum jump depth");
	bf_table_free(&table);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_tables),
		cmocka_unit_test(test_hook_family),
		cmocka_unit_test(test_unknown_family_and_hook),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_chain_names),
		cmocka_unit_test(test_verdict_code),
		cmocka_unit_test(test_jump_targets),
		cmocka_unit_test(test_loops),
		cmocka_unit_test(test_jump_depth),
		cmocka_unit_test(test_jump_depth_mesh),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
