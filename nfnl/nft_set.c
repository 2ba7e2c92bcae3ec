/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * NEWSET, DELSET, NEWSETELEM, DELSETELEM (flush set included), as
 * nf_tables_{new,del}set() and nf_tables_{new,del}setelem() check them
 * (6.18): anonymous "__set%d" names allocated in the transaction,
 * NFTA_SET_ID and NFTA_SET_ELEM_LIST_SET_ID resolved among the sets of the
 * batch, the kernel's errno and offending attribute. Sets are the
 * front-end's objects; at commit the sets that lookups name are lowered
 * to IR sets (nft_commit.c), compiled to BPF maps.
 */
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpfilter/helpers.h>

#include "nfnl/expr.h"
#include "nfnl/nft.h"
#include "nfnl/nft_obj.h"

#define _BF_SET_FLAGS_ALL                                                      \
	(NFT_SET_ANONYMOUS | NFT_SET_CONSTANT | NFT_SET_INTERVAL |            \
	 NFT_SET_MAP | NFT_SET_TIMEOUT | NFT_SET_EVAL | NFT_SET_OBJECT |      \
	 NFT_SET_CONCAT | NFT_SET_EXPR)

const struct bf_nla_policy bf_nft_set_pol[NFTA_SET_MAX + 1] = {
	[NFTA_SET_TABLE] = { BF_NLA_STRING, BF_NFT_NAME_MAX - 1 },
	[NFTA_SET_NAME] = { BF_NLA_STRING, BF_NFT_NAME_MAX - 1 },
	[NFTA_SET_FLAGS] = { BF_NLA_U32, 0 },
	[NFTA_SET_KEY_TYPE] = { BF_NLA_U32, 0 },
	[NFTA_SET_KEY_LEN] = { BF_NLA_U32, 0 },
	[NFTA_SET_DATA_TYPE] = { BF_NLA_U32, 0 },
	[NFTA_SET_DATA_LEN] = { BF_NLA_U32, 0 },
	[NFTA_SET_POLICY] = { BF_NLA_U32, 0 },
	[NFTA_SET_DESC] = { BF_NLA_NESTED, 0 },
	[NFTA_SET_ID] = { BF_NLA_U32, 0 },
	[NFTA_SET_TIMEOUT] = { BF_NLA_U64, 0 },
	[NFTA_SET_GC_INTERVAL] = { BF_NLA_U32, 0 },
	[NFTA_SET_USERDATA] = { BF_NLA_BINARY, BF_NFT_UDATA_MAX },
	[NFTA_SET_OBJ_TYPE] = { BF_NLA_U32, 0 },
	[NFTA_SET_HANDLE] = { BF_NLA_U64, 0 },
	[NFTA_SET_EXPR] = { BF_NLA_NESTED, 0 },
	[NFTA_SET_EXPRESSIONS] = { BF_NLA_NESTED, 0 },
};

const struct bf_nla_policy bf_nft_setelem_list_pol[NFTA_SET_ELEM_LIST_MAX + 1] = {
	[NFTA_SET_ELEM_LIST_TABLE] = { BF_NLA_STRING, BF_NFT_NAME_MAX - 1 },
	[NFTA_SET_ELEM_LIST_SET] = { BF_NLA_STRING, BF_NFT_NAME_MAX - 1 },
	[NFTA_SET_ELEM_LIST_ELEMENTS] = { BF_NLA_NESTED, 0 },
	[NFTA_SET_ELEM_LIST_SET_ID] = { BF_NLA_U32, 0 },
};

static const struct bf_nla_policy _bf_elem_pol[NFTA_SET_ELEM_MAX + 1] = {
	[NFTA_SET_ELEM_KEY] = { BF_NLA_NESTED, 0 },
	[NFTA_SET_ELEM_DATA] = { BF_NLA_NESTED, 0 },
	[NFTA_SET_ELEM_FLAGS] = { BF_NLA_U32, 0 },
	[NFTA_SET_ELEM_TIMEOUT] = { BF_NLA_U64, 0 },
	[NFTA_SET_ELEM_EXPIRATION] = { BF_NLA_U64, 0 },
	[NFTA_SET_ELEM_USERDATA] = { BF_NLA_BINARY, BF_NFT_UDATA_MAX },
	[NFTA_SET_ELEM_EXPR] = { BF_NLA_NESTED, 0 },
	[NFTA_SET_ELEM_OBJREF] = { BF_NLA_STRING, BF_NFT_NAME_MAX - 1 },
	[NFTA_SET_ELEM_KEY_END] = { BF_NLA_NESTED, 0 },
	[NFTA_SET_ELEM_EXPRESSIONS] = { BF_NLA_NESTED, 0 },
};

static const struct bf_nla_policy _bf_desc_pol[NFTA_SET_DESC_MAX + 1] = {
	[NFTA_SET_DESC_SIZE] = { BF_NLA_U32, 0 },
	[NFTA_SET_DESC_CONCAT] = { BF_NLA_NESTED, 0 },
};

static const struct bf_nla_policy _bf_field_pol[NFTA_SET_FIELD_MAX + 1] = {
	[NFTA_SET_FIELD_LEN] = { BF_NLA_U32, 0 },
};

static const struct bf_nla_policy _bf_data_pol[NFTA_DATA_MAX + 1] = {
	[NFTA_DATA_VALUE] = { BF_NLA_BINARY, BF_NFT_SET_DATA_MAX },
	[NFTA_DATA_VERDICT] = { BF_NLA_NESTED, 0 },
};

/* Events of a set (nf_tables_set_notify()) and of one element
 * (nf_tables_setelem_notify()). */
static int _bf_set_notify(struct bf_nft_op *op, uint16_t event,
			  const struct bf_nft_table *t,
			  const struct bf_nft_set *s,
			  const struct bf_nft_elem *e)
{
	const struct nlmsghdr *nlh = op->nlh;
	uint16_t flags = nlh->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL);
	size_t size = 1 << 16, pos = 0;
	_cleanup_free_ uint8_t *buf = malloc(size);
	struct nlmsghdr *out = (struct nlmsghdr *)buf;
	uint32_t genid = op->txn->old->genid + 1;
	int r;

	if (!buf)
		return -ENOMEM;
	if (!genid)
		genid = 1;
	if (e)
		r = bf_nft_fill_setelems(out, size, event, flags,
					 op->txn->portid, nlh->nlmsg_seq,
					 genid, t, s, &e, &pos, 1);
	else
		r = bf_nft_fill_set(out, size, event, flags, op->txn->portid,
				    nlh->nlmsg_seq, genid, t, s);
	if (r)
		return r;

	return bf_nft_txn_event(op->txn, buf, out->nlmsg_len,
				nlh->nlmsg_flags & NLM_F_ECHO);
}

/* nf_tables_set_alloc_name(): "__set%d" gets the lowest free number. */
static int _bf_alloc_name(struct bf_nft_op *op, struct bf_nft_table *t,
			  const struct nlattr *attr, char *name)
{
	char *p = strchr(name, '%');
	char pattern[BF_NFT_NAME_MAX];
	unsigned long *used;
	size_t n = 4096 * 8;

	if (!p)
		return 0;
	if (p[1] != 'd' || strchr(p + 2, '%'))
		return bf_nft_op_fail(op, NULL, -EINVAL, NULL);
	used = calloc(n / 64, sizeof(*used));
	if (!used)
		return -ENOMEM;
	for (size_t i = 0; i < t->n_sets; i++) {
		int k;

		if (sscanf(t->sets[i]->name, name, &k) != 1 || k < 0 ||
		    (size_t)k >= n)
			continue;
		used[k / 64] |= 1ul << (k % 64);
	}
	for (size_t k = 0; k < n; k++) {
		if (used[k / 64] & (1ul << (k % 64)))
			continue;
		free(used);
		snprintf(pattern, sizeof(pattern), "%s", name);
		if (snprintf(name, BF_NFT_NAME_MAX, pattern, (int)k) >=
		    BF_NFT_NAME_MAX)
			return bf_nft_op_fail(op, attr, -ENAMETOOLONG, NULL);
		return 0;
	}
	free(used);

	return bf_nft_op_fail(op, attr, -ENFILE, NULL);
}

static int _bf_parse_desc(struct bf_nft_op *op, const struct nlattr *desc,
			  struct bf_nft_set *s)
{
	const struct nlattr *tb[NFTA_SET_DESC_MAX + 1], *bad = desc;
	const struct nlattr *f;
	unsigned int regs = 0;
	size_t rem;

	if (bf_nla_parse_nested(desc, _bf_desc_pol, NFTA_SET_DESC_MAX, tb, &bad))
		return bf_nft_op_fail(op, bad, -EINVAL, NULL);
	if (tb[NFTA_SET_DESC_SIZE])
		s->size = bf_nla_get_be32(tb[NFTA_SET_DESC_SIZE]);
	if (!tb[NFTA_SET_DESC_CONCAT])
		return 0;
	for (f = bf_nla_first(tb[NFTA_SET_DESC_CONCAT], &rem); f;
	     f = bf_nla_next(f, &rem)) {
		const struct nlattr *ftb[NFTA_SET_FIELD_MAX + 1];
		uint32_t len;

		if (bf_nla_type(f) != NFTA_LIST_ELEM ||
		    s->field_count == BF_NFT_SET_FIELDS_MAX ||
		    bf_nla_parse_nested(f, _bf_field_pol, NFTA_SET_FIELD_MAX,
					ftb, &bad) ||
		    !ftb[NFTA_SET_FIELD_LEN])
			return bf_nft_op_fail(op, NULL, -EINVAL, NULL);
		len = bf_nla_get_be32(ftb[NFTA_SET_FIELD_LEN]);
		if (!len || len > 255)
			return bf_nft_op_fail(op, NULL, -EINVAL, NULL);
		s->field_len[s->field_count++] = (uint8_t)len;
		regs += (len + 3) / 4;
	}
	if (regs > BF_REG_COUNT)
		return bf_nft_op_fail(op, NULL, -E2BIG, NULL);
	if (s->field_count > 1 && regs * 4 != s->klen)
		return bf_nft_op_fail(op, NULL, -EINVAL, NULL);

	return 0;
}

static bool _bf_set_same(const struct bf_nft_set *a, const struct bf_nft_set *b)
{
	return a->ktype == b->ktype && a->dtype == b->dtype &&
	       a->flags == b->flags && a->klen == b->klen &&
	       a->dlen == b->dlen && a->field_count == b->field_count &&
	       !memcmp(a->field_len, b->field_len, a->field_count);
}

int bf_nft_newset(struct bf_nft_op *op, const struct nlattr **tb)
{
	uint16_t nlflags = op->nlh->nlmsg_flags;
	struct bf_nft_set *s, *old;
	struct bf_nft_table *t;
	int r = 0;

	if (!tb[NFTA_SET_TABLE] || !tb[NFTA_SET_NAME] ||
	    !tb[NFTA_SET_KEY_LEN] || !tb[NFTA_SET_ID])
		return bf_nft_op_fail(op, NULL, -EINVAL, NULL);

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->ktype = tb[NFTA_SET_KEY_TYPE] ?
			   bf_nla_get_be32(tb[NFTA_SET_KEY_TYPE]) : 0;
	s->klen = bf_nla_get_be32(tb[NFTA_SET_KEY_LEN]);
	/* The kernel names no attribute for these (measured). */
	if (!s->klen || s->klen > BF_NFT_SET_DATA_MAX) {
		r = bf_nft_op_fail(op, NULL, -EINVAL, NULL);
		goto err;
	}
	if (tb[NFTA_SET_FLAGS]) {
		s->flags = bf_nla_get_be32(tb[NFTA_SET_FLAGS]);
		if (s->flags & ~_BF_SET_FLAGS_ALL) {
			r = bf_nft_op_fail(op, NULL, -EOPNOTSUPP, NULL);
			goto err;
		}
	}
	if (tb[NFTA_SET_DATA_TYPE]) {
		if (!(s->flags & NFT_SET_MAP)) {
			r = bf_nft_op_fail(op, NULL, -EINVAL, NULL);
			goto err;
		}
		s->dtype = bf_nla_get_be32(tb[NFTA_SET_DATA_TYPE]);
		if (s->dtype == NFT_DATA_VERDICT) {
			/* sizeof(struct nft_verdict) on 64-bit kernels. */
			s->dlen = 16;
		} else if (!tb[NFTA_SET_DATA_LEN]) {
			r = bf_nft_op_fail(op, NULL, -EINVAL, NULL);
			goto err;
		}
		if (s->dtype != NFT_DATA_VERDICT) {
			s->dlen = bf_nla_get_be32(tb[NFTA_SET_DATA_LEN]);
			if (!s->dlen || s->dlen > BF_NFT_SET_DATA_MAX) {
				r = bf_nft_op_fail(op, tb[NFTA_SET_DATA_LEN],
						   -EINVAL, NULL);
				goto err;
			}
		}
	} else if (s->flags & NFT_SET_MAP) {
		r = bf_nft_op_fail(op, NULL, -EINVAL, NULL);
		goto err;
	}
	if ((s->flags & (NFT_SET_TIMEOUT | NFT_SET_EVAL | NFT_SET_OBJECT |
			 NFT_SET_EXPR)) ||
	    tb[NFTA_SET_TIMEOUT] || tb[NFTA_SET_GC_INTERVAL] ||
	    tb[NFTA_SET_OBJ_TYPE] || tb[NFTA_SET_EXPR] ||
	    tb[NFTA_SET_EXPRESSIONS]) {
		r = bf_nft_op_fail(op, NULL, -EOPNOTSUPP,
				"bpfilter does not support timeouts, dynamic sets, objects and expressions in sets yet");
		goto err;
	}
	if (tb[NFTA_SET_POLICY])
		s->policy = bf_nla_get_be32(tb[NFTA_SET_POLICY]);
	if (tb[NFTA_SET_DESC]) {
		r = _bf_parse_desc(op, tb[NFTA_SET_DESC], s);
		if (r)
			goto err;
	}
	if ((s->field_count > 1) != !!(s->flags & NFT_SET_CONCAT)) {
		r = bf_nft_op_fail(op, NULL, -EINVAL, NULL);
		goto err;
	}

	t = bf_nft_op_table(op, tb[NFTA_SET_TABLE], &r);
	if (!t)
		goto err;
	if (bf_nft_attr_str(tb[NFTA_SET_NAME], s->name, sizeof(s->name))) {
		r = bf_nft_op_fail(op, tb[NFTA_SET_NAME], -EINVAL, NULL);
		goto err;
	}
	old = bf_nft_set_find(t, s->name);
	if (old) {
		if (nlflags & NLM_F_EXCL)
			r = bf_nft_op_fail(op, tb[NFTA_SET_NAME], -EEXIST, NULL);
		else if (nlflags & NLM_F_REPLACE)
			r = bf_nft_op_fail(op, NULL, -EOPNOTSUPP, NULL);
		else if (!_bf_set_same(old, s))
			r = bf_nft_op_fail(op, tb[NFTA_SET_NAME], -EEXIST, NULL);
		goto err;
	}
	if (!(nlflags & NLM_F_CREATE)) {
		r = bf_nft_op_fail(op, tb[NFTA_SET_NAME], -ENOENT, NULL);
		goto err;
	}
	r = _bf_alloc_name(op, t, tb[NFTA_SET_NAME], s->name);
	if (r)
		goto err;
	r = bf_nft_udata(tb[NFTA_SET_USERDATA], &s->udata, &s->udlen);
	if (r)
		goto err;
	s->id = bf_nla_get_be32(tb[NFTA_SET_ID]);
	s->handle = ++t->hgen;
	s->last_nlh = op->nlh;
	r = bf_nft_set_add(t, s);
	if (r)
		goto err;
	op->txn->changed = true;

	return _bf_set_notify(op, NFT_MSG_NEWSET, t, s, NULL);

err:
	bf_nft_set_free(&s);
	return r;
}

/* A set's lookups in rules, and the message that removes one: a set
 * change recompiles the base chains of its table when a rule uses it. */
static void _bf_set_changed(struct bf_nft_op *op, struct bf_nft_table *t,
			    struct bf_nft_set *s)
{
	s->last_nlh = op->nlh;
	op->txn->changed = true;
	if (bf_nft_set_use(t, s->name))
		t->dirty = true;
}

int bf_nft_delset_obj(struct bf_nft_op *op, struct bf_nft_table *t,
		      struct bf_nft_set *s)
{
	int r = _bf_set_notify(op, NFT_MSG_DELSET, t, s, NULL);

	if (r)
		return r;
	bf_nft_set_remove(t, s);
	bf_nft_set_free(&s);
	op->txn->changed = true;

	return 0;
}

int bf_nft_delset(struct bf_nft_op *op, const struct nlattr **tb)
{
	char name[BF_NFT_NAME_MAX];
	const struct nlattr *attr;
	struct bf_nft_table *t;
	struct bf_nft_set *s;
	int r = 0;

	t = bf_nft_op_table(op, tb[NFTA_SET_TABLE], &r);
	if (!t)
		return r;
	if (tb[NFTA_SET_HANDLE]) {
		attr = tb[NFTA_SET_HANDLE];
		s = bf_nft_set_find_handle(t, bf_nla_get_be64(attr));
	} else if (tb[NFTA_SET_NAME]) {
		attr = tb[NFTA_SET_NAME];
		s = bf_nft_attr_str(attr, name, sizeof(name)) ? NULL :
			bf_nft_set_find(t, name);
	} else {
		return bf_nft_op_fail(op, NULL, -EINVAL, NULL);
	}
	if (!s)
		return bf_nft_op_fail(op, attr, -ENOENT, NULL);
	if (bf_nft_set_use(t, s->name) ||
	    ((op->nlh->nlmsg_flags & NLM_F_NONREC) && s->n_elems))
		return bf_nft_op_fail(op, attr, -EBUSY, NULL);

	return bf_nft_delset_obj(op, t, s);
}

/* The set an element message names: by name, then by the batch's id. */
static struct bf_nft_set *_bf_elem_set(struct bf_nft_op *op,
				       const struct nlattr **tb,
				       struct bf_nft_table **tout, int *err)
{
	char name[BF_NFT_NAME_MAX] = "";
	struct bf_nft_table *t;
	struct bf_nft_set *s = NULL;

	t = bf_nft_op_table(op, tb[NFTA_SET_ELEM_LIST_TABLE], err);
	if (!t)
		return NULL;
	if (tb[NFTA_SET_ELEM_LIST_SET] &&
	    !bf_nft_attr_str(tb[NFTA_SET_ELEM_LIST_SET], name, sizeof(name)))
		s = bf_nft_set_find(t, name);
	if (!s && tb[NFTA_SET_ELEM_LIST_SET_ID])
		s = bf_nft_set_find_id(t,
			bf_nla_get_be32(tb[NFTA_SET_ELEM_LIST_SET_ID]));
	if (!s) {
		*err = bf_nft_op_fail(op, tb[NFTA_SET_ELEM_LIST_SET], -ENOENT,
				      NULL);
		return NULL;
	}
	*tout = t;

	return s;
}

/* NFTA_DATA_VALUE of exactly @len bytes into @out. */
static int _bf_elem_value(const struct nlattr *attr, uint32_t len,
			  uint8_t *out)
{
	const struct nlattr *tb[NFTA_DATA_MAX + 1], *bad;

	if (bf_nla_parse_nested(attr, _bf_data_pol, NFTA_DATA_MAX, tb, &bad) ||
	    !tb[NFTA_DATA_VALUE] || bf_nla_len(tb[NFTA_DATA_VALUE]) != len)
		return -EINVAL;
	memcpy(out, bf_nla_data(tb[NFTA_DATA_VALUE]), len);

	return 0;
}

/* The verdict of a verdict map's element (nft_verdict_init()): a jump
 * or goto names a regular chain of the table. */
static int _bf_elem_verdict(const struct nlattr *attr,
			    const struct bf_nft_table *t, struct bf_nft_elem *e)
{
	const struct nlattr *tb[NFTA_DATA_MAX + 1], *bad;
	struct bf_nft_pctx ctx = { .elem = attr, .data = attr };
	const struct bf_nft_chain *c;
	struct bf_expr v;
	int r;

	if (bf_nla_parse_nested(attr, _bf_data_pol, NFTA_DATA_MAX, tb, &bad) ||
	    !tb[NFTA_DATA_VERDICT])
		return -EINVAL;
	r = bf_nft_parse_verdict(&ctx, tb[NFTA_DATA_VERDICT], &v);
	if (r)
		return r;
	e->verdict = v.verdict.code;
	if (e->verdict == BF_VERDICT_JUMP || e->verdict == BF_VERDICT_GOTO) {
		c = bf_nft_chain_find(t, v.verdict.chain);
		if (!c)
			return -ENOENT;
		if (c->base)
			return -EOPNOTSUPP;
		snprintf(e->chain, sizeof(e->chain), "%s", v.verdict.chain);
	}
	e->has_data = true;

	return 0;
}

/* One element of a NEWSETELEM or DELSETELEM (the checks of
 * nft_add_set_elem() and nft_del_setelem()); failures blame @attr, the
 * element, as the kernel does. */
static int _bf_parse_elem(const struct nlattr *attr, const struct bf_nft_table *t,
			  const struct bf_nft_set *s, bool add,
			  struct bf_nft_elem *e)
{
	const struct nlattr *tb[NFTA_SET_ELEM_MAX + 1], *bad;
	int r;

	/* nft numbers the elements of the list (types 1, 2, ...): the
	 * kernel does not look at the type. */
	if (bf_nla_parse_nested(attr, _bf_elem_pol, NFTA_SET_ELEM_MAX, tb, &bad))
		return -EINVAL;
	if (tb[NFTA_SET_ELEM_FLAGS]) {
		e->flags = bf_nla_get_be32(tb[NFTA_SET_ELEM_FLAGS]);
		if (e->flags & ~(NFT_SET_ELEM_INTERVAL_END |
				 NFT_SET_ELEM_CATCHALL))
			return -EOPNOTSUPP;
		if (!(s->flags & NFT_SET_INTERVAL) &&
		    (e->flags & NFT_SET_ELEM_INTERVAL_END))
			return -EINVAL;
	}
	if (e->flags & NFT_SET_ELEM_CATCHALL)
		return -EOPNOTSUPP;
	if (!tb[NFTA_SET_ELEM_KEY])
		return -EINVAL;
	if (tb[NFTA_SET_ELEM_TIMEOUT] || tb[NFTA_SET_ELEM_EXPIRATION])
		return (s->flags & NFT_SET_TIMEOUT) ? -EOPNOTSUPP : -EINVAL;
	if (tb[NFTA_SET_ELEM_EXPR] || tb[NFTA_SET_ELEM_EXPRESSIONS] ||
	    tb[NFTA_SET_ELEM_OBJREF])
		return -EOPNOTSUPP;
	r = _bf_elem_value(tb[NFTA_SET_ELEM_KEY], s->klen, e->key);
	if (r)
		return r;
	if (tb[NFTA_SET_ELEM_KEY_END]) {
		if (!(s->flags & NFT_SET_INTERVAL))
			return -EINVAL;
		r = _bf_elem_value(tb[NFTA_SET_ELEM_KEY_END], s->klen,
				   e->key_end);
		if (r)
			return r;
		e->has_key_end = true;
	}
	if (!add)
		return 0;
	if (s->flags & NFT_SET_MAP) {
		if (!tb[NFTA_SET_ELEM_DATA] &&
		    !(e->flags & NFT_SET_ELEM_INTERVAL_END))
			return -EINVAL;
		if (tb[NFTA_SET_ELEM_DATA] && s->dtype == NFT_DATA_VERDICT) {
			r = _bf_elem_verdict(tb[NFTA_SET_ELEM_DATA], t, e);
			if (r)
				return r;
		} else if (tb[NFTA_SET_ELEM_DATA]) {
			r = _bf_elem_value(tb[NFTA_SET_ELEM_DATA], s->dlen,
					   e->data);
			if (r)
				return r;
			e->has_data = true;
		}
	} else if (tb[NFTA_SET_ELEM_DATA]) {
		return -EINVAL;
	}

	return bf_nft_udata(tb[NFTA_SET_ELEM_USERDATA], &e->udata, &e->udlen);
}

int bf_nft_newsetelem(struct bf_nft_op *op, const struct nlattr **tb)
{
	const struct nlattr *attr;
	struct bf_nft_table *t;
	struct bf_nft_set *s;
	size_t rem;
	int r = 0;

	s = _bf_elem_set(op, tb, &t, &r);
	if (!s)
		return r;
	if (bf_nft_set_use(t, s->name) &&
	    (s->flags & (NFT_SET_CONSTANT | NFT_SET_ANONYMOUS)))
		return bf_nft_op_fail(op, NULL, -EBUSY, NULL);
	if (!tb[NFTA_SET_ELEM_LIST_ELEMENTS])
		return 0;

	for (attr = bf_nla_first(tb[NFTA_SET_ELEM_LIST_ELEMENTS], &rem); attr;
	     attr = bf_nla_next(attr, &rem)) {
		struct bf_nft_elem *e = calloc(1, sizeof(*e));
		ssize_t old;

		if (!e)
			return -ENOMEM;
		e->refcnt = 1;
		r = _bf_parse_elem(attr, t, s, true, e);
		if (r) {
			bf_nft_elem_put(&e);
			return bf_nft_op_fail(op, attr, r, NULL);
		}
		old = bf_nft_elem_find(s, e->key, e->flags);
		if (old >= 0) {
			const struct bf_nft_elem *o = s->elems[old];
			bool differ = o->has_data != e->has_data ||
				      (s->dtype == NFT_DATA_VERDICT ?
					       o->verdict != e->verdict ||
						       strcmp(o->chain, e->chain) :
					       memcmp(o->data, e->data, s->dlen));

			bf_nft_elem_put(&e);
			if (differ || (op->nlh->nlmsg_flags & NLM_F_EXCL))
				return bf_nft_op_fail(op, attr, -EEXIST, NULL);
			continue;
		}
		if (s->size && s->n_elems >= s->size) {
			bf_nft_elem_put(&e);
			return bf_nft_op_fail(op, attr, -ENFILE, NULL);
		}
		r = bf_nft_elem_insert(s, e);
		if (r) {
			bf_nft_elem_put(&e);
			return r;
		}
		r = _bf_set_notify(op, NFT_MSG_NEWSETELEM, t, s, e);
		if (r)
			return r;
	}
	if (rem)
		return bf_nft_op_fail(op, tb[NFTA_SET_ELEM_LIST_ELEMENTS],
				      -EINVAL, NULL);
	_bf_set_changed(op, t, s);

	return 0;
}

int bf_nft_flush_set(struct bf_nft_op *op, struct bf_nft_table *t,
		     struct bf_nft_set *s)
{
	int r;

	while (s->n_elems) {
		r = _bf_set_notify(op, NFT_MSG_DELSETELEM, t, s,
				   s->elems[s->n_elems - 1]);
		if (r)
			return r;
		bf_nft_elem_remove_at(s, s->n_elems - 1);
	}
	_bf_set_changed(op, t, s);

	return 0;
}

int bf_nft_delsetelem(struct bf_nft_op *op, const struct nlattr **tb)
{
	const struct nlattr *attr;
	struct bf_nft_table *t;
	struct bf_nft_set *s;
	size_t rem;
	int r = 0;

	s = _bf_elem_set(op, tb, &t, &r);
	if (!s)
		return r;
	if (bf_nft_set_use(t, s->name) && (s->flags & NFT_SET_CONSTANT))
		return bf_nft_op_fail(op, NULL, -EBUSY, NULL);
	if (!tb[NFTA_SET_ELEM_LIST_ELEMENTS])
		return bf_nft_flush_set(op, t, s);

	for (attr = bf_nla_first(tb[NFTA_SET_ELEM_LIST_ELEMENTS], &rem); attr;
	     attr = bf_nla_next(attr, &rem)) {
		struct bf_nft_elem e = { 0 };
		ssize_t idx;

		r = _bf_parse_elem(attr, t, s, false, &e);
		if (r)
			return bf_nft_op_fail(op, attr, r, NULL);
		idx = bf_nft_elem_find(s, e.key, e.flags);
		if (idx < 0)
			return bf_nft_op_fail(op, attr, -ENOENT, NULL);
		r = _bf_set_notify(op, NFT_MSG_DELSETELEM, t, s, s->elems[idx]);
		if (r)
			return r;
		bf_nft_elem_remove_at(s, (size_t)idx);
	}
	if (rem)
		return bf_nft_op_fail(op, tb[NFTA_SET_ELEM_LIST_ELEMENTS],
				      -EINVAL, NULL);
	_bf_set_changed(op, t, s);

	return 0;
}

void bf_nft_unbind_sets(struct bf_nft_table *t, const struct bf_rule *ir)
{
	/* An anonymous set goes with the last rule that looked it up
	 * (nft_lookup_destroy()). */
	for (size_t k = 0; ir && k < ir->n_exprs; k++) {
		const struct bf_expr *e = &ir->exprs[k];
		struct bf_nft_set *s;

		if (e->type != BF_EXPR_LOOKUP && e->type != BF_EXPR_VMAP)
			continue;
		s = bf_nft_set_find(t, e->type == BF_EXPR_LOOKUP ?
					       e->lookup.set : e->vmap.set);
		if (s && (s->flags & NFT_SET_ANONYMOUS) &&
		    !bf_nft_set_use(t, s->name)) {
			bf_nft_set_remove(t, s);
			bf_nft_set_free(&s);
		}
	}
}

/* The resolver of lookups in a NEWRULE of table @data. */
static int _bf_find_set(const struct bf_nft_sets *sets,
			const struct nlattr *name, const struct nlattr *id,
			struct bf_nft_set_ref *out)
{
	const struct bf_nft_table *t = sets->data;
	char buf[BF_NFT_NAME_MAX];
	struct bf_nft_set *s = NULL;

	if (name && !bf_nft_attr_str(name, buf, sizeof(buf)))
		s = bf_nft_set_find(t, buf);
	if (!s && id && bf_nla_len(id) == 4)
		s = bf_nft_set_find_id(t, bf_nla_get_be32(id));
	if (!s)
		return -ENOENT;
	snprintf(out->name, sizeof(out->name), "%s", s->name);
	out->flags = s->flags;
	out->klen = s->klen;
	out->dtype = s->dtype;
	out->dlen = s->dlen;
	out->busy = (s->flags & NFT_SET_ANONYMOUS) && bf_nft_set_use(t, s->name);

	return 0;
}

void bf_nft_sets_of(const struct bf_nft_table *t, struct bf_nft_sets *out)
{
	out->find = _bf_find_set;
	out->data = (void *)t;
}
