/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * NEWTABLE and DELTABLE (nf_tables_newtable(), nf_tables_deltable(),
 * nft_flush()): a table is deleted with its rules, then its chains, each
 * with its monitor event.
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

const struct bf_nla_policy bf_nft_table_pol[NFTA_TABLE_MAX + 1] = {
	[NFTA_TABLE_NAME] = { BF_NLA_STRING, BF_NFT_NAME_MAX - 1 },
	[NFTA_TABLE_FLAGS] = { BF_NLA_U32, 0 },
	[NFTA_TABLE_HANDLE] = { BF_NLA_U64, 0 },
	[NFTA_TABLE_USERDATA] = { BF_NLA_BINARY, BF_NFT_UDATA_MAX },
};

int bf_nft_newtable(struct bf_nft_op *op, const struct nlattr **tb)
{
	uint16_t nlflags = op->nlh->nlmsg_flags;
	struct bf_nft_world *w = op->txn->w;
	char name[BF_NFT_NAME_MAX];
	struct bf_nft_table *t;
	uint32_t flags = 0;
	int r;

	if (!tb[NFTA_TABLE_NAME])
		return bf_nft_op_fail(op, NULL, -EINVAL, NULL);
	if (bf_nft_attr_str(tb[NFTA_TABLE_NAME], name, sizeof(name)))
		return bf_nft_op_fail(op, tb[NFTA_TABLE_NAME], -EINVAL, NULL);
	if (tb[NFTA_TABLE_FLAGS])
		flags = bf_nla_get_be32(tb[NFTA_TABLE_FLAGS]);

	t = bf_nft_table_find(w, op->family, name);
	if (t) {
		if (nlflags & NLM_F_EXCL)
			return bf_nft_op_fail(op, tb[NFTA_TABLE_NAME], -EEXIST, NULL);
		if (nlflags & NLM_F_REPLACE)
			return bf_nft_op_fail(op, NULL, -EOPNOTSUPP, NULL);
		if (!tb[NFTA_TABLE_FLAGS])
			return 0;
		if (flags & ~0x7u)
			return bf_nft_op_fail(op, NULL, -EOPNOTSUPP, NULL);
		if (flags == t->flags)
			return 0;
		if ((flags ^ t->flags) & ~BF_NFT_TABLE_F_DORMANT)
			return bf_nft_op_fail(op, tb[NFTA_TABLE_FLAGS], -EOPNOTSUPP,
					"bpfilter does not support table flags owner and persist");
		/* nf_tables_updtable(): no dormant on/off games in one
		 * transaction. */
		if (t->flags_updated)
			return bf_nft_op_fail(op, NULL, -EINVAL, NULL);
		t->flags = flags;
		t->flags_updated = true;
		t->dirty = true;
		op->txn->changed = true;
		return bf_nft_notify(op, NFT_MSG_NEWTABLE, t, NULL, 0);
	}

	if (flags & ~0x7u)
		return bf_nft_op_fail(op, tb[NFTA_TABLE_FLAGS], -EOPNOTSUPP, NULL);
	if (flags & ~BF_NFT_TABLE_F_DORMANT)
		return bf_nft_op_fail(op, tb[NFTA_TABLE_FLAGS], -EOPNOTSUPP,
				"bpfilter does not support table flags owner and persist");

	r = bf_nft_check_family(op);
	if (r)
		return r;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->family = op->family;
	strcpy(t->name, name);
	t->handle = ++w->table_handle;
	t->flags = flags;
	r = bf_nft_udata(tb[NFTA_TABLE_USERDATA], &t->udata, &t->udlen);
	if (!r)
		r = bf_nft_table_add(w, t);
	if (r) {
		bf_nft_table_free(&t, false);
		return r;
	}
	t->dirty = true;
	op->txn->changed = true;

	return bf_nft_notify(op, NFT_MSG_NEWTABLE, t, NULL, 0);
}

static int _bf_deltable_obj(struct bf_nft_op *op, struct bf_nft_table *t)
{
	int r;

	/* nft_flush_table(): rules, then chains, then the table. */
	for (size_t i = 0; i < t->n_chains; i++) {
		r = bf_nft_flush_chain(op, t, t->chains[i]);
		if (r)
			return r;
	}
	/* Then the named sets (anonymous ones went with their rules). */
	for (size_t i = 0; i < t->n_sets;) {
		if (t->sets[i]->flags & NFT_SET_ANONYMOUS) {
			i++;
			continue;
		}
		r = bf_nft_delset_obj(op, t, t->sets[i]);
		if (r)
			return r;
	}
	while (t->n_chains) {
		r = bf_nft_delchain_obj(op, t, t->chains[0]);
		if (r)
			return r;
	}
	r = bf_nft_notify(op, NFT_MSG_DELTABLE, t, NULL, 0);
	if (r)
		return r;
	bf_nft_table_remove(op->txn->w, t);
	bf_nft_table_free(&t, false);
	op->txn->changed = true;

	return 0;
}

int bf_nft_deltable(struct bf_nft_op *op, const struct nlattr **tb)
{
	struct bf_nft_world *w = op->txn->w;
	char name[BF_NFT_NAME_MAX] = "";
	struct bf_nft_table *t;
	int r;

	if (tb[NFTA_TABLE_NAME] &&
	    bf_nft_attr_str(tb[NFTA_TABLE_NAME], name, sizeof(name)))
		return bf_nft_op_fail(op, tb[NFTA_TABLE_NAME], -ENOENT, NULL);

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
			return bf_nft_op_fail(op, tb[NFTA_TABLE_HANDLE], -ENOENT, NULL);
	} else {
		t = bf_nft_table_find(w, op->family, name);
		if (!t)
			return bf_nft_op_fail(op, tb[NFTA_TABLE_NAME], -ENOENT, NULL);
	}

	if ((op->nlh->nlmsg_flags & NLM_F_NONREC) && t->n_chains)
		return bf_nft_op_fail(op, NULL, -EBUSY, NULL);

	return _bf_deltable_obj(op, t);
}
