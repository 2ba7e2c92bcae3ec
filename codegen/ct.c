/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ct loads at netfilter hooks: the kernel's conntrack entry of the packet,
 * skb->_nfct, read as nft_ct_get_eval() reads it. The entry pointer is a
 * plain number in BTF (unsigned long _nfct, the ctinfo in its low 3 bits);
 * bpf_rdonly_cast() makes it an untrusted struct nf_conn pointer, whose
 * loads the verifier turns into fault-tolerant kernel loads (the cast
 * itself is inlined to a move). Offsets come from vmlinux BTF. See
 * Documentation/nft-expressions.md, "ct".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <zlib.h>

#include <bpfilter/helpers.h>

#include "codegen/flavours.h"

#define BF_NF_CTX_SKB 8
#define BF_NFCT_INFOMASK 7
#define BF_IP_CT_IS_REPLY 3
#define BF_IP_CT_UNTRACKED 7
#define BF_NFPROTO_IPV4 2
#define BF_NFPROTO_IPV6 10

static int _bf_reg_fp(unsigned int reg)
{
	return BF_FP_REGS + (int)reg * 4;
}

/* CONFIG_HZ of the running kernel, from /proc/config.gz or
 * /boot/config-$(uname -r) (gzopen() reads plain files too); 0 if
 * unknown. ct->timeout is in jiffies and nft_ct reports milliseconds. */
static unsigned int _bf_kernel_hz(void)
{
	static int hz = -1;
	char line[256], boot[128];
	struct utsname u;
	const char *paths[] = { "/proc/config.gz", boot };

	if (hz >= 0)
		return (unsigned int)hz;
	hz = 0;
	snprintf(boot, sizeof(boot), "/boot/config-%s",
		 uname(&u) ? "" : u.release);
	for (size_t i = 0; i < ARRAY_SIZE(paths) && !hz; i++) {
		gzFile f = gzopen(paths[i], "r");

		if (!f)
			continue;
		while (gzgets(f, line, sizeof(line))) {
			if (!strncmp(line, "CONFIG_HZ=", 10)) {
				hz = atoi(line + 10);
				break;
			}
		}
		gzclose(f);
	}
	return (unsigned int)hz;
}

/* r0 = (struct nf_conn *)r1, untrusted: r1-r5 clobbered. */
static void _bf_ct_cast(struct bf_cg *cg)
{
	int id = bf_cg_btf_struct_id(cg, "nf_conn");

	bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_2, id));
	bf_cg_emit_kfunc(cg, "bpf_rdonly_cast");
}

/* Offset in struct nf_conn of @member of the tuple of direction @dir. */
static int _bf_tuple_off(struct bf_cg *cg, unsigned int dir, const char *member)
{
	char path[96];
	int off, size;

	snprintf(path, sizeof(path), "tuplehash.tuple.%s", member);
	off = bf_cg_btf_path(cg, "nf_conn", path);
	size = bf_cg_btf_size(cg, "nf_conntrack_tuple_hash");
	if (off < 0 || size < 0)
		return -1;
	return off + (int)dir * size;
}

/* Copy @words 32-bit words from r0 + @off to the stack at @fp. */
static void _bf_copy_words(struct bf_cg *cg, int fp, int off, unsigned int words)
{
	for (unsigned int i = 0; i < words; i++) {
		bf_cg_emit(cg, BF_LDX_MEM(BPF_W, BPF_REG_1, BPF_REG_0, off + 4 * (int)i));
		bf_cg_emit(cg, BF_STX_MEM(BPF_W, BPF_REG_10, BPF_REG_1, fp + 4 * (int)i));
	}
}

/* Jump to @fail unless the entry (r0) is of layer 3 protocol @l3num. */
static void _bf_need_l3(struct bf_cg *cg, int l3num, int fail)
{
	int off = _bf_tuple_off(cg, 0, "src.l3num");

	bf_cg_emit(cg, BF_LDX_MEM(BPF_H, BPF_REG_1, BPF_REG_0, off));
	bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JNE, BPF_REG_1, l3num, 0), fail);
}

int bf_ct_emit_nf(struct bf_cg *cg, const struct bf_expr *e, int fail)
{
	unsigned int dir = e->ct.dir == BF_CT_DIR_REPLY ? 1 : 0;
	int fp = _bf_reg_fp(e->ct.dreg);
	int out = bf_cg_label_new(cg);
	int tracked = bf_cg_label_new(cg);
	unsigned int hz = 0;
	int off;

	cg->prog->needs_ct = true;

	if (e->ct.key == BF_CT_EXPIRATION) {
		hz = _bf_kernel_hz();
		if (!hz || 1000 % hz)
			return bf_cg_fail(cg, -EOPNOTSUPP,
					  "ct expiration: kernel HZ unknown or not a divisor of 1000");
		/* The helper call first: it clobbers r1-r5. */
		bf_cg_emit(cg, BF_CALL_HELPER(BPF_FUNC_jiffies64));
		bf_cg_emit(cg, BF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_0, BF_FP_TMP));
	}

	/* r2 = entry, r3 = ctinfo (nf_ct_get()). */
	bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, BPF_REG_1, BF_R_CTX, BF_NF_CTX_SKB));
	bf_meta_ldx_btf(cg, BPF_DW, BPF_REG_2, BPF_REG_1, "sk_buff", "_nfct", 0);
	bf_cg_emit(cg, BF_MOV64_REG(BPF_REG_3, BPF_REG_2));
	bf_cg_emit(cg, BF_ALU64_IMM(BPF_AND, BPF_REG_3, BF_NFCT_INFOMASK));
	bf_cg_emit(cg, BF_ALU64_IMM(BPF_AND, BPF_REG_2, ~BF_NFCT_INFOMASK));

	if (e->ct.key == BF_CT_STATE) {
		/* No entry: untracked (ctinfo IP_CT_UNTRACKED) or invalid;
		 * else NF_CT_STATE_BIT(ctinfo) = 1 << (ctinfo % 3 + 1). */
		bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JNE, BPF_REG_2, 0, 0), tracked);
		bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_1, BF_CT_STATE_INVALID));
		bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JNE, BPF_REG_3, BF_IP_CT_UNTRACKED, 0), out);
		bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_1, BF_CT_STATE_UNTRACKED));
		bf_cg_emit_jmp(cg, BF_JA(0), out);
		bf_cg_label_here(cg, tracked);
		bf_cg_emit(cg, BF_ALU64_IMM(BPF_MOD, BPF_REG_3, BF_IP_CT_IS_REPLY));
		bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_1, BF_CT_STATE_ESTABLISHED));
		bf_cg_emit(cg, BF_ALU64_REG(BPF_LSH, BPF_REG_1, BPF_REG_3));
		bf_cg_label_here(cg, out);
		bf_cg_emit(cg, BF_STX_MEM(BPF_W, BPF_REG_10, BPF_REG_1, fp));
		return bf_cg_err(cg);
	}

	/* Every other key needs an entry (nft_ct: NFT_BREAK without one). */
	bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JEQ, BPF_REG_2, 0, 0), fail);

	if (e->ct.key == BF_CT_DIRECTION) {
		/* CTINFO2DIR(): the reply states are IP_CT_IS_REPLY and up. */
		bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_1, 0));
		bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JLT, BPF_REG_3, BF_IP_CT_IS_REPLY, 0), out);
		bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_1, 1));
		bf_cg_label_here(cg, out);
		bf_cg_emit(cg, BF_STX_MEM(BPF_W, BPF_REG_10, BPF_REG_1, fp));
		return bf_cg_err(cg);
	}

	bf_cg_emit(cg, BF_MOV64_REG(BPF_REG_1, BPF_REG_2));
	_bf_ct_cast(cg);

	switch (e->ct.key) {
	case BF_CT_STATUS:
	case BF_CT_MARK:
		/* status is an unsigned long: nft_ct stores its low 32 bits. */
		off = bf_cg_btf_offset(cg, "nf_conn",
				       e->ct.key == BF_CT_MARK ? "mark" : "status");
		bf_cg_emit(cg, BF_LDX_MEM(BPF_W, BPF_REG_1, BPF_REG_0, off));
		bf_cg_emit(cg, BF_STX_MEM(BPF_W, BPF_REG_10, BPF_REG_1, fp));
		break;
	case BF_CT_EXPIRATION:
		/* nf_ct_expires(): max(timeout - (u32)jiffies, 0), in ms. */
		off = bf_cg_btf_offset(cg, "nf_conn", "timeout");
		bf_cg_emit(cg, BF_LDX_MEM(BPF_W, BPF_REG_1, BPF_REG_0, off));
		bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, BPF_REG_2, BPF_REG_10, BF_FP_TMP));
		bf_cg_emit(cg, BF_ALU32_REG(BPF_SUB, BPF_REG_1, BPF_REG_2));
		bf_cg_emit_jmp(cg, BF_JMP32_IMM(BPF_JSGE, BPF_REG_1, 0, 0), out);
		bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_1, 0));
		bf_cg_label_here(cg, out);
		bf_cg_emit(cg, BF_ALU32_IMM(BPF_MUL, BPF_REG_1, 1000 / hz));
		bf_cg_emit(cg, BF_STX_MEM(BPF_W, BPF_REG_10, BPF_REG_1, fp));
		break;
	case BF_CT_L3PROTO:
		off = _bf_tuple_off(cg, 0, "src.l3num");
		bf_cg_emit(cg, BF_LDX_MEM(BPF_B, BPF_REG_1, BPF_REG_0, off));
		bf_cg_emit(cg, BF_STX_MEM(BPF_W, BPF_REG_10, BPF_REG_1, fp));
		break;
	case BF_CT_PROTOCOL:
		off = _bf_tuple_off(cg, 0, "dst.protonum");
		bf_cg_emit(cg, BF_LDX_MEM(BPF_B, BPF_REG_1, BPF_REG_0, off));
		bf_cg_emit(cg, BF_STX_MEM(BPF_W, BPF_REG_10, BPF_REG_1, fp));
		break;
	case BF_CT_ZONE:
		/* With a direction, nf_ct_zone_id(): the zone's id only when
		 * the zone applies to that direction, else the default 0. */
		off = bf_cg_btf_path(cg, "nf_conn", "zone.id");
		bf_cg_emit(cg, BF_LDX_MEM(BPF_H, BPF_REG_1, BPF_REG_0, off));
		if (e->ct.dir != BF_CT_DIR_NONE) {
			off = bf_cg_btf_path(cg, "nf_conn", "zone.dir");
			bf_cg_emit(cg, BF_LDX_MEM(BPF_B, BPF_REG_2, BPF_REG_0, off));
			bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JSET, BPF_REG_2, 1 << dir, 0), out);
			bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_1, 0));
			bf_cg_label_here(cg, out);
		}
		bf_cg_emit(cg, BF_STX_MEM(BPF_W, BPF_REG_10, BPF_REG_1, fp));
		break;
	case BF_CT_SRC:
	case BF_CT_DST:
		/* All of u3: an IPv4 entry's address then zeros (tuples are
		 * zeroed before they are filled). */
		off = _bf_tuple_off(cg, dir, e->ct.key == BF_CT_SRC ? "src.u3" : "dst.u3");
		_bf_copy_words(cg, fp, off, e->ct.len / 4);
		break;
	case BF_CT_PROTO_SRC:
	case BF_CT_PROTO_DST:
		off = _bf_tuple_off(cg, dir, e->ct.key == BF_CT_PROTO_SRC ? "src.u" : "dst.u");
		bf_cg_emit(cg, BF_LDX_MEM(BPF_H, BPF_REG_1, BPF_REG_0, off));
		bf_cg_emit(cg, BF_STX_MEM(BPF_W, BPF_REG_10, BPF_REG_1, fp));
		break;
	case BF_CT_SRC_IP:
	case BF_CT_DST_IP:
		_bf_need_l3(cg, BF_NFPROTO_IPV4, fail);
		off = _bf_tuple_off(cg, dir, e->ct.key == BF_CT_SRC_IP ? "src.u3" : "dst.u3");
		_bf_copy_words(cg, fp, off, 1);
		break;
	case BF_CT_SRC_IP6:
	case BF_CT_DST_IP6:
		_bf_need_l3(cg, BF_NFPROTO_IPV6, fail);
		off = _bf_tuple_off(cg, dir, e->ct.key == BF_CT_SRC_IP6 ? "src.u3" : "dst.u3");
		_bf_copy_words(cg, fp, off, 4);
		break;
	default:
		return bf_cg_fail(cg, -EINVAL, "internal: ct key %d", (int)e->ct.key);
	}
	return bf_cg_err(cg);
}
