/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests for nfnl/expr*.c, NFTA_RULE_EXPRESSIONS <-> IR: the corpus.
 *
 * The corpus (nft_expr_corpus_*.c): rules as nft 1.0.6 emits them (built
 * here with libnftnl, the library nft uses, attribute for attribute as
 * `nft --debug=netlink` and strace show), and for each one what a 6.18
 * kernel dumps back for it, recorded with selftests/tools/nft_capture in a
 * scratch netns after `nft -f` of the same lines. Lowering a rule and
 * dumping it back must give the kernel's bytes exactly; the rules the IR
 * cannot hold must be refused with EOPNOTSUPP at the right expression.
 * Mutated input must be refused without reading out of bounds (run under
 * ASan: make SANITIZE=1 build-san/tests/unit/test_nft_expr_corpus).
 */
#include "nft_expr_helpers.h"

/* Building NEWRULE messages as nft does */

static size_t unhex(const char *hex, uint8_t *out, size_t size)
{
	size_t n = strlen(hex) / 2;

	assert_true(n <= size);
	for (size_t i = 0; i < n; i++) {
		unsigned int v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}

	return n;
}

static void set_hex(struct nftnl_expr *e, uint16_t attr, const char *hex)
{
	uint8_t buf[64];
	size_t n = unhex(hex, buf, sizeof(buf));

	nftnl_expr_set(e, attr, buf, (uint32_t)n);
}

static struct nftnl_expr *build_expr(const struct xspec *x)
{
	static const char *const names[] = {
		[X_PAYLOAD] = "payload", [X_META] = "meta",
		[X_META_SET] = "meta",	 [X_CMP] = "cmp",
		[X_BITWISE] = "bitwise", [X_SHIFT] = "bitwise",
		[X_BYTEORDER] = "byteorder", [X_RANGE] = "range",
		[X_IMM] = "immediate",	 [X_VERDICT] = "immediate",
		[X_COUNTER] = "counter", [X_CT] = "ct",
		[X_LOOKUP] = "lookup",
	};
	struct nftnl_expr *e = nftnl_expr_alloc(names[x->kind]);
	uint8_t shift[4];

	assert_non_null(e);
	switch (x->kind) {
	case X_PAYLOAD:
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, x->d);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, x->a);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, x->b);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, x->c);
		break;
	case X_META:
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, x->a);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, x->b);
		break;
	case X_META_SET:
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, x->a);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, x->b);
		break;
	case X_CMP:
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, x->b);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, x->a);
		set_hex(e, NFTNL_EXPR_CMP_DATA, x->h1);
		break;
	case X_BITWISE:
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, x->a);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, x->b);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_OP, NFT_BITWISE_BOOL);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, x->c);
		set_hex(e, NFTNL_EXPR_BITWISE_MASK, x->h1);
		set_hex(e, NFTNL_EXPR_BITWISE_XOR, x->h2);
		break;
	case X_SHIFT:
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, x->b);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, x->b);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_OP, x->a);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, x->c);
		memcpy(shift, &x->d, sizeof(shift));
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_DATA, shift, sizeof(shift));
		break;
	case X_BYTEORDER:
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SREG, x->b);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_DREG, x->b);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_OP, x->a);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_LEN, x->c);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SIZE, x->d);
		break;
	case X_RANGE:
		nftnl_expr_set_u32(e, NFTNL_EXPR_RANGE_SREG, x->b);
		nftnl_expr_set_u32(e, NFTNL_EXPR_RANGE_OP, x->a);
		set_hex(e, NFTNL_EXPR_RANGE_FROM_DATA, x->h1);
		set_hex(e, NFTNL_EXPR_RANGE_TO_DATA, x->h2);
		break;
	case X_IMM:
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, x->a);
		set_hex(e, NFTNL_EXPR_IMM_DATA, x->h1);
		break;
	case X_VERDICT:
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, x->a);
		if (x->s)
			nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, x->s);
		break;
	case X_COUNTER:
		if (x->c) {
			nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_PACKETS, x->a);
			nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_BYTES, x->b);
		}
		break;
	case X_CT:
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, x->a);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, x->b);
		if (x->c)
			nftnl_expr_set_u8(e, NFTNL_EXPR_CT_DIR, (uint8_t)(x->c - 1));
		break;
	case X_LOOKUP:
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, x->a);
		nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, x->s);
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, 1);
		break;
	default:
		fail();
	}

	return e;
}

/* A NEWRULE message as nft sends it; returns its NFTA_RULE_EXPRESSIONS. */
static const struct nlattr *build_newrule(char *buf, int family,
					  const struct xspec *x)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	const struct nlattr *attr;
	struct nlmsghdr *nlh;

	assert_non_null(r);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, (uint32_t)family);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, "t");
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, "c");
	for (; x->kind != X_END; x++)
		nftnl_rule_add_expr(r, build_expr(x));

	nlh = nftnl_rule_nlmsg_build_hdr(buf, NFT_MSG_NEWRULE, (uint16_t)family,
					 NLM_F_CREATE | NLM_F_APPEND, 1);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);

	mnl_attr_for_each(attr, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(attr) == NFTA_RULE_EXPRESSIONS)
			return attr;
	}
	fail_msg("no NFTA_RULE_EXPRESSIONS");

	return NULL;
}

static char *ir_text(const struct bf_rule *rule)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	for (size_t i = 0; i < rule->n_exprs; i++) {
		if (i)
			fputs("; ", f);
		bf_expr_dump(&rule->exprs[i], f);
	}
	fclose(f);

	return text;
}

/* The corpus */

static void test_corpus_nft_to_kernel_dump(void **state)
{
	static char buf[BUF_SIZE], out[BUF_SIZE];

	for (size_t i = 0; i < corpus_len(); i++) {
		const struct corpus_case *c = corpus_at(i);
		const struct nlattr *exprs = build_newrule(buf, c->family, c->x);
		struct bf_rule *rule = NULL;
		struct bf_nft_err err;
		int r;

		assert_int_equal(bf_rule_new(&rule), 0);
		r = bf_nft_exprs_to_ir(exprs, c->family, rule, &err);

		if (c->err) {
			if (r != c->err)
				fail_msg("'%s': got %d (%s), want %d", c->line,
					 r, err.msg, c->err);
			assert_int_equal(err.err, c->err);
			assert_ptr_equal(err.attr, nth_elem(exprs, c->err_idx));
			if (!strstr(err.msg, c->msg))
				fail_msg("'%s': message '%s' lacks '%s'",
					 c->line, err.msg, c->msg);
		} else {
			_cleanup_free_ char *text = NULL;

			if (r)
				fail_msg("'%s': %d %s", c->line, r, err.msg);
			text = ir_text(rule);
			if (strcmp(text, c->ir))
				fail_msg("'%s':\n got IR  %s\n want IR %s",
					 c->line, text, c->ir);
			assert_attr_equal(dump_rule(out, sizeof(out), rule,
						    c->family),
					  c->kernel, c->kernel_len, c->line);
		}
		bf_rule_free(&rule);
	}
}

/* What the kernel dumps, lowered and dumped again: the same bytes, for
 * whole rules and for every single expression the IR holds (this reaches
 * the expressions of refused rules too: the shift, the immediate value,
 * the concatenation's NFT_REG32_01 load). */
static void test_corpus_kernel_roundtrip(void **state)
{
	static char out[BUF_SIZE];
	uint8_t one[512];
	size_t n_elems = 0, n_refused = 0;

	for (size_t i = 0; i < corpus_len(); i++) {
		const struct corpus_case *c = corpus_at(i);
		const struct nlattr *exprs = (const void *)c->kernel;
		const struct nlattr *elem;
		struct bf_rule *rule = NULL;
		struct bf_nft_err err;
		size_t rem;
		int r;

		assert_int_equal(bf_rule_new(&rule), 0);
		r = bf_nft_exprs_to_ir(exprs, c->family, rule, &err);
		assert_int_equal(r, c->err);
		if (!r) {
			assert_attr_equal(dump_rule(out, sizeof(out), rule,
						    c->family),
					  c->kernel, c->kernel_len, c->line);
		}
		bf_rule_free(&rule);

		for (elem = bf_nla_first(exprs, &rem); elem;
		     elem = bf_nla_next(elem, &rem)) {
			struct nlattr *hdr = (struct nlattr *)one;

			assert_true((size_t)NLA_HDRLEN + elem->nla_len <= sizeof(one));
			hdr->nla_type = NFTA_RULE_EXPRESSIONS;
			hdr->nla_len = (uint16_t)(NLA_HDRLEN + elem->nla_len);
			memcpy(one + NLA_HDRLEN, elem, elem->nla_len);

			assert_int_equal(bf_rule_new(&rule), 0);
			r = bf_nft_exprs_to_ir(hdr, c->family, rule, &err);
			if (r) {
				/* lookup: no set without a table. */
				assert_true(r == -EOPNOTSUPP || r == -ENOENT);
				n_refused++;
			} else {
				assert_attr_equal(dump_rule(out, sizeof(out),
							    rule, c->family),
						  one, hdr->nla_len, c->line);
				n_elems++;
			}
			bf_rule_free(&rule);
		}
		assert_int_equal(rem, 0);
	}

	/* lookup, and the meta set of an ip table. */
	assert_int_equal(n_refused, 2);
	assert_true(n_elems >= 100);
}

/* Every truncation and many byte mutations of every kernel dump: never a
 * crash or an out-of-bounds read (ASan), only 0 or a known errno. Each
 * input sits at the very end of its own allocation. */
static void test_mutations(void **state)
{
	size_t n_ok = 0, n_err = 0;

	for (size_t i = 0; i < corpus_len(); i++) {
		const struct corpus_case *c = corpus_at(i);

		for (size_t len = NLA_HDRLEN; len <= c->kernel_len; len++) {
			for (size_t pos = 0; pos < len; pos++) {
				static const uint8_t deltas[] = { 0x00, 0x01,
								  0x04, 0x80,
								  0xff };

				for (size_t d = 0; d < ARRAY_SIZE(deltas); d++) {
					uint8_t *copy = malloc(len);
					struct nlattr *hdr = (void *)copy;
					struct bf_rule *rule = NULL;
					struct bf_nft_err err;
					int r;

					/* Truncations once, mutations of the
					 * full dump only. */
					if (len != c->kernel_len &&
					    (pos || d))
						goto next;

					assert_non_null(copy);
					memcpy(copy, c->kernel, len);
					hdr->nla_len = (uint16_t)len;
					if (len == c->kernel_len) {
						copy[pos] = deltas[d] ?
							copy[pos] ^ deltas[d] :
							0;
						if (hdr->nla_len > len ||
						    hdr->nla_len < NLA_HDRLEN)
							hdr->nla_len =
								(uint16_t)len;
					}

					assert_int_equal(bf_rule_new(&rule), 0);
					r = bf_nft_exprs_to_ir(hdr, c->family,
							       rule, &err);
					if (r) {
						assert_true(r == -EINVAL ||
							    r == -EOPNOTSUPP ||
							    r == -ENOENT);
						assert_int_equal(err.err, r);
						n_err++;
					} else {
						n_ok++;
					}
					bf_rule_free(&rule);
next:
					free(copy);
				}
			}
		}
	}

	assert_true(n_ok > 0);
	assert_true(n_err > 0);
}

/* Dumps: -EMSGSIZE leaves the message as it was; counter values come
 * from the callback when there is one. */
static int read_counter(void *data, size_t idx, uint64_t *packets,
			uint64_t *bytes)
{
	size_t *calls = data;

	(*calls)++;
	*packets = 1000 + idx;
	*bytes = 0x0102030405060708ull;

	return 0;
}

static void test_dump(void **state)
{
	static char buf[BUF_SIZE];
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct bf_nft_dump_ctx ctx;
	const struct nlattr *exprs;
	struct bf_rule *rule = NULL;
	struct bf_nft_err err;
	size_t calls = 0;
	uint32_t full;

	exprs = (const void *)corpus_at(0)->kernel;
	assert_int_equal(parse(exprs, &rule, &err), 0);

	nlh->nlmsg_len = NLMSG_HDRLEN;
	assert_int_equal(bf_nft_exprs_from_ir(nlh, sizeof(buf), rule,
					      NFPROTO_IPV4, NULL),
			 0);
	full = nlh->nlmsg_len;
	assert_int_equal(full, NLMSG_HDRLEN + corpus_at(0)->kernel_len);

	for (size_t size = NLMSG_HDRLEN; size < full; size += 3) {
		nlh->nlmsg_len = NLMSG_HDRLEN;
		assert_int_equal(bf_nft_exprs_from_ir(nlh, size, rule,
						      NFPROTO_IPV4, NULL),
				 -EMSGSIZE);
		assert_int_equal(nlh->nlmsg_len, NLMSG_HDRLEN);
	}

	/* The counter is expression 6: bytes then packets, be64. */
	ctx.read = read_counter;
	ctx.data = &calls;
	nlh->nlmsg_len = NLMSG_HDRLEN;
	assert_int_equal(bf_nft_exprs_from_ir(nlh, sizeof(buf), rule,
					      NFPROTO_IPV4, &ctx),
			 0);
	assert_int_equal(calls, 1);
	{
		const struct nlattr *list = (const void *)(buf + NLMSG_HDRLEN);
		const struct nlattr *a;
		size_t rem;

		a = bf_nla_first(nth_elem(list, 6), &rem);
		a = bf_nla_next(a, &rem); /* data */
		a = bf_nla_first(a, &rem);
		assert_int_equal(bf_nla_type(a), NFTA_COUNTER_BYTES);
		assert_true(bf_nla_get_be64(a) == 0x0102030405060708ull);
		a = bf_nla_next(a, &rem);
		assert_int_equal(bf_nla_type(a), NFTA_COUNTER_PACKETS);
		assert_true(bf_nla_get_be64(a) == 1006);
	}

	/* An IR expression out of range is refused, nothing written. */
	rule->exprs[1].cmp.op = _BF_CMP_MAX;
	nlh->nlmsg_len = NLMSG_HDRLEN;
	assert_int_equal(bf_nft_exprs_from_ir(nlh, sizeof(buf), rule,
					      NFPROTO_IPV4, NULL),
			 -EINVAL);
	assert_int_equal(nlh->nlmsg_len, NLMSG_HDRLEN);

	bf_rule_free(&rule);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus_nft_to_kernel_dump),
		cmocka_unit_test(test_corpus_kernel_roundtrip),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_dump),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
