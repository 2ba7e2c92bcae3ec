/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for lib/validate.c: every rule accepted and rejected. */
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

#define ERRLEN 1024

/* Helpers to build tables. Chains returned by add_*() belong to the table;
 * the pointer stays usable to add rules or poke at fields. */

static struct bf_table *new_table(enum bf_family family)
{
	struct bf_table *table;

	assert_int_equal(bf_table_new(&table, "t", family), 0);

	return table;
}

static struct bf_chain *add_base_hook(struct bf_table *table, const char *name,
				      enum bf_hook hook)
{
	struct bf_chain *chain, *owned;

	assert_int_equal(bf_chain_new_base(&chain, name, hook, 0,
					   BF_VERDICT_ACCEPT),
			 0);
	owned = chain;
	assert_int_equal(bf_table_add_chain(table, &chain), 0);

	return owned;
}

/* A base chain with a hook that fits the table's family. */
static struct bf_chain *add_base(struct bf_table *table, const char *name)
{
	return add_base_hook(table, name,
			     table->family == BF_FAMILY_NETDEV ?
				     BF_HOOK_XDP :
				     BF_HOOK_NF_LOCAL_IN);
}

static struct bf_chain *add_chain(struct bf_table *table, const char *name)
{
	struct bf_chain *chain, *owned;

	assert_int_equal(bf_chain_new(&chain, name), 0);
	owned = chain;
	assert_int_equal(bf_table_add_chain(table, &chain), 0);

	return owned;
}

static void add_rule(struct bf_chain *chain, const struct bf_expr *exprs,
		     size_t n)
{
	struct bf_rule *rule;

	assert_int_equal(bf_rule_new(&rule), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(bf_rule_add_expr(rule, &exprs[i]), 0);
	assert_int_equal(bf_chain_add_rule(chain, &rule), 0);
}

#define ADD_RULE(chain, ...)                                         \
	do {                                                         \
		const struct bf_expr _exprs[] = { __VA_ARGS__ };     \
		add_rule((chain), _exprs, ARRAY_SIZE(_exprs));       \
	} while (0)

/* The last expression of the only rule of the only chain, to edit. */
static struct bf_expr *last_expr(struct bf_chain *chain)
{
	struct bf_rule *rule = chain->rules[chain->n_rules - 1];

	return &rule->exprs[rule->n_exprs - 1];
}

static struct bf_data data_be16(uint16_t v)
{
	struct bf_data d;

	bf_data_be16(&d, v);

	return d;
}

static struct bf_data data_len(size_t len)
{
	static const uint8_t bytes[32];
	struct bf_data d;

	bf_data_set(&d, bytes, len);

	return d;
}

static void expect_valid(const struct bf_table *table)
{
	char err[ERRLEN];
	int r;

	r = bf_table_validate(table, err, sizeof(err));
	if (r)
		fail_msg("expected a valid table, got %d: %s", r, err);
}

/* Rejected with -EINVAL; the message starts with @where and contains
 * @what. */
static void expect_invalid(const struct bf_table *table, const char *where,
			   const char *what)
{
	char err[ERRLEN];
	int r;

	r = bf_table_validate(table, err, sizeof(err));
	if (r != -EINVAL)
		fail_msg("expected -EINVAL, got %d (%s)", r, r ? err : "");
	if (strncmp(err, where, strlen(where)) != 0)
		fail_msg("message '%s' does not start with '%s'", err, where);
	if (!strstr(err, what))
		fail_msg("message '%s' does not say '%s'", err, what);
}

/* A rule "tcp dport 22 accept" in a table of @family. */
static struct bf_table *ssh_table(enum bf_family family)
{
	struct bf_table *table = new_table(family);
	struct bf_chain *chain = add_base(table, "in");
	struct bf_data tcp = { .len = 1, .bytes = { 6 } };
	struct bf_data port = data_be16(22);

	ADD_RULE(chain, bf_expr_meta(BF_META_L4PROTO, 0),
		 bf_expr_cmp(BF_CMP_EQ, 0, &tcp),
		 bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 1),
		 bf_expr_cmp(BF_CMP_EQ, 1, &port), bf_expr_counter(),
		 bf_expr_verdict(BF_VERDICT_ACCEPT, NULL));

	return table;
}

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
	expect_invalid(table, "chain 'a' rule 1 expr 0 (verdict): ",
		       "jump to 'a' creates a loop");

	/* Self goto. */
	last_expr(a)->verdict.code = BF_VERDICT_GOTO;
	expect_invalid(table, "chain 'a' rule 1 expr 0 (verdict): ",
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
	expect_invalid(table, "chain 'c' rule 1 expr 0 (verdict): ",
		       "jump to 'a' creates a loop");
	bf_table_free(&table);

	/* A loop no base chain reaches is still a loop. */
	table = new_table(BF_FAMILY_NETDEV);
	add_base(table, "in");
	a = add_chain(table, "a");
	b = add_chain(table, "b");
	ADD_RULE(a, bf_expr_verdict(BF_VERDICT_JUMP, "b"));
	ADD_RULE(b, bf_expr_verdict(BF_VERDICT_JUMP, "a"));
	expect_invalid(table, "chain 'b' rule 0 expr 0 (verdict): ",
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
	expect_invalid(table, "chain 'c15' rule 0 expr 1 (verdict): ",
		       "jump to 'c16' exceeds the maximum jump depth of 15 "
		       "from base chain 'base'");
	bf_table_free(&table);

	/* A goto counts as a level, as in nf_tables' chain validation. */
	table = jump_line(BF_JUMP_DEPTH_MAX, BF_VERDICT_GOTO);
	expect_valid(table);
	bf_table_free(&table);

	table = jump_line(BF_JUMP_DEPTH_MAX + 1, BF_VERDICT_GOTO);
	expect_invalid(table, "chain 'c15' rule 0 expr 1 (verdict): ",
		       "goto 'c16' exceeds the maximum jump depth of 15");
	bf_table_free(&table);

	table = jump_line(40, BF_VERDICT_JUMP);
	expect_invalid(table, "chain 'c15' rule 0 expr 1 (verdict): ",
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
	expect_invalid(table, "chain 'l15_0' rule 0 expr 0 (verdict): ",
		       "jump to 'l16_0' exceeds the maximum jump depth");
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
			    "unknown meta key 14");
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
	EXPECT_EXPR_INVALID(e, "unknown", "unknown expression type 11");
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
		cmocka_unit_test(test_valid_tables),
		cmocka_unit_test(test_every_expr_kind),
		cmocka_unit_test(test_hook_family),
		cmocka_unit_test(test_unknown_family_and_hook),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_chain_names),
		cmocka_unit_test(test_verdict_code),
		cmocka_unit_test(test_jump_targets),
		cmocka_unit_test(test_loops),
		cmocka_unit_test(test_jump_depth),
		cmocka_unit_test(test_jump_depth_mesh),
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
