/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One const descriptor per IR expression kind (lib/expr_desc.c): every
 * stage of a kind in one entry, in a table indexed by enum bf_expr_type.
 * validate.c, dump.c and ir.c, and through the queries of ir.h
 * (bf_expr_reads(), bf_expr_writes(), bf_expr_is_pure(), bf_expr_equal())
 * codegen/, read the table; none of them switches on the kind. The code
 * generator's own stage (emit) is its table in codegen/expr.c.
 *
 * Internal to lib/ (and the unit tests): not installed, not exported.
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include <bpfilter/ir.h>

#define _BF_HIDDEN __attribute__((visibility("hidden")))

/* Whether an expression may be shared by several rules (rule groups, in
 * codegen/program.c) and moved ahead of pending tests. No zero value, so a
 * descriptor that forgets to say is caught (selftests/unit/test_expr_desc.c). */
enum bf_expr_purity {
	/* Loads, computes and tests only: evaluating it once for several
	 * rules, or before another rule's tests, changes nothing. */
	BF_EXPR_PURE = 1,
	/* Changes state (a counter) or control flow (a verdict): runs once
	 * per rule, once every test before it held. */
	BF_EXPR_EFFECT,
};

/* Validation context of bf_table_validate() (validate.c). */
struct bf_vctx;

/**
 * Every stage of one expression kind. Every member is set for every kind:
 * a kind with nothing to do in a stage says so with a function that does
 * nothing (reads no register, say); test_expr_desc.c walks the table.
 */
struct bf_expr_desc {
	/* Name in messages and dumps (bf_expr_type_to_str()). */
	const char *name;
	enum bf_expr_purity purity;
	/**
	 * Check the kind's fields (enums, lengths, targets). Registers are
	 * not checked here: bf_table_validate() checks what reads() and
	 * writes() declare, after this.
	 * @return 0, or bf_vctx_fail()'s -EINVAL; -ENOMEM.
	 */
	int (*validate)(struct bf_vctx *ctx, const struct bf_expr *e);
	/* The registers the expression reads: @len bytes from register
	 * @reg; false when it reads none. Checked by validation (written
	 * earlier in the rule) and used by codegen's liveness. */
	bool (*reads)(const struct bf_expr *e, unsigned int *reg,
		      unsigned int *len);
	/* The registers it writes, the same way. */
	bool (*writes)(const struct bf_expr *e, unsigned int *reg,
		       unsigned int *len);
	/* Text form, without the newline (bf_expr_dump()): prints
	 * something for any field value, even out of range. */
	void (*dump)(const struct bf_expr *e, FILE *f);
	/* Same kind, same meaning: only the kind's own fields count. */
	bool (*equal)(const struct bf_expr *a, const struct bf_expr *b);
};

/** The descriptor of @type, or NULL for a type out of range. */
_BF_HIDDEN const struct bf_expr_desc *bf_expr_desc_get(enum bf_expr_type type);

/* For the validate stage of the descriptors (validate.c). */

/**
 * Fail validation with a message at the current expression
 * ("chain 'c' rule 1 expr 2 (cmp): <message>").
 * @return -EINVAL.
 */
_BF_HIDDEN __attribute__((format(printf, 2, 3))) int
bf_vctx_fail(struct bf_vctx *ctx, const char *fmt, ...);

/**
 * The current expression transfers to chain @target (@verb names how, in
 * messages: "jump", "goto"): it must exist and be a regular chain. Records
 * the edge for the loop and depth checks.
 * @return 0, -EINVAL with a message, -ENOMEM.
 */
_BF_HIDDEN int bf_vctx_target(struct bf_vctx *ctx, const char *verb,
			      const char *target);

/** The table being validated (sets looked up by name). */
_BF_HIDDEN const struct bf_table *bf_vctx_table(const struct bf_vctx *ctx);
