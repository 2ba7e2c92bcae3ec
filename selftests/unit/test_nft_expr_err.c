/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests for nfnl/expr*.c, NFTA_RULE_EXPRESSIONS <-> IR: what is
 * refused. Expressions and forms the IR does not hold (EOPNOTSUPP) and
 * malformed input (EINVAL), at the right expression and without reading
 * out of bounds (run under ASan: make SANITIZE=1
 * build-san/tests/unit/test_nft_expr_err).
 */
#include "nft_expr_helpers.h"

/* Expressions and forms the IR does not hold: EOPNOTSUPP, naming them,
 * pointing at the expression (a rule of two: meta, then the refused one). */
static void test_unsupported(void **state)
{
	static const char *const names[] = {
		"limit", "log",   "reject", "nat",
		"match",  "target", "exthdr", "dynset", "quota", "fib",
		"masq",	  "redir",  "queue", "objref", "numgen", "hash",
		"socket", "tproxy", "notrack", "last", "inner", "nosuchexpr",
	};
	char want[64];
	struct msg m;

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		msg_init(&m);
		put_meta(&m, NFT_META_MARK, NFT_REG_1);
		msg_expr(&m, names[i]);
		put_be32(&m, 1, 1);
		msg_expr_end(&m);
		snprintf(want, sizeof(want), "unsupported expression '%s'",
			 names[i]);
		expect_err(msg_end(&m), -EOPNOTSUPP, 1, want);
	}

	/* meta set */
	msg_init(&m);
	put_meta(&m, NFT_META_MARK, NFT_REG_1);
	msg_expr(&m, "meta");
	put_be32(&m, NFTA_META_KEY, NFT_META_MARK);
	put_be32(&m, NFTA_META_SREG, NFT_REG_1);
	msg_expr_end(&m);
	expect_err(msg_end(&m), -EOPNOTSUPP, 1, "meta set");

	/* ct set, ct keys outside the IR, bad directions, netdev tables */
	msg_init(&m);
	put_meta(&m, NFT_META_MARK, NFT_REG_1);
	msg_expr(&m, "ct");
	put_be32(&m, NFTA_CT_KEY, NFT_CT_MARK);
	put_be32(&m, NFTA_CT_SREG, NFT_REG_1);
	msg_expr_end(&m);
	expect_err(msg_end(&m), -EOPNOTSUPP, 1, "ct set");
	msg_init(&m);
	msg_expr(&m, "ct");
	put_be32(&m, NFTA_CT_KEY, NFT_CT_HELPER);
	put_be32(&m, NFTA_CT_DREG, NFT_REG_1);
	msg_expr_end(&m);
	expect_err(msg_end(&m), -EOPNOTSUPP, 0, "unsupported ct key 'helper'");
	msg_init(&m);
	msg_expr(&m, "ct");
	put_be32(&m, NFTA_CT_KEY, 99);
	put_be32(&m, NFTA_CT_DREG, NFT_REG_1);
	msg_expr_end(&m);
	expect_err(msg_end(&m), -EOPNOTSUPP, 0, "unsupported ct key 99");
	msg_init(&m);
	msg_expr(&m, "ct");
	put_be32(&m, NFTA_CT_KEY, NFT_CT_PROTO_DST);
	put_be32(&m, NFTA_CT_DREG, NFT_REG_1);
	mnl_attr_put_u8(m.nlh, NFTA_CT_DIRECTION, 2);
	msg_expr_end(&m);
	expect_err(msg_end(&m), -EOPNOTSUPP, 0, "unsupported ct direction 2");
	msg_init(&m);
	msg_expr(&m, "ct");
	put_be32(&m, NFTA_CT_KEY, NFT_CT_PROTO_DST);
	put_be32(&m, NFTA_CT_DREG, NFT_REG_1);
	msg_expr_end(&m);
	expect_err(msg_end(&m), -EINVAL, 0, "NFTA_CT_DIRECTION");
	msg_init(&m);
	msg_expr(&m, "ct");
	put_be32(&m, NFTA_CT_KEY, NFT_CT_STATE);
	put_be32(&m, NFTA_CT_DREG, NFT_REG_1);
	mnl_attr_put_u8(m.nlh, NFTA_CT_DIRECTION, 0);
	msg_expr_end(&m);
	expect_err(msg_end(&m), -EINVAL, 0, "takes no direction");
	{
		struct bf_rule *rule = NULL;
		struct bf_nft_err err;

		msg_init(&m);
		msg_expr(&m, "ct");
		put_be32(&m, NFTA_CT_KEY, NFT_CT_STATE);
		put_be32(&m, NFTA_CT_DREG, NFT_REG_1);
		msg_expr_end(&m);
		assert_int_equal(bf_rule_new(&rule), 0);
		assert_int_equal(bf_nft_exprs_to_ir(msg_end(&m), NFPROTO_NETDEV,
						    rule, &err), -EPROTO);
		assert_non_null(strstr(err.msg, "netdev"));
		bf_rule_free(&rule);

		/* saddr in a netdev table: the family first (the kernel's
		 * order), EAFNOSUPPORT. */
		msg_init(&m);
		msg_expr(&m, "ct");
		put_be32(&m, NFTA_CT_KEY, NFT_CT_SRC);
		put_be32(&m, NFTA_CT_DREG, NFT_REG_1);
		mnl_attr_put_u8(m.nlh, NFTA_CT_DIRECTION, 0);
		msg_expr_end(&m);
		assert_int_equal(bf_rule_new(&rule), 0);
		assert_int_equal(bf_nft_exprs_to_ir(msg_end(&m), NFPROTO_NETDEV,
						    rule, &err), -EAFNOSUPPORT);
		bf_rule_free(&rule);
	}

	/* meta keys outside the IR, by nft's name */
	msg_init(&m);
	put_meta(&m, NFT_META_CPU, NFT_REG_1);
	expect_err(msg_end(&m), -EOPNOTSUPP, 0, "unsupported meta key 'cpu'");
	msg_init(&m);
	put_meta(&m, NFT_META_SECPATH, NFT_REG_1);
	expect_err(msg_end(&m), -EOPNOTSUPP, 0, "'ipsec'");
	msg_init(&m);
	put_meta(&m, 200, NFT_REG_1);
	expect_err(msg_end(&m), -EOPNOTSUPP, 0, "unsupported meta key 200");

	/* payload set (with checksum fields) and the inner header base */
	msg_init(&m);
	msg_expr(&m, "payload");
	put_be32(&m, NFTA_PAYLOAD_SREG, NFT_REG_1);
	put_be32(&m, NFTA_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
	put_be32(&m, NFTA_PAYLOAD_OFFSET, 12);
	put_be32(&m, NFTA_PAYLOAD_LEN, 4);
	put_be32(&m, NFTA_PAYLOAD_CSUM_TYPE, 1);
	put_be32(&m, NFTA_PAYLOAD_CSUM_OFFSET, 10);
	msg_expr_end(&m);
	expect_err(msg_end(&m), -EOPNOTSUPP, 0, "payload set");

	for (uint32_t base = NFT_PAYLOAD_INNER_HEADER;
	     base <= NFT_PAYLOAD_TUN_HEADER; base++) {
		msg_init(&m);
		msg_expr(&m, "payload");
		put_be32(&m, NFTA_PAYLOAD_DREG, NFT_REG_1);
		put_be32(&m, NFTA_PAYLOAD_BASE, base);
		put_be32(&m, NFTA_PAYLOAD_OFFSET, 0);
		put_be32(&m, NFTA_PAYLOAD_LEN, 4);
		msg_expr_end(&m);
		expect_err(msg_end(&m), -EOPNOTSUPP, 0, "payload base");
	}

	/* a payload load longer than 16 bytes (the kernel takes up to 64) */
	msg_init(&m);
	msg_expr(&m, "payload");
	put_be32(&m, NFTA_PAYLOAD_DREG, NFT_REG_1);
	put_be32(&m, NFTA_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
	put_be32(&m, NFTA_PAYLOAD_OFFSET, 8);
	put_be32(&m, NFTA_PAYLOAD_LEN, 32);
	msg_expr_end(&m);
	expect_err(msg_end(&m), -EOPNOTSUPP, 0, "32 bytes");

	/* bitwise and/or/xor of two registers (6.13+) */
	msg_init(&m);
	put_meta(&m, NFT_META_MARK, NFT_REG_1);
	msg_expr(&m, "bitwise");
	put_be32(&m, NFTA_BITWISE_SREG, NFT_REG_1);
	put_be32(&m, NFTA_BITWISE_DREG, NFT_REG_1);
	put_be32(&m, NFTA_BITWISE_LEN, 4);
	put_be32(&m, NFTA_BITWISE_OP, 3);
	put_be32(&m, BF_NFTA_BITWISE_SREG2, NFT_REG_2);
	msg_expr_end(&m);
	expect_err(msg_end(&m), -EOPNOTSUPP, 1, "bitwise op 3");

	/* shift on a length the IR cannot shift */
	msg_init(&m);
	put_meta(&m, NFT_META_MARK, NFT_REG_1);
	msg_expr(&m, "bitwise");
	put_be32(&m, NFTA_BITWISE_SREG, NFT_REG_1);
	put_be32(&m, NFTA_BITWISE_DREG, NFT_REG_1);
	put_be32(&m, NFTA_BITWISE_LEN, 2);
	put_be32(&m, NFTA_BITWISE_OP, NFT_BITWISE_LSHIFT);
	{
		uint32_t n = 3;

		put_value(&m, NFTA_BITWISE_DATA, &n, sizeof(n));
	}
	msg_expr_end(&m);
	expect_err(msg_end(&m), -EOPNOTSUPP, 1, "shift of 2 bytes");

	/* verdicts: queue, break, jump by chain id */
	msg_init(&m);
	put_verdict(&m, NF_QUEUE, NULL);
	expect_err(msg_end(&m), -EOPNOTSUPP, 0, "'queue'");
	msg_init(&m);
	put_verdict(&m, NFT_BREAK, NULL);
	expect_err(msg_end(&m), -EOPNOTSUPP, 0, "'break'");
	{
		struct nlattr *d, *v;

		msg_init(&m);
		msg_expr(&m, "immediate");
		put_be32(&m, NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
		d = mnl_attr_nest_start(m.nlh, NFTA_IMMEDIATE_DATA);
		v = mnl_attr_nest_start(m.nlh, NFTA_DATA_VERDICT);
		put_be32(&m, NFTA_VERDICT_CODE, (uint32_t)NFT_JUMP);
		put_be32(&m, NFTA_VERDICT_CHAIN_ID, 7);
		mnl_attr_nest_end(m.nlh, v);
		mnl_attr_nest_end(m.nlh, d);
		msg_expr_end(&m);
		expect_err(msg_end(&m), -EOPNOTSUPP, 0, "chain id");
	}

}

/* Malformed input: -EINVAL and the expression. */
static void test_malformed(void **state)
{
	uint8_t v17[17] = { 0 }, v4[4] = { 0 };
	struct msg m;

	/* missing attributes */
	msg_init(&m);
	msg_expr(&m, "payload");
	put_be32(&m, NFTA_PAYLOAD_DREG, NFT_REG_1);
	put_be32(&m, NFTA_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
	put_be32(&m, NFTA_PAYLOAD_LEN, 4);
	msg_expr_end(&m);
	expect_err(msg_end(&m), -EINVAL, 0, "NFTA_PAYLOAD_OFFSET");

	msg_init(&m);
	put_meta(&m, NFT_META_MARK, NFT_REG_1);
	msg_expr(&m, "cmp");
	put_be32(&m, NFTA_CMP_SREG, NFT_REG_1);
	put_be32(&m, NFTA_CMP_OP, NFT_CMP_EQ);
	msg_expr_end(&m);
	expect_err(msg_end(&m), -EINVAL, 1, "NFTA_CMP_DATA");

	/* an expression without data, and without a name */
	msg_init(&m);
	m.elem = mnl_attr_nest_start(m.nlh, NFTA_LIST_ELEM);
	mnl_attr_put_strz(m.nlh, NFTA_EXPR_NAME, "cmp");
	mnl_attr_nest_end(m.nlh, m.elem);
	expect_err(msg_end(&m), -EINVAL, 0, "NFTA_CMP_SREG");

	msg_init(&m);
	m.elem = mnl_attr_nest_start(m.nlh, NFTA_LIST_ELEM);
	m.data = mnl_attr_nest_start(m.nlh, NFTA_EXPR_DATA);
	mnl_attr_nest_end(m.nlh, m.data);
	mnl_attr_nest_end(m.nlh, m.elem);
	expect_err(msg_end(&m), -EINVAL, 0, "without a name");

	msg_init(&m);
	m.elem = mnl_attr_nest_start(m.nlh, NFTA_LIST_ELEM);
	mnl_attr_put(m.nlh, NFTA_EXPR_NAME, 1, "");
	mnl_attr_nest_end(m.nlh, m.elem);
	expect_err(msg_end(&m), -EINVAL, 0, "empty name");

	/* data longer than 16 bytes, empty data, a verdict as a value */
	msg_init(&m);
	put_meta(&m, NFT_META_MARK, NFT_REG_1);
	msg_expr(&m, "cmp");
	put_be32(&m, NFTA_CMP_SREG, NFT_REG_1);
	put_be32(&m, NFTA_CMP_OP, NFT_CMP_EQ);
	put_value(&m, NFTA_CMP_DATA, v17, sizeof(v17));
	msg_expr_end(&m);
	expect_err(msg_end(&m), -EINVAL, 1, "17 bytes");

	msg_init(&m);
	put_meta(&m, NFT_META_MARK, NFT_REG_1);
	msg_expr(&m, "cmp");
	put_be32(&m, NFTA_CMP_SREG, NFT_REG_1);
	put_be32(&m, NFTA_CMP_OP, NFT_CMP_EQ);
	put_value(&m, NFTA_CMP_DATA, v4, 0);
	msg_expr_end(&m);
	expect_err(msg_end(&m), -EINVAL, 1, "0 bytes");

	msg_init(&m);
	msg_expr(&m, "immediate");
	put_be32(&m, NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
	put_value(&m, NFTA_IMMEDIATE_DATA, v4, sizeof(v4));
	msg_expr_end(&m);
	expect_err(msg_end(&m), -EINVAL, 0, "takes a verdict");

	/* a cmp op, a range with bounds of two lengths, a byteorder size */
	msg_init(&m);
	put_meta(&m, NFT_META_MARK, NFT_REG_1);
	msg_expr(&m, "cmp");
	put_be32(&m, NFTA_CMP_SREG, NFT_REG_1);
	put_be32(&m, NFTA_CMP_OP, 6);
	put_value(&m, NFTA_CMP_DATA, v4, sizeof(v4));
	msg_expr_end(&m);
	expect_err(msg_end(&m), -EINVAL, 1, "cmp op 6");

	msg_init(&m);
	put_meta(&m, NFT_META_MARK, NFT_REG_1);
	msg_expr(&m, "range");
	put_be32(&m, NFTA_RANGE_SREG, NFT_REG_1);
	put_be32(&m, NFTA_RANGE_OP, NFT_RANGE_EQ);
	put_value(&m, NFTA_RANGE_FROM_DATA, v4, 4);
	put_value(&m, NFTA_RANGE_TO_DATA, v4, 2);
	msg_expr_end(&m);
	expect_err(msg_end(&m), -EINVAL, 1, "bounds");

	msg_init(&m);
	put_meta(&m, NFT_META_MARK, NFT_REG_1);
	msg_expr(&m, "byteorder");
	put_be32(&m, NFTA_BYTEORDER_SREG, NFT_REG_1);
	put_be32(&m, NFTA_BYTEORDER_DREG, NFT_REG_1);
	put_be32(&m, NFTA_BYTEORDER_OP, NFT_BYTEORDER_HTON);
	put_be32(&m, NFTA_BYTEORDER_LEN, 4);
	put_be32(&m, NFTA_BYTEORDER_SIZE, 3);
	msg_expr_end(&m);
	expect_err(msg_end(&m), -EINVAL, 1, "size 3");

	/* bitwise mask shorter than the length; shift by 32 */
	msg_init(&m);
	put_meta(&m, NFT_META_MARK, NFT_REG_1);
	msg_expr(&m, "bitwise");
	put_be32(&m, NFTA_BITWISE_SREG, NFT_REG_1);
	put_be32(&m, NFTA_BITWISE_DREG, NFT_REG_1);
	put_be32(&m, NFTA_BITWISE_LEN, 4);
	put_value(&m, NFTA_BITWISE_MASK, v4, 2);
	put_value(&m, NFTA_BITWISE_XOR, v4, 4);
	msg_expr_end(&m);
	expect_err(msg_end(&m), -EINVAL, 1, "mask of 2 bytes");

	msg_init(&m);
	put_meta(&m, NFT_META_MARK, NFT_REG_1);
	msg_expr(&m, "bitwise");
	put_be32(&m, NFTA_BITWISE_SREG, NFT_REG_1);
	put_be32(&m, NFTA_BITWISE_DREG, NFT_REG_1);
	put_be32(&m, NFTA_BITWISE_LEN, 4);
	put_be32(&m, NFTA_BITWISE_OP, NFT_BITWISE_RSHIFT);
	{
		uint32_t n = 32;

		put_value(&m, NFTA_BITWISE_DATA, &n, sizeof(n));
	}
	msg_expr_end(&m);
	expect_err(msg_end(&m), -EINVAL, 1, "shift by 32");

	/* a u32 attribute of 2 and of 8 bytes */
	msg_init(&m);
	msg_expr(&m, "meta");
	mnl_attr_put_u16(m.nlh, NFTA_META_KEY, 3);
	put_be32(&m, NFTA_META_DREG, NFT_REG_1);
	msg_expr_end(&m);
	expect_err(msg_end(&m), -EINVAL, 0, "malformed");

	msg_init(&m);
	msg_expr(&m, "meta");
	mnl_attr_put_u64(m.nlh, NFTA_META_KEY, 3);
	put_be32(&m, NFTA_META_DREG, NFT_REG_1);
	msg_expr_end(&m);
	expect_err(msg_end(&m), -EINVAL, 0, "malformed");

	/* an unknown verdict code; a jump without a chain */
	msg_init(&m);
	put_verdict(&m, 2 /* NF_STOLEN */, NULL);
	expect_err(msg_end(&m), -EINVAL, 0, "verdict code 2");
	msg_init(&m);
	put_verdict(&m, NFT_GOTO, NULL);
	expect_err(msg_end(&m), -EINVAL, 0, "without a chain");

	/* payload offset past 255 */
	msg_init(&m);
	msg_expr(&m, "payload");
	put_be32(&m, NFTA_PAYLOAD_DREG, NFT_REG_1);
	put_be32(&m, NFTA_PAYLOAD_BASE, NFT_PAYLOAD_TRANSPORT_HEADER);
	put_be32(&m, NFTA_PAYLOAD_OFFSET, 256);
	put_be32(&m, NFTA_PAYLOAD_LEN, 2);
	msg_expr_end(&m);
	expect_err(msg_end(&m), -EINVAL, 0, "offset 256");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unsupported),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
