/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the unit tests of lib/validate.c share (test_validate_chain.c,
 * test_validate_expr.c): table builders and the valid / invalid checks.
 * Include after <cmocka.h>.
 */
#ifndef UNIT_VALIDATE_HELPERS_H
#define UNIT_VALIDATE_HELPERS_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <bpfilter/helpers.h>
#include <bpfilter/ir.h>

#define ERRLEN 1024

/* Helpers to build tables. Chains returned by add_*() belong to the table;
 * the pointer stays usable to add rules or poke at fields. */

static inline struct bf_table *new_table(enum bf_family family)
{
	struct bf_table *table;

	assert_int_equal(bf_table_new(&table, "t", family), 0);

	return table;
}

static inline struct bf_chain *add_base_hook(struct bf_table *table, const char *name,
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
static inline struct bf_chain *add_base(struct bf_table *table, const char *name)
{
	return add_base_hook(table, name,
			     table->family == BF_FAMILY_NETDEV ?
				     BF_HOOK_XDP :
				     BF_HOOK_NF_LOCAL_IN);
}

static inline struct bf_chain *add_chain(struct bf_table *table, const char *name)
{
	struct bf_chain *chain, *owned;

	assert_int_equal(bf_chain_new(&chain, name), 0);
	owned = chain;
	assert_int_equal(bf_table_add_chain(table, &chain), 0);

	return owned;
}

static inline void add_rule(struct bf_chain *chain, const struct bf_expr *exprs,
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
static inline struct bf_expr *last_expr(struct bf_chain *chain)
{
	struct bf_rule *rule = chain->rules[chain->n_rules - 1];

	return &rule->exprs[rule->n_exprs - 1];
}

static inline struct bf_data data_be16(uint16_t v)
{
	struct bf_data d;

	bf_data_be16(&d, v);

	return d;
}

static inline struct bf_data data_len(size_t len)
{
	static const uint8_t bytes[32];
	struct bf_data d;

	bf_data_set(&d, bytes, len);

	return d;
}

static inline void expect_valid(const struct bf_table *table)
{
	char err[ERRLEN];
	int r;

	r = bf_table_validate(table, err, sizeof(err));
	if (r)
		fail_msg("expected a valid table, got %d: %s", r, err);
}

/* Rejected with -@errnum; the message starts with @where and contains
 * @what. */
static inline void expect_errno(const struct bf_table *table, int errnum,
				const char *where, const char *what)
{
	char err[ERRLEN];
	int r;

	r = bf_table_validate(table, err, sizeof(err));
	if (r != -errnum)
		fail_msg("expected %d, got %d (%s)", -errnum, r, r ? err : "");
	if (strncmp(err, where, strlen(where)) != 0)
		fail_msg("message '%s' does not start with '%s'", err, where);
	if (!strstr(err, what))
		fail_msg("message '%s' does not say '%s'", err, what);
}

static inline void expect_invalid(const struct bf_table *table, const char *where,
				  const char *what)
{
	expect_errno(table, EINVAL, where, what);
}

/* A loop or a path too deep: nf_tables' jump stack runs over. */
static inline void expect_emlink(const struct bf_table *table, const char *where,
				 const char *what)
{
	expect_errno(table, EMLINK, where, what);
}

/* A rule "tcp dport 22 accept" in a table of @family. */
static inline struct bf_table *ssh_table(enum bf_family family)
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

#endif /* UNIT_VALIDATE_HELPERS_H */
