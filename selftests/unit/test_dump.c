/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests for codegen/dump.c: the readable listing of instructions
 * (bf_insn_dump) and of a generated program (bf_program_dump).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <bpfilter/helpers.h>
#include <bpfilter/ir.h>

#include "codegen/cgen.h"

/* bf_insn_dump() of @insns into a string (caller frees). */
static char *dump(const struct bpf_insn *insns, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	bf_insn_dump(insns, n, f);
	assert_int_equal(fclose(f), 0);
	assert_non_null(buf);
	return buf;
}

/* One instruction -> one line. */
static void expect_one(struct bpf_insn insn, const char *want)
{
	_cleanup_free_ char *got = dump(&insn, 1);

	assert_string_equal(got, want);
}

static void test_alu64(void **state)
{
	expect_one(BF_ALU64_IMM(BPF_ADD, BPF_REG_1, 5), "    0: r1 += 5\n");
	expect_one(BF_ALU64_IMM(BPF_SUB, BPF_REG_2, -8), "    0: r2 -= -8\n");
	expect_one(BF_MOV64_IMM(BPF_REG_0, 2), "    0: r0 = 2\n");
	expect_one(BF_ALU64_IMM(BPF_LSH, BPF_REG_3, 32), "    0: r3 <<= 32\n");
	expect_one(BF_ALU64_IMM(BPF_ARSH, BPF_REG_3, 1), "    0: r3 s>>= 1\n");
	expect_one(BF_MOV64_REG(BPF_REG_6, BPF_REG_1), "    0: r6 = r1\n");
	expect_one(BF_ALU64_REG(BPF_OR, BPF_REG_7, BPF_REG_5), "    0: r7 |= r5\n");
	expect_one(BF_ALU64_REG(BPF_XOR, BPF_REG_8, BPF_REG_9), "    0: r8 ^= r9\n");
	(void)state;
}

static void test_alu32(void **state)
{
	expect_one(BF_ALU32_IMM(BPF_AND, BPF_REG_2, 0xff), "    0: w2 &= 255\n");
	expect_one(BF_MOV32_IMM(BPF_REG_1, -1), "    0: w1 = -1\n");
	expect_one(BF_ALU32_IMM(BPF_RSH, BPF_REG_4, 4), "    0: w4 >>= 4\n");
	expect_one(BF_MOV32_REG(BPF_REG_3, BPF_REG_4), "    0: w3 = w4\n");
	expect_one(BF_ALU32_REG(BPF_ADD, BPF_REG_0, BPF_REG_1), "    0: w0 += w1\n");
	(void)state;
}

static void test_mem(void **state)
{
	expect_one(BF_LDX_MEM(BPF_W, BPF_REG_0, BPF_REG_1, 4),
		   "    0: r0 = *(u32 *)(r1 +4)\n");
	expect_one(BF_LDX_MEM(BPF_B, BPF_REG_2, BPF_REG_10, -320),
		   "    0: r2 = *(u8 *)(r10 -320)\n");
	expect_one(BF_LDX_MEM(BPF_DW, BPF_REG_1, BPF_REG_10, BF_FP_PKT_LEN),
		   "    0: r1 = *(u64 *)(r10 -264)\n");
	expect_one(BF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_1, -8),
		   "    0: *(u64 *)(r10 -8) = r1\n");
	expect_one(BF_STX_MEM(BPF_H, BPF_REG_10, BPF_REG_3, -2),
		   "    0: *(u16 *)(r10 -2) = r3\n");
	expect_one(BF_ST_MEM(BPF_H, BPF_REG_10, -16, 7),
		   "    0: *(u16 *)(r10 -16) = 7\n");
	expect_one(BF_ST_MEM(BPF_DW, BPF_REG_10, -24, 0x10000),
		   "    0: *(u64 *)(r10 -24) = 65536\n");
	expect_one(BF_ATOMIC_ADD(BPF_DW, BPF_REG_0, BPF_REG_1, 8),
		   "    0: lock *(u64 *)(r0 +8) += r1\n");
	expect_one(BF_ATOMIC_ADD(BPF_W, BPF_REG_0, BPF_REG_2, 0),
		   "    0: lock *(u32 *)(r0 +0) += r2\n");
	(void)state;
}

static void test_ld_imm64(void **state)
{
	const struct bpf_insn insns[] = {
		BF_LD_IMM64_LO(BPF_REG_2, 0, 0x55667788),
		BF_LD_IMM64_HI(0x11223344),
		BF_LD_IMM64_LO(BPF_REG_3, 0, -1),
		BF_LD_IMM64_HI(0),
		BF_LD_IMM64_LO(BPF_REG_1, BPF_PSEUDO_MAP_FD, 5),
		BF_LD_IMM64_HI(0),
		BF_EXIT(),
	};
	_cleanup_free_ char *got = dump(insns, ARRAY_SIZE(insns));

	/* Numbers are instruction indexes: the second half takes one. */
	assert_string_equal(got, "    0: r2 = 0x1122334455667788 ll\n"
				 "    2: r3 = 0xffffffff ll\n"
				 "    4: r1 = map[fd 5]\n"
				 "    6: exit\n");
	(void)state;
}

static void test_ld_map_value(void **state)
{
	const struct bpf_insn insns[] = {
		BF_LD_IMM64_LO(BPF_REG_2, BPF_PSEUDO_MAP_VALUE, 0),
		BF_LD_IMM64_HI(8),
	};
	_cleanup_free_ char *got = dump(insns, ARRAY_SIZE(insns));
	size_t len = strlen(got);

	/* Without the program's map references, the map is named by the
	 * fd held in the instruction. */
	assert_string_equal(got, "    0: r2 = &map[fd 0][8]\n");
	assert_true(len > 0);
	(void)state;
}

static void test_jumps(void **state)
{
	expect_one(BF_JMP_IMM(BPF_JEQ, BPF_REG_1, 2, 3),
		   "    0: if r1 == 2 goto +3\n");
	expect_one(BF_JMP_IMM(BPF_JSET, BPF_REG_1, 4, 0),
		   "    0: if r1 & 4 goto +0\n");
	expect_one(BF_JMP_REG(BPF_JGT, BPF_REG_1, BPF_REG_2, -4),
		   "    0: if r1 > r2 goto -4\n");
	expect_one(BF_JMP_REG(BPF_JSLE, BPF_REG_3, BPF_REG_4, 10),
		   "    0: if r3 s<= r4 goto +10\n");
	expect_one(BF_JMP32_IMM(BPF_JNE, BPF_REG_1, -1, 5),
		   "    0: if w1 != -1 goto +5\n");
	expect_one(BF_JMP32_IMM(BPF_JLT, BPF_REG_0, 16, 16384),
		   "    0: if w0 < 16 goto +16384\n");
	expect_one(BF_INSN(BPF_JMP32 | BPF_JGE | BPF_X, BPF_REG_5, BPF_REG_6, 1, 0),
		   "    0: if w5 >= w6 goto +1\n");
	expect_one(BF_JA(7), "    0: goto +7\n");
	expect_one(BF_JA(-2), "    0: goto -2\n");
	/* gotol: the offset is in imm. */
	expect_one(BF_INSN(BPF_JMP32 | BPF_JA, 0, 0, 0, 70000),
		   "    0: gotol +70000\n");
	expect_one(BF_INSN(BPF_JMP32 | BPF_JA, 0, 0, 0, -20002),
		   "    0: gotol -20002\n");
	(void)state;
}

static void test_call_exit_bswap(void **state)
{
	expect_one(BF_CALL_HELPER(BPF_FUNC_map_lookup_elem),
		   "    0: call helper#1\n");
	expect_one(BF_CALL_HELPER(BPF_FUNC_skb_load_bytes),
		   "    0: call helper#26\n");
	expect_one(BF_CALL_KFUNC(12345), "    0: call kfunc#12345\n");
	expect_one(BF_EXIT(), "    0: exit\n");
	expect_one(BF_BSWAP_BE(BPF_REG_3, 16), "    0: r3 = be16 r3\n");
	expect_one(BF_BSWAP_BE(BPF_REG_1, 32), "    0: r1 = be32 r1\n");
	expect_one(BF_BSWAP_BE(BPF_REG_2, 64), "    0: r2 = be64 r2\n");
	(void)state;
}

/* Several instructions: one line each, numbered, in order. */
static void test_sequence(void **state)
{
	const struct bpf_insn insns[] = {
		BF_MOV64_REG(BPF_REG_6, BPF_REG_1),
		BF_LDX_MEM(BPF_W, BPF_REG_1, BPF_REG_6, 0),
		BF_JMP_IMM(BPF_JNE, BPF_REG_1, 0, 2),
		BF_MOV64_IMM(BPF_REG_0, 1),
		BF_EXIT(),
		BF_MOV64_IMM(BPF_REG_0, 2),
		BF_EXIT(),
	};
	_cleanup_free_ char *got = dump(insns, ARRAY_SIZE(insns));

	assert_string_equal(got, "    0: r6 = r1\n"
				 "    1: r1 = *(u32 *)(r6 +0)\n"
				 "    2: if r1 != 0 goto +2\n"
				 "    3: r0 = 1\n"
				 "    4: exit\n"
				 "    5: r0 = 2\n"
				 "    6: exit\n");

	/* Zero instructions: nothing. */
	{
		_cleanup_free_ char *none = dump(insns, 0);

		assert_string_equal(none, "");
	}
	(void)state;
}

/* A table with a few rules at @hook, generated (no kernel needed). */
static struct bf_program *generate(struct bf_table **tablep, enum bf_hook hook,
				   enum bf_family family, int nfproto)
{
	struct bf_table *table = NULL;
	struct bf_chain *chain = NULL;
	struct bf_program *prog = NULL;
	struct bf_rule *rule = NULL;
	struct bf_expr e;
	struct bf_data d;
	char errbuf[512] = "";
	int r;

	assert_int_equal(bf_table_new(&table, "t", family), 0);
	assert_int_equal(bf_chain_new_base(&chain, "input", hook, 0,
					   BF_VERDICT_ACCEPT),
			 0);
	assert_int_equal(bf_table_add_chain(table, &chain), 0);
	chain = bf_table_get_chain(table, "input");

	for (int i = 0; i < 3; i++) {
		assert_int_equal(bf_rule_new(&rule), 0);
		e = bf_expr_meta(BF_META_L4PROTO, 1);
		assert_int_equal(bf_rule_add_expr(rule, &e), 0);
		bf_data_u8(&d, 17);
		e = bf_expr_cmp(BF_CMP_EQ, 1, &d);
		assert_int_equal(bf_rule_add_expr(rule, &e), 0);
		e = bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 1);
		assert_int_equal(bf_rule_add_expr(rule, &e), 0);
		bf_data_be16(&d, (uint16_t)(53 + i));
		e = bf_expr_cmp(BF_CMP_EQ, 1, &d);
		assert_int_equal(bf_rule_add_expr(rule, &e), 0);
		e = bf_expr_counter();
		assert_int_equal(bf_rule_add_expr(rule, &e), 0);
		e = bf_expr_verdict(BF_VERDICT_DROP, NULL);
		assert_int_equal(bf_rule_add_expr(rule, &e), 0);
		assert_int_equal(bf_chain_add_rule(chain, &rule), 0);
	}

	r = bf_program_generate(&prog, table, "input", nfproto, errbuf,
				sizeof(errbuf));
	if (r)
		fprintf(stderr, "# generate: %d (%s)\n", r, errbuf);
	assert_int_equal(r, 0);
	assert_non_null(prog);
	*tablep = table;
	return prog;
}

static void check_program_dump(enum bf_hook hook, enum bf_family family,
			       int nfproto)
{
	struct bf_table *table = NULL;
	struct bf_program *prog = generate(&table, hook, family, nfproto);
	size_t n = bf_program_insn_count(prog);
	size_t n_ld = 0, n_lines = 0, len = 0, idx = 0;
	char *buf = NULL, *line, *save = NULL;
	char header[512];
	FILE *f;

	assert_true(n > 0);
	for (size_t i = 0; i < n; i++) {
		if (prog->insns[i].code == (BPF_LD | BPF_DW | BPF_IMM)) {
			n_ld++;
			i++;
		}
	}
	assert_true(n_ld > 0); /* counters are loaded through map pointers */

	f = open_memstream(&buf, &len);
	assert_non_null(f);
	bf_program_dump(prog, f);
	assert_int_equal(fclose(f), 0);

	snprintf(header, sizeof(header), "; chain input, hook %s, %zu instructions",
		 bf_hook_to_str(hook), n);
	line = strtok_r(buf, "\n", &save);
	assert_non_null(line);
	assert_string_equal(line, header);

	/* Every other line is one instruction, numbered by its index; an
	 * ld_imm64 covers two indexes. */
	while ((line = strtok_r(NULL, "\n", &save))) {
		size_t got;

		assert_int_equal(sscanf(line, "%zu:", &got), 1);
		assert_int_equal(got, idx);
		assert_null(strstr(line, "(code"));
		assert_null(strstr(line, "?"));
		idx += prog->insns[idx].code == (BPF_LD | BPF_DW | BPF_IMM) ? 2 : 1;
		n_lines++;
	}
	assert_int_equal(idx, n);
	assert_int_equal(n_lines, n - n_ld);
	free(buf);
	bf_program_free(&prog);
	bf_table_free(&table);
}

static void test_program_dump_xdp(void **state)
{
	check_program_dump(BF_HOOK_XDP, BF_FAMILY_NETDEV, BF_NFPROTO_UNSPEC);
	(void)state;
}

static void test_program_dump_nf(void **state)
{
	check_program_dump(BF_HOOK_NF_LOCAL_IN, BF_FAMILY_IP, BF_NFPROTO_IPV4);
	(void)state;
}

static void test_program_dump_tc(void **state)
{
	check_program_dump(BF_HOOK_TC_INGRESS, BF_FAMILY_NETDEV,
			   BF_NFPROTO_UNSPEC);
	(void)state;
}

/* As many newlines as header + instruction lines: no line is split or
 * left unterminated. */
static void test_program_dump_newlines(void **state)
{
	struct bf_table *table = NULL;
	struct bf_program *prog = generate(&table, BF_HOOK_XDP, BF_FAMILY_NETDEV,
					   BF_NFPROTO_UNSPEC);
	size_t n = bf_program_insn_count(prog), n_ld = 0, nl = 0, len = 0;
	char *buf = NULL;
	FILE *f;

	for (size_t i = 0; i < n; i++)
		if (prog->insns[i].code == (BPF_LD | BPF_DW | BPF_IMM))
			n_ld++, i++;

	f = open_memstream(&buf, &len);
	assert_non_null(f);
	bf_program_dump(prog, f);
	assert_int_equal(fclose(f), 0);
	for (size_t i = 0; i < len; i++)
		nl += buf[i] == '\n';
	assert_int_equal(nl, 1 + n - n_ld);
	assert_int_equal(buf[len - 1], '\n');

	free(buf);
	bf_program_free(&prog);
	bf_table_free(&table);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alu64),
		cmocka_unit_test(test_alu32),
		cmocka_unit_test(test_mem),
		cmocka_unit_test(test_ld_imm64),
		cmocka_unit_test(test_ld_map_value),
		cmocka_unit_test(test_jumps),
		cmocka_unit_test(test_call_exit_bswap),
		cmocka_unit_test(test_sequence),
		cmocka_unit_test(test_program_dump_xdp),
		cmocka_unit_test(test_program_dump_nf),
		cmocka_unit_test(test_program_dump_tc),
		cmocka_unit_test(test_program_dump_newlines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
