/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The expression descriptors: for each IR expression kind, its name,
 * purity, field checks, the registers it reads and writes, its text form
 * and its equality, in one const entry of _bf_expr_descs[] (see
 * lib/expr_desc.h and Documentation/ir.md, "Adding an expression kind").
 * The table is tied to enum bf_expr_type by a static_assert; a kind out of
 * range has no descriptor, and every caller treats that as an error.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <bpfilter/helpers.h>
#include <bpfilter/ir.h>

#include "lib/expr_desc.h"

/* ir.h only names the enums the rest of the project prints; the others
 * are only printed here. */
static const char *const _bf_range_op_strs[] = {
	[BF_RANGE_EQ] = "eq",
	[BF_RANGE_NEQ] = "neq",
};
_Static_assert(ARRAY_SIZE(_bf_range_op_strs) == _BF_RANGE_MAX,
	       "range op names out of sync");

static const char *const _bf_byteorder_op_strs[] = {
	[BF_BYTEORDER_NTOH] = "ntoh",
	[BF_BYTEORDER_HTON] = "hton",
};
_Static_assert(ARRAY_SIZE(_bf_byteorder_op_strs) == _BF_BYTEORDER_MAX,
	       "byteorder op names out of sync");

static const char *const _bf_shift_op_strs[] = {
	[BF_BITWISE_BOOL] = NULL, /* printed as "(sreg & mask) ^ xor" */
	[BF_BITWISE_LSHIFT] = "<<",
	[BF_BITWISE_RSHIFT] = ">>",
};
_Static_assert(ARRAY_SIZE(_bf_shift_op_strs) == _BF_BITWISE_MAX,
	       "bitwise op names out of sync");

#define _bf_dump_enum(table, v)                                          \
	((unsigned int)(v) < ARRAY_SIZE(table) ? (table)[(unsigned int)(v)] \
					       : "unknown")

/* Shared by the stages of several kinds. */

static bool _bf_len_ok(unsigned int len)
{
	return len >= 1 && len <= BF_DATA_MAX;
}

static bool _bf_regs_none(const struct bf_expr *e, unsigned int *reg,
			  unsigned int *len)
{
	return false;
}

static bool _bf_regs_set(unsigned int *reg, unsigned int *len,
			 unsigned int r, unsigned int l)
{
	*reg = r;
	*len = l;
	return true;
}

/* Bytes in register order, as one hex number: 0x0016 for port 22. */
static void _bf_dump_data(const struct bf_data *data, FILE *f)
{
	fputs("0x", f);
	for (size_t i = 0; i < BF_MIN((size_t)data->len, (size_t)BF_DATA_MAX);
	     i++)
		fprintf(f, "%02x", data->bytes[i]);
	if (data->len > BF_DATA_MAX)
		fprintf(f, "... (%u bytes)", data->len);
}

/* Constructors zero whole expressions, so padding compares equal. Only the
 * kind's member is compared: the verdict's chain name makes the whole
 * union large, and rule grouping compares every rule. */
#define _bf_member_equal(a, b, m) (!memcmp(&(a)->m, &(b)->m, sizeof((a)->m)))

/* payload */

static int _bf_payload_validate(struct bf_vctx *ctx, const struct bf_expr *e)
{
	if ((unsigned int)e->payload.base >= _BF_PAYLOAD_MAX) {
		return bf_vctx_fail(ctx, "unknown payload base %d",
				    (int)e->payload.base);
	}
	if (!_bf_len_ok(e->payload.len)) {
		return bf_vctx_fail(ctx, "length %u out of range 1..%d",
				    e->payload.len, BF_DATA_MAX);
	}
	if (e->payload.offset > BF_PAYLOAD_OFFSET_MAX) {
		return bf_vctx_fail(ctx, "offset %u exceeds %d",
				    e->payload.offset, BF_PAYLOAD_OFFSET_MAX);
	}

	return 0;
}

static bool _bf_payload_writes(const struct bf_expr *e, unsigned int *reg,
			       unsigned int *len)
{
	return _bf_regs_set(reg, len, e->payload.dreg, e->payload.len);
}

static void _bf_payload_dump(const struct bf_expr *e, FILE *f)
{
	fprintf(f, "payload load %ub @ %s + %u => reg %u", e->payload.len,
		bf_payload_base_to_str(e->payload.base), e->payload.offset,
		e->payload.dreg);
}

static bool _bf_payload_equal(const struct bf_expr *a, const struct bf_expr *b)
{
	return _bf_member_equal(a, b, payload);
}

/* meta */

static int _bf_meta_validate(struct bf_vctx *ctx, const struct bf_expr *e)
{
	if ((unsigned int)e->meta.key >= _BF_META_MAX)
		return bf_vctx_fail(ctx, "unknown meta key %d",
				    (int)e->meta.key);

	return 0;
}

/* The key's length: a key of 1 or 2 bytes fills its whole 32-bit register
 * (nft_reg_store8/16), which is the same one register. */
static bool _bf_meta_writes(const struct bf_expr *e, unsigned int *reg,
			    unsigned int *len)
{
	return _bf_regs_set(reg, len, e->meta.dreg,
			    bf_meta_key_len(e->meta.key));
}

static void _bf_meta_dump(const struct bf_expr *e, FILE *f)
{
	fprintf(f, "meta load %s => reg %u", bf_meta_key_to_str(e->meta.key),
		e->meta.dreg);
}

static bool _bf_meta_equal(const struct bf_expr *a, const struct bf_expr *b)
{
	return _bf_member_equal(a, b, meta);
}

/* bitwise */

static int _bf_bitwise_validate(struct bf_vctx *ctx, const struct bf_expr *e)
{
	unsigned int len = e->bitwise.len;

	if ((unsigned int)e->bitwise.op >= _BF_BITWISE_MAX) {
		return bf_vctx_fail(ctx, "unknown bitwise op %d",
				    (int)e->bitwise.op);
	}
	if (!_bf_len_ok(len)) {
		return bf_vctx_fail(ctx, "length %u out of range 1..%d", len,
				    BF_DATA_MAX);
	}

	if (e->bitwise.op == BF_BITWISE_BOOL) {
		if (e->bitwise.mask.len != len) {
			return bf_vctx_fail(ctx,
					    "mask length %u differs from length %u",
					    e->bitwise.mask.len, len);
		}
		if (e->bitwise.xor.len != len) {
			return bf_vctx_fail(ctx,
					    "xor length %u differs from length %u",
					    e->bitwise.xor.len, len);
		}
	} else {
		if (e->bitwise.shift >= 32) {
			return bf_vctx_fail(ctx, "shift %u out of range 0..31",
					    e->bitwise.shift);
		}
		if (len % 4) {
			return bf_vctx_fail(ctx,
					    "shift length %u is not a multiple of 4",
					    len);
		}
	}

	return 0;
}

static bool _bf_bitwise_reads(const struct bf_expr *e, unsigned int *reg,
			      unsigned int *len)
{
	return _bf_regs_set(reg, len, e->bitwise.sreg, e->bitwise.len);
}

static bool _bf_bitwise_writes(const struct bf_expr *e, unsigned int *reg,
			       unsigned int *len)
{
	return _bf_regs_set(reg, len, e->bitwise.dreg, e->bitwise.len);
}

static void _bf_bitwise_dump(const struct bf_expr *e, FILE *f)
{
	fprintf(f, "bitwise %ub reg %u = ", e->bitwise.len, e->bitwise.dreg);

	if (e->bitwise.op == BF_BITWISE_BOOL) {
		fprintf(f, "(reg %u & ", e->bitwise.sreg);
		_bf_dump_data(&e->bitwise.mask, f);
		fputs(") ^ ", f);
		_bf_dump_data(&e->bitwise.xor, f);
		return;
	}

	fprintf(f, "reg %u %s %u", e->bitwise.sreg,
		_bf_dump_enum(_bf_shift_op_strs, e->bitwise.op),
		e->bitwise.shift);
}

static bool _bf_bitwise_equal(const struct bf_expr *a, const struct bf_expr *b)
{
	return _bf_member_equal(a, b, bitwise);
}

/* byteorder */

static int _bf_byteorder_validate(struct bf_vctx *ctx, const struct bf_expr *e)
{
	unsigned int len = e->byteorder.len;
	unsigned int size = e->byteorder.size;

	if ((unsigned int)e->byteorder.op >= _BF_BYTEORDER_MAX) {
		return bf_vctx_fail(ctx, "unknown byteorder op %d",
				    (int)e->byteorder.op);
	}
	if (size != 2 && size != 4 && size != 8)
		return bf_vctx_fail(ctx, "element size %u is not 2, 4 or 8",
				    size);
	if (!_bf_len_ok(len)) {
		return bf_vctx_fail(ctx, "length %u out of range 1..%d", len,
				    BF_DATA_MAX);
	}
	if (len % size) {
		return bf_vctx_fail(ctx,
				    "length %u is not a multiple of element size %u",
				    len, size);
	}

	return 0;
}

static bool _bf_byteorder_reads(const struct bf_expr *e, unsigned int *reg,
				unsigned int *len)
{
	return _bf_regs_set(reg, len, e->byteorder.sreg, e->byteorder.len);
}

static bool _bf_byteorder_writes(const struct bf_expr *e, unsigned int *reg,
				 unsigned int *len)
{
	return _bf_regs_set(reg, len, e->byteorder.dreg, e->byteorder.len);
}

static void _bf_byteorder_dump(const struct bf_expr *e, FILE *f)
{
	fprintf(f, "byteorder %ub reg %u = %s(reg %u, size %u)",
		e->byteorder.len, e->byteorder.dreg,
		_bf_dump_enum(_bf_byteorder_op_strs, e->byteorder.op),
		e->byteorder.sreg, e->byteorder.size);
}

static bool _bf_byteorder_equal(const struct bf_expr *a,
				const struct bf_expr *b)
{
	return _bf_member_equal(a, b, byteorder);
}

/* cmp */

static int _bf_cmp_validate(struct bf_vctx *ctx, const struct bf_expr *e)
{
	if ((unsigned int)e->cmp.op >= _BF_CMP_MAX)
		return bf_vctx_fail(ctx, "unknown cmp op %d", (int)e->cmp.op);
	if (!_bf_len_ok(e->cmp.data.len)) {
		return bf_vctx_fail(ctx, "data length %u out of range 1..%d",
				    e->cmp.data.len, BF_DATA_MAX);
	}

	return 0;
}

static bool _bf_cmp_reads(const struct bf_expr *e, unsigned int *reg,
			  unsigned int *len)
{
	return _bf_regs_set(reg, len, e->cmp.sreg, e->cmp.data.len);
}

static void _bf_cmp_dump(const struct bf_expr *e, FILE *f)
{
	fprintf(f, "cmp %s reg %u ", bf_cmp_op_to_str(e->cmp.op), e->cmp.sreg);
	_bf_dump_data(&e->cmp.data, f);
}

static bool _bf_cmp_equal(const struct bf_expr *a, const struct bf_expr *b)
{
	return _bf_member_equal(a, b, cmp);
}

/* range */

static int _bf_range_validate(struct bf_vctx *ctx, const struct bf_expr *e)
{
	if ((unsigned int)e->range.op >= _BF_RANGE_MAX)
		return bf_vctx_fail(ctx, "unknown range op %d",
				    (int)e->range.op);
	if (!_bf_len_ok(e->range.from.len)) {
		return bf_vctx_fail(ctx, "data length %u out of range 1..%d",
				    e->range.from.len, BF_DATA_MAX);
	}
	if (e->range.to.len != e->range.from.len) {
		return bf_vctx_fail(ctx,
				    "bounds have different lengths (from %u, to %u)",
				    e->range.from.len, e->range.to.len);
	}

	return 0;
}

static bool _bf_range_reads(const struct bf_expr *e, unsigned int *reg,
			    unsigned int *len)
{
	return _bf_regs_set(reg, len, e->range.sreg, e->range.from.len);
}

static void _bf_range_dump(const struct bf_expr *e, FILE *f)
{
	fprintf(f, "range %s reg %u ",
		_bf_dump_enum(_bf_range_op_strs, e->range.op), e->range.sreg);
	_bf_dump_data(&e->range.from, f);
	fputc(' ', f);
	_bf_dump_data(&e->range.to, f);
}

static bool _bf_range_equal(const struct bf_expr *a, const struct bf_expr *b)
{
	return _bf_member_equal(a, b, range);
}

/* immediate */

static int _bf_immediate_validate(struct bf_vctx *ctx, const struct bf_expr *e)
{
	if (!_bf_len_ok(e->immediate.data.len)) {
		return bf_vctx_fail(ctx, "data length %u out of range 1..%d",
				    e->immediate.data.len, BF_DATA_MAX);
	}

	return 0;
}

static bool _bf_immediate_writes(const struct bf_expr *e, unsigned int *reg,
				 unsigned int *len)
{
	return _bf_regs_set(reg, len, e->immediate.dreg,
			    e->immediate.data.len);
}

static void _bf_immediate_dump(const struct bf_expr *e, FILE *f)
{
	fputs("immediate ", f);
	_bf_dump_data(&e->immediate.data, f);
	fprintf(f, " => reg %u", e->immediate.dreg);
}

static bool _bf_immediate_equal(const struct bf_expr *a,
				const struct bf_expr *b)
{
	return _bf_member_equal(a, b, immediate);
}

/* counter */

static int _bf_counter_validate(struct bf_vctx *ctx, const struct bf_expr *e)
{
	/* Any initial values will do. */
	return 0;
}

static void _bf_counter_dump(const struct bf_expr *e, FILE *f)
{
	fprintf(f, "counter packets %" PRIu64 " bytes %" PRIu64,
		e->counter.packets, e->counter.bytes);
}

static bool _bf_counter_equal(const struct bf_expr *a, const struct bf_expr *b)
{
	return _bf_member_equal(a, b, counter);
}

/* verdict */

static bool _bf_verdict_has_target(enum bf_verdict code)
{
	return code == BF_VERDICT_JUMP || code == BF_VERDICT_GOTO;
}

static int _bf_verdict_validate(struct bf_vctx *ctx, const struct bf_expr *e)
{
	const char *target = e->verdict.chain;
	const char *verb = bf_verdict_to_str(e->verdict.code);

	if ((unsigned int)e->verdict.code >= _BF_VERDICT_MAX) {
		return bf_vctx_fail(ctx, "unknown verdict code %d",
				    (int)e->verdict.code);
	}
	if (!_bf_verdict_has_target(e->verdict.code))
		return 0;

	if (!target[0])
		return bf_vctx_fail(ctx, "%s has no target chain", verb);
	if (strnlen(target, BF_NAME_MAX) == BF_NAME_MAX)
		return bf_vctx_fail(ctx, "%s target is not NUL-terminated",
				    verb);

	return bf_vctx_target(ctx, verb, target);
}

static void _bf_verdict_dump(const struct bf_expr *e, FILE *f)
{
	fprintf(f, "verdict %s", bf_verdict_to_str(e->verdict.code));
	if (_bf_verdict_has_target(e->verdict.code))
		fprintf(f, " %.*s", BF_NAME_MAX - 1, e->verdict.chain);
}

/* The target name counts up to its NUL only, and only for jump and goto. */
static bool _bf_verdict_equal(const struct bf_expr *a, const struct bf_expr *b)
{
	if (a->verdict.code != b->verdict.code)
		return false;

	return !_bf_verdict_has_target(a->verdict.code) ||
	       !strncmp(a->verdict.chain, b->verdict.chain, BF_NAME_MAX);
}

/* ct */

static bool _bf_ct_key_is_tuple(enum bf_ct_key key)
{
	return key >= BF_CT_SRC && key <= BF_CT_DST_IP6;
}

/* nft_ct_get_init(): tuple keys need a direction, the per-entry keys
 * (state .. expiration) take none, l3proto, protocol and zone either. */
static int _bf_ct_validate(struct bf_vctx *ctx, const struct bf_expr *e)
{
	enum bf_ct_key key = e->ct.key;
	unsigned int len = e->ct.len;

	if ((unsigned int)key >= _BF_CT_MAX)
		return bf_vctx_fail(ctx, "unknown ct key %d", (int)key);
	if (e->ct.dir > BF_CT_DIR_NONE)
		return bf_vctx_fail(ctx, "unknown ct direction %u", e->ct.dir);
	if (_bf_ct_key_is_tuple(key) && e->ct.dir == BF_CT_DIR_NONE)
		return bf_vctx_fail(ctx, "ct %s needs a direction",
				    bf_ct_key_to_str(key));
	if (key <= BF_CT_EXPIRATION && e->ct.dir != BF_CT_DIR_NONE)
		return bf_vctx_fail(ctx, "ct %s takes no direction",
				    bf_ct_key_to_str(key));
	if (key == BF_CT_SRC || key == BF_CT_DST) {
		if (len != 4 && len != 16)
			return bf_vctx_fail(ctx, "ct %s length %u is not 4 or 16",
					    bf_ct_key_to_str(key), len);
	} else if (len != bf_ct_key_len(key, BF_FAMILY_INET)) {
		return bf_vctx_fail(ctx, "ct %s length %u is not %u",
				    bf_ct_key_to_str(key), len,
				    bf_ct_key_len(key, BF_FAMILY_INET));
	}

	return 0;
}

static bool _bf_ct_writes(const struct bf_expr *e, unsigned int *reg,
			  unsigned int *len)
{
	return _bf_regs_set(reg, len, e->ct.dreg, e->ct.len);
}

static void _bf_ct_dump(const struct bf_expr *e, FILE *f)
{
	static const char *const dirs[] = { "original ", "reply ", "" };

	fprintf(f, "ct load %s%s => reg %u", _bf_dump_enum(dirs, e->ct.dir),
		bf_ct_key_to_str(e->ct.key), e->ct.dreg);
}

static bool _bf_ct_equal(const struct bf_expr *a, const struct bf_expr *b)
{
	return _bf_member_equal(a, b, ct);
}

/* meta set */

static int _bf_meta_set_validate(struct bf_vctx *ctx, const struct bf_expr *e)
{
	if (e->meta_set.key != BF_META_MARK && e->meta_set.key != BF_META_PRIORITY)
		return bf_vctx_fail(ctx, "meta %s cannot be set",
				    bf_meta_key_to_str(e->meta_set.key));

	return 0;
}

static bool _bf_meta_set_reads(const struct bf_expr *e, unsigned int *reg,
			       unsigned int *len)
{
	return _bf_regs_set(reg, len, e->meta_set.sreg, 4);
}

static void _bf_meta_set_dump(const struct bf_expr *e, FILE *f)
{
	fprintf(f, "meta_set %s <= reg %u", bf_meta_key_to_str(e->meta_set.key),
		e->meta_set.sreg);
}

static bool _bf_meta_set_equal(const struct bf_expr *a, const struct bf_expr *b)
{
	return _bf_member_equal(a, b, meta_set);
}

/* lookup */

static int _bf_lookup_validate(struct bf_vctx *ctx, const struct bf_expr *e)
{
	const struct bf_set *set;

	if (strnlen(e->lookup.set, BF_NAME_MAX) == BF_NAME_MAX)
		return bf_vctx_fail(ctx, "set name is not NUL-terminated");
	set = bf_table_get_set(bf_vctx_table(ctx), e->lookup.set);
	if (!set)
		return bf_vctx_fail(ctx, "no set '%s' in the table",
				    e->lookup.set);
	if (set->key_len != e->lookup.len)
		return bf_vctx_fail(ctx, "key of %u bytes, set '%s' has %u",
				    e->lookup.len, set->name, set->key_len);

	return 0;
}

static bool _bf_lookup_reads(const struct bf_expr *e, unsigned int *reg,
			     unsigned int *len)
{
	return _bf_regs_set(reg, len, e->lookup.sreg, e->lookup.len);
}

static void _bf_lookup_dump(const struct bf_expr *e, FILE *f)
{
	fprintf(f, "lookup reg %u len %u %sset %.*s", e->lookup.sreg,
		e->lookup.len, e->lookup.invert ? "not in " : "",
		BF_NAME_MAX - 1, e->lookup.set);
}

static bool _bf_lookup_equal(const struct bf_expr *a, const struct bf_expr *b)
{
	return a->lookup.sreg == b->lookup.sreg &&
	       a->lookup.len == b->lookup.len &&
	       a->lookup.invert == b->lookup.invert &&
	       !strncmp(a->lookup.set, b->lookup.set, BF_NAME_MAX);
}

/* vmap */

static int _bf_vmap_validate(struct bf_vctx *ctx, const struct bf_expr *e)
{
	const struct bf_set *set;
	int r;

	if (strnlen(e->vmap.set, BF_NAME_MAX) == BF_NAME_MAX)
		return bf_vctx_fail(ctx, "set name is not NUL-terminated");
	set = bf_table_get_set(bf_vctx_table(ctx), e->vmap.set);
	if (!set)
		return bf_vctx_fail(ctx, "no set '%s' in the table", e->vmap.set);
	if (!(set->flags & BF_SET_F_VMAP))
		return bf_vctx_fail(ctx, "set '%s' is not a verdict map",
				    set->name);
	if (set->key_len != e->vmap.len)
		return bf_vctx_fail(ctx, "key of %u bytes, set '%s' has %u",
				    e->vmap.len, set->name, set->key_len);
	for (size_t i = 0; i < set->n_verdicts; i++) {
		const struct bf_set_verdict *v = &set->verdicts[i];

		if ((unsigned int)v->code >= _BF_VERDICT_MAX)
			return bf_vctx_fail(ctx, "set '%s': unknown verdict %d",
					    set->name, (int)v->code);
		if (!_bf_verdict_has_target(v->code))
			continue;
		r = bf_vctx_target(ctx, bf_verdict_to_str(v->code), v->chain);
		if (r)
			return r;
	}

	return 0;
}

static bool _bf_vmap_reads(const struct bf_expr *e, unsigned int *reg,
			   unsigned int *len)
{
	return _bf_regs_set(reg, len, e->vmap.sreg, e->vmap.len);
}

static void _bf_vmap_dump(const struct bf_expr *e, FILE *f)
{
	fprintf(f, "vmap reg %u len %u set %.*s", e->vmap.sreg, e->vmap.len,
		BF_NAME_MAX - 1, e->vmap.set);
}

static bool _bf_vmap_equal(const struct bf_expr *a, const struct bf_expr *b)
{
	return a->vmap.sreg == b->vmap.sreg && a->vmap.len == b->vmap.len &&
	       !strncmp(a->vmap.set, b->vmap.set, BF_NAME_MAX);
}

/* The table. Every member of every entry is set: test_expr_desc.c checks
 * it, and there is no default for a kind left out. */
static const struct bf_expr_desc _bf_expr_descs[] = {
	[BF_EXPR_PAYLOAD] = {
		.name = "payload",
		.purity = BF_EXPR_PURE,
		.validate = _bf_payload_validate,
		.reads = _bf_regs_none,
		.writes = _bf_payload_writes,
		.dump = _bf_payload_dump,
		.equal = _bf_payload_equal,
	},
	[BF_EXPR_META] = {
		.name = "meta",
		.purity = BF_EXPR_PURE,
		.validate = _bf_meta_validate,
		.reads = _bf_regs_none,
		.writes = _bf_meta_writes,
		.dump = _bf_meta_dump,
		.equal = _bf_meta_equal,
	},
	[BF_EXPR_BITWISE] = {
		.name = "bitwise",
		.purity = BF_EXPR_PURE,
		.validate = _bf_bitwise_validate,
		.reads = _bf_bitwise_reads,
		.writes = _bf_bitwise_writes,
		.dump = _bf_bitwise_dump,
		.equal = _bf_bitwise_equal,
	},
	[BF_EXPR_BYTEORDER] = {
		.name = "byteorder",
		.purity = BF_EXPR_PURE,
		.validate = _bf_byteorder_validate,
		.reads = _bf_byteorder_reads,
		.writes = _bf_byteorder_writes,
		.dump = _bf_byteorder_dump,
		.equal = _bf_byteorder_equal,
	},
	[BF_EXPR_CMP] = {
		.name = "cmp",
		.purity = BF_EXPR_PURE,
		.validate = _bf_cmp_validate,
		.reads = _bf_cmp_reads,
		.writes = _bf_regs_none,
		.dump = _bf_cmp_dump,
		.equal = _bf_cmp_equal,
	},
	[BF_EXPR_RANGE] = {
		.name = "range",
		.purity = BF_EXPR_PURE,
		.validate = _bf_range_validate,
		.reads = _bf_range_reads,
		.writes = _bf_regs_none,
		.dump = _bf_range_dump,
		.equal = _bf_range_equal,
	},
	[BF_EXPR_IMMEDIATE] = {
		.name = "immediate",
		.purity = BF_EXPR_PURE,
		.validate = _bf_immediate_validate,
		.reads = _bf_regs_none,
		.writes = _bf_immediate_writes,
		.dump = _bf_immediate_dump,
		.equal = _bf_immediate_equal,
	},
	[BF_EXPR_COUNTER] = {
		.name = "counter",
		.purity = BF_EXPR_EFFECT,
		.validate = _bf_counter_validate,
		.reads = _bf_regs_none,
		.writes = _bf_regs_none,
		.dump = _bf_counter_dump,
		.equal = _bf_counter_equal,
	},
	[BF_EXPR_VERDICT] = {
		.name = "verdict",
		.purity = BF_EXPR_EFFECT,
		.validate = _bf_verdict_validate,
		.reads = _bf_regs_none,
		.writes = _bf_regs_none,
		.dump = _bf_verdict_dump,
		.equal = _bf_verdict_equal,
	},
	/* A load: what the conntrack entry holds when the packet is seen. */
	[BF_EXPR_CT] = {
		.name = "ct",
		.purity = BF_EXPR_PURE,
		.validate = _bf_ct_validate,
		.reads = _bf_regs_none,
		.writes = _bf_ct_writes,
		.dump = _bf_ct_dump,
		.equal = _bf_ct_equal,
	},
	/* Writes the packet: runs only once the rule's tests held, never
	 * shared by a rule group. */
	[BF_EXPR_META_SET] = {
		.name = "meta_set",
		.purity = BF_EXPR_EFFECT,
		.validate = _bf_meta_set_validate,
		.reads = _bf_meta_set_reads,
		.writes = _bf_regs_none,
		.dump = _bf_meta_set_dump,
		.equal = _bf_meta_set_equal,
	},
	[BF_EXPR_LOOKUP] = {
		/* Pure: a test, but not foldable into a rule group's key. */
		.name = "lookup",
		.purity = BF_EXPR_PURE,
		.validate = _bf_lookup_validate,
		.reads = _bf_lookup_reads,
		.writes = _bf_regs_none,
		.dump = _bf_lookup_dump,
		.equal = _bf_lookup_equal,
	},
	[BF_EXPR_VMAP] = {
		/* A verdict: control flow. */
		.name = "vmap",
		.purity = BF_EXPR_EFFECT,
		.validate = _bf_vmap_validate,
		.reads = _bf_vmap_reads,
		.writes = _bf_regs_none,
		.dump = _bf_vmap_dump,
		.equal = _bf_vmap_equal,
	},
};
_Static_assert(ARRAY_SIZE(_bf_expr_descs) == _BF_EXPR_MAX,
	       "one expression descriptor per enum bf_expr_type");

const struct bf_expr_desc *bf_expr_desc_get(enum bf_expr_type type)
{
	/* The unsigned cast catches negative values too. */
	if ((unsigned int)type >= ARRAY_SIZE(_bf_expr_descs))
		return NULL;

	return &_bf_expr_descs[type];
}

/* The queries of ir.h. Their callers (codegen/) work on validated IR, so an
 * unknown kind is a programmer error; without assertions the answer is the
 * one that cannot miscompile: reads everything, writes nothing, impure,
 * equal to nothing. */

bool bf_expr_reads(const struct bf_expr *e, unsigned int *reg,
		   unsigned int *len)
{
	const struct bf_expr_desc *desc = bf_expr_desc_get(e->type);

	assert(desc);
	if (!desc)
		return _bf_regs_set(reg, len, 0, BF_REG_BYTES);

	return desc->reads(e, reg, len);
}

bool bf_expr_writes(const struct bf_expr *e, unsigned int *reg,
		    unsigned int *len)
{
	const struct bf_expr_desc *desc = bf_expr_desc_get(e->type);

	assert(desc);
	if (!desc)
		return false;

	return desc->writes(e, reg, len);
}

bool bf_expr_is_pure(const struct bf_expr *e)
{
	const struct bf_expr_desc *desc = bf_expr_desc_get(e->type);

	assert(desc);

	return desc && desc->purity == BF_EXPR_PURE;
}

bool bf_expr_equal(const struct bf_expr *a, const struct bf_expr *b)
{
	const struct bf_expr_desc *desc = bf_expr_desc_get(a->type);

	assert(desc);

	return desc && a->type == b->type && desc->equal(a, b);
}
