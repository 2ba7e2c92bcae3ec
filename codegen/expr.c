/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Expression emitters: each IR expression kind to eBPF, over the register
 * file on the stack (nf_tables semantics: a failed load or test jumps to
 * the rule's fail label). A load directly followed by an equality test of
 * the same register is fused: the value stays in a BPF register. Each
 * kind's emitter is its entry in _bf_cg_expr_ops[], the codegen stage of
 * the kind's descriptor (lib/expr_desc.c).
 */
#include <errno.h>
#include <string.h>

#include <bpfilter/helpers.h>

#include "codegen/cgen.h"
#include "codegen/expr.h"

static const int _bf_win_fp[_BF_PAYLOAD_MAX] = {
	[BF_PAYLOAD_LL] = BF_FP_WIN_LL,
	[BF_PAYLOAD_NH] = BF_FP_WIN_NH,
	[BF_PAYLOAD_TH] = BF_FP_WIN_TH,
};
static const int _bf_win_len[_BF_PAYLOAD_MAX] = {
	[BF_PAYLOAD_LL] = BF_WIN_LL_LEN,
	[BF_PAYLOAD_NH] = BF_WIN_NH_LEN,
	[BF_PAYLOAD_TH] = BF_WIN_TH_LEN,
};
static const int _bf_avail_fp[_BF_PAYLOAD_MAX] = {
	[BF_PAYLOAD_LL] = BF_FP_AVAIL_LL,
	[BF_PAYLOAD_NH] = BF_FP_AVAIL_NH,
	[BF_PAYLOAD_TH] = BF_FP_AVAIL_TH,
};

uint64_t bf_cg_bytes_le(const uint8_t *b, unsigned int len)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < len && i < 8; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

static uint64_t _bf_bytes_be(const uint8_t *b, unsigned int len)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < len && i < 8; i++)
		v = (v << 8) | b[i];
	return v;
}

static const int _bf_size_code[] = { 0, BPF_B, BPF_H, 0, BPF_W, 0, 0, 0, BPF_DW };

/* Largest access size (8, 4, 2, 1) no larger than @left that keeps the
 * stack addresses aligned: the verifier requires aligned stack access. */
static unsigned int _bf_chunk(int a, int b, unsigned int left)
{
	for (unsigned int sz = 8; sz > 1; sz /= 2)
		if (sz <= left && !(a & (int)(sz - 1)) && !(b & (int)(sz - 1)))
			return sz;
	return 1;
}

/* dst = @len (1..8) bytes of the stack at @fp, memory order (as a
 * little-endian load would see them). Clobbers @tmp. */
static void _bf_ldx_bytes(struct bf_cg *cg, int dst, int fp, unsigned int len,
			  int tmp)
{
	unsigned int done = 0;

	while (done < len) {
		unsigned int c = _bf_chunk(fp + (int)done, 0, len - done);
		int r = done ? tmp : dst;

		bf_cg_emit(cg, BF_LDX_MEM(_bf_size_code[c], r, BPF_REG_10, fp + (int)done));
		if (done) {
			bf_cg_emit(cg, BF_ALU64_IMM(BPF_LSH, tmp, 8 * done));
			bf_cg_emit(cg, BF_ALU64_REG(BPF_OR, dst, tmp));
		}
		done += c;
	}
}

/* Store the @len (1..8) low bytes of @src to the stack at @fp, memory
 * order. Clobbers @tmp (src is kept). */
static void _bf_stx_bytes(struct bf_cg *cg, int fp, int src, unsigned int len,
			  int tmp)
{
	unsigned int done = 0;

	while (done < len) {
		unsigned int c = _bf_chunk(fp + (int)done, 0, len - done);

		if (!done) {
			bf_cg_emit(cg, BF_STX_MEM(_bf_size_code[c], BPF_REG_10, src, fp));
		} else {
			bf_cg_emit(cg, BF_MOV64_REG(tmp, src));
			bf_cg_emit(cg, BF_ALU64_IMM(BPF_RSH, tmp, 8 * done));
			bf_cg_emit(cg, BF_STX_MEM(_bf_size_code[c], BPF_REG_10, tmp,
						  fp + (int)done));
		}
		done += c;
	}
}

/* Copy @len (<= 16) bytes between stack locations, through r1. */
static void _bf_copy_stack(struct bf_cg *cg, int dst_fp, int src_fp,
			   unsigned int len)
{
	unsigned int done = 0;

	while (done < len) {
		unsigned int c = _bf_chunk(dst_fp + (int)done, src_fp + (int)done,
					   len - done);

		bf_cg_emit(cg, BF_LDX_MEM(_bf_size_code[c], BPF_REG_1, BPF_REG_10,
					  src_fp + (int)done));
		bf_cg_emit(cg, BF_STX_MEM(_bf_size_code[c], BPF_REG_10, BPF_REG_1,
					  dst_fp + (int)done));
		done += c;
	}
}

/* nft zeroes the last 32-bit word of a destination that is not filled. */
static void _bf_zero_tail(struct bf_cg *cg, unsigned int dreg, unsigned int len)
{
	if (len % 4)
		bf_cg_emit(cg, BF_ST_MEM(BPF_W, BPF_REG_10,
					 bf_cg_reg_fp(dreg) + (int)(len / 4) * 4, 0));
}

/* Make the payload bytes available on the stack; returns the stack offset
 * holding them (the window, or the scratch slot after a helper call). */
static int _bf_payload_fetch(struct bf_cg *cg, const struct bf_expr *e, int fail)
{
	unsigned int base = e->payload.base;
	unsigned int end = e->payload.offset + e->payload.len;

	/* Without the frame in the packet data, the link-layer header exists
	 * only as far as the window the flavour filled. */
	if (base == BF_PAYLOAD_LL && !cg->flavour->has_ll &&
	    (!cg->flavour->ll_window || end > BF_WIN_LL_LEN)) {
		bf_cg_emit_jmp(cg, BF_JA(0), fail);
		return BF_FP_TMP;
	}

	/* nf_tables reads 1, 2 and 4-byte aligned loads through its fast
	 * path, which takes the transport offset of a non-first fragment as
	 * is; its other loads refuse fragments. */
	if (base == BF_PAYLOAD_TH &&
	    !((e->payload.len == 1 || e->payload.len == 2 || e->payload.len == 4) &&
	      !(e->payload.offset % e->payload.len))) {
		bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, BPF_REG_2, BPF_REG_10, BF_FP_FRAG));
		bf_cg_acc_or(cg, BPF_REG_2);
	}

	/* Netfilter IP hooks only see packets whose fixed IP header the
	 * stack has validated (ip_rcv / ip6_rcv, or built itself). */
	if (base == BF_PAYLOAD_NH && bf_hook_is_nf(cg->prog->hook) &&
	    end <= (cg->nfproto == BF_NFPROTO_IPV6 ? 40u : 20u))
		return _bf_win_fp[base] + e->payload.offset;

	if (end <= (unsigned int)_bf_win_len[base]) {
		/* Not enough bytes: (avail - end) is negative and its bit 63
		 * marks the rule failed; the stale window bytes read then do
		 * not matter. */
		bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, BPF_REG_2, BPF_REG_10, _bf_avail_fp[base]));
		bf_cg_emit(cg, BF_ALU64_IMM(BPF_SUB, BPF_REG_2, end));
		bf_cg_emit(cg, BF_ALU64_IMM(BPF_RSH, BPF_REG_2, 63));
		bf_cg_acc_or(cg, BPF_REG_2);
		return _bf_win_fp[base] + e->payload.offset;
	}

	/* Beyond the window: read through the flavour's helper. */
	if (base == BF_PAYLOAD_LL) {
		bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_2, 0));
	} else {
		bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, BPF_REG_2, BPF_REG_10,
					  base == BF_PAYLOAD_NH ? BF_FP_OFF_NH : BF_FP_OFF_TH));
		bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JEQ, BPF_REG_2, BF_UNSET, 0), fail);
	}
	bf_cg_emit(cg, BF_ALU64_IMM(BPF_ADD, BPF_REG_2, e->payload.offset));
	bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_4, e->payload.len));
	if (!cg->err)
		cg->flavour->load_bytes(cg, BF_FP_TMP);
	bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JNE, BPF_REG_0, 0, 0), fail);
	return BF_FP_TMP;
}

int bf_cg_load_to_reg(struct bf_cg *cg, const struct bf_expr *e, int dst,
		      int fail)
{
	int r, fp;

	switch (e->type) {
	case BF_EXPR_PAYLOAD:
		fp = _bf_payload_fetch(cg, e, fail);
		_bf_ldx_bytes(cg, dst, fp, e->payload.len, BPF_REG_2);
		break;
	case BF_EXPR_META:
		r = cg->flavour->meta(cg, e->meta.key, dst, BF_FP_TMP, fail);
		if (r == BF_CG_NEVER)
			bf_cg_emit_jmp(cg, BF_JA(0), fail);
		break;
	default:
		return bf_cg_fail(cg, -EINVAL, "internal: not a load");
	}
	return bf_cg_err(cg);
}

void bf_cg_acc_or(struct bf_cg *cg, int reg)
{
	if (cg->acc_active)
		bf_cg_emit(cg, BF_ALU64_REG(BPF_OR, BF_R_ACC, reg));
	else
		bf_cg_emit(cg, BF_MOV64_REG(BF_R_ACC, reg));
	cg->acc_active = true;
}

void bf_cg_acc_if_zero(struct bf_cg *cg, int reg)
{
	/* (reg | -reg) >> 63 is 1 when reg != 0; flip it. */
	bf_cg_emit(cg, BF_MOV64_REG(BPF_REG_5, reg));
	bf_cg_emit(cg, BF_ALU64_IMM(BPF_NEG, BPF_REG_5, 0));
	bf_cg_emit(cg, BF_ALU64_REG(BPF_OR, reg, BPF_REG_5));
	bf_cg_emit(cg, BF_ALU64_IMM(BPF_RSH, reg, 63));
	bf_cg_emit(cg, BF_ALU64_IMM(BPF_XOR, reg, 1));
	bf_cg_acc_or(cg, reg);
}

void bf_cg_acc_flush(struct bf_cg *cg, int fail)
{
	if (!cg->acc_active)
		return;
	bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JNE, BF_R_ACC, 0, 0), fail);
	cg->acc_active = false;
}

/* reg ^= constant bytes (len <= 8). */
static void _bf_xor_const(struct bf_cg *cg, int reg, const uint8_t *b,
			  unsigned int len)
{
	uint64_t c = bf_cg_bytes_le(b, len);

	if (!c)
		return;
	if (len <= 4) {
		bf_cg_emit(cg, BF_ALU32_IMM(BPF_XOR, reg, (int32_t)(uint32_t)c));
	} else {
		bf_cg_emit_ld_imm64(cg, BPF_REG_3, c);
		bf_cg_emit(cg, BF_ALU64_REG(BPF_XOR, reg, BPF_REG_3));
	}
}

/* Fold an equality (EQ) or inequality (NEQ) test of @len bytes at stack
 * @fp against @d into the accumulator. */
static void _bf_acc_test_stack(struct bf_cg *cg, int fp, enum bf_cmp_op op,
			       const struct bf_data *d)
{
	unsigned int done = 0;

	while (done < d->len) {
		unsigned int n = d->len - done > 8 ? 8 : d->len - done;
		int r = done ? BPF_REG_1 : BPF_REG_4;

		_bf_ldx_bytes(cg, r, fp + (int)done, n, BPF_REG_2);
		_bf_xor_const(cg, r, d->bytes + done, n);
		if (done)
			bf_cg_emit(cg, BF_ALU64_REG(BPF_OR, BPF_REG_4, BPF_REG_1));
		done += n;
	}
	if (op == BF_CMP_EQ)
		bf_cg_acc_or(cg, BPF_REG_4);
	else
		bf_cg_acc_if_zero(cg, BPF_REG_4);
}

/* Is the payload load of @e served from its window? */
static bool _bf_in_window(const struct bf_cg *cg, const struct bf_expr *e)
{
	unsigned int base = e->payload.base;
	unsigned int end = e->payload.offset + e->payload.len;

	if (base == BF_PAYLOAD_LL && !cg->flavour->has_ll && !cg->flavour->ll_window)
		return false;
	return end <= (unsigned int)_bf_win_len[base];
}

/* Jump to @fail unless (@reg op data), op EQ or NEQ, len <= 8. */
void bf_cg_test_reg(struct bf_cg *cg, int reg, enum bf_cmp_op op,
		    const struct bf_data *d, int fail)
{
	uint64_t c = bf_cg_bytes_le(d->bytes, d->len);
	int jop = op == BF_CMP_EQ ? BPF_JNE : BPF_JEQ;

	if (d->len <= 4) {
		bf_cg_emit_jmp(cg, BF_JMP32_IMM(jop, reg, (int32_t)(uint32_t)c, 0), fail);
	} else {
		bf_cg_emit_ld_imm64(cg, BPF_REG_3, c);
		bf_cg_emit_jmp(cg, BF_JMP_REG(jop, reg, BPF_REG_3, 0), fail);
	}
}

/* dst = big-endian value of @len (1..8) bytes at @fp. */
static void _bf_ldx_be(struct bf_cg *cg, int dst, int fp, unsigned int len)
{
	if (len == 1 || len == 2 || len == 4 || len == 8) {
		_bf_ldx_bytes(cg, dst, fp, len, BPF_REG_5);
		if (len > 1)
			bf_cg_emit(cg, BF_BSWAP_BE(dst, len * 8));
		return;
	}
	bf_cg_emit(cg, BF_MOV64_IMM(dst, 0));
	for (unsigned int i = 0; i < len; i++) {
		bf_cg_emit(cg, BF_LDX_MEM(BPF_B, BPF_REG_5, BPF_REG_10, fp + (int)i));
		bf_cg_emit(cg, BF_ALU64_IMM(BPF_LSH, dst, 8));
		bf_cg_emit(cg, BF_ALU64_REG(BPF_OR, dst, BPF_REG_5));
	}
}

/* Jump to @yes if (value of @len bytes at @fp) @op (constant), else @no.
 * Values are compared as big-endian numbers (memcmp order), in chunks of
 * at most 8 bytes. */
static void _bf_branch_order(struct bf_cg *cg, int fp, unsigned int len,
			     const uint8_t *c, enum bf_cmp_op op, int yes, int no)
{
	int less = op == BF_CMP_LT || op == BF_CMP_LTE || op == BF_CMP_NEQ ? yes : no;
	int greater = op == BF_CMP_GT || op == BF_CMP_GTE || op == BF_CMP_NEQ ? yes : no;
	int equal = op == BF_CMP_LTE || op == BF_CMP_GTE || op == BF_CMP_EQ ? yes : no;
	unsigned int done = 0;

	while (done < len) {
		unsigned int n = len - done > 8 ? 8 : len - done;
		uint64_t v = _bf_bytes_be(c + done, n);

		_bf_ldx_be(cg, BPF_REG_1, fp + (int)done, n);
		bf_cg_emit_ld_imm64(cg, BPF_REG_2, v);
		bf_cg_emit_jmp(cg, BF_JMP_REG(BPF_JLT, BPF_REG_1, BPF_REG_2, 0), less);
		bf_cg_emit_jmp(cg, BF_JMP_REG(BPF_JGT, BPF_REG_1, BPF_REG_2, 0), greater);
		done += n;
	}
	bf_cg_emit_jmp(cg, BF_JA(0), equal);
}

static void _bf_emit_cmp(struct bf_cg *cg, const struct bf_expr *e, int fail)
{
	const struct bf_data *d = &e->cmp.data;
	int fp = bf_cg_reg_fp(e->cmp.sreg);
	int match;

	if (e->cmp.op == BF_CMP_EQ || e->cmp.op == BF_CMP_NEQ) {
		_bf_acc_test_stack(cg, fp, e->cmp.op, d);
		return;
	}
	match = bf_cg_label_new(cg);
	_bf_branch_order(cg, fp, d->len, d->bytes, e->cmp.op, match, fail);
	bf_cg_label_here(cg, match);
}

static void _bf_emit_range(struct bf_cg *cg, const struct bf_expr *e, int fail)
{
	int fp = bf_cg_reg_fp(e->range.sreg);
	unsigned int len = e->range.from.len;
	int step = bf_cg_label_new(cg);
	int match = bf_cg_label_new(cg);

	if (e->range.op == BF_RANGE_EQ) {
		_bf_branch_order(cg, fp, len, e->range.from.bytes, BF_CMP_GTE, step, fail);
		bf_cg_label_here(cg, step);
		_bf_branch_order(cg, fp, len, e->range.to.bytes, BF_CMP_LTE, match, fail);
	} else {
		_bf_branch_order(cg, fp, len, e->range.from.bytes, BF_CMP_LT, match, step);
		bf_cg_label_here(cg, step);
		_bf_branch_order(cg, fp, len, e->range.to.bytes, BF_CMP_GT, match, fail);
	}
	bf_cg_label_here(cg, match);
}

static void _bf_emit_bitwise(struct bf_cg *cg, const struct bf_expr *e, int fail)
{
	unsigned int len = e->bitwise.len;
	int src = bf_cg_reg_fp(e->bitwise.sreg);
	int dst = bf_cg_reg_fp(e->bitwise.dreg);
	unsigned int words = (len + 3) / 4;
	uint32_t sh = e->bitwise.shift;

	if (e->bitwise.op == BF_BITWISE_BOOL) {
		unsigned int done = 0;

		while (done < len) {
			unsigned int n = len - done > 8 ? 8 : len - done;
			uint64_t m = bf_cg_bytes_le(e->bitwise.mask.bytes + done, n);
			uint64_t x = bf_cg_bytes_le(e->bitwise.xor.bytes + done, n);

			_bf_ldx_bytes(cg, BPF_REG_1, src + (int)done, n, BPF_REG_5);
			bf_cg_emit_ld_imm64(cg, BPF_REG_2, m);
			bf_cg_emit(cg, BF_ALU64_REG(BPF_AND, BPF_REG_1, BPF_REG_2));
			if (x) {
				bf_cg_emit_ld_imm64(cg, BPF_REG_2, x);
				bf_cg_emit(cg, BF_ALU64_REG(BPF_XOR, BPF_REG_1, BPF_REG_2));
			}
			_bf_stx_bytes(cg, dst + (int)done, BPF_REG_1, n, BPF_REG_5);
			done += n;
		}
		return;
	}

	/* Shifts work on 32-bit host-order words, carrying bits across
	 * words as nft_bitwise_eval_{l,r}shift do. Source words are read
	 * before the destination word is written (dreg may equal sreg). */
	if (sh == 0) {
		_bf_copy_stack(cg, dst, src, words * 4);
		return;
	}
	bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_3, 0)); /* carry */
	for (unsigned int k = 0; k < words; k++) {
		unsigned int i = e->bitwise.op == BF_BITWISE_LSHIFT ? words - 1 - k : k;

		bf_cg_emit(cg, BF_LDX_MEM(BPF_W, BPF_REG_1, BPF_REG_10, src + (int)i * 4));
		bf_cg_emit(cg, BF_MOV32_REG(BPF_REG_2, BPF_REG_1));
		if (e->bitwise.op == BF_BITWISE_LSHIFT) {
			bf_cg_emit(cg, BF_ALU32_IMM(BPF_LSH, BPF_REG_1, sh));
			bf_cg_emit(cg, BF_ALU32_IMM(BPF_RSH, BPF_REG_2, 32 - sh));
		} else {
			bf_cg_emit(cg, BF_ALU32_IMM(BPF_RSH, BPF_REG_1, sh));
			bf_cg_emit(cg, BF_ALU32_IMM(BPF_LSH, BPF_REG_2, 32 - sh));
		}
		bf_cg_emit(cg, BF_ALU32_REG(BPF_OR, BPF_REG_1, BPF_REG_3));
		bf_cg_emit(cg, BF_MOV32_REG(BPF_REG_3, BPF_REG_2));
		bf_cg_emit(cg, BF_STX_MEM(BPF_W, BPF_REG_10, BPF_REG_1, dst + (int)i * 4));
	}
}

static void _bf_emit_byteorder(struct bf_cg *cg, const struct bf_expr *e, int fail)
{
	unsigned int size = e->byteorder.size;
	int sz = size == 8 ? BPF_DW : size == 4 ? BPF_W : BPF_H;
	int src = bf_cg_reg_fp(e->byteorder.sreg);
	int dst = bf_cg_reg_fp(e->byteorder.dreg);

	/* ntoh and hton are the same byte swap on a little-endian host. */
	for (unsigned int off = 0; off + size <= e->byteorder.len; off += size) {
		_bf_ldx_bytes(cg, BPF_REG_1, src + (int)off, size, BPF_REG_5);
		bf_cg_emit(cg, BF_BSWAP_BE(BPF_REG_1, size * 8));
		_bf_stx_bytes(cg, dst + (int)off, BPF_REG_1, size, BPF_REG_5);
	}
	(void)sz;
}

static void _bf_emit_immediate(struct bf_cg *cg, const struct bf_expr *e, int fail)
{
	const struct bf_data *d = &e->immediate.data;
	int dst = bf_cg_reg_fp(e->immediate.dreg);
	unsigned int done = 0;

	_bf_zero_tail(cg, e->immediate.dreg, d->len);
	while (done < d->len) {
		unsigned int n = d->len - done >= 4 ? 4 : d->len - done >= 2 ? 2 : 1;
		int sz = n == 4 ? BPF_W : n == 2 ? BPF_H : BPF_B;

		bf_cg_emit(cg, BF_ST_MEM(sz, BPF_REG_10, dst + (int)done,
					 (int32_t)(uint32_t)bf_cg_bytes_le(d->bytes + done, n)));
		done += n;
	}
}

static void _bf_emit_payload(struct bf_cg *cg, const struct bf_expr *e, int fail)
{
	int fp = _bf_payload_fetch(cg, e, fail);

	_bf_zero_tail(cg, e->payload.dreg, e->payload.len);
	_bf_copy_stack(cg, bf_cg_reg_fp(e->payload.dreg), fp, e->payload.len);
}

static void _bf_emit_meta(struct bf_cg *cg, const struct bf_expr *e, int fail)
{
	unsigned int len = bf_meta_key_len(e->meta.key);
	int dst = bf_cg_reg_fp(e->meta.dreg);
	int r;

	r = cg->flavour->meta(cg, e->meta.key, BPF_REG_1, dst, fail);
	if (r == BF_CG_NEVER) {
		bf_cg_emit_jmp(cg, BF_JA(0), fail);
		return;
	}
	/* Names were written by the flavour; other keys fill a 32-bit
	 * register (nft_reg_store8/16 zero the whole register). */
	if (len <= 4)
		bf_cg_emit(cg, BF_STX_MEM(BPF_W, BPF_REG_10, BPF_REG_1, dst));
}

/* The hook's conntrack reader; a hook without one refuses ct (nft's
 * netdev chains at TC and XDP, cgroup hooks). */
static void _bf_emit_ct(struct bf_cg *cg, const struct bf_expr *e, int fail)
{
	if (!cg->flavour->ct) {
		bf_cg_fail(cg, -EOPNOTSUPP, "ct %s is not supported at hook %s",
			   bf_ct_key_to_str(e->ct.key),
			   bf_hook_to_str(cg->prog->hook));
		return;
	}
	cg->flavour->ct(cg, e, fail);
}

/* The hook's writer; netfilter programs cannot write the skb: the verifier
 * allows reads only through their sk_buff pointer (measured: "only read
 * is supported"), and no helper or kfunc sets the mark there. */
static void _bf_emit_meta_set(struct bf_cg *cg, const struct bf_expr *e, int fail)
{
	if (!cg->flavour->meta_set) {
		bf_cg_fail(cg, -EOPNOTSUPP, "meta %s set is not supported at hook %s",
			   bf_meta_key_to_str(e->meta_set.key),
			   bf_hook_to_str(cg->prog->hook));
		return;
	}
	cg->flavour->meta_set(cg, e->meta_set.key, bf_cg_reg_fp(e->meta_set.sreg));
}

/* Is [reg, reg + len) read by exprs[from..n) before being overwritten? */
bool bf_cg_reg_live(const struct bf_expr *exprs, size_t n, size_t from,
		    unsigned int reg, unsigned int len)
{
	unsigned int lo = reg, hi = reg + (len + 3) / 4;

	for (size_t i = from; i < n; i++) {
		const struct bf_expr *e = &exprs[i];
		unsigned int r, l;

		if (bf_expr_reads(e, &r, &l)) {
			unsigned int rhi = r + (l + 3) / 4;

			if (r < hi && rhi > lo)
				return true;
		}
		if (bf_expr_writes(e, &r, &l)) {
			if (r <= lo && r + (l + 3) / 4 >= hi)
				return false;
		}
	}
	return false;
}

static unsigned int _bf_load_len(const struct bf_expr *e)
{
	return e->type == BF_EXPR_PAYLOAD ? e->payload.len :
	       e->type == BF_EXPR_META ? bf_meta_key_len(e->meta.key) : 0;
}

static unsigned int _bf_load_dreg(const struct bf_expr *e)
{
	return e->type == BF_EXPR_PAYLOAD ? e->payload.dreg : e->meta.dreg;
}

static bool _bf_is_pipe_bitwise(const struct bf_expr *b, unsigned int reg,
				unsigned int len)
{
	return b->type == BF_EXPR_BITWISE && b->bitwise.op == BF_BITWISE_BOOL &&
	       b->bitwise.sreg == reg && b->bitwise.dreg == reg &&
	       b->bitwise.len == len;
}

size_t bf_cg_fusable(const struct bf_cg *cg, const struct bf_expr *ex, size_t n,
		     size_t k)
{
	const struct bf_expr *load = &ex[k];
	unsigned int len = _bf_load_len(load);
	unsigned int reg;
	const struct bf_expr *t;
	size_t j = k + 1;

	if (load->type != BF_EXPR_PAYLOAD && load->type != BF_EXPR_META)
		return 0;
	reg = _bf_load_dreg(load);
	/* mask/xor steps on the value, in place (prefix matches) */
	while (j < n && len <= 8 && _bf_is_pipe_bitwise(&ex[j], reg, len))
		j++;
	if (j >= n)
		return 0;
	t = &ex[j];
	if (t->type == BF_EXPR_CMP) {
		if (t->cmp.sreg != reg || t->cmp.data.len != len)
			return 0;
		if (t->cmp.op == BF_CMP_EQ || t->cmp.op == BF_CMP_NEQ)
			return (len <= 8 || (j == k + 1 && load->type == BF_EXPR_PAYLOAD &&
					     _bf_in_window(cg, load))) ? j : 0;
		return (len == 1 || len == 2 || len == 4 || len == 8) ? j : 0;
	}
	if (t->type == BF_EXPR_RANGE)
		return (t->range.sreg == reg && t->range.from.len == len &&
			(len == 1 || len == 2 || len == 4 || len == 8)) ? j : 0;
	return 0;
}

/* reg = (reg & mask) ^ xor, value of len <= 8 bytes. */
static void _bf_apply_bitwise(struct bf_cg *cg, int reg, const struct bf_expr *b)
{
	unsigned int len = b->bitwise.len;
	uint64_t m = bf_cg_bytes_le(b->bitwise.mask.bytes, len);
	uint64_t x = bf_cg_bytes_le(b->bitwise.xor.bytes, len);

	if (len <= 4) {
		bf_cg_emit(cg, BF_ALU32_IMM(BPF_AND, reg, (int32_t)(uint32_t)m));
		if (x)
			bf_cg_emit(cg, BF_ALU32_IMM(BPF_XOR, reg, (int32_t)(uint32_t)x));
		return;
	}
	bf_cg_emit_ld_imm64(cg, BPF_REG_3, m);
	bf_cg_emit(cg, BF_ALU64_REG(BPF_AND, reg, BPF_REG_3));
	if (x) {
		bf_cg_emit_ld_imm64(cg, BPF_REG_3, x);
		bf_cg_emit(cg, BF_ALU64_REG(BPF_XOR, reg, BPF_REG_3));
	}
}

/* Big-endian value of @reg (loaded in memory order, len 1/2/4/8). */
static void _bf_to_be(struct bf_cg *cg, int reg, unsigned int len)
{
	if (len > 1)
		bf_cg_emit(cg, BF_BSWAP_BE(reg, len * 8));
}

/* Jump to @fail unless (@reg op c), @reg a big-endian number of @len
 * bytes; op is an ordering. */
static void _bf_order_reg(struct bf_cg *cg, int reg, unsigned int len,
			  enum bf_cmp_op op, uint64_t c, int fail)
{
	int jop = op == BF_CMP_LT ? BPF_JGE : op == BF_CMP_LTE ? BPF_JGT :
		  op == BF_CMP_GT ? BPF_JLE : BPF_JLT;

	if (len <= 4) {
		bf_cg_emit_jmp(cg, BF_JMP32_IMM(jop, reg, (int32_t)(uint32_t)c, 0), fail);
	} else {
		bf_cg_emit_ld_imm64(cg, BPF_REG_3, c);
		bf_cg_emit_jmp(cg, BF_JMP_REG(jop, reg, BPF_REG_3, 0), fail);
	}
}

int bf_cg_emit_fused(struct bf_cg *cg, const struct bf_expr *ex, size_t k,
		     size_t j, int fail)
{
	const struct bf_expr *load = &ex[k];
	const struct bf_expr *t = &ex[j];
	unsigned int len = _bf_load_len(load);

	if (j > k + 1) {
		/* load, mask/xor steps, test: all in r4 */
		bf_cg_load_to_reg(cg, load, BPF_REG_4, fail);
		for (size_t i = k + 1; i < j; i++)
			_bf_apply_bitwise(cg, BPF_REG_4, &ex[i]);
		if (t->type == BF_EXPR_CMP &&
		    (t->cmp.op == BF_CMP_EQ || t->cmp.op == BF_CMP_NEQ)) {
			_bf_xor_const(cg, BPF_REG_4, t->cmp.data.bytes, len);
			if (t->cmp.op == BF_CMP_EQ)
				bf_cg_acc_or(cg, BPF_REG_4);
			else
				bf_cg_acc_if_zero(cg, BPF_REG_4);
			return bf_cg_err(cg);
		}
		goto order;
	}

	if (t->type == BF_EXPR_CMP &&
	    (t->cmp.op == BF_CMP_EQ || t->cmp.op == BF_CMP_NEQ)) {
		if (load->type == BF_EXPR_META && load->meta.key == BF_META_L4PROTO &&
		    t->cmp.op == BF_CMP_EQ) {
			/* BF_UNSET never equals a protocol number. */
			bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, BPF_REG_1, BPF_REG_10, BF_FP_L4PROTO));
			_bf_xor_const(cg, BPF_REG_1, t->cmp.data.bytes, 1);
			bf_cg_acc_or(cg, BPF_REG_1);
			return bf_cg_err(cg);
		}
		if (load->type == BF_EXPR_META && load->meta.key == BF_META_PROTOCOL &&
		    t->cmp.op == BF_CMP_EQ && cg->flavour->has_ll) {
			/* The parsed ethertype (host order) or BF_UNSET, which
			 * no 16-bit value equals: no validity check, no swap. */
			uint32_t host = ((uint32_t)t->cmp.data.bytes[0] << 8) |
					t->cmp.data.bytes[1];

			bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, BPF_REG_1, BPF_REG_10, BF_FP_L3PROTO));
			if (host)
				bf_cg_emit(cg, BF_ALU32_IMM(BPF_XOR, BPF_REG_1, (int32_t)host));
			bf_cg_acc_or(cg, BPF_REG_1);
			return bf_cg_err(cg);
		}
		if (load->type == BF_EXPR_PAYLOAD && _bf_in_window(cg, load)) {
			int fp = _bf_payload_fetch(cg, load, fail);

			_bf_acc_test_stack(cg, fp, t->cmp.op, &t->cmp.data);
			return bf_cg_err(cg);
		}
		bf_cg_load_to_reg(cg, load, BPF_REG_4, fail);
		_bf_xor_const(cg, BPF_REG_4, t->cmp.data.bytes, len);
		if (t->cmp.op == BF_CMP_EQ)
			bf_cg_acc_or(cg, BPF_REG_4);
		else
			bf_cg_acc_if_zero(cg, BPF_REG_4);
		return bf_cg_err(cg);
	}

	/* Orderings and ranges: big-endian numbers, compared with branches
	 * on a freshly loaded value (nothing the verifier keeps). */
	bf_cg_load_to_reg(cg, load, BPF_REG_4, fail);
order:
	_bf_to_be(cg, BPF_REG_4, len);
	if (t->type == BF_EXPR_CMP) {
		_bf_order_reg(cg, BPF_REG_4, len, t->cmp.op,
			      _bf_bytes_be(t->cmp.data.bytes, len), fail);
	} else if (t->range.op == BF_RANGE_EQ) {
		_bf_order_reg(cg, BPF_REG_4, len, BF_CMP_GTE,
			      _bf_bytes_be(t->range.from.bytes, len), fail);
		_bf_order_reg(cg, BPF_REG_4, len, BF_CMP_LTE,
			      _bf_bytes_be(t->range.to.bytes, len), fail);
	} else {
		int match = bf_cg_label_new(cg);

		/* Outside [from, to]: below from matches at once; otherwise
		 * the value must be above to. */
		_bf_order_reg(cg, BPF_REG_4, len, BF_CMP_GTE,
			      _bf_bytes_be(t->range.from.bytes, len), match);
		_bf_order_reg(cg, BPF_REG_4, len, BF_CMP_GT,
			      _bf_bytes_be(t->range.to.bytes, len), fail);
		bf_cg_label_here(cg, match);
	}
	return bf_cg_err(cg);
}

/* Counters and verdicts need the rule around them (its counter slot, the
 * shared tails, the chain to inline): the rule layout emits them,
 * codegen/chain.c. */
static void _bf_emit_in_layout(struct bf_cg *cg, const struct bf_expr *e, int fail)
{
	bf_cg_fail(cg, -EINVAL, "internal: expression %s is not emitted here",
		   bf_expr_type_to_str(e->type));
}

/* The emit stage of each kind, beside its other stages (lib/expr_desc.c). */
static const struct bf_cg_expr_ops _bf_cg_expr_ops[] = {
	[BF_EXPR_PAYLOAD] = { .emit = _bf_emit_payload },
	[BF_EXPR_META] = { .emit = _bf_emit_meta },
	[BF_EXPR_BITWISE] = { .emit = _bf_emit_bitwise },
	[BF_EXPR_BYTEORDER] = { .emit = _bf_emit_byteorder },
	[BF_EXPR_CMP] = { .emit = _bf_emit_cmp },
	[BF_EXPR_RANGE] = { .emit = _bf_emit_range },
	[BF_EXPR_IMMEDIATE] = { .emit = _bf_emit_immediate },
	[BF_EXPR_COUNTER] = { .emit = _bf_emit_in_layout },
	[BF_EXPR_VERDICT] = { .emit = _bf_emit_in_layout },
	[BF_EXPR_LOOKUP] = { .emit = bf_cg_emit_lookup },
	[BF_EXPR_VMAP] = { .emit = _bf_emit_in_layout },
	[BF_EXPR_CT] = { .emit = _bf_emit_ct },
	[BF_EXPR_META_SET] = { .emit = _bf_emit_meta_set },
};
_Static_assert(ARRAY_SIZE(_bf_cg_expr_ops) == _BF_EXPR_MAX,
	       "one emitter per enum bf_expr_type");

const struct bf_cg_expr_ops *bf_cg_expr_ops_get(enum bf_expr_type type)
{
	if ((unsigned int)type >= ARRAY_SIZE(_bf_cg_expr_ops))
		return NULL;
	return &_bf_cg_expr_ops[type];
}

int bf_cg_emit_expr(struct bf_cg *cg, const struct bf_expr *e, int fail)
{
	const struct bf_cg_expr_ops *ops = bf_cg_expr_ops_get(e->type);

	if (!ops)
		return bf_cg_fail(cg, -EINVAL, "internal: unknown expression type %d",
				  (int)e->type);
	ops->emit(cg, e, fail);
	return bf_cg_err(cg);
}

/* Counter update for the slot whose index is in BPF register @key_reg (or
 * the constant @slot when key_reg < 0): per-CPU packets += 1 and
 * bytes += packet length. A constant slot's key is read from the keys map
 * rather than written to the stack: a stack write in every rule would make
 * the verifier's stack liveness analysis run once per rule. */
void bf_cg_emit_counter_update(struct bf_cg *cg, int key_reg, uint32_t slot)
{
	int skip = bf_cg_label_new(cg);

	if (key_reg >= 0) {
		bf_cg_emit(cg, BF_STX_MEM(BPF_W, BPF_REG_10, key_reg, BF_FP_KEY));
		bf_cg_emit(cg, BF_MOV64_REG(BPF_REG_2, BPF_REG_10));
		bf_cg_emit(cg, BF_ALU64_IMM(BPF_ADD, BPF_REG_2, BF_FP_KEY));
	} else {
		bf_cg_emit_ld_map(cg, BPF_REG_2, BF_MAP_KEYS, BPF_PSEUDO_MAP_VALUE,
				  BF_KEYS_OFF(slot));
	}
	bf_cg_emit_ld_map(cg, BPF_REG_1, BF_MAP_COUNTERS, BPF_PSEUDO_MAP_FD, 0);
	bf_cg_emit(cg, BF_CALL_HELPER(BPF_FUNC_map_lookup_elem));
	bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JEQ, BPF_REG_0, 0, 0), skip);
	bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_1, 1));
	bf_cg_emit(cg, BF_ATOMIC_ADD(BPF_DW, BPF_REG_0, BPF_REG_1, 0));
	bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, BPF_REG_1, BPF_REG_10, BF_FP_NF_LEN));
	bf_cg_emit(cg, BF_ATOMIC_ADD(BPF_DW, BPF_REG_0, BPF_REG_1, 8));
	bf_cg_label_here(cg, skip);
}
