/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Packet builder for the e2e tests. Writes bytes by hand (no kernel header
 * structs) so every offset a test loads from is explicit here.
 */
#include "packets.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

static const uint8_t _pkt_dmac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };
static const uint8_t _pkt_smac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };

static void _pkt_put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void _pkt_put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}

static uint32_t _pkt_sum(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;

	return sum;
}

uint16_t pkt_csum(const void *data, size_t len, uint32_t sum)
{
	sum = _pkt_sum(data, len, sum);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);

	return (uint16_t)~sum;
}

void pkt_spec_init(struct pkt_spec *spec, int l3, uint8_t l4proto)
{
	memset(spec, 0, sizeof(*spec));
	memcpy(spec->dmac, _pkt_dmac, 6);
	memcpy(spec->smac, _pkt_smac, 6);
	spec->l3 = l3;
	spec->ethertype = 0x88b5; /* local experimental */
	if (l3 == 6)
		pkt_spec_set_addrs(spec, "2001:db8::1", "2001:db8::2");
	else
		pkt_spec_set_addrs(spec, "10.0.0.1", "10.0.0.2");
	spec->ttl = 64;
	spec->ip_id = 0x1234;
	spec->l4proto = l4proto;
	spec->sport = 1234;
	spec->dport = 80;
	spec->tcp_flags = PKT_TCP_SYN;
	spec->tcp_seq = 0x01020304;
	spec->tcp_window = 65535;
	spec->icmp_type = l4proto == PKT_PROTO_ICMPV6 ? 128 : 8;
	spec->icmp_id = 0x4242;
	spec->icmp_seq = 1;
	spec->sctp_vtag = 0xdeadbeef;
	spec->payload_len = 16;
	spec->payload_seed = 0xa0;
}

int pkt_spec_set_addrs(struct pkt_spec *spec, const char *saddr,
		       const char *daddr)
{
	int af = spec->l3 == 6 ? AF_INET6 : AF_INET;

	memset(spec->saddr, 0, sizeof(spec->saddr));
	memset(spec->daddr, 0, sizeof(spec->daddr));
	if (inet_pton(af, saddr, spec->saddr) != 1 ||
	    inet_pton(af, daddr, spec->daddr) != 1)
		return -EINVAL;

	return 0;
}

int pkt_spec_add_ext(struct pkt_spec *spec, enum pkt_ext_type type,
		     uint16_t len)
{
	if (spec->n_ext >= PKT_EXT_MAX)
		return -E2BIG;

	spec->ext[spec->n_ext++] = (struct pkt_ext) { .type = type, .len = len };

	return 0;
}

size_t pkt_l4_hlen(uint8_t l4proto)
{
	switch (l4proto) {
	case PKT_PROTO_TCP:
		return 20;
	case PKT_PROTO_UDP:
	case PKT_PROTO_UDPLITE:
	case PKT_PROTO_ICMP:
	case PKT_PROTO_ICMPV6:
		return 8;
	case PKT_PROTO_SCTP:
		return 12;
	default:
		return 0;
	}
}

static size_t _pkt_ext_len(const struct pkt_ext *ext)
{
	switch (ext->type) {
	case PKT_EXT_FRAGMENT:
		return 8;
	case PKT_EXT_AH:
		return ext->len ? ext->len : 16;
	default:
		return ext->len ? ext->len : 8;
	}
}

static bool _pkt_ext_valid(const struct pkt_ext *ext)
{
	size_t len = _pkt_ext_len(ext);

	switch (ext->type) {
	case PKT_EXT_FRAGMENT:
		return ext->frag_off < 8192;
	case PKT_EXT_AH:
		return len >= 16 && len % 8 == 0 && len <= 1024;
	case PKT_EXT_HOPOPTS:
	case PKT_EXT_ROUTING:
	case PKT_EXT_DSTOPTS:
		return len >= 8 && len % 8 == 0 && len <= 2048;
	default:
		return false;
	}
}

/* Fill the option area of a hop-by-hop / destination options header. */
static void _pkt_pad_opts(uint8_t *p, size_t len)
{
	if (len == 0)
		return;
	if (len == 1) {
		p[0] = 0; /* Pad1 */
		return;
	}
	p[0] = 1; /* PadN */
	p[1] = len - 2;
	memset(p + 2, 0, len - 2);
}

static uint8_t *_pkt_write_ext(uint8_t *p, const struct pkt_ext *ext,
			       uint8_t next)
{
	size_t len = _pkt_ext_len(ext);

	memset(p, 0, len);
	p[0] = next;
	switch (ext->type) {
	case PKT_EXT_FRAGMENT:
		_pkt_put16(p + 2, (ext->frag_off << 3) | (ext->mf ? 1 : 0));
		_pkt_put32(p + 4, 0xcafe0001);
		break;
	case PKT_EXT_AH:
		p[1] = len / 4 - 2;
		_pkt_put32(p + 4, 0x00000100); /* SPI */
		_pkt_put32(p + 8, 1); /* sequence */
		break;
	case PKT_EXT_ROUTING:
		p[1] = len / 8 - 1;
		p[2] = 0; /* type 0, segments left 0: nothing to route */
		p[3] = 0;
		break;
	default:
		p[1] = len / 8 - 1;
		_pkt_pad_opts(p + 2, len - 2);
		break;
	}

	return p + len;
}

/* Pseudo-header sum for TCP/UDP/UDP-Lite/ICMPv6 checksums. */
static uint32_t _pkt_pseudo_sum(const struct pkt_spec *spec, size_t l4len)
{
	uint8_t ph[40];
	size_t n;

	memset(ph, 0, sizeof(ph));
	if (spec->l3 == 4) {
		memcpy(ph, spec->saddr, 4);
		memcpy(ph + 4, spec->daddr, 4);
		ph[9] = spec->l4proto;
		_pkt_put16(ph + 10, l4len);
		n = 12;
	} else {
		memcpy(ph, spec->saddr, 16);
		memcpy(ph + 16, spec->daddr, 16);
		_pkt_put32(ph + 32, l4len);
		ph[39] = spec->l4proto;
		n = 40;
	}

	return _pkt_sum(ph, n, 0);
}

static void _pkt_write_l4(const struct pkt_spec *spec, uint8_t *p,
			  size_t l4len)
{
	uint16_t csum;

	switch (spec->l4proto) {
	case PKT_PROTO_TCP:
		_pkt_put16(p, spec->sport);
		_pkt_put16(p + 2, spec->dport);
		_pkt_put32(p + 4, spec->tcp_seq);
		_pkt_put32(p + 8, spec->tcp_ack);
		p[12] = 5 << 4;
		p[13] = spec->tcp_flags;
		_pkt_put16(p + 14, spec->tcp_window);
		_pkt_put16(p + 16, 0);
		_pkt_put16(p + 18, 0);
		csum = pkt_csum(p, l4len, _pkt_pseudo_sum(spec, l4len));
		_pkt_put16(p + 16, csum);
		break;
	case PKT_PROTO_UDP:
	case PKT_PROTO_UDPLITE:
		_pkt_put16(p, spec->sport);
		_pkt_put16(p + 2, spec->dport);
		/* UDP-Lite: checksum coverage 0 means the whole datagram. */
		_pkt_put16(p + 4,
			   spec->l4proto == PKT_PROTO_UDP ? l4len : 0);
		_pkt_put16(p + 6, 0);
		csum = pkt_csum(p, l4len, _pkt_pseudo_sum(spec, l4len));
		_pkt_put16(p + 6, csum ? csum : 0xffff);
		break;
	case PKT_PROTO_SCTP:
		/* CRC32c is left at 0: nothing here verifies it. */
		_pkt_put16(p, spec->sport);
		_pkt_put16(p + 2, spec->dport);
		_pkt_put32(p + 4, spec->sctp_vtag);
		_pkt_put32(p + 8, 0);
		break;
	case PKT_PROTO_ICMP:
	case PKT_PROTO_ICMPV6:
		p[0] = spec->icmp_type;
		p[1] = spec->icmp_code;
		_pkt_put16(p + 2, 0);
		_pkt_put16(p + 4, spec->icmp_id);
		_pkt_put16(p + 6, spec->icmp_seq);
		csum = pkt_csum(p, l4len,
				spec->l4proto == PKT_PROTO_ICMPV6 ?
					_pkt_pseudo_sum(spec, l4len) :
					0);
		_pkt_put16(p + 2, csum);
		break;
	default:
		break;
	}
}

/* A non-first fragment carries no transport header. */
static bool _pkt_is_later_frag(const struct pkt_spec *spec)
{
	size_t i;

	if (spec->l3 == 4)
		return spec->frag_off != 0;
	if (spec->l3 == 6) {
		for (i = 0; i < spec->n_ext; i++) {
			if (spec->ext[i].type == PKT_EXT_FRAGMENT &&
			    spec->ext[i].frag_off)
				return true;
		}
	}

	return false;
}

int pkt_build(const struct pkt_spec *spec, uint8_t *buf, size_t cap,
	      struct pkt_layout *layout)
{
	struct pkt_layout l = {};
	size_t l2, l3hdr = 0, l4hdr, total, i;
	uint8_t *p;

	if (spec->l3 != 0 && spec->l3 != 4 && spec->l3 != 6)
		return -EINVAL;
	if (spec->l3 == 4 && (spec->ip_opts_len % 4 ||
			      spec->ip_opts_len > PKT_IP4_OPTS_MAX ||
			      spec->frag_off >= 8192))
		return -EINVAL;
	if (spec->n_ext > PKT_EXT_MAX || (spec->n_ext && spec->l3 != 6))
		return -EINVAL;

	l2 = PKT_ETH_HLEN + (spec->vlan ? PKT_VLAN_HLEN : 0);
	if (spec->l3 == 4) {
		l3hdr = PKT_IP4_HLEN + spec->ip_opts_len;
	} else if (spec->l3 == 6) {
		l3hdr = PKT_IP6_HLEN;
		for (i = 0; i < spec->n_ext; i++) {
			if (!_pkt_ext_valid(&spec->ext[i]))
				return -EINVAL;
			l3hdr += _pkt_ext_len(&spec->ext[i]);
		}
	}
	l4hdr = (spec->l3 && !_pkt_is_later_frag(spec)) ?
			pkt_l4_hlen(spec->l4proto) :
			0;
	total = l2 + l3hdr + l4hdr + spec->payload_len;
	if (total > cap)
		return -ENOSPC;
	if (spec->l3 == 4 && total - l2 > 0xffff)
		return -EINVAL;
	if (spec->l3 == 6 && total - l2 - PKT_IP6_HLEN > 0xffff)
		return -EINVAL;

	memset(buf, 0, total);
	p = buf;

	/* Ethernet, optional 802.1Q tag. */
	memcpy(p, spec->dmac, 6);
	memcpy(p + 6, spec->smac, 6);
	p += 12;
	if (spec->vlan) {
		_pkt_put16(p, PKT_ETH_P_8021Q);
		_pkt_put16(p + 2, spec->vlan_tci);
		p += 4;
	}
	_pkt_put16(p, spec->l3 == 4 ? PKT_ETH_P_IP :
		       spec->l3 == 6 ? PKT_ETH_P_IPV6 :
				       spec->ethertype);
	p += 2;
	l.nh = l2;
	l.nh_len = l3hdr;

	if (spec->l3 == 4) {
		uint16_t frag = spec->frag_off & 0x1fff;

		if (spec->mf)
			frag |= 0x2000;
		if (spec->df)
			frag |= 0x4000;
		p[0] = 0x40 | (l3hdr / 4);
		p[1] = spec->tos;
		_pkt_put16(p + 2, total - l2);
		_pkt_put16(p + 4, spec->ip_id);
		_pkt_put16(p + 6, frag);
		p[8] = spec->ttl;
		p[9] = spec->l4proto;
		memcpy(p + 12, spec->saddr, 4);
		memcpy(p + 16, spec->daddr, 4);
		/* Options: NOPs. */
		memset(p + PKT_IP4_HLEN, 1, spec->ip_opts_len);
		_pkt_put16(p + 10, pkt_csum(p, l3hdr, 0));
		p += l3hdr;
	} else if (spec->l3 == 6) {
		uint8_t next = spec->n_ext ? spec->ext[0].type : spec->l4proto;

		_pkt_put32(p, 6u << 28 | (uint32_t)spec->tos << 20 |
				      (spec->flowlabel & 0xfffff));
		_pkt_put16(p + 4, total - l2 - PKT_IP6_HLEN);
		p[6] = next;
		p[7] = spec->ttl;
		memcpy(p + 8, spec->saddr, 16);
		memcpy(p + 24, spec->daddr, 16);
		p += PKT_IP6_HLEN;
		for (i = 0; i < spec->n_ext; i++) {
			next = i + 1 < spec->n_ext ? spec->ext[i + 1].type :
						     spec->l4proto;
			p = _pkt_write_ext(p, &spec->ext[i], next);
		}
	}

	l.th = l2 + l3hdr;
	l.th_len = l4hdr;
	l.payload = l.th + l4hdr;
	l.len = total;

	for (i = 0; i < spec->payload_len; i++)
		buf[l.payload + i] = (uint8_t)(spec->payload_seed + i);

	if (l4hdr)
		_pkt_write_l4(spec, buf + l.th, l4hdr + spec->payload_len);

	if (layout)
		*layout = l;

	return (int)total;
}
