/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Netfilter flavour (BPF_PROG_TYPE_NETFILTER): the context is struct
 * bpf_nf_ctx { const struct nf_hook_state *state; struct sk_buff *skb; },
 * packets start at the network header and are read through an skb dynptr.
 * NF_ACCEPT / NF_DROP.
 */
#include <errno.h>
#include <stddef.h>

#include "codegen/flavours.h"

#define BF_NF_CTX_STATE 0
#define BF_NF_CTX_SKB 8

static int _bf_nf_prologue(struct bf_cg *cg)
{
	bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, BPF_REG_1, BF_R_CTX, BF_NF_CTX_SKB));
	bf_meta_ldx_btf(cg, BPF_W, BPF_REG_2, BPF_REG_1, "sk_buff", "len", 0);
	bf_cg_emit(cg, BF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_2, BF_FP_PKT_LEN));
	bf_cg_emit(cg, BF_ST_MEM(BPF_DW, BPF_REG_10, BF_FP_L3PROTO,
				 cg->nfproto == BF_NFPROTO_IPV6 ? 0x86dd : 0x0800));

	/* bpf_dynptr_from_skb(skb, 0, &dynptr) */
	bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_2, 0));
	bf_cg_emit(cg, BF_MOV64_REG(BPF_REG_3, BPF_REG_10));
	bf_cg_emit(cg, BF_ALU64_IMM(BPF_ADD, BPF_REG_3, BF_FP_DYNPTR));
	bf_cg_emit_kfunc(cg, "bpf_dynptr_from_skb");
	return bf_cg_err(cg);
}

/* The MAC header of a received packet lies before skb->data: copy up to
 * BF_WIN_LL_LEN bytes from skb->head + skb->mac_header, as nft_payload
 * does for NFT_PAYLOAD_LL_HEADER (not set, or empty: no link layer). */
static int _bf_nf_ll_window(struct bf_cg *cg)
{
	int none = bf_cg_label_new(cg);
	int clamp = bf_cg_label_new(cg);
	int done = bf_cg_label_new(cg);
	int head_off = bf_cg_btf_offset(cg, "sk_buff", "head");

	bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, BPF_REG_1, BF_R_CTX, BF_NF_CTX_SKB));
	bf_meta_ldx_btf(cg, BPF_H, BPF_REG_2, BPF_REG_1, "sk_buff", "mac_header", 0);
	bf_meta_ldx_btf(cg, BPF_H, BPF_REG_3, BPF_REG_1, "sk_buff", "network_header", 0);
	bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JEQ, BPF_REG_2, 0xffff, 0), none);
	bf_cg_emit_jmp(cg, BF_JMP_REG(BPF_JLE, BPF_REG_3, BPF_REG_2, 0), none);
	/* bytes from the MAC header to the end of the packet */
	bf_cg_emit(cg, BF_ALU64_REG(BPF_SUB, BPF_REG_3, BPF_REG_2));
	bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, BPF_REG_4, BPF_REG_10, BF_FP_PKT_LEN));
	bf_cg_emit(cg, BF_ALU64_REG(BPF_ADD, BPF_REG_3, BPF_REG_4));
	bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JLE, BPF_REG_3, BF_WIN_LL_LEN, 0), clamp);
	bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_3, BF_WIN_LL_LEN));
	bf_cg_label_here(cg, clamp);
	bf_cg_emit(cg, BF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_3, BF_FP_AVAIL_LL));
	/* skb->head as a plain number, then the copy. */
	bf_cg_emit(cg, BF_MOV64_REG(BPF_REG_3, BPF_REG_1));
	bf_cg_emit(cg, BF_ALU64_IMM(BPF_ADD, BPF_REG_3, head_off));
	bf_cg_emit(cg, BF_MOV64_REG(BPF_REG_1, BPF_REG_10));
	bf_cg_emit(cg, BF_ALU64_IMM(BPF_ADD, BPF_REG_1, BF_FP_TMP));
	bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_2, 8));
	bf_cg_emit(cg, BF_CALL_HELPER(BPF_FUNC_probe_read_kernel));
	bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JNE, BPF_REG_0, 0, 0), none);
	bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, BPF_REG_3, BPF_REG_10, BF_FP_TMP));
	bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, BPF_REG_1, BF_R_CTX, BF_NF_CTX_SKB));
	bf_meta_ldx_btf(cg, BPF_H, BPF_REG_2, BPF_REG_1, "sk_buff", "mac_header", 0);
	bf_cg_emit(cg, BF_ALU64_REG(BPF_ADD, BPF_REG_3, BPF_REG_2));
	bf_cg_emit(cg, BF_MOV64_REG(BPF_REG_1, BPF_REG_10));
	bf_cg_emit(cg, BF_ALU64_IMM(BPF_ADD, BPF_REG_1, BF_FP_WIN_LL));
	bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_2, BF_WIN_LL_LEN));
	bf_cg_emit(cg, BF_CALL_HELPER(BPF_FUNC_probe_read_kernel));
	bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JEQ, BPF_REG_0, 0, 0), done);
	bf_cg_label_here(cg, none);
	bf_cg_emit(cg, BF_ST_MEM(BPF_DW, BPF_REG_10, BF_FP_AVAIL_LL, 0));
	bf_cg_label_here(cg, done);
	return bf_cg_err(cg);
}

static int _bf_nf_load_bytes(struct bf_cg *cg, int fp_off)
{
	/* bpf_dynptr_read(dst, len, &dynptr, offset, 0); r2 = offset and
	 * r4 = len on entry. */
	bf_cg_emit(cg, BF_MOV64_REG(BPF_REG_0, BPF_REG_2));
	bf_cg_emit(cg, BF_MOV64_REG(BPF_REG_2, BPF_REG_4));
	bf_cg_emit(cg, BF_MOV64_REG(BPF_REG_4, BPF_REG_0));
	bf_cg_emit(cg, BF_MOV64_REG(BPF_REG_1, BPF_REG_10));
	bf_cg_emit(cg, BF_ALU64_IMM(BPF_ADD, BPF_REG_1, fp_off));
	bf_cg_emit(cg, BF_MOV64_REG(BPF_REG_3, BPF_REG_10));
	bf_cg_emit(cg, BF_ALU64_IMM(BPF_ADD, BPF_REG_3, BF_FP_DYNPTR));
	bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_5, 0));
	bf_cg_emit(cg, BF_CALL_HELPER(BPF_FUNC_dynptr_read));
	return bf_cg_err(cg);
}

static int _bf_nf_retval(enum bf_verdict verdict)
{
	return verdict == BF_VERDICT_DROP ? 0 /* NF_DROP */ : 1 /* NF_ACCEPT */;
}

static int _bf_nf_meta(struct bf_cg *cg, enum bf_meta_key key, int dst,
		       int fp_off, int fail)
{
	bool done;

	if (bf_meta_common(cg, key, dst, fail, &done) || done)
		return bf_cg_err(cg);

	switch (key) {
	case BF_META_IIF:
	case BF_META_OIF:
	case BF_META_IIFNAME:
	case BF_META_OIFNAME:
	case BF_META_IIFTYPE:
	case BF_META_OIFTYPE: {
		bool in = key == BF_META_IIF || key == BF_META_IIFNAME ||
			  key == BF_META_IIFTYPE;

		bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, BPF_REG_1, BF_R_CTX, BF_NF_CTX_STATE));
		bf_meta_ldx_btf(cg, BPF_DW, BPF_REG_1, BPF_REG_1, "nf_hook_state",
				in ? "in" : "out", 0);
		bf_meta_from_dev(cg, key, dst, fp_off, fail);
		break;
	}
	default:
		bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, BPF_REG_1, BF_R_CTX, BF_NF_CTX_SKB));
		bf_meta_from_skb(cg, key, dst, fail);
		break;
	}
	return bf_cg_err(cg);
}

const struct bf_flavour_ops bf_flavour_nf = {
	.prog_type = BPF_PROG_TYPE_NETFILTER,
	.attach_type = BPF_NETFILTER,
	.has_ll = false,
	.prologue = _bf_nf_prologue,
	.load_bytes = _bf_nf_load_bytes,
	.ll_window = _bf_nf_ll_window,
	.retval = _bf_nf_retval,
	.meta = _bf_nf_meta,
	.ct = bf_ct_emit_nf,
};
