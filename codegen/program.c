/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Program layout: one eBPF program per base chain (and per family for an
 * inet netfilter chain).
 *
 *   prologue (flavour: context, packet length)  -> header parsing (parse.c)
 *   base chain rules, regular chains inlined at each jump/goto
 *   policy: policy counter, verdict
 *   shared tails: "counter + accept", "counter + drop"
 *
 * Each rule jumps forward to the next one when a test fails, so the
 * program is one forward DAG with no back edges. A run of rules sharing
 * the same leading tests (e.g. `meta l4proto udp` + `th dport` load) is
 * emitted as a group: the shared prefix once, then one test per rule on a
 * value kept in r8. A rule ending in "counter; accept/drop" costs two
 * instructions there (r9 = slot; ja tail). With one conditional branch
 * per rule and the rest known to the verifier, the verifier's pending
 * state stack stays flat however long the chain is. The rules, groups
 * and verdicts are emitted by chain.c; this file lays out the program
 * around them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpfilter/helpers.h>

#include "codegen/cgen.h"
#include "codegen/expr.h"

const struct bf_flavour_ops *bf_flavour_get(enum bf_hook hook)
{
	switch (hook) {
	case BF_HOOK_XDP:
		return &bf_flavour_xdp;
	case BF_HOOK_TC_INGRESS:
	case BF_HOOK_TC_EGRESS:
		return &bf_flavour_tc;
	case BF_HOOK_CGROUP_SKB_INGRESS:
	case BF_HOOK_CGROUP_SKB_EGRESS:
		return &bf_flavour_cgroup;
	default:
		return bf_hook_is_nf(hook) ? &bf_flavour_nf : NULL;
	}
}

void bf_cg_emit_verdict(struct bf_cg *cg, enum bf_verdict verdict)
{
	if (verdict == BF_VERDICT_ACCEPT) {
		bf_cg_emit_jmp(cg, BF_JA(0), cg->accept);
		return;
	}
	bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_0, cg->flavour->retval(verdict)));
	bf_cg_emit(cg, BF_EXIT());
}

static int _bf_generate(struct bf_cg *cg, const struct bf_chain *chain)
{
	int ret = bf_cg_label_new(cg);

	for (int v = 0; v < _BF_VERDICT_MAX; v++)
		cg->tail[v] = bf_cg_label_new(cg);
	cg->accept = bf_cg_label_new(cg);

	int rules = bf_cg_label_new(cg);
	int seed = bf_cg_label_new(cg);

	bf_cg_emit(cg, BF_MOV64_REG(BF_R_CTX, BPF_REG_1));
	if (!cg->err)
		cg->flavour->prologue(cg);
	bf_cg_parse_headers(cg);
	bf_cg_launder_slots(cg);

	/*
	 * Verifier aid. The kernel's stack liveness analysis (6.18) reruns
	 * over the whole program each time a newly visited instruction reads
	 * a stack slot not yet known to be read after it: visiting rules in
	 * order would make that quadratic. So the verifier first walks to the
	 * policy code, where a block only it takes (a packet of 4 GiB - 1
	 * bytes) reads every slot; rules then add nothing new.
	 */
	bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, BPF_REG_1, BPF_REG_10, BF_FP_PKT_LEN));
	bf_cg_emit_jmp(cg, BF_JMP32_IMM(BPF_JNE, BPF_REG_1, -1, 0), rules);
	bf_cg_emit_jmp(cg, BF_JA(0), ret);
	bf_cg_label_here(cg, rules);

	/* An ip or ip6 table outside netfilter (cgroup hooks see both
	 * families): packets of the other family pass untouched, as the
	 * kernel registers such a chain for its family only. */
	if (!bf_hook_is_nf(chain->hook) &&
	    (cg->table->family == BF_FAMILY_IP || cg->table->family == BF_FAMILY_IP6)) {
		int pass = bf_cg_label_new(cg);
		int go = bf_cg_label_new(cg);

		bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, BPF_REG_1, BPF_REG_10, BF_FP_L3PROTO));
		bf_cg_emit_jmp(cg, BF_JMP_IMM(BPF_JNE, BPF_REG_1,
					      cg->table->family == BF_FAMILY_IP ? 0x0800 : 0x86dd,
					      0), pass);
		bf_cg_emit_jmp(cg, BF_JA(0), go);
		bf_cg_label_here(cg, pass);
		bf_cg_emit_verdict(cg, BF_VERDICT_ACCEPT);
		bf_cg_label_here(cg, go);
	}

	bf_cg_emit_chain(cg, chain, ret);

	/* Policy: slot 0 counts it. */
	bf_cg_label_here(cg, ret);
	bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, BPF_REG_1, BPF_REG_10, BF_FP_PKT_LEN));
	bf_cg_emit_jmp(cg, BF_JMP32_IMM(BPF_JEQ, BPF_REG_1, -1, 0), seed);
	bf_cg_emit_counter_update(cg, -1, 0);
	bf_cg_emit_verdict(cg, chain->policy);

	/* Only what the prologue wrote: the register file and scratch slots
	 * are written by rules, and must stay dead where they are, or states
	 * that differ only there could not be pruned. */
	bf_cg_label_here(cg, seed);
	for (int off = BF_FP_PROLOGUE_LO; off < BF_FP_REGS; off += 8)
		bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, BPF_REG_1, BPF_REG_10, off));
	bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, BPF_REG_1, BPF_REG_10, BF_FP_FRAG));
	bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_0, cg->flavour->retval(chain->policy)));
	bf_cg_emit(cg, BF_EXIT());

	for (int v = BF_VERDICT_ACCEPT; v <= BF_VERDICT_DROP; v++) {
		bf_cg_label_here(cg, cg->tail[v]);
		/* Every rule arrives with its own constant slot: add the
		 * opaque zero so the verifier walks the tail once, not once
		 * per rule. */
		bf_cg_emit_ld_map(cg, BPF_REG_1, BF_MAP_KEYS, BPF_PSEUDO_MAP_VALUE,
				  BF_KEYS_ZERO_OFF);
		bf_cg_emit(cg, BF_LDX_MEM(BPF_DW, BPF_REG_1, BPF_REG_1, 0));
		bf_cg_emit(cg, BF_ALU64_REG(BPF_ADD, BF_R_SLOT, BPF_REG_1));
		bf_cg_emit_counter_update(cg, BF_R_SLOT, 0);
		bf_cg_emit_verdict(cg, v);
	}

	/* Accepted: on to the next chain of the hook, through the program's
	 * own one-entry program array (codegen/dispatch.c); when it is empty
	 * (the last chain, or a program run on its own) the tail call falls
	 * through and the packet goes on to the kernel's next hook. */
	bf_cg_label_here(cg, cg->accept);
	bf_cg_emit(cg, BF_MOV64_REG(BPF_REG_1, BF_R_CTX));
	bf_cg_emit_ld_map(cg, BPF_REG_2, BF_MAP_NEXT, BPF_PSEUDO_MAP_FD, 0);
	bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_3, 0));
	bf_cg_emit(cg, BF_CALL_HELPER(BPF_FUNC_tail_call));
	bf_cg_emit(cg, BF_MOV64_IMM(BPF_REG_0, cg->flavour->retval(BF_VERDICT_ACCEPT)));
	bf_cg_emit(cg, BF_EXIT());

	return bf_cg_resolve(cg);
}

static void _bf_cg_release(struct bf_cg *cg)
{
	free(cg->insns);
	free(cg->map_refs);
	free(cg->labels);
	free(cg->label_used);
	free(cg->fixups);
}

/* Remember what the program is made of (codegen/update.c). */
static int _bf_snapshot(struct bf_program *p, const struct bf_table *table)
{
	snprintf(p->table, sizeof(p->table), "%s", table->name);
	p->family = table->family;
	p->snap = calloc(table->n_chains ?: 1, sizeof(*p->snap));
	if (!p->snap)
		return -ENOMEM;
	p->n_snap = table->n_chains;
	for (size_t c = 0; c < table->n_chains; c++) {
		const struct bf_chain *ch = table->chains[c];
		struct bf_snap_chain *sc = &p->snap[c];

		sc->hdr = *ch;
		sc->hdr.rules = NULL;
		sc->hdr.n_rules = 0;
		sc->hdr.cap_rules = 0;
		sc->cap = ch->n_rules ?: 1;
		sc->serials = malloc(sc->cap * sizeof(*sc->serials));
		if (!sc->serials)
			return -ENOMEM;
		for (size_t i = 0; i < ch->n_rules; i++)
			sc->serials[i] = ch->rules[i]->serial;
		sc->n = ch->n_rules;
	}
	return 0;
}

int bf_program_generate(struct bf_program **prog, const struct bf_table *table,
			const char *chain_name, int nfproto, char *errbuf,
			size_t errlen)
{
	return bf_program_generate_hinted(prog, table, chain_name, nfproto,
					  NULL, errbuf, errlen);
}

int bf_program_generate_for(struct bf_program **prog,
			    const struct bf_table *table, const char *chain,
			    int nfproto, const struct bf_program *running,
			    char *errbuf, size_t errlen)
{
	return bf_program_generate_hinted(prog, table, chain, nfproto, running,
					  errbuf, errlen);
}

int bf_program_generate_hinted(struct bf_program **prog,
			       const struct bf_table *table,
			       const char *chain_name, int nfproto,
			       const struct bf_program *hint, char *errbuf,
			       size_t errlen)
{
	struct bf_program *p;
	const struct bf_chain *chain;
	struct bf_cg cg = {};
	char tmp[1];
	int r;

	if (!errbuf || !errlen) {
		errbuf = tmp;
		errlen = sizeof(tmp);
	}
	errbuf[0] = '\0';

	r = bf_table_validate(table, errbuf, errlen);
	if (r)
		return r;

	chain = bf_table_get_chain(table, chain_name);
	if (!chain || !chain->base) {
		snprintf(errbuf, errlen, "no base chain '%s' in table '%s'",
			 chain_name, table->name);
		return -ENOENT;
	}

	if (bf_hook_is_nf(chain->hook)) {
		if (nfproto == BF_NFPROTO_UNSPEC) {
			if (table->family == BF_FAMILY_IP)
				nfproto = BF_NFPROTO_IPV4;
			else if (table->family == BF_FAMILY_IP6)
				nfproto = BF_NFPROTO_IPV6;
		}
		if (nfproto != BF_NFPROTO_IPV4 && nfproto != BF_NFPROTO_IPV6) {
			snprintf(errbuf, errlen,
				 "chain '%s': a netfilter hook needs nfproto ipv4 or ipv6",
				 chain_name);
			return -EINVAL;
		}
		if ((table->family == BF_FAMILY_IP && nfproto != BF_NFPROTO_IPV4) ||
		    (table->family == BF_FAMILY_IP6 && nfproto != BF_NFPROTO_IPV6)) {
			snprintf(errbuf, errlen, "chain '%s': nfproto does not fit the table family",
				 chain_name);
			return -EINVAL;
		}
	} else if (nfproto != BF_NFPROTO_UNSPEC) {
		snprintf(errbuf, errlen, "chain '%s': nfproto is for netfilter hooks only",
			 chain_name);
		return -EINVAL;
	}

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->prog_fd = -1;
	p->counters_fd = -1;
	p->keys_fd = -1;
	p->next_fd = -1;
	p->share_fd = -1;
	snprintf(p->chain, sizeof(p->chain), "%s", chain->name);
	p->hook = chain->hook;
	p->nfproto = nfproto;
	p->priority = chain->priority;
	memcpy(p->ifname, chain->ifname, sizeof(p->ifname));
	p->ifname[sizeof(p->ifname) - 1] = '\0';
	snprintf(p->cgroup, sizeof(p->cgroup), "%s", chain->cgroup);
	p->flavour = bf_flavour_get(chain->hook);
	/* Slot 0: the policy counter. */
	p->slots = calloc(1, sizeof(*p->slots));
	if (!p->slots) {
		free(p);
		return -ENOMEM;
	}
	p->names = calloc(1, sizeof(*p->names));
	if (p->names)
		p->names[0] = strdup(chain->name);
	if (!p->names || !p->names[0]) {
		free(p->names);
		free(p->slots);
		free(p);
		return -ENOMEM;
	}
	p->n_names = 1;
	p->slots[0].chain = p->names[0];
	p->slots[0].rule = SIZE_MAX;
	p->n_slots = 1;
	p->slots_cap = 1;

	for (size_t c = 0; c < table->n_chains && !cg.uses_ll; c++)
		for (size_t i = 0; i < table->chains[c]->n_rules && !cg.uses_ll; i++)
			for (size_t k = 0; k < table->chains[c]->rules[i]->n_exprs; k++)
				if (table->chains[c]->rules[i]->exprs[k].type == BF_EXPR_PAYLOAD &&
				    table->chains[c]->rules[i]->exprs[k].payload.base == BF_PAYLOAD_LL)
					cg.uses_ll = true;

	if (hint) {
		r = bf_slot_hint(p, hint);
		if (r) {
			bf_program_free(&p);
			snprintf(errbuf, errlen, "out of memory");
			return r;
		}
		/* Its counters map, to share if it has room at load. */
		if (hint->counters_fd >= 0) {
			p->share_fd = fcntl(hint->counters_fd, F_DUPFD_CLOEXEC, 3);
			p->share_cap = hint->counters_cap;
		}
	}
	cg.prog = p;
	cg.table = table;
	cg.flavour = p->flavour;
	cg.nfproto = nfproto;
	cg.errbuf = errbuf;
	cg.errlen = errlen;

	r = _bf_generate(&cg, chain);
	bf_slot_hint_done(p);
	if (r) {
		_bf_cg_release(&cg);
		bf_program_free(&p);
		return r;
	}

	r = _bf_snapshot(p, table);
	if (r) {
		_bf_cg_release(&cg);
		bf_program_free(&p);
		snprintf(errbuf, errlen, "out of memory");
		return r;
	}
	p->insns = TAKE_PTR(cg.insns);
	p->n_insns = cg.n_insns;
	p->map_refs = TAKE_PTR(cg.map_refs);
	p->n_map_refs = cg.n_map_refs;
	_bf_cg_release(&cg);
	if (bf_codegen_verbose_bytecode())
		bf_program_dump(p, stderr);
	*prog = p;
	return 0;
}
