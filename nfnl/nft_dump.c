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
	bf_nlb_put_be32(&b, NFTA_TABLE_USE, (uint32_t)t->n_chains);
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
	case NFT_MSG_GETOBJ:
	case NFT_MSG_GETOBJ_RESET: /* `nft reset counters`: no object to reset */
	case NFT_MSG_GETFLOWTABLE:
		return _bf_get_empty(req, nlh, dump);
	case NFT_MSG_GETSETELEM:
		/* Needs an existing set, even to dump. */
		return _bf_ack_err(req, nlh, -ENOENT, NULL);
	default:
		return _bf_ack_err(req, nlh, -EOPNOTSUPP, NULL);
	}
}
