/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Text form of the IR, for logs and golden tests. The output depends only
 * on the IR (no pointers, no allocation order), and every value prints
 * something, even out of range, so an invalid table can be dumped too.
 * Each expression kind prints itself (its dump stage, lib/expr_desc.c).
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

#include "lib/expr_desc.h"

void bf_expr_dump(const struct bf_expr *expr, FILE *f)
{
	const struct bf_expr_desc *desc;

	assert(expr);
	assert(f);

	desc = bf_expr_desc_get(expr->type);
	if (!desc) {
		fprintf(f, "unknown expression type %d", (int)expr->type);
		return;
	}

	desc->dump(expr, f);
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
