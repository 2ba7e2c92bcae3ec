/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Set lookups: the emitter of lookup expressions and the set lookup that
 * verdict maps share (codegen/chain.c), each set copied from the table
 * into the program's sets on first use.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpfilter/helpers.h>

#include "codegen/cgen.h"
#include "codegen/expr.h"

/* The index of set @name in the program's sets, copied from the table on
 * first use; -1 (sticky error) if the table has no such set. */
static int _bf_cg_set_index(struct bf_cg *cg, const char *name)
{
	struct bf_program *p = cg->prog;
	const struct bf_set *src;
	struct bf_set_map *sets;
	struct bf_set *copy = NULL;

	for (size_t i = 0; i < p->n_sets; i++) {
		if (!strncmp(p->sets[i].set->name, name, BF_NAME_MAX))
			return (int)i;
	}
	src = bf_table_get_set(cg->table, name);
	if (!src) {
		bf_cg_fail(cg, -EINVAL, "no set '%s'", name);
		return -1;
	}
	if (bf_set_new(&copy, src->name, src->key_len, src->flags)) {
		bf_cg_fail(cg, -ENOMEM, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < src->n; i++) {
		const uint8_t *k = src->keys + i * src->key_len;
		const struct bf_set_verdict *v = (src->flags & BF_SET_F_VMAP) ?
			&src->verdicts[src->values[i]] : NULL;

		if (v ? bf_set_add_verdict_key(copy, k, src->prefix[i], v->code,
					       v->chain) :
			bf_set_add_key(copy, k, src->prefix[i])) {
			bf_set_free(&copy);
			bf_cg_fail(cg, -ENOMEM, "out of memory");
			return -1;
		}
	}
	sets = realloc(p->sets, (p->n_sets + 1) * sizeof(*sets));
	if (!sets) {
		bf_set_free(&copy);
		bf_cg_fail(cg, -ENOMEM, "out of memory");
		return -1;
	}
	p->sets = sets;
	p->sets[p->n_sets] = (struct bf_set_map) {
		.set = copy, .fd = -1, .inner_fd = -1,
	};

	return (int)p->n_sets++;
}

/* Key offset of an LPM trie lookup: {u32 prefixlen, key} in the scratch
 * slots below the register file (BF_FP_KEY and BF_FP_TMP, 24 bytes). */
#define _BF_FP_LPM BF_FP_KEY
#define _BF_LPM_KEY_MAX 20

/* lookup: the key is the register file itself (registers hold it in
 * memory order, fields padded to 4 bytes as nf_tables concatenates
 * them), so an exact lookup costs no copy; an LPM trie needs its prefix
 * length in front of the key, built in the scratch slots. The set's map
 * is found through a one-entry array of maps (its key, a u32 zero, from
 * the keys map: no stack write), which an element change swaps. */
int bf_cg_emit_set_lookup(struct bf_cg *cg, const char *name, uint8_t sreg,
			  uint8_t len, int fail)
{
	int idx = _bf_cg_set_index(cg, name);
	const struct bf_set *set;
	int fp = bf_cg_reg_fp(sreg);

	if (idx < 0)
		return -1;
	set = cg->prog->sets[idx].set;
	if (set->flags & BF_SET_F_PREFIX) {
		if (len > _BF_LPM_KEY_MAX) {
			bf_cg_fail(cg, -EOPNOTSUPP,
				   "prefix set '%s': key of %u bytes", set->name,
				   len);
			return -1;
		}
		bf_cg_emit(cg, BF_ST_MEM(BPF_W, BPF_REG_10, _BF_FP_LPM,
					 (int32_t)(len * 8)));
		for (unsigned int i = 0; i < len; i += 4) {
			bf_cg_emit(cg, BF_LDX_MEM(BPF_W, BPF_REG_1, BPF_REG_10,
						  fp + (int)i));
			bf_cg_emit(cg, BF_STX_MEM(BPF_W, BPF_REG_10, BPF_REG_1,
						  _BF_FP_LPM + 4 + (int)i));
		}
		fp = _BF_FP_LPM;
	}
	bf_cg_emit_ld_map(cg, BPF_REG_2, BF_MAP_KEYS, BPF_PSEUDO_MAP_VALUE,
			  BF_KEYS_OFF(0));
	bf_cg_emit_ld_map(cg, BPF_REG_1, BF_MAP_SET0 + idx, BPF_PSEUDO_MAP_FD, 0);
	bf_cg_emit(cg, BF_CALL_HELPER(BPF_FUNC_map_lookup_elem));
	/* Never empty: the check is for the verifier. */
	bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JEQ, BPF_REG_0, 0, 0), fail);
	bf_cg_emit(cg, BF_MOV64_REG(BPF_REG_1, BPF_REG_0));
	bf_cg_emit(cg, BF_MOV64_REG(BPF_REG_2, BPF_REG_10));
	bf_cg_emit(cg, BF_ALU64_IMM(BPF_ADD, BPF_REG_2, fp));
	bf_cg_emit(cg, BF_CALL_HELPER(BPF_FUNC_map_lookup_elem));

	return idx;
}

void bf_cg_emit_lookup(struct bf_cg *cg, const struct bf_expr *e, int fail)
{
	if (bf_cg_emit_set_lookup(cg, e->lookup.set, e->lookup.sreg,
				  e->lookup.len, fail) < 0)
		return;
	bf_cg_emit_jmp(cg, BF_JMP_IMM(e->lookup.invert ? BPF_JNE : BPF_JEQ,
				      BPF_REG_0, 0, 0), fail);
}
