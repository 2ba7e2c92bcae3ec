/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests for codegen/builder.c: emission, labels and jump fixups, the
 * 16-bit / 32-bit (gotol) jump choice, unreachable-code dropping, the
 * sticky error, 64-bit immediates, map references and vmlinux BTF offsets.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <bpf/btf.h>

#include <bpfilter/helpers.h>

#include "codegen/cgen.h"

/* Same as BF_JA16_MAX in codegen/builder.c. */
#define JA16_MAX 16384

struct tcg {
	struct bf_cg cg;
	char errbuf[256];
};

static void tcg_init(struct tcg *t)
{
	memset(t, 0, sizeof(*t));
	t->cg.errbuf = t->errbuf;
	t->cg.errlen = sizeof(t->errbuf);
	t->cg.flavour = &bf_flavour_xdp;
}

static void tcg_fini(struct tcg *t)
{
	free(t->cg.insns);
	free(t->cg.map_refs);
	free(t->cg.labels);
	free(t->cg.label_used);
	free(t->cg.fixups);
	memset(&t->cg, 0, sizeof(t->cg));
}

static int setup(void **state)
{
	struct tcg *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	tcg_init(t);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tcg *t = *state;

	tcg_fini(t);
	free(t);
	return 0;
}

static bool insn_eq(struct bpf_insn a, struct bpf_insn b)
{
	return a.code == b.code && a.dst_reg == b.dst_reg &&
	       a.src_reg == b.src_reg && a.off == b.off && a.imm == b.imm;
}

#define assert_insn(a, b) assert_true(insn_eq((a), (b)))

/* Emit @n "r0 += 1" instructions. */
static void emit_filler(struct bf_cg *cg, size_t n)
{
	for (size_t i = 0; i < n; i++)
		bf_cg_emit(cg, BF_ALU64_IMM(BPF_ADD, BPF_REG_0, 1));
}

static void test_emit(void **state)
{
	struct bf_cg *cg = &((struct tcg *)*state)->cg;

	bf_cg_emit(cg, BF_MOV64_REG(BPF_REG_6, BPF_REG_1));
	bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_0, 2));
	bf_cg_emit(cg, BF_LDX_MEM(BPF_W, BPF_REG_1, BPF_REG_6, 4));
	assert_int_equal(bf_cg_err(cg), 0);
	assert_int_equal(cg->n_insns, 3);
	assert_insn(cg->insns[0], BF_MOV64_REG(BPF_REG_6, BPF_REG_1));
	assert_insn(cg->insns[1], BF_MOV64_IMM(BPF_REG_0, 2));
	assert_insn(cg->insns[2], BF_LDX_MEM(BPF_W, BPF_REG_1, BPF_REG_6, 4));
	assert_false(cg->unreachable);

	/* The buffer grows past its first allocation, keeping the contents. */
	for (int i = 0; i < 1000; i++)
		bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_0, i));
	assert_int_equal(bf_cg_err(cg), 0);
	assert_int_equal(cg->n_insns, 1003);
	assert_insn(cg->insns[0], BF_MOV64_REG(BPF_REG_6, BPF_REG_1));
	assert_insn(cg->insns[1002], BF_MOV64_IMM(BPF_REG_0, 999));
	assert_true(cg->cap_insns >= cg->n_insns);
	assert_int_equal(bf_cg_resolve(cg), 0);
}

/* Forward conditional and unconditional jumps get off = target - insn - 1. */
static void test_forward_jumps(void **state)
{
	struct bf_cg *cg = &((struct tcg *)*state)->cg;
	int a = bf_cg_label_new(cg);
	int b = bf_cg_label_new(cg);
	int c = bf_cg_label_new(cg);

	assert_int_equal(a, 0);
	assert_int_equal(b, 1);
	assert_int_equal(c, 2);
	assert_int_equal(cg->labels[a], -1);

	/* 0 */ bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JEQ, BPF_REG_1, 7, 0), a);
	/* 1 */ bf_cg_emit_jmp(cg, BF_JMP_REG(BPF_JGT, BPF_REG_1, BPF_REG_2, 0), b);
	/* 2 */ bf_cg_emit_jmp(cg, BF_JMP32_IMM(BPF_JNE, BPF_REG_3, -1, 0), c);
	/* 3..5 */ emit_filler(cg, 3);
	/* 6 */ bf_cg_emit_jmp(cg, BF_JA(0), c);
	bf_cg_label_here(cg, a);
	/* 7 */ bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_0, 1));
	bf_cg_label_here(cg, b);
	/* 8 */ bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_0, 2));
	/* 9, 10 */ emit_filler(cg, 2);
	bf_cg_label_here(cg, c);
	/* 11 */ bf_cg_emit(cg, BF_EXIT());

	assert_int_equal(bf_cg_err(cg), 0);
	assert_int_equal(cg->n_insns, 12);
	assert_int_equal(cg->labels[a], 7);
	assert_int_equal(cg->labels[b], 8);
	assert_int_equal(cg->labels[c], 11);
	assert_int_equal(cg->n_fixups, 4);
	assert_int_equal(bf_cg_resolve(cg), 0);

	assert_insn(cg->insns[0], BF_JMP_IMM(BPF_JEQ, BPF_REG_1, 7, 6));
	assert_insn(cg->insns[1], BF_JMP_REG(BPF_JGT, BPF_REG_1, BPF_REG_2, 6));
	assert_insn(cg->insns[2], BF_JMP32_IMM(BPF_JNE, BPF_REG_3, -1, 8));
	assert_insn(cg->insns[6], BF_JA(4));
}

/* A jump to the very next instruction has offset 0; a jump to a label
 * placed before it goes backwards. */
static void test_zero_and_backward_jumps(void **state)
{
	struct bf_cg *cg = &((struct tcg *)*state)->cg;
	int next = bf_cg_label_new(cg);
	int back = bf_cg_label_new(cg);

	/* 0 */ bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JEQ, BPF_REG_1, 0, 0), next);
	bf_cg_label_here(cg, next);
	bf_cg_label_here(cg, back);
	/* 1..2 */ emit_filler(cg, 2);
	/* 3 */ bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JSET, BPF_REG_1, 1, 0), back);
	/* 4 */ bf_cg_emit(cg, BF_EXIT());

	assert_int_equal(bf_cg_resolve(cg), 0);
	assert_int_equal(cg->insns[0].off, 0);
	assert_int_equal(cg->insns[3].off, -3);
	assert_int_equal(cg->insns[3].code, BPF_JMP | BPF_JSET | BPF_K);
}

/* Emit: 0: if r1 != 0 goto body; 1: ja far; body: @gap fillers; far: exit.
 * The ja at 1 has offset @gap. */
static void emit_far_ja(struct bf_cg *cg, size_t gap)
{
	int body = bf_cg_label_new(cg);
	int far = bf_cg_label_new(cg);

	bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JNE, BPF_REG_1, 0, 0), body);
	bf_cg_emit_jmp(cg, BF_JA(0), far);
	bf_cg_label_here(cg, body);
	emit_filler(cg, gap);
	bf_cg_label_here(cg, far);
	bf_cg_emit(cg, BF_EXIT());
}

static void test_ja_gotol(void **state)
{
	struct bf_cg *cg = &((struct tcg *)*state)->cg;

	emit_far_ja(cg, 20000);
	assert_int_equal(cg->n_insns, 20003);
	assert_int_equal(bf_cg_resolve(cg), 0);

	/* The far jump became gotol: JMP32 | JA with the offset in imm. */
	assert_int_equal(cg->insns[1].code, BPF_JMP32 | BPF_JA);
	assert_int_equal(cg->insns[1].off, 0);
	assert_int_equal(cg->insns[1].imm, 20000);
	/* The near conditional jump stays as it was, with a 16-bit offset. */
	assert_insn(cg->insns[0], BF_JMP_IMM(BPF_JNE, BPF_REG_1, 0, 1));
}

static void test_ja_limits(void **state)
{
	struct tcg t;

	/* Exactly at the limit: still a 16-bit ja. */
	tcg_init(&t);
	emit_far_ja(&t.cg, JA16_MAX);
	assert_int_equal(bf_cg_resolve(&t.cg), 0);
	assert_insn(t.cg.insns[1], BF_JA(JA16_MAX));
	tcg_fini(&t);

	/* One past it: gotol. */
	tcg_init(&t);
	emit_far_ja(&t.cg, JA16_MAX + 1);
	assert_int_equal(bf_cg_resolve(&t.cg), 0);
	assert_insn(t.cg.insns[1],
		    BF_INSN(BPF_JMP32 | BPF_JA, 0, 0, 0, JA16_MAX + 1));
	tcg_fini(&t);

	/* Far backwards: gotol with a negative offset. */
	tcg_init(&t);
	{
		int top = bf_cg_label_new(&t.cg);
		int out = bf_cg_label_new(&t.cg);

		bf_cg_label_here(&t.cg, top);
		emit_filler(&t.cg, 20000);
		/* 20000 */ bf_cg_emit_jmp(&t.cg, BF_JMP_IMM(BPF_JEQ, BPF_REG_1, 0, 0), out);
		/* 20001 */ bf_cg_emit_jmp(&t.cg, BF_JA(0), top);
		bf_cg_label_here(&t.cg, out);
		/* 20002 */ bf_cg_emit(&t.cg, BF_EXIT());
	}
	assert_int_equal(bf_cg_resolve(&t.cg), 0);
	assert_insn(t.cg.insns[20001],
		    BF_INSN(BPF_JMP32 | BPF_JA, 0, 0, 0, -20002));
	assert_insn(t.cg.insns[20000], BF_JMP_IMM(BPF_JEQ, BPF_REG_1, 0, 1));
	tcg_fini(&t);

	(void)state; /* uses its own contexts */
}

static void test_cond_jump_out_of_range(void **state)
{
	struct tcg *t = *state;
	struct bf_cg *cg = &t->cg;
	int far = bf_cg_label_new(cg);

	bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JEQ, BPF_REG_1, 0, 0), far);
	emit_filler(cg, JA16_MAX + 1);
	bf_cg_label_here(cg, far);
	bf_cg_emit(cg, BF_EXIT());
	assert_int_equal(bf_cg_err(cg), 0);

	assert_int_equal(bf_cg_resolve(cg), -E2BIG);
	assert_int_equal(bf_cg_err(cg), -E2BIG);
	assert_non_null(strstr(t->errbuf, "out of range"));
	/* The jump was not silently truncated to 16 bits. */
	assert_int_equal(cg->insns[0].code, BPF_JMP | BPF_JEQ | BPF_K);
	assert_int_equal(cg->insns[0].off, 0);
}

static void test_cond_jump_at_limit(void **state)
{
	struct bf_cg *cg = &((struct tcg *)*state)->cg;
	int far = bf_cg_label_new(cg);

	bf_cg_emit_jmp(cg, BF_JMP32_IMM(BPF_JGE, BPF_REG_1, 3, 0), far);
	emit_filler(cg, JA16_MAX);
	bf_cg_label_here(cg, far);
	bf_cg_emit(cg, BF_EXIT());
	assert_int_equal(bf_cg_resolve(cg), 0);
	assert_insn(cg->insns[0], BF_JMP32_IMM(BPF_JGE, BPF_REG_1, 3, JA16_MAX));
}

static void test_unplaced_label(void **state)
{
	struct tcg *t = *state;
	struct bf_cg *cg = &t->cg;
	int never = bf_cg_label_new(cg);

	bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JEQ, BPF_REG_1, 0, 0), never);
	bf_cg_emit(cg, BF_EXIT());
	assert_int_equal(bf_cg_resolve(cg), -EINVAL);
	assert_true(strlen(t->errbuf) > 0);
}

static void test_bad_label(void **state)
{
	struct tcg *t = *state;
	struct bf_cg *cg = &t->cg;

	bf_cg_emit_jmp(cg, BF_JA(0), 3);
	assert_int_equal(bf_cg_err(cg), -EINVAL);
	assert_int_equal(cg->n_insns, 0);
	assert_int_equal(cg->n_fixups, 0);
	assert_non_null(strstr(t->errbuf, "bad label"));

	tcg_fini(t);
	tcg_init(t);
	bf_cg_label_here(cg, -1);
	assert_int_equal(bf_cg_err(cg), -EINVAL);
}

/* Code after exit or ja is dropped until a label that a reachable jump
 * targets. */
static void test_unreachable_dropped(void **state)
{
	struct bf_cg *cg = &((struct tcg *)*state)->cg;
	int used = bf_cg_label_new(cg);
	int unused = bf_cg_label_new(cg);
	int after_ja = bf_cg_label_new(cg);

	/* 0 */ bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JEQ, BPF_REG_1, 0, 0), used);
	/* 1 */ bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_0, 1));
	/* 2 */ bf_cg_emit(cg, BF_EXIT());
	assert_true(cg->unreachable);

	/* Dropped. */
	bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_0, 42));
	bf_cg_emit_ld_imm64(cg, BPF_REG_0, 0x1234567890ULL);
	assert_int_equal(cg->n_insns, 3);

	/* A label no jump targets does not revive the code. */
	bf_cg_label_here(cg, unused);
	assert_true(cg->unreachable);
	bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_0, 43));
	assert_int_equal(cg->n_insns, 3);

	/* The targeted label does. */
	bf_cg_label_here(cg, used);
	assert_false(cg->unreachable);
	/* 3 */ bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_0, 2));
	/* 4 */ bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JEQ, BPF_REG_2, 0, 0), after_ja);
	/* 5 */ bf_cg_emit_jmp(cg, BF_JA(0), after_ja);
	assert_true(cg->unreachable);
	bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_0, 44));
	assert_int_equal(cg->n_insns, 6);
	bf_cg_label_here(cg, after_ja);
	/* 6 */ bf_cg_emit(cg, BF_EXIT());

	assert_int_equal(bf_cg_err(cg), 0);
	assert_int_equal(cg->n_insns, 7);
	assert_int_equal(bf_cg_resolve(cg), 0);
	assert_insn(cg->insns[0], BF_JMP_IMM(BPF_JEQ, BPF_REG_1, 0, 2));
	assert_insn(cg->insns[1], BF_MOV64_IMM(BPF_REG_0, 1));
	assert_insn(cg->insns[3], BF_MOV64_IMM(BPF_REG_0, 2));
	assert_insn(cg->insns[4], BF_JMP_IMM(BPF_JEQ, BPF_REG_2, 0, 1));
	assert_insn(cg->insns[5], BF_JA(0));
	assert_insn(cg->insns[6], BF_EXIT());
	/* No instruction holds a dropped value. */
	for (size_t i = 0; i < cg->n_insns; i++)
		assert_true(cg->insns[i].imm < 42 || cg->insns[i].imm > 44);
}

/* A jump emitted while unreachable is dropped and does not mark its label
 * used: the code at that label stays dropped. */
static void test_unreachable_jump_marks_nothing(void **state)
{
	struct bf_cg *cg = &((struct tcg *)*state)->cg;
	int l = bf_cg_label_new(cg);

	bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_0, 0));
	bf_cg_emit(cg, BF_EXIT());
	bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JEQ, BPF_REG_1, 0, 0), l);
	bf_cg_emit_jmp(cg, BF_JA(0), l);
	assert_false(cg->label_used[l]);
	assert_int_equal(cg->n_fixups, 0);
	assert_int_equal(cg->n_insns, 2);

	bf_cg_label_here(cg, l);
	assert_true(cg->unreachable);
	bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_0, 1));
	bf_cg_emit(cg, BF_EXIT());
	assert_int_equal(cg->n_insns, 2);
	assert_int_equal(bf_cg_err(cg), 0);
	assert_int_equal(bf_cg_resolve(cg), 0);
}

/* A reachable jump marks its label used before the label is placed. */
static void test_reachable_jump_marks_label(void **state)
{
	struct bf_cg *cg = &((struct tcg *)*state)->cg;
	int l = bf_cg_label_new(cg);
	int other = bf_cg_label_new(cg);

	assert_false(cg->label_used[l]);
	bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JEQ, BPF_REG_1, 0, 0), l);
	assert_true(cg->label_used[l]);
	assert_false(cg->label_used[other]);
	/* Placing a label while reachable keeps the code reachable. */
	bf_cg_label_here(cg, other);
	assert_false(cg->unreachable);
}

static void test_sticky_error(void **state)
{
	struct tcg *t = *state;
	struct bf_cg *cg = &t->cg;
	int l;

	bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_0, 1));
	l = bf_cg_label_new(cg);
	assert_true(l >= 0);

	assert_int_equal(bf_cg_fail(cg, -ENOSPC, "first %d", 1), -ENOSPC);
	/* A later failure keeps the first error and message. */
	assert_int_equal(bf_cg_fail(cg, -EPERM, "second %d", 2), -ENOSPC);
	assert_int_equal(bf_cg_err(cg), -ENOSPC);
	assert_string_equal(t->errbuf, "first 1");

	/* Every builder call is a no-op now. */
	bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_0, 2));
	bf_cg_emit_ld_imm64(cg, BPF_REG_1, 5);
	bf_cg_emit_ld_map(cg, BPF_REG_1, BF_MAP_COUNTERS, BPF_PSEUDO_MAP_FD, 0);
	bf_cg_emit_jmp(cg, BF_JA(0), l);
	assert_int_equal(bf_cg_label_new(cg), -1);
	bf_cg_label_here(cg, l);
	bf_cg_label_here(cg, 99); /* would be "bad label" */
	assert_int_equal(bf_cg_btf_offset(cg, "sk_buff", "len"), -1);

	assert_int_equal(cg->n_insns, 1);
	assert_int_equal(cg->n_map_refs, 0);
	assert_int_equal(cg->n_fixups, 0);
	assert_int_equal(cg->n_labels, 1);
	assert_int_equal(cg->labels[l], -1);
	assert_int_equal(bf_cg_resolve(cg), -ENOSPC);
	assert_string_equal(t->errbuf, "first 1");
}

/* bf_cg_fail without an error buffer still records the error. */
static void test_fail_without_errbuf(void **state)
{
	struct bf_cg cg = {};

	assert_int_equal(bf_cg_fail(&cg, -EINVAL, "x"), -EINVAL);
	assert_int_equal(bf_cg_err(&cg), -EINVAL);
	(void)state;
}

static void test_ld_imm64(void **state)
{
	struct bf_cg *cg = &((struct tcg *)*state)->cg;

	bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_0, 0));
	bf_cg_emit_ld_imm64(cg, BPF_REG_3, 0x1122334455667788ULL);
	bf_cg_emit_ld_imm64(cg, BPF_REG_4, 0xffffffff80000000ULL);
	bf_cg_emit_ld_imm64(cg, BPF_REG_5, 0x00000001fffffffeULL);
	assert_int_equal(bf_cg_err(cg), 0);
	assert_int_equal(cg->n_insns, 7);

	assert_insn(cg->insns[1],
		    BF_INSN(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_3, 0, 0, 0x55667788));
	assert_insn(cg->insns[2], BF_INSN(0, 0, 0, 0, 0x11223344));

	assert_int_equal(cg->insns[3].code, BPF_LD | BPF_DW | BPF_IMM);
	assert_int_equal(cg->insns[3].dst_reg, BPF_REG_4);
	assert_int_equal((uint32_t)cg->insns[3].imm, 0x80000000u);
	assert_int_equal((uint32_t)cg->insns[4].imm, 0xffffffffu);
	assert_int_equal(cg->insns[4].code, 0);

	assert_int_equal((uint32_t)cg->insns[5].imm, 0xfffffffeu);
	assert_int_equal(cg->insns[6].imm, 1);
	assert_int_equal(cg->insns[5].src_reg, 0);
	/* ld_imm64 does not end a block. */
	assert_false(cg->unreachable);
	assert_int_equal(cg->n_map_refs, 0);
}

static void test_ld_map(void **state)
{
	struct bf_cg *cg = &((struct tcg *)*state)->cg;

	bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_0, 0));
	bf_cg_emit_ld_map(cg, BPF_REG_2, BF_MAP_KEYS, BPF_PSEUDO_MAP_VALUE, 12);
	bf_cg_emit_ld_map(cg, BPF_REG_1, BF_MAP_COUNTERS, BPF_PSEUDO_MAP_FD, 0);
	assert_int_equal(bf_cg_err(cg), 0);
	assert_int_equal(cg->n_insns, 5);
	assert_int_equal(cg->n_map_refs, 2);

	assert_int_equal(cg->map_refs[0].insn, 1);
	assert_int_equal(cg->map_refs[0].map, BF_MAP_KEYS);
	assert_insn(cg->insns[1], BF_INSN(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_2,
					  BPF_PSEUDO_MAP_VALUE, 0, 0));
	assert_insn(cg->insns[2], BF_INSN(0, 0, 0, 0, 12));

	assert_int_equal(cg->map_refs[1].insn, 3);
	assert_int_equal(cg->map_refs[1].map, BF_MAP_COUNTERS);
	assert_insn(cg->insns[3], BF_INSN(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1,
					  BPF_PSEUDO_MAP_FD, 0, 0));
	assert_insn(cg->insns[4], BF_INSN(0, 0, 0, 0, 0));

	/* Unreachable: neither instructions nor a map reference. */
	bf_cg_emit(cg, BF_EXIT());
	bf_cg_emit_ld_map(cg, BPF_REG_1, BF_MAP_COUNTERS, BPF_PSEUDO_MAP_FD, 0);
	assert_int_equal(cg->n_insns, 6);
	assert_int_equal(cg->n_map_refs, 2);
}

/* Many map references: the array grows and every entry points at the first
 * slot of an ld_imm64 with a pseudo source. */
static void test_ld_map_many(void **state)
{
	struct bf_cg *cg = &((struct tcg *)*state)->cg;

	for (uint32_t i = 0; i < 600; i++) {
		bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_0, (int)i));
		bf_cg_emit_ld_map(cg, BPF_REG_2, i % 2 ? BF_MAP_KEYS : BF_MAP_COUNTERS,
				  BPF_PSEUDO_MAP_VALUE, i * 4);
	}
	assert_int_equal(bf_cg_err(cg), 0);
	assert_int_equal(cg->n_map_refs, 600);
	for (size_t i = 0; i < cg->n_map_refs; i++) {
		const struct bpf_insn *in = &cg->insns[cg->map_refs[i].insn];

		assert_int_equal(cg->map_refs[i].insn, 3 * i + 1);
		assert_int_equal(cg->map_refs[i].map,
				 i % 2 ? BF_MAP_KEYS : BF_MAP_COUNTERS);
		assert_int_equal(in->code, BPF_LD | BPF_DW | BPF_IMM);
		assert_int_equal(in->src_reg, BPF_PSEUDO_MAP_VALUE);
		assert_int_equal(in[1].imm, (int)(i * 4));
	}
}

/* Independent lookup of a member's bit offset, descending into anonymous
 * members, for comparison with the builder. */
static long find_member(const struct btf *btf, int id, const char *name)
{
	const struct btf_type *t = btf__type_by_id(btf, id);

	while (t && (btf_is_typedef(t) || btf_is_mod(t)))
		t = btf__type_by_id(btf, t->type);
	if (!t || !(btf_is_struct(t) || btf_is_union(t)))
		return -1;
	for (unsigned int i = 0; i < btf_vlen(t); i++) {
		const struct btf_member *m = btf_members(t) + i;
		const char *n = btf__name_by_offset(btf, m->name_off);
		long sub;

		if (n && !strcmp(n, name))
			return btf_member_bit_offset(t, i);
		if (n && *n)
			continue;
		sub = find_member(btf, (int)m->type, name);
		if (sub >= 0)
			return btf_member_bit_offset(t, i) + sub;
	}
	return -1;
}

static void test_btf_offset(void **state)
{
	struct tcg *t = *state;
	struct bf_cg *cg = &t->cg;
	static const char *const members[] = {
		"len", "data_len", "mark", "protocol", "mac_header",
		"network_header", "transport_header", "skb_iif", "headers",
	};
	struct btf *btf = btf__load_vmlinux_btf();
	int id, len, data_len, mark, protocol, mac, nh, th;
	long size;

	if (!btf)
		skip();
	id = btf__find_by_name_kind(btf, "sk_buff", BTF_KIND_STRUCT);
	assert_true(id > 0);
	size = btf__resolve_size(btf, id);
	assert_true(size > 0);

	for (size_t i = 0; i < ARRAY_SIZE(members); i++) {
		long want = find_member(btf, id, members[i]);
		int got = bf_cg_btf_offset(cg, "sk_buff", members[i]);

		if (got != want / 8)
			fprintf(stderr, "# sk_buff.%s: got %d, want %ld\n",
				members[i], got, want / 8);
		assert_true(want >= 0);
		assert_int_equal(got, want / 8);
		assert_true(got < size);
	}
	assert_int_equal(bf_cg_err(cg), 0);

	len = bf_cg_btf_offset(cg, "sk_buff", "len");
	data_len = bf_cg_btf_offset(cg, "sk_buff", "data_len");
	mark = bf_cg_btf_offset(cg, "sk_buff", "mark");
	protocol = bf_cg_btf_offset(cg, "sk_buff", "protocol");
	th = bf_cg_btf_offset(cg, "sk_buff", "transport_header");
	nh = bf_cg_btf_offset(cg, "sk_buff", "network_header");
	mac = bf_cg_btf_offset(cg, "sk_buff", "mac_header");
	assert_int_equal(bf_cg_err(cg), 0);

	/* Layout facts of struct sk_buff that hold whatever the config:
	 * "unsigned int len, data_len;", and protocol followed by the three
	 * u16 header offsets; mark and protocol sit inside the "headers"
	 * struct_group (anonymous union + anonymous struct), after len. */
	assert_int_equal(data_len, len + 4);
	assert_int_equal(th, protocol + 2);
	assert_int_equal(nh, protocol + 4);
	assert_int_equal(mac, protocol + 6);
	assert_true(len > 0);
	assert_true(mark > len);
	assert_true(protocol > mark);
	assert_true(mark >= bf_cg_btf_offset(cg, "sk_buff", "headers"));

	btf__free(btf);
}

static void test_btf_bitfield(void **state)
{
	struct bf_cg *cg = &((struct tcg *)*state)->cg;
	unsigned int bit_off = 0, bits = 0, bit_off2 = 0, bits2 = 0;
	int base;

	/* "__u8 __pkt_type_offset[0]; __u8 pkt_type:3;" */
	assert_int_equal(bf_cg_btf_bitfield(cg, "sk_buff", "pkt_type", &bit_off,
					    &bits),
			 0);
	base = bf_cg_btf_offset(cg, "sk_buff", "__pkt_type_offset");
	assert_int_equal(bf_cg_err(cg), 0);
	assert_int_equal(bits, 3);
	assert_int_equal(bit_off / 8, (unsigned int)base);

	/* A plain member is not a bitfield. */
	assert_int_equal(bf_cg_btf_bitfield(cg, "sk_buff", "len", &bit_off2,
					    &bits2),
			 0);
	assert_int_equal(bits2, 0);
	assert_int_equal(bit_off2 % 8, 0);
	assert_int_equal(bit_off2 / 8,
			 (unsigned int)bf_cg_btf_offset(cg, "sk_buff", "len"));
}

static void test_btf_missing_member(void **state)
{
	struct tcg *t = *state;
	struct bf_cg *cg = &t->cg;

	assert_int_equal(bf_cg_btf_offset(cg, "sk_buff", "bf_no_such_member"), -1);
	assert_int_equal(bf_cg_err(cg), -EOPNOTSUPP);
	assert_non_null(strstr(t->errbuf, "sk_buff"));
	assert_non_null(strstr(t->errbuf, "bf_no_such_member"));
	/* Nested names are not supported. */
	tcg_fini(t);
	tcg_init(t);
	assert_int_equal(bf_cg_btf_offset(cg, "sk_buff", "headers.mark"), -1);
	assert_int_equal(bf_cg_err(cg), -EOPNOTSUPP);
}

static void test_btf_missing_struct(void **state)
{
	struct tcg *t = *state;
	struct bf_cg *cg = &t->cg;
	unsigned int a, b;

	assert_int_equal(bf_cg_btf_bitfield(cg, "bf_no_such_struct", "len", &a, &b),
			 -1);
	assert_int_equal(bf_cg_err(cg), -EOPNOTSUPP);
	assert_non_null(strstr(t->errbuf, "bf_no_such_struct"));
}

static void test_kfunc(void **state)
{
	struct tcg *t = *state;
	struct bf_cg *cg = &t->cg;
	struct btf *btf = btf__load_vmlinux_btf();
	int id;

	if (!btf)
		skip();
	id = btf__find_by_name_kind(btf, "bpf_dynptr_from_skb", BTF_KIND_FUNC);
	btf__free(btf);
	if (id < 0)
		skip();

	bf_cg_emit_kfunc(cg, "bpf_dynptr_from_skb");
	assert_int_equal(bf_cg_err(cg), 0);
	assert_int_equal(cg->n_insns, 1);
	assert_insn(cg->insns[0], BF_CALL_KFUNC(id));

	bf_cg_emit_kfunc(cg, "bf_no_such_kfunc");
	assert_int_equal(bf_cg_err(cg), -EOPNOTSUPP);
	assert_non_null(strstr(t->errbuf, "bf_no_such_kfunc"));
	assert_int_equal(cg->n_insns, 1);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_emit),
		T(test_forward_jumps),
		T(test_zero_and_backward_jumps),
		T(test_ja_gotol),
		T(test_ja_limits),
		T(test_cond_jump_out_of_range),
		T(test_cond_jump_at_limit),
		T(test_unplaced_label),
		T(test_bad_label),
		T(test_unreachable_dropped),
		T(test_unreachable_jump_marks_nothing),
		T(test_reachable_jump_marks_label),
		T(test_sticky_error),
		T(test_fail_without_errbuf),
		T(test_ld_imm64),
		T(test_ld_map),
		T(test_ld_map_many),
		T(test_btf_offset),
		T(test_btf_bitfield),
		T(test_btf_missing_member),
		T(test_btf_missing_struct),
		T(test_kfunc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
