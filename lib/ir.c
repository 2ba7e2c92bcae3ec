/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The IR objects: enum names, and the rule / chain / table / set
 * containers with their ownership rules. The data helpers and expression
 * constructors live in expr.c, validation in validate.c, the text form in
 * dump.c, the stages of each expression kind in expr_desc.c.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <bpfilter/helpers.h>
#include <bpfilter/ir.h>

#include "lib/expr_desc.h"

#define _BF_UNKNOWN_STR "unknown"

static const char *const _bf_family_strs[] = {
	[BF_FAMILY_IP] = "ip",
	[BF_FAMILY_IP6] = "ip6",
	[BF_FAMILY_INET] = "inet",
	[BF_FAMILY_NETDEV] = "netdev",
};
_Static_assert(ARRAY_SIZE(_bf_family_strs) == _BF_FAMILY_MAX,
	       "family names out of sync");

static const char *const _bf_hook_strs[] = {
	[BF_HOOK_XDP] = "xdp",
	[BF_HOOK_TC_INGRESS] = "tc_ingress",
	[BF_HOOK_TC_EGRESS] = "tc_egress",
	[BF_HOOK_NF_PRE_ROUTING] = "nf_pre_routing",
	[BF_HOOK_NF_LOCAL_IN] = "nf_local_in",
	[BF_HOOK_NF_FORWARD] = "nf_forward",
	[BF_HOOK_NF_LOCAL_OUT] = "nf_local_out",
	[BF_HOOK_NF_POST_ROUTING] = "nf_post_routing",
	[BF_HOOK_CGROUP_SKB_INGRESS] = "cgroup_skb_ingress",
	[BF_HOOK_CGROUP_SKB_EGRESS] = "cgroup_skb_egress",
};
_Static_assert(ARRAY_SIZE(_bf_hook_strs) == _BF_HOOK_MAX,
	       "hook names out of sync");

static const char *const _bf_verdict_strs[] = {
	[BF_VERDICT_ACCEPT] = "accept",
	[BF_VERDICT_DROP] = "drop",
	[BF_VERDICT_CONTINUE] = "continue",
	[BF_VERDICT_RETURN] = "return",
	[BF_VERDICT_JUMP] = "jump",
	[BF_VERDICT_GOTO] = "goto",
};
_Static_assert(ARRAY_SIZE(_bf_verdict_strs) == _BF_VERDICT_MAX,
	       "verdict names out of sync");

static const char *const _bf_payload_base_strs[] = {
	[BF_PAYLOAD_LL] = "ll",
	[BF_PAYLOAD_NH] = "nh",
	[BF_PAYLOAD_TH] = "th",
};
_Static_assert(ARRAY_SIZE(_bf_payload_base_strs) == _BF_PAYLOAD_MAX,
	       "payload base names out of sync");

static const char *const _bf_meta_key_strs[] = {
	[BF_META_LEN] = "len",
	[BF_META_PROTOCOL] = "protocol",
	[BF_META_NFPROTO] = "nfproto",
	[BF_META_L4PROTO] = "l4proto",
	[BF_META_MARK] = "mark",
	[BF_META_IIF] = "iif",
	[BF_META_OIF] = "oif",
	[BF_META_IIFNAME] = "iifname",
	[BF_META_OIFNAME] = "oifname",
	[BF_META_IIFTYPE] = "iiftype",
	[BF_META_OIFTYPE] = "oiftype",
	[BF_META_PKTTYPE] = "pkttype",
	[BF_META_SKUID] = "skuid",
	[BF_META_SKGID] = "skgid",
	[BF_META_PRIORITY] = "priority",
};
_Static_assert(ARRAY_SIZE(_bf_meta_key_strs) == _BF_META_MAX,
	       "meta key names out of sync");

static const unsigned int _bf_meta_key_lens[] = {
	[BF_META_LEN] = 4,
	[BF_META_PROTOCOL] = 2,
	[BF_META_NFPROTO] = 1,
	[BF_META_L4PROTO] = 1,
	[BF_META_MARK] = 4,
	[BF_META_IIF] = 4,
	[BF_META_OIF] = 4,
	[BF_META_IIFNAME] = BF_IFNAME_MAX,
	[BF_META_OIFNAME] = BF_IFNAME_MAX,
	[BF_META_IIFTYPE] = 2,
	[BF_META_OIFTYPE] = 2,
	[BF_META_PKTTYPE] = 1,
	[BF_META_SKUID] = 4,
	[BF_META_SKGID] = 4,
	[BF_META_PRIORITY] = 4,
};
_Static_assert(ARRAY_SIZE(_bf_meta_key_lens) == _BF_META_MAX,
	       "meta key lengths out of sync");

/* nft's words for the keys (`ct state`, `ct original saddr`, ...). */
static const char *const _bf_ct_key_strs[] = {
	[BF_CT_STATE] = "state",
	[BF_CT_DIRECTION] = "direction",
	[BF_CT_STATUS] = "status",
	[BF_CT_MARK] = "mark",
	[BF_CT_EXPIRATION] = "expiration",
	[BF_CT_L3PROTO] = "l3proto",
	[BF_CT_PROTOCOL] = "protocol",
	[BF_CT_ZONE] = "zone",
	[BF_CT_SRC] = "saddr",
	[BF_CT_DST] = "daddr",
	[BF_CT_PROTO_SRC] = "proto-src",
	[BF_CT_PROTO_DST] = "proto-dst",
	[BF_CT_SRC_IP] = "ip saddr",
	[BF_CT_DST_IP] = "ip daddr",
	[BF_CT_SRC_IP6] = "ip6 saddr",
	[BF_CT_DST_IP6] = "ip6 daddr",
};
_Static_assert(ARRAY_SIZE(_bf_ct_key_strs) == _BF_CT_MAX,
	       "ct key names out of sync");

/* 0: the family decides (saddr, daddr). */
static const unsigned int _bf_ct_key_lens[] = {
	[BF_CT_STATE] = 4,
	[BF_CT_DIRECTION] = 1,
	[BF_CT_STATUS] = 4,
	[BF_CT_MARK] = 4,
	[BF_CT_EXPIRATION] = 4,
	[BF_CT_L3PROTO] = 1,
	[BF_CT_PROTOCOL] = 1,
	[BF_CT_ZONE] = 2,
	[BF_CT_SRC] = 0,
	[BF_CT_DST] = 0,
	[BF_CT_PROTO_SRC] = 2,
	[BF_CT_PROTO_DST] = 2,
	[BF_CT_SRC_IP] = 4,
	[BF_CT_DST_IP] = 4,
	[BF_CT_SRC_IP6] = 16,
	[BF_CT_DST_IP6] = 16,
};
_Static_assert(ARRAY_SIZE(_bf_ct_key_lens) == _BF_CT_MAX,
	       "ct key lengths out of sync");

static const char *const _bf_cmp_op_strs[] = {
	[BF_CMP_EQ] = "eq",
	[BF_CMP_NEQ] = "neq",
	[BF_CMP_LT] = "lt",
	[BF_CMP_LTE] = "lte",
	[BF_CMP_GT] = "gt",
	[BF_CMP_GTE] = "gte",
};
_Static_assert(ARRAY_SIZE(_bf_cmp_op_strs) == _BF_CMP_MAX,
	       "cmp op names out of sync");

/* Enum values come from callers (and from IR built by hand in tests), so an
 * out-of-range value gets a name instead of an out-of-bounds read. The
 * unsigned cast also catches negative values. */
#define _bf_enum_str(table, v)                                          \
	((unsigned int)(v) < ARRAY_SIZE(table) ? (table)[(unsigned int)(v)] \
					       : _BF_UNKNOWN_STR)

const char *bf_family_to_str(enum bf_family family)
{
	return _bf_enum_str(_bf_family_strs, family);
}

const char *bf_hook_to_str(enum bf_hook hook)
{
	return _bf_enum_str(_bf_hook_strs, hook);
}

const char *bf_verdict_to_str(enum bf_verdict verdict)
{
	return _bf_enum_str(_bf_verdict_strs, verdict);
}

const char *bf_payload_base_to_str(enum bf_payload_base base)
{
	return _bf_enum_str(_bf_payload_base_strs, base);
}

const char *bf_meta_key_to_str(enum bf_meta_key key)
{
	return _bf_enum_str(_bf_meta_key_strs, key);
}

const char *bf_ct_key_to_str(enum bf_ct_key key)
{
	return _bf_enum_str(_bf_ct_key_strs, key);
}

unsigned int bf_ct_key_len(enum bf_ct_key key, enum bf_family family)
{
	if ((unsigned int)key >= _BF_CT_MAX)
		return 0;
	if (_bf_ct_key_lens[key])
		return _bf_ct_key_lens[key];

	return family == BF_FAMILY_IP ? 4 : 16;
}

const char *bf_cmp_op_to_str(enum bf_cmp_op op)
{
	return _bf_enum_str(_bf_cmp_op_strs, op);
}

/* The name is the kind's descriptor's (lib/expr_desc.c). */
const char *bf_expr_type_to_str(enum bf_expr_type type)
{
	const struct bf_expr_desc *desc = bf_expr_desc_get(type);

	return desc ? desc->name : _BF_UNKNOWN_STR;
}

unsigned int bf_meta_key_len(enum bf_meta_key key)
{
	if ((unsigned int)key >= _BF_META_MAX)
		return 0;

	return _bf_meta_key_lens[key];
}

bool bf_hook_is_nf(enum bf_hook hook)
{
	switch (hook) {
	case BF_HOOK_NF_PRE_ROUTING:
	case BF_HOOK_NF_LOCAL_IN:
	case BF_HOOK_NF_FORWARD:
	case BF_HOOK_NF_LOCAL_OUT:
	case BF_HOOK_NF_POST_ROUTING:
		return true;
	default:
		return false;
	}
}

/* Room for one more item in a growable array: returns the array (possibly
 * moved) and updates *cap, or NULL with the array left as it was. */
static void *_bf_array_grow(void *items, size_t n, size_t *cap, size_t size)
{
	size_t new_cap;
	void *p;

	if (n < *cap)
		return items;

	if (*cap > SIZE_MAX / 2)
		return NULL;
	new_cap = *cap ? *cap * 2 : 4;

	p = reallocarray(items, new_cap, size);
	if (!p)
		return NULL;

	*cap = new_cap;

	return p;
}

/* Names are stored in fixed arrays: refuse empty names and names that do
 * not fit with their terminating NUL. */
static bool _bf_name_ok(const char *name)
{
	return name && name[0] && strnlen(name, BF_NAME_MAX) < BF_NAME_MAX;
}

static uint64_t _bf_rule_serial;

int bf_rule_new(struct bf_rule **rule)
{
	struct bf_rule *r;

	assert(rule);

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->refcnt = 1;
	r->serial = __atomic_add_fetch(&_bf_rule_serial, 1, __ATOMIC_RELAXED);
	r->id = r->serial;

	*rule = r;

	return 0;
}

struct bf_rule *bf_rule_get(struct bf_rule *rule)
{
	assert(rule && rule->refcnt);

	rule->refcnt++;
	return rule;
}

void bf_rule_free(struct bf_rule **rule)
{
	if (!rule || !*rule)
		return;

	if (--(*rule)->refcnt) {
		*rule = NULL;
		return;
	}
	free((*rule)->exprs);
	free(*rule);
	*rule = NULL;
}

int bf_rule_add_expr(struct bf_rule *rule, const struct bf_expr *expr)
{
	struct bf_expr *exprs;

	assert(rule);
	assert(expr);

	exprs = _bf_array_grow(rule->exprs, rule->n_exprs, &rule->cap_exprs,
			       sizeof(*exprs));
	if (!exprs)
		return -ENOMEM;

	rule->exprs = exprs;
	rule->exprs[rule->n_exprs++] = *expr;

	return 0;
}

int bf_chain_new(struct bf_chain **chain, const char *name)
{
	struct bf_chain *c;

	assert(chain);

	if (!_bf_name_ok(name))
		return -EINVAL;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;

	strcpy(c->name, name);
	c->policy = BF_VERDICT_ACCEPT;
	*chain = c;

	return 0;
}

int bf_chain_new_base(struct bf_chain **chain, const char *name,
		      enum bf_hook hook, int32_t priority,
		      enum bf_verdict policy)
{
	struct bf_chain *c;
	int r;

	assert(chain);

	if ((unsigned int)hook >= _BF_HOOK_MAX)
		return -EINVAL;
	if (policy != BF_VERDICT_ACCEPT && policy != BF_VERDICT_DROP)
		return -EINVAL;

	r = bf_chain_new(&c, name);
	if (r)
		return r;

	c->base = true;
	c->hook = hook;
	c->priority = priority;
	c->policy = policy;
	*chain = c;

	return 0;
}

void bf_chain_free(struct bf_chain **chain)
{
	struct bf_chain *c;

	if (!chain || !*chain)
		return;

	c = *chain;
	for (size_t i = 0; i < c->n_rules; i++)
		bf_rule_free(&c->rules[i]);
	free(c->rules);
	free(c);
	*chain = NULL;
}

int bf_chain_add_rule(struct bf_chain *chain, struct bf_rule **rule)
{
	struct bf_rule **rules;

	assert(chain);

	if (!rule || !*rule)
		return -EINVAL;

	rules = _bf_array_grow(chain->rules, chain->n_rules, &chain->cap_rules,
			       sizeof(*rules));
	if (!rules)
		return -ENOMEM;

	chain->rules = rules;
	chain->rules[chain->n_rules++] = TAKE_PTR(*rule);

	return 0;
}

int bf_table_new(struct bf_table **table, const char *name,
		 enum bf_family family)
{
	struct bf_table *t;

	assert(table);

	if (!_bf_name_ok(name))
		return -EINVAL;
	if ((unsigned int)family >= _BF_FAMILY_MAX)
		return -EINVAL;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;

	strcpy(t->name, name);
	t->family = family;
	*table = t;

	return 0;
}

void bf_table_free(struct bf_table **table)
{
	struct bf_table *t;

	if (!table || !*table)
		return;

	t = *table;
	for (size_t i = 0; i < t->n_chains; i++)
		bf_chain_free(&t->chains[i]);
	free(t->chains);
	for (size_t i = 0; i < t->n_sets; i++)
		bf_set_free(&t->sets[i]);
	free(t->sets);
	free(t);
	*table = NULL;
}

int bf_set_new(struct bf_set **set, const char *name, uint8_t key_len,
	       uint32_t flags)
{
	struct bf_set *s;

	assert(set);

	if (!_bf_name_ok(name) || !key_len || key_len > BF_SET_KEY_MAX ||
	    (flags & ~(BF_SET_F_PREFIX | BF_SET_F_VMAP)))
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	strcpy(s->name, name);
	s->key_len = key_len;
	s->flags = flags;
	*set = s;

	return 0;
}

void bf_set_free(struct bf_set **set)
{
	if (!set || !*set)
		return;
	free((*set)->keys);
	free((*set)->prefix);
	free((*set)->values);
	free((*set)->verdicts);
	free(*set);
	*set = NULL;
}

int bf_set_add_key(struct bf_set *set, const uint8_t *key, uint8_t prefix)
{
	assert(set);

	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 16;
		uint8_t *k = realloc(set->keys, cap * set->key_len);

		if (!k)
			return -ENOMEM;
		set->keys = k;
		k = realloc(set->prefix, cap);
		if (!k)
			return -ENOMEM;
		set->prefix = k;
		if (set->flags & BF_SET_F_VMAP) {
			uint32_t *v = reallocarray(set->values, cap,
						   sizeof(*v));

			if (!v)
				return -ENOMEM;
			set->values = v;
		}
		set->cap = cap;
	}
	memcpy(set->keys + set->n * set->key_len, key, set->key_len);
	set->prefix[set->n] = (set->flags & BF_SET_F_PREFIX) ? prefix :
							       set->key_len * 8;
	set->n++;

	return 0;
}

static int _bf_verdict_cmp(const struct bf_set_verdict *a,
			   const struct bf_set_verdict *b)
{
	if (a->code != b->code)
		return a->code < b->code ? -1 : 1;
	return strncmp(a->chain, b->chain, BF_NAME_MAX);
}

int bf_set_add_verdict_key(struct bf_set *set, const uint8_t *key,
			   uint8_t prefix, enum bf_verdict code,
			   const char *chain)
{
	struct bf_set_verdict v = { .code = code };
	size_t i;
	int r;

	assert(set);

	if (!(set->flags & BF_SET_F_VMAP) || (unsigned int)code >= _BF_VERDICT_MAX)
		return -EINVAL;
	if (chain && (code == BF_VERDICT_JUMP || code == BF_VERDICT_GOTO)) {
		if (strnlen(chain, BF_NAME_MAX) == BF_NAME_MAX)
			return -EINVAL;
		strcpy(v.chain, chain);
	}
	/* The verdicts stay sorted: insert v in its place, renumbering the
	 * keys already added. */
	for (i = 0; i < set->n_verdicts; i++) {
		int c = _bf_verdict_cmp(&v, &set->verdicts[i]);

		if (c <= 0)
			break;
	}
	if (i == set->n_verdicts || _bf_verdict_cmp(&v, &set->verdicts[i])) {
		struct bf_set_verdict *vs =
			reallocarray(set->verdicts, set->n_verdicts + 1,
				     sizeof(*vs));

		if (!vs)
			return -ENOMEM;
		set->verdicts = vs;
		memmove(&vs[i + 1], &vs[i], (set->n_verdicts - i) * sizeof(*vs));
		vs[i] = v;
		set->n_verdicts++;
		for (size_t k = 0; k < set->n; k++) {
			if (set->values[k] >= i)
				set->values[k]++;
		}
	}
	r = bf_set_add_key(set, key, prefix);
	if (r)
		return r;
	set->values[set->n - 1] = (uint32_t)i;

	return 0;
}

int bf_table_add_set(struct bf_table *table, struct bf_set **set)
{
	struct bf_set **sets;

	assert(table);

	if (!set || !*set)
		return -EINVAL;
	if (bf_table_get_set(table, (*set)->name))
		return -EEXIST;
	sets = _bf_array_grow(table->sets, table->n_sets, &table->cap_sets,
			      sizeof(*sets));
	if (!sets)
		return -ENOMEM;
	table->sets = sets;
	table->sets[table->n_sets++] = *set;
	*set = NULL;

	return 0;
}

const struct bf_set *bf_table_get_set(const struct bf_table *table,
				      const char *name)
{
	for (size_t i = 0; i < table->n_sets; i++) {
		if (!strncmp(table->sets[i]->name, name, BF_NAME_MAX))
			return table->sets[i];
	}

	return NULL;
}

int bf_table_add_chain(struct bf_table *table, struct bf_chain **chain)
{
	struct bf_chain **chains;

	assert(table);

	if (!chain || !*chain)
		return -EINVAL;

	/* Same rule as nf_tables: a chain name is unique in its table. */
	if (bf_table_get_chain(table, (*chain)->name))
		return -EEXIST;

	chains = _bf_array_grow(table->chains, table->n_chains,
				&table->cap_chains, sizeof(*chains));
	if (!chains)
		return -ENOMEM;

	table->chains = chains;
	table->chains[table->n_chains++] = TAKE_PTR(*chain);

	return 0;
}

struct bf_chain *bf_table_get_chain(const struct bf_table *table,
				    const char *name)
{
	assert(table);

	if (!name)
		return NULL;

	for (size_t i = 0; i < table->n_chains; i++) {
		if (strncmp(table->chains[i]->name, name, BF_NAME_MAX) == 0)
			return table->chains[i];
	}

	return NULL;
}
