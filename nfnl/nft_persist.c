/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The nft world of a netns as bytes, and back (daemon/front.h,
 * netns_serialize and netns_restore; Documentation/daemon.md, "State and
 * restore").
 *
 * The objects are written as the netlink messages nft sees in a listing
 * (bf_nft_fill_table/chain/set/setelems/rule()), and restored by replaying them through
 * the same handlers a batch goes through, so a restored world is exactly
 * what a client could have built: what is refused today is refused from a
 * file too. What a message does not carry comes with it: handles (put
 * back after each message), handle generators, the generation id, and for
 * each base chain the ruleset core's description of its programs
 * (bf_rs_chain_describe()), so that the core adopts the pinned programs
 * instead of loading the chain as new.
 *
 * Records, host byte order, each u32 kind, u32 length, payload padded to
 * 4 bytes:
 *   WORLD  u32 genid, u32 0, u64 table handle generator
 *   TABLE  u64 the table's handle generator, NEWTABLE message
 *   CHAIN  u32 message length, NEWCHAIN message, u32 description length,
 *          description (0: none)
 *   SET    NEWSET message (the set's handle, name, anonymous "__set%d"
 *          names included, flags, types, description, user data)
 *   SETELEM NEWSETELEM message: elements of the set named, in the set's
 *          order, as many records as it takes
 *   RULE   NEWRULE message (appended to its chain)
 * Per table: TABLE, its CHAINs, then each SET and its SETELEMs (verdict
 * map elements name chains), then the RULEs (lookups name sets).
 * Untrusted at start: every length is checked.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpfilter/helpers.h>
#include <bpfilter/logger.h>

#include "daemon/front.h"
#include "daemon/ruleset.h"
#include "nfnl/nft.h"
#include "nfnl/nft_obj.h"

enum {
	BF_NFT_REC_WORLD = 1,
	BF_NFT_REC_TABLE,
	BF_NFT_REC_CHAIN,
	BF_NFT_REC_RULE,
	BF_NFT_REC_SET,
	BF_NFT_REC_SETELEM,
};

#define BF_NFT_MSG_MAX (1u << 20)

struct bf_nft_sink {
	int (*put)(void *sink, const void *buf, size_t len);
	void *sink;
	uint8_t *msg;
	size_t cap;
};

static int _bf_rec(struct bf_nft_sink *s, uint32_t kind, const void *a,
		   size_t alen, const void *b, size_t blen)
{
	static const uint8_t zero[4];
	uint32_t hdr[2] = { kind, (uint32_t)(alen + blen) };
	int r;

	r = s->put(s->sink, hdr, sizeof(hdr));
	if (!r && alen)
		r = s->put(s->sink, a, alen);
	if (!r && blen)
		r = s->put(s->sink, b, blen);
	if (!r)
		r = s->put(s->sink, zero, (4 - ((alen + blen) & 3)) & 3);
	return r;
}

/* Fill a message into s->msg, growing it as needed. */
#define _BF_FILL(s, call)                                                  \
	({                                                                 \
		int __r;                                                   \
		for (;;) {                                                 \
			struct nlmsghdr *nlh = (struct nlmsghdr *)(s)->msg; \
			size_t buflen = (s)->cap;                          \
			__r = (call);                                      \
			if (__r != -EMSGSIZE || (s)->cap >= BF_NFT_MSG_MAX) \
				break;                                     \
			__r = _bf_grow(s);                                 \
			if (__r)                                           \
				break;                                     \
		}                                                          \
		__r;                                                       \
	})

static int _bf_grow(struct bf_nft_sink *s)
{
	size_t cap = s->cap ? s->cap * 2 : 16384;
	uint8_t *n = realloc(s->msg, cap);

	if (!n)
		return -ENOMEM;
	memset(n, 0, cap);
	s->msg = n;
	s->cap = cap;
	return 0;
}

static int _bf_nft_ser(const struct bf_nft_world *w, struct bf_nft_sink *s)
{
	const uint16_t fl = NLM_F_CREATE | NLM_F_APPEND;
	uint32_t world[4] = { w->genid, 0 };
	int r;

	memcpy(&world[2], &w->table_handle, sizeof(uint64_t));
	r = _bf_rec(s, BF_NFT_REC_WORLD, world, sizeof(world), NULL, 0);
	if (!r)
		r = _bf_grow(s);
	for (size_t i = 0; i < w->n_tables && !r; i++) {
		const struct bf_nft_table *t = w->tables[i];

		r = _BF_FILL(s, bf_nft_fill_table(nlh, buflen, NFT_MSG_NEWTABLE,
						  fl, 0, 0, w->genid, t));
		if (!r)
			r = _bf_rec(s, BF_NFT_REC_TABLE, &t->hgen, sizeof(t->hgen),
				    s->msg, ((struct nlmsghdr *)s->msg)->nlmsg_len);
		for (size_t j = 0; j < t->n_chains && !r; j++) {
			const struct bf_nft_chain *c = t->chains[j];
			void *desc = NULL;
			size_t dlen = 0;
			uint8_t *rec;
			uint32_t ml, dl;

			r = _BF_FILL(s, bf_nft_fill_chain(nlh, buflen,
							  NFT_MSG_NEWCHAIN, fl,
							  0, 0, w->genid, t, c));
			if (r)
				break;
			if (c->rs) {
				r = bf_rs_chain_describe(c->rs, &desc, &dlen);
				if (r == -ENOENT)
					r = 0;
				if (r)
					break;
			}
			ml = ((struct nlmsghdr *)s->msg)->nlmsg_len;
			dl = (uint32_t)dlen;
			rec = malloc(8 + ml + dlen);
			if (!rec) {
				free(desc);
				r = -ENOMEM;
				break;
			}
			memcpy(rec, &ml, 4);
			memcpy(rec + 4, s->msg, ml);
			memcpy(rec + 4 + ml, &dl, 4);
			if (dlen)
				memcpy(rec + 8 + ml, desc, dlen);
			r = _bf_rec(s, BF_NFT_REC_CHAIN, rec, 8 + ml + dlen, NULL, 0);
			free(rec);
			free(desc);
		}
		for (size_t j = 0; j < t->n_sets && !r; j++) {
			const struct bf_nft_set *set = t->sets[j];
			size_t pos = 0, next;

			r = _BF_FILL(s, bf_nft_fill_set(nlh, buflen,
							NFT_MSG_NEWSET, fl, 0, 0,
							w->genid, t, set));
			if (!r)
				r = _bf_rec(s, BF_NFT_REC_SET, s->msg,
					    ((struct nlmsghdr *)s->msg)->nlmsg_len,
					    NULL, 0);
			while (pos < set->n_elems && !r) {
				r = _BF_FILL(s, (next = pos,
						 bf_nft_fill_setelems(nlh, buflen,
							NFT_MSG_NEWSETELEM, fl,
							0, 0, w->genid, t, set,
							(const struct bf_nft_elem *const *)set->elems,
							&next, set->n_elems)));
				if (r)
					break;
				pos = next;
				r = _bf_rec(s, BF_NFT_REC_SETELEM, s->msg,
					    ((struct nlmsghdr *)s->msg)->nlmsg_len,
					    NULL, 0);
			}
		}
		for (size_t j = 0; j < t->n_chains && !r; j++) {
			const struct bf_nft_chain *c = t->chains[j];

			for (size_t k = 0; k < c->n_rules && !r; k++) {
				r = _BF_FILL(s, bf_nft_fill_rule(nlh, buflen,
								 NFT_MSG_NEWRULE,
								 fl, 0, 0, w->genid,
								 t, c, k, false));
				if (!r)
					r = _bf_rec(s, BF_NFT_REC_RULE, s->msg,
						    ((struct nlmsghdr *)s->msg)->nlmsg_len,
						    NULL, 0);
			}
		}
	}
	return r;
}

int bf_nft_serialize(const void *state,
		     int (*put)(void *sink, const void *buf, size_t len),
		     void *sink)
{
	struct bf_nft_sink s = { .put = put, .sink = sink };
	int r = _bf_nft_ser(state, &s);

	free(s.msg);
	return r;
}

/*
 * A copy of message @msg (@len bytes, checked) as a batch message creating
 * its object: attributes of types @drop (a mask) left out, the handles the
 * restore puts back itself.
 */
static int _bf_msg_copy(const uint8_t *msg, size_t len, uint32_t drop,
			uint16_t want_type, const struct nlattr *extra,
			struct nlmsghdr **out)
{
	size_t xlen = extra ? NLA_ALIGN(extra->nla_len) : 0;
	const struct nlmsghdr *src = (const void *)msg;
	size_t hdr = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg));
	struct nlmsghdr *dst;
	size_t off, at;

	if (len < hdr || src->nlmsg_len != len ||
	    src->nlmsg_type != ((NFNL_SUBSYS_NFTABLES << 8) | want_type))
		return -EBADMSG;
	dst = calloc(1, len + xlen);
	if (!dst)
		return -ENOMEM;
	memcpy(dst, src, hdr);
	dst->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_APPEND;
	at = hdr;
	for (off = hdr; off + NLA_HDRLEN <= len;) {
		const struct nlattr *a = (const void *)(msg + off);
		size_t step = NLA_ALIGN(a->nla_len);

		if (a->nla_len < NLA_HDRLEN || a->nla_len > len - off) {
			free(dst);
			return -EBADMSG;
		}
		if (!((a->nla_type & NLA_TYPE_MASK) < 32 &&
		      (drop & (1u << (a->nla_type & NLA_TYPE_MASK))))) {
			memcpy((uint8_t *)dst + at, a, a->nla_len);
			at += NLA_ALIGN(a->nla_len);
		}
		off += step > len - off ? len - off : step;
	}
	if (off != len) {
		free(dst);
		return -EBADMSG;
	}
	if (at > len)
		at = len;
	if (extra) {
		memcpy((uint8_t *)dst + at, extra, extra->nla_len);
		at += xlen;
	}
	dst->nlmsg_len = (uint32_t)at;
	*out = dst;
	return 0;
}

/* The value of u64 attribute @type of message @msg (0 if none). */
static uint64_t _bf_msg_u64(const uint8_t *msg, size_t len, uint16_t type)
{
	size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg));

	while (off + NLA_HDRLEN <= len) {
		const struct nlattr *a = (const void *)(msg + off);

		if (a->nla_len < NLA_HDRLEN || a->nla_len > len - off)
			break;
		if ((a->nla_type & NLA_TYPE_MASK) == type &&
		    a->nla_len == NLA_HDRLEN + 8)
			return bf_nla_get_be64(a);
		off += NLA_ALIGN(a->nla_len);
	}
	return 0;
}

struct bf_nft_restore {
	struct bf_nft_txn txn;
	struct bf_nft_table **tables;
	uint64_t *hgens;
	size_t n;
	/* The object the last message made. */
	struct bf_nft_table *t;
};

static int _bf_replay(struct bf_nft_restore *rs, const uint8_t *msg,
		      size_t len, uint16_t type, uint32_t drop,
		      const struct nlattr *extra, char *why, size_t whylen)
{
	_cleanup_free_ struct nlmsghdr *nlh = NULL;
	struct bf_nft_op op = { .txn = &rs->txn };
	int r;

	r = _bf_msg_copy(msg, len, drop, type, extra, &nlh);
	if (r) {
		snprintf(why, whylen, "malformed message of type %u", type);
		return r;
	}
	op.nlh = nlh;
	op.family = ((const struct nfgenmsg *)NLMSG_DATA(nlh))->nfgen_family;
	r = bf_nft_obj_msg(&op);
	if (r)
		snprintf(why, whylen, "message of type %u refused: %s%s%s", type,
			 strerror(-r), op.msg[0] ? ": " : "", op.msg);
	/* Nothing may keep pointing at the message. */
	for (size_t i = 0; i < rs->txn.w->n_tables; i++) {
		struct bf_nft_table *t = rs->txn.w->tables[i];

		for (size_t j = 0; j < t->n_chains; j++)
			t->chains[j]->last_nlh = NULL;
		for (size_t j = 0; j < t->n_sets; j++)
			t->sets[j]->last_nlh = NULL;
	}
	return r;
}

/* String attribute @type of message @msg into @buf ("" if none). */
static void _bf_msg_str(const uint8_t *msg, size_t len, uint16_t type,
			char *buf, size_t size)
{
	size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg));

	buf[0] = '\0';
	while (off + NLA_HDRLEN <= len) {
		const struct nlattr *a = (const void *)(msg + off);

		if (a->nla_len < NLA_HDRLEN || a->nla_len > len - off)
			break;
		if ((a->nla_type & NLA_TYPE_MASK) == type) {
			if (bf_nft_attr_str(a, buf, size))
				buf[0] = '\0';
			return;
		}
		off += NLA_ALIGN(a->nla_len);
	}
}

static struct bf_nft_table *_bf_msg_table(const struct bf_nft_world *w,
					  const uint8_t *msg, size_t len,
					  uint16_t name_type)
{
	size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg));
	int family = ((const struct nfgenmsg *)NLMSG_DATA(msg))->nfgen_family;

	while (off + NLA_HDRLEN <= len) {
		const struct nlattr *a = (const void *)(msg + off);
		char name[BF_NFT_NAME_MAX];

		if (a->nla_len < NLA_HDRLEN || a->nla_len > len - off)
			break;
		if ((a->nla_type & NLA_TYPE_MASK) == name_type &&
		    !bf_nft_attr_str(a, name, sizeof(name)))
			return bf_nft_table_find(w, family, name);
		off += NLA_ALIGN(a->nla_len);
	}
	return NULL;
}

static int _bf_restore_rec(struct bf_nft_restore *rs, uint32_t kind,
			   const uint8_t *p, size_t len, char *why,
			   size_t whylen)
{
	struct bf_nft_world *w = rs->txn.w;
	struct bf_nft_table *t;
	struct bf_nft_chain *c;
	uint64_t handle;
	int r;

	switch (kind) {
	case BF_NFT_REC_WORLD:
		if (len != 16)
			break;
		memcpy(&w->genid, p, 4);
		memcpy(&w->table_handle, p + 8, 8);
		return 0;
	case BF_NFT_REC_TABLE: {
		uint64_t hgen, *hg;
		struct bf_nft_table **ts;

		if (len < 8)
			break;
		memcpy(&hgen, p, 8);
		r = _bf_replay(rs, p + 8, len - 8, NFT_MSG_NEWTABLE,
			       1u << NFTA_TABLE_HANDLE | 1u << NFTA_TABLE_USE,
			       NULL, why, whylen);
		if (r)
			return r;
		t = _bf_msg_table(w, p + 8, len - 8, NFTA_TABLE_NAME);
		if (!t)
			break;
		t->handle = _bf_msg_u64(p + 8, len - 8, NFTA_TABLE_HANDLE);
		ts = realloc(rs->tables, (rs->n + 1) * sizeof(*ts));
		if (ts)
			rs->tables = ts;
		hg = realloc(rs->hgens, (rs->n + 1) * sizeof(*hg));
		if (hg)
			rs->hgens = hg;
		if (!ts || !hg)
			return -ENOMEM;
		rs->tables[rs->n] = t;
		rs->hgens[rs->n++] = hgen;
		return 0;
	}
	case BF_NFT_REC_CHAIN: {
		uint32_t ml, dl;
		char name[BF_NFT_NAME_MAX] = "";

		if (len < 4)
			break;
		memcpy(&ml, p, 4);
		if (ml > len - 4 || len - 4 - ml < 4)
			break;
		memcpy(&dl, p + 4 + ml, 4);
		if (dl != len - 8 - ml)
			break;
		r = _bf_replay(rs, p + 4, ml, NFT_MSG_NEWCHAIN,
			       1u << NFTA_CHAIN_HANDLE | 1u << NFTA_CHAIN_USE,
			       NULL, why, whylen);
		if (r)
			return r;
		t = _bf_msg_table(w, p + 4, ml, NFTA_CHAIN_TABLE);
		_bf_msg_str(p + 4, ml, NFTA_CHAIN_NAME, name, sizeof(name));
		c = t ? bf_nft_chain_find(t, name) : NULL;
		if (!c)
			break;
		c->handle = _bf_msg_u64(p + 4, ml, NFTA_CHAIN_HANDLE);
		if (dl && c->base) {
			/* A second record of the chain: the last one counts. */
			free(c->adopt);
			c->adopt = malloc(dl);
			if (!c->adopt)
				return -ENOMEM;
			memcpy(c->adopt, p + 8 + ml, dl);
			c->adopt_len = dl;
		}
		return 0;
	}
	case BF_NFT_REC_SET: {
		/* NEWSET wants a batch's NFTA_SET_ID, which a listing does
		 * not carry: one for the replay, cleared after it. The name
		 * is the listed one ("__set0" has no '%': kept as is). */
		struct {
			struct nlattr nla;
			uint32_t id;
		} sid = { { NLA_HDRLEN + 4, NFTA_SET_ID }, htonl(1) };
		struct bf_nft_set *set;
		char name[BF_NFT_NAME_MAX] = "";

		r = _bf_replay(rs, p, len, NFT_MSG_NEWSET,
			       1u << NFTA_SET_HANDLE | 1u << NFTA_SET_ID,
			       &sid.nla, why, whylen);
		if (r)
			return r;
		t = _bf_msg_table(w, p, len, NFTA_SET_TABLE);
		_bf_msg_str(p, len, NFTA_SET_NAME, name, sizeof(name));
		set = t ? bf_nft_set_find(t, name) : NULL;
		if (!set)
			break;
		set->handle = _bf_msg_u64(p, len, NFTA_SET_HANDLE);
		set->id = 0;
		return 0;
	}
	case BF_NFT_REC_SETELEM:
		return _bf_replay(rs, p, len, NFT_MSG_NEWSETELEM,
				  1u << NFTA_SET_ELEM_LIST_SET_ID, NULL, why,
				  whylen);
	case BF_NFT_REC_RULE:
		r = _bf_replay(rs, p, len, NFT_MSG_NEWRULE,
			       1u << NFTA_RULE_HANDLE | 1u << NFTA_RULE_POSITION,
			       NULL, why, whylen);
		if (r)
			return r;
		handle = _bf_msg_u64(p, len, NFTA_RULE_HANDLE);
		t = _bf_msg_table(w, p, len, NFTA_RULE_TABLE);
		{
			char name[BF_NFT_NAME_MAX] = "";

			_bf_msg_str(p, len, NFTA_RULE_CHAIN, name, sizeof(name));
			c = t ? bf_nft_chain_find(t, name) : NULL;
		}
		/* Appended: the chain's last rule. */
		if (!c || !c->n_rules)
			break;
		c->rules[c->n_rules - 1]->handle = handle;
		c->rules[c->n_rules - 1]->ir->handle = handle;
		return 0;
	default:
		snprintf(why, whylen, "unknown record kind %u", kind);
		return -EBADMSG;
	}
	if (!why[0])
		snprintf(why, whylen, "malformed record of kind %u", kind);
	return -EBADMSG;
}

static void _bf_drop_adopt(struct bf_nft_world *w)
{
	for (size_t i = 0; i < w->n_tables; i++) {
		struct bf_nft_table *t = w->tables[i];

		for (size_t j = 0; j < t->n_chains; j++) {
			free(t->chains[j]->adopt);
			t->chains[j]->adopt = NULL;
			t->chains[j]->adopt_len = 0;
		}
	}
}

int bf_nft_parse_state(struct bf_nft_world *w, const void *buf, size_t len,
		       char *why, size_t whylen)
{
	struct bf_nft_world old = { 0 };
	struct bf_nft_restore rs = { .txn = { .w = w, .old = &old } };
	const uint8_t *p = buf;
	uint32_t genid = 0;
	uint64_t th = 0;
	bool world = false;
	int r = 0;

	why[0] = '\0';
	while (len && !r) {
		uint32_t kind, rlen;
		size_t step;

		if (len < 8) {
			snprintf(why, whylen, "truncated record");
			r = -EBADMSG;
			break;
		}
		memcpy(&kind, p, 4);
		memcpy(&rlen, p + 4, 4);
		step = 8 + (((size_t)rlen + 3) & ~(size_t)3);
		if (rlen > len - 8 || step > len) {
			snprintf(why, whylen, "record of %u bytes overruns the state", rlen);
			r = -EBADMSG;
			break;
		}
		if (kind == BF_NFT_REC_WORLD)
			world = true;
		else if (!world) {
			snprintf(why, whylen, "no world record first");
			r = -EBADMSG;
			break;
		}
		r = _bf_restore_rec(&rs, kind, p + 8, rlen, why, whylen);
		if (kind == BF_NFT_REC_WORLD) {
			genid = w->genid;
			th = w->table_handle;
		}
		p += step;
		len -= step;
	}
	if (!r && !world) {
		snprintf(why, whylen, "empty");
		r = -EBADMSG;
	}
	/* What the messages did not carry. */
	for (size_t i = 0; !r && i < rs.n; i++)
		rs.tables[i]->hgen = rs.hgens[i];
	if (!r) {
		w->genid = genid;
		w->table_handle = th;
	}
	for (size_t i = 0; i < rs.txn.n_events; i++)
		free(rs.txn.events[i].buf);
	free(rs.txn.events);
	for (size_t i = 0; i < rs.txn.n_acks; i++)
		free(rs.txn.acks[i].msg);
	free(rs.txn.acks);
	free(rs.tables);
	free(rs.hgens);
	if (r)
		_bf_drop_adopt(w);
	return r;
}

int bf_nft_restore(struct bf_netns_ctx *ctx, const void *buf, size_t len,
		   void **state)
{
	struct bf_nft_world *w = NULL, *empty = NULL;
	const struct nlmsghdr *bad = NULL;
	char why[256], msg[256] = "";
	int r;

	r = bf_nft_world_new(&w);
	if (!r)
		r = bf_nft_world_new(&empty);
	if (r)
		goto out;
	r = bf_nft_parse_state(w, buf, len, why, sizeof(why));
	if (r) {
		bf_err("nft: the saved state does not parse: %s", why);
		goto out;
	}
	for (size_t i = 0; i < w->n_tables; i++)
		w->tables[i]->dirty = true;
	/* The core adopts the pinned programs (bf_rs_base.adopt). */
	r = bf_nft_commit(ctx, empty, w, &bad, msg, sizeof(msg));
	_bf_drop_adopt(w);
	if (r) {
		bf_err("nft: the saved ruleset cannot be restored: %s", msg);
		goto out;
	}
	for (size_t i = 0; i < w->n_tables; i++) {
		w->tables[i]->dirty = false;
		w->tables[i]->flags_updated = false;
	}
	if (!w->n_tables) {
		bf_nft_world_free(&w, true);
		*state = NULL;
		goto out;
	}
	bf_netns_set_front(ctx, BF_FRONT_NFT, w);
	*state = TAKE_PTR(w);

out:
	/* On failure the handles the commit did not take are none: what
	 * runs is left alone (the daemon stops). */
	bf_nft_world_free(&w, true);
	bf_nft_world_free(&empty, false);
	return r;
}
