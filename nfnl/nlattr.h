/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Netlink attribute helpers for the nfnl/ front-end: bounded parsing of a
 * nest against a small policy (every length checked, as the input comes
 * from an untrusted client) and bounded building with a sticky error.
 *
 * Nests are built without NLA_F_NESTED: nf_tables dumps its nests that way
 * (measured on 6.18), and dumps must be byte-identical to the kernel's.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/netlink.h>

enum bf_nla_type {
	BF_NLA_UNSPEC, /* not part of the policy: ignored, as the kernel does */
	BF_NLA_U32, /* exactly 4 bytes */
	BF_NLA_U64, /* exactly 8 bytes */
	BF_NLA_STRING, /* at most max_len characters, NUL terminated or not */
	BF_NLA_BINARY, /* at most max_len bytes */
	BF_NLA_NESTED, /* empty, or a well-formed attribute stream */
	BF_NLA_U8, /* exactly 1 byte */
	_BF_NLA_MAX,
};

struct bf_nla_policy {
	enum bf_nla_type type;
	uint16_t max_len;
};

/** Payload of @attr and its length. */
static inline const void *bf_nla_data(const struct nlattr *attr)
{
	return (const char *)attr + NLA_HDRLEN;
}

static inline size_t bf_nla_len(const struct nlattr *attr)
{
	return attr->nla_len - NLA_HDRLEN;
}

/** Attribute type without the NLA_F_NESTED / NLA_F_NET_BYTEORDER flags. */
static inline uint16_t bf_nla_type(const struct nlattr *attr)
{
	return attr->nla_type & NLA_TYPE_MASK;
}

/** Host-order value of a big-endian u32 / u64 attribute (length checked by
 * the policy before). */
uint32_t bf_nla_get_be32(const struct nlattr *attr);
uint64_t bf_nla_get_be64(const struct nlattr *attr);
static inline uint8_t bf_nla_get_u8(const struct nlattr *attr)
{
	return *(const uint8_t *)bf_nla_data(attr);
}

/**
 * Split the payload of @nest into @tb[0..@max] (the last attribute of a
 * type wins, as in the kernel). Types above @max are ignored. Each
 * attribute is checked against @policy[type].
 *
 * @nest must itself be in bounds (nla_len >= NLA_HDRLEN and inside its
 * container), which holds for the nests this function returns.
 *
 * @return 0, or -EINVAL with *@bad set to the attribute that is truncated,
 *         overruns the nest, or breaks its policy (@nest for trailing
 *         bytes that do not form an attribute).
 */
/** Does @attr satisfy @pol (exact integer sizes, string and binary
 * lengths, well-formed nests)? */
bool bf_nla_valid(const struct nlattr *attr, const struct bf_nla_policy *pol);

int bf_nla_parse_nested(const struct nlattr *nest,
			const struct bf_nla_policy *policy, unsigned int max,
			const struct nlattr **tb, const struct nlattr **bad);

/**
 * Walk the attributes of a nest: for (a = bf_nla_first(n, &rem); a;
 * a = bf_nla_next(a, &rem)). Returns NULL at the end or at the first
 * attribute that does not fit; *rem is then 0 at a clean end and
 * non-zero when bytes are left over (a malformed stream).
 */
const struct nlattr *bf_nla_first(const struct nlattr *nest, size_t *rem);
const struct nlattr *bf_nla_next(const struct nlattr *attr, size_t *rem);

/** Builder appending attributes to @nlh, never past @buflen bytes from
 * @nlh. The first failure sticks in @err (-EMSGSIZE) and turns every
 * later call into a no-op; check it once at the end. */
struct bf_nlb {
	struct nlmsghdr *nlh;
	size_t buflen;
	int err;
};

void bf_nlb_put(struct bf_nlb *b, uint16_t type, const void *data,
		size_t len);
void bf_nlb_put_be32(struct bf_nlb *b, uint16_t type, uint32_t value);
void bf_nlb_put_be64(struct bf_nlb *b, uint16_t type, uint64_t value);
void bf_nlb_put_u8(struct bf_nlb *b, uint16_t type, uint8_t value);
void bf_nlb_put_strz(struct bf_nlb *b, uint16_t type, const char *s);
/** Start a nest (no NLA_F_NESTED flag); NULL once @b has failed. */
struct nlattr *bf_nlb_nest_start(struct bf_nlb *b, uint16_t type);
/** Close a nest started with bf_nlb_nest_start(); NULL is a no-op. */
void bf_nlb_nest_end(struct bf_nlb *b, struct nlattr *nest);
