/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bf_table_validate(): the checks that let codegen trust the IR.
 *
 * Three passes, each stopping at the first error:
 *   1. the table and its chains (names, hook against family, policy);
 *   2. every expression of every rule: the fields, by the validate stage
 *      of its kind's descriptor (lib/expr_desc.c), which also reports
 *      jump/goto targets (bf_vctx_target(), collecting the edges); then
 *      the registers the descriptor says the kind reads and writes;
 *   3. the chain graph: no loop, and no base chain reaching deeper than
 *      BF_JUMP_DEPTH_MAX jumps (a goto counts as a level too, as in the
 *      nf_tables chain validation).
 *
 * Messages name where the problem is, rule and expression indices counted
 * from 0 (the same indices as the codegen counter API):
 *   chain 'foo' rule 3 expr 1 (cmp): reads register 4 which is not set
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpfilter/helpers.h>
#include <bpfilter/ir.h>

#include "lib/expr_desc.h"

#define _BF_REG_LAST (BF_REG_COUNT - 1)

_Static_assert(BF_REG_COUNT <= 32, "register mask must fit in 32 bits");

/* A jump or goto, from the expression that makes it to the target. */
struct _bf_edge {
	size_t to;
	size_t rule;
	size_t expr;
};

/* Chain name -> index in table->chains, sorted by name. */
struct _bf_name_idx {
	const char *name;
	size_t idx;
};

struct bf_vctx {
	const struct bf_table *table;
	char *errbuf;
	size_t errlen;

	/* Where we are, for messages: chain NULL means the table itself. */
	const struct bf_chain *chain;
	bool at_expr;
	size_t rule;
	size_t expr;
	const struct bf_expr *cur;

	/* Registers written so far in the current rule, one bit each. */
	uint32_t regs;

	struct _bf_name_idx *names;
	/* Edges grouped by source chain: chain i owns
	 * edges[first[i]] .. edges[first[i + 1] - 1]. */
	struct _bf_edge *edges;
	size_t n_edges;
	size_t cap_edges;
	size_t *first;
};

static int _bf_name_len(const char *name)
{
	return (int)strnlen(name, BF_NAME_MAX);
}

__attribute__((format(printf, 2, 0))) static int
_bf_vfail(struct bf_vctx *ctx, const char *fmt, va_list ap)
{
	size_t n;
	int r;

	if (!ctx->errbuf || !ctx->errlen)
		return -EINVAL;

	if (ctx->chain && ctx->at_expr) {
		r = snprintf(ctx->errbuf, ctx->errlen,
			     "chain '%.*s' rule %zu expr %zu (%s): ",
			     _bf_name_len(ctx->chain->name), ctx->chain->name,
			     ctx->rule, ctx->expr,
			     bf_expr_type_to_str(ctx->cur->type));
	} else if (ctx->chain) {
		r = snprintf(ctx->errbuf, ctx->errlen, "chain '%.*s': ",
			     _bf_name_len(ctx->chain->name), ctx->chain->name);
	} else {
		r = snprintf(ctx->errbuf, ctx->errlen, "table '%.*s': ",
			     _bf_name_len(ctx->table->name), ctx->table->name);
	}

	n = r < 0 ? 0 : BF_MIN((size_t)r, ctx->errlen - 1);
	vsnprintf(ctx->errbuf + n, ctx->errlen - n, fmt, ap);

	return -EINVAL;
}

__attribute__((format(printf, 2, 3))) static int
_bf_fail(struct bf_vctx *ctx, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = _bf_vfail(ctx, fmt, ap);
	va_end(ap);

	return r;
}

const struct bf_table *bf_vctx_table(const struct bf_vctx *ctx)
{
	return ctx->table;
}

int bf_vctx_fail(struct bf_vctx *ctx, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = _bf_vfail(ctx, fmt, ap);
	va_end(ap);

	return r;
}

static int _bf_fail_nomem(struct bf_vctx *ctx)
{
	if (ctx->errbuf && ctx->errlen)
		snprintf(ctx->errbuf, ctx->errlen, "out of memory");

	return -ENOMEM;
}

static bool _bf_hook_fits_family(enum bf_hook hook, enum bf_family family)
{
	switch (family) {
	case BF_FAMILY_NETDEV:
		return hook == BF_HOOK_XDP || hook == BF_HOOK_TC_INGRESS ||
		       hook == BF_HOOK_TC_EGRESS;
	case BF_FAMILY_IP:
	case BF_FAMILY_IP6:
	case BF_FAMILY_INET:
		return bf_hook_is_nf(hook) ||
		       hook == BF_HOOK_CGROUP_SKB_INGRESS ||
		       hook == BF_HOOK_CGROUP_SKB_EGRESS;
	default:
		return false;
	}
}

static int _bf_name_cmp(const void *a, const void *b)
{
	const struct _bf_name_idx *x = a;
	const struct _bf_name_idx *y = b;

	return strncmp(x->name, y->name, BF_NAME_MAX);
}

static int _bf_check_chain(struct bf_vctx *ctx, size_t idx)
{
	const struct bf_chain *chain = ctx->table->chains[idx];

	assert(chain);

	/* Not named yet: a chain without a usable name cannot be named in the
	 * message either, so it is reported by position. */
	if (!chain->name[0]) {
		return _bf_fail(ctx, "chain at index %zu has an empty name",
				idx);
	}
	if (strnlen(chain->name, BF_NAME_MAX) == BF_NAME_MAX) {
		return _bf_fail(ctx,
				"chain at index %zu has a name that is not "
				"NUL-terminated",
				idx);
	}

	ctx->chain = chain;

	if (!chain->base)
		return 0;

	if ((unsigned int)chain->hook >= _BF_HOOK_MAX)
		return _bf_fail(ctx, "unknown hook %d", (int)chain->hook);
	if (!_bf_hook_fits_family(chain->hook, ctx->table->family)) {
		return _bf_fail(ctx, "hook %s does not fit family %s",
				bf_hook_to_str(chain->hook),
				bf_family_to_str(ctx->table->family));
	}
	if (chain->policy != BF_VERDICT_ACCEPT &&
	    chain->policy != BF_VERDICT_DROP) {
		return _bf_fail(ctx, "policy must be accept or drop, not %s",
				bf_verdict_to_str(chain->policy));
	}
	if (strnlen(chain->ifname, BF_IFNAME_MAX) == BF_IFNAME_MAX)
		return _bf_fail(ctx, "interface name is not NUL-terminated");
	if (strnlen(chain->cgroup, BF_NAME_MAX) == BF_NAME_MAX)
		return _bf_fail(ctx, "cgroup path is not NUL-terminated");

	return 0;
}

static int _bf_check_table(struct bf_vctx *ctx)
{
	const struct bf_table *table = ctx->table;
	int r;

	if (strnlen(table->name, BF_NAME_MAX) == BF_NAME_MAX)
		return _bf_fail(ctx, "name is not NUL-terminated");
	if ((unsigned int)table->family >= _BF_FAMILY_MAX)
		return _bf_fail(ctx, "unknown family %d", (int)table->family);

	for (size_t i = 0; i < table->n_chains; i++) {
		ctx->chain = NULL;
		r = _bf_check_chain(ctx, i);
		if (r)
			return r;
	}
	ctx->chain = NULL;

	for (size_t i = 0; i < table->n_chains; i++) {
		ctx->names[i].name = table->chains[i]->name;
		ctx->names[i].idx = i;
	}
	qsort(ctx->names, table->n_chains, sizeof(*ctx->names), _bf_name_cmp);

	for (size_t i = 1; i < table->n_chains; i++) {
		if (_bf_name_cmp(&ctx->names[i - 1], &ctx->names[i]) == 0) {
			ctx->chain = table->chains[ctx->names[i].idx];
			return _bf_fail(ctx, "name used by more than one chain");
		}
	}

	return 0;
}

static const struct bf_chain *_bf_find_chain(struct bf_vctx *ctx,
					     const char *name, size_t *idx)
{
	struct _bf_name_idx key = { .name = name };
	struct _bf_name_idx *found;

	found = bsearch(&key, ctx->names, ctx->table->n_chains,
			sizeof(*ctx->names), _bf_name_cmp);
	if (!found)
		return NULL;

	*idx = found->idx;

	return ctx->table->chains[found->idx];
}

/* A value of len bytes at register reg spans ceil(len / 4) registers. */
static unsigned int _bf_reg_span(unsigned int len)
{
	return (len + 3) / 4;
}

static int _bf_reg_write(struct bf_vctx *ctx, unsigned int reg,
			 unsigned int len)
{
	unsigned int span = _bf_reg_span(len);

	if (reg + span > BF_REG_COUNT) {
		return _bf_fail(ctx,
				"writes %u bytes at register %u, past register "
				"%d",
				len, reg, _BF_REG_LAST);
	}

	for (unsigned int i = 0; i < span; i++)
		ctx->regs |= 1u << (reg + i);

	return 0;
}

static int _bf_reg_read(struct bf_vctx *ctx, unsigned int reg,
			unsigned int len)
{
	unsigned int span = _bf_reg_span(len);

	if (reg + span > BF_REG_COUNT) {
		return _bf_fail(ctx,
				"reads %u bytes at register %u, past register "
				"%d",
				len, reg, _BF_REG_LAST);
	}

	for (unsigned int i = 0; i < span; i++) {
		if (!(ctx->regs & (1u << (reg + i)))) {
			return _bf_fail(ctx,
					"reads register %u which is not set",
					reg + i);
		}
	}

	return 0;
}

static int _bf_add_edge(struct bf_vctx *ctx, size_t to)
{
	struct _bf_edge *edges = ctx->edges;

	if (ctx->n_edges == ctx->cap_edges) {
		size_t cap = ctx->cap_edges ? ctx->cap_edges * 2 : 16;

		edges = reallocarray(ctx->edges, cap, sizeof(*edges));
		if (!edges)
			return _bf_fail_nomem(ctx);
		ctx->edges = edges;
		ctx->cap_edges = cap;
	}

	ctx->edges[ctx->n_edges++] = (struct _bf_edge) {
		.to = to,
		.rule = ctx->rule,
		.expr = ctx->expr,
	};

	return 0;
}

int bf_vctx_target(struct bf_vctx *ctx, const char *verb, const char *target)
{
	const struct bf_chain *chain;
	size_t idx;

	chain = _bf_find_chain(ctx, target, &idx);
	if (!chain)
		return _bf_fail(ctx, "%s target '%s' does not exist", verb,
				target);
	if (chain->base)
		return _bf_fail(ctx, "%s target '%s' is a base chain", verb,
				target);

	return _bf_add_edge(ctx, idx);
}

/* The kind's own checks, then the registers it declares: a read only of
 * registers written earlier in the rule, both inside the register file. */
static int _bf_check_expr(struct bf_vctx *ctx, const struct bf_expr *e)
{
	const struct bf_expr_desc *desc = bf_expr_desc_get(e->type);
	unsigned int reg, len;
	int r;

	if (!desc)
		return _bf_fail(ctx, "unknown expression type %d", (int)e->type);

	r = desc->validate(ctx, e);
	if (r)
		return r;

	if (desc->reads(e, &reg, &len)) {
		r = _bf_reg_read(ctx, reg, len);
		if (r)
			return r;
	}

	if (desc->writes(e, &reg, &len))
		return _bf_reg_write(ctx, reg, len);

	return 0;
}

static int _bf_check_rules(struct bf_vctx *ctx)
{
	const struct bf_table *table = ctx->table;
	int r;

	for (size_t c = 0; c < table->n_chains; c++) {
		const struct bf_chain *chain = table->chains[c];

		ctx->chain = chain;
		ctx->first[c] = ctx->n_edges;

		for (size_t i = 0; i < chain->n_rules; i++) {
			const struct bf_rule *rule = chain->rules[i];

			assert(rule);

			/* Registers do not carry over from one rule to the
			 * next. */
			ctx->regs = 0;
			ctx->rule = i;

			for (size_t j = 0; j < rule->n_exprs; j++) {
				ctx->at_expr = true;
				ctx->expr = j;
				ctx->cur = &rule->exprs[j];

				r = _bf_check_expr(ctx, &rule->exprs[j]);
				if (r)
					return r;
			}
			ctx->at_expr = false;
		}
	}
	ctx->first[table->n_chains] = ctx->n_edges;
	ctx->chain = NULL;

	return 0;
}

/* Point the error location at an edge. */
static void _bf_at_edge(struct bf_vctx *ctx, size_t from,
			const struct _bf_edge *edge)
{
	const struct bf_chain *chain = ctx->table->chains[from];

	ctx->chain = chain;
	ctx->at_expr = true;
	ctx->rule = edge->rule;
	ctx->expr = edge->expr;
	ctx->cur = &chain->rules[edge->rule]->exprs[edge->expr];
}

static const char *_bf_edge_verb(const struct bf_vctx *ctx)
{
	return ctx->cur->verdict.code == BF_VERDICT_GOTO ? "goto" : "jump to";
}

enum _bf_color {
	_BF_WHITE = 0, /* not visited */
	_BF_GRAY, /* on the DFS stack */
	_BF_BLACK, /* done, height known */
};

struct _bf_frame {
	size_t chain;
	size_t next; /* next edge to follow */
};

/*
 * Depth-first search over the chain graph from the base chains, iterative
 * so that a long line of chains cannot exhaust the C stack. A gray target
 * is a loop. Chains no base chain reaches are not walked: nf_tables
 * validates from the base chains only (nft_table_validate()), so a loop
 * among unreachable chains is accepted until a base chain reaches it, and
 * a loop, like a path too deep, is -EMLINK (its jump stack runs over). On
 * the way back, height[c] becomes the longest jump path starting at c,
 * so each chain is visited once whatever the number of paths.
 */
static int _bf_check_loops(struct bf_vctx *ctx, unsigned char *color,
			   size_t *height, struct _bf_frame *stack)
{
	size_t n = ctx->table->n_chains;

	for (size_t root = 0; root < n; root++) {
		size_t top = 0;

		if (color[root] != _BF_WHITE || !ctx->table->chains[root]->base)
			continue;

		color[root] = _BF_GRAY;
		stack[top++] = (struct _bf_frame) { .chain = root,
						    .next = ctx->first[root] };

		while (top) {
			struct _bf_frame *f = &stack[top - 1];
			const struct _bf_edge *edge;

			if (f->next == ctx->first[f->chain + 1]) {
				size_t done = f->chain;

				color[done] = _BF_BLACK;
				if (--top) {
					size_t parent = stack[top - 1].chain;

					height[parent] = BF_MAX(height[parent],
								height[done] + 1);
				}
				continue;
			}

			edge = &ctx->edges[f->next++];
			switch (color[edge->to]) {
			case _BF_GRAY:
				_bf_at_edge(ctx, f->chain, edge);
				(void)_bf_fail(ctx, "%s '%s' creates a loop",
					       _bf_edge_verb(ctx),
					       ctx->table->chains[edge->to]->name);
				return -EMLINK;
			case _BF_BLACK:
				height[f->chain] = BF_MAX(height[f->chain],
							  height[edge->to] + 1);
				break;
			default:
				color[edge->to] = _BF_GRAY;
				stack[top++] = (struct _bf_frame) {
					.chain = edge->to,
					.next = ctx->first[edge->to],
				};
				break;
			}
		}
	}

	return 0;
}

/* With the heights known, follow from each base chain an edge that keeps
 * the path too deep, down to the jump that crosses the limit: that is the
 * one to report. */
static int _bf_check_depth(struct bf_vctx *ctx, const size_t *height)
{
	const struct bf_table *table = ctx->table;

	for (size_t b = 0; b < table->n_chains; b++) {
		size_t c = b;
		size_t depth = 0;

		if (!table->chains[b]->base || height[b] <= BF_JUMP_DEPTH_MAX)
			continue;

		for (;;) {
			const struct _bf_edge *edge = NULL;

			for (size_t e = ctx->first[c]; e < ctx->first[c + 1];
			     e++) {
				if (depth + 1 + height[ctx->edges[e].to] >
				    BF_JUMP_DEPTH_MAX) {
					edge = &ctx->edges[e];
					break;
				}
			}
			assert(edge);

			if (depth + 1 > BF_JUMP_DEPTH_MAX) {
				_bf_at_edge(ctx, c, edge);
				(void)_bf_fail(
					ctx,
					"%s '%s' exceeds the maximum jump "
					"depth of %d from base chain '%s'",
					_bf_edge_verb(ctx),
					table->chains[edge->to]->name,
					BF_JUMP_DEPTH_MAX,
					table->chains[b]->name);
				return -EMLINK;
			}

			c = edge->to;
			depth++;
		}
	}

	return 0;
}

static int _bf_check_graph(struct bf_vctx *ctx)
{
	size_t n = ctx->table->n_chains;
	_cleanup_free_ unsigned char *color = NULL;
	_cleanup_free_ size_t *height = NULL;
	_cleanup_free_ struct _bf_frame *stack = NULL;
	int r;

	if (!n)
		return 0;

	color = calloc(n, sizeof(*color));
	height = calloc(n, sizeof(*height));
	stack = calloc(n, sizeof(*stack));
	if (!color || !height || !stack)
		return _bf_fail_nomem(ctx);

	r = _bf_check_loops(ctx, color, height, stack);
	if (r)
		return r;

	return _bf_check_depth(ctx, height);
}

int bf_table_validate(const struct bf_table *table, char *errbuf,
		      size_t errlen)
{
	struct bf_vctx ctx = {
		.table = table,
		.errbuf = errbuf,
		.errlen = errlen,
	};
	int r;

	assert(table);

	if (errbuf && errlen)
		errbuf[0] = '\0';

	ctx.names = calloc(table->n_chains ? table->n_chains : 1,
			   sizeof(*ctx.names));
	ctx.first = calloc(table->n_chains + 1, sizeof(*ctx.first));
	if (!ctx.names || !ctx.first) {
		r = _bf_fail_nomem(&ctx);
		goto out;
	}

	r = _bf_check_table(&ctx);
	if (r)
		goto out;

	r = _bf_check_rules(&ctx);
	if (r)
		goto out;

	r = _bf_check_graph(&ctx);

out:
	free(ctx.names);
	free(ctx.first);
	free(ctx.edges);

	return r;
}
