/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Netlink attribute parsing and building for nfnl/. Parsing never trusts a
 * length it has not checked against the bytes that hold it; building goes
 * through libmnl's *_check() variants so it never writes past the buffer.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include <libmnl/libmnl.h>

#include <bpfilter/helpers.h>

#include "nfnl/nlattr.h"

uint32_t bf_nla_get_be32(const struct nlattr *attr)
{
	uint32_t v;

	memcpy(&v, bf_nla_data(attr), sizeof(v));

	return be32toh(v);
}

uint64_t bf_nla_get_be64(const struct nlattr *attr)
{
	uint64_t v;

	memcpy(&v, bf_nla_data(attr), sizeof(v));

	return be64toh(v);
}

static const struct nlattr *_bf_nla_at(const void *p, size_t *rem)
{
	const struct nlattr *attr = p;

	if (*rem < NLA_HDRLEN || attr->nla_len < NLA_HDRLEN ||
	    attr->nla_len > *rem)
		return NULL;

	return attr;
}

const struct nlattr *bf_nla_first(const struct nlattr *nest, size_t *rem)
{
	*rem = nest->nla_len >= NLA_HDRLEN ? bf_nla_len(nest) : 0;

	return _bf_nla_at(bf_nla_data(nest), rem);
}

const struct nlattr *bf_nla_next(const struct nlattr *attr, size_t *rem)
{
	size_t step = NLA_ALIGN(attr->nla_len);

	/* The last attribute may omit its padding. */
	if (step >= *rem) {
		*rem = 0;
		return NULL;
	}
	*rem -= step;

	return _bf_nla_at((const char *)attr + step, rem);
}

bool bf_nla_valid(const struct nlattr *attr, const struct bf_nla_policy *pol)
{
	size_t len = bf_nla_len(attr);
	const char *s = bf_nla_data(attr);
	const struct nlattr *a;
	size_t rem;

	switch (pol->type) {
	case BF_NLA_U32:
		return len == sizeof(uint32_t);
	case BF_NLA_U64:
		return len == sizeof(uint64_t);
	case BF_NLA_U8:
		return len == sizeof(uint8_t);
	case BF_NLA_STRING:
		/* A trailing NUL does not count, as in the kernel policy. */
		if (len && s[len - 1] == '\0')
			len--;
		return len <= pol->max_len;
	case BF_NLA_BINARY:
		return len <= pol->max_len;
	case BF_NLA_NESTED:
		if (!len)
			return true;
		for (a = bf_nla_first(attr, &rem); a; a = bf_nla_next(a, &rem))
			;
		return rem == 0;
	default:
		return true;
	}
}

int bf_nla_parse_nested(const struct nlattr *nest,
			const struct bf_nla_policy *policy, unsigned int max,
			const struct nlattr **tb, const struct nlattr **bad)
{
	const struct nlattr *attr;
	size_t rem;

	memset(tb, 0, (max + 1) * sizeof(*tb));

	for (attr = bf_nla_first(nest, &rem); attr;
	     attr = bf_nla_next(attr, &rem)) {
		uint16_t type = bf_nla_type(attr);

		if (type > max)
			continue;
		if (!bf_nla_valid(attr, &policy[type])) {
			*bad = attr;
			return -EINVAL;
		}
		tb[type] = attr;
	}

	if (rem) {
		/* Point at the attribute that does not fit, when its header
		 * is there to point at. */
		const char *end = (const char *)nest + nest->nla_len;
		const char *at = end - rem;

		*bad = rem >= NLA_HDRLEN ? (const struct nlattr *)at : nest;
		return -EINVAL;
	}

	return 0;
}

void bf_nlb_put(struct bf_nlb *b, uint16_t type, const void *data, size_t len)
{
	size_t pad = NLA_ALIGN(len) - len;
	struct nlattr *attr;

	if (b->err)
		return;

	attr = mnl_nlmsg_get_payload_tail(b->nlh);
	if (!mnl_attr_put_check(b->nlh, b->buflen, type, len, data)) {
		b->err = -EMSGSIZE;
		return;
	}

	/* Dumps are compared byte for byte: zero the padding as the kernel
	 * does (libmnl 1.0.4 leaves it as it was). */
	memset((char *)bf_nla_data(attr) + len, 0, pad);
}

void bf_nlb_put_be32(struct bf_nlb *b, uint16_t type, uint32_t value)
{
	uint32_t be = htobe32(value);

	bf_nlb_put(b, type, &be, sizeof(be));
}

void bf_nlb_put_be64(struct bf_nlb *b, uint16_t type, uint64_t value)
{
	uint64_t be = htobe64(value);

	bf_nlb_put(b, type, &be, sizeof(be));
}

void bf_nlb_put_u8(struct bf_nlb *b, uint16_t type, uint8_t value)
{
	bf_nlb_put(b, type, &value, sizeof(value));
}

void bf_nlb_put_strz(struct bf_nlb *b, uint16_t type, const char *s)
{
	bf_nlb_put(b, type, s, strlen(s) + 1);
}

struct nlattr *bf_nlb_nest_start(struct bf_nlb *b, uint16_t type)
{
	struct nlattr *nest;

	if (b->err)
		return NULL;

	nest = mnl_attr_nest_start_check(b->nlh, b->buflen, type);
	if (!nest) {
		b->err = -EMSGSIZE;
		return NULL;
	}
	nest->nla_type = type;

	return nest;
}

void bf_nlb_nest_end(struct bf_nlb *b, struct nlattr *nest)
{
	if (b->err || !nest)
		return;

	mnl_attr_nest_end(b->nlh, nest);
}
