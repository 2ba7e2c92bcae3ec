/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Batch messages on tables, chains and rules, with the checks, error
 * codes and offending attributes of nf_tables_{new,del}{table,chain,rule}()
 * (6.18), applied to the transaction's copy of the world. Each change
 * queues its monitor events.
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

#define BF_NFT_CHAIN_BASE 0x1

static int _bf_fail(struct bf_nft_op *op, const struct nlattr *bad, int err,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int _bf_fail(struct bf_nft_op *op, const struct nlattr *bad, int err,
		    const char *fmt, ...)
{
	va_list ap;

	op->bad = bad;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(op->msg, sizeof(op->msg), fmt, ap);
		va_end(ap);
	}

	return err;
}

static const char *_bf_family_str(int family)
{
	switch (family) {
	case NFPROTO_INET: return "inet";
	case NFPROTO_IPV4: return "ip";
	case NFPROTO_ARP: return "arp";
	case NFPROTO_NETDEV: return "netdev";
	case NFPROTO_BRIDGE: return "bridge";
	case NFPROTO_IPV6: return "ip6";
	default: return "unknown";
	}
}

static int _bf_check_family(struct bf_nft_op *op)
{
	switch (op->family) {
	case NFPROTO_INET:
	case NFPROTO_IPV4:
	case NFPROTO_IPV6:
	case NFPROTO_NETDEV:
		return 0;
	case NFPROTO_ARP:
	case NFPROTO_BRIDGE:
		return _bf_fail(op, NULL, -EOPNOTSUPP,
				"bpfilter does not support the %s family",
				_bf_family_str(op->family));
	default:
		return _bf_fail(op, NULL, -EAFNOSUPPORT, NULL);
	}
}

static int _bf_udata(const struct nlattr *a, uint8_t **data, uint16_t *len)
{
	if (!a)
		return 0;
	*len = (uint16_t)bf_nla_len(a);
	*data = malloc(*len ? *len : 1);
	if (!*data)
		return -ENOMEM;
	memcpy(*data, bf_nla_data(a), *len);

	return 0;
}

/* Events, as nf_tables_{table,chain,rule}_notify() build them. */
static int _bf_notify(struct bf_nft_op *op, uint16_t event,
		      const struct bf_nft_table *t,
		      const struct bf_nft_chain *c, size_t idx)
{
	const struct nlmsghdr *nlh = op->nlh;
	uint16_t flags = nlh->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL);
	size_t size = 1 << 16;
	_cleanup_free_ uint8_t *buf = malloc(size);
	struct nlmsghdr *out = (struct nlmsghdr *)buf;
	uint32_t genid = op->txn->old->genid + 1;
	int r;

	if (!buf)
		return -ENOMEM;
	if (!genid)
		genid = 1;

	if (!c) {
		r = bf_nft_fill_table(out, size, event, flags, op->txn->portid,
				      nlh->nlmsg_seq, genid, t);
	} else if (idx == SIZE_MAX) {
		r = bf_nft_fill_chain(out, size, event, flags, op->txn->portid,
				      nlh->nlmsg_seq, genid, t, c);
	} else {
		if (nlh->nlmsg_flags & (NLM_F_APPEND | NLM_F_REPLACE))
			flags |= NLM_F_APPEND;
		r = bf_nft_fill_rule(out, size, event, flags, op->txn->portid,
				     nlh->nlmsg_seq, genid, t, c, idx, false);
	}
	if (r)
		return r;

	return bf_nft_txn_event(op->txn, buf, out->nlmsg_len,
				nlh->nlmsg_flags & NLM_F_ECHO);
}

static struct bf_nft_table *_bf_table_lookup(struct bf_nft_op *op,
					     const struct nlattr *name,
					     int *err)
{
	char buf[BF_NFT_NAME_MAX];
	struct bf_nft_table *t;

	if (!name) {
		*err = _bf_fail(op, NULL, -EINVAL, NULL);
		return NULL;
	}
	if (bf_nft_attr_str(name, buf, sizeof(buf)) ||
	    !(t = bf_nft_table_find(op->txn->w, op->family, buf))) {
		*err = _bf_fail(op, name, -ENOENT, NULL);
		return NULL;
	}

	return t;
}

/* Tables */

static const struct bf_nla_policy _bf_table_pol[NFTA_TABLE_MAX + 1] = {
	[NFTA_TABLE_NAME] = { BF_NLA_STRING, BF_NFT_NAME_MAX - 1 },
	[NFTA_TABLE_FLAGS] = { BF_NLA_U32, 0 },
	[NFTA_TABLE_HANDLE] = { BF_NLA_U64, 0 },
	[NFTA_TABLE_USERDATA] = { BF_NLA_BINARY, BF_NFT_UDATA_MAX },
};

static int _bf_newtable(struct bf_nft_op *op, const struct nlattr **tb)
{
	uint16_t nlflags = op->nlh->nlmsg_flags;
	struct bf_nft_world *w = op->txn->w;
	char name[BF_NFT_NAME_MAX];
	struct bf_nft_table *t;
	uint32_t flags = 0;
	int r;

	if (!tb[NFTA_TABLE_NAME])
		return _bf_fail(op, NULL, -EINVAL, NULL);
	if (bf_nft_attr_str(tb[NFTA_TABLE_NAME], name, sizeof(name)))
		return _bf_fail(op, tb[NFTA_TABLE_NAME], -EINVAL, NULL);
	if (tb[NFTA_TABLE_FLAGS])
		flags = bf_nla_get_be32(tb[NFTA_TABLE_FLAGS]);

	t = bf_nft_table_find(w, op->family, name);
	if (t) {
		if (nlflags & NLM_F_EXCL)
			return _bf_fail(op, tb[NFTA_TABLE_NAME], -EEXIST, NULL);
		if (nlflags & NLM_F_REPLACE)
			return _bf_fail(op, NULL, -EOPNOTSUPP, NULL);
		if (!tb[NFTA_TABLE_FLAGS])
			return 0;
		if (flags & ~0x7u)
			return _bf_fail(op, NULL, -EOPNOTSUPP, NULL);
		if (flags == t->flags)
			return 0;
		if ((flags ^ t->flags) & ~BF_NFT_TABLE_F_DORMANT)
			return _bf_fail(op, tb[NFTA_TABLE_FLAGS], -EOPNOTSUPP,
					"bpfilter does not support table flags owner and persist");
		/* nf_tables_updtable(): no dormant on/off games in one
		 * transaction. */
		if (t->flags_updated)
			return _bf_fail(op, NULL, -EINVAL, NULL);
		t->flags = flags;
		t->flags_updated = true;
		t->dirty = true;
		op->txn->changed = true;
		return _bf_notify(op, NFT_MSG_NEWTABLE, t, NULL, 0);
	}

	if (flags & ~0x7u)
		return _bf_fail(op, tb[NFTA_TABLE_FLAGS], -EOPNOTSUPP, NULL);
	if (flags & ~BF_NFT_TABLE_F_DORMANT)
		return _bf_fail(op, tb[NFTA_TABLE_FLAGS], -EOPNOTSUPP,
				"bpfilter does not support table flags owner and persist");

	r = _bf_check_family(op);
	if (r)
		return r;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->family = op->family;
	strcpy(t->name, name);
	t->handle = ++w->table_handle;
	t->flags = flags;
	r = _bf_udata(tb[NFTA_TABLE_USERDATA], &t->udata, &t->udlen);
	if (!r)
		r = bf_nft_table_add(w, t);
	if (r) {
		bf_nft_table_free(&t, false);
		return r;
	}
	t->dirty = true;
	op->txn->changed = true;

	return _bf_notify(op, NFT_MSG_NEWTABLE, t, NULL, 0);
}

static int _bf_delrule_at(struct bf_nft_op *op, struct bf_nft_table *t,
			  struct bf_nft_chain *c, size_t idx)
{
	int r = _bf_notify(op, NFT_MSG_DELRULE, t, c, idx);

	if (r)
		return r;
	bf_nft_rule_remove_at(c, idx);
	c->last_nlh = op->nlh;
	t->dirty = true;
	op->txn->changed = true;

	return 0;
}

static int _bf_flush_chain(struct bf_nft_op *op, struct bf_nft_table *t,
			   struct bf_nft_chain *c)
{
	int r;

	while (c->n_rules) {
		r = _bf_delrule_at(op, t, c, 0);
		if (r)
			return r;
	}

	return 0;
}

static int _bf_delchain_obj(struct bf_nft_op *op, struct bf_nft_table *t,
			    struct bf_nft_chain *c)
{
	int r = _bf_notify(op, NFT_MSG_DELCHAIN, t, c, SIZE_MAX);

	if (r)
		return r;
	bf_nft_chain_remove(t, c);
	bf_nft_chain_free(&c, false);
	t->dirty = true;
	op->txn->changed = true;

	return 0;
}

static int _bf_deltable_obj(struct bf_nft_op *op, struct bf_nft_table *t)
{
	int r;

	/* nft_flush_table(): rules, then chains, then the table. */
	for (size_t i = 0; i < t->n_chains; i++) {
		r = _bf_flush_chain(op, t, t->chains[i]);
		if (r)
			return r;
	}
	while (t->n_chains) {
		r = _bf_delchain_obj(op, t, t->chains[0]);
		if (r)
			return r;
	}
	r = _bf_notify(op, NFT_MSG_DELTABLE, t, NULL, 0);
	if (r)
		return r;
	bf_nft_table_remove(op->txn->w, t);
	bf_nft_table_free(&t, false);
	op->txn->changed = true;

	return 0;
}

static int _bf_deltable(struct bf_nft_op *op, const struct nlattr **tb)
{
	struct bf_nft_world *w = op->txn->w;
	char name[BF_NFT_NAME_MAX] = "";
	struct bf_nft_table *t;
	int r;

	if (tb[NFTA_TABLE_NAME] &&
	    bf_nft_attr_str(tb[NFTA_TABLE_NAME], name, sizeof(name)))
		return _bf_fail(op, tb[NFTA_TABLE_NAME], -ENOENT, NULL);

	if (op->family == NFPROTO_UNSPEC ||
	    (!tb[NFTA_TABLE_NAME] && !tb[NFTA_TABLE_HANDLE])) {
		/* nft_flush(): every table of the family, or the named one. */
		for (size_t i = 0; i < w->n_tables;) {
			t = w->tables[i];
			if ((op->family != NFPROTO_UNSPEC &&
			     t->family != op->family) ||
			    (tb[NFTA_TABLE_NAME] && strcmp(t->name, name))) {
				i++;
				continue;
			}
			r = _bf_deltable_obj(op, t);
			if (r)
				return r;
		}
		return 0;
	}

	if (tb[NFTA_TABLE_HANDLE]) {
		t = bf_nft_table_find_handle(w, op->family,
					     bf_nla_get_be64(tb[NFTA_TABLE_HANDLE]));
		if (!t)
			return _bf_fail(op, tb[NFTA_TABLE_HANDLE], -ENOENT, NULL);
	} else {
		t = bf_nft_table_find(w, op->family, name);
		if (!t)
			return _bf_fail(op, tb[NFTA_TABLE_NAME], -ENOENT, NULL);
	}

	if ((op->nlh->nlmsg_flags & NLM_F_NONREC) && t->n_chains)
		return _bf_fail(op, NULL, -EBUSY, NULL);

	return _bf_deltable_obj(op, t);
}

/* Chains */

static const struct bf_nla_policy _bf_chain_pol[NFTA_CHAIN_MAX + 1] = {
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
		return _bf_fail(op, bad, r, NULL);
	if (!htb[NFTA_HOOK_HOOKNUM] || !htb[NFTA_HOOK_PRIORITY])
		return _bf_fail(op, hook, -EINVAL, NULL);

	c->hooknum = bf_nla_get_be32(htb[NFTA_HOOK_HOOKNUM]);
	c->prio = (int32_t)bf_nla_get_be32(htb[NFTA_HOOK_PRIORITY]);

	strcpy(c->type, "filter");
	if (tb[NFTA_CHAIN_TYPE]) {
		char type[BF_NFT_TYPE_MAX];

		bf_nft_attr_str(tb[NFTA_CHAIN_TYPE], type, sizeof(type));
		if (!strcmp(type, "nat") || !strcmp(type, "route"))
			return _bf_fail(op, tb[NFTA_CHAIN_TYPE], -EOPNOTSUPP,
					"bpfilter does not support chain type '%s'",
					type);
		if (strcmp(type, "filter"))
			return _bf_fail(op, tb[NFTA_CHAIN_TYPE], -ENOENT, NULL);
	}

	if (op->family == NFPROTO_NETDEV) {
		if (c->hooknum != NF_NETDEV_INGRESS &&
		    c->hooknum != NF_NETDEV_EGRESS)
			return _bf_fail(op, NULL, -EOPNOTSUPP, NULL);
		if (htb[NFTA_HOOK_DEVS]) {
			const struct nlattr *a;
			size_t rem, n = 0;

			for (a = bf_nla_first(htb[NFTA_HOOK_DEVS], &rem); a;
			     a = bf_nla_next(a, &rem)) {
				if (++n > 1)
					return _bf_fail(op, a, -EOPNOTSUPP,
							"bpfilter does not support netdev chains on several devices");
				if (bf_nft_attr_str(a, c->dev, sizeof(c->dev)))
					return _bf_fail(op, a, -ENAMETOOLONG,
							NULL);
			}
		} else if (htb[NFTA_HOOK_DEV]) {
			bf_nft_attr_str(htb[NFTA_HOOK_DEV], c->dev,
					sizeof(c->dev));
		}
	} else if (c->hooknum > NF_INET_POST_ROUTING) {
		return _bf_fail(op, htb[NFTA_HOOK_HOOKNUM], -EOPNOTSUPP,
				"bpfilter does not support hook %u in family %s",
				c->hooknum, _bf_family_str(op->family));
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
			return _bf_fail(op, *attr, -ENOENT, NULL);
		return 0;
	}
	if (!tb[NFTA_CHAIN_NAME])
		return _bf_fail(op, NULL, -EINVAL, NULL);
	*attr = tb[NFTA_CHAIN_NAME];
	if (bf_nft_attr_str(tb[NFTA_CHAIN_NAME], name, sizeof(name)))
		return _bf_fail(op, *attr, -ENAMETOOLONG, NULL);
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
		return _bf_fail(op, attr, -ENAMETOOLONG, NULL);
	/* The kernel looks the new name up first: renaming a chain to its
	 * own name is EEXIST too. */
	if (bf_nft_chain_find(t, name))
		return _bf_fail(op, attr, -EEXIST, NULL);

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
	snprintf(c->name, sizeof(c->name), "%s", name);

	return 0;
}

static int _bf_newchain(struct bf_nft_op *op, const struct nlattr **tb)
{
	uint16_t nlflags = op->nlh->nlmsg_flags;
	const struct nlattr *attr = NULL;
	struct bf_nft_table *t;
	struct bf_nft_chain *c, *nc;
	uint32_t policy = NF_ACCEPT;
	uint32_t flags = 0;
	int r = 0;

	t = _bf_table_lookup(op, tb[NFTA_CHAIN_TABLE], &r);
	if (!t)
		return r;
	r = _bf_chain_lookup(op, tb, t, &c, &attr);
	if (r)
		return r;

	if (tb[NFTA_CHAIN_POLICY]) {
		if ((c && !c->base) || (!c && !tb[NFTA_CHAIN_HOOK]))
			return _bf_fail(op, tb[NFTA_CHAIN_POLICY], -EOPNOTSUPP,
					NULL);
		policy = bf_nla_get_be32(tb[NFTA_CHAIN_POLICY]);
		if (policy != NF_DROP && policy != NF_ACCEPT)
			return _bf_fail(op, tb[NFTA_CHAIN_POLICY], -EINVAL,
					NULL);
	}
	if (tb[NFTA_CHAIN_FLAGS])
		flags = bf_nla_get_be32(tb[NFTA_CHAIN_FLAGS]);
	else if (c)
		flags = c->flags;
	if (flags & ~0x7u)
		return _bf_fail(op, NULL, -EOPNOTSUPP, NULL);
	if (flags & ~BF_NFT_CHAIN_BASE)
		return _bf_fail(op, tb[NFTA_CHAIN_FLAGS], -EOPNOTSUPP,
				"bpfilter does not support chain flags other than base");

	if (c) {
		if (nlflags & NLM_F_EXCL)
			return _bf_fail(op, attr, -EEXIST, NULL);
		if (nlflags & NLM_F_REPLACE)
			return _bf_fail(op, attr, -EOPNOTSUPP, NULL);
		if (tb[NFTA_CHAIN_HOOK]) {
			struct bf_nft_chain tmp = { 0 };

			if (!c->base)
				return _bf_fail(op, attr, -EEXIST, NULL);
			r = _bf_chain_hook(op, tb, &tmp);
			if (r)
				return r;
			/* nft_chain_parse_hook() on an existing base chain. */
			if (tmp.hooknum != c->hooknum || tmp.prio != c->prio ||
			    strcmp(tmp.dev, c->dev))
				return _bf_fail(op, NULL, -EOPNOTSUPP, NULL);
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
		return _bf_notify(op, NFT_MSG_NEWCHAIN, t, c, SIZE_MAX);
	}

	if (!(nlflags & NLM_F_CREATE))
		return _bf_fail(op, attr, -ENOENT, NULL);
	if (tb[NFTA_CHAIN_HANDLE])
		return _bf_fail(op, attr, -ENOENT, NULL);

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
		r = _bf_fail(op, NULL, -EINVAL, NULL);
	}
	if (!r && tb[NFTA_CHAIN_ID])
		nc->id = bf_nla_get_be32(tb[NFTA_CHAIN_ID]);
	if (!r)
		r = _bf_udata(tb[NFTA_CHAIN_USERDATA], &nc->udata, &nc->udlen);
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

	return _bf_notify(op, NFT_MSG_NEWCHAIN, t, nc, SIZE_MAX);
}

static int _bf_delchain(struct bf_nft_op *op, const struct nlattr **tb)
{
	const struct nlattr *attr = NULL;
	struct bf_nft_table *t;
	struct bf_nft_chain *c;
	int r = 0;

	t = _bf_table_lookup(op, tb[NFTA_CHAIN_TABLE], &r);
	if (!t)
		return r;
	r = _bf_chain_lookup(op, tb, t, &c, &attr);
	if (r)
		return r;
	if (!c)
		return _bf_fail(op, attr, -ENOENT, NULL);

	if ((op->nlh->nlmsg_flags & NLM_F_NONREC) && bf_nft_chain_use(t, c))
		return _bf_fail(op, attr, -EBUSY, NULL);
	r = _bf_flush_chain(op, t, c);
	if (r)
		return r;
	if (bf_nft_chain_use(t, c))
		return _bf_fail(op, attr, -EBUSY, NULL);

	return _bf_delchain_obj(op, t, c);
}

/* Rules */

static const struct bf_nla_policy _bf_rule_pol[NFTA_RULE_MAX + 1] = {
	[NFTA_RULE_TABLE] = { BF_NLA_STRING, BF_NFT_NAME_MAX - 1 },
	[NFTA_RULE_CHAIN] = { BF_NLA_STRING, BF_NFT_NAME_MAX - 1 },
	[NFTA_RULE_HANDLE] = { BF_NLA_U64, 0 },
	[NFTA_RULE_EXPRESSIONS] = { BF_NLA_NESTED, 0 },
	[NFTA_RULE_COMPAT] = { BF_NLA_NESTED, 0 },
	[NFTA_RULE_POSITION] = { BF_NLA_U64, 0 },
	[NFTA_RULE_USERDATA] = { BF_NLA_BINARY, BF_NFT_UDATA_MAX },
	[NFTA_RULE_ID] = { BF_NLA_U32, 0 },
	[NFTA_RULE_POSITION_ID] = { BF_NLA_U32, 0 },
	[NFTA_RULE_CHAIN_ID] = { BF_NLA_U32, 0 },
};

static int _bf_rule_chain(struct bf_nft_op *op, const struct nlattr **tb,
			  struct bf_nft_table *t, struct bf_nft_chain **out)
{
	char name[BF_NFT_NAME_MAX];

	*out = NULL;
	if (tb[NFTA_RULE_CHAIN]) {
		if (bf_nft_attr_str(tb[NFTA_RULE_CHAIN], name, sizeof(name)) ||
		    !(*out = bf_nft_chain_find(t, name)))
			return _bf_fail(op, tb[NFTA_RULE_CHAIN], -ENOENT, NULL);
		return 0;
	}
	if (tb[NFTA_RULE_CHAIN_ID]) {
		uint32_t id = bf_nla_get_be32(tb[NFTA_RULE_CHAIN_ID]);

		for (size_t i = 0; i < t->n_chains; i++) {
			if (t->chains[i]->id == id && id) {
				*out = t->chains[i];
				return 0;
			}
		}
		return _bf_fail(op, tb[NFTA_RULE_CHAIN_ID], -ENOENT, NULL);
	}

	return 0;
}

/* The NFTA_LIST_ELEM of expression @idx. */
static const struct nlattr *_bf_expr_elem(const struct nlattr *exprs,
					  size_t idx)
{
	const struct nlattr *a;
	size_t rem;

	for (a = bf_nla_first(exprs, &rem); a && idx; a = bf_nla_next(a, &rem))
		idx--;

	return a ? a : exprs;
}

static int _bf_check_jumps(struct bf_nft_op *op, const struct nlattr *exprs,
			   struct bf_nft_table *t, const struct bf_rule *ir)
{
	for (size_t i = 0; i < ir->n_exprs; i++) {
		const struct bf_expr *e = &ir->exprs[i];
		const struct bf_nft_chain *target;

		if (e->type != BF_EXPR_VERDICT ||
		    (e->verdict.code != BF_VERDICT_JUMP &&
		     e->verdict.code != BF_VERDICT_GOTO))
			continue;
		target = bf_nft_chain_find(t, e->verdict.chain);
		if (!target)
			return _bf_fail(op, _bf_expr_elem(exprs, i), -ENOENT,
					NULL);
		if (target->base)
			return _bf_fail(op, _bf_expr_elem(exprs, i),
					-EOPNOTSUPP, NULL);
	}

	return 0;
}

static int _bf_newrule(struct bf_nft_op *op, const struct nlattr **tb)
{
	uint16_t nlflags = op->nlh->nlmsg_flags;
	struct bf_nft_rule *rule = NULL;
	struct bf_nft_table *t;
	struct bf_nft_chain *c;
	struct bf_nft_err err;
	ssize_t old = -1;
	uint64_t handle;
	size_t pos;
	int r = 0;

	t = _bf_table_lookup(op, tb[NFTA_RULE_TABLE], &r);
	if (!t)
		return r;
	r = _bf_rule_chain(op, tb, t, &c);
	if (r)
		return r;
	if (!c)
		return _bf_fail(op, NULL, -EINVAL, NULL);

	if (tb[NFTA_RULE_HANDLE]) {
		handle = bf_nla_get_be64(tb[NFTA_RULE_HANDLE]);
		old = bf_nft_rule_find(c, handle);
		if (old < 0)
			return _bf_fail(op, tb[NFTA_RULE_HANDLE], -ENOENT, NULL);
		if (nlflags & NLM_F_EXCL)
			return _bf_fail(op, tb[NFTA_RULE_HANDLE], -EEXIST, NULL);
		if (!(nlflags & NLM_F_REPLACE))
			return _bf_fail(op, NULL, -EOPNOTSUPP, NULL);
	} else {
		if (!(nlflags & NLM_F_CREATE) || (nlflags & NLM_F_REPLACE))
			return _bf_fail(op, NULL, -EINVAL, NULL);
		/* Consumed even if the rule is refused, as in the kernel. */
		handle = ++t->hgen;
		if (tb[NFTA_RULE_POSITION]) {
			old = bf_nft_rule_find(c,
				bf_nla_get_be64(tb[NFTA_RULE_POSITION]));
			if (old < 0)
				return _bf_fail(op, tb[NFTA_RULE_POSITION],
						-ENOENT, NULL);
		} else if (tb[NFTA_RULE_POSITION_ID]) {
			return _bf_fail(op, tb[NFTA_RULE_POSITION_ID],
					-EOPNOTSUPP,
					"bpfilter does not support NFTA_RULE_POSITION_ID");
		}
	}

	rule = calloc(1, sizeof(*rule));
	if (!rule)
		return -ENOMEM;
	rule->refcnt = 1;
	rule->handle = handle;
	r = bf_rule_new(&rule->ir);
	if (r)
		goto err;
	rule->ir->handle = handle;
	r = _bf_udata(tb[NFTA_RULE_USERDATA], &rule->udata, &rule->udlen);
	if (r)
		goto err;

	if (tb[NFTA_RULE_EXPRESSIONS]) {
		r = bf_nft_exprs_to_ir(tb[NFTA_RULE_EXPRESSIONS], op->family,
				       rule->ir, &err);
		if (r) {
			_bf_fail(op, err.attr ? err.attr :
						tb[NFTA_RULE_EXPRESSIONS],
				 r, "%s", err.msg);
			goto err;
		}
		r = _bf_check_jumps(op, tb[NFTA_RULE_EXPRESSIONS], t,
				    rule->ir);
		if (r)
			goto err;
		rule->jumps = bf_nft_ir_jumps(rule->ir, NULL);
	}

	if (nlflags & NLM_F_REPLACE) {
		r = _bf_notify(op, NFT_MSG_DELRULE, t, c, (size_t)old);
		if (r)
			goto err;
		bf_nft_rule_put(&c->rules[old]);
		c->rules[old] = rule;
		pos = (size_t)old;
	} else {
		if (nlflags & NLM_F_APPEND)
			pos = old >= 0 ? (size_t)old + 1 : c->n_rules;
		else
			pos = old >= 0 ? (size_t)old : 0;
		r = bf_nft_rule_insert(c, pos, rule);
		if (r)
			goto err;
	}

	c->last_nlh = op->nlh;
	t->dirty = true;
	op->txn->changed = true;

	return _bf_notify(op, NFT_MSG_NEWRULE, t, c, pos);

err:
	bf_nft_rule_put(&rule);
	return r;
}

static int _bf_delrule(struct bf_nft_op *op, const struct nlattr **tb)
{
	struct bf_nft_table *t;
	struct bf_nft_chain *c;
	ssize_t idx;
	int r = 0;

	t = _bf_table_lookup(op, tb[NFTA_RULE_TABLE], &r);
	if (!t)
		return r;
	r = _bf_rule_chain(op, tb, t, &c);
	if (r)
		return r;

	if (c) {
		if (tb[NFTA_RULE_HANDLE]) {
			idx = bf_nft_rule_find(c,
				bf_nla_get_be64(tb[NFTA_RULE_HANDLE]));
			if (idx < 0)
				return _bf_fail(op, tb[NFTA_RULE_HANDLE],
						-ENOENT, NULL);
			return _bf_delrule_at(op, t, c, (size_t)idx);
		}
		if (tb[NFTA_RULE_ID])
			return _bf_fail(op, tb[NFTA_RULE_ID], -EOPNOTSUPP,
					"bpfilter does not support NFTA_RULE_ID");
		return _bf_flush_chain(op, t, c);
	}

	for (size_t i = 0; i < t->n_chains; i++) {
		r = _bf_flush_chain(op, t, t->chains[i]);
		if (r)
			return r;
	}

	return 0;
}

int bf_nft_obj_msg(struct bf_nft_op *op)
{
	const struct nlattr *tb[NFTA_RULE_MAX + NFTA_CHAIN_MAX + 1];
	const struct nlattr *bad = NULL;
	uint8_t type = op->nlh->nlmsg_type & 0xff;
	int r;

	switch (type) {
	case NFT_MSG_NEWTABLE:
	case NFT_MSG_DELTABLE:
		if (bf_nft_parse_msg(op->nlh, _bf_table_pol, NFTA_TABLE_MAX, tb,
				     &bad))
			return _bf_fail(op, bad, -EINVAL, NULL);
		if (type == NFT_MSG_DELTABLE)
			return _bf_deltable(op, tb);
		return _bf_newtable(op, tb);
	case NFT_MSG_NEWCHAIN:
	case NFT_MSG_DELCHAIN:
		if (bf_nft_parse_msg(op->nlh, _bf_chain_pol, NFTA_CHAIN_MAX, tb,
				     &bad))
			return _bf_fail(op, bad, -EINVAL, NULL);
		r = _bf_check_family(op);
		if (r)
			return r;
		if (type == NFT_MSG_DELCHAIN)
			return _bf_delchain(op, tb);
		return _bf_newchain(op, tb);
	case NFT_MSG_NEWRULE:
	case NFT_MSG_DELRULE:
		if (bf_nft_parse_msg(op->nlh, _bf_rule_pol, NFTA_RULE_MAX, tb,
				     &bad))
			return _bf_fail(op, bad, -EINVAL, NULL);
		r = _bf_check_family(op);
		if (r)
			return r;
		if (type == NFT_MSG_DELRULE)
			return _bf_delrule(op, tb);
		return _bf_newrule(op, tb);
	case NFT_MSG_NEWSET:
	case NFT_MSG_NEWSETELEM:
	case NFT_MSG_DELSET:
	case NFT_MSG_DELSETELEM:
		return _bf_fail(op, NULL, -EOPNOTSUPP,
				"bpfilter does not support sets yet");
	case NFT_MSG_NEWOBJ:
	case NFT_MSG_DELOBJ:
		return _bf_fail(op, NULL, -EOPNOTSUPP,
				"bpfilter does not support stateful objects yet");
	case NFT_MSG_NEWFLOWTABLE:
	case NFT_MSG_DELFLOWTABLE:
		return _bf_fail(op, NULL, -EOPNOTSUPP,
				"bpfilter does not support flowtables");
	default:
		return _bf_fail(op, NULL, -EOPNOTSUPP, NULL);
	}
}
