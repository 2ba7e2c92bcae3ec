/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bpfilter intermediate representation.
 *
 * A register machine close to the nf_tables VM: a rule is a list of
 * expressions over a 64-byte register file (16 x 32-bit registers, the
 * NFT_REG32_00..15 view; a value of N bytes starting at register r occupies
 * registers r .. r + ceil(N/4) - 1). Every front-end (nft, iptables, bfcli)
 * lowers to this; codegen/ compiles it to eBPF.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define BF_NAME_MAX 256
#define BF_IFNAME_MAX 16
#define BF_DATA_MAX 16
#define BF_REG_COUNT 16 /* 32-bit registers */
#define BF_REG_BYTES (BF_REG_COUNT * 4)
/* Nested jumps from a base chain: the kernel's jump stack holds
 * NFT_JUMP_STACK_SIZE (16) chains including the base chain, so nft
 * refuses a 16th nested jump with EMLINK ("Too many links"), measured. */
#define BF_JUMP_DEPTH_MAX 15
#define BF_PAYLOAD_OFFSET_MAX 255 /* nft_payload: U8_MAX */

enum bf_family {
	BF_FAMILY_IP, /* IPv4 only */
	BF_FAMILY_IP6, /* IPv6 only */
	BF_FAMILY_INET, /* IPv4 and IPv6 */
	BF_FAMILY_NETDEV, /* any link-layer frame */
	_BF_FAMILY_MAX,
};

enum bf_hook {
	BF_HOOK_XDP,
	BF_HOOK_TC_INGRESS,
	BF_HOOK_TC_EGRESS,
	BF_HOOK_NF_PRE_ROUTING,
	BF_HOOK_NF_LOCAL_IN,
	BF_HOOK_NF_FORWARD,
	BF_HOOK_NF_LOCAL_OUT,
	BF_HOOK_NF_POST_ROUTING,
	BF_HOOK_CGROUP_SKB_INGRESS,
	BF_HOOK_CGROUP_SKB_EGRESS,
	_BF_HOOK_MAX,
};

enum bf_verdict {
	BF_VERDICT_ACCEPT,
	BF_VERDICT_DROP,
	BF_VERDICT_CONTINUE,
	BF_VERDICT_RETURN,
	BF_VERDICT_JUMP,
	BF_VERDICT_GOTO,
	_BF_VERDICT_MAX,
};

enum bf_payload_base {
	BF_PAYLOAD_LL, /* link layer header (Ethernet) */
	BF_PAYLOAD_NH, /* network header (IPv4/IPv6) */
	BF_PAYLOAD_TH, /* transport header */
	_BF_PAYLOAD_MAX,
};

enum bf_meta_key {
	BF_META_LEN, /* u32 host order */
	BF_META_PROTOCOL, /* u16 network order (ethertype) */
	BF_META_NFPROTO, /* u8 (NFPROTO_IPV4 = 2, NFPROTO_IPV6 = 10) */
	BF_META_L4PROTO, /* u8 */
	BF_META_MARK, /* u32 host order */
	BF_META_IIF, /* u32 host order ifindex */
	BF_META_OIF, /* u32 host order ifindex */
	BF_META_IIFNAME, /* 16 bytes, NUL padded */
	BF_META_OIFNAME, /* 16 bytes, NUL padded */
	BF_META_IIFTYPE, /* u16 host order (ARPHRD_*) */
	BF_META_OIFTYPE, /* u16 host order (ARPHRD_*) */
	BF_META_PKTTYPE, /* u8 (PACKET_HOST, ...) */
	BF_META_SKUID, /* u32 host order */
	BF_META_SKGID, /* u32 host order */
	BF_META_PRIORITY, /* u32 host order (skb->priority, a tc handle) */
	_BF_META_MAX,
};

enum bf_cmp_op {
	BF_CMP_EQ,
	BF_CMP_NEQ,
	BF_CMP_LT,
	BF_CMP_LTE,
	BF_CMP_GT,
	BF_CMP_GTE,
	_BF_CMP_MAX,
};

enum bf_range_op {
	BF_RANGE_EQ,
	BF_RANGE_NEQ,
	_BF_RANGE_MAX,
};

enum bf_bitwise_op {
	BF_BITWISE_BOOL, /* dreg = (sreg & mask) ^ xor */
	BF_BITWISE_LSHIFT, /* dreg = sreg << shift, on 32-bit host-order words */
	BF_BITWISE_RSHIFT, /* dreg = sreg >> shift, on 32-bit host-order words */
	_BF_BITWISE_MAX,
};

enum bf_byteorder_op {
	BF_BYTEORDER_NTOH,
	BF_BYTEORDER_HTON,
	_BF_BYTEORDER_MAX,
};

/* Conntrack keys (nft_ct): the kernel's conntrack entry of the packet. */
enum bf_ct_key {
	BF_CT_STATE, /* u32 host order: NF_CT_STATE_*_BIT, any packet */
	BF_CT_DIRECTION, /* u8: IP_CT_DIR_ORIGINAL 0 / REPLY 1 */
	BF_CT_STATUS, /* u32 host order: IPS_* */
	BF_CT_MARK, /* u32 host order */
	BF_CT_EXPIRATION, /* u32 host order, milliseconds left */
	BF_CT_L3PROTO, /* u8: NFPROTO_IPV4 / NFPROTO_IPV6 */
	BF_CT_PROTOCOL, /* u8: IPPROTO_* */
	BF_CT_ZONE, /* u16 host order */
	BF_CT_SRC, /* 4 (ip) or 16 (ip6, inet) bytes: tuple address */
	BF_CT_DST,
	BF_CT_PROTO_SRC, /* u16 network order: tuple port / id */
	BF_CT_PROTO_DST,
	BF_CT_SRC_IP, /* 4 bytes, IPv4 entries only */
	BF_CT_DST_IP,
	BF_CT_SRC_IP6, /* 16 bytes, IPv6 entries only */
	BF_CT_DST_IP6,
	_BF_CT_MAX,
};

/* ct direction: original, reply, or none given (nft_ct's IP_CT_DIR_MAX). */
#define BF_CT_DIR_ORIGINAL 0
#define BF_CT_DIR_REPLY 1
#define BF_CT_DIR_NONE 2

/* NF_CT_STATE_*_BIT, as `ct state` compares them. */
#define BF_CT_STATE_INVALID 0x01
#define BF_CT_STATE_ESTABLISHED 0x02
#define BF_CT_STATE_RELATED 0x04
#define BF_CT_STATE_NEW 0x08
#define BF_CT_STATE_UNTRACKED 0x40

enum bf_expr_type {
	BF_EXPR_PAYLOAD,
	BF_EXPR_META,
	BF_EXPR_BITWISE,
	BF_EXPR_BYTEORDER,
	BF_EXPR_CMP,
	BF_EXPR_RANGE,
	BF_EXPR_IMMEDIATE,
	BF_EXPR_COUNTER,
	BF_EXPR_VERDICT,
	BF_EXPR_CT,
	BF_EXPR_META_SET,
	BF_EXPR_LOOKUP,
	BF_EXPR_VMAP,
	_BF_EXPR_MAX,
};

/* Constant bytes, in register (memory) order: network order for payload
 * values, host order for host-order meta keys, exactly as nf_tables. */
struct bf_data {
	uint8_t len;
	uint8_t bytes[BF_DATA_MAX];
};

struct bf_expr {
	enum bf_expr_type type;
	union {
		struct {
			enum bf_payload_base base;
			uint16_t offset;
			uint8_t len;
			uint8_t dreg;
		} payload;
		struct {
			enum bf_meta_key key;
			uint8_t dreg;
		} meta;
		struct {
			enum bf_bitwise_op op;
			uint8_t sreg;
			uint8_t dreg;
			uint8_t len;
			struct bf_data mask; /* BOOL */
			struct bf_data xor; /* BOOL */
			uint32_t shift; /* LSHIFT/RSHIFT, < 32 */
		} bitwise;
		struct {
			enum bf_byteorder_op op;
			uint8_t sreg;
			uint8_t dreg;
			uint8_t len; /* total bytes */
			uint8_t size; /* element size: 2, 4 or 8 */
		} byteorder;
		struct {
			enum bf_cmp_op op;
			uint8_t sreg;
			struct bf_data data;
		} cmp;
		struct {
			enum bf_range_op op;
			uint8_t sreg;
			struct bf_data from;
			struct bf_data to;
		} range;
		struct {
			uint8_t dreg;
			struct bf_data data;
		} immediate;
		struct {
			/* Initial values, carried over on replacement. */
			uint64_t packets;
			uint64_t bytes;
		} counter;
		struct {
			enum bf_verdict code;
			char chain[BF_NAME_MAX]; /* JUMP / GOTO target */
		} verdict;
		struct {
			enum bf_ct_key key;
			uint8_t dir; /* BF_CT_DIR_* */
			uint8_t dreg;
			uint8_t len; /* bytes written: bf_ct_key_len() */
		} ct;
		struct {
			enum bf_meta_key key; /* BF_META_MARK or BF_META_PRIORITY */
			uint8_t sreg; /* 4 bytes, host order */
		} meta_set;
		struct {
			/* A set of the table (bf_table_get_set()), keyed on
			 * len bytes from sreg: the rule goes on when the key
			 * is in the set (not in it, with invert). */
			char set[BF_NAME_MAX];
			uint8_t sreg;
			uint8_t len;
			bool invert;
		} lookup;
		struct {
			/* A verdict map of the table (BF_SET_F_VMAP): the
			 * verdict of the key's element decides, as a verdict
			 * expression would; no element: the rule does not
			 * match. */
			char set[BF_NAME_MAX];
			uint8_t sreg;
			uint8_t len;
		} vmap;
	};
};

struct bf_rule {
	/* Owners: bf_rule_get() adds one, bf_rule_free() drops one. A rule
	 * is not changed once shared. */
	unsigned int refcnt;
	/* Unique in the process (bf_rule_new()): the code generator tells
	 * the rules it compiled from later ones by it. */
	uint64_t serial;
	/* What counters follow across recompiles (carried over, kept in
	 * their slots): bf_rule_new() sets the serial; a copy standing for
	 * the same rule keeps it (the nft front-end retargeting a jump to a
	 * renamed chain), and a front-end that builds its rules again for
	 * each change may set its own ids, unique in the table (the rules'
	 * handles, say). nft: a rule replaced by another, same handle,
	 * starts from its own counters, as in nf_tables. */
	uint64_t id;
	uint64_t handle;
	struct bf_expr *exprs;
	size_t n_exprs;
	size_t cap_exprs;
};

struct bf_chain {
	char name[BF_NAME_MAX];
	bool base;
	/* Base chains only. */
	enum bf_hook hook;
	int32_t priority;
	enum bf_verdict policy; /* ACCEPT or DROP */
	char ifname[BF_IFNAME_MAX]; /* XDP / TC */
	char cgroup[BF_NAME_MAX]; /* CGROUP_SKB_*: cgroup v2 path */
	struct bf_rule **rules;
	size_t n_rules;
	size_t cap_rules;
};

/* Elements are prefixes (key, prefix length in bits): a longest-prefix
 * match; else exact keys. */
#define BF_SET_F_PREFIX 0x1u
/* A verdict map: each key has a verdict (BF_EXPR_VMAP). */
#define BF_SET_F_VMAP 0x2u
#define BF_SET_KEY_MAX BF_REG_BYTES

/* A verdict of a verdict map; chain: JUMP / GOTO target. */
struct bf_set_verdict {
	enum bf_verdict code;
	char chain[BF_NAME_MAX];
};

/* A set of keys looked up by BF_EXPR_LOOKUP: every key is key_len bytes
 * in register order (a concatenation: each field padded to 4 bytes, as
 * nf_tables puts them in consecutive registers). */
struct bf_set {
	char name[BF_NAME_MAX];
	uint8_t key_len; /* 1..BF_SET_KEY_MAX */
	uint32_t flags; /* BF_SET_F_* */
	uint8_t *keys; /* n * key_len bytes */
	uint8_t *prefix; /* BF_SET_F_PREFIX: n prefix lengths, in bits */
	/* BF_SET_F_VMAP: per key an index into verdicts, the distinct
	 * verdicts sorted (code, then chain), so that the same verdicts give
	 * the same table whatever the elements' order. */
	uint32_t *values;
	struct bf_set_verdict *verdicts;
	size_t n_verdicts;
	size_t n;
	size_t cap;
};

struct bf_table {
	char name[BF_NAME_MAX];
	enum bf_family family;
	struct bf_chain **chains;
	size_t n_chains;
	size_t cap_chains;
	struct bf_set **sets;
	size_t n_sets;
	size_t cap_sets;
};

/* Names of enum values (static tables, checked against the enums). */
const char *bf_family_to_str(enum bf_family family);
const char *bf_hook_to_str(enum bf_hook hook);
const char *bf_verdict_to_str(enum bf_verdict verdict);
const char *bf_payload_base_to_str(enum bf_payload_base base);
const char *bf_meta_key_to_str(enum bf_meta_key key);
const char *bf_cmp_op_to_str(enum bf_cmp_op op);
const char *bf_expr_type_to_str(enum bf_expr_type type);
const char *bf_ct_key_to_str(enum bf_ct_key key);

/**
 * Length in bytes of the value a meta key loads.
 */
unsigned int bf_meta_key_len(enum bf_meta_key key);

/**
 * Length in bytes of the value a ct key loads in a table of @family
 * (BF_CT_SRC / BF_CT_DST: 4 in an ip table, else 16, as nft_ct); 0 for a
 * key out of range.
 */
unsigned int bf_ct_key_len(enum bf_ct_key key, enum bf_family family);

/** True if @hook is a netfilter hook (NF_*). */
bool bf_hook_is_nf(enum bf_hook hook);

/* Data helpers. */
void bf_data_set(struct bf_data *data, const void *bytes, size_t len);
void bf_data_u8(struct bf_data *data, uint8_t v);
void bf_data_be16(struct bf_data *data, uint16_t v); /* network order */
void bf_data_be32(struct bf_data *data, uint32_t v); /* network order */
void bf_data_u32(struct bf_data *data, uint32_t v); /* host order */
void bf_data_str(struct bf_data *data, const char *s, size_t len);

/* Expressions: fill-in helpers (return the expression by value). */
struct bf_expr bf_expr_payload(enum bf_payload_base base, uint16_t offset,
			       uint8_t len, uint8_t dreg);
struct bf_expr bf_expr_meta(enum bf_meta_key key, uint8_t dreg);
struct bf_expr bf_expr_cmp(enum bf_cmp_op op, uint8_t sreg,
			   const struct bf_data *data);
struct bf_expr bf_expr_range(enum bf_range_op op, uint8_t sreg,
			     const struct bf_data *from,
			     const struct bf_data *to);
struct bf_expr bf_expr_bitwise_bool(uint8_t sreg, uint8_t dreg, uint8_t len,
				    const struct bf_data *mask,
				    const struct bf_data *xor);
struct bf_expr bf_expr_bitwise_shift(enum bf_bitwise_op op, uint8_t sreg,
				     uint8_t dreg, uint8_t len, uint32_t shift);
struct bf_expr bf_expr_byteorder(enum bf_byteorder_op op, uint8_t sreg,
				 uint8_t dreg, uint8_t len, uint8_t size);
struct bf_expr bf_expr_immediate(uint8_t dreg, const struct bf_data *data);
struct bf_expr bf_expr_counter(void);
struct bf_expr bf_expr_verdict(enum bf_verdict code, const char *chain);
/* Set packet metadata @key (mark, priority) from register @sreg. */
struct bf_expr bf_expr_meta_set(enum bf_meta_key key, uint8_t sreg);
/* ct load of @key (direction BF_CT_DIR_*), @len bytes (bf_ct_key_len()). */
struct bf_expr bf_expr_ct(enum bf_ct_key key, uint8_t dir, uint8_t dreg,
			  uint8_t len);
struct bf_expr bf_expr_lookup(const char *set, uint8_t sreg, uint8_t len,
			      bool invert);
struct bf_expr bf_expr_vmap(const char *set, uint8_t sreg, uint8_t len);

/*
 * What an expression does, from its kind's descriptor (lib/expr_desc.c).
 * For validated IR: an expression of an unknown type is a programmer error
 * (an assertion; without assertions, the answer that cannot miscompile).
 */

/**
 * Registers @e reads: @len bytes from register @reg.
 * @return false when it reads none (@reg and @len untouched).
 */
bool bf_expr_reads(const struct bf_expr *e, unsigned int *reg,
		   unsigned int *len);
/** Registers @e writes, as bf_expr_reads(). */
bool bf_expr_writes(const struct bf_expr *e, unsigned int *reg,
		    unsigned int *len);
/**
 * True if @e only loads, computes or tests: it may be evaluated once for
 * several rules. Counters and verdicts are not pure.
 */
bool bf_expr_is_pure(const struct bf_expr *e);
/** True if @a and @b are of the same type and mean the same. */
bool bf_expr_equal(const struct bf_expr *a, const struct bf_expr *b);

/* Rules. */
int bf_rule_new(struct bf_rule **rule);
/* Another owner for @rule (a chain of a table built for the code
 * generator, say): returns @rule. */
struct bf_rule *bf_rule_get(struct bf_rule *rule);
void bf_rule_free(struct bf_rule **rule);
int bf_rule_add_expr(struct bf_rule *rule, const struct bf_expr *expr);

/* Chains. */
int bf_chain_new(struct bf_chain **chain, const char *name);
int bf_chain_new_base(struct bf_chain **chain, const char *name,
		      enum bf_hook hook, int32_t priority,
		      enum bf_verdict policy);
void bf_chain_free(struct bf_chain **chain);
/** Take ownership of *rule (set to NULL on success). */
int bf_chain_add_rule(struct bf_chain *chain, struct bf_rule **rule);

/* Tables. */
int bf_table_new(struct bf_table **table, const char *name,
		 enum bf_family family);
void bf_table_free(struct bf_table **table);
/** Take ownership of *chain (set to NULL on success). */
int bf_table_add_chain(struct bf_table *table, struct bf_chain **chain);

/* Sets. */
int bf_set_new(struct bf_set **set, const char *name, uint8_t key_len,
	       uint32_t flags);
void bf_set_free(struct bf_set **set);
/** Append a key of set->key_len bytes (@prefix: its length in bits, for
 * BF_SET_F_PREFIX sets; ignored otherwise). */
int bf_set_add_key(struct bf_set *set, const uint8_t *key, uint8_t prefix);
/** For a BF_SET_F_VMAP set: a key with its verdict (@chain for jump and
 * goto); set->verdicts stays sorted and set->values follow it. */
int bf_set_add_verdict_key(struct bf_set *set, const uint8_t *key,
			   uint8_t prefix, enum bf_verdict code,
			   const char *chain);
/** Take ownership of *set (set to NULL on success); -EEXIST for a name
 * already taken. */
int bf_table_add_set(struct bf_table *table, struct bf_set **set);
/** The set named @name, or NULL. */
const struct bf_set *bf_table_get_set(const struct bf_table *table,
				      const char *name);
struct bf_chain *bf_table_get_chain(const struct bf_table *table,
				    const char *name);

/**
 * Validate a table before codegen: every jump/goto target exists and is a
 * regular chain, no jump loops, jump depth <= BF_JUMP_DEPTH_MAX, registers
 * are written before they are read and stay inside the register file,
 * loads are no larger than BF_DATA_MAX, expression fields are in range,
 * base chains have a hook that fits the table family.
 *
 * @return 0 or -EINVAL; on error, a message naming the chain, the rule
 *         (index) and the expression (index) is written to @errbuf.
 */
int bf_table_validate(const struct bf_table *table, char *errbuf,
		      size_t errlen);

/** Print a table in a readable text form (for logs and tests). */
void bf_table_dump(const struct bf_table *table, FILE *f);
void bf_expr_dump(const struct bf_expr *expr, FILE *f);
