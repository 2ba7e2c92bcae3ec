/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The nftables front-end (NFNL_SUBSYS_NFTABLES): one world per network
 * namespace (tables, chains, rules, handles, generation id), batches as
 * transactions, dumps byte-identical to nf_tables', base chains compiled
 * and attached in the client's netns. Documentation/nft.md.
 *
 *   nft_world.c   the objects, lookups, copies for transactions
 *   nft_msg.c     the handler: dispatch, batches, NEW and DEL messages
 *   nft_dump.c    GET requests, dumps, object messages (also for echo and
 *                 monitor events)
 *   nft_commit.c  a commit: the dirty tables lowered to IR and handed to
 *                 the ruleset core (daemon/ruleset.h)
 */
#pragma once

#include <linux/netlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <bpfilter/ir.h>

#include "nfnl/nlattr.h"
#include "nfnl/transport.h"

#define BF_NFT_NAME_MAX 256 /* NFT_NAME_MAXLEN, NUL included */
#define BF_NFT_UDATA_MAX 256 /* NFT_USERDATA_MAXLEN */
#define BF_NFT_TYPE_MAX 16
/* Dump datagrams: about NLMSG_GOODSIZE, as the kernel sends them. */
#define BF_NFT_DGRAM_SIZE 3776

struct bf_netns_ctx;
struct bf_rs_chain;

/** A rule: immutable once built, shared (refcounted) between world copies. */
struct bf_nft_rule {
	unsigned int refcnt;
	uint64_t handle;
	struct bf_rule *ir;
	bool jumps; /* has a jump or goto (bf_nft_chain_use()) */
	uint8_t *udata;
	uint16_t udlen;
};

struct bf_nft_chain {
	char name[BF_NFT_NAME_MAX];
	uint64_t handle;
	/* NFTA_CHAIN_ID of the batch that created it (0: none). */
	uint32_t id;
	bool base;
	uint32_t hooknum;
	int32_t prio;
	uint32_t policy; /* NF_ACCEPT or NF_DROP */
	char type[BF_NFT_TYPE_MAX];
	char dev[16]; /* netdev only, "" if none */
	uint32_t flags; /* NFTA_CHAIN_FLAGS as the kernel dumps them */
	uint8_t *udata;
	uint16_t udlen;
	struct bf_nft_rule **rules;
	size_t n_rules;
	size_t cap_rules;
	/* The ruleset core's handle (base chains): shared by the copies of a
	 * world, owned by the committed one. */
	struct bf_rs_chain *rs;
	/* Transaction only: the last message that changed the chain. */
	const struct nlmsghdr *last_nlh;
	/* Restore only: the core's description of the chain's pinned
	 * programs (bf_rs_base.adopt), freed once committed. */
	uint8_t *adopt;
	size_t adopt_len;
};

/* Longest key or data of a set element (NFT_DATA_VALUE_MAXLEN). */
#define BF_NFT_SET_DATA_MAX 64
/* Longest concatenation (NFT_REG32_COUNT fields). */
#define BF_NFT_SET_FIELDS_MAX 16

/** A set element: immutable once built, shared between world copies. */
struct bf_nft_elem {
	unsigned int refcnt;
	uint8_t key[BF_NFT_SET_DATA_MAX]; /* set->klen bytes */
	uint8_t key_end[BF_NFT_SET_DATA_MAX];
	bool has_key_end;
	/* Maps: a value (set->dlen bytes) or, for verdict maps
	 * (set->dtype NFT_DATA_VERDICT), a verdict. */
	bool has_data;
	uint8_t data[BF_NFT_SET_DATA_MAX];
	enum bf_verdict verdict;
	char chain[BF_NFT_NAME_MAX]; /* JUMP / GOTO */
	uint32_t flags; /* NFTA_SET_ELEM_FLAGS (0: not dumped) */
	uint8_t *udata;
	uint16_t udlen;
};

/** A set (nf_tables_newset()): its description and elements. */
struct bf_nft_set {
	char name[BF_NFT_NAME_MAX];
	uint64_t handle;
	/* NFTA_SET_ID of the batch that created it (0 outside of it). */
	uint32_t id;
	uint32_t flags; /* NFT_SET_* */
	uint32_t ktype, klen;
	uint32_t dtype, dlen; /* NFT_SET_MAP */
	uint32_t policy;
	uint32_t size; /* NFTA_SET_DESC_SIZE, 0: none */
	uint8_t field_len[BF_NFT_SET_FIELDS_MAX]; /* NFTA_SET_DESC_CONCAT */
	uint8_t field_count;
	uint8_t *udata;
	uint16_t udlen;
	struct bf_nft_elem **elems; /* no order (a removal moves the last) */
	size_t n_elems;
	size_t cap_elems;
	/* Open addressing by (key, interval-end flag), linear probing:
	 * element index + 1, 0 for an empty slot; index_cap a power of 2,
	 * at least twice n_elems (0: no index yet). */
	uint32_t *index;
	size_t index_cap;
	/* Transaction only: the last message that changed the set. */
	const struct nlmsghdr *last_nlh;
};

/* NFT_TABLE_F_DORMANT: the table's base chains are not hooked. */
#define BF_NFT_TABLE_F_DORMANT 0x1

struct bf_nft_table {
	int family;
	char name[BF_NFT_NAME_MAX];
	uint64_t handle;
	uint32_t flags;
	uint8_t *udata;
	uint16_t udlen;
	/* Handle generator of chains and rules (table->hgenerator). */
	uint64_t hgen;
	struct bf_nft_chain **chains;
	size_t n_chains;
	size_t cap_chains;
	/* Sets in creation order (dump order), anonymous ones included. */
	struct bf_nft_set **sets;
	size_t n_sets;
	size_t cap_sets;
	/* Transaction only: base chains need a recompile; the flags were
	 * changed (once per transaction, as the kernel allows). */
	bool dirty;
	bool flags_updated;
};

struct bf_nft_world {
	uint32_t genid;
	uint64_t table_handle;
	struct bf_nft_table **tables;
	size_t n_tables;
	size_t cap_tables;
};

/* nft_world.c */
int bf_nft_world_new(struct bf_nft_world **out);
/** Free a world; @detach also frees the attach state of its chains. */
void bf_nft_world_free(struct bf_nft_world **world, bool detach);
/** Copy for a transaction: rules and attach state are shared. */
int bf_nft_world_clone(const struct bf_nft_world *src,
		       struct bf_nft_world **out);

struct bf_nft_table *bf_nft_table_find(const struct bf_nft_world *w,
				       int family, const char *name);
struct bf_nft_table *bf_nft_table_find_handle(const struct bf_nft_world *w,
					      int family, uint64_t handle);
int bf_nft_table_add(struct bf_nft_world *w, struct bf_nft_table *t);
void bf_nft_table_remove(struct bf_nft_world *w, struct bf_nft_table *t);
void bf_nft_table_free(struct bf_nft_table **t, bool detach);

struct bf_nft_chain *bf_nft_chain_find(const struct bf_nft_table *t,
				       const char *name);
struct bf_nft_chain *bf_nft_chain_find_handle(const struct bf_nft_table *t,
					      uint64_t handle);
int bf_nft_chain_add(struct bf_nft_table *t, struct bf_nft_chain *c);
void bf_nft_chain_remove(struct bf_nft_table *t, struct bf_nft_chain *c);
void bf_nft_chain_free(struct bf_nft_chain **c, bool detach);
/** chain->use as the kernel counts it: rules plus jumps into the chain. */
uint32_t bf_nft_chain_use(const struct bf_nft_table *t,
			  const struct bf_nft_chain *c);

struct bf_nft_set *bf_nft_set_find(const struct bf_nft_table *t,
				   const char *name);
struct bf_nft_set *bf_nft_set_find_handle(const struct bf_nft_table *t,
					  uint64_t handle);
/** The set created in this batch with NFTA_SET_ID @id, or NULL. */
struct bf_nft_set *bf_nft_set_find_id(const struct bf_nft_table *t,
				      uint32_t id);
int bf_nft_set_add(struct bf_nft_table *t, struct bf_nft_set *s);
void bf_nft_set_remove(struct bf_nft_table *t, struct bf_nft_set *s);
void bf_nft_set_free(struct bf_nft_set **s);
void bf_nft_elem_put(struct bf_nft_elem **e);
/** Lookups of set @name in the rules of @t (set->use, for EBUSY). */
uint32_t bf_nft_set_use(const struct bf_nft_table *t, const char *name);
/** Index of the element of @s with key @key (and the interval-end flag of
 * @flags), or -1. */
ssize_t bf_nft_elem_find(const struct bf_nft_set *s, const uint8_t *key,
			 uint32_t flags);
int bf_nft_elem_insert(struct bf_nft_set *s, struct bf_nft_elem *e);
void bf_nft_elem_remove_at(struct bf_nft_set *s, size_t pos);

/** Index of the rule with @handle in @c, or -1. */
ssize_t bf_nft_rule_find(const struct bf_nft_chain *c, uint64_t handle);
/** Insert @r at index @pos (taking the caller's reference). */
int bf_nft_rule_insert(struct bf_nft_chain *c, size_t pos,
		       struct bf_nft_rule *r);
void bf_nft_rule_remove_at(struct bf_nft_chain *c, size_t pos);
void bf_nft_rule_put(struct bf_nft_rule **r);
/* Jumps and gotos of @ir to chain @name (NULL: to any chain). */
uint32_t bf_nft_ir_jumps(const struct bf_rule *ir, const char *name);
/* A copy of @src whose jumps and gotos to chain @from go to @to (a chain
 * renamed: shared rules are not changed). */
int bf_nft_rule_retarget(const struct bf_nft_rule *src, const char *from,
			 const char *to, struct bf_nft_rule **out);

/**
 * Split the attributes of message @nlh (after its nfgenmsg) into
 * @tb[0..@max], checked against @policy: -EINVAL with *@bad set otherwise.
 */
int bf_nft_parse_msg(const struct nlmsghdr *nlh,
		     const struct bf_nla_policy *policy, unsigned int max,
		     const struct nlattr **tb, const struct nlattr **bad);

/** Copy a string attribute (max @size - 1 characters): -EINVAL if longer. */
int bf_nft_attr_str(const struct nlattr *a, char *buf, size_t size);

/* nft_dump.c */
struct bf_nft_req {
	struct bf_nfnl_conn *conn;
	struct bf_nft_world *world;
	uint32_t portid;
	uint32_t pid; /* the client process, for NEWGEN */
};

/** Answer a non-batch request of the nftables subsystem. */
int bf_nft_get(const struct bf_nft_req *req, const struct nlmsghdr *nlh);

/**
 * Object messages (replies, dumps, events). Each appends one message at
 * @nlh (@buflen bytes available) and returns 0 or -EMSGSIZE. A rule
 * dumped (@dump) carries current counters and the previous rule's handle;
 * an event the IR's counters and a position only in mid-chain.
 */
int bf_nft_fill_table(struct nlmsghdr *nlh, size_t buflen, uint16_t event,
		      uint16_t flags, uint32_t portid, uint32_t seq,
		      uint32_t genid, const struct bf_nft_table *t);
int bf_nft_fill_chain(struct nlmsghdr *nlh, size_t buflen, uint16_t event,
		      uint16_t flags, uint32_t portid, uint32_t seq,
		      uint32_t genid, const struct bf_nft_table *t,
		      const struct bf_nft_chain *c);
int bf_nft_fill_rule(struct nlmsghdr *nlh, size_t buflen, uint16_t event,
		     uint16_t flags, uint32_t portid, uint32_t seq,
		     uint32_t genid, const struct bf_nft_table *t,
		     const struct bf_nft_chain *c, size_t idx, bool dump);
int bf_nft_fill_set(struct nlmsghdr *nlh, size_t buflen, uint16_t event,
		    uint16_t flags, uint32_t portid, uint32_t seq,
		    uint32_t genid, const struct bf_nft_table *t,
		    const struct bf_nft_set *s);
/**
 * One NEWSETELEM/DELSETELEM message of set @s holding elements
 * [*@pos, @end) that fit; *@pos is moved past them. -EMSGSIZE when not
 * even one fits.
 */
int bf_nft_fill_setelems(struct nlmsghdr *nlh, size_t buflen, uint16_t event,
			 uint16_t flags, uint32_t portid, uint32_t seq,
			 uint32_t genid, const struct bf_nft_table *t,
			 const struct bf_nft_set *s,
			 const struct bf_nft_elem *const *elems, size_t *pos,
			 size_t end);
int bf_nft_fill_gen(struct nlmsghdr *nlh, size_t buflen, uint32_t portid,
		    uint32_t seq, uint32_t genid, uint32_t pid);

/* nft_commit.c */
/**
 * Commit the dirty tables of @next in netns @ctx through the ruleset core
 * (bf_ruleset_commit()); free the handles of the base chains of @prev that
 * are gone from @next. On failure nothing changed: *@bad_nlh names the
 * message to blame (may stay NULL) and @msg says why.
 */
int bf_nft_commit(struct bf_netns_ctx *ctx, struct bf_nft_world *prev,
		  struct bf_nft_world *next, const struct nlmsghdr **bad_nlh,
		  char *msg, size_t msglen);
/** Sum of the current values of counter @expr of rule @rule (index) of
 * chain @c over the programs of every base chain of table @t, read through
 * the ruleset core: -ENOENT when none has it. */
int bf_nft_counter(const struct bf_nft_table *t, const struct bf_nft_chain *c,
		   size_t rule, size_t expr, uint64_t *packets,
		   uint64_t *bytes);

/* nft_msg.c: transactions */

struct bf_nft_ack {
	const struct nlmsghdr *nlh;
	int err;
	const struct nlattr *bad;
	char *msg;
};

struct bf_nft_event {
	uint8_t *buf;
	size_t len;
	bool echo; /* unicast to the requester too (NLM_F_ECHO) */
};

struct bf_nft_txn {
	struct bf_nfnl_conn *conn;
	struct bf_netns_ctx *ctx;
	/* The committed world and the copy the batch works on. */
	struct bf_nft_world *old;
	struct bf_nft_world *w;
	uint32_t portid;
	uint32_t pid;
	bool changed;
	bool failed;
	int refused; /* the commit's errno, 0 if it was not refused */
	/* Replies (ACKs and errors), in message order, sent at the end. */
	struct bf_nft_ack *acks;
	size_t n_acks;
	size_t cap_acks;
	/* Monitor events, sent on commit. */
	struct bf_nft_event *events;
	size_t n_events;
	size_t cap_events;
};

/** One batch message being processed. */
struct bf_nft_op {
	struct bf_nft_txn *txn;
	const struct nlmsghdr *nlh;
	int family;
	/* Set on failure: the attribute to blame and a message. */
	const struct nlattr *bad;
	char msg[256];
};

/** Queue a monitor event (copied). */
int bf_nft_txn_event(struct bf_nft_txn *txn, const void *msg, size_t len,
		     bool echo);

/* nft_obj.c */
/** Apply one batch message to op->txn->w: 0 or a negative errno. */
int bf_nft_obj_msg(struct bf_nft_op *op);

/* nft_persist.c: the world as bytes (daemon/front.h, netns_serialize and
 * netns_restore) */
int bf_nft_serialize(const void *state,
		     int (*put)(void *sink, const void *buf, size_t len),
		     void *sink);
int bf_nft_restore(struct bf_netns_ctx *ctx, const void *buf, size_t len,
		   void **state);
/** Rebuild world @w (new, empty) from state bytes, without committing:
 * 0, or -EBADMSG / a handler's error with @why saying what is wrong.
 * For bf_nft_restore() and the fuzz target. */
int bf_nft_parse_state(struct bf_nft_world *w, const void *buf, size_t len,
		       char *why, size_t whylen);

/* nft_msg.c */
/** The NFT subsystem's handler of NL_SEND datagrams (a bf_nfnl_handler_fn);
 * the front-end's ops are bf_nft_front (daemon/front.h). */
int bf_nft_handler(struct bf_nfnl_conn *conn, const void *buf, size_t len);
