/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The programs of a bf_chaintool scenario: one per nfproto, generated
 * (against the running ones, to share their counters), loaded, swapped in
 * with bf_link_replace(), and their counters printed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <bpfilter/ir.h>

#include "codegen/codegen.h"

#include "chaintool.h"

void bf_ct_set_clean(struct bf_ct_set *set)
{
	for (size_t i = 0; i < set->n_progs; i++)
		bf_program_free(&set->progs[i]);
	set->n_progs = 0;
	bf_table_free(&set->table);
}

/* @running: the set whose programs run (NULL: none), which the new ones
 * are generated against so that they share its counters. */
int bf_ct_set_make(struct bf_ct_set *set, const struct bf_ct_set *running,
		   int scenario, const struct bf_ct_ctx *ctx, bool verbose)
{
	int nfprotos[BF_CT_MAX_PROGS] = { BF_NFPROTO_UNSPEC };
	size_t n = 1;
	char msg[8192];
	int r;

	if (bf_ct_is_nf(ctx->hook) && ctx->family == BF_FAMILY_INET) {
		nfprotos[0] = BF_NFPROTO_IPV4;
		nfprotos[1] = BF_NFPROTO_IPV6;
		n = 2;
	}

	r = bf_ct_table_build(&set->table, scenario, ctx);
	if (r) {
		fprintf(stderr, "bf_chaintool: building '%s': %s\n",
			bf_ct_scenario_name(scenario), strerror(-r));
		return r;
	}
	if (verbose)
		bf_table_dump(set->table, stderr);

	for (size_t i = 0; i < n; i++) {
		msg[0] = '\0';
		if (running && i < running->n_progs)
			r = bf_program_generate_for(&set->progs[i], set->table,
						    BF_CT_BASE_CHAIN,
						    nfprotos[i],
						    running->progs[i], msg,
						    sizeof(msg));
		else
			r = bf_program_generate(&set->progs[i], set->table,
						BF_CT_BASE_CHAIN, nfprotos[i],
						msg, sizeof(msg));
		if (r) {
			fprintf(stderr, "bf_chaintool: generating '%s': %s: %s\n",
				bf_ct_scenario_name(scenario), strerror(-r),
				msg);
			goto err;
		}
		set->n_progs++;
		if (verbose)
			bf_program_dump(set->progs[i], stderr);

		msg[0] = '\0';
		r = bf_program_load(set->progs[i], msg, sizeof(msg));
		if (r) {
			fprintf(stderr, "bf_chaintool: loading '%s': %s\n%s\n",
				bf_ct_scenario_name(scenario), strerror(-r),
				msg);
			goto err;
		}
	}

	return 0;

err:
	bf_ct_set_clean(set);
	return r;
}

static void _bf_print_chain_counters(const struct bf_ct_set *set,
				     const struct bf_chain *chain)
{
	for (size_t ri = 0; ri < chain->n_rules; ri++) {
		const struct bf_rule *rule = chain->rules[ri];

		for (size_t ei = 0; ei < rule->n_exprs; ei++) {
			uint64_t pkts = 0, bytes = 0;
			bool found = false;

			if (rule->exprs[ei].type != BF_EXPR_COUNTER)
				continue;

			for (size_t p = 0; p < set->n_progs; p++) {
				uint64_t pk, by;
				int r = bf_program_get_counter(set->progs[p],
							       chain->name, ri,
							       ei, &pk, &by);
				if (r == -ENOENT)
					continue;
				if (r) {
					fprintf(stderr, "bf_chaintool: counter %s:%zu: %s\n",
						chain->name, ri, strerror(-r));
					continue;
				}
				pkts += pk;
				bytes += by;
				found = true;
			}
			if (!found)
				continue;

			if (chain->base)
				printf("counter %zu packets %" PRIu64
				       " bytes %" PRIu64 "\n",
				       ri, pkts, bytes);
			else
				printf("counter %s:%zu packets %" PRIu64
				       " bytes %" PRIu64 "\n",
				       chain->name, ri, pkts, bytes);
			printf("handle %" PRIu64 " packets %" PRIu64
			       " bytes %" PRIu64 "\n",
			       rule->handle, pkts, bytes);
			/* One counter per rule in these scenarios. */
			break;
		}
	}
}

void bf_ct_print_counters(const struct bf_ct_set *set)
{
	const struct bf_chain *base =
		bf_table_get_chain(set->table, BF_CT_BASE_CHAIN);
	uint64_t pkts = 0, bytes = 0;

	_bf_print_chain_counters(set, base);
	for (size_t i = 0; i < set->table->n_chains; i++) {
		if (set->table->chains[i] != base)
			_bf_print_chain_counters(set, set->table->chains[i]);
	}

	for (size_t p = 0; p < set->n_progs; p++) {
		uint64_t pk, by;
		int r = bf_program_get_policy_counter(set->progs[p], &pk, &by);
		if (r) {
			fprintf(stderr, "bf_chaintool: policy counter: %s\n",
				strerror(-r));
			continue;
		}
		pkts += pk;
		bytes += by;
	}
	printf("policy packets %" PRIu64 " bytes %" PRIu64 "\n", pkts, bytes);
	fflush(stdout);
}

/*
 * Swap every link to the programs of the other scenario. Programs already
 * switched when a later one fails stay switched (they hold the counters
 * now); the set that is left is then only freed once nothing uses it.
 */
int bf_ct_swap(struct bf_ct_set sets[2], int *cur, struct bf_link *links[],
	       const struct bf_ct_opts *o)
{
	int next = !*cur;
	size_t i;
	int r;

	/* Still half in use after an earlier partial failure. */
	if (sets[next].n_progs)
		return -EBUSY;

	r = bf_ct_set_make(&sets[next], &sets[*cur], o->scenarios[next],
			   &o->ctx, o->verbose);
	if (r)
		return r;

	for (i = 0; i < sets[next].n_progs; i++) {
		r = bf_link_replace(links[i], sets[next].progs[i],
				    sets[*cur].progs[i]);
		if (r) {
			fprintf(stderr, "bf_chaintool: replacing program %zu: %s\n",
				i, strerror(-r));
			break;
		}
	}
	if (r && i == 0) {
		bf_ct_set_clean(&sets[next]);
		return r;
	}
	if (!r)
		bf_ct_set_clean(&sets[*cur]);
	*cur = next;

	return r;
}
