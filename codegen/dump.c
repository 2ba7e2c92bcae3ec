/* SPDX-License-Identifier: GPL-2.0-only */
/* Readable listing of generated instructions (for `-v bytecode`). */
#include <stdio.h>

#include "codegen/cgen.h"

static const char *_bf_alu_op(int op)
{
	switch (op) {
	case BPF_ADD: return "+=";
	case BPF_SUB: return "-=";
	case BPF_MUL: return "*=";
	case BPF_DIV: return "/=";
	case BPF_OR: return "|=";
	case BPF_AND: return "&=";
	case BPF_LSH: return "<<=";
	case BPF_RSH: return ">>=";
	case BPF_NEG: return "neg";
	case BPF_MOD: return "%=";
	case BPF_XOR: return "^=";
	case BPF_MOV: return "=";
	case BPF_ARSH: return "s>>=";
	default: return "?";
	}
}

static const char *_bf_jmp_op(int op)
{
	switch (op) {
	case BPF_JEQ: return "==";
	case BPF_JGT: return ">";
	case BPF_JGE: return ">=";
	case BPF_JSET: return "&";
	case BPF_JNE: return "!=";
	case BPF_JSGT: return "s>";
	case BPF_JSGE: return "s>=";
	case BPF_JLT: return "<";
	case BPF_JLE: return "<=";
	case BPF_JSLT: return "s<";
	case BPF_JSLE: return "s<=";
	default: return "?";
	}
}

static const char *_bf_size(int sz)
{
	switch (sz) {
	case BPF_B: return "u8";
	case BPF_H: return "u16";
	case BPF_W: return "u32";
	default: return "u64";
	}
}

/* Name of the map an ld_imm64 refers to: from the program's map
 * references, else its fd number. */
static const char *_bf_map_name(const struct bf_map_ref *refs, size_t n_refs,
				const struct bpf_insn *insns, size_t insn)
{
	static char buf[32];

	for (size_t i = 0; i < n_refs; i++) {
		if (refs[i].insn != insn)
			continue;
		if (refs[i].map >= BF_MAP_SET0) {
			snprintf(buf, sizeof(buf), "set%d", refs[i].map - BF_MAP_SET0);
			return buf;
		}
		if (refs[i].map >= BF_MAP_GROUP0) {
			snprintf(buf, sizeof(buf), "group%d", refs[i].map - BF_MAP_GROUP0);
			return buf;
		}
		return refs[i].map == BF_MAP_KEYS ? "keys" : "counters";
	}
	snprintf(buf, sizeof(buf), "fd %d", insns[insn].imm);
	return buf;
}

static void _bf_insn_dump(const struct bpf_insn *insns, size_t n,
			  const struct bf_map_ref *refs, size_t n_refs, FILE *f)
{
	for (size_t i = 0; i < n; i++) {
		const struct bpf_insn *in = &insns[i];
		int cls = BPF_CLASS(in->code);
		const char *w = cls == BPF_ALU || cls == BPF_JMP32 ? "w" : "r";

		fprintf(f, "%5zu: ", i);
		switch (cls) {
		case BPF_ALU:
		case BPF_ALU64:
			if (BPF_OP(in->code) == BPF_END)
				fprintf(f, "r%d = %s%d r%d\n", in->dst_reg,
					cls == BPF_ALU64 ? "bswap" :
					BPF_SRC(in->code) == BPF_TO_BE ? "be" : "le",
					in->imm, in->dst_reg);
			else if (BPF_SRC(in->code) == BPF_X)
				fprintf(f, "%s%d %s %s%d\n", w, in->dst_reg,
					_bf_alu_op(BPF_OP(in->code)), w, in->src_reg);
			else
				fprintf(f, "%s%d %s %d\n", w, in->dst_reg,
					_bf_alu_op(BPF_OP(in->code)), in->imm);
			break;
		case BPF_LDX:
			fprintf(f, "r%d = *(%s *)(r%d %+d)\n", in->dst_reg,
				_bf_size(BPF_SIZE(in->code)), in->src_reg, in->off);
			break;
		case BPF_STX:
			if (BPF_MODE(in->code) == BPF_ATOMIC)
				fprintf(f, "lock *(%s *)(r%d %+d) += r%d\n",
					_bf_size(BPF_SIZE(in->code)), in->dst_reg, in->off,
					in->src_reg);
			else
				fprintf(f, "*(%s *)(r%d %+d) = r%d\n",
					_bf_size(BPF_SIZE(in->code)), in->dst_reg, in->off,
					in->src_reg);
			break;
		case BPF_ST:
			fprintf(f, "*(%s *)(r%d %+d) = %d\n", _bf_size(BPF_SIZE(in->code)),
				in->dst_reg, in->off, in->imm);
			break;
		case BPF_LD:
			if (i + 1 >= n) {
				fprintf(f, "(truncated ld_imm64)\n");
				break;
			}
			if (in->src_reg == BPF_PSEUDO_MAP_FD) {
				fprintf(f, "r%d = map[%s]\n", in->dst_reg,
					_bf_map_name(refs, n_refs, insns, i));
			} else if (in->src_reg == BPF_PSEUDO_MAP_VALUE) {
				fprintf(f, "r%d = &map[%s][%d]\n", in->dst_reg,
					_bf_map_name(refs, n_refs, insns, i), insns[i + 1].imm);
			} else {
				unsigned long long v = (uint32_t)in->imm |
						       ((unsigned long long)(uint32_t)insns[i + 1].imm << 32);

				fprintf(f, "r%d = 0x%llx ll\n", in->dst_reg, v);
			}
			i++;
			break;
		case BPF_JMP:
		case BPF_JMP32:
			if (BPF_OP(in->code) == BPF_JA && cls == BPF_JMP32)
				fprintf(f, "gotol %+d\n", in->imm);
			else if (BPF_OP(in->code) == BPF_JA)
				fprintf(f, "goto %+d\n", in->off);
			else if (BPF_OP(in->code) == BPF_EXIT)
				fprintf(f, "exit\n");
			else if (BPF_OP(in->code) == BPF_CALL)
				fprintf(f, "call %s%d\n",
					in->src_reg == BPF_PSEUDO_KFUNC_CALL ? "kfunc#" : "helper#",
					in->imm);
			else if (BPF_SRC(in->code) == BPF_X)
				fprintf(f, "if %s%d %s %s%d goto %+d\n", w, in->dst_reg,
					_bf_jmp_op(BPF_OP(in->code)), w, in->src_reg, in->off);
			else
				fprintf(f, "if %s%d %s %d goto %+d\n", w, in->dst_reg,
					_bf_jmp_op(BPF_OP(in->code)), in->imm, in->off);
			break;
		default:
			fprintf(f, "(code 0x%02x)\n", in->code);
			break;
		}
	}
}

void bf_insn_dump(const struct bpf_insn *insns, size_t n, FILE *f)
{
	_bf_insn_dump(insns, n, NULL, 0, f);
}

void bf_program_dump(const struct bf_program *prog, FILE *f)
{
	fprintf(f, "; chain %s, hook %s, %zu instructions\n", prog->chain,
		bf_hook_to_str(prog->hook), prog->n_insns);
	_bf_insn_dump(prog->insns, prog->n_insns, prog->map_refs, prog->n_map_refs, f);
}
