/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Packet parsing prologue shared by every flavour: finds the network and
 * transport headers the way nf_tables does (one 802.1Q tag, IPv4 with
 * options and fragments, IPv6 extension headers), copies the first bytes
 * of each header into its stack window and records how many bytes each
 * window holds. A field that cannot be parsed is stored as BF_UNSET.
 */
#include <errno.h>

#include "codegen/cgen.h"

#define BF_IPV6_EXT_MAX 8

/* Copy min(PKT_LEN - r7, win_len) bytes at packet offset r7 into the window
 * at @win_fp and store the count at @avail_fp (0 when nothing). Uses r7 as
 * the offset; clobbers r0-r5 and r8. */
static void _bf_copy_window(struct bf_cg *cg, int win_fp, int win_len,
			    int avail_fp)
{
	int none = bf_cg_label_new(cg);
	int clamp_ok = bf_cg_label_new(cg);
	int done = bf_cg_label_new(cg);

	bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, BPF_REG_4, BPF_REG_10, BF_FP_PKT_LEN));
	bf_cg_emit(cg, BF_ALU64_REG(BPF_SUB, BPF_REG_4, BPF_REG_7));
	bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JSLE, BPF_REG_4, 0, 0), none);
	bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JLE, BPF_REG_4, win_len, 0), clamp_ok);
	bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_4, win_len));
	bf_cg_label_here(cg, clamp_ok);
	bf_cg_emit(cg, BF_MOV64_REG(BPF_REG_8, BPF_REG_4));
	bf_cg_emit(cg, BF_MOV64_REG(BPF_REG_2, BPF_REG_7));
	if (!cg->err)
		cg->flavour->load_bytes(cg, win_fp);
	bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JNE, BPF_REG_0, 0, 0), none);
	bf_cg_emit(cg, BF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_8, avail_fp));
	bf_cg_emit_jmp(cg, BF_JA(0), done);
	bf_cg_label_here(cg, none);
	bf_cg_emit(cg, BF_ST_MEM(BPF_DW, BPF_REG_10, avail_fp, 0));
	bf_cg_label_here(cg, done);
}

/* r8 = u16 at network-order window bytes (r10 + fp), host order. */
static void _bf_ldx_be16(struct bf_cg *cg, int dst, int fp)
{
	bf_cg_emit(cg, BF_LDX_MEM(BPF_H, dst, BPF_REG_10, fp));
	bf_cg_emit(cg, BF_BSWAP_BE(dst, 16));
}

static void _bf_parse_ll(struct bf_cg *cg)
{
	int no_l3 = bf_cg_label_new(cg);
	int vlan = bf_cg_label_new(cg);
	int set = bf_cg_label_new(cg);
	int done = bf_cg_label_new(cg);

	bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_7, 0));
	_bf_copy_window(cg, BF_FP_WIN_LL, BF_WIN_LL_LEN, BF_FP_AVAIL_LL);
	if (cg->flavour->ll_vlan && !cg->err)
		cg->flavour->ll_vlan(cg);
	else
		bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_9, 0));

	bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, BPF_REG_1, BPF_REG_10, BF_FP_AVAIL_LL));
	bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JLT, BPF_REG_1, 14, 0), no_l3);
	_bf_ldx_be16(cg, BPF_REG_2, BF_FP_WIN_LL + 12);
	bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_3, 14));
	bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JEQ, BPF_REG_2, 0x8100, 0), vlan);
	bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JEQ, BPF_REG_2, 0x88a8, 0), vlan);
	bf_cg_emit_jmp(cg, BF_JA(0), set);
	bf_cg_label_here(cg, vlan);
	bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JLT, BPF_REG_1, 18, 0), no_l3);
	_bf_ldx_be16(cg, BPF_REG_2, BF_FP_WIN_LL + 16);
	bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_3, 18));
	bf_cg_label_here(cg, set);
	/* A tag put back into the window is not in the packet data. */
	bf_cg_emit(cg, BF_ALU64_REG(BPF_SUB, BPF_REG_3, BPF_REG_9));
	bf_cg_emit(cg, BF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_2, BF_FP_L3PROTO));
	bf_cg_emit(cg, BF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_3, BF_FP_OFF_NH));
	bf_cg_emit_jmp(cg, BF_JA(0), done);
	bf_cg_label_here(cg, no_l3);
	bf_cg_emit(cg, BF_ST_MEM(BPF_DW, BPF_REG_10, BF_FP_L3PROTO, BF_UNSET));
	bf_cg_emit(cg, BF_ST_MEM(BPF_DW, BPF_REG_10, BF_FP_OFF_NH, BF_UNSET));
	bf_cg_label_here(cg, done);
}

/* IPv4: validate as nft_set_pktinfo_ipv4_validate, set L4PROTO and, unless
 * a non-first fragment, OFF_TH (in r7). Jumps to @no_th otherwise, @th when
 * the transport header offset is in r7. */
static void _bf_parse_ipv4(struct bf_cg *cg, int no_th, int th)
{
	bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, BPF_REG_1, BPF_REG_10, BF_FP_AVAIL_NH));
	bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JLT, BPF_REG_1, 20, 0), no_th);
	bf_cg_emit(cg, BF_LDX_MEM(BPF_B, BPF_REG_2, BPF_REG_10, BF_FP_WIN_NH));
	bf_cg_emit(cg, BF_MOV64_REG(BPF_REG_3, BPF_REG_2));
	bf_cg_emit(cg, BF_ALU64_IMM(BPF_RSH, BPF_REG_3, 4));
	bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JNE, BPF_REG_3, 4, 0), no_th);
	bf_cg_emit(cg, BF_ALU64_IMM(BPF_AND, BPF_REG_2, 0xf));
	bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JLT, BPF_REG_2, 5, 0), no_th);
	bf_cg_emit(cg, BF_ALU64_IMM(BPF_LSH, BPF_REG_2, 2));
	/* tot_len >= ihl * 4 and tot_len <= bytes from the network header. */
	_bf_ldx_be16(cg, BPF_REG_4, BF_FP_WIN_NH + 2);
	bf_cg_emit_jmp(cg, BF_JMP_REG(BPF_JLT, BPF_REG_4, BPF_REG_2, 0), no_th);
	bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, BPF_REG_5, BPF_REG_10, BF_FP_PKT_LEN));
	bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, BPF_REG_3, BPF_REG_10, BF_FP_OFF_NH));
	bf_cg_emit(cg, BF_ALU64_REG(BPF_SUB, BPF_REG_5, BPF_REG_3));
	bf_cg_emit_jmp(cg, BF_JMP_REG(BPF_JLT, BPF_REG_5, BPF_REG_4, 0), no_th);
	bf_cg_emit(cg, BF_LDX_MEM(BPF_B, BPF_REG_4, BPF_REG_10, BF_FP_WIN_NH + 9));
	bf_cg_emit(cg, BF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_4, BF_FP_L4PROTO));
	/* A non-first fragment keeps the transport offset after the IP
	 * header, as nf_tables' thoff; BF_FP_FRAG tells loads apart. */
	_bf_ldx_be16(cg, BPF_REG_4, BF_FP_WIN_NH + 6);
	bf_cg_emit(cg, BF_ALU64_IMM(BPF_AND, BPF_REG_4, 0x1fff));
	{
		int first = bf_cg_label_new(cg);

		bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JEQ, BPF_REG_4, 0, 0), first);
		bf_cg_emit(cg, BF_ST_MEM(BPF_DW, BPF_REG_10, BF_FP_FRAG, 1));
		bf_cg_label_here(cg, first);
	}
	bf_cg_emit(cg, BF_MOV64_REG(BPF_REG_7, BPF_REG_3));
	bf_cg_emit(cg, BF_ALU64_REG(BPF_ADD, BPF_REG_7, BPF_REG_2));
	bf_cg_emit_jmp(cg, BF_JA(0), th);
}

/* Read @len bytes at packet offset (OFF_NH + r7) into BF_FP_TMP; jump to
 * @fail when out of the packet. Keeps r7, r9. */
static void _bf_read_ext(struct bf_cg *cg, int len, int fail)
{
	bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, BPF_REG_2, BPF_REG_10, BF_FP_OFF_NH));
	bf_cg_emit(cg, BF_ALU64_REG(BPF_ADD, BPF_REG_2, BPF_REG_7));
	bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_4, len));
	if (!cg->err)
		cg->flavour->load_bytes(cg, BF_FP_TMP);
	bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JNE, BPF_REG_0, 0, 0), fail);
}

/* IPv6: validate as nft_set_pktinfo_ipv6_validate, walk the extension
 * headers as ipv6_find_hdr() does with IP6_FH_F_AUTH, as nf_tables calls
 * it: an AH header is where the walk stops (the "transport" header).
 * r7 = offset from the network header, r9 = next header. */
static void _bf_parse_ipv6(struct bf_cg *cg, int no_th, int th)
{
	int unset = no_th;

	bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, BPF_REG_1, BPF_REG_10, BF_FP_AVAIL_NH));
	bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JLT, BPF_REG_1, 40, 0), unset);
	bf_cg_emit(cg, BF_LDX_MEM(BPF_B, BPF_REG_2, BPF_REG_10, BF_FP_WIN_NH));
	bf_cg_emit(cg, BF_ALU64_IMM(BPF_RSH, BPF_REG_2, 4));
	bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JNE, BPF_REG_2, 6, 0), unset);
	/* payload_len + 40 <= bytes from the network header */
	_bf_ldx_be16(cg, BPF_REG_4, BF_FP_WIN_NH + 4);
	bf_cg_emit(cg, BF_ALU64_IMM(BPF_ADD, BPF_REG_4, 40));
	bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, BPF_REG_5, BPF_REG_10, BF_FP_PKT_LEN));
	bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, BPF_REG_3, BPF_REG_10, BF_FP_OFF_NH));
	bf_cg_emit(cg, BF_ALU64_REG(BPF_SUB, BPF_REG_5, BPF_REG_3));
	bf_cg_emit_jmp(cg, BF_JMP_REG(BPF_JLT, BPF_REG_5, BPF_REG_4, 0), unset);

	bf_cg_emit(cg, BF_LDX_MEM(BPF_B, BPF_REG_9, BPF_REG_10, BF_FP_WIN_NH + 6));
	bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_7, 40));

	for (int i = 0; i < BF_IPV6_EXT_MAX; i++) {
		int opt = bf_cg_label_new(cg);
		int frag = bf_cg_label_new(cg);
		int next = bf_cg_label_new(cg);
		int found = bf_cg_label_new(cg);

		bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JEQ, BPF_REG_9, 0, 0), opt);
		bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JEQ, BPF_REG_9, 43, 0), opt);
		bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JEQ, BPF_REG_9, 60, 0), opt);
		bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JEQ, BPF_REG_9, 44, 0), frag);
		bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JEQ, BPF_REG_9, 59, 0), unset);
		bf_cg_emit_jmp(cg, BF_JA(0), found);

		/* Hop-by-hop, routing, destination options: (len + 1) * 8. */
		bf_cg_label_here(cg, opt);
		_bf_read_ext(cg, 2, unset);
		bf_cg_emit(cg, BF_LDX_MEM(BPF_B, BPF_REG_9, BPF_REG_10, BF_FP_TMP));
		bf_cg_emit(cg, BF_LDX_MEM(BPF_B, BPF_REG_1, BPF_REG_10, BF_FP_TMP + 1));
		bf_cg_emit(cg, BF_ALU64_IMM(BPF_ADD, BPF_REG_1, 1));
		bf_cg_emit(cg, BF_ALU64_IMM(BPF_LSH, BPF_REG_1, 3));
		bf_cg_emit(cg, BF_ALU64_REG(BPF_ADD, BPF_REG_7, BPF_REG_1));
		bf_cg_emit_jmp(cg, BF_JA(0), next);

		/* Fragment: 8 bytes; a non-first fragment ends the walk
		 * (ipv6_find_hdr()): its next header is the protocol and the
		 * transport offset follows the fragment header, flagged. */
		bf_cg_label_here(cg, frag);
		_bf_read_ext(cg, 4, unset);
		bf_cg_emit(cg, BF_LDX_MEM(BPF_B, BPF_REG_9, BPF_REG_10, BF_FP_TMP));
		_bf_ldx_be16(cg, BPF_REG_1, BF_FP_TMP + 2);
		bf_cg_emit(cg, BF_ALU64_IMM(BPF_AND, BPF_REG_1, 0xfff8));
		bf_cg_emit(cg, BF_ALU64_IMM(BPF_ADD, BPF_REG_7, 8));
		bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JEQ, BPF_REG_1, 0, 0), next);
		bf_cg_emit(cg, BF_ST_MEM(BPF_DW, BPF_REG_10, BF_FP_FRAG, 1));
		bf_cg_emit_jmp(cg, BF_JA(0), found);

		bf_cg_label_here(cg, found);
		bf_cg_emit(cg, BF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_9, BF_FP_L4PROTO));
		bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, BPF_REG_3, BPF_REG_10, BF_FP_OFF_NH));
		bf_cg_emit(cg, BF_ALU64_REG(BPF_ADD, BPF_REG_7, BPF_REG_3));
		bf_cg_emit_jmp(cg, BF_JA(0), th);

		bf_cg_label_here(cg, next);
	}
	/* Too many extension headers: give up like a malformed packet. */
	bf_cg_emit_jmp(cg, BF_JA(0), unset);
}

int bf_cg_parse_headers(struct bf_cg *cg)
{
	int no_th = bf_cg_label_new(cg);
	int th = bf_cg_label_new(cg);
	int v6 = bf_cg_label_new(cg);
	int done = bf_cg_label_new(cg);
	int have_nh = bf_cg_label_new(cg);

	bf_cg_emit(cg, BF_ST_MEM(BPF_DW, BPF_REG_10, BF_FP_L4PROTO, BF_UNSET));
	bf_cg_emit(cg, BF_ST_MEM(BPF_DW, BPF_REG_10, BF_FP_OFF_TH, BF_UNSET));
	bf_cg_emit(cg, BF_ST_MEM(BPF_DW, BPF_REG_10, BF_FP_FRAG, 0));
	bf_cg_emit(cg, BF_ST_MEM(BPF_DW, BPF_REG_10, BF_FP_AVAIL_TH, 0));
	bf_cg_emit(cg, BF_ST_MEM(BPF_DW, BPF_REG_10, BF_FP_AVAIL_NH, 0));

	if (cg->flavour->has_ll) {
		_bf_parse_ll(cg);
	} else {
		/* The hook sees the packet from the network header. */
		bf_cg_emit(cg, BF_ST_MEM(BPF_DW, BPF_REG_10, BF_FP_AVAIL_LL, 0));
		bf_cg_emit(cg, BF_ST_MEM(BPF_DW, BPF_REG_10, BF_FP_OFF_NH, 0));
		if (cg->uses_ll && cg->flavour->ll_window && !cg->err)
			cg->flavour->ll_window(cg);
	}

	bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, BPF_REG_7, BPF_REG_10, BF_FP_OFF_NH));
	bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JNE, BPF_REG_7, BF_UNSET, 0), have_nh);
	bf_cg_emit_jmp(cg, BF_JA(0), done);
	bf_cg_label_here(cg, have_nh);
	_bf_copy_window(cg, BF_FP_WIN_NH, BF_WIN_NH_LEN, BF_FP_AVAIL_NH);

	bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, BPF_REG_1, BPF_REG_10, BF_FP_L3PROTO));
	bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JEQ, BPF_REG_1, 0x86dd, 0), v6);
	bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JNE, BPF_REG_1, 0x0800, 0), done);
	_bf_parse_ipv4(cg, no_th, th);
	bf_cg_label_here(cg, v6);
	_bf_parse_ipv6(cg, no_th, th);

	bf_cg_label_here(cg, th);
	bf_cg_emit(cg, BF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_7, BF_FP_OFF_TH));
	_bf_copy_window(cg, BF_FP_WIN_TH, BF_WIN_TH_LEN, BF_FP_AVAIL_TH);
	bf_cg_emit_jmp(cg, BF_JA(0), done);

	bf_cg_label_here(cg, no_th);
	bf_cg_emit(cg, BF_ST_MEM(BPF_DW, BPF_REG_10, BF_FP_AVAIL_TH, 0));
	bf_cg_label_here(cg, done);

	/* nf_tables counts skb->len: at netdev ingress the stack has pulled
	 * the link-layer header (and taken a VLAN tag off) already, so the
	 * count starts at the network header; everywhere else it is what the
	 * hook sees. */
	bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, BPF_REG_1, BPF_REG_10, BF_FP_PKT_LEN));
	if (cg->prog->hook == BF_HOOK_XDP || cg->prog->hook == BF_HOOK_TC_INGRESS) {
		int store = bf_cg_label_new(cg);

		bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, BPF_REG_2, BPF_REG_10, BF_FP_OFF_NH));
		bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JEQ, BPF_REG_2, BF_UNSET, 0), store);
		bf_cg_emit(cg, BF_ALU64_REG(BPF_SUB, BPF_REG_1, BPF_REG_2));
		bf_cg_label_here(cg, store);
	}
	bf_cg_emit(cg, BF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_1, BF_FP_NF_LEN));

	return bf_cg_err(cg);
}

int bf_cg_launder_slots(struct bf_cg *cg)
{
	/*
	 * Add a zero the verifier cannot see through to every parsed slot.
	 * On a path where parsing gave a constant (no transport protocol,
	 * nothing available), a rule's pending-failure test would be decided
	 * at verification time; the verifier then marks the slot precise and
	 * that path's states never merge with the others: every rule would be
	 * verified once per parse outcome. Unknown values keep one state.
	 */
	bf_cg_emit_ld_map(cg, BPF_REG_2, BF_MAP_KEYS, BPF_PSEUDO_MAP_VALUE, BF_KEYS_ZERO_OFF);
	bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, BPF_REG_2, BPF_REG_2, 0));
	for (int off = BF_FP_FRAG; off < BF_FP_WIN_TH; off += 8) {
		if (off > BF_FP_FRAG && off < BF_FP_PROLOGUE_LO)
			continue; /* key, scratch and dynptr slots */
		if (off == BF_FP_DYNPTR || off == BF_FP_DYNPTR + 8 ||
		    off == BF_FP_TMP || off == BF_FP_TMP + 8)
			continue;
		bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, BPF_REG_1, BPF_REG_10, off));
		bf_cg_emit(cg, BF_ALU64_REG(BPF_ADD, BPF_REG_1, BPF_REG_2));
		bf_cg_emit(cg, BF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_1, off));
	}
	return bf_cg_err(cg);
}
