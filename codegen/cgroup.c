/* SPDX-License-Identifier: GPL-2.0-only */
/* cgroup_skb flavour: packets from the network header, 1 allows, 0 drops. */
#include <errno.h>
#include <stddef.h>

#include "codegen/flavours.h"


static int _bf_cgroup_prologue(struct bf_cg *cg)
{
	bf_cg_emit(cg, BF_LDX_MEM(BPF_W, BPF_REG_1, BF_R_CTX,
				  offsetof(struct __sk_buff, len)));
	bf_cg_emit(cg, BF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_1, BF_FP_PKT_LEN));
	bf_cg_emit(cg, BF_LDX_MEM(BPF_W, BPF_REG_1, BF_R_CTX,
				  offsetof(struct __sk_buff, protocol)));
	bf_cg_emit(cg, BF_BSWAP_BE(BPF_REG_1, 16));
	bf_cg_emit(cg, BF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_1, BF_FP_L3PROTO));
	return bf_cg_err(cg);
}

static int _bf_cgroup_retval(enum bf_verdict verdict)
{
	return verdict == BF_VERDICT_DROP ? 0 : 1;
}

static int _bf_cgroup_meta(struct bf_cg *cg, enum bf_meta_key key, int dst,
			   int fp_off, int fail)
{
	return bf_flavour_skb_meta(cg, key, dst, fp_off, fail,
				   cg->prog->hook == BF_HOOK_CGROUP_SKB_INGRESS);
}

const struct bf_flavour_ops bf_flavour_cgroup = {
	.prog_type = BPF_PROG_TYPE_CGROUP_SKB,
	.attach_type = 0, /* set per hook by the program */
	.has_ll = false,
	.prologue = _bf_cgroup_prologue,
	.load_bytes = bf_flavour_skb_load_bytes,
	.retval = _bf_cgroup_retval,
	.meta = _bf_cgroup_meta,
	.meta_set = bf_flavour_skb_meta_set,
};
