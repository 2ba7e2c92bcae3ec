/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * e2e helpers: build a table with one base chain (and optional regular
 * chains) from lists of expressions, generate and load it, run it on
 * packets with BPF_PROG_TEST_RUN and check verdicts and counters.
 *
 * The helpers assert with cmocka: call them from a cmocka test only.
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>

#include <cmocka.h>

#include <bpfilter/helpers.h>
#include <bpfilter/ir.h>
#include "codegen/codegen.h"
#include "packets.h"

#define E2E_BASE "base"

/* Return codes of each program type. */
#define E2E_XDP_DROP 1
#define E2E_XDP_PASS 2
#define E2E_TCX_NEXT (-1)
#define E2E_TCX_DROP 2
#define E2E_NF_DROP 0
#define E2E_NF_ACCEPT 1
#define E2E_CGROUP_DROP 0
#define E2E_CGROUP_PASS 1

/** The value a program at @hook returns for @verdict (ACCEPT or DROP). */
int e2e_retval(enum bf_hook hook, enum bf_verdict verdict);

/** True for XDP and TC hooks: they see the frame from the Ethernet header. */
bool e2e_hook_is_l2(enum bf_hook hook);

/**
 * Length the program sees (meta len, counter bytes) for a frame of
 * @frame_len bytes: all of it at XDP/TC, without the Ethernet header at
 * netfilter and cgroup_skb hooks (BPF_PROG_TEST_RUN strips it there).
 */
size_t e2e_seen_len(enum bf_hook hook, size_t frame_len);
/* Same, for a frame whose link-layer header is @l2_len bytes (18 with a
 * VLAN tag). */
size_t e2e_seen_len_l2(enum bf_hook hook, size_t frame_len, size_t l2_len);

/** Table family for @hook with an IPv4 (4) / IPv6 (6) / both (0) table. */
enum bf_family e2e_family(enum bf_hook hook, int l3);

/** nfproto to generate with: the IP version at NF hooks, else UNSPEC. */
int e2e_nfproto(enum bf_hook hook, int l3);

/* One hook flavour to run a test on. */
struct e2e_flavour {
	const char *name;
	enum bf_hook hook;
	enum bf_family family;
	int nfproto;
	int l3; /* IP version of the packets */
};

/* Every hook flavour, with IPv4 and IPv6 packets. */
extern const struct e2e_flavour e2e_flavours[];
extern const size_t e2e_n_flavours;

struct e2e {
	enum bf_hook hook;
	enum bf_family family;
	int nfproto;
	struct bf_table *table;
	struct bf_program *prog;
};

/** New table with base chain E2E_BASE at @hook with @policy. */
void e2e_init(struct e2e *t, enum bf_hook hook, enum bf_family family,
	      enum bf_verdict policy);
/** Same, from a flavour (its nfproto is used by e2e_load()). */
void e2e_init_flavour(struct e2e *t, const struct e2e_flavour *f,
		      enum bf_verdict policy);
/** Add a regular chain. */
void e2e_chain(struct e2e *t, const char *name);
/** Append a rule made of @exprs to @chain (NULL: the base chain). */
void e2e_rule(struct e2e *t, const char *chain, const struct bf_expr *exprs,
	      size_t n);

#define E2E_EXPRS(...) ((const struct bf_expr[]) { __VA_ARGS__ })
#define E2E_NEXPRS(...) \
	(sizeof(E2E_EXPRS(__VA_ARGS__)) / sizeof(struct bf_expr))
/* E2E_RULE(&t, chain_or_NULL, expr, expr, ...) */
#define E2E_RULE(t, chain, ...) \
	e2e_rule((t), (chain), E2E_EXPRS(__VA_ARGS__), E2E_NEXPRS(__VA_ARGS__))

/** Generate and load; returns 0 or the negative errno (printed). */
int e2e_try_load(struct e2e *t, int nfproto);
/** Generate and load with the nfproto given at init; asserts success. */
void e2e_load(struct e2e *t);
/** Run once; returns the program's return value (asserts the run works). */
int e2e_run(struct e2e *t, const void *pkt, size_t len);
/** Run once and assert the verdict (ACCEPT or DROP). */
void e2e_expect(struct e2e *t, const void *pkt, size_t len,
		enum bf_verdict verdict);
/** Read a counter (asserts it exists). */
void e2e_counter(struct e2e *t, const char *chain, size_t rule, size_t expr,
		 uint64_t *packets, uint64_t *bytes);
void e2e_policy_counter(struct e2e *t, uint64_t *packets, uint64_t *bytes);
/** Assert counter values. */
void e2e_expect_counter(struct e2e *t, const char *chain, size_t rule,
			size_t expr, uint64_t packets, uint64_t bytes);
void e2e_expect_policy(struct e2e *t, uint64_t packets, uint64_t bytes);
void e2e_fini(struct e2e *t);

/* Expression shorthands. */
struct bf_expr e2e_cmp_bytes(enum bf_cmp_op op, uint8_t sreg,
			     const void *bytes, size_t len);
struct bf_expr e2e_cmp_u8(enum bf_cmp_op op, uint8_t sreg, uint8_t v);
struct bf_expr e2e_cmp_be16(enum bf_cmp_op op, uint8_t sreg, uint16_t v);
struct bf_expr e2e_cmp_be32(enum bf_cmp_op op, uint8_t sreg, uint32_t v);
struct bf_expr e2e_cmp_u32(enum bf_cmp_op op, uint8_t sreg, uint32_t v);
struct bf_expr e2e_accept(void);
struct bf_expr e2e_drop(void);

/**
 * One-shot: table with one base chain at @f holding @rule (n exprs, may be
 * 0), policy @policy, run on @pkt, return the program's return value.
 */
int e2e_verdict_of(const struct e2e_flavour *f, enum bf_verdict policy,
		   const struct bf_expr *rule, size_t n, const void *pkt,
		   size_t len);

/** Build a packet and assert it fits. */
size_t e2e_pkt(const struct pkt_spec *spec, uint8_t *buf, size_t cap,
	       struct pkt_layout *layout);
/** A packet of @f's IP version, protocol @proto to port @dport, 20 bytes
 * of payload, in @pkt (PKT_MAX bytes). */
size_t e2e_port_pkt(const struct e2e_flavour *f, int proto, uint16_t dport,
		    uint8_t *pkt);

/** The flavour a test of e2e_run_tests() runs on (its cmocka state). */
static inline const struct e2e_flavour *e2e_state_flavour(void **state)
{
	return *state;
}

/* One e2e test, run on every flavour it applies to. */
struct e2e_test {
	const char *name;
	CMUnitTestFunction fn;
	/* NULL: every flavour. */
	bool (*applies)(const struct e2e_flavour *f);
};

/**
 * Run each of @tests on each flavour named in @flavours where it applies,
 * as the cmocka group @group, tests named "FLAVOUR/TEST"; E2E_FILTER=PATTERN
 * (cmocka wildcards) selects tests by name. Returns main()'s exit code.
 */
int e2e_run_tests(const char *group, const char *const *flavours,
		  size_t n_flavours, const struct e2e_test *tests,
		  size_t n_tests);
