/* SPDX-License-Identifier: GPL-2.0-only */
/* Helpers shared by the flavour files (xdp.c, tc.c, nf.c, cgroup.c). */
#pragma once

#include "codegen/cgen.h"

void bf_meta_ldx_btf(struct bf_cg *cg, int size, int dst, int src,
		     const char *type, const char *member, int extra);
int bf_meta_from_dev(struct bf_cg *cg, enum bf_meta_key key, int dst,
		     int fp_off, int fail);
int bf_meta_from_skb(struct bf_cg *cg, enum bf_meta_key key, int dst, int fail);
int bf_meta_common(struct bf_cg *cg, enum bf_meta_key key, int dst, int fail,
		   bool *done);

/* skb-based load_bytes (TC and cgroup_skb): bpf_skb_load_bytes. */
int bf_flavour_skb_load_bytes(struct bf_cg *cg, int fp_off);

/* Meta keys from struct __sk_buff (TC and cgroup_skb). */
int bf_flavour_skb_meta(struct bf_cg *cg, enum bf_meta_key key, int dst,
			int fp_off, int fail, bool ingress);
int bf_meta_protocol_parsed(struct bf_cg *cg, int dst);
/* meta mark / priority set through struct __sk_buff (TC and cgroup_skb). */
int bf_flavour_skb_meta_set(struct bf_cg *cg, enum bf_meta_key key, int fp_off);

/* ct loads from skb->_nfct at netfilter hooks (codegen/ct.c). */
int bf_ct_emit_nf(struct bf_cg *cg, const struct bf_expr *e, int fail);
