/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests for nfnl/expr*.c, NFTA_RULE_EXPRESSIONS <-> IR: hand-made
 * messages for the registers, the verdicts and the framing of the
 * expression list (run under ASan: make SANITIZE=1
 * build-san/tests/unit/test_nft_expr_msg).
 */
#include "nft_expr_helpers.h"

/* Registers: NFT_REG_1..4 and NFT_REG32_00..15 in, IR words out, and the
 * kernel's preferred name back (the 16-byte name on 16-byte boundaries). */
static void test_registers(void **state)
{
	static char out[BUF_SIZE];
	static const uint32_t regs[] = { 1, 2, 3, 4, 8, 9, 10, 11, 12, 13,
					 14, 15, 16, 17, 18, 19, 20, 21, 22, 23 };

	for (size_t i = 0; i < ARRAY_SIZE(regs); i++) {
		uint32_t v = regs[i];
		unsigned int ir = v <= 4 ? (v - 1) * 4 : v - 8;
		uint32_t back = ir % 4 ? ir + 8 : ir / 4 + 1;
		const struct nlattr *exprs, *dumped, *a;
		struct bf_rule *rule = NULL;
		struct bf_nft_err err;
		struct msg m;
		size_t rem;

		msg_init(&m);
		put_meta(&m, NFT_META_MARK, v);
		exprs = msg_end(&m);
		assert_int_equal(parse(exprs, &rule, &err), 0);
		assert_int_equal(rule->exprs[0].meta.dreg, ir);
		assert_int_equal(bf_nft_reg_to_nft((uint8_t)ir), back);

		dumped = dump_rule(out, sizeof(out), rule, NFPROTO_IPV4);
		/* list / elem / name, data / key, dreg */
		a = bf_nla_first(nth_elem(dumped, 0), &rem);
		a = bf_nla_next(a, &rem);
		a = bf_nla_first(a, &rem);
		a = bf_nla_next(a, &rem);
		assert_int_equal(bf_nla_type(a), NFTA_META_DREG);
		assert_int_equal(bf_nla_get_be32(a), back);
		bf_rule_free(&rule);
	}

	/* 4 bytes at the last register fit, 16 bytes at NFT_REG32_13 do
	 * not; the verdict register and numbers between and above the two
	 * ranges are refused. */
	{
		static const struct {
			const char *name;
			uint32_t key, reg;
			int err;
		} cases[] = {
			{ "last", NFT_META_MARK, NFT_REG32_15, 0 },
			{ "reg4", NFT_META_IIFNAME, NFT_REG_4, 0 },
			{ "past", NFT_META_IIFNAME, NFT_REG32_13, -EINVAL },
			{ "verdict", NFT_META_MARK, NFT_REG_VERDICT, -EINVAL },
			{ "5", NFT_META_MARK, 5, -EINVAL },
			{ "7", NFT_META_MARK, 7, -EINVAL },
			{ "24", NFT_META_MARK, 24, -EINVAL },
			{ "huge", NFT_META_MARK, 0xffffffff, -EINVAL },
		};

		for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
			struct msg m;

			msg_init(&m);
			put_meta(&m, cases[i].key, cases[i].reg);
			if (cases[i].err) {
				expect_err(msg_end(&m), cases[i].err, 0, NULL);
			} else {
				struct bf_rule *rule = NULL;
				struct bf_nft_err err;

				assert_int_equal(parse(msg_end(&m), &rule, &err),
						 0);
				bf_rule_free(&rule);
			}
		}
	}
}

/* Verdicts, each code and a jump to the longest chain name. */
static void test_verdicts(void **state)
{
	static char out[BUF_SIZE];
	static const struct {
		int32_t code;
		enum bf_verdict v;
	} codes[] = {
		{ NF_ACCEPT, BF_VERDICT_ACCEPT },   { NF_DROP, BF_VERDICT_DROP },
		{ NFT_CONTINUE, BF_VERDICT_CONTINUE },
		{ NFT_RETURN, BF_VERDICT_RETURN },  { NFT_JUMP, BF_VERDICT_JUMP },
		{ NFT_GOTO, BF_VERDICT_GOTO },
	};
	char longest[NFT_CHAIN_MAXNAMELEN];

	memset(longest, 'x', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';

	for (size_t i = 0; i < ARRAY_SIZE(codes); i++) {
		bool chain = codes[i].v == BF_VERDICT_JUMP ||
			     codes[i].v == BF_VERDICT_GOTO;
		const struct nlattr *exprs;
		struct bf_rule *rule = NULL;
		struct bf_nft_err err;
		struct msg m;

		msg_init(&m);
		put_verdict(&m, codes[i].code, chain ? longest : NULL);
		exprs = msg_end(&m);
		assert_int_equal(parse(exprs, &rule, &err), 0);
		assert_int_equal(rule->exprs[0].type, BF_EXPR_VERDICT);
		assert_int_equal(rule->exprs[0].verdict.code, codes[i].v);
		if (chain)
			assert_string_equal(rule->exprs[0].verdict.chain,
					    longest);
		/* nft sends nests with NLA_F_NESTED, the kernel dumps them
		 * without: compare with the flags cleared. */
		{
			const struct nlattr *d =
				dump_rule(out, sizeof(out), rule, NFPROTO_IPV4);
			uint8_t want[BUF_SIZE];

			memcpy(want, exprs, exprs->nla_len);
			for (size_t off = 0; off + 4 <= exprs->nla_len;) {
				struct nlattr *a = (struct nlattr *)(want + off);

				if (a->nla_type & NLA_F_NESTED) {
					a->nla_type &= ~NLA_F_NESTED;
					off += NLA_HDRLEN;
				} else {
					off += NLA_ALIGN(a->nla_len);
				}
			}
			assert_attr_equal(d, want, exprs->nla_len, "verdict");
		}
		bf_rule_free(&rule);
	}
}

/* Broken framing: wrong nesting, truncation, huge lengths, too many
 * expressions. */
static void test_framing(void **state)
{
	struct msg m;
	struct nlattr *a;

	/* not a NFTA_LIST_ELEM: no attribute reported, as the kernel */
	msg_init(&m);
	put_meta(&m, NFT_META_MARK, NFT_REG_1);
	a = mnl_attr_nest_start(m.nlh, 2);
	mnl_attr_nest_end(m.nlh, a);
	expect_err(msg_end(&m), -EINVAL, -1, "attribute type 2");

	/* 129 expressions */
	msg_init(&m);
	for (int i = 0; i <= BF_NFT_RULE_MAXEXPRS; i++) {
		msg_expr(&m, "counter");
		msg_expr_end(&m);
	}
	expect_err(msg_end(&m), -EINVAL, -1, "more than 128");

	/* the name's length runs past the expression */
	msg_init(&m);
	put_meta(&m, NFT_META_MARK, NFT_REG_1);
	msg_end(&m);
	{
		struct nlattr *elem = (struct nlattr *)bf_nla_data(m.list);
		struct nlattr *name = (struct nlattr *)bf_nla_data(elem);

		name->nla_len = 0xfff0;
		expect_err(m.list, -EINVAL, 0, "malformed expression");
		name->nla_len = 2;
		expect_err(m.list, -EINVAL, 0, "malformed expression");
	}

	/* an element longer than the list: the list is truncated */
	msg_init(&m);
	put_meta(&m, NFT_META_MARK, NFT_REG_1);
	msg_end(&m);
	m.list->nla_len -= 4;
	expect_err(m.list, -EINVAL, -1, "truncated");

	/* an empty list is fine */
	{
		struct bf_rule *rule = NULL;
		struct bf_nft_err err;

		msg_init(&m);
		assert_int_equal(parse(msg_end(&m), &rule, &err), 0);
		assert_int_equal(rule->n_exprs, 0);
		bf_rule_free(&rule);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registers),
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_framing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
