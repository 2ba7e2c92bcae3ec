/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Meta keys read from kernel structures through BTF-typed pointers, shared
 * by the flavours: device index/name/type of a struct net_device, socket
 * owner uid/gid through sk->sk_socket->file->f_cred, skb->pkt_type.
 */
#include <errno.h>

#include "codegen/flavours.h"

void bf_meta_ldx_btf(struct bf_cg *cg, int size, int dst, int src,
		     const char *type, const char *member, int extra)
{
	int off = bf_cg_btf_offset(cg, type, member);

	if (off < 0)
		return;
	bf_cg_emit(cg, BF_LDX_MEM(size, dst, src, off + extra));
}

int bf_meta_from_dev(struct bf_cg *cg, enum bf_meta_key key, int dst,
		     int fp_off, int fail)
{
	int none = bf_cg_label_new(cg);
	int out = bf_cg_label_new(cg);

	/* r1 holds a struct net_device pointer, or 0 when the hook has no
	 * such device: like nft_meta, the index is then 0 and the name
	 * empty, and a type does not exist (the rule does not match). */
	switch (key) {
	case BF_META_IIF:
	case BF_META_OIF:
		bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JEQ, BPF_REG_1, 0, 0), none);
		bf_meta_ldx_btf(cg, BPF_W, dst, BPF_REG_1, "net_device", "ifindex", 0);
		bf_cg_emit_jmp(cg, BF_JA(0), out);
		bf_cg_label_here(cg, none);
		bf_cg_emit(cg, BF_MOV64_IMM(dst, 0));
		bf_cg_label_here(cg, out);
		break;
	case BF_META_IIFTYPE:
	case BF_META_OIFTYPE:
		bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JEQ, BPF_REG_1, 0, 0), fail);
		bf_meta_ldx_btf(cg, BPF_H, dst, BPF_REG_1, "net_device", "type", 0);
		break;
	case BF_META_IIFNAME:
	case BF_META_OIFNAME:
		bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_2, 0));
		bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_3, 0));
		bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JEQ, BPF_REG_1, 0, 0), none);
		bf_meta_ldx_btf(cg, BPF_DW, BPF_REG_2, BPF_REG_1, "net_device", "name", 0);
		bf_meta_ldx_btf(cg, BPF_DW, BPF_REG_3, BPF_REG_1, "net_device", "name", 8);
		bf_cg_label_here(cg, none);
		/* Registers are 4-byte aligned on the stack: store words. */
		for (int i = 0; i < 2; i++) {
			int r = i ? BPF_REG_3 : BPF_REG_2;

			bf_cg_emit(cg, BF_STX_MEM(BPF_W, BPF_REG_10, r, fp_off + 8 * i));
			bf_cg_emit(cg, BF_ALU64_IMM(BPF_RSH, r, 32));
			bf_cg_emit(cg, BF_STX_MEM(BPF_W, BPF_REG_10, r, fp_off + 8 * i + 4));
		}
		break;
	default:
		return bf_cg_fail(cg, -EINVAL, "internal: meta key %d is not a device key", key);
	}
	return bf_cg_err(cg);
}

int bf_meta_from_skb(struct bf_cg *cg, enum bf_meta_key key, int dst, int fail)
{
	unsigned int bit_off, bits;

	/* r1 holds a trusted struct sk_buff pointer. */
	switch (key) {
	case BF_META_MARK:
		bf_meta_ldx_btf(cg, BPF_W, dst, BPF_REG_1, "sk_buff", "mark", 0);
		break;
	case BF_META_PRIORITY:
		bf_meta_ldx_btf(cg, BPF_W, dst, BPF_REG_1, "sk_buff", "priority", 0);
		break;
	case BF_META_PROTOCOL:
		bf_meta_ldx_btf(cg, BPF_H, dst, BPF_REG_1, "sk_buff", "protocol", 0);
		break;
	case BF_META_PKTTYPE:
		if (bf_cg_btf_bitfield(cg, "sk_buff", "pkt_type", &bit_off, &bits))
			return bf_cg_err(cg);
		if (bits == 0)
			bits = 8;
		bf_cg_emit(cg, BF_LDX_MEM(BPF_B, dst, BPF_REG_1, bit_off / 8));
		bf_cg_emit(cg, BF_ALU64_IMM(BPF_RSH, dst, bit_off % 8));
		bf_cg_emit(cg, BF_ALU64_IMM(BPF_AND, dst, (1 << bits) - 1));
		break;
	case BF_META_SKUID:
	case BF_META_SKGID:
		/* sk->sk_socket->file->f_cred->fsuid/fsgid, NULL -> no match */
		bf_meta_ldx_btf(cg, BPF_DW, BPF_REG_1, BPF_REG_1, "sk_buff", "sk", 0);
		bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JEQ, BPF_REG_1, 0, 0), fail);
		bf_meta_ldx_btf(cg, BPF_DW, BPF_REG_1, BPF_REG_1, "sock", "sk_socket", 0);
		bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JEQ, BPF_REG_1, 0, 0), fail);
		bf_meta_ldx_btf(cg, BPF_DW, BPF_REG_1, BPF_REG_1, "socket", "file", 0);
		bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JEQ, BPF_REG_1, 0, 0), fail);
		bf_meta_ldx_btf(cg, BPF_DW, BPF_REG_1, BPF_REG_1, "file", "f_cred", 0);
		bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JEQ, BPF_REG_1, 0, 0), fail);
		bf_meta_ldx_btf(cg, BPF_W, dst, BPF_REG_1, "cred",
				key == BF_META_SKUID ? "fsuid" : "fsgid", 0);
		break;
	default:
		return bf_cg_fail(cg, -EINVAL, "internal: meta key %d is not an skb key", key);
	}
	return bf_cg_err(cg);
}

/* Keys every flavour computes the same way from the prologue's slots. */
int bf_meta_common(struct bf_cg *cg, enum bf_meta_key key, int dst, int fail,
		   bool *done)
{
	*done = true;
	switch (key) {
	case BF_META_LEN:
		bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, dst, BPF_REG_10, BF_FP_NF_LEN));
		break;
	case BF_META_L4PROTO:
		/* No transport protocol: the rule fails (through the
		 * accumulator, see BF_R_ACC). */
		bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, dst, BPF_REG_10, BF_FP_L4PROTO));
		bf_cg_emit(cg, BF_MOV64_REG(BPF_REG_2, dst));
		bf_cg_emit(cg, BF_ALU64_IMM(BPF_XOR, BPF_REG_2, BF_UNSET));
		bf_cg_acc_if_zero(cg, BPF_REG_2);
		break;
	case BF_META_NFPROTO:
		if (cg->nfproto) {
			bf_cg_emit(cg, BF_MOV64_IMM(dst, cg->nfproto));
		} else if (cg->prog->hook == BF_HOOK_CGROUP_SKB_INGRESS ||
			   cg->prog->hook == BF_HOOK_CGROUP_SKB_EGRESS) {
			int v4 = bf_cg_label_new(cg);
			int out = bf_cg_label_new(cg);

			bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, dst, BPF_REG_10, BF_FP_L3PROTO));
			bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JEQ, dst, 0x0800, 0), v4);
			bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JNE, dst, 0x86dd, 0), fail);
			bf_cg_emit(cg, BF_MOV64_IMM(dst, BF_NFPROTO_IPV6));
			bf_cg_emit_jmp(cg, BF_JA(0), out);
			bf_cg_label_here(cg, v4);
			bf_cg_emit(cg, BF_MOV64_IMM(dst, BF_NFPROTO_IPV4));
			bf_cg_label_here(cg, out);
		} else {
			bf_cg_emit(cg, BF_MOV64_IMM(dst, 5 /* NFPROTO_NETDEV */));
		}
		break;
	default:
		*done = false;
		break;
	}
	return bf_cg_err(cg);
}

/* meta protocol from the parsed ethertype (the inner one of a VLAN frame,
 * as the stack sees it once the tag is taken off), network order. */
int bf_meta_protocol_parsed(struct bf_cg *cg, int dst)
{
	bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, dst, BPF_REG_10, BF_FP_L3PROTO));
	bf_cg_emit(cg, BF_MOV64_REG(BPF_REG_2, dst));
	bf_cg_emit(cg, BF_ALU64_IMM(BPF_XOR, BPF_REG_2, BF_UNSET));
	bf_cg_acc_if_zero(cg, BPF_REG_2);
	bf_cg_emit(cg, BF_BSWAP_BE(dst, 16));
	return bf_cg_err(cg);
}
