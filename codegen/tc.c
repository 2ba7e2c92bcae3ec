/* SPDX-License-Identifier: GPL-2.0-only */
/* TC flavour (tcx ingress/egress): frames from the Ethernet header,
 * TCX_NEXT for accept (the next program or the stack decides), TCX_DROP. */
#include <errno.h>
#include <stddef.h>

#include "codegen/flavours.h"

int bf_flavour_skb_load_bytes(struct bf_cg *cg, int fp_off)
{
	bf_cg_emit(cg, BF_MOV64_REG(BPF_REG_1, BF_R_CTX));
	bf_cg_emit(cg, BF_MOV64_REG(BPF_REG_3, BPF_REG_10));
	bf_cg_emit(cg, BF_ALU64_IMM(BPF_ADD, BPF_REG_3, fp_off));
	bf_cg_emit(cg, BF_CALL_HELPER(BPF_FUNC_skb_load_bytes));
	return bf_cg_err(cg);
}

static int _bf_tc_prologue(struct bf_cg *cg)
{
	bf_cg_emit(cg, BF_LDX_MEM(BPF_W, BPF_REG_1, BF_R_CTX,
				  offsetof(struct __sk_buff, len)));
	bf_cg_emit(cg, BF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_1, BF_FP_PKT_LEN));
	return bf_cg_err(cg);
}

/* The stack takes an 802.1Q tag out of the data (skb_vlan_untag() at
 * ingress, hardware acceleration) into skb->vlan_tci; nf_tables puts it
 * back for link-layer loads (nft_payload_copy_vlan), so `ether type` is
 * 0x8100 and `vlan id` matches. Rebuild the window that way: bytes 12..19
 * move to 16..23, the tag goes at 12. */
static int _bf_tc_ll_vlan(struct bf_cg *cg)
{
	int done = bf_cg_label_new(cg);
	int clamp = bf_cg_label_new(cg);

	bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_9, 0));
	bf_cg_emit(cg, BF_LDX_MEM(BPF_W, BPF_REG_1, BF_R_CTX,
				  offsetof(struct __sk_buff, vlan_present)));
	bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JEQ, BPF_REG_1, 0, 0), done);
	bf_cg_emit(cg, BF_LDX_MEM(BPF_W, BPF_REG_2, BPF_REG_10, BF_FP_WIN_LL + 12));
	bf_cg_emit(cg, BF_LDX_MEM(BPF_W, BPF_REG_3, BPF_REG_10, BF_FP_WIN_LL + 16));
	bf_cg_emit(cg, BF_STX_MEM(BPF_W, BPF_REG_10, BPF_REG_2, BF_FP_WIN_LL + 16));
	bf_cg_emit(cg, BF_STX_MEM(BPF_W, BPF_REG_10, BPF_REG_3, BF_FP_WIN_LL + 20));
	/* vlan_proto holds the network-order value, vlan_tci host order. */
	bf_cg_emit(cg, BF_LDX_MEM(BPF_W, BPF_REG_4, BF_R_CTX,
				  offsetof(struct __sk_buff, vlan_proto)));
	bf_cg_emit(cg, BF_STX_MEM(BPF_H, BPF_REG_10, BPF_REG_4, BF_FP_WIN_LL + 12));
	bf_cg_emit(cg, BF_LDX_MEM(BPF_W, BPF_REG_4, BF_R_CTX,
				  offsetof(struct __sk_buff, vlan_tci)));
	bf_cg_emit(cg, BF_BSWAP_BE(BPF_REG_4, 16));
	bf_cg_emit(cg, BF_STX_MEM(BPF_H, BPF_REG_10, BPF_REG_4, BF_FP_WIN_LL + 14));
	bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, BPF_REG_1, BPF_REG_10, BF_FP_AVAIL_LL));
	bf_cg_emit(cg, BF_ALU64_IMM(BPF_ADD, BPF_REG_1, 4));
	bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JLE, BPF_REG_1, BF_WIN_LL_LEN, 0), clamp);
	bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_1, BF_WIN_LL_LEN));
	bf_cg_label_here(cg, clamp);
	bf_cg_emit(cg, BF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_1, BF_FP_AVAIL_LL));
	bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_9, 4));
	bf_cg_label_here(cg, done);
	return bf_cg_err(cg);
}

static int _bf_tc_retval(enum bf_verdict verdict)
{
	return verdict == BF_VERDICT_DROP ? TCX_DROP : TCX_NEXT;
}

/* Keys read from struct __sk_buff, shared with cgroup_skb. @in / @out: the
 * device is the input (ingress hooks) or output (egress hooks) one. */
int bf_flavour_skb_meta(struct bf_cg *cg, enum bf_meta_key key, int dst,
			int fp_off, int fail, bool ingress)
{
	bool done;

	if (bf_meta_common(cg, key, dst, fail, &done) || done)
		return bf_cg_err(cg);

	switch (key) {
	case BF_META_MARK:
		bf_cg_emit(cg, BF_LDX_MEM(BPF_W, dst, BF_R_CTX,
					  offsetof(struct __sk_buff, mark)));
		break;
	case BF_META_PROTOCOL:
		if (cg->flavour->has_ll) {
			/* TC: the parsed ethertype, inner one of a VLAN
			 * frame, as after skb_vlan_untag() at ingress. */
			bf_meta_protocol_parsed(cg, dst);
			break;
		}
		bf_cg_emit(cg, BF_LDX_MEM(BPF_W, dst, BF_R_CTX,
					  offsetof(struct __sk_buff, protocol)));
		break;
	case BF_META_PKTTYPE:
		bf_cg_emit(cg, BF_LDX_MEM(BPF_W, dst, BF_R_CTX,
					  offsetof(struct __sk_buff, pkt_type)));
		break;
	case BF_META_PRIORITY:
		bf_cg_emit(cg, BF_LDX_MEM(BPF_W, dst, BF_R_CTX,
					  offsetof(struct __sk_buff, priority)));
		break;
	case BF_META_IIF:
	case BF_META_OIF:
		if ((key == BF_META_IIF) != ingress) {
			bf_cg_emit(cg, BF_MOV64_IMM(dst, 0)); /* no such device */
			break;
		}
		bf_cg_emit(cg, BF_LDX_MEM(BPF_W, dst, BF_R_CTX,
					  offsetof(struct __sk_buff, ifindex)));
		break;
	case BF_META_IIFNAME:
	case BF_META_OIFNAME:
	case BF_META_IIFTYPE:
	case BF_META_OIFTYPE:
		if ((key == BF_META_IIFNAME || key == BF_META_IIFTYPE) != ingress) {
			bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_1, 0));
		} else {
			bf_cg_emit(cg, BF_MOV64_REG(BPF_REG_1, BF_R_CTX));
			bf_cg_emit_kfunc(cg, "bpf_cast_to_kern_ctx");
			bf_meta_ldx_btf(cg, BPF_DW, BPF_REG_1, BPF_REG_0, "sk_buff", "dev", 0);
		}
		bf_meta_from_dev(cg, key, dst, fp_off, fail);
		break;
	case BF_META_SKUID:
	case BF_META_SKGID:
		bf_cg_emit(cg, BF_MOV64_REG(BPF_REG_1, BF_R_CTX));
		bf_cg_emit_kfunc(cg, "bpf_cast_to_kern_ctx");
		bf_cg_emit(cg, BF_MOV64_REG(BPF_REG_1, BPF_REG_0));
		bf_meta_from_skb(cg, key, dst, fail);
		break;
	default:
		return bf_cg_fail(cg, -EOPNOTSUPP, "meta key %s not supported",
				  bf_meta_key_to_str(key));
	}
	return bf_cg_err(cg);
}

/* struct __sk_buff's mark and priority are writable at TC and cgroup_skb
 * hooks: the same skb fields nft_meta_set_eval() writes. */
int bf_flavour_skb_meta_set(struct bf_cg *cg, enum bf_meta_key key, int fp_off)
{
	int off = key == BF_META_MARK ? offsetof(struct __sk_buff, mark) :
				        offsetof(struct __sk_buff, priority);

	bf_cg_emit(cg, BF_LDX_MEM(BPF_W, BPF_REG_1, BPF_REG_10, fp_off));
	bf_cg_emit(cg, BF_STX_MEM(BPF_W, BF_R_CTX, BPF_REG_1, off));
	return bf_cg_err(cg);
}

static int _bf_tc_meta(struct bf_cg *cg, enum bf_meta_key key, int dst,
		       int fp_off, int fail)
{
	return bf_flavour_skb_meta(cg, key, dst, fp_off, fail,
				   cg->prog->hook == BF_HOOK_TC_INGRESS);
}

const struct bf_flavour_ops bf_flavour_tc = {
	.prog_type = BPF_PROG_TYPE_SCHED_CLS,
	.attach_type = 0,
	.has_ll = true,
	.prologue = _bf_tc_prologue,
	.load_bytes = bf_flavour_skb_load_bytes,
	.ll_vlan = _bf_tc_ll_vlan,
	.retval = _bf_tc_retval,
	.meta = _bf_tc_meta,
	.meta_set = bf_flavour_skb_meta_set,
};
