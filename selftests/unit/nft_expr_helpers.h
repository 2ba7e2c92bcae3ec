/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared by the unit tests of nfnl/expr*.c (test_nft_expr_*.c): the
 * corpus (nft's expressions, the kernel's dumps, the IR between), declared
 * here and defined in nft_expr_corpus_*.c, and the helpers that build
 * messages by hand, parse them and compare dumps.
 */
#ifndef BF_SELFTESTS_UNIT_NFT_EXPR_HELPERS_H
#define BF_SELFTESTS_UNIT_NFT_EXPR_HELPERS_H

#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <bpfilter/helpers.h>
#include <bpfilter/ir.h>

#include "nfnl/expr.h"

#define BUF_SIZE 8192

/* What nft emits, one entry per expression. Registers are netlink
 * register numbers; hex strings are bytes in memory order. */
enum xkind {
	X_END,
	X_PAYLOAD, /* a base, b offset, c len, d dreg */
	X_META, /* a key, b dreg */
	X_META_SET, /* a key, b sreg */
	X_CMP, /* a op, b sreg, h1 data */
	X_BITWISE, /* a sreg, b dreg, c len, h1 mask, h2 xor */
	X_SHIFT, /* a op, b sreg/dreg, c len, d shift */
	X_BYTEORDER, /* a op, b sreg/dreg, c len, d size */
	X_RANGE, /* a op, b sreg, h1 from, h2 to */
	X_IMM, /* a dreg, h1 data */
	X_VERDICT, /* a code, s chain */
	X_COUNTER, /* a packets, b bytes, c: set them */
	X_CT, /* a key, b dreg, c direction + 1 (0: none) */
	X_LOOKUP, /* a sreg, s set name */
};

struct xspec {
	enum xkind kind;
	uint32_t a, b, c, d;
	const char *h1, *h2, *s;
};

#define P(base, off, len, reg) { X_PAYLOAD, NFT_PAYLOAD_##base##_HEADER, off, len, reg }
#define M(key, reg) { X_META, NFT_META_##key, reg }
#define MSET(key, reg) { X_META_SET, NFT_META_##key, reg }
#define C(op, reg, hex) { X_CMP, NFT_CMP_##op, reg, .h1 = hex }
#define B(reg, len, mask, xor) { X_BITWISE, reg, reg, len, .h1 = mask, .h2 = xor }
#define SH(op, reg, len, n) { X_SHIFT, NFT_BITWISE_##op, reg, len, n }
#define BO(op, reg, len, size) { X_BYTEORDER, NFT_BYTEORDER_##op, reg, len, size }
#define R(op, reg, from, to) { X_RANGE, NFT_RANGE_##op, reg, .h1 = from, .h2 = to }
#define I(reg, hex) { X_IMM, reg, .h1 = hex }
#define V(code) { X_VERDICT, (uint32_t)(code) }
#define VC(code, chain) { X_VERDICT, (uint32_t)(code), .s = chain }
#define CNT() { X_COUNTER }
#define CNTV(pk, by) { X_COUNTER, pk, by, 1 }
#define CT(key, reg) { X_CT, NFT_CT_##key, reg }
#define CTD(key, reg, dir) { X_CT, NFT_CT_##key, reg, (dir) + 1 }
#define LOOKUP(reg, set) { X_LOOKUP, reg, .s = set }
#define END { X_END }

struct corpus_case {
	const char *line;
	int family;
	struct xspec x[16];
	const uint8_t *kernel;
	size_t kernel_len;
	/* Lowered: the IR as bf_expr_dump() prints it, "; " between. */
	const char *ir;
	/* Refused: errno, the index of the expression, a message part. */
	int err;
	int err_idx;
	const char *msg;
};


#define K(n) k##n, sizeof(k##n)

/* The corpus, in two files: IPv4 tables (nft_expr_corpus_ip4.c), then
 * IPv6, inet and netdev tables and conntrack (nft_expr_corpus_ip6_ct.c). */
extern const struct corpus_case nft_corpus_ip4[];
extern const size_t nft_corpus_ip4_len;
extern const struct corpus_case nft_corpus_ip6_ct[];
extern const size_t nft_corpus_ip6_ct_len;

static inline size_t corpus_len(void)
{
	return nft_corpus_ip4_len + nft_corpus_ip6_ct_len;
}

/* The i-th corpus case, both files one after the other. */
static inline const struct corpus_case *corpus_at(size_t i)
{
	if (i < nft_corpus_ip4_len)
		return &nft_corpus_ip4[i];
	assert_true(i - nft_corpus_ip4_len < nft_corpus_ip6_ct_len);

	return &nft_corpus_ip6_ct[i - nft_corpus_ip4_len];
}

/* Helpers */

/* The idx-th NFTA_LIST_ELEM of an expression list. */
static inline const struct nlattr *nth_elem(const struct nlattr *exprs,
					    int idx)
{
	const struct nlattr *a;
	size_t rem;

	for (a = bf_nla_first(exprs, &rem); a; a = bf_nla_next(a, &rem)) {
		if (!idx--)
			return a;
	}
	fail_msg("no expression %d", idx);

	return NULL;
}

/* Dump @rule into a fresh message; returns its NFTA_RULE_EXPRESSIONS. */
static inline const struct nlattr *dump_rule(char *buf, size_t size,
					     const struct bf_rule *rule,
					     int family)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	uint32_t start;

	memset(buf, 0xa5, size);
	nlh->nlmsg_len = NLMSG_HDRLEN;
	start = nlh->nlmsg_len;
	assert_int_equal(bf_nft_exprs_from_ir(nlh, size, rule, family, NULL), 0);
	assert_true(nlh->nlmsg_len > start);

	return (const struct nlattr *)(buf + start);
}

static inline void assert_attr_equal(const struct nlattr *got,
				     const uint8_t *want, size_t want_len,
				     const char *what)
{
	if (got->nla_len != want_len ||
	    memcmp(got, want, want_len) != 0) {
		const uint8_t *g = (const uint8_t *)got;

		for (size_t i = 0; i < BF_MAX((size_t)got->nla_len, want_len);
		     i++) {
			if (i >= got->nla_len || i >= want_len ||
			    g[i] != want[i]) {
				print_error("%s: first difference at byte %zu "
					    "(got len %u, want %zu)\n",
					    what, i, got->nla_len, want_len);
				break;
			}
		}
		fail_msg("%s: dump differs from the kernel's", what);
	}
}

/* Hand-made messages */

struct msg {
	char buf[BUF_SIZE];
	struct nlmsghdr *nlh;
	struct nlattr *list, *elem, *data;
};

static inline void msg_init(struct msg *m)
{
	memset(m->buf, 0, sizeof(m->buf));
	m->nlh = mnl_nlmsg_put_header(m->buf);
	m->list = mnl_attr_nest_start(m->nlh, NFTA_RULE_EXPRESSIONS);
}

static inline void msg_expr(struct msg *m, const char *name)
{
	m->elem = mnl_attr_nest_start(m->nlh, NFTA_LIST_ELEM);
	mnl_attr_put_strz(m->nlh, NFTA_EXPR_NAME, name);
	m->data = mnl_attr_nest_start(m->nlh, NFTA_EXPR_DATA);
}

static inline void msg_expr_end(struct msg *m)
{
	mnl_attr_nest_end(m->nlh, m->data);
	mnl_attr_nest_end(m->nlh, m->elem);
}

static inline const struct nlattr *msg_end(struct msg *m)
{
	mnl_attr_nest_end(m->nlh, m->list);
	return m->list;
}

static inline void put_be32(struct msg *m, uint16_t type, uint32_t v)
{
	mnl_attr_put_u32(m->nlh, type, htonl(v));
}

static inline void put_value(struct msg *m, uint16_t type, const void *data,
			     size_t len)
{
	struct nlattr *nest = mnl_attr_nest_start(m->nlh, type);

	mnl_attr_put(m->nlh, NFTA_DATA_VALUE, len, data);
	mnl_attr_nest_end(m->nlh, nest);
}

static inline void put_meta(struct msg *m, uint32_t key, uint32_t dreg)
{
	msg_expr(m, "meta");
	put_be32(m, NFTA_META_KEY, key);
	put_be32(m, NFTA_META_DREG, dreg);
	msg_expr_end(m);
}

static inline void put_verdict(struct msg *m, int32_t code,
			       const char *chain)
{
	struct nlattr *d, *v;

	msg_expr(m, "immediate");
	put_be32(m, NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
	d = mnl_attr_nest_start(m->nlh, NFTA_IMMEDIATE_DATA);
	v = mnl_attr_nest_start(m->nlh, NFTA_DATA_VERDICT);
	put_be32(m, NFTA_VERDICT_CODE, (uint32_t)code);
	if (chain)
		mnl_attr_put_strz(m->nlh, NFTA_VERDICT_CHAIN, chain);
	mnl_attr_nest_end(m->nlh, v);
	mnl_attr_nest_end(m->nlh, d);
	msg_expr_end(m);
}

/* Parse; on error check errno and that err.attr is expression @idx (-1:
 * no attribute, as the kernel reports none). */
static inline int parse(const struct nlattr *exprs, struct bf_rule **rule,
			struct bf_nft_err *err)
{
	assert_int_equal(bf_rule_new(rule), 0);
	return bf_nft_exprs_to_ir(exprs, NFPROTO_IPV4, *rule, err);
}

static inline void expect_err(const struct nlattr *exprs, int want, int idx,
			      const char *msg)
{
	struct bf_rule *rule = NULL;
	struct bf_nft_err err;
	int r = parse(exprs, &rule, &err);

	if (r != want)
		fail_msg("got %d (%s), want %d", r, err.msg, want);
	assert_int_equal(err.err, want);
	if (idx < 0)
		assert_null(err.attr);
	else
		assert_ptr_equal(err.attr, nth_elem(exprs, idx));
	assert_non_null(err.inner);
	if (msg && !strstr(err.msg, msg))
		fail_msg("message '%s' lacks '%s'", err.msg, msg);
	bf_rule_free(&rule);
}

#endif /* BF_SELFTESTS_UNIT_NFT_EXPR_HELPERS_H */
