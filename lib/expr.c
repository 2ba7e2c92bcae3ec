/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The data helpers and the expression constructors of the IR: each
 * constructor fills one kind of struct bf_expr. The objects that hold the
 * expressions (rules, chains, tables, sets) live in ir.c.
 */
#include <assert.h>
#include <endian.h>
#include <stdint.h>
#include <string.h>

#include <bpfilter/helpers.h>
#include <bpfilter/ir.h>

/* The data helpers cannot fail, yet a front-end may hand them a value that
 * is too long. Rather than truncating silently, keep the requested length
 * (saturated to what the len field holds) and copy what fits:
 * bf_table_validate() then rejects the expression as too long. */
void bf_data_set(struct bf_data *data, const void *bytes, size_t len)
{
	assert(data);
	assert(bytes || !len);

	memset(data, 0, sizeof(*data));
	data->len = (uint8_t)BF_MIN(len, (size_t)UINT8_MAX);
	if (len)
		memcpy(data->bytes, bytes, BF_MIN(len, (size_t)BF_DATA_MAX));
}

void bf_data_u8(struct bf_data *data, uint8_t v)
{
	bf_data_set(data, &v, sizeof(v));
}

void bf_data_be16(struct bf_data *data, uint16_t v)
{
	uint16_t be = htobe16(v);

	bf_data_set(data, &be, sizeof(be));
}

void bf_data_be32(struct bf_data *data, uint32_t v)
{
	uint32_t be = htobe32(v);

	bf_data_set(data, &be, sizeof(be));
}

void bf_data_u32(struct bf_data *data, uint32_t v)
{
	bf_data_set(data, &v, sizeof(v));
}

void bf_data_str(struct bf_data *data, const char *s, size_t len)
{
	assert(data);
	assert(s);

	memset(data, 0, sizeof(*data));
	data->len = (uint8_t)BF_MIN(len, (size_t)UINT8_MAX);
	memcpy(data->bytes, s, strnlen(s, BF_MIN(len, (size_t)BF_DATA_MAX)));
}

/* Every constructor starts from an all-zero expression (padding included),
 * so two expressions built alike compare equal with memcmp(). */
static struct bf_expr _bf_expr_zero(enum bf_expr_type type)
{
	struct bf_expr expr;

	memset(&expr, 0, sizeof(expr));
	expr.type = type;

	return expr;
}

struct bf_expr bf_expr_payload(enum bf_payload_base base, uint16_t offset,
			       uint8_t len, uint8_t dreg)
{
	struct bf_expr expr = _bf_expr_zero(BF_EXPR_PAYLOAD);

	expr.payload.base = base;
	expr.payload.offset = offset;
	expr.payload.len = len;
	expr.payload.dreg = dreg;

	return expr;
}

struct bf_expr bf_expr_meta(enum bf_meta_key key, uint8_t dreg)
{
	struct bf_expr expr = _bf_expr_zero(BF_EXPR_META);

	expr.meta.key = key;
	expr.meta.dreg = dreg;

	return expr;
}

struct bf_expr bf_expr_meta_set(enum bf_meta_key key, uint8_t sreg)
{
	struct bf_expr expr = _bf_expr_zero(BF_EXPR_META_SET);

	expr.meta_set.key = key;
	expr.meta_set.sreg = sreg;

	return expr;
}

struct bf_expr bf_expr_ct(enum bf_ct_key key, uint8_t dir, uint8_t dreg,
			  uint8_t len)
{
	struct bf_expr expr = _bf_expr_zero(BF_EXPR_CT);

	expr.ct.key = key;
	expr.ct.dir = dir;
	expr.ct.dreg = dreg;
	expr.ct.len = len;

	return expr;
}

struct bf_expr bf_expr_cmp(enum bf_cmp_op op, uint8_t sreg,
			   const struct bf_data *data)
{
	struct bf_expr expr = _bf_expr_zero(BF_EXPR_CMP);

	assert(data);

	expr.cmp.op = op;
	expr.cmp.sreg = sreg;
	expr.cmp.data = *data;

	return expr;
}

struct bf_expr bf_expr_range(enum bf_range_op op, uint8_t sreg,
			     const struct bf_data *from,
			     const struct bf_data *to)
{
	struct bf_expr expr = _bf_expr_zero(BF_EXPR_RANGE);

	assert(from);
	assert(to);

	expr.range.op = op;
	expr.range.sreg = sreg;
	expr.range.from = *from;
	expr.range.to = *to;

	return expr;
}

struct bf_expr bf_expr_bitwise_bool(uint8_t sreg, uint8_t dreg, uint8_t len,
				    const struct bf_data *mask,
				    const struct bf_data *xor)
{
	struct bf_expr expr = _bf_expr_zero(BF_EXPR_BITWISE);

	assert(mask);
	assert(xor);

	expr.bitwise.op = BF_BITWISE_BOOL;
	expr.bitwise.sreg = sreg;
	expr.bitwise.dreg = dreg;
	expr.bitwise.len = len;
	expr.bitwise.mask = *mask;
	expr.bitwise.xor = *xor;

	return expr;
}

struct bf_expr bf_expr_bitwise_shift(enum bf_bitwise_op op, uint8_t sreg,
				     uint8_t dreg, uint8_t len, uint32_t shift)
{
	struct bf_expr expr = _bf_expr_zero(BF_EXPR_BITWISE);

	expr.bitwise.op = op;
	expr.bitwise.sreg = sreg;
	expr.bitwise.dreg = dreg;
	expr.bitwise.len = len;
	expr.bitwise.shift = shift;

	return expr;
}

struct bf_expr bf_expr_byteorder(enum bf_byteorder_op op, uint8_t sreg,
				 uint8_t dreg, uint8_t len, uint8_t size)
{
	struct bf_expr expr = _bf_expr_zero(BF_EXPR_BYTEORDER);

	expr.byteorder.op = op;
	expr.byteorder.sreg = sreg;
	expr.byteorder.dreg = dreg;
	expr.byteorder.len = len;
	expr.byteorder.size = size;

	return expr;
}

struct bf_expr bf_expr_immediate(uint8_t dreg, const struct bf_data *data)
{
	struct bf_expr expr = _bf_expr_zero(BF_EXPR_IMMEDIATE);

	assert(data);

	expr.immediate.dreg = dreg;
	expr.immediate.data = *data;

	return expr;
}

struct bf_expr bf_expr_counter(void)
{
	return _bf_expr_zero(BF_EXPR_COUNTER);
}

/* A target name that does not fit is not truncated (that could name another
 * chain): the target is left empty, which bf_table_validate() rejects. */
struct bf_expr bf_expr_verdict(enum bf_verdict code, const char *chain)
{
	struct bf_expr expr = _bf_expr_zero(BF_EXPR_VERDICT);
	size_t len;

	expr.verdict.code = code;
	if (chain) {
		len = strnlen(chain, BF_NAME_MAX);
		if (len < BF_NAME_MAX)
			memcpy(expr.verdict.chain, chain, len);
	}

	return expr;
}

struct bf_expr bf_expr_lookup(const char *set, uint8_t sreg, uint8_t len,
			      bool invert)
{
	struct bf_expr expr = _bf_expr_zero(BF_EXPR_LOOKUP);
	size_t n;

	expr.lookup.sreg = sreg;
	expr.lookup.len = len;
	expr.lookup.invert = invert;
	if (set) {
		n = strnlen(set, BF_NAME_MAX);
		if (n < BF_NAME_MAX)
			memcpy(expr.lookup.set, set, n);
	}

	return expr;
}

struct bf_expr bf_expr_vmap(const char *set, uint8_t sreg, uint8_t len)
{
	struct bf_expr expr = _bf_expr_zero(BF_EXPR_VMAP);
	size_t n;

	expr.vmap.sreg = sreg;
	expr.vmap.len = len;
	if (set) {
		n = strnlen(set, BF_NAME_MAX);
		if (n < BF_NAME_MAX)
			memcpy(expr.vmap.set, set, n);
	}

	return expr;
}
