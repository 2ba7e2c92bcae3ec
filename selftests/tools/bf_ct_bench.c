/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bf_ct_bench: what a first rule `ct state established,related accept`
 * costs a packet at a netfilter hook. An inet input chain with an accept
 * policy, compiled for IPv4, empty and then with that rule, each run on a
 * TCP packet with BPF_PROG_TEST_RUN (--repeat runs, the kernel's mean);
 * each measure is the median of 15, and the two chains alternate for
 * --rounds rounds. The test run's skb has no conntrack entry, so the rule
 * takes its "no entry" path (ct state invalid, no match), which executes
 * as many instructions, give or take two, as the path with an entry.
 * Prints ns per packet and xlated instructions. A benchmark: it measures,
 * it asserts nothing on timings.
 *
 *   bf_ct_bench [--repeat N] [--rounds N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpfilter/helpers.h>
#include <bpfilter/ir.h>

#include "codegen/codegen.h"
#include "common/packets.h"

#define _BF_MEASURES 15

static int _bf_build(struct bf_table **out, bool with_ct)
{
	struct bf_table *t = NULL;
	struct bf_chain *c = NULL;
	struct bf_rule *r = NULL;
	struct bf_data mask, zero;
	struct bf_expr e[4];
	int err;

	bf_data_u32(&mask, BF_CT_STATE_ESTABLISHED | BF_CT_STATE_RELATED);
	bf_data_u32(&zero, 0);
	/* As nft sends it: ct load, bitwise, cmp neq 0, accept. */
	e[0] = bf_expr_ct(BF_CT_STATE, BF_CT_DIR_NONE, 0, 4);
	e[1] = bf_expr_bitwise_bool(0, 0, 4, &mask, &zero);
	e[2] = bf_expr_cmp(BF_CMP_NEQ, 0, &zero);
	e[3] = bf_expr_verdict(BF_VERDICT_ACCEPT, NULL);

	err = bf_table_new(&t, "t", BF_FAMILY_INET);
	if (!err)
		err = bf_chain_new_base(&c, "c", BF_HOOK_NF_LOCAL_IN, 0, BF_VERDICT_ACCEPT);
	if (!err && with_ct) {
		err = bf_rule_new(&r);
		for (size_t i = 0; !err && i < ARRAY_SIZE(e); i++)
			err = bf_rule_add_expr(r, &e[i]);
		if (!err)
			err = bf_chain_add_rule(c, &r);
	}
	if (!err)
		err = bf_table_add_chain(t, &c);
	bf_rule_free(&r);
	bf_chain_free(&c);
	if (err) {
		bf_table_free(&t);
		return err;
	}
	*out = t;
	return 0;
}

static int _bf_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int _bf_measure(bool with_ct, uint32_t repeat, const uint8_t *pkt,
		       size_t len, uint32_t *ns, uint32_t *xlated)
{
	static char log[65536];
	struct bf_table *t = NULL;
	struct bf_program *p = NULL;
	uint32_t v[_BF_MEASURES];
	char err[512] = "";
	int r, ret;

	r = _bf_build(&t, with_ct);
	if (!r)
		r = bf_program_generate(&p, t, "c", BF_NFPROTO_IPV4, err, sizeof(err));
	if (!r)
		r = bf_program_load(p, log, sizeof(log));
	if (!r)
		r = bf_program_xlated_count(p, xlated);
	for (size_t k = 0; !r && k < _BF_MEASURES; k++)
		r = bf_program_test_run(p, pkt, len, repeat, &ret, &v[k]);
	if (r)
		fprintf(stderr, "bf_ct_bench: %s %s\n", err, log);
	else
		qsort(v, _BF_MEASURES, sizeof(v[0]), _bf_cmp_u32);
	*ns = v[_BF_MEASURES / 2];
	bf_program_free(&p);
	bf_table_free(&t);
	return r;
}

int main(int argc, char **argv)
{
	uint32_t repeat = 1000000, rounds = 4;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec spec;
	size_t len;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--repeat"))
			repeat = (uint32_t)strtoul(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--rounds"))
			rounds = (uint32_t)strtoul(argv[i + 1], NULL, 0);
	}
	pkt_spec_init(&spec, 4, PKT_PROTO_TCP);
	spec.dport = 22;
	len = pkt_build(&spec, pkt, sizeof(pkt), NULL);

	printf("round  empty ns/pkt  with ct ns/pkt  delta ns  empty xlated  with ct xlated\n");
	for (uint32_t i = 0; i < rounds; i++) {
		uint32_t a, b, xa, xb;

		if (_bf_measure(false, repeat, pkt, len, &a, &xa) ||
		    _bf_measure(true, repeat, pkt, len, &b, &xb))
			return 1;
		printf("%5u  %12u  %14u  %8d  %12u  %14u\n", i, a, b,
		       (int)b - (int)a, xa, xb);
	}
	return 0;
}
