/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Internals shared by the object handlers of a batch (nft_obj.c,
 * nft_table.c, nft_chain.c, nft_rule.c). Each handler applies one message
 * to op->txn->w and returns 0 or a negative errno, with op->bad and
 * op->msg set by bf_nft_op_fail() on failure.
 */
#pragma once

#include <linux/netfilter/nf_tables.h>
#include <stddef.h>
#include <stdint.h>

#include "nfnl/nft.h"

/** Fail @op with @err, blaming attribute @bad (may be NULL) and saying
 * @fmt (may be NULL). Returns @err. */
int bf_nft_op_fail(struct bf_nft_op *op, const struct nlattr *bad, int err,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/** "ip", "ip6", "inet", ... for messages. */
const char *bf_nft_family_str(int family);

/** The families served: -EOPNOTSUPP with a message for arp and bridge,
 * -EAFNOSUPPORT for the others. */
int bf_nft_check_family(struct bf_nft_op *op);

/** Copy user data attribute @a (NULL: nothing) into *@data, *@len. */
int bf_nft_udata(const struct nlattr *a, uint8_t **data, uint16_t *len);

/**
 * Queue the monitor event of @event on table @t (@c NULL), chain @c
 * (@idx SIZE_MAX) or rule @idx of @c, as nf_tables_*_notify() build them.
 */
int bf_nft_notify(struct bf_nft_op *op, uint16_t event,
		  const struct bf_nft_table *t, const struct bf_nft_chain *c,
		  size_t idx);

/** The table named by attribute @name in op's family; NULL with *@err. */
struct bf_nft_table *bf_nft_op_table(struct bf_nft_op *op,
				     const struct nlattr *name, int *err);

/* nft_table.c */
extern const struct bf_nla_policy bf_nft_table_pol[NFTA_TABLE_MAX + 1];
int bf_nft_newtable(struct bf_nft_op *op, const struct nlattr **tb);
int bf_nft_deltable(struct bf_nft_op *op, const struct nlattr **tb);

/* nft_chain.c */
extern const struct bf_nla_policy bf_nft_chain_pol[NFTA_CHAIN_MAX + 1];
int bf_nft_newchain(struct bf_nft_op *op, const struct nlattr **tb);
int bf_nft_delchain(struct bf_nft_op *op, const struct nlattr **tb);
/** Delete every rule of @c (the chain stays). */
int bf_nft_flush_chain(struct bf_nft_op *op, struct bf_nft_table *t,
		       struct bf_nft_chain *c);
int bf_nft_delchain_obj(struct bf_nft_op *op, struct bf_nft_table *t,
			struct bf_nft_chain *c);

/* nft_rule.c */
extern const struct bf_nla_policy bf_nft_rule_pol[NFTA_RULE_MAX + 1];
int bf_nft_newrule(struct bf_nft_op *op, const struct nlattr **tb);
int bf_nft_delrule(struct bf_nft_op *op, const struct nlattr **tb);
/** Delete rule @idx of @c, with its event. */
int bf_nft_delrule_at(struct bf_nft_op *op, struct bf_nft_table *t,
		      struct bf_nft_chain *c, size_t idx);

/* nft_set.c */
extern const struct bf_nla_policy bf_nft_set_pol[NFTA_SET_MAX + 1];
extern const struct bf_nla_policy
	bf_nft_setelem_list_pol[NFTA_SET_ELEM_LIST_MAX + 1];
int bf_nft_newset(struct bf_nft_op *op, const struct nlattr **tb);
int bf_nft_delset(struct bf_nft_op *op, const struct nlattr **tb);
int bf_nft_delset_obj(struct bf_nft_op *op, struct bf_nft_table *t,
		      struct bf_nft_set *s);
int bf_nft_newsetelem(struct bf_nft_op *op, const struct nlattr **tb);
int bf_nft_delsetelem(struct bf_nft_op *op, const struct nlattr **tb);
int bf_nft_flush_set(struct bf_nft_op *op, struct bf_nft_table *t,
		     struct bf_nft_set *s);
/** Free the anonymous sets of @t that rule @ir (just removed) was the
 * last to look up. */
void bf_nft_unbind_sets(struct bf_nft_table *t, const struct bf_rule *ir);
struct bf_nft_sets;
/** The lookup resolver of the rules of @t. */
void bf_nft_sets_of(const struct bf_nft_table *t, struct bf_nft_sets *out);
