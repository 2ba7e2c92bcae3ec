/* SPDX-License-Identifier: GPL-2.0-only */
/* XDP flavour: frames from the Ethernet header, XDP_PASS / XDP_DROP. */
#include <errno.h>
#include <stddef.h>

#include <linux/if_link.h>

#include "codegen/flavours.h"

static int _bf_xdp_prologue(struct bf_cg *cg)
{
	/* Whole frame length, fragments included. */
	bf_cg_emit(cg, BF_MOV64_REG(BPF_REG_1, BF_R_CTX));
	bf_cg_emit(cg, BF_CALL_HELPER(BPF_FUNC_xdp_get_buff_len));
	bf_cg_emit(cg, BF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_0, BF_FP_PKT_LEN));
	return bf_cg_err(cg);
}

static int _bf_xdp_load_bytes(struct bf_cg *cg, int fp_off)
{
	bf_cg_emit(cg, BF_MOV64_REG(BPF_REG_1, BF_R_CTX));
	bf_cg_emit(cg, BF_MOV64_REG(BPF_REG_3, BPF_REG_10));
	bf_cg_emit(cg, BF_ALU64_IMM(BPF_ADD, BPF_REG_3, fp_off));
	bf_cg_emit(cg, BF_CALL_HELPER(BPF_FUNC_xdp_load_bytes));
	return bf_cg_err(cg);
}

static int _bf_xdp_retval(enum bf_verdict verdict)
{
	return verdict == BF_VERDICT_DROP ? XDP_DROP : XDP_PASS;
}

static int _bf_xdp_meta(struct bf_cg *cg, enum bf_meta_key key, int dst,
			int fp_off, int fail)
{
	bool done;

	if (bf_meta_common(cg, key, dst, fail, &done) || done)
		return bf_cg_err(cg);

	switch (key) {
	case BF_META_IIF:
		bf_cg_emit(cg, BF_LDX_MEM(BPF_W, dst, BF_R_CTX,
					  offsetof(struct xdp_md, ingress_ifindex)));
		break;
	case BF_META_IIFNAME:
	case BF_META_IIFTYPE:
		/* xdp_buff->rxq->dev */
		bf_cg_emit(cg, BF_MOV64_REG(BPF_REG_1, BF_R_CTX));
		bf_cg_emit_kfunc(cg, "bpf_cast_to_kern_ctx");
		bf_meta_ldx_btf(cg, BPF_DW, BPF_REG_1, BPF_REG_0, "xdp_buff", "rxq", 0);
		bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JEQ, BPF_REG_1, 0, 0), fail);
		bf_meta_ldx_btf(cg, BPF_DW, BPF_REG_1, BPF_REG_1, "xdp_rxq_info", "dev", 0);
		bf_meta_from_dev(cg, key, dst, fp_off, fail);
		break;
	case BF_META_PROTOCOL:
		bf_meta_protocol_parsed(cg, dst);
		break;
	case BF_META_MARK:
	case BF_META_PRIORITY:
		bf_cg_emit(cg, BF_MOV64_IMM(dst, 0));
		break;
	case BF_META_PKTTYPE: {
		/* No skb yet: derive it from the destination MAC address as
		 * eth_type_trans() would for a frame to this host. */
		int bcast = bf_cg_label_new(cg);
		int out = bf_cg_label_new(cg);

		bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, BPF_REG_1, BPF_REG_10, BF_FP_AVAIL_LL));
		bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JLT, BPF_REG_1, 6, 0), fail);
		bf_cg_emit(cg, BF_LDX_MEM(BPF_W, BPF_REG_1, BPF_REG_10, BF_FP_WIN_LL));
		bf_cg_emit(cg, BF_LDX_MEM(BPF_H, BPF_REG_2, BPF_REG_10, BF_FP_WIN_LL + 4));
		int group = bf_cg_label_new(cg);

		bf_cg_emit(cg, BF_MOV64_IMM(dst, 0 /* PACKET_HOST */));
		/* I/G bit of the first byte: a group address */
		bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JSET, BPF_REG_1, 1, 0), group);
		bf_cg_emit_jmp(cg, BF_JA(0), out);
		bf_cg_label_here(cg, group);
		bf_cg_emit(cg, BF_MOV64_IMM(dst, 2 /* PACKET_MULTICAST */));
		/* ff:ff:ff:ff:ff:ff: broadcast */
		bf_cg_emit_jmp(cg, BF_JMP32_IMM(BPF_JNE, BPF_REG_1, -1, 0), out);
		bf_cg_emit_jmp(cg, BF_JMP32_IMM(BPF_JEQ, BPF_REG_2, 0xffff, 0), bcast);
		bf_cg_emit_jmp(cg, BF_JA(0), out);
		bf_cg_label_here(cg, bcast);
		bf_cg_emit(cg, BF_MOV64_IMM(dst, 1 /* PACKET_BROADCAST */));
		bf_cg_label_here(cg, out);
		break;
	}
	case BF_META_OIF:
	case BF_META_OIFNAME:
	case BF_META_OIFTYPE:
		/* No output device before the stack. */
		bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_1, 0));
		bf_meta_from_dev(cg, key, dst, fp_off, fail);
		break;
	default:
		/* skuid/skgid: no socket before the stack. */
		bf_cg_emit_jmp(cg, BF_JA(0), fail);
		break;
	}
	return bf_cg_err(cg);
}

const struct bf_flavour_ops bf_flavour_xdp = {
	.prog_type = BPF_PROG_TYPE_XDP,
	.attach_type = BPF_XDP,
	.has_ll = true,
	.prologue = _bf_xdp_prologue,
	.load_bytes = _bf_xdp_load_bytes,
	.retval = _bf_xdp_retval,
	.meta = _bf_xdp_meta,
};
