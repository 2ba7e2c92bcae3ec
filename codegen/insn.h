/* SPDX-License-Identifier: GPL-2.0-only */
/* eBPF instruction constructors (our own spelling of the kernel's macros). */
#pragma once

#include <linux/bpf.h>

#define BF_INSN(c, d, s, o, i)                                               \
	((struct bpf_insn) { .code = (c), .dst_reg = (d), .src_reg = (s),    \
			     .off = (o), .imm = (i) })

#define BF_ALU64_REG(op, d, s) BF_INSN(BPF_ALU64 | BPF_OP(op) | BPF_X, d, s, 0, 0)
#define BF_ALU64_IMM(op, d, i) BF_INSN(BPF_ALU64 | BPF_OP(op) | BPF_K, d, 0, 0, i)
#define BF_ALU32_REG(op, d, s) BF_INSN(BPF_ALU | BPF_OP(op) | BPF_X, d, s, 0, 0)
#define BF_ALU32_IMM(op, d, i) BF_INSN(BPF_ALU | BPF_OP(op) | BPF_K, d, 0, 0, i)
#define BF_MOV64_REG(d, s) BF_ALU64_REG(BPF_MOV, d, s)
#define BF_MOV64_IMM(d, i) BF_ALU64_IMM(BPF_MOV, d, i)
#define BF_MOV32_REG(d, s) BF_ALU32_REG(BPF_MOV, d, s)
#define BF_MOV32_IMM(d, i) BF_ALU32_IMM(BPF_MOV, d, i)
/* Byte swap to big endian (on a little-endian host: bswap), width 16/32/64. */
#define BF_BSWAP_BE(d, w) BF_INSN(BPF_ALU | BPF_END | BPF_TO_BE, d, 0, 0, w)
#define BF_LDX_MEM(sz, d, s, o) BF_INSN(BPF_LDX | BPF_SIZE(sz) | BPF_MEM, d, s, o, 0)
#define BF_STX_MEM(sz, d, s, o) BF_INSN(BPF_STX | BPF_SIZE(sz) | BPF_MEM, d, s, o, 0)
#define BF_ST_MEM(sz, d, o, i) BF_INSN(BPF_ST | BPF_SIZE(sz) | BPF_MEM, d, 0, o, i)
#define BF_ATOMIC_ADD(sz, d, s, o) BF_INSN(BPF_STX | BPF_SIZE(sz) | BPF_ATOMIC, d, s, o, BPF_ADD)
#define BF_JMP_REG(op, d, s, o) BF_INSN(BPF_JMP | BPF_OP(op) | BPF_X, d, s, o, 0)
#define BF_JMP_IMM(op, d, i, o) BF_INSN(BPF_JMP | BPF_OP(op) | BPF_K, d, 0, o, i)
#define BF_JMP32_IMM(op, d, i, o) BF_INSN(BPF_JMP32 | BPF_OP(op) | BPF_K, d, 0, o, i)
#define BF_JA(o) BF_INSN(BPF_JMP | BPF_JA, 0, 0, o, 0)
#define BF_CALL_HELPER(id) BF_INSN(BPF_JMP | BPF_CALL, 0, 0, 0, id)
#define BF_CALL_KFUNC(btf_id) BF_INSN(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, 0, btf_id)
#define BF_EXIT() BF_INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
/* Two-slot 64-bit immediate load; src is 0 or BPF_PSEUDO_MAP_FD/VALUE. */
#define BF_LD_IMM64_LO(d, s, lo) BF_INSN(BPF_LD | BPF_DW | BPF_IMM, d, s, 0, lo)
#define BF_LD_IMM64_HI(hi) BF_INSN(0, 0, 0, 0, hi)
