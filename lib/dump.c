/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Text form of the IR, for logs and golden tests. The output depends only
 * on the IR (no pointers, no allocation order), and every value prints
 * something, even out of range, so an invalid table can be dumped too.
 *
 *   table inet filter
 *   chain input hook nf_local_in priority 0 policy accept
 *     rule 0
 *       payload load 2b @ th + 2 => reg 1
 *       cmp eq reg 1 0x0016
 *       verdict accept
 */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>

#include <bpfilter/helpers.h>
#include <bpfilter/ir.h>

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

static void _bf_dump_bitwise(const struct bf_expr *expr, FILE *f)
{
	fprintf(f, "bitwise %ub reg %u = ", expr->bitwise.len,
		expr->bitwise.dreg);

	if (expr->bitwise.op == BF_BITWISE_BOOL) {
		fprintf(f, "(reg %u & ", expr->bitwise.sreg);
		_bf_dump_data(&expr->bitwise.mask, f);
		fputs(") ^ ", f);
		_bf_dump_data(&expr->bitwise.xor, f);
		return;
	}

	fprintf(f, "reg %u %s %u", expr->bitwise.sreg,
		_bf_dump_enum(_bf_shift_op_strs, expr->bitwise.op),
		expr->bitwise.shift);
}

void bf_expr_dump(const struct bf_expr *expr, FILE *f)
{
	assert(expr);
	assert(f);

	switch (expr->type) {
	case BF_EXPR_PAYLOAD:
		fprintf(f, "payload load %ub @ %s + %u => reg %u",
			expr->payload.len,
			bf_payload_base_to_str(expr->payload.base),
			expr->payload.offset, expr->payload.dreg);
		break;
	case BF_EXPR_META:
		fprintf(f, "meta load %s => reg %u",
			bf_meta_key_to_str(expr->meta.key), expr->meta.dreg);
		break;
	case BF_EXPR_BITWISE:
		_bf_dump_bitwise(expr, f);
		break;
	case BF_EXPR_BYTEORDER:
		fprintf(f, "byteorder %ub reg %u = %s(reg %u, size %u)",
			expr->byteorder.len, expr->byteorder.dreg,
			_bf_dump_enum(_bf_byteorder_op_strs, expr->byteorder.op),
			expr->byteorder.sreg, expr->byteorder.size);
		break;
	case BF_EXPR_CMP:
		fprintf(f, "cmp %s reg %u ", bf_cmp_op_to_str(expr->cmp.op),
			expr->cmp.sreg);
		_bf_dump_data(&expr->cmp.data, f);
		break;
	case BF_EXPR_RANGE:
		fprintf(f, "range %s reg %u ",
			_bf_dump_enum(_bf_range_op_strs, expr->range.op),
			expr->range.sreg);
		_bf_dump_data(&expr->range.from, f);
		fputc(' ', f);
		_bf_dump_data(&expr->range.to, f);
		break;
	case BF_EXPR_IMMEDIATE:
		fputs("immediate ", f);
		_bf_dump_data(&expr->immediate.data, f);
		fprintf(f, " => reg %u", expr->immediate.dreg);
		break;
	case BF_EXPR_COUNTER:
		fprintf(f, "counter packets %" PRIu64 " bytes %" PRIu64,
			expr->counter.packets, expr->counter.bytes);
		break;
	case BF_EXPR_VERDICT:
		fprintf(f, "verdict %s", bf_verdict_to_str(expr->verdict.code));
		if (expr->verdict.code == BF_VERDICT_JUMP ||
		    expr->verdict.code == BF_VERDICT_GOTO) {
			fprintf(f, " %.*s", BF_NAME_MAX - 1,
				expr->verdict.chain);
		}
		break;
	default:
		fprintf(f, "unknown expression type %d", (int)expr->type);
		break;
	}
}

static void _bf_chain_dump(const struct bf_chain *chain, FILE *f)
{
	fprintf(f, "chain %.*s", BF_NAME_MAX - 1, chain->name);
	if (chain->base) {
		fprintf(f, " hook %s priority %d policy %s",
			bf_hook_to_str(chain->hook), (int)chain->priority,
			bf_verdict_to_str(chain->policy));
		if (chain->ifname[0]) {
			fprintf(f, " ifname %.*s", BF_IFNAME_MAX - 1,
				chain->ifname);
		}
		if (chain->cgroup[0])
			fprintf(f, " cgroup %.*s", BF_NAME_MAX - 1,
				chain->cgroup);
	}
	fputc('\n', f);

	for (size_t i = 0; i < chain->n_rules; i++) {
		const struct bf_rule *rule = chain->rules[i];

		fprintf(f, "  rule %zu", i);
		if (rule->handle)
			fprintf(f, " handle %" PRIu64, rule->handle);
		fputc('\n', f);

		for (size_t j = 0; j < rule->n_exprs; j++) {
			fputs("    ", f);
			bf_expr_dump(&rule->exprs[j], f);
			fputc('\n', f);
		}
	}
}

void bf_table_dump(const struct bf_table *table, FILE *f)
{
	assert(table);
	assert(f);

	fprintf(f, "table %s %.*s\n", bf_family_to_str(table->family),
		BF_NAME_MAX - 1, table->name);

	for (size_t i = 0; i < table->n_chains; i++)
		_bf_chain_dump(table->chains[i], f);
}
