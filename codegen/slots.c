/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Counter slots of a program: one per counter expression, named by
 * (chain, rule index, expression index), found through a hash index so
 * that generating and reading the counters of large chains stays linear.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cgen.h"

static uint64_t _bf_slot_hash(const char *chain, size_t rule, size_t expr)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (const char *c = chain; *c; c++)
		h = (h ^ (uint8_t)*c) * 1099511628211ULL;
	h ^= (uint64_t)rule * 0x9e3779b97f4a7c15ULL;
	h ^= (uint64_t)expr * 0xc2b2ae3d27d4eb4fULL;
	return h ^ (h >> 29);
}

int bf_slot_find(const struct bf_program *prog, const char *chain, size_t rule,
		 size_t expr)
{
	size_t mask, i;

	if (!prog->slot_index_cap)
		return -ENOENT;
	mask = prog->slot_index_cap - 1;
	for (i = _bf_slot_hash(chain, rule, expr) & mask;; i = (i + 1) & mask) {
		uint32_t s = prog->slot_index[i];
		const struct bf_counter_slot *sl;

		if (!s)
			return -ENOENT;
		sl = &prog->slots[s];
		if (sl->rule == rule && sl->expr == expr && !strcmp(sl->chain, chain))
			return (int)s;
	}
}

static void _bf_index_put(uint32_t *index, size_t cap,
			  const struct bf_counter_slot *slots, uint32_t s)
{
	size_t mask = cap - 1;
	size_t i = _bf_slot_hash(slots[s].chain, slots[s].rule, slots[s].expr) & mask;

	while (index[i])
		i = (i + 1) & mask;
	index[i] = s;
}

/* Index the slots again in @cap buckets (a power of two). */
static int _bf_index_build(struct bf_program *prog, size_t cap)
{
	uint32_t *index = calloc(cap, sizeof(*index));

	if (!index)
		return -ENOMEM;
	for (size_t s = 1; s < prog->n_slots; s++) {
		if (prog->slots[s].chain)
			_bf_index_put(index, cap, prog->slots, (uint32_t)s);
	}
	free(prog->slot_index);
	prog->slot_index = index;
	prog->slot_index_cap = cap;
	return 0;
}

static int _bf_index_grow(struct bf_program *prog)
{
	return _bf_index_build(prog, prog->slot_index_cap ? prog->slot_index_cap * 2 : 64);
}

int bf_slot_reindex(struct bf_program *prog)
{
	size_t cap = 64;

	while (cap < (prog->n_slots + 1) * 2)
		cap *= 2;
	return _bf_index_build(prog, cap);
}

/* The program's copy of @chain, which slots point to. */
static const char *_bf_slot_name(struct bf_program *prog, const char *chain)
{
	char **names, *copy;

	/* Slots come chain after chain: the last name first. */
	for (size_t i = prog->n_names; i-- > 0;) {
		if (!strcmp(prog->names[i], chain))
			return prog->names[i];
	}
	copy = strdup(chain);
	if (!copy)
		return NULL;
	names = realloc(prog->names, (prog->n_names + 1) * sizeof(*names));
	if (!names) {
		free(copy);
		return NULL;
	}
	prog->names = names;
	prog->names[prog->n_names++] = copy;
	return copy;
}

/* Room for slot number @num (holes below it are left empty). */
static int _bf_slot_room(struct bf_program *prog, size_t num, const char *chain)
{
	if (num >= UINT32_MAX / 2)
		return -E2BIG;
	/* Keep the index at most half full. */
	while ((num + 1) * 2 > prog->slot_index_cap) {
		int r = _bf_index_grow(prog);

		if (r)
			return r;
	}
	if (num >= prog->slots_cap) {
		size_t cap = prog->slots_cap ? prog->slots_cap * 2 : 64;
		struct bf_counter_slot *n;

		while (cap <= num)
			cap *= 2;
		n = realloc(prog->slots, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		prog->slots = n;
		prog->slots_cap = cap;
	}
	return _bf_slot_name(prog, chain) ? 0 : -ENOMEM;
}

/*
 * Hints: generating a chain whose program runs, a counter keeps the slot
 * number it has there (same rule handle and expression), and a new counter
 * gets a number past all of the running program's, never one that program
 * may still count in. The running program's maps can then take the new
 * rules in place (codegen/update.c). Counters of rules without a handle
 * take new numbers.
 */
/* Handles are unique in a table: the chain's name is not part of the
 * key, so that a renamed chain keeps its slots. */
static uint64_t _bf_hint_hash(uint64_t handle, size_t expr)
{
	return _bf_slot_hash("", (size_t)handle, expr);
}

int bf_slot_hint(struct bf_program *prog, const struct bf_program *hint)
{
	size_t cap = 64;

	while (cap < hint->n_slots * 2)
		cap *= 2;
	prog->hint_index = calloc(cap, sizeof(*prog->hint_index));
	if (!prog->hint_index)
		return -ENOMEM;
	prog->hint = hint;
	prog->hint_cap = cap;
	prog->next_fresh = (uint32_t)hint->n_slots;
	for (size_t s = 1; s < hint->n_slots; s++) {
		const struct bf_counter_slot *sl = &hint->slots[s];
		size_t i;

		if (!sl->chain)
			continue;
		i = _bf_hint_hash(sl->rule_id, sl->expr) & (cap - 1);
		while (prog->hint_index[i])
			i = (i + 1) & (cap - 1);
		prog->hint_index[i] = (uint32_t)s;
	}
	return 0;
}

void bf_slot_hint_done(struct bf_program *prog)
{
	free(prog->hint_index);
	prog->hint_index = NULL;
	prog->hint_cap = 0;
	prog->hint = NULL;
}

/* A number no counter of @p uses (and no edit just emptied): a hole. */
static bool _bf_slot_is_hole(const struct bf_program *p, size_t i)
{
	return i >= 1 && i < p->n_slots && !p->slots[i].chain &&
	       !p->slots[i].freed;
}

/*
 * The number of a new counter. With a hint: the running program's number
 * for the same rule and expression; else the lowest number the running
 * program leaves unused, else one past all of its numbers. Without: the
 * lowest hole, else the next number. Filling holes first keeps a chain
 * that is edited over and over within its counters map's room, so the map
 * can be shared by every generation of the chain; the edit path
 * (codegen/edit.c, no hint, the running program's description) picks the
 * same numbers as a generation against that program.
 */
static size_t _bf_slot_number(struct bf_program *prog, size_t expr,
			      uint64_t rule_id, bool *carried)
{
	const struct bf_program *h = prog->hint;
	size_t mask = prog->hint_cap - 1;

	*carried = false;
	if (!h) {
		while (prog->hole_scan < prog->n_slots) {
			size_t i = prog->hole_scan++;

			if (_bf_slot_is_hole(prog, i))
				return i;
		}
		return prog->n_slots;
	}
	for (size_t i = _bf_hint_hash(rule_id, expr) & mask; prog->hint_index[i];
	     i = (i + 1) & mask) {
		const struct bf_counter_slot *sl = &h->slots[prog->hint_index[i]];

		if (sl->rule_id == rule_id && sl->expr == expr) {
			*carried = true;
			return prog->hint_index[i];
		}
	}
	while (prog->hole_scan < h->n_slots) {
		size_t i = prog->hole_scan++;

		if (_bf_slot_is_hole(h, i))
			return i;
	}
	return prog->next_fresh++;
}

int bf_slot_add(struct bf_program *prog, const char *chain, size_t rule,
		size_t expr, uint64_t rule_id, uint64_t packets, uint64_t bytes)
{
	struct bf_counter_slot *n;
	int s = bf_slot_find(prog, chain, rule, expr);
	bool carried;
	size_t num;
	int r;

	if (s > 0)
		return s;
	num = _bf_slot_number(prog, expr, rule_id, &carried);
	r = _bf_slot_room(prog, num, chain);
	if (r)
		return r;
	/* Numbers skipped: empty slots. */
	if (num >= prog->n_slots)
		memset(&prog->slots[prog->n_slots], 0,
		       (num + 1 - prog->n_slots) * sizeof(*prog->slots));
	n = &prog->slots[num];
	memset(n, 0, sizeof(*n));
	n->chain = _bf_slot_name(prog, chain);
	n->rule = rule;
	n->expr = expr;
	n->rule_id = rule_id;
	n->init_packets = packets;
	n->init_bytes = bytes;
	n->carried = carried;
	if (num >= prog->n_slots)
		prog->n_slots = num + 1;
	_bf_index_put(prog->slot_index, prog->slot_index_cap, prog->slots,
		      (uint32_t)num);
	return (int)num;
}
