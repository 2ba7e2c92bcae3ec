/* SPDX-License-Identifier: GPL-2.0-only */
/* Expression emitters (codegen/expr.c, codegen/expr_set.c), used by the
 * program layout. */
#pragma once

#include "codegen/cgen.h"

/* Returned by a flavour's meta op when the key never exists at the hook. */
#define BF_CG_NEVER 1

/* Stack offset of nft register @reg in the register file. */
static inline int bf_cg_reg_fp(unsigned int reg)
{
	return BF_FP_REGS + (int)reg * 4;
}

uint64_t bf_cg_bytes_le(const uint8_t *b, unsigned int len);
int bf_cg_load_to_reg(struct bf_cg *cg, const struct bf_expr *e, int dst,
		      int fail);
void bf_cg_test_reg(struct bf_cg *cg, int reg, enum bf_cmp_op op,
		    const struct bf_data *d, int fail);
bool bf_cg_reg_live(const struct bf_expr *exprs, size_t n, size_t from,
		    unsigned int reg, unsigned int len);
/* If exprs[k] is a load whose value, after optional in-place mask/xor
 * steps, is tested by a cmp or range evaluable in BPF registers, return
 * the index of that test; else 0. */
size_t bf_cg_fusable(const struct bf_cg *cg, const struct bf_expr *ex, size_t n,
		     size_t k);
/* Emit exprs[k..j] (bf_cg_fusable() returned j). */
int bf_cg_emit_fused(struct bf_cg *cg, const struct bf_expr *ex, size_t k,
		     size_t j, int fail);

/* Look up the key of @len bytes at register @sreg in set @name of the
 * table: r0 = the element's value, or NULL. Returns the set's index in
 * the program's sets, or -1 (sticky error). Clobbers r0-r5. */
int bf_cg_emit_set_lookup(struct bf_cg *cg, const char *name, uint8_t sreg,
			  uint8_t len, int fail);
/* The emitter of a lookup expression (codegen/expr_set.c). */
void bf_cg_emit_lookup(struct bf_cg *cg, const struct bf_expr *e, int fail);

/* The codegen stage of an expression kind. */
struct bf_cg_expr_ops {
	/* Emit the expression alone; a test or a failed load jumps to @fail.
	 * Errors are the builder's sticky error. */
	void (*emit)(struct bf_cg *cg, const struct bf_expr *e, int fail);
};

/* The ops of @type, or NULL for a type out of range. */
const struct bf_cg_expr_ops *bf_cg_expr_ops_get(enum bf_expr_type type);
/* Emit @e alone through its kind's ops. Counters and verdicts are emitted
 * by the rule layout (chain.c): here they are an internal error. */
int bf_cg_emit_expr(struct bf_cg *cg, const struct bf_expr *e, int fail);
void bf_cg_emit_counter_update(struct bf_cg *cg, int key_reg, uint32_t slot);

