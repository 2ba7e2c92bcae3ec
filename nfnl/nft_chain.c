/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * NEWCHAIN and DELCHAIN (nf_tables_newchain(), nf_tables_delchain()):
 * base chain hooks, updates, renames (rules jumping to a renamed chain are
 * retargeted), flushes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpfilter/helpers.h>

#include "nfnl/expr.h"
#include "nfnl/nft.h"
#include "nfnl/nft_obj.h"

#define BF_NFT_CHAIN_BASE 0x1

int bf_nft_flush_chain(struct bf_nft_op *op, struct bf_nft_table *t,
			   struct bf_nft_chain *c)
{
	int r;

	while (c->n_rules) {
		r = bf_nft_delrule_at(op, t, c, 0);
		if (r)
			return r;
	}

	return 0;
}

int bf_nft_delchain_obj(struct bf_nft_op *op, struct bf_nft_table *t,
			    struct bf_nft_chain *c)
{
	int r = bf_nft_notify(op, NFT_MSG_DELCHAIN, t, c, SIZE_MAX);

	if (r)
		return r;
	bf_nft_chain_remove(t, c);
	bf_nft_chain_free(&c, false);
	t->dirty = true;
	op->txn->changed = true;

	return 0;
}

const struct bf_nla_policy bf_nft_chain_pol[NFTA_CHAIN_MAX + 1] = {
	[NFTA_CHAIN_TABLE] = { BF_NLA_STRING, BF_NFT_NAME_MAX - 1 },
	[NFTA_CHAIN_HANDLE] = { BF_NLA_U64, 0 },
	[NFTA_CHAIN_NAME] = { BF_NLA_STRING, BF_NFT_NAME_MAX - 1 },
	[NFTA_CHAIN_HOOK] = { BF_NLA_NESTED, 0 },
	[NFTA_CHAIN_POLICY] = { BF_NLA_U32, 0 },
	[NFTA_CHAIN_TYPE] = { BF_NLA_STRING, BF_NFT_TYPE_MAX - 1 },
	[NFTA_CHAIN_COUNTERS] = { BF_NLA_NESTED, 0 },
	[NFTA_CHAIN_FLAGS] = { BF_NLA_U32, 0 },
	[NFTA_CHAIN_ID] = { BF_NLA_U32, 0 },
	[NFTA_CHAIN_USERDATA] = { BF_NLA_BINARY, BF_NFT_UDATA_MAX },
};

static const struct bf_nla_policy _bf_hook_pol[NFTA_HOOK_MAX + 1] = {
	[NFTA_HOOK_HOOKNUM] = { BF_NLA_U32, 0 },
	[NFTA_HOOK_PRIORITY] = { BF_NLA_U32, 0 },
	[NFTA_HOOK_DEV] = { BF_NLA_STRING, 15 },
	[NFTA_HOOK_DEVS] = { BF_NLA_NESTED, 0 },
};

static int _bf_chain_hook(struct bf_nft_op *op, const struct nlattr **tb,
			  struct bf_nft_chain *c)
{
	const struct nlattr *htb[NFTA_HOOK_MAX + 1], *bad = NULL;
	const struct nlattr *hook = tb[NFTA_CHAIN_HOOK];
	int r;

	r = bf_nla_parse_nested(hook, _bf_hook_pol, NFTA_HOOK_MAX, htb, &bad);
	if (r)
		return bf_nft_op_fail(op, bad, r, NULL);
	if (!htb[NFTA_HOOK_HOOKNUM] || !htb[NFTA_HOOK_PRIORITY])
		return bf_nft_op_fail(op, hook, -EINVAL, NULL);

	c->hooknum = bf_nla_get_be32(htb[NFTA_HOOK_HOOKNUM]);
	c->prio = (int32_t)bf_nla_get_be32(htb[NFTA_HOOK_PRIORITY]);

	strcpy(c->type, "filter");
	if (tb[NFTA_CHAIN_TYPE]) {
		char type[BF_NFT_TYPE_MAX];

		bf_nft_attr_str(tb[NFTA_CHAIN_TYPE], type, sizeof(type));
		if (!strcmp(type, "nat") || !strcmp(type, "route"))
			return bf_nft_op_fail(op, tb[NFTA_CHAIN_TYPE], -EOPNOTSUPP,
					"bpfilter does not support chain type '%s'",
					type);
		if (strcmp(type, "filter"))
			return bf_nft_op_fail(op, tb[NFTA_CHAIN_TYPE], -ENOENT, NULL);
	}

	if (op->family == NFPROTO_NETDEV) {
		if (c->hooknum != NF_NETDEV_INGRESS &&
		    c->hooknum != NF_NETDEV_EGRESS)
			return bf_nft_op_fail(op, NULL, -EOPNOTSUPP, NULL);
		if (htb[NFTA_HOOK_DEVS]) {
			const struct nlattr *a;
			size_t rem, n = 0;

			for (a = bf_nla_first(htb[NFTA_HOOK_DEVS], &rem); a;
			     a = bf_nla_next(a, &rem)) {
				if (++n > 1)
					return bf_nft_op_fail(op, a, -EOPNOTSUPP,
							"bpfilter does not support netdev chains on several devices");
				if (bf_nft_attr_str(a, c->dev, sizeof(c->dev)))
					return bf_nft_op_fail(op, a, -ENAMETOOLONG,
							NULL);
			}
		} else if (htb[NFTA_HOOK_DEV]) {
			bf_nft_attr_str(htb[NFTA_HOOK_DEV], c->dev,
					sizeof(c->dev));
		}
	} else if (c->hooknum > NF_INET_POST_ROUTING) {
		return bf_nft_op_fail(op, htb[NFTA_HOOK_HOOKNUM], -EOPNOTSUPP,
				"bpfilter does not support hook %u in family %s",
				c->hooknum, bf_nft_family_str(op->family));
	}

	return 0;
}

static int _bf_chain_lookup(struct bf_nft_op *op, const struct nlattr **tb,
			    struct bf_nft_table *t, struct bf_nft_chain **out,
			    const struct nlattr **attr)
{
	char name[BF_NFT_NAME_MAX];

	*out = NULL;
	if (tb[NFTA_CHAIN_HANDLE]) {
		*attr = tb[NFTA_CHAIN_HANDLE];
		*out = bf_nft_chain_find_handle(t,
				bf_nla_get_be64(tb[NFTA_CHAIN_HANDLE]));
		if (!*out)
			return bf_nft_op_fail(op, *attr, -ENOENT, NULL);
		return 0;
	}
	if (!tb[NFTA_CHAIN_NAME])
		return bf_nft_op_fail(op, NULL, -EINVAL, NULL);
	*attr = tb[NFTA_CHAIN_NAME];
	if (bf_nft_attr_str(tb[NFTA_CHAIN_NAME], name, sizeof(name)))
		return bf_nft_op_fail(op, *attr, -ENAMETOOLONG, NULL);
	*out = bf_nft_chain_find(t, name);

	return 0;
}

/* NEWCHAIN with a handle and a name: the chain is renamed, and the rules
 * jumping to it follow (they name it in the IR). */
static int _bf_rename_chain(struct bf_nft_op *op, struct bf_nft_table *t,
			    struct bf_nft_chain *c, const struct nlattr *attr)
{
	char name[BF_NFT_NAME_MAX];

	if (bf_nft_attr_str(attr, name, sizeof(name)))
		return bf_nft_op_fail(op, attr, -ENAMETOOLONG, NULL);
	/* The kernel looks the new name up first: renaming a chain to its
	 * own name is EEXIST too. */
	if (bf_nft_chain_find(t, name))
		return bf_nft_op_fail(op, attr, -EEXIST, NULL);

	for (size_t i = 0; i < t->n_chains; i++) {
		struct bf_nft_chain *o = t->chains[i];

		for (size_t j = 0; j < o->n_rules; j++) {
			struct bf_nft_rule *nr = NULL;
			int r;

			if (!o->rules[j]->jumps ||
			    !bf_nft_ir_jumps(o->rules[j]->ir, c->name))
				continue;
			r = bf_nft_rule_retarget(o->rules[j], c->name, name, &nr);
			if (r)
				return r;
			bf_nft_rule_put(&o->rules[j]);
			o->rules[j] = nr;
		}
	}
	/* Verdict map elements follow the chain (the kernel holds a pointer):
	 * copies, the shared elements are left alone. */
	for (size_t i = 0; i < t->n_sets; i++) {
		struct bf_nft_set *s = t->sets[i];

		for (size_t j = 0; j < s->n_elems; j++) {
			struct bf_nft_elem *e = s->elems[j], *ne;

			if (s->dtype != NFT_DATA_VERDICT || !e->has_data ||
			    (e->verdict != BF_VERDICT_JUMP &&
			     e->verdict != BF_VERDICT_GOTO) ||
			    strcmp(e->chain, c->name))
				continue;
			ne = malloc(sizeof(*ne));
			if (!ne)
				return -ENOMEM;
			*ne = *e;
			ne->refcnt = 1;
			ne->udata = NULL;
			if (e->udlen) {
				ne->udata = malloc(e->udlen);
				if (!ne->udata) {
					free(ne);
					return -ENOMEM;
				}
				memcpy(ne->udata, e->udata, e->udlen);
			}
			snprintf(ne->chain, sizeof(ne->chain), "%s", name);
			bf_nft_elem_put(&s->elems[j]);
			s->elems[j] = ne;
			t->dirty = true;
		}
	}
	snprintf(c->name, sizeof(c->name), "%s", name);

	return 0;
}

int bf_nft_newchain(struct bf_nft_op *op, const struct nlattr **tb)
{
	uint16_t nlflags = op->nlh->nlmsg_flags;
	const struct nlattr *attr = NULL;
	struct bf_nft_table *t;
	struct bf_nft_chain *c, *nc;
	uint32_t policy = NF_ACCEPT;
	uint32_t flags = 0;
	int r = 0;

	t = bf_nft_op_table(op, tb[NFTA_CHAIN_TABLE], &r);
	if (!t)
		return r;
	r = _bf_chain_lookup(op, tb, t, &c, &attr);
	if (r)
		return r;

	if (tb[NFTA_CHAIN_POLICY]) {
		if ((c && !c->base) || (!c && !tb[NFTA_CHAIN_HOOK]))
			return bf_nft_op_fail(op, tb[NFTA_CHAIN_POLICY], -EOPNOTSUPP,
					NULL);
		policy = bf_nla_get_be32(tb[NFTA_CHAIN_POLICY]);
		if (policy != NF_DROP && policy != NF_ACCEPT)
			return bf_nft_op_fail(op, tb[NFTA_CHAIN_POLICY], -EINVAL,
					NULL);
	}
	if (tb[NFTA_CHAIN_FLAGS])
		flags = bf_nla_get_be32(tb[NFTA_CHAIN_FLAGS]);
	else if (c)
		flags = c->flags;
	if (flags & ~0x7u)
		return bf_nft_op_fail(op, NULL, -EOPNOTSUPP, NULL);
	if (flags & ~BF_NFT_CHAIN_BASE)
		return bf_nft_op_fail(op, tb[NFTA_CHAIN_FLAGS], -EOPNOTSUPP,
				"bpfilter does not support chain flags other than base");

	if (c) {
		if (nlflags & NLM_F_EXCL)
			return bf_nft_op_fail(op, attr, -EEXIST, NULL);
		if (nlflags & NLM_F_REPLACE)
			return bf_nft_op_fail(op, attr, -EOPNOTSUPP, NULL);
		if (tb[NFTA_CHAIN_HOOK]) {
			struct bf_nft_chain tmp = { 0 };

			if (!c->base)
				return bf_nft_op_fail(op, attr, -EEXIST, NULL);
			r = _bf_chain_hook(op, tb, &tmp);
			if (r)
				return r;
			/* nft_chain_parse_hook() on an existing base chain. */
			if (tmp.hooknum != c->hooknum || tmp.prio != c->prio ||
			    strcmp(tmp.dev, c->dev))
				return bf_nft_op_fail(op, NULL, -EOPNOTSUPP, NULL);
		}
		if (tb[NFTA_CHAIN_HANDLE] && tb[NFTA_CHAIN_NAME]) {
			r = _bf_rename_chain(op, t, c, tb[NFTA_CHAIN_NAME]);
			if (r)
				return r;
		}
		if (tb[NFTA_CHAIN_POLICY])
			c->policy = policy;
		c->last_nlh = op->nlh;
		t->dirty = true;
		op->txn->changed = true;
		return bf_nft_notify(op, NFT_MSG_NEWCHAIN, t, c, SIZE_MAX);
	}

	if (!(nlflags & NLM_F_CREATE))
		return bf_nft_op_fail(op, attr, -ENOENT, NULL);
	if (tb[NFTA_CHAIN_HANDLE])
		return bf_nft_op_fail(op, attr, -ENOENT, NULL);

	nc = calloc(1, sizeof(*nc));
	if (!nc)
		return -ENOMEM;
	bf_nft_attr_str(tb[NFTA_CHAIN_NAME], nc->name, sizeof(nc->name));
	nc->flags = flags;
	if (tb[NFTA_CHAIN_HOOK]) {
		nc->base = true;
		nc->policy = policy;
		nc->flags |= BF_NFT_CHAIN_BASE;
		r = _bf_chain_hook(op, tb, nc);
	} else if (flags & BF_NFT_CHAIN_BASE) {
		r = bf_nft_op_fail(op, NULL, -EINVAL, NULL);
	}
	if (!r && tb[NFTA_CHAIN_ID])
		nc->id = bf_nla_get_be32(tb[NFTA_CHAIN_ID]);
	if (!r)
		r = bf_nft_udata(tb[NFTA_CHAIN_USERDATA], &nc->udata, &nc->udlen);
	if (!r)
		r = bf_nft_chain_add(t, nc);
	if (r) {
		bf_nft_chain_free(&nc, false);
		return r;
	}
	nc->handle = ++t->hgen;
	nc->last_nlh = op->nlh;
	t->dirty = true;
	op->txn->changed = true;

	return bf_nft_notify(op, NFT_MSG_NEWCHAIN, t, nc, SIZE_MAX);
}

int bf_nft_delchain(struct bf_nft_op *op, const struct nlattr **tb)
{
	const struct nlattr *attr = NULL;
	struct bf_nft_table *t;
	struct bf_nft_chain *c;
	uint32_t use;
	int r = 0;

	t = bf_nft_op_table(op, tb[NFTA_CHAIN_TABLE], &r);
	if (!t)
		return r;
	r = _bf_chain_lookup(op, tb, t, &c, &attr);
	if (r)
		return r;
	if (!c)
		return bf_nft_op_fail(op, attr, -ENOENT, NULL);

	use = bf_nft_chain_use(t, c);
	if ((op->nlh->nlmsg_flags & NLM_F_NONREC) && use)
		return bf_nft_op_fail(op, attr, -EBUSY, NULL);
	/* As nf_tables_delchain(): the use counted before the chain's own
	 * rules go, less those rules; what is left are references, its own
	 * rules' jumps to itself included. */
	use -= (uint32_t)c->n_rules;
	r = bf_nft_flush_chain(op, t, c);
	if (r)
		return r;
	if (use)
		return bf_nft_op_fail(op, attr, -EBUSY, NULL);

	return bf_nft_delchain_obj(op, t, c);
}
