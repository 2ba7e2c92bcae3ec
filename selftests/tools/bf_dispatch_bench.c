/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bf_dispatch_bench: what the hook dispatcher (codegen/dispatch.c) costs a
 * packet. In a network namespace of its own (with a veth pair for the
 * device hooks), for each hook: one chain of one rule
 * (`udp dport 1 counter accept`, which the packet does not match, policy
 * accept) run on its own with BPF_PROG_TEST_RUN, as the figures of
 * `make bench` are taken; then 1, 2, 4 and 8 such chains attached on one
 * attach point, the packet run through the dispatcher, so through every
 * chain. Prints ns per packet (the kernel's mean over --repeat runs, best
 * of 5). A benchmark: it measures, it asserts nothing on timings.
 *
 *   bf_dispatch_bench [--repeat N]
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpfilter/helpers.h>
#include <bpfilter/ir.h>

#include "codegen/codegen.h"
#include "common/packets.h"

#define _BF_MAX_CHAINS 8

struct _bf_hook {
	const char *name;
	enum bf_hook hook;
	enum bf_family family;
	int accept; /* the flavour's accept return value */
};

static const struct _bf_hook _bf_hooks[] = {
	{ "nf_local_in", BF_HOOK_NF_LOCAL_IN, BF_FAMILY_IP, 1 },
	{ "xdp", BF_HOOK_XDP, BF_FAMILY_NETDEV, 2 },
	{ "tc_ingress", BF_HOOK_TC_INGRESS, BF_FAMILY_NETDEV, -1 }, /* TCX_NEXT */
};

static int _bf_chain(const struct _bf_hook *h, struct bf_program **out)
{
	struct bf_table *table = NULL;
	struct bf_chain *chain = NULL;
	struct bf_rule *rule = NULL;
	struct bf_data proto, port;
	struct bf_expr e[6];
	char err[256];
	int r;

	bf_data_u8(&proto, 17);
	bf_data_be16(&port, 1);
	e[0] = bf_expr_meta(BF_META_L4PROTO, 0);
	e[1] = bf_expr_cmp(BF_CMP_EQ, 0, &proto);
	e[2] = bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 0);
	e[3] = bf_expr_cmp(BF_CMP_EQ, 0, &port);
	e[4] = bf_expr_counter();
	e[5] = bf_expr_verdict(BF_VERDICT_ACCEPT, NULL);

	r = bf_table_new(&table, "t", h->family);
	if (!r)
		r = bf_chain_new_base(&chain, "c", h->hook, 0, BF_VERDICT_ACCEPT);
	if (!r && h->family == BF_FAMILY_NETDEV)
		snprintf(chain->ifname, sizeof(chain->ifname), "veth0");
	if (!r)
		r = bf_rule_new(&rule);
	for (size_t i = 0; !r && i < ARRAY_SIZE(e); i++)
		r = bf_rule_add_expr(rule, &e[i]);
	if (!r)
		r = bf_chain_add_rule(chain, &rule);
	if (!r)
		r = bf_table_add_chain(table, &chain);
	if (!r)
		r = bf_program_generate(out, table, "c", BF_NFPROTO_UNSPEC, err,
					sizeof(err));
	if (!r)
		r = bf_program_load(*out, err, sizeof(err));
	if (r)
		fprintf(stderr, "bf_dispatch_bench: %s: %s (%s)\n", h->name,
			strerror(-r), err);
	bf_rule_free(&rule);
	bf_chain_free(&chain);
	bf_table_free(&table);
	return r;
}

/* Best of 5 means. */
static int _bf_measure(const struct bf_program *p, const struct bf_link *l,
		       const uint8_t *pkt, size_t len, uint32_t repeat,
		       int want, uint32_t *ns)
{
	*ns = UINT32_MAX;
	for (int k = 0; k < 5; k++) {
		uint32_t d;
		int rv, r;

		r = l ? bf_link_test_run(l, p, pkt, len, repeat, &rv, &d) :
			bf_program_test_run(p, pkt, len, repeat, &rv, &d);
		if (r)
			return r;
		if (rv != want) {
			fprintf(stderr, "bf_dispatch_bench: returned %d, not %d\n",
				rv, want);
			return -EINVAL;
		}
		if (d < *ns)
			*ns = d;
	}
	return 0;
}

int main(int argc, char **argv)
{
	uint32_t repeat = 200000;
	struct pkt_spec spec;
	uint8_t pkt[128];
	int len;

	if (argc == 3 && !strcmp(argv[1], "--repeat"))
		repeat = (uint32_t)strtoul(argv[2], NULL, 0);
	else if (argc != 1) {
		fprintf(stderr, "usage: bf_dispatch_bench [--repeat N]\n");
		return 2;
	}
	if (unshare(CLONE_NEWNET)) {
		perror("bf_dispatch_bench: unshare");
		return 1;
	}
	if (system("ip link add veth0 type veth peer name veth1 && "
		   "ip link set veth0 up && ip link set veth1 up")) {
		fprintf(stderr, "bf_dispatch_bench: cannot create veth0\n");
		return 1;
	}

	pkt_spec_init(&spec, 4, PKT_PROTO_UDP);
	spec.sport = 40000;
	spec.dport = 9;
	spec.payload_len = 64 - PKT_ETH_HLEN - PKT_IP4_HLEN -
			   pkt_l4_hlen(PKT_PROTO_UDP);
	len = pkt_build(&spec, pkt, sizeof(pkt), NULL);
	if (len < 0)
		return 1;

	printf("dispatcher cost, ns per packet (BPF_PROG_TEST_RUN, %u runs, best of 5)\n",
	       repeat);
	printf("%-12s %8s %8s %8s %8s %8s\n", "hook", "alone", "1 chain",
	       "2 chains", "4 chains", "8 chains");
	for (size_t hi = 0; hi < ARRAY_SIZE(_bf_hooks); hi++) {
		const struct _bf_hook *h = &_bf_hooks[hi];
		struct bf_link_opts opts = { .xdp_skb_mode = true };
		struct bf_program *progs[_BF_MAX_CHAINS] = {};
		struct bf_link *links[_BF_MAX_CHAINS] = {};
		uint32_t ns;
		size_t n = 0;
		int r;

		r = _bf_chain(h, &progs[0]);
		if (!r)
			r = _bf_measure(progs[0], NULL, pkt, (size_t)len, repeat,
					h->accept, &ns);
		if (r)
			return 1;
		printf("%-12s %8u", h->name, ns);
		for (size_t want = 1; want <= _BF_MAX_CHAINS; want *= 2) {
			while (!r && n < want) {
				if (!progs[n])
					r = _bf_chain(h, &progs[n]);
				if (!r)
					r = bf_link_attach(&links[n], progs[n], &opts);
				n++;
			}
			if (!r)
				r = _bf_measure(progs[0], links[0], pkt, (size_t)len,
						repeat, h->accept, &ns);
			if (r) {
				fprintf(stderr, "\nbf_dispatch_bench: %s, %zu chains: %s\n",
					h->name, want, strerror(-r));
				return 1;
			}
			printf(" %8u", ns);
		}
		printf("\n");
		for (size_t i = 0; i < n; i++) {
			bf_link_free(&links[i]);
			bf_program_free(&progs[i]);
		}
	}
	return 0;
}
