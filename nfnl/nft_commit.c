/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The nft side of a commit: the dirty tables of a transaction's world are
 * lowered to IR with their base chains declared as the ruleset core
 * (daemon/ruleset.h) takes them, and a refusal is turned into the message
 * to blame. Compile, attach, undo and namespace entry are the core's.
 *
 *   ip, ip6 base chain  -> one program, the table's family
 *   inet base chain     -> IPv4 + IPv6 programs
 *   netdev with device  -> TC ingress or egress (no device: not compiled)
 */
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpfilter/helpers.h>
#include <bpfilter/logger.h>

#include "daemon/ruleset.h"
#include "nfnl/nft.h"

int bf_nft_counter(const struct bf_nft_table *t, const struct bf_nft_chain *c,
		   size_t rule, size_t expr, uint64_t *packets,
		   uint64_t *bytes)
{
	bool found = false;

	*packets = 0;
	*bytes = 0;
	for (size_t i = 0; i < t->n_chains; i++) {
		uint64_t p, b;

		if (bf_rs_chain_counter(t->chains[i]->rs, c->name, rule, expr,
					&p, &b))
			continue;
		*packets += p;
		*bytes += b;
		found = true;
	}

	return found ? 0 : -ENOENT;
}

static int _bf_ir_family(int family, enum bf_family *out)
{
	switch (family) {
	case NFPROTO_IPV4: *out = BF_FAMILY_IP; return 0;
	case NFPROTO_IPV6: *out = BF_FAMILY_IP6; return 0;
	case NFPROTO_INET: *out = BF_FAMILY_INET; return 0;
	case NFPROTO_NETDEV: *out = BF_FAMILY_NETDEV; return 0;
	default: return -EOPNOTSUPP;
	}
}

static enum bf_hook _bf_ir_hook(int family, uint32_t hooknum)
{
	if (family == NFPROTO_NETDEV)
		return hooknum == NF_NETDEV_EGRESS ? BF_HOOK_TC_EGRESS :
						     BF_HOOK_TC_INGRESS;
	return (enum bf_hook)(BF_HOOK_NF_PRE_ROUTING + hooknum);
}

/* Records {key, end flag}: big-endian key order and, for one key, the end
 * of an interval before the start of the next (adjacent intervals, as nft
 * sends `{ 10.0.0.0/30, 10.0.0.4/30 }`: an end and a start at 10.0.0.4). */
static int _bf_key_cmp(const void *a, const void *b, void *len)
{
	size_t klen = *(size_t *)len;
	int r = memcmp(a, b, klen);

	if (r)
		return r;
	return (int)((const uint8_t *)b)[klen] - (int)((const uint8_t *)a)[klen];
}

/* Add [lo, hi] (inclusive, big-endian, @len bytes) to @set as the fewest
 * prefixes that cover it exactly. */
static int _bf_range_prefixes(struct bf_set *set, const uint8_t *lo,
			      const uint8_t *hi, size_t len,
			      const struct bf_nft_elem *e)
{
	uint8_t cur[BF_NFT_SET_DATA_MAX], end[BF_NFT_SET_DATA_MAX];
	size_t bits = len * 8;
	int r;

	memcpy(cur, lo, len);
	for (;;) {
		size_t k = 0; /* host bits of the largest aligned block */

		/* Grow the block while cur is aligned to it and it fits. */
		while (k < bits) {
			size_t bit = bits - 1 - k; /* bit index from the top */
			bool aligned = !(cur[bit / 8] & (0x80 >> (bit % 8)));

			if (!aligned)
				break;
			/* end = cur | ((1 << (k + 1)) - 1) */
			memcpy(end, cur, len);
			for (size_t j = 0; j <= k; j++) {
				size_t b2 = bits - 1 - j;

				end[b2 / 8] |= 0x80 >> (b2 % 8);
			}
			if (memcmp(end, hi, len) > 0)
				break;
			k++;
		}
		r = (set->flags & BF_SET_F_VMAP) ?
			    bf_set_add_verdict_key(set, cur, (uint8_t)(bits - k),
						   e->verdict, e->chain) :
			    bf_set_add_key(set, cur, (uint8_t)(bits - k));
		if (r)
			return r;
		/* end of this block = cur | ((1 << k) - 1) */
		memcpy(end, cur, len);
		for (size_t j = 0; j < k; j++) {
			size_t b2 = bits - 1 - j;

			end[b2 / 8] |= 0x80 >> (b2 % 8);
		}
		if (memcmp(end, hi, len) >= 0)
			return 0;
		/* cur = end + 1 */
		memcpy(cur, end, len);
		for (size_t i = len; i-- > 0;) {
			if (++cur[i])
				break;
		}
	}
}

/* The IR set of @s: exact keys, or for an interval set the prefixes that
 * cover its intervals (start elements open an interval, the next
 * interval-end element closes it, exclusive; none: up to the largest
 * key), as nf_tables' rbtree holds them. */
static int _bf_set_ir(const struct bf_nft_set *s, struct bf_set **out)
{
	bool interval = s->flags & NFT_SET_INTERVAL;
	bool vmap = s->dtype == NFT_DATA_VERDICT;
	_cleanup_free_ uint8_t *keys = NULL;
	struct bf_set *set = NULL;
	size_t klen = s->klen;
	int r;

	r = bf_set_new(&set, s->name, (uint8_t)s->klen,
		       (interval ? BF_SET_F_PREFIX : 0) |
			       (vmap ? BF_SET_F_VMAP : 0));
	if (r)
		return r;
	if (!interval) {
		for (size_t i = 0; i < s->n_elems && !r; i++) {
			const struct bf_nft_elem *e = s->elems[i];

			r = vmap ? bf_set_add_verdict_key(set, e->key, 0,
							  e->verdict, e->chain) :
				   bf_set_add_key(set, e->key, 0);
		}
		goto out;
	}

	/* Sorted records: key, end flag (one byte), element index. */
	size_t rl = klen + 1 + sizeof(size_t);

	keys = malloc((s->n_elems ? s->n_elems : 1) * rl);
	if (!keys) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < s->n_elems; i++) {
		memcpy(keys + i * rl, s->elems[i]->key, klen);
		keys[i * rl + klen] =
			!!(s->elems[i]->flags & NFT_SET_ELEM_INTERVAL_END);
		memcpy(keys + i * rl + klen + 1, &i, sizeof(i));
	}
	qsort_r(keys, s->n_elems, rl, _bf_key_cmp, &klen);
	for (size_t i = 0; i < s->n_elems && !r; i++) {
		const uint8_t *lo = keys + i * rl;
		uint8_t hi[BF_NFT_SET_DATA_MAX];
		size_t ei;

		if (lo[klen])
			continue; /* an end without a start */
		memcpy(&ei, lo + klen + 1, sizeof(ei));
		if (i + 1 < s->n_elems && keys[(i + 1) * rl + klen]) {
			/* [lo, next) */
			memcpy(hi, keys + (i + 1) * rl, klen);
			for (size_t j = klen; j-- > 0;) {
				if (hi[j]--)
					break;
			}
		} else {
			memset(hi, 0xff, klen);
		}
		if (memcmp(hi, lo, klen) < 0)
			continue;
		r = _bf_range_prefixes(set, lo, hi, klen, s->elems[ei]);
	}

out:
	if (r)
		bf_set_free(&set);
	else
		*out = set;
	return r;
}

/* The IR of a table, for the ruleset core (which keeps no pointer). */
static int _bf_table_ir(const struct bf_nft_table *t, struct bf_table **out)
{
	struct bf_table *table = NULL;
	enum bf_family family;
	int r;

	r = _bf_ir_family(t->family, &family);
	if (r)
		return r;
	r = bf_table_new(&table, t->name, family);
	if (r)
		return r;

	for (size_t i = 0; i < t->n_chains; i++) {
		const struct bf_nft_chain *c = t->chains[i];
		struct bf_chain *chain = NULL;

		if (c->base) {
			r = bf_chain_new_base(&chain, c->name,
					      _bf_ir_hook(t->family, c->hooknum),
					      c->prio,
					      c->policy == NF_DROP ?
						      BF_VERDICT_DROP :
						      BF_VERDICT_ACCEPT);
			if (!r)
				snprintf(chain->ifname, sizeof(chain->ifname),
					 "%s", c->dev);
		} else {
			r = bf_chain_new(&chain, c->name);
		}
		/* The front-end's rules are shared, not copied: a commit
		 * next to 10000 rules stays cheap. */
		for (size_t j = 0; !r && j < c->n_rules; j++) {
			struct bf_rule *rule = bf_rule_get(c->rules[j]->ir);

			r = bf_chain_add_rule(chain, &rule);
			bf_rule_free(&rule);
		}
		if (!r)
			r = bf_table_add_chain(table, &chain);
		bf_chain_free(&chain);
		if (r) {
			bf_table_free(&table);
			return r;
		}
	}
	/* The sets lookups name (the others are never compiled). */
	for (size_t i = 0; i < t->n_sets; i++) {
		struct bf_set *set = NULL;

		if (!bf_nft_set_use(t, t->sets[i]->name))
			continue;
		r = _bf_set_ir(t->sets[i], &set);
		if (!r)
			r = bf_table_add_set(table, &set);
		bf_set_free(&set);
		if (r) {
			bf_table_free(&table);
			return r;
		}
	}
	*out = table;

	return 0;
}

static const struct nlmsghdr *_bf_blame(const struct bf_nft_table *t,
					const struct bf_nft_chain *c)
{
	const struct nlmsghdr *last = c->last_nlh;

	/* A jumped-to chain may be the culprit: the table's last message. */
	for (size_t i = 0; !last && i < t->n_chains; i++) {
		if (t->chains[i]->last_nlh > last)
			last = t->chains[i]->last_nlh;
	}

	return last;
}

static bool _bf_rs_in(const struct bf_nft_world *w,
		      const struct bf_rs_chain *rs)
{
	for (size_t i = 0; i < w->n_tables; i++) {
		const struct bf_nft_table *t = w->tables[i];

		for (size_t j = 0; j < t->n_chains; j++) {
			if (t->chains[j]->rs == rs)
				return true;
		}
	}
	return false;
}

/* What the core commits of one dirty table, and the nft chain of each base. */
struct bf_nft_rs_table {
	struct bf_nft_table *t;
	struct bf_nft_chain **chains;
};

/* Declare the base chains of @t to the core: *@out gets the table's entry. */
static int _bf_rs_table(struct bf_nft_table *t, struct bf_rs_table *out,
			struct bf_nft_rs_table *map)
{
	struct bf_rs_base *bases;
	size_t n = 0;
	int r;

	bases = calloc(t->n_chains ? t->n_chains : 1, sizeof(*bases));
	map->chains = calloc(t->n_chains ? t->n_chains : 1,
			     sizeof(*map->chains));
	if (!bases || !map->chains) {
		free(bases);
		free(map->chains);
		map->chains = NULL;
		return -ENOMEM;
	}
	map->t = t;

	for (size_t j = 0; j < t->n_chains; j++) {
		struct bf_nft_chain *c = t->chains[j];

		if (!c->base || (t->family == NFPROTO_NETDEV && !c->dev[0]))
			continue;
		bases[n] = (struct bf_rs_base) {
			.name = c->name,
			.hook = _bf_ir_hook(t->family, c->hooknum),
			.nfprotos = t->family == NFPROTO_INET ?
					    BF_RS_IPV4 | BF_RS_IPV6 : 0,
			.priority = c->prio,
			.ifname = c->dev,
			.dormant = t->flags & BF_NFT_TABLE_F_DORMANT,
			.rs = c->rs,
			.adopt = c->adopt,
			.adopt_len = c->adopt_len,
		};
		map->chains[n++] = c;
	}
	out->bases = bases;
	out->n_bases = n;
	out->ir = NULL;
	if (!n)
		return 0;

	r = _bf_table_ir(t, &out->ir);
	if (r) {
		free(bases);
		free(map->chains);
		map->chains = NULL;
		out->bases = NULL;
	}

	return r;
}

int bf_nft_commit(struct bf_netns_ctx *ctx, struct bf_nft_world *prev,
		  struct bf_nft_world *next, const struct nlmsghdr **bad_nlh,
		  char *msg, size_t msglen)
{
	struct bf_rs_table *tables = NULL;
	struct bf_nft_rs_table *map = NULL;
	struct bf_rs_error err;
	size_t n = 0;
	int r = 0;

	tables = calloc(next->n_tables ? next->n_tables : 1, sizeof(*tables));
	map = calloc(next->n_tables ? next->n_tables : 1, sizeof(*map));
	if (!tables || !map) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < next->n_tables; i++) {
		struct bf_nft_table *t = next->tables[i];

		if (!t->dirty)
			continue;
		r = _bf_rs_table(t, &tables[n], &map[n]);
		if (r) {
			snprintf(msg, msglen, "table '%s': %s", t->name,
				 strerror(-r));
			for (size_t j = 0; j < t->n_chains && !*bad_nlh; j++) {
				if (t->chains[j]->base)
					*bad_nlh = _bf_blame(t, t->chains[j]);
			}
			goto out;
		}
		n++;
	}

	r = bf_ruleset_commit(ctx, tables, n, &err);
	if (r) {
		snprintf(msg, msglen, "%s", err.msg);
		if (err.table < n && err.base < tables[err.table].n_bases) {
			const struct bf_nft_rs_table *m = &map[err.table];
			const struct bf_nft_chain *c = m->chains[err.base];

			/* A compile error may come from a jumped-to chain. */
			*bad_nlh = err.stage == BF_RS_STAGE_COMPILE ?
					   _bf_blame(m->t, c) :
					   c->last_nlh;
		}
		goto out;
	}

	/* Keep the handles; close what is gone. */
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < tables[i].n_bases; j++)
			map[i].chains[j]->rs = tables[i].bases[j].rs;
	}
	for (size_t i = 0; i < prev->n_tables; i++) {
		struct bf_nft_table *t = prev->tables[i];

		for (size_t j = 0; j < t->n_chains; j++) {
			struct bf_nft_chain *c = t->chains[j];

			if (c->rs && !_bf_rs_in(next, c->rs))
				bf_rs_chain_free(&c->rs);
		}
	}

out:
	for (size_t i = 0; tables && i < n; i++) {
		bf_table_free(&tables[i].ir);
		free(tables[i].bases);
		free(map[i].chains);
	}
	free(tables);
	free(map);

	return r;
}
