/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The nftables handler: datagrams of the NFNL_SUBSYS_NFTABLES subsystem,
 * as nfnetlink_rcv() takes them. Requests outside a batch go to
 * nft_dump.c; a batch is a transaction on a copy of the netns' world
 * (nfnetlink_rcv_batch()): every message is processed even after one
 * failed, so each error is reported, then the copy is committed (compiled
 * and attached first) or dropped. Table, chain and rule messages live in
 * nft_obj.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdlib.h>
#include <string.h>

#include <bpfilter/helpers.h>
#include <bpfilter/logger.h>

#include "daemon/front.h"
#include "nfnl/nft.h"

static const struct nlattr *_bf_attr_at(const void *p, size_t rem)
{
	const struct nlattr *a = p;

	if (rem < NLA_HDRLEN || a->nla_len < NLA_HDRLEN || a->nla_len > rem)
		return NULL;
	return a;
}

int bf_nft_parse_msg(const struct nlmsghdr *nlh,
		     const struct bf_nla_policy *policy, unsigned int max,
		     const struct nlattr **tb, const struct nlattr **bad)
{
	size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg));
	const char *p = (const char *)nlh + off;
	size_t rem = nlh->nlmsg_len > off ? nlh->nlmsg_len - off : 0;
	const struct nlattr *a;

	memset(tb, 0, (max + 1) * sizeof(*tb));

	while ((a = _bf_attr_at(p, rem))) {
		uint16_t type = bf_nla_type(a);
		size_t step = NLA_ALIGN(a->nla_len);

		if (type <= max) {
			if (!bf_nla_valid(a, &policy[type])) {
				*bad = a;
				return -EINVAL;
			}
			tb[type] = a;
		}
		if (step >= rem) {
			rem = 0;
			break;
		}
		rem -= step;
		p += step;
	}

	/* Trailing bytes too short for an attribute: the kernel's
	 * nla_parse ignores fewer than NLA_HDRLEN bytes. */
	if (rem >= NLA_HDRLEN) {
		*bad = (const struct nlattr *)p;
		return -EINVAL;
	}

	return 0;
}

/* Per-netns state: the world. */

static bool _bf_nft_idle(void *state)
{
	const struct bf_nft_world *w = state;

	return w->n_tables == 0;
}

static void _bf_nft_free(void *state)
{
	struct bf_nft_world *w = state;

	bf_nft_world_free(&w, true);
}

static int _bf_world_get(struct bf_netns_ctx *ctx, struct bf_nft_world **out)
{
	int r;

	if (!bf_netns_front(ctx, BF_FRONT_NFT)) {
		struct bf_nft_world *w;

		r = bf_nft_world_new(&w);
		if (r)
			return r;
		/* The world keeps the context: every nft is a new client. */
		bf_netns_set_front(ctx, BF_FRONT_NFT, w);
	}
	*out = bf_netns_front(ctx, BF_FRONT_NFT);

	return 0;
}

/*
 * The front-end as the daemon sees it (daemon/front.h): the netlink
 * transport's frames, the world of each netns. Registered even with
 * --no-nftables: the transport then answers as a kernel without
 * nf_tables.
 */
const struct bf_front_ops bf_nft_front = {
	.name = "nft",
	.front = BF_FRONT_NFT,
	.open_type = BF_MSG_NL_OPEN,
	.frame_types = (1ull << BF_MSG_NL_SEND) | (1ull << BF_MSG_NL_GROUP),
	.open = bf_nfnl_on_open,
	.frame = bf_nfnl_on_frame,
	.conn_free = bf_nfnl_conn_free,
	.netns_idle = _bf_nft_idle,
	.netns_free = _bf_nft_free,
	.netns_serialize = bf_nft_serialize,
	.netns_restore = bf_nft_restore,
};

/* Transactions. */

static int _bf_txn_ack(struct bf_nft_txn *txn, const struct nlmsghdr *nlh,
		       int err, const struct nlattr *bad, const char *msg)
{
	struct bf_nft_ack *a;

	if (txn->n_acks == txn->cap_acks) {
		size_t cap = txn->cap_acks ? txn->cap_acks * 2 : 8;
		void *p = realloc(txn->acks, cap * sizeof(*txn->acks));

		if (!p)
			return -ENOMEM;
		txn->acks = p;
		txn->cap_acks = cap;
	}
	/* Keep message order (a commit error may come late). */
	a = &txn->acks[txn->n_acks];
	while (a > txn->acks && (a - 1)->nlh > nlh) {
		*a = *(a - 1);
		a--;
	}
	*a = (struct bf_nft_ack) {
		.nlh = nlh,
		.err = err,
		.bad = bad,
		.msg = msg && msg[0] ? strdup(msg) : NULL,
	};
	txn->n_acks++;

	return 0;
}

int bf_nft_txn_event(struct bf_nft_txn *txn, const void *msg, size_t len,
		     bool echo)
{
	struct bf_nft_event *e;

	if (txn->n_events == txn->cap_events) {
		size_t cap = txn->cap_events ? txn->cap_events * 2 : 8;
		void *p = realloc(txn->events, cap * sizeof(*txn->events));

		if (!p)
			return -ENOMEM;
		txn->events = p;
		txn->cap_events = cap;
	}
	e = &txn->events[txn->n_events];
	e->buf = malloc(len);
	if (!e->buf)
		return -ENOMEM;
	memcpy(e->buf, msg, len);
	e->len = len;
	e->echo = echo;
	txn->n_events++;

	return 0;
}

static void _bf_txn_release(struct bf_nft_txn *txn)
{
	for (size_t i = 0; i < txn->n_acks; i++)
		free(txn->acks[i].msg);
	free(txn->acks);
	for (size_t i = 0; i < txn->n_events; i++)
		free(txn->events[i].buf);
	free(txn->events);
	bf_nft_world_free(&txn->w, false);
}

static int _bf_txn_deliver_acks(struct bf_nft_txn *txn)
{
	for (size_t i = 0; i < txn->n_acks; i++) {
		const struct bf_nft_ack *a = &txn->acks[i];
		struct bf_nfnl_extack ext = {
			.msg = a->msg,
			.bad_attr = a->bad,
		};
		int r;

		/* nft before 1.1 does not print the extack message: say it
		 * here too, so a user can learn why a rule was refused. */
		if (a->err && a->msg)
			bf_info("request refused (%s): %s", strerror(-a->err),
				a->msg);
		r = bf_nfnl_ack(txn->conn, a->nlh, a->err,
				a->msg || a->bad ? &ext : NULL);
		if (r)
			return r;
	}

	return 0;
}

static void _bf_txn_notify(struct bf_nft_txn *txn, const struct nlmsghdr *end)
{
	uint8_t buf[256];
	struct nlmsghdr *gen = (struct nlmsghdr *)buf;
	const struct bf_nft_world *w = bf_netns_front(txn->ctx, BF_FRONT_NFT);

	for (size_t i = 0; i < txn->n_events; i++) {
		const struct bf_nft_event *e = &txn->events[i];

		bf_nfnl_broadcast(txn->ctx, NFNLGRP_NFTABLES, e->buf, e->len,
				  e->echo ? txn->portid : 0);
		if (e->echo)
			(void)bf_nfnl_reply(txn->conn, e->buf, e->len);
	}

	/* nf_tables_gen_notify(): seq and NLM_F_ECHO of the batch's last
	 * message before END (measured on 6.18). */
	if (bf_nft_fill_gen(gen, sizeof(buf), txn->portid, end->nlmsg_seq,
			    w->genid, txn->pid))
		return;
	bf_nfnl_broadcast(txn->ctx, NFNLGRP_NFTABLES, buf, gen->nlmsg_len,
			  (end->nlmsg_flags & NLM_F_ECHO) ? txn->portid : 0);
	if (end->nlmsg_flags & NLM_F_ECHO)
		(void)bf_nfnl_reply(txn->conn, buf, gen->nlmsg_len);
}

/*
 * An aborted transaction gives back its objects but not the handles it
 * allocated: the kernel does not roll its generators back either. A
 * batch refused by the commit's validation of the chain graph (a loop, a
 * path too deep: -EMLINK) spent them twice: nf_tables_commit() answers
 * -EAGAIN, nfnetlink replays the whole batch with validation at each
 * message, and the replay allocates again (measured: a refused
 * `add rule ... jump` takes two rule handles). @passes is 1 or 2.
 */
static void _bf_keep_handles(struct bf_nft_world *old,
			     const struct bf_nft_world *w, uint64_t passes)
{
	if (w->table_handle > old->table_handle)
		old->table_handle += passes * (w->table_handle - old->table_handle);
	for (size_t i = 0; i < w->n_tables; i++) {
		const struct bf_nft_table *t = w->tables[i];
		struct bf_nft_table *o =
			bf_nft_table_find_handle(old, t->family, t->handle);

		if (o && o->hgen < t->hgen)
			o->hgen += passes * (t->hgen - o->hgen);
	}
}

static int _bf_txn_msg(struct bf_nft_txn *txn, const struct nlmsghdr *nlh)
{
	struct bf_nft_op op = {
		.txn = txn,
		.nlh = nlh,
		.family = ((const struct nfgenmsg *)NLMSG_DATA(nlh))->nfgen_family,
	};
	int err;

	if (!(nlh->nlmsg_flags & NLM_F_REQUEST))
		err = -EINVAL;
	else if (nlh->nlmsg_type >> 8 != NFNL_SUBSYS_NFTABLES)
		err = -EINVAL;
	else
		err = bf_nft_obj_msg(&op);

	if (err == -ENOMEM)
		return err;
	if (err)
		txn->failed = true;
	if (err || (nlh->nlmsg_flags & NLM_F_ACK))
		return _bf_txn_ack(txn, nlh, err, op.bad, op.msg);

	return 0;
}

static int _bf_commit(struct bf_nft_txn *txn, const struct nlmsghdr *begin,
		      const struct nlmsghdr *end)
{
	const struct nlmsghdr *bad_nlh = NULL;
	char msg[256] = "";
	int r;

	r = bf_nft_commit(txn->ctx, txn->old, txn->w, &bad_nlh, msg,
			  sizeof(msg));
	if (r) {
		bf_dbg("nft: commit refused: %s", msg);
		txn->refused = r;
		return _bf_txn_ack(txn, bad_nlh ? bad_nlh : begin, r, NULL,
				   msg);
	}

	do {
		txn->w->genid = txn->old->genid + 1;
	} while (!txn->w->genid);

	bf_netns_set_front(txn->ctx, BF_FRONT_NFT, txn->w);
	txn->w = txn->old;
	txn->old = NULL;
	_bf_txn_notify(txn, end);

	return 0;
}

static const struct bf_nla_policy _bf_batch_pol[NFNL_BATCH_MAX + 1] = {
	[NFNL_BATCH_GENID] = { BF_NLA_U32, 0 },
};

static int _bf_batch(struct bf_nfnl_conn *conn, struct bf_netns_ctx *ctx,
		     const uint8_t *buf, size_t len)
{
	const struct nlmsghdr *begin = (const void *)buf;
	const struct nlattr *tb[NFNL_BATCH_MAX + 1], *bad = NULL;
	const struct bf_peer *peer = bf_nfnl_conn_peer(conn);
	struct bf_nft_txn txn = {
		.conn = conn,
		.ctx = ctx,
		.portid = bf_nfnl_conn_portid(conn),
		.pid = (uint32_t)peer->pid,
	};
	const struct nlmsghdr *end = NULL;
	bool done = false;
	size_t msglen;
	int r;

	if (len < NLMSG_HDRLEN + sizeof(struct nfgenmsg))
		return 0;
	if (bf_nft_parse_msg(begin, _bf_batch_pol, NFNL_BATCH_MAX, tb, &bad))
		return bf_nfnl_ack(conn, begin, -EINVAL, NULL);

	r = _bf_world_get(ctx, &txn.old);
	if (r)
		return r;
	if (tb[NFNL_BATCH_GENID] &&
	    bf_nla_get_be32(tb[NFNL_BATCH_GENID]) &&
	    bf_nla_get_be32(tb[NFNL_BATCH_GENID]) != txn.old->genid)
		return bf_nfnl_ack(conn, begin, -ERESTART, NULL);

	r = bf_nft_world_clone(txn.old, &txn.w);
	if (r)
		return r;

	if (begin->nlmsg_flags & NLM_F_ACK) {
		r = _bf_txn_ack(&txn, begin, 0, NULL, NULL);
		if (r)
			goto out;
	}

	msglen = BF_MIN((size_t)NLMSG_ALIGN(begin->nlmsg_len), len);
	buf += msglen;
	len -= msglen;

	while (len >= NLMSG_HDRLEN) {
		const struct nlmsghdr *nlh = (const void *)buf;
		uint16_t type = nlh->nlmsg_type;

		if (nlh->nlmsg_len < NLMSG_HDRLEN || len < nlh->nlmsg_len ||
		    nlh->nlmsg_len - NLMSG_HDRLEN < sizeof(struct nfgenmsg)) {
			/* Malformed: everything dropped, nothing reported. */
			for (size_t i = 0; i < txn.n_acks; i++)
				free(txn.acks[i].msg);
			txn.n_acks = 0;
			txn.failed = true;
			break;
		}

		if (type == NFNL_MSG_BATCH_BEGIN) {
			for (size_t i = 0; i < txn.n_acks; i++)
				free(txn.acks[i].msg);
			txn.n_acks = 0;
			txn.failed = true;
			break;
		}
		if (type == NFNL_MSG_BATCH_END) {
			done = true;
			break;
		}
		end = nlh;
		if (type < NLMSG_MIN_TYPE) {
			r = _bf_txn_ack(&txn, nlh, -EINVAL, NULL, NULL);
			txn.failed = true;
		} else {
			r = _bf_txn_msg(&txn, nlh);
		}
		if (r)
			goto out;

		msglen = BF_MIN((size_t)NLMSG_ALIGN(nlh->nlmsg_len), len);
		buf += msglen;
		len -= msglen;
	}

	if (done && !txn.failed && txn.changed)
		r = _bf_commit(&txn, begin, end);
	/* A batch the commit refused (EMLINK from a jump, say) keeps its
	 * handles spent too. */
	if (txn.old)
		_bf_keep_handles(txn.old, txn.w, txn.refused == -EMLINK ? 2 : 1);
	/* Saved before the client hears of it: a restarted daemon lists
	 * what a client was told (handles consumed by a refused batch
	 * included). */
	if (done && txn.changed)
		(void)bf_netns_persist(ctx);
	if (r)
		goto out;

	r = _bf_txn_deliver_acks(&txn);

out:
	_bf_txn_release(&txn);

	return r;
}

/* One request outside a batch (netlink_rcv_skb + nfnetlink_rcv_msg). */
static int _bf_request(struct bf_nfnl_conn *conn, struct bf_netns_ctx *ctx,
		       const struct nlmsghdr *nlh)
{
	const struct bf_peer *peer = bf_nfnl_conn_peer(conn);
	struct bf_nft_req req = {
		.conn = conn,
		.portid = bf_nfnl_conn_portid(conn),
		.pid = (uint32_t)peer->pid,
	};
	int r;

	if (!(nlh->nlmsg_flags & NLM_F_REQUEST) ||
	    nlh->nlmsg_type < NLMSG_MIN_TYPE ||
	    nlh->nlmsg_len - NLMSG_HDRLEN < sizeof(struct nfgenmsg))
		r = 1;
	else if (nlh->nlmsg_type >> 8 != NFNL_SUBSYS_NFTABLES)
		return bf_nfnl_handler_default(conn, nlh, nlh->nlmsg_len);
	else if ((r = _bf_world_get(ctx, &req.world)) == 0)
		r = bf_nft_get(&req, nlh);

	if (r < 0)
		return r;
	if (r == 1 && (nlh->nlmsg_flags & NLM_F_ACK))
		return bf_nfnl_ack(conn, nlh, 0, NULL);

	return 0;
}

int bf_nft_handler(struct bf_nfnl_conn *conn, const void *data, size_t len)
{
	const struct bf_peer *peer = bf_nfnl_conn_peer(conn);
	const struct nlmsghdr *nlh = data;
	const uint8_t *buf = data;
	int r;

	if (len < NLMSG_HDRLEN || nlh->nlmsg_len < NLMSG_HDRLEN ||
	    len < nlh->nlmsg_len)
		return 0;

	if (nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN) {
		const struct nfgenmsg *nfg = NLMSG_DATA(nlh);
		uint16_t res_id;

		if (len < NLMSG_HDRLEN + sizeof(*nfg))
			return 0;
		res_id = nfg->res_id == NFNL_SUBSYS_NFTABLES ?
				 NFNL_SUBSYS_NFTABLES :
				 ntohs(nfg->res_id);
		if (res_id != NFNL_SUBSYS_NFTABLES)
			return bf_nfnl_handler_default(conn, data, len);
		return _bf_batch(conn, peer->ctx, buf, len);
	}

	while (len >= NLMSG_HDRLEN) {
		size_t msglen;

		nlh = (const void *)buf;
		if (nlh->nlmsg_len < NLMSG_HDRLEN || len < nlh->nlmsg_len)
			return 0;

		r = _bf_request(conn, peer->ctx, nlh);
		if (r)
			return r;

		msglen = BF_MIN((size_t)NLMSG_ALIGN(nlh->nlmsg_len), len);
		buf += msglen;
		len -= msglen;
	}

	return 0;
}
