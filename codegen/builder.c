/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Instruction buffer of the code generator: emission with a sticky error,
 * labels and jump fixups, 64-bit immediates, map references, kernel
 * function calls and struct offsets resolved from vmlinux BTF.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <bpfilter/helpers.h>

#include "codegen/cgen.h"

#define BF_INSNS_MAX (1000000) /* BPF_COMPLEXITY_LIMIT_INSNS */
#define BF_JA16_MAX 16384 /* headroom below INT16_MAX for kernel rewrites */

int bf_cg_fail(struct bf_cg *cg, int err, const char *fmt, ...)
{
	va_list ap;

	if (cg->err)
		return cg->err;
	cg->err = err;
	if (cg->errbuf && cg->errlen) {
		va_start(ap, fmt);
		vsnprintf(cg->errbuf, cg->errlen, fmt, ap);
		va_end(ap);
	}
	return err;
}

static int _bf_grow(void **buf, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *n;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 256;
	while (ncap < need)
		ncap *= 2;
	n = realloc(*buf, ncap * elem);
	if (!n)
		return -ENOMEM;
	*buf = n;
	*cap = ncap;
	return 0;
}

void bf_cg_emit(struct bf_cg *cg, struct bpf_insn insn)
{
	/* Code after an unconditional jump or exit that no jump reaches is
	 * dropped: the verifier rejects unreachable instructions. */
	if (cg->err || cg->unreachable)
		return;
	if (cg->n_insns >= BF_INSNS_MAX) {
		bf_cg_fail(cg, -E2BIG, "program larger than %d instructions",
			   BF_INSNS_MAX);
		return;
	}
	if (_bf_grow((void **)&cg->insns, &cg->cap_insns, cg->n_insns + 1,
		     sizeof(*cg->insns))) {
		bf_cg_fail(cg, -ENOMEM, "out of memory");
		return;
	}
	cg->insns[cg->n_insns++] = insn;
	if (insn.code == (BPF_JMP | BPF_JA) || insn.code == (BPF_JMP | BPF_EXIT))
		cg->unreachable = true;
}

void bf_cg_emit_ld_imm64(struct bf_cg *cg, int dst, uint64_t v)
{
	bf_cg_emit(cg, BF_LD_IMM64_LO(dst, 0, (int32_t)(uint32_t)v));
	bf_cg_emit(cg, BF_LD_IMM64_HI((int32_t)(uint32_t)(v >> 32)));
}

void bf_cg_emit_ld_map(struct bf_cg *cg, int dst, int map, int kind,
		       uint32_t off)
{
	if (cg->err || cg->unreachable)
		return;
	if (_bf_grow((void **)&cg->map_refs, &cg->cap_map_refs,
		     cg->n_map_refs + 1, sizeof(*cg->map_refs))) {
		bf_cg_fail(cg, -ENOMEM, "out of memory");
		return;
	}
	cg->map_refs[cg->n_map_refs++] = (struct bf_map_ref) {
		.insn = cg->n_insns,
		.map = map,
	};
	/* imm of the first slot is the map fd, patched at load time. */
	bf_cg_emit(cg, BF_LD_IMM64_LO(dst, kind, 0));
	bf_cg_emit(cg, BF_LD_IMM64_HI((int32_t)off));
}

int bf_cg_label_new(struct bf_cg *cg)
{
	if (cg->err)
		return -1;
	size_t cap = cg->cap_labels;

	if (_bf_grow((void **)&cg->labels, &cg->cap_labels, cg->n_labels + 1,
		     sizeof(*cg->labels)) ||
	    _bf_grow((void **)&cg->label_used, &cap, cg->n_labels + 1,
		     sizeof(*cg->label_used))) {
		bf_cg_fail(cg, -ENOMEM, "out of memory");
		return -1;
	}
	cg->labels[cg->n_labels] = -1;
	cg->label_used[cg->n_labels] = false;
	return (int)cg->n_labels++;
}

void bf_cg_label_here(struct bf_cg *cg, int label)
{
	if (cg->err)
		return;
	if (label < 0 || (size_t)label >= cg->n_labels) {
		bf_cg_fail(cg, -EINVAL, "internal: bad label %d", label);
		return;
	}
	cg->labels[label] = (int)cg->n_insns;
	if (cg->label_used[label])
		cg->unreachable = false;
}

void bf_cg_emit_jmp(struct bf_cg *cg, struct bpf_insn insn, int label)
{
	if (cg->err || cg->unreachable)
		return;
	if (label < 0 || (size_t)label >= cg->n_labels) {
		bf_cg_fail(cg, -EINVAL, "internal: bad label %d", label);
		return;
	}
	cg->label_used[label] = true;
	if (_bf_grow((void **)&cg->fixups, &cg->cap_fixups, cg->n_fixups + 1,
		     sizeof(*cg->fixups))) {
		bf_cg_fail(cg, -ENOMEM, "out of memory");
		return;
	}
	cg->fixups[cg->n_fixups++] = (struct bf_fixup) {
		.insn = cg->n_insns,
		.label = label,
	};
	bf_cg_emit(cg, insn);
}

int bf_cg_resolve(struct bf_cg *cg)
{
	for (size_t i = 0; i < cg->n_fixups && !cg->err; i++) {
		struct bf_fixup *f = &cg->fixups[i];
		struct bpf_insn *insn = &cg->insns[f->insn];
		long off;

		if (f->label < 0 || (size_t)f->label >= cg->n_labels ||
		    cg->labels[f->label] < 0)
			return bf_cg_fail(cg, -EINVAL, "internal: unplaced label");

		off = (long)cg->labels[f->label] - (long)f->insn - 1;
		if (insn->code == (BPF_JMP | BPF_JA)) {
			/* The verifier inserts instructions when it rewrites
			 * context accesses and inlines helpers; a 16-bit jump
			 * near the limit would overflow then. */
			if (off >= -BF_JA16_MAX && off <= BF_JA16_MAX) {
				insn->off = (int16_t)off;
			} else {
				/* gotol: 32-bit offset in imm. */
				insn->code = BPF_JMP32 | BPF_JA;
				insn->off = 0;
				insn->imm = (int32_t)off;
			}
		} else {
			if (off < -BF_JA16_MAX || off > BF_JA16_MAX)
				return bf_cg_fail(cg, -E2BIG,
						  "internal: conditional jump out of range");
			insn->off = (int16_t)off;
		}
	}
	return cg->err;
}

static struct btf *_bf_vmlinux_btf;

static struct btf *_bf_btf(struct bf_cg *cg)
{
	if (!_bf_vmlinux_btf) {
		_bf_vmlinux_btf = btf__load_vmlinux_btf();
		if (!_bf_vmlinux_btf) {
			bf_cg_fail(cg, -errno ?: -ENOENT,
				   "cannot load vmlinux BTF (/sys/kernel/btf/vmlinux)");
			return NULL;
		}
	}
	return _bf_vmlinux_btf;
}

/* btf__find_by_name_kind() scans every type of vmlinux: remember the few
 * names the code generator asks for, as every commit asks again. */
static int _bf_btf_find(const struct btf *btf, const char *name, int kind)
{
	static struct {
		char name[64];
		int kind;
		int id;
	} cache[32];
	static size_t n_cache;
	int id;

	for (size_t i = 0; i < n_cache; i++) {
		if (cache[i].kind == kind && !strcmp(cache[i].name, name))
			return cache[i].id;
	}
	id = btf__find_by_name_kind(btf, name, kind);
	if (id >= 0 && n_cache < ARRAY_SIZE(cache) &&
	    strlen(name) < sizeof(cache[0].name)) {
		strcpy(cache[n_cache].name, name);
		cache[n_cache].kind = kind;
		cache[n_cache].id = id;
		n_cache++;
	}
	return id;
}

void bf_cg_emit_kfunc(struct bf_cg *cg, const char *name)
{
	struct btf *btf;
	int id;

	if (cg->err)
		return;
	btf = _bf_btf(cg);
	if (!btf)
		return;
	id = _bf_btf_find(btf, name, BTF_KIND_FUNC);
	if (id < 0) {
		bf_cg_fail(cg, -EOPNOTSUPP, "kernel has no kfunc '%s'", name);
		return;
	}
	bf_cg_emit(cg, BF_CALL_KFUNC(id));
}

/* Find @member in struct/union @id, descending into anonymous members
 * (struct_group(), unions); *bit_off gets its offset from the outer type,
 * *bits its bitfield size (0 if not a bitfield). */
static bool _bf_find_member(const struct btf *btf, int id, const char *member,
			    unsigned int base, unsigned int *bit_off,
			    unsigned int *bits, int *type_id)
{
	const struct btf_type *t = btf__type_by_id(btf, id);
	const struct btf_member *m;

	while (t && btf_is_mod(t))
		t = btf__type_by_id(btf, t->type);
	if (!t || !btf_is_composite(t))
		return false;

	m = btf_members(t);
	for (unsigned int i = 0; i < btf_vlen(t); i++, m++) {
		const char *n = btf__name_by_offset(btf, m->name_off);
		unsigned int off = base + btf_member_bit_offset(t, i);

		if (n && *n) {
			if (strcmp(n, member))
				continue;
			*bit_off = off;
			*bits = btf_member_bitfield_size(t, i);
			if (type_id)
				*type_id = (int)m->type;
			return true;
		}
		if (_bf_find_member(btf, (int)m->type, member, off, bit_off, bits,
				    type_id))
			return true;
	}
	return false;
}

static int _bf_member(struct bf_cg *cg, const char *type, const char *member,
		      unsigned int *bit_off, unsigned int *bits)
{
	struct btf *btf;
	int id;

	if (cg->err)
		return cg->err;
	btf = _bf_btf(cg);
	if (!btf)
		return cg->err;
	id = _bf_btf_find(btf, type, BTF_KIND_STRUCT);
	if (id < 0)
		return bf_cg_fail(cg, -EOPNOTSUPP, "kernel has no struct '%s'", type);
	if (!_bf_find_member(btf, id, member, 0, bit_off, bits, NULL))
		return bf_cg_fail(cg, -EOPNOTSUPP,
				  "kernel struct '%s' has no member '%s'", type, member);
	return 0;
}

int bf_cg_btf_offset(struct bf_cg *cg, const char *type, const char *member)
{
	unsigned int bit_off, bits;

	if (_bf_member(cg, type, member, &bit_off, &bits))
		return -1;
	return (int)(bit_off / 8);
}

int bf_cg_btf_bitfield(struct bf_cg *cg, const char *type, const char *member,
		       unsigned int *bit_off, unsigned int *bits)
{
	return _bf_member(cg, type, member, bit_off, bits) ? -1 : 0;
}

int bf_cg_btf_struct_id(struct bf_cg *cg, const char *type)
{
	struct btf *btf;
	int id;

	if (cg->err)
		return -1;
	btf = _bf_btf(cg);
	if (!btf)
		return -1;
	id = _bf_btf_find(btf, type, BTF_KIND_STRUCT);
	if (id < 0) {
		bf_cg_fail(cg, -EOPNOTSUPP, "kernel has no struct '%s'", type);
		return -1;
	}
	return id;
}

int bf_cg_btf_size(struct bf_cg *cg, const char *type)
{
	int id = bf_cg_btf_struct_id(cg, type);
	__s64 sz;

	if (id < 0)
		return -1;
	sz = btf__resolve_size(_bf_vmlinux_btf, id);
	if (sz < 0) {
		bf_cg_fail(cg, -EOPNOTSUPP, "cannot size kernel struct '%s'", type);
		return -1;
	}
	return (int)sz;
}

/* Member by member: named members, anonymous ones looked through, an
 * array stands for its first element. */
int bf_cg_btf_path(struct bf_cg *cg, const char *type, const char *path)
{
	int id = bf_cg_btf_struct_id(cg, type);
	unsigned int off = 0;
	char buf[128], *save = NULL;

	if (id < 0)
		return -1;
	if (strlen(path) >= sizeof(buf))
		return bf_cg_fail(cg, -EINVAL, "internal: BTF path too long"), -1;
	strcpy(buf, path);
	for (char *m = strtok_r(buf, ".", &save); m; m = strtok_r(NULL, ".", &save)) {
		const struct btf_type *t;
		unsigned int bit_off, bits;
		int mid;

		if (!_bf_find_member(_bf_vmlinux_btf, id, m, 0, &bit_off, &bits, &mid)) {
			bf_cg_fail(cg, -EOPNOTSUPP,
				   "kernel struct '%s' has no member '%s'", type, path);
			return -1;
		}
		off += bit_off;
		t = btf__type_by_id(_bf_vmlinux_btf, mid);
		while (t && (btf_is_mod(t) || btf_is_typedef(t))) {
			mid = (int)t->type;
			t = btf__type_by_id(_bf_vmlinux_btf, mid);
		}
		if (t && btf_is_array(t))
			mid = (int)btf_array(t)->type;
		id = mid;
	}
	return (int)(off / 8);
}
