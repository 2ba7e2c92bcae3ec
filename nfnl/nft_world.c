/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The nftables world of one netns: tables, chains and rules, as nf_tables
 * keeps them (list order is dump order), and the copies transactions work
 * on. Rules are immutable and shared between copies, so copying a world
 * costs one pointer per rule.
 */
#include <errno.h>
#include <linux/netfilter/nf_tables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/ruleset.h"
#include "nfnl/nft.h"
#include "nfnl/nlattr.h"

int bf_nft_attr_str(const struct nlattr *a, char *buf, size_t size)
{
	const char *s = bf_nla_data(a);
	size_t len = strnlen(s, bf_nla_len(a));

	if (len >= size)
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';

	return 0;
}

static int _bf_grow(void **arr, size_t *cap, size_t need, size_t elsize)
{
	size_t ncap;
	void *p;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 8;
	while (ncap < need)
		ncap *= 2;
	p = realloc(*arr, ncap * elsize);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;

	return 0;
}

int bf_nft_world_new(struct bf_nft_world **out)
{
	struct bf_nft_world *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	/* nf_tables_init_net(): base_seq = 1. */
	w->genid = 1;
	*out = w;

	return 0;
}

void bf_nft_rule_put(struct bf_nft_rule **r)
{
	if (!*r)
		return;
	if (--(*r)->refcnt == 0) {
		bf_rule_free(&(*r)->ir);
		free((*r)->udata);
		free(*r);
	}
	*r = NULL;
}

static void *_bf_memdup(const void *p, size_t len)
{
	void *q;

	if (!p || !len)
		return NULL;
	q = malloc(len);
	if (q)
		memcpy(q, p, len);
	return q;
}

static bool _bf_is_jump(const struct bf_expr *e, const char *name)
{
	return e->type == BF_EXPR_VERDICT &&
	       (e->verdict.code == BF_VERDICT_JUMP ||
		e->verdict.code == BF_VERDICT_GOTO) &&
	       (!name || !strcmp(e->verdict.chain, name));
}

uint32_t bf_nft_ir_jumps(const struct bf_rule *ir, const char *name)
{
	uint32_t n = 0;

	for (size_t k = 0; k < ir->n_exprs; k++)
		n += _bf_is_jump(&ir->exprs[k], name);
	return n;
}

int bf_nft_rule_retarget(const struct bf_nft_rule *src, const char *from,
			 const char *to, struct bf_nft_rule **out)
{
	struct bf_nft_rule *r = calloc(1, sizeof(*r));
	int e = -ENOMEM;

	if (!r)
		return -ENOMEM;
	r->refcnt = 1;
	r->handle = src->handle;
	r->jumps = src->jumps;
	if (src->udlen) {
		r->udata = _bf_memdup(src->udata, src->udlen);
		if (!r->udata)
			goto err;
		r->udlen = src->udlen;
	}
	e = bf_rule_new(&r->ir);
	if (e)
		goto err;
	r->ir->handle = src->ir->handle;
	r->ir->id = src->ir->id;
	for (size_t k = 0; k < src->ir->n_exprs; k++) {
		struct bf_expr x = src->ir->exprs[k];

		if (_bf_is_jump(&x, from)) {
			memset(x.verdict.chain, 0, sizeof(x.verdict.chain));
			snprintf(x.verdict.chain, sizeof(x.verdict.chain), "%s", to);
		}
		e = bf_rule_add_expr(r->ir, &x);
		if (e)
			goto err;
	}
	*out = r;
	return 0;

err:
	bf_nft_rule_put(&r);
	return e;
}

void bf_nft_chain_free(struct bf_nft_chain **c, bool detach)
{
	if (!*c)
		return;
	for (size_t i = 0; i < (*c)->n_rules; i++)
		bf_nft_rule_put(&(*c)->rules[i]);
	free((*c)->rules);
	free((*c)->udata);
	free((*c)->adopt);
	if (detach)
		bf_rs_chain_free(&(*c)->rs);
	free(*c);
	*c = NULL;
}

void bf_nft_elem_put(struct bf_nft_elem **e)
{
	if (!*e)
		return;
	if (--(*e)->refcnt == 0) {
		free((*e)->udata);
		free(*e);
	}
	*e = NULL;
}

void bf_nft_set_free(struct bf_nft_set **s)
{
	if (!*s)
		return;
	for (size_t i = 0; i < (*s)->n_elems; i++)
		bf_nft_elem_put(&(*s)->elems[i]);
	free((*s)->elems);
	free((*s)->index);
	free((*s)->udata);
	free(*s);
	*s = NULL;
}

void bf_nft_table_free(struct bf_nft_table **t, bool detach)
{
	if (!*t)
		return;
	for (size_t i = 0; i < (*t)->n_chains; i++)
		bf_nft_chain_free(&(*t)->chains[i], detach);
	free((*t)->chains);
	for (size_t i = 0; i < (*t)->n_sets; i++)
		bf_nft_set_free(&(*t)->sets[i]);
	free((*t)->sets);
	free((*t)->udata);
	free(*t);
	*t = NULL;
}

void bf_nft_world_free(struct bf_nft_world **w, bool detach)
{
	if (!*w)
		return;
	for (size_t i = 0; i < (*w)->n_tables; i++)
		bf_nft_table_free(&(*w)->tables[i], detach);
	free((*w)->tables);
	free(*w);
	*w = NULL;
}

static struct bf_nft_chain *_bf_chain_clone(const struct bf_nft_chain *src)
{
	struct bf_nft_chain *c = malloc(sizeof(*c));

	if (!c)
		return NULL;
	*c = *src;
	c->rules = NULL;
	c->cap_rules = 0;
	c->udata = _bf_memdup(src->udata, src->udlen);
	if (src->udlen && !c->udata)
		goto err;
	if (_bf_grow((void **)&c->rules, &c->cap_rules, src->n_rules,
		     sizeof(*c->rules)))
		goto err;
	for (size_t i = 0; i < src->n_rules; i++) {
		c->rules[i] = src->rules[i];
		++c->rules[i]->refcnt;
	}
	c->last_nlh = NULL;
	/* Restore only: the committed world's, never shared. */
	c->adopt = NULL;
	c->adopt_len = 0;

	return c;

err:
	free(c->udata);
	free(c);
	return NULL;
}

/* Elements are shared: a copy costs a pointer per element. */
static struct bf_nft_set *_bf_set_clone(const struct bf_nft_set *src)
{
	struct bf_nft_set *s = malloc(sizeof(*s));

	if (!s)
		return NULL;
	*s = *src;
	s->id = 0;
	s->last_nlh = NULL;
	s->elems = NULL;
	s->n_elems = 0;
	s->cap_elems = 0;
	s->index = _bf_memdup(src->index, src->index_cap * sizeof(*src->index));
	s->udata = _bf_memdup(src->udata, src->udlen);
	if ((src->index_cap && !s->index) || (src->udlen && !s->udata) ||
	    _bf_grow((void **)&s->elems, &s->cap_elems, src->n_elems,
		     sizeof(*s->elems))) {
		bf_nft_set_free(&s);
		return NULL;
	}
	for (size_t i = 0; i < src->n_elems; i++) {
		s->elems[i] = src->elems[i];
		++s->elems[i]->refcnt;
	}
	s->n_elems = src->n_elems;

	return s;
}

static struct bf_nft_table *_bf_table_clone(const struct bf_nft_table *src)
{
	struct bf_nft_table *t = malloc(sizeof(*t));

	if (!t)
		return NULL;
	*t = *src;
	t->chains = NULL;
	t->cap_chains = 0;
	t->n_chains = 0;
	t->sets = NULL;
	t->cap_sets = 0;
	t->n_sets = 0;
	t->dirty = false;
	t->flags_updated = false;
	t->udata = _bf_memdup(src->udata, src->udlen);
	if ((src->udlen && !t->udata) ||
	    _bf_grow((void **)&t->chains, &t->cap_chains, src->n_chains,
		     sizeof(*t->chains))) {
		bf_nft_table_free(&t, false);
		return NULL;
	}
	for (size_t i = 0; i < src->n_chains; i++) {
		t->chains[i] = _bf_chain_clone(src->chains[i]);
		if (!t->chains[i]) {
			bf_nft_table_free(&t, false);
			return NULL;
		}
		t->n_chains++;
	}
	if (_bf_grow((void **)&t->sets, &t->cap_sets, src->n_sets,
		     sizeof(*t->sets))) {
		bf_nft_table_free(&t, false);
		return NULL;
	}
	for (size_t i = 0; i < src->n_sets; i++) {
		t->sets[i] = _bf_set_clone(src->sets[i]);
		if (!t->sets[i]) {
			bf_nft_table_free(&t, false);
			return NULL;
		}
		t->n_sets++;
	}

	return t;
}

int bf_nft_world_clone(const struct bf_nft_world *src,
		       struct bf_nft_world **out)
{
	struct bf_nft_world *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->genid = src->genid;
	w->table_handle = src->table_handle;
	if (_bf_grow((void **)&w->tables, &w->cap_tables, src->n_tables,
		     sizeof(*w->tables))) {
		free(w);
		return -ENOMEM;
	}
	for (size_t i = 0; i < src->n_tables; i++) {
		w->tables[i] = _bf_table_clone(src->tables[i]);
		if (!w->tables[i]) {
			bf_nft_world_free(&w, false);
			return -ENOMEM;
		}
		w->n_tables++;
	}
	*out = w;

	return 0;
}

struct bf_nft_table *bf_nft_table_find(const struct bf_nft_world *w,
				       int family, const char *name)
{
	for (size_t i = 0; i < w->n_tables; i++) {
		struct bf_nft_table *t = w->tables[i];

		if (t->family == family && !strcmp(t->name, name))
			return t;
	}
	return NULL;
}

struct bf_nft_table *bf_nft_table_find_handle(const struct bf_nft_world *w,
					      int family, uint64_t handle)
{
	for (size_t i = 0; i < w->n_tables; i++) {
		struct bf_nft_table *t = w->tables[i];

		if (t->family == family && t->handle == handle)
			return t;
	}
	return NULL;
}

int bf_nft_table_add(struct bf_nft_world *w, struct bf_nft_table *t)
{
	if (_bf_grow((void **)&w->tables, &w->cap_tables, w->n_tables + 1,
		     sizeof(*w->tables)))
		return -ENOMEM;
	w->tables[w->n_tables++] = t;

	return 0;
}

void bf_nft_table_remove(struct bf_nft_world *w, struct bf_nft_table *t)
{
	for (size_t i = 0; i < w->n_tables; i++) {
		if (w->tables[i] != t)
			continue;
		memmove(&w->tables[i], &w->tables[i + 1],
			(w->n_tables - i - 1) * sizeof(*w->tables));
		w->n_tables--;
		return;
	}
}

struct bf_nft_chain *bf_nft_chain_find(const struct bf_nft_table *t,
				       const char *name)
{
	for (size_t i = 0; i < t->n_chains; i++) {
		if (!strcmp(t->chains[i]->name, name))
			return t->chains[i];
	}
	return NULL;
}

struct bf_nft_chain *bf_nft_chain_find_handle(const struct bf_nft_table *t,
					      uint64_t handle)
{
	for (size_t i = 0; i < t->n_chains; i++) {
		if (t->chains[i]->handle == handle)
			return t->chains[i];
	}
	return NULL;
}

int bf_nft_chain_add(struct bf_nft_table *t, struct bf_nft_chain *c)
{
	if (_bf_grow((void **)&t->chains, &t->cap_chains, t->n_chains + 1,
		     sizeof(*t->chains)))
		return -ENOMEM;
	t->chains[t->n_chains++] = c;

	return 0;
}

void bf_nft_chain_remove(struct bf_nft_table *t, struct bf_nft_chain *c)
{
	for (size_t i = 0; i < t->n_chains; i++) {
		if (t->chains[i] != c)
			continue;
		memmove(&t->chains[i], &t->chains[i + 1],
			(t->n_chains - i - 1) * sizeof(*t->chains));
		t->n_chains--;
		return;
	}
}

uint32_t bf_nft_chain_use(const struct bf_nft_table *t,
			  const struct bf_nft_chain *c)
{
	uint32_t use = (uint32_t)c->n_rules;

	for (size_t i = 0; i < t->n_chains; i++) {
		const struct bf_nft_chain *o = t->chains[i];

		for (size_t j = 0; j < o->n_rules; j++) {
			const struct bf_rule *ir = o->rules[j]->ir;

			if (o->rules[j]->jumps)
				use += bf_nft_ir_jumps(ir, c->name);
		}
	}
	/* Verdict map elements hold the chains they jump to. */
	for (size_t i = 0; i < t->n_sets; i++) {
		const struct bf_nft_set *s = t->sets[i];

		if (s->dtype != NFT_DATA_VERDICT)
			continue;
		for (size_t j = 0; j < s->n_elems; j++) {
			const struct bf_nft_elem *e = s->elems[j];

			use += e->has_data &&
			       (e->verdict == BF_VERDICT_JUMP ||
				e->verdict == BF_VERDICT_GOTO) &&
			       !strcmp(e->chain, c->name);
		}
	}

	return use;
}

ssize_t bf_nft_rule_find(const struct bf_nft_chain *c, uint64_t handle)
{
	for (size_t i = 0; i < c->n_rules; i++) {
		if (c->rules[i]->handle == handle)
			return (ssize_t)i;
	}
	return -1;
}

int bf_nft_rule_insert(struct bf_nft_chain *c, size_t pos,
		       struct bf_nft_rule *r)
{
	if (_bf_grow((void **)&c->rules, &c->cap_rules, c->n_rules + 1,
		     sizeof(*c->rules)))
		return -ENOMEM;
	memmove(&c->rules[pos + 1], &c->rules[pos],
		(c->n_rules - pos) * sizeof(*c->rules));
	c->rules[pos] = r;
	c->n_rules++;

	return 0;
}

void bf_nft_rule_remove_at(struct bf_nft_chain *c, size_t pos)
{
	bf_nft_rule_put(&c->rules[pos]);
	memmove(&c->rules[pos], &c->rules[pos + 1],
		(c->n_rules - pos - 1) * sizeof(*c->rules));
	c->n_rules--;
}

struct bf_nft_set *bf_nft_set_find(const struct bf_nft_table *t,
				   const char *name)
{
	for (size_t i = 0; i < t->n_sets; i++) {
		if (!strcmp(t->sets[i]->name, name))
			return t->sets[i];
	}
	return NULL;
}

struct bf_nft_set *bf_nft_set_find_handle(const struct bf_nft_table *t,
					  uint64_t handle)
{
	for (size_t i = 0; i < t->n_sets; i++) {
		if (t->sets[i]->handle == handle)
			return t->sets[i];
	}
	return NULL;
}

struct bf_nft_set *bf_nft_set_find_id(const struct bf_nft_table *t,
				      uint32_t id)
{
	for (size_t i = 0; id && i < t->n_sets; i++) {
		if (t->sets[i]->id == id)
			return t->sets[i];
	}
	return NULL;
}

int bf_nft_set_add(struct bf_nft_table *t, struct bf_nft_set *s)
{
	if (_bf_grow((void **)&t->sets, &t->cap_sets, t->n_sets + 1,
		     sizeof(*t->sets)))
		return -ENOMEM;
	t->sets[t->n_sets++] = s;

	return 0;
}

void bf_nft_set_remove(struct bf_nft_table *t, struct bf_nft_set *s)
{
	for (size_t i = 0; i < t->n_sets; i++) {
		if (t->sets[i] != s)
			continue;
		memmove(&t->sets[i], &t->sets[i + 1],
			(t->n_sets - i - 1) * sizeof(*t->sets));
		t->n_sets--;
		return;
	}
}

uint32_t bf_nft_set_use(const struct bf_nft_table *t, const char *name)
{
	uint32_t use = 0;

	for (size_t i = 0; i < t->n_chains; i++) {
		const struct bf_nft_chain *c = t->chains[i];

		for (size_t j = 0; j < c->n_rules; j++) {
			const struct bf_rule *ir = c->rules[j]->ir;

			for (size_t k = 0; k < ir->n_exprs; k++) {
				const struct bf_expr *e = &ir->exprs[k];

				use += (e->type == BF_EXPR_LOOKUP &&
					!strcmp(e->lookup.set, name)) ||
				       (e->type == BF_EXPR_VMAP &&
					!strcmp(e->vmap.set, name));
			}
		}
	}

	return use;
}

/* FNV-1a of the key and the interval-end flag. */
static size_t _bf_elem_hash(const struct bf_nft_set *s, const uint8_t *key,
			    uint32_t flags)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < s->klen; i++)
		h = (h ^ key[i]) * 0x100000001b3ull;
	h = (h ^ !!(flags & NFT_SET_ELEM_INTERVAL_END)) * 0x100000001b3ull;

	return (size_t)(h ^ (h >> 32));
}

static bool _bf_elem_is(const struct bf_nft_set *s, const struct bf_nft_elem *e,
			const uint8_t *key, uint32_t flags)
{
	return !memcmp(e->key, key, s->klen) &&
	       ((e->flags ^ flags) & NFT_SET_ELEM_INTERVAL_END) == 0;
}

/* The slot of (key, flags), or of the empty slot where it would go. */
static size_t _bf_index_slot(const struct bf_nft_set *s, const uint8_t *key,
			     uint32_t flags)
{
	size_t mask = s->index_cap - 1;
	size_t i = _bf_elem_hash(s, key, flags) & mask;

	while (s->index[i] && !_bf_elem_is(s, s->elems[s->index[i] - 1], key,
					   flags))
		i = (i + 1) & mask;
	return i;
}

static int _bf_index_grow(struct bf_nft_set *s, size_t need)
{
	size_t cap = s->index_cap ? s->index_cap : 64;
	uint32_t *index;

	while (cap < 2 * need)
		cap *= 2;
	if (cap == s->index_cap)
		return 0;
	index = calloc(cap, sizeof(*index));
	if (!index)
		return -ENOMEM;
	free(s->index);
	s->index = index;
	s->index_cap = cap;
	for (size_t i = 0; i < s->n_elems; i++)
		s->index[_bf_index_slot(s, s->elems[i]->key, s->elems[i]->flags)] =
			(uint32_t)(i + 1);

	return 0;
}

ssize_t bf_nft_elem_find(const struct bf_nft_set *s, const uint8_t *key,
			 uint32_t flags)
{
	size_t i;

	if (!s->index_cap)
		return -1;
	i = _bf_index_slot(s, key, flags);

	return s->index[i] ? (ssize_t)s->index[i] - 1 : -1;
}

int bf_nft_elem_insert(struct bf_nft_set *s, struct bf_nft_elem *e)
{
	if (s->n_elems >= UINT32_MAX - 1)
		return -ENOSPC;
	if (_bf_grow((void **)&s->elems, &s->cap_elems, s->n_elems + 1,
		     sizeof(*s->elems)) ||
	    _bf_index_grow(s, s->n_elems + 1))
		return -ENOMEM;
	s->elems[s->n_elems++] = e;
	s->index[_bf_index_slot(s, e->key, e->flags)] = (uint32_t)s->n_elems;

	return 0;
}

/* Linear probing deletion (backward shift): no tombstones. */
static void _bf_index_delete(struct bf_nft_set *s, size_t slot)
{
	size_t mask = s->index_cap - 1, i = slot, j = slot;

	for (;;) {
		const struct bf_nft_elem *e;
		size_t k;

		j = (j + 1) & mask;
		if (!s->index[j])
			break;
		e = s->elems[s->index[j] - 1];
		k = _bf_elem_hash(s, e->key, e->flags) & mask;
		/* Leave j where it is if its home k lies cyclically in
		 * (i, j]. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		s->index[i] = s->index[j];
		i = j;
	}
	s->index[i] = 0;
}

void bf_nft_elem_remove_at(struct bf_nft_set *s, size_t pos)
{
	size_t last = s->n_elems - 1;

	_bf_index_delete(s, _bf_index_slot(s, s->elems[pos]->key,
					   s->elems[pos]->flags));
	bf_nft_elem_put(&s->elems[pos]);
	if (pos != last) {
		/* The last element takes the hole. */
		s->elems[pos] = s->elems[last];
		s->index[_bf_index_slot(s, s->elems[pos]->key,
					s->elems[pos]->flags)] =
			(uint32_t)(pos + 1);
	}
	s->n_elems--;
}
