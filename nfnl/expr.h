/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * nftables rule expressions <-> IR.
 *
 * bf_nft_exprs_to_ir() lowers the NFTA_RULE_EXPRESSIONS attribute of a
 * NEWRULE message to IR expressions; bf_nft_exprs_from_ir() appends the
 * NFTA_RULE_EXPRESSIONS attribute of a rule dump, byte for byte what
 * nf_tables dumps for the same rule. Each nf_tables expression kind has
 * its own file (nfnl/expr_<kind>.c) with one const ops table; this header
 * also declares what those files share. See
 * Documentation/nft-expressions.md.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/netlink.h>

#include <bpfilter/ir.h>

#include "nfnl/nlattr.h"

/* nf_tables refuses a rule with more expressions (NFT_RULE_MAXEXPRS). */
#define BF_NFT_RULE_MAXEXPRS 128

/**
 * Why a rule's expressions were refused.
 *
 * @attr is the NFTA_LIST_ELEM of the offending expression, or NULL when
 * the problem is the NFTA_RULE_EXPRESSIONS attribute as a whole: the
 * kernel reports exactly that attribute in NLMSGERR_ATTR_OFFS, and nft
 * underlines the statement that produced it only when the offset matches.
 * @inner is the precise attribute (for logs and tests). @msg is for the
 * extended ack message and logs.
 */
struct bf_nft_err {
	const struct nlattr *attr;
	const struct nlattr *inner;
	int err;
	char msg[256];
};

/**
 * Counter values for dumps. When set, @read is called for every counter
 * expression of the rule (@idx is the expression's index in the rule) and
 * its values are dumped instead of the IR's initial ones.
 */
struct bf_nft_dump_ctx {
	int (*read)(void *data, size_t idx, uint64_t *packets,
		    uint64_t *bytes);
	void *data;
};

/**
 * Lower the expressions of a NEWRULE message and append them to @rule.
 *
 * @exprs: the NFTA_RULE_EXPRESSIONS attribute, in bounds of its message.
 * @family: nfgen_family of the message (NFPROTO_*).
 * @rule: receives the expressions; on failure it may hold some of them
 *        (the caller frees the rule).
 * @err: filled on failure; may be NULL.
 *
 * @return 0; -EOPNOTSUPP for an expression (or a form of one) the IR does
 *         not support; -EINVAL for malformed input; -ENOMEM.
 */
int bf_nft_exprs_to_ir(const struct nlattr *exprs, int family,
		       struct bf_rule *rule, struct bf_nft_err *err);

/** A set a lookup names, as its resolver describes it. */
struct bf_nft_set_ref {
	char name[BF_NAME_MAX];
	uint32_t flags; /* NFT_SET_* */
	uint32_t klen;
	uint32_t dtype;
	uint32_t dlen;
	bool busy; /* anonymous and already bound to a rule */
};

/** How the rule's table resolves the sets its lookups name: by
 * NFTA_*_SET (a name), then by NFTA_*_SET_ID (a set of the same batch);
 * 0 or -ENOENT. */
struct bf_nft_sets {
	int (*find)(const struct bf_nft_sets *sets, const struct nlattr *name,
		    const struct nlattr *id, struct bf_nft_set_ref *out);
	void *data;
};

/** bf_nft_exprs_to_ir() with lookups resolved by @sets (NULL: a lookup
 * fails with -ENOENT). */
int bf_nft_exprs_to_ir_sets(const struct nlattr *exprs, int family,
			    const struct bf_nft_sets *sets,
			    struct bf_rule *rule, struct bf_nft_err *err);

/**
 * Append NFTA_RULE_EXPRESSIONS for @rule to @nlh, as nf_tables dumps it.
 *
 * @buflen: size of the buffer that starts at @nlh.
 * @ctx: counter values; NULL dumps the IR's counter values.
 *
 * @return 0; -EMSGSIZE when it does not fit (@nlh is then unchanged);
 *         -EINVAL for an IR expression nf_tables cannot express; an error
 *         from @ctx->read.
 */
int bf_nft_exprs_from_ir(struct nlmsghdr *nlh, size_t buflen,
			 const struct bf_rule *rule, int family,
			 const struct bf_nft_dump_ctx *ctx);

/* Shared by nfnl/expr*.c. */

/* Attribute types of the expressions, largest one known to 6.18 kernels
 * (attributes above it are ignored, as the kernel does). */
#define BF_NFT_ATTR_MAX 8

/* NFTA_BITWISE_SREG2 (6.13+), not in the build host's 6.12 headers. */
#define BF_NFTA_BITWISE_SREG2 8

struct bf_nft_pctx {
	int family;
	const struct nlattr *elem; /* the NFTA_LIST_ELEM being parsed */
	const struct nlattr *data; /* its NFTA_EXPR_DATA (never NULL) */
	struct bf_nft_err *err;
	const struct bf_nft_sets *sets; /* NULL: no set can be named */
};

struct bf_nft_expr_ops {
	const char *name;
	/* Policy of NFTA_EXPR_DATA, indexed by attribute type 0..max_attr. */
	const struct bf_nla_policy *policy;
	unsigned int max_attr;
	/* Lower one nf_tables expression to one IR expression. */
	int (*parse)(const struct bf_nft_pctx *ctx,
		     const struct nlattr *const *tb, struct bf_expr *expr);
	/* Append NFTA_EXPR_DATA's attributes for @expr (counter: current
	 * packets and bytes); -EINVAL for a field nf_tables cannot express.
	 * Space errors stick in @b. */
	int (*dump)(struct bf_nlb *b, const struct bf_expr *expr,
		    const uint64_t counter[2]);
};

extern const struct bf_nft_expr_ops bf_nft_payload_ops;
extern const struct bf_nft_expr_ops bf_nft_meta_ops;
extern const struct bf_nft_expr_ops bf_nft_cmp_ops;
extern const struct bf_nft_expr_ops bf_nft_bitwise_ops;
extern const struct bf_nft_expr_ops bf_nft_byteorder_ops;
extern const struct bf_nft_expr_ops bf_nft_range_ops;
extern const struct bf_nft_expr_ops bf_nft_immediate_ops;
extern const struct bf_nft_expr_ops bf_nft_counter_ops;
extern const struct bf_nft_expr_ops bf_nft_lookup_ops;
extern const struct bf_nft_expr_ops bf_nft_ct_ops;

/** Record an error (attribute: @inner, or the expression) and return
 * @errnum. */
int bf_nft_fail(const struct bf_nft_pctx *ctx, const struct nlattr *inner,
		int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/** -EINVAL naming the missing attribute of the expression. */
int bf_nft_fail_missing(const struct bf_nft_pctx *ctx, const char *what);

/**
 * Registers. A source register must point at @len bytes of the register
 * file; a destination the same, and NFT_REG_VERDICT is never accepted
 * here (the immediate expression handles the verdict register itself).
 * Stores the IR register (32-bit word 0..15).
 */
int bf_nft_parse_reg(const struct bf_nft_pctx *ctx, const struct nlattr *attr,
		     unsigned int len, uint8_t *reg);
/** The netlink register number nf_tables dumps for IR register @reg. */
uint32_t bf_nft_reg_to_nft(uint8_t reg);

/** The NFTA_DATA_VERDICT nest @attr {CODE, CHAIN} as a verdict
 * expression: -EOPNOTSUPP for queue and break, -EINVAL otherwise. */
int bf_nft_parse_verdict(const struct bf_nft_pctx *ctx,
			 const struct nlattr *attr, struct bf_expr *expr);
/** nf_tables' code of IR verdict @code. */
int32_t bf_nft_verdict_code(enum bf_verdict code);

/** NFTA_DATA_VALUE inside the nest @attr, 1..BF_DATA_MAX bytes. */
int bf_nft_parse_value(const struct bf_nft_pctx *ctx,
		       const struct nlattr *attr, struct bf_data *data);
/** Append nest @type holding NFTA_DATA_VALUE with @data. */
void bf_nft_dump_value(struct bf_nlb *b, uint16_t type,
		       const struct bf_data *data);
