/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * nftables GET requests and object messages. Attributes are put in the
 * order nf_tables_fill_{table,chain,rule,gen}_info() put them (6.18), and
 * dumps are packed in datagrams of about NLMSG_GOODSIZE, then closed by
 * an NLMSG_DONE of its own, as the kernel's netlink_dump() sends them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpfilter/helpers.h>

#include "nfnl/expr.h"
#include "nfnl/nft.h"

static int _bf_put_hdr(struct nlmsghdr *nlh, size_t buflen, uint16_t type,
		       uint16_t flags, uint32_t portid, uint32_t seq,
		       int family, uint32_t genid)
{
	struct nfgenmsg *nfg;
	size_t len = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(*nfg));

	if (buflen < len)
		return -EMSGSIZE;
	memset(nlh, 0, len);
	nlh->nlmsg_len = (uint32_t)len;
	nlh->nlmsg_type = (uint16_t)(NFNL_SUBSYS_NFTABLES << 8 | type);
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_pid = portid;
	nfg = (struct nfgenmsg *)((char *)nlh + NLMSG_HDRLEN);
	nfg->nfgen_family = (uint8_t)family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(genid & 0xffff);

	return 0;
}

int bf_nft_fill_gen(struct nlmsghdr *nlh, size_t buflen, uint32_t portid,
		    uint32_t seq, uint32_t genid, uint32_t pid)
{
	struct bf_nlb b = { .nlh = nlh, .buflen = buflen };
	char path[64], comm[32] = "";
	int fd, r;

	r = _bf_put_hdr(nlh, buflen, NFT_MSG_NEWGEN, 0, portid, seq,
			AF_UNSPEC, genid);
	if (r)
		return r;

	/* The kernel names `current`: the process that sent the request. */
	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, comm, sizeof(comm) - 1);

		close(fd);
		if (n > 0) {
			comm[n] = '\0';
			comm[strcspn(comm, "\n")] = '\0';
		}
	}

	bf_nlb_put_be32(&b, NFTA_GEN_ID, genid);
	bf_nlb_put_be32(&b, NFTA_GEN_PROC_PID, pid);
	bf_nlb_put_strz(&b, NFTA_GEN_PROC_NAME, comm);

	return b.err;
}

int bf_nft_fill_table(struct nlmsghdr *nlh, size_t buflen, uint16_t event,
		      uint16_t flags, uint32_t portid, uint32_t seq,
		      uint32_t genid, const struct bf_nft_table *t)
{
	struct bf_nlb b = { .nlh = nlh, .buflen = buflen };
	int r;

	r = _bf_put_hdr(nlh, buflen, event, flags, portid, seq, t->family,
			genid);
	if (r)
		return r;

	/* The order 6.18 puts them in (measured). */
	bf_nlb_put_strz(&b, NFTA_TABLE_NAME, t->name);
	/* table->use: chains and sets (anonymous ones too). */
	bf_nlb_put_be32(&b, NFTA_TABLE_USE,
			(uint32_t)(t->n_chains + t->n_sets));
	bf_nlb_put_be64(&b, NFTA_TABLE_HANDLE, t->handle);
	bf_nlb_put_be32(&b, NFTA_TABLE_FLAGS, t->flags);
	if (event == NFT_MSG_DELTABLE)
		return b.err;
	if (t->udata)
		bf_nlb_put(&b, NFTA_TABLE_USERDATA, t->udata, t->udlen);

	return b.err;
}

int bf_nft_fill_chain(struct nlmsghdr *nlh, size_t buflen, uint16_t event,
		      uint16_t flags, uint32_t portid, uint32_t seq,
		      uint32_t genid, const struct bf_nft_table *t,
		      const struct bf_nft_chain *c)
{
	struct bf_nlb b = { .nlh = nlh, .buflen = buflen };
	int r;

	r = _bf_put_hdr(nlh, buflen, event, flags, portid, seq, t->family,
			genid);
	if (r)
		return r;

	bf_nlb_put_strz(&b, NFTA_CHAIN_TABLE, t->name);
	bf_nlb_put_be64(&b, NFTA_CHAIN_HANDLE, c->handle);
	bf_nlb_put_strz(&b, NFTA_CHAIN_NAME, c->name);
	if (event == NFT_MSG_DELCHAIN)
		return b.err;

	if (c->base) {
		struct nlattr *hook = bf_nlb_nest_start(&b, NFTA_CHAIN_HOOK);

		bf_nlb_put_be32(&b, NFTA_HOOK_HOOKNUM, c->hooknum);
		bf_nlb_put_be32(&b, NFTA_HOOK_PRIORITY, (uint32_t)c->prio);
		if (t->family == NFPROTO_NETDEV) {
			struct nlattr *devs =
				bf_nlb_nest_start(&b, NFTA_HOOK_DEVS);

			if (c->dev[0])
				bf_nlb_put_strz(&b, NFTA_DEVICE_NAME, c->dev);
			bf_nlb_nest_end(&b, devs);
			if (c->dev[0])
				bf_nlb_put_strz(&b, NFTA_HOOK_DEV, c->dev);
		}
		bf_nlb_nest_end(&b, hook);
		bf_nlb_put_be32(&b, NFTA_CHAIN_POLICY, c->policy);
		bf_nlb_put_strz(&b, NFTA_CHAIN_TYPE, c->type);
	}
	if (c->flags)
		bf_nlb_put_be32(&b, NFTA_CHAIN_FLAGS, c->flags);
	bf_nlb_put_be32(&b, NFTA_CHAIN_USE, bf_nft_chain_use(t, c));
	if (c->udata)
		bf_nlb_put(&b, NFTA_CHAIN_USERDATA, c->udata, c->udlen);

	return b.err;
}

/* nf_tables_fill_set(), 6.18 order. */
int bf_nft_fill_set(struct nlmsghdr *nlh, size_t buflen, uint16_t event,
		    uint16_t flags, uint32_t portid, uint32_t seq,
		    uint32_t genid, const struct bf_nft_table *t,
		    const struct bf_nft_set *s)
{
	struct bf_nlb b = { .nlh = nlh, .buflen = buflen };
	struct nlattr *desc;
	int r;

	r = _bf_put_hdr(nlh, buflen, event, flags, portid, seq, t->family,
			genid);
	if (r)
		return r;

	bf_nlb_put_strz(&b, NFTA_SET_TABLE, t->name);
	bf_nlb_put_strz(&b, NFTA_SET_NAME, s->name);
	bf_nlb_put_be64(&b, NFTA_SET_HANDLE, s->handle);
	if (event == NFT_MSG_DELSET)
		return b.err;
	if (s->flags)
		bf_nlb_put_be32(&b, NFTA_SET_FLAGS, s->flags);
	bf_nlb_put_be32(&b, NFTA_SET_KEY_TYPE, s->ktype);
	bf_nlb_put_be32(&b, NFTA_SET_KEY_LEN, s->klen);
	if (s->flags & NFT_SET_MAP) {
		bf_nlb_put_be32(&b, NFTA_SET_DATA_TYPE, s->dtype);
		bf_nlb_put_be32(&b, NFTA_SET_DATA_LEN, s->dlen);
	}
	if (s->policy != NFT_SET_POL_PERFORMANCE)
		bf_nlb_put_be32(&b, NFTA_SET_POLICY, s->policy);
	if (s->udata)
		bf_nlb_put(&b, NFTA_SET_USERDATA, s->udata, s->udlen);
	desc = bf_nlb_nest_start(&b, NFTA_SET_DESC);
	if (s->size)
		bf_nlb_put_be32(&b, NFTA_SET_DESC_SIZE, s->size);
	if (s->field_count > 1) {
		struct nlattr *concat = bf_nlb_nest_start(&b, NFTA_SET_DESC_CONCAT);

		for (size_t i = 0; i < s->field_count; i++) {
			struct nlattr *f = bf_nlb_nest_start(&b, NFTA_LIST_ELEM);

			bf_nlb_put_be32(&b, NFTA_SET_FIELD_LEN, s->field_len[i]);
			bf_nlb_nest_end(&b, f);
		}
		bf_nlb_nest_end(&b, concat);
	}
	bf_nlb_nest_end(&b, desc);

	return b.err;
}

static void _bf_put_value(struct bf_nlb *b, uint16_t type, const uint8_t *v,
			  size_t len)
{
	struct nlattr *nest = bf_nlb_nest_start(b, type);

	bf_nlb_put(b, NFTA_DATA_VALUE, v, len);
	bf_nlb_nest_end(b, nest);
}

/* nf_tables_fill_setelem(), 6.18 order. */
static int _bf_fill_elem(struct bf_nlb *b, const struct bf_nft_set *s,
			 const struct bf_nft_elem *e)
{
	struct nlattr *elem = bf_nlb_nest_start(b, NFTA_LIST_ELEM);

	_bf_put_value(b, NFTA_SET_ELEM_KEY, e->key, s->klen);
	if (e->has_key_end)
		_bf_put_value(b, NFTA_SET_ELEM_KEY_END, e->key_end, s->klen);
	if (e->has_data && s->dtype == NFT_DATA_VERDICT) {
		struct nlattr *data = bf_nlb_nest_start(b, NFTA_SET_ELEM_DATA);
		struct nlattr *v = bf_nlb_nest_start(b, NFTA_DATA_VERDICT);

		bf_nlb_put_be32(b, NFTA_VERDICT_CODE,
				(uint32_t)bf_nft_verdict_code(e->verdict));
		if (e->verdict == BF_VERDICT_JUMP || e->verdict == BF_VERDICT_GOTO)
			bf_nlb_put_strz(b, NFTA_VERDICT_CHAIN, e->chain);
		bf_nlb_nest_end(b, v);
		bf_nlb_nest_end(b, data);
	} else if (e->has_data) {
		_bf_put_value(b, NFTA_SET_ELEM_DATA, e->data, s->dlen);
	}
	if (e->flags)
		bf_nlb_put_be32(b, NFTA_SET_ELEM_FLAGS, e->flags);
	if (e->udata)
		bf_nlb_put(b, NFTA_SET_ELEM_USERDATA, e->udata, e->udlen);
	bf_nlb_nest_end(b, elem);

	return b->err;
}

int bf_nft_fill_setelems(struct nlmsghdr *nlh, size_t buflen, uint16_t event,
			 uint16_t flags, uint32_t portid, uint32_t seq,
			 uint32_t genid, const struct bf_nft_table *t,
			 const struct bf_nft_set *s,
			 const struct bf_nft_elem *const *elems, size_t *pos,
			 size_t end)
{
	struct bf_nlb b = { .nlh = nlh, .buflen = buflen };
	struct nlattr *list;
	size_t start = *pos;
	int r;

	r = _bf_put_hdr(nlh, buflen, event, flags, portid, seq, t->family,
			genid);
	if (r)
		return r;
	bf_nlb_put_strz(&b, NFTA_SET_ELEM_LIST_TABLE, t->name);
	bf_nlb_put_strz(&b, NFTA_SET_ELEM_LIST_SET, s->name);
	list = bf_nlb_nest_start(&b, NFTA_SET_ELEM_LIST_ELEMENTS);
	if (b.err)
		return b.err;
	while (*pos < end) {
		uint32_t mark = nlh->nlmsg_len;

		if (_bf_fill_elem(&b, s, elems[*pos])) {
			nlh->nlmsg_len = mark;
			if (*pos == start)
				return -EMSGSIZE;
			b.err = 0;
			break;
		}
		(*pos)++;
	}
	bf_nlb_nest_end(&b, list);

	return b.err;
}

struct bf_counter_ctx {
	const struct bf_nft_table *t;
	const struct bf_nft_chain *c;
	size_t rule;
};

static int _bf_read_counter(void *data, size_t idx, uint64_t *packets,
			    uint64_t *bytes)
{
	const struct bf_counter_ctx *cc = data;
	const struct bf_expr *e = &cc->c->rules[cc->rule]->ir->exprs[idx];
	int r;

	r = bf_nft_counter(cc->t, cc->c, cc->rule, idx, packets, bytes);
	if (r == -ENOENT) {
		/* Not compiled anywhere (unreachable chain): initial values. */
		*packets = e->counter.packets;
		*bytes = e->counter.bytes;
		return 0;
	}

	return r;
}

int bf_nft_fill_rule(struct nlmsghdr *nlh, size_t buflen, uint16_t event,
		     uint16_t flags, uint32_t portid, uint32_t seq,
		     uint32_t genid, const struct bf_nft_table *t,
		     const struct bf_nft_chain *c, size_t idx, bool dump)
{
	struct bf_nlb b = { .nlh = nlh, .buflen = buflen };
	const struct bf_nft_rule *rule = c->rules[idx];
	struct bf_counter_ctx cc = { .t = t, .c = c, .rule = idx };
	struct bf_nft_dump_ctx dctx = { .read = _bf_read_counter, .data = &cc };
	int r;

	r = _bf_put_hdr(nlh, buflen, event, flags, portid, seq, t->family,
			genid);
	if (r)
		return r;

	bf_nlb_put_strz(&b, NFTA_RULE_TABLE, t->name);
	bf_nlb_put_strz(&b, NFTA_RULE_CHAIN, c->name);
	bf_nlb_put_be64(&b, NFTA_RULE_HANDLE, rule->handle);
	/* Dumps name the previous rule; events only for a rule in the
	 * middle of its chain (nf_tables_rule_notify()). */
	if (event != NFT_MSG_DELRULE && idx > 0 &&
	    (dump || idx + 1 < c->n_rules))
		bf_nlb_put_be64(&b, NFTA_RULE_POSITION,
				c->rules[idx - 1]->handle);
	if (b.err)
		return b.err;

	r = bf_nft_exprs_from_ir(nlh, buflen, rule->ir, t->family,
				 dump ? &dctx : NULL);
	if (r)
		return r;

	if (rule->udata)
		bf_nlb_put(&b, NFTA_RULE_USERDATA, rule->udata, rule->udlen);

	return b.err;
}

/* A dump in progress: messages packed into datagrams. */
struct bf_dumper {
	const struct bf_nft_req *req;
	const struct nlmsghdr *nlh;
	uint8_t buf[BF_NFT_DGRAM_SIZE];
	size_t len;
	int err;
};

static int _bf_dumper_flush(struct bf_dumper *d)
{
	int r = 0;

	if (d->len)
		r = bf_nfnl_reply(d->req->conn, d->buf, d->len);
	d->len = 0;

	return r;
}

enum bf_obj {
	BF_OBJ_TABLE,
	BF_OBJ_CHAIN,
	BF_OBJ_RULE,
	BF_OBJ_SET,
};

static int _bf_fill_obj(struct nlmsghdr *nlh, size_t buflen, enum bf_obj obj,
			const struct bf_nft_req *req, uint32_t seq,
			const struct bf_nft_table *t,
			const struct bf_nft_chain *c, size_t idx, uint16_t flags)
{
	uint32_t genid = req->world->genid;

	switch (obj) {
	case BF_OBJ_TABLE:
		return bf_nft_fill_table(nlh, buflen, NFT_MSG_NEWTABLE, flags,
					 req->portid, seq, genid, t);
	case BF_OBJ_CHAIN:
		return bf_nft_fill_chain(nlh, buflen, NFT_MSG_NEWCHAIN, flags,
					 req->portid, seq, genid, t, c);
	case BF_OBJ_SET:
		return bf_nft_fill_set(nlh, buflen, NFT_MSG_NEWSET, flags,
				       req->portid, seq, genid, t, t->sets[idx]);
	default:
		return bf_nft_fill_rule(nlh, buflen, NFT_MSG_NEWRULE, flags,
					req->portid, seq, genid, t, c, idx,
					true);
	}
}

static int _bf_dumper_add(struct bf_dumper *d, enum bf_obj obj,
			  const struct bf_nft_table *t,
			  const struct bf_nft_chain *c, size_t idx)
{
	uint16_t flags = obj == BF_OBJ_RULE ? NLM_F_MULTI | NLM_F_APPEND :
					      NLM_F_MULTI;
	struct nlmsghdr *nlh;
	int r;

	if (d->err)
		return d->err;

	for (int pass = 0; pass < 2; pass++) {
		nlh = (struct nlmsghdr *)(d->buf + d->len);
		r = _bf_fill_obj(nlh, sizeof(d->buf) - d->len, obj, d->req,
				 d->nlh->nlmsg_seq, t, c, idx, flags);
		if (!r) {
			d->len += NLMSG_ALIGN(nlh->nlmsg_len);
			return 0;
		}
		if (r != -EMSGSIZE || !d->len)
			break;
		r = _bf_dumper_flush(d);
		if (r)
			break;
	}

	if (r == -EMSGSIZE) {
		/* Larger than a page: a datagram of its own, as the kernel
		 * grows its dump skb for it. */
		size_t big = 1 << 16;
		_cleanup_free_ uint8_t *buf = malloc(big);

		if (!buf)
			return d->err = -ENOMEM;
		nlh = (struct nlmsghdr *)buf;
		r = _bf_fill_obj(nlh, big, obj, d->req, d->nlh->nlmsg_seq, t,
				 c, idx, flags);
		if (!r)
			r = bf_nfnl_reply(d->req->conn, buf, nlh->nlmsg_len);
	}
	d->err = r;

	return r;
}

static int _bf_dumper_done(struct bf_dumper *d)
{
	struct {
		struct nlmsghdr nlh;
		int32_t err;
	} done = {
		.nlh = {
			.nlmsg_len = sizeof(done),
			.nlmsg_type = NLMSG_DONE,
			.nlmsg_flags = NLM_F_MULTI,
			.nlmsg_seq = d->nlh->nlmsg_seq,
			.nlmsg_pid = d->req->portid,
		},
	};
	int r;

	if (d->err)
		return d->err;
	r = _bf_dumper_flush(d);
	if (r)
		return r;

	return bf_nfnl_reply(d->req->conn, &done, sizeof(done));
}

static bool _bf_family_match(int want, const struct bf_nft_table *t)
{
	return want == NFPROTO_UNSPEC || want == t->family;
}

static const struct bf_nla_policy _bf_table_pol[NFTA_TABLE_MAX + 1] = {
	[NFTA_TABLE_NAME] = { BF_NLA_STRING, BF_NFT_NAME_MAX - 1 },
};

static const struct bf_nla_policy _bf_chain_pol[NFTA_CHAIN_MAX + 1] = {
	[NFTA_CHAIN_TABLE] = { BF_NLA_STRING, BF_NFT_NAME_MAX - 1 },
	[NFTA_CHAIN_NAME] = { BF_NLA_STRING, BF_NFT_NAME_MAX - 1 },
	[NFTA_CHAIN_HANDLE] = { BF_NLA_U64, 0 },
};

static const struct bf_nla_policy _bf_rule_pol[NFTA_RULE_MAX + 1] = {
	[NFTA_RULE_TABLE] = { BF_NLA_STRING, BF_NFT_NAME_MAX - 1 },
	[NFTA_RULE_CHAIN] = { BF_NLA_STRING, BF_NFT_NAME_MAX - 1 },
	[NFTA_RULE_HANDLE] = { BF_NLA_U64, 0 },
};

/* A string attribute as a C string (policy-checked before). */
static void _bf_str(const struct nlattr *a, char *buf)
{
	if (bf_nft_attr_str(a, buf, BF_NFT_NAME_MAX))
		buf[0] = '\0';
}

static int _bf_ack_err(const struct bf_nft_req *req,
		       const struct nlmsghdr *nlh, int err,
		       const struct nlattr *bad)
{
	struct bf_nfnl_extack ext = { .bad_attr = bad };

	return bf_nfnl_ack(req->conn, nlh, err, bad ? &ext : NULL);
}

static int _bf_reply_one(const struct bf_nft_req *req,
			 const struct nlmsghdr *nlh, enum bf_obj obj,
			 const struct bf_nft_table *t,
			 const struct bf_nft_chain *c, size_t idx)
{
	size_t big = 1 << 16;
	_cleanup_free_ uint8_t *buf = malloc(big);
	struct nlmsghdr *out = (struct nlmsghdr *)buf;
	int r;

	if (!buf)
		return -ENOMEM;
	r = _bf_fill_obj(out, big, obj, req, nlh->nlmsg_seq, t, c, idx, 0);
	if (r)
		return r;

	return bf_nfnl_reply(req->conn, buf, out->nlmsg_len);
}

static int _bf_get_tables(const struct bf_nft_req *req,
			  const struct nlmsghdr *nlh, int family, bool dump)
{
	const struct nlattr *tb[NFTA_TABLE_MAX + 1], *bad = NULL;
	char name[BF_NFT_NAME_MAX];
	struct bf_nft_table *t;
	struct bf_dumper *d;
	int r;

	if (bf_nft_parse_msg(nlh, _bf_table_pol, NFTA_TABLE_MAX, tb, &bad))
		return _bf_ack_err(req, nlh, -EINVAL, bad);

	if (!dump) {
		if (!tb[NFTA_TABLE_NAME])
			return _bf_ack_err(req, nlh, -EINVAL, NULL);
		_bf_str(tb[NFTA_TABLE_NAME], name);
		t = bf_nft_table_find(req->world, family, name);
		if (!t)
			return _bf_ack_err(req, nlh, -ENOENT,
					   tb[NFTA_TABLE_NAME]);
		r = _bf_reply_one(req, nlh, BF_OBJ_TABLE, t, NULL, 0);
		return r ? r : 1;
	}

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->req = req;
	d->nlh = nlh;
	for (size_t i = 0; i < req->world->n_tables; i++) {
		t = req->world->tables[i];
		if (_bf_family_match(family, t))
			_bf_dumper_add(d, BF_OBJ_TABLE, t, NULL, 0);
	}
	r = _bf_dumper_done(d);
	free(d);

	return r;
}

static int _bf_get_chains(const struct bf_nft_req *req,
			  const struct nlmsghdr *nlh, int family, bool dump)
{
	const struct nlattr *tb[NFTA_CHAIN_MAX + 1], *bad = NULL;
	char name[BF_NFT_NAME_MAX];
	struct bf_nft_table *t;
	struct bf_nft_chain *c;
	struct bf_dumper *d;
	int r;

	if (bf_nft_parse_msg(nlh, _bf_chain_pol, NFTA_CHAIN_MAX, tb, &bad))
		return _bf_ack_err(req, nlh, -EINVAL, bad);

	if (!dump) {
		if (!tb[NFTA_CHAIN_TABLE])
			return _bf_ack_err(req, nlh, -EINVAL, NULL);
		_bf_str(tb[NFTA_CHAIN_TABLE], name);
		t = bf_nft_table_find(req->world, family, name);
		if (!t)
			return _bf_ack_err(req, nlh, -ENOENT,
					   tb[NFTA_CHAIN_TABLE]);
		if (!tb[NFTA_CHAIN_NAME])
			return _bf_ack_err(req, nlh, -EINVAL, NULL);
		_bf_str(tb[NFTA_CHAIN_NAME], name);
		c = bf_nft_chain_find(t, name);
		if (!c)
			return _bf_ack_err(req, nlh, -ENOENT,
					   tb[NFTA_CHAIN_NAME]);
		r = _bf_reply_one(req, nlh, BF_OBJ_CHAIN, t, c, 0);
		return r ? r : 1;
	}

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->req = req;
	d->nlh = nlh;
	for (size_t i = 0; i < req->world->n_tables; i++) {
		t = req->world->tables[i];
		if (!_bf_family_match(family, t))
			continue;
		for (size_t j = 0; j < t->n_chains; j++)
			_bf_dumper_add(d, BF_OBJ_CHAIN, t, t->chains[j], 0);
	}
	r = _bf_dumper_done(d);
	free(d);

	return r;
}

static int _bf_get_rules(const struct bf_nft_req *req,
			 const struct nlmsghdr *nlh, int family, bool dump)
{
	const struct nlattr *tb[NFTA_RULE_MAX + 1], *bad = NULL;
	char tname[BF_NFT_NAME_MAX] = "", cname[BF_NFT_NAME_MAX] = "";
	struct bf_nft_table *t;
	struct bf_nft_chain *c;
	struct bf_dumper *d;
	ssize_t idx;
	int r;

	if (bf_nft_parse_msg(nlh, _bf_rule_pol, NFTA_RULE_MAX, tb, &bad))
		return _bf_ack_err(req, nlh, -EINVAL, bad);
	if (tb[NFTA_RULE_TABLE])
		_bf_str(tb[NFTA_RULE_TABLE], tname);
	if (tb[NFTA_RULE_CHAIN])
		_bf_str(tb[NFTA_RULE_CHAIN], cname);

	if (!dump) {
		if (!tb[NFTA_RULE_TABLE])
			return _bf_ack_err(req, nlh, -EINVAL, NULL);
		t = bf_nft_table_find(req->world, family, tname);
		if (!t)
			return _bf_ack_err(req, nlh, -ENOENT,
					   tb[NFTA_RULE_TABLE]);
		c = tb[NFTA_RULE_CHAIN] ? bf_nft_chain_find(t, cname) : NULL;
		if (!c)
			return _bf_ack_err(req, nlh, -ENOENT,
					   tb[NFTA_RULE_CHAIN]);
		if (!tb[NFTA_RULE_HANDLE])
			return _bf_ack_err(req, nlh, -EINVAL, NULL);
		idx = bf_nft_rule_find(c, bf_nla_get_be64(tb[NFTA_RULE_HANDLE]));
		if (idx < 0)
			return _bf_ack_err(req, nlh, -ENOENT,
					   tb[NFTA_RULE_HANDLE]);
		r = _bf_reply_one(req, nlh, BF_OBJ_RULE, t, c, (size_t)idx);
		return r ? r : 1;
	}

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->req = req;
	d->nlh = nlh;
	for (size_t i = 0; i < req->world->n_tables; i++) {
		t = req->world->tables[i];
		if (!_bf_family_match(family, t))
			continue;
		if (tname[0] && strcmp(tname, t->name))
			continue;
		for (size_t j = 0; j < t->n_chains; j++) {
			c = t->chains[j];
			if (cname[0] && strcmp(cname, c->name))
				continue;
			for (size_t k = 0; k < c->n_rules; k++)
				_bf_dumper_add(d, BF_OBJ_RULE, t, c, k);
		}
	}
	r = _bf_dumper_done(d);
	free(d);

	return r;
}

static const struct bf_nla_policy _bf_set_pol[NFTA_SET_MAX + 1] = {
	[NFTA_SET_TABLE] = { BF_NLA_STRING, BF_NFT_NAME_MAX - 1 },
	[NFTA_SET_NAME] = { BF_NLA_STRING, BF_NFT_NAME_MAX - 1 },
};

static const struct bf_nla_policy _bf_setelem_pol[NFTA_SET_ELEM_LIST_MAX + 1] = {
	[NFTA_SET_ELEM_LIST_TABLE] = { BF_NLA_STRING, BF_NFT_NAME_MAX - 1 },
	[NFTA_SET_ELEM_LIST_SET] = { BF_NLA_STRING, BF_NFT_NAME_MAX - 1 },
};

/* nf_tables_getset(): a dump of the family's sets (of one table with
 * NFTA_SET_TABLE), or one set by table and name. */
static int _bf_get_sets(const struct bf_nft_req *req,
			const struct nlmsghdr *nlh, int family, bool dump)
{
	const struct nlattr *tb[NFTA_SET_MAX + 1], *bad = NULL;
	char tname[BF_NFT_NAME_MAX] = "", name[BF_NFT_NAME_MAX];
	struct bf_nft_table *t;
	struct bf_dumper *d;
	int r = 0;

	if (bf_nft_parse_msg(nlh, _bf_set_pol, NFTA_SET_MAX, tb, &bad))
		return _bf_ack_err(req, nlh, -EINVAL, bad);
	if (tb[NFTA_SET_TABLE])
		_bf_str(tb[NFTA_SET_TABLE], tname);

	if (!dump) {
		struct bf_nft_set *s;

		if (!tb[NFTA_SET_TABLE])
			return _bf_ack_err(req, nlh, -EINVAL, NULL);
		t = bf_nft_table_find(req->world, family, tname);
		if (!t)
			return _bf_ack_err(req, nlh, -ENOENT, tb[NFTA_SET_TABLE]);
		if (!tb[NFTA_SET_NAME])
			return _bf_ack_err(req, nlh, -EINVAL, NULL);
		_bf_str(tb[NFTA_SET_NAME], name);
		s = bf_nft_set_find(t, name);
		if (!s)
			return _bf_ack_err(req, nlh, -ENOENT, tb[NFTA_SET_NAME]);
		for (size_t i = 0; i < t->n_sets; i++) {
			if (t->sets[i] == s)
				r = _bf_reply_one(req, nlh, BF_OBJ_SET, t, NULL, i);
		}
		return r ? r : 1;
	}

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->req = req;
	d->nlh = nlh;
	for (size_t i = 0; i < req->world->n_tables; i++) {
		t = req->world->tables[i];
		if (!_bf_family_match(family, t) ||
		    (tname[0] && strcmp(tname, t->name)))
			continue;
		for (size_t j = 0; j < t->n_sets; j++)
			_bf_dumper_add(d, BF_OBJ_SET, t, NULL, j);
	}
	r = _bf_dumper_done(d);
	free(d);

	return r;
}

/* nf_tables_getsetelem() dump: the elements of one set, packed in
 * datagrams of about a page, as nf_tables_dump_set() sends them. */
static int _bf_get_setelems(const struct bf_nft_req *req,
			    const struct nlmsghdr *nlh, int family, bool dump)
{
	const struct nlattr *tb[NFTA_SET_ELEM_LIST_MAX + 1], *bad = NULL;
	char tname[BF_NFT_NAME_MAX], name[BF_NFT_NAME_MAX];
	struct bf_dumper *d;
	struct bf_nft_table *t;
	struct bf_nft_set *s;
	size_t pos = 0;
	int r = 0;

	if (bf_nft_parse_msg(nlh, _bf_setelem_pol, NFTA_SET_ELEM_LIST_MAX, tb,
			     &bad))
		return _bf_ack_err(req, nlh, -EINVAL, bad);
	if (!tb[NFTA_SET_ELEM_LIST_TABLE])
		return _bf_ack_err(req, nlh, -EINVAL, NULL);
	_bf_str(tb[NFTA_SET_ELEM_LIST_TABLE], tname);
	t = bf_nft_table_find(req->world, family, tname);
	if (!t)
		return _bf_ack_err(req, nlh, -ENOENT,
				   tb[NFTA_SET_ELEM_LIST_TABLE]);
	if (!tb[NFTA_SET_ELEM_LIST_SET])
		return _bf_ack_err(req, nlh, -EINVAL, NULL);
	_bf_str(tb[NFTA_SET_ELEM_LIST_SET], name);
	s = bf_nft_set_find(t, name);
	if (!s)
		return _bf_ack_err(req, nlh, -ENOENT, tb[NFTA_SET_ELEM_LIST_SET]);
	if (!dump)
		return _bf_ack_err(req, nlh, -EOPNOTSUPP, NULL);

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->req = req;
	d->nlh = nlh;
	while (pos < s->n_elems && !r) {
		struct nlmsghdr *out = (struct nlmsghdr *)(d->buf + d->len);

		r = bf_nft_fill_setelems(out, sizeof(d->buf) - d->len,
					 NFT_MSG_NEWSETELEM, NLM_F_MULTI,
					 req->portid, nlh->nlmsg_seq,
					 req->world->genid, t, s,
					 (const struct bf_nft_elem *const *)s->elems,
					 &pos, s->n_elems);
		if (!r) {
			d->len += NLMSG_ALIGN(out->nlmsg_len);
		} else if (r == -EMSGSIZE && d->len) {
			r = _bf_dumper_flush(d);
		}
	}
	d->err = r;
	r = _bf_dumper_done(d);
	free(d);

	return r;
}

/* Object kinds not built yet: nothing to dump, nothing to find. */
static int _bf_get_empty(const struct bf_nft_req *req,
			 const struct nlmsghdr *nlh, bool dump)
{
	struct bf_dumper d = { .req = req, .nlh = nlh };

	if (!dump)
		return _bf_ack_err(req, nlh, -ENOENT, NULL);

	return _bf_dumper_done(&d);
}

int bf_nft_get(const struct bf_nft_req *req, const struct nlmsghdr *nlh)
{
	const struct nfgenmsg *nfg =
		(const void *)((const char *)nlh + NLMSG_HDRLEN);
	bool dump = nlh->nlmsg_flags & NLM_F_DUMP;
	int family = nfg->nfgen_family;
	uint8_t buf[256];
	int r;

	switch (nlh->nlmsg_type & 0xff) {
	case NFT_MSG_GETGEN:
		r = bf_nft_fill_gen((struct nlmsghdr *)buf, sizeof(buf),
				    req->portid, nlh->nlmsg_seq,
				    req->world->genid, req->pid);
		if (!r)
			r = bf_nfnl_reply(req->conn, buf,
					  ((struct nlmsghdr *)buf)->nlmsg_len);
		return r ? r : 1;
	case NFT_MSG_GETTABLE:
		return _bf_get_tables(req, nlh, family, dump);
	case NFT_MSG_GETCHAIN:
		return _bf_get_chains(req, nlh, family, dump);
	case NFT_MSG_GETRULE:
		return _bf_get_rules(req, nlh, family, dump);
	case NFT_MSG_GETSET:
		return _bf_get_sets(req, nlh, family, dump);
	case NFT_MSG_GETSETELEM:
		return _bf_get_setelems(req, nlh, family, dump);
	case NFT_MSG_GETOBJ:
	case NFT_MSG_GETOBJ_RESET: /* `nft reset counters`: no object to reset */
	case NFT_MSG_GETFLOWTABLE:
		return _bf_get_empty(req, nlh, dump);
	default:
		return _bf_ack_err(req, nlh, -EOPNOTSUPP, NULL);
	}
}
