/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Packet builder for the e2e tests: Ethernet frames (optionally with one
 * 802.1Q tag) carrying IPv4 (with options, fragments) or IPv6 (with
 * extension headers) and a TCP, UDP, UDP-Lite, SCTP, ICMP or ICMPv6 header,
 * written into a caller buffer with correct lengths and checksums.
 *
 * A truncated packet is the same frame passed with a shorter length.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PKT_ETH_HLEN 14
#define PKT_VLAN_HLEN 4
#define PKT_IP4_HLEN 20
#define PKT_IP6_HLEN 40
#define PKT_EXT_MAX 8
#define PKT_IP4_OPTS_MAX 40
#define PKT_MAX 2048

#define PKT_ETH_P_IP 0x0800
#define PKT_ETH_P_IPV6 0x86dd
#define PKT_ETH_P_8021Q 0x8100

#define PKT_PROTO_ICMP 1
#define PKT_PROTO_TCP 6
#define PKT_PROTO_UDP 17
#define PKT_PROTO_ICMPV6 58
#define PKT_PROTO_SCTP 132
#define PKT_PROTO_UDPLITE 136

#define PKT_TCP_FIN 0x01
#define PKT_TCP_SYN 0x02
#define PKT_TCP_RST 0x04
#define PKT_TCP_PSH 0x08
#define PKT_TCP_ACK 0x10
#define PKT_TCP_URG 0x20

/* IPv6 extension header types (the next-header value that announces them). */
enum pkt_ext_type {
	PKT_EXT_HOPOPTS = 0,
	PKT_EXT_ROUTING = 43,
	PKT_EXT_FRAGMENT = 44,
	PKT_EXT_AH = 51,
	PKT_EXT_DSTOPTS = 60,
};

struct pkt_ext {
	enum pkt_ext_type type;
	/* Total length in bytes, 0 for the minimum. Hop-by-hop, routing and
	 * destination options: a multiple of 8 (min 8); AH: a multiple of 8
	 * (min 16); fragment: always 8. */
	uint16_t len;
	uint16_t frag_off; /* fragment: offset in 8-byte units */
	bool mf; /* fragment: more fragments */
};

struct pkt_spec {
	uint8_t dmac[6];
	uint8_t smac[6];
	bool vlan; /* one 802.1Q tag */
	uint16_t vlan_tci;

	int l3; /* 4, 6, or 0: no network header, @ethertype then payload */
	uint16_t ethertype; /* l3 == 0 only */

	uint8_t saddr[16]; /* network order; IPv4 uses the first 4 bytes */
	uint8_t daddr[16];
	uint8_t tos; /* IPv4 TOS / IPv6 traffic class */
	uint8_t ttl; /* IPv4 TTL / IPv6 hop limit */
	uint16_t ip_id;
	uint32_t flowlabel; /* IPv6 */

	/* IPv4 only. */
	uint8_t ip_opts_len; /* multiple of 4, <= 40: ihl = 5 + len / 4 */
	uint16_t frag_off; /* in 8-byte units */
	bool mf;
	bool df;

	/* IPv6 only, in wire order. */
	struct pkt_ext ext[PKT_EXT_MAX];
	size_t n_ext;

	/* Transport: a header is written for TCP, UDP, UDP-Lite, SCTP, ICMP,
	 * ICMPv6; any other value only sets the protocol field. No transport
	 * header is written in a non-first fragment. */
	uint8_t l4proto;
	uint16_t sport;
	uint16_t dport;
	uint8_t tcp_flags;
	uint32_t tcp_seq;
	uint32_t tcp_ack;
	uint16_t tcp_window;
	uint8_t icmp_type;
	uint8_t icmp_code;
	uint16_t icmp_id;
	uint16_t icmp_seq;
	uint32_t sctp_vtag;

	size_t payload_len;
	uint8_t payload_seed; /* payload byte i = seed + i */
};

/* Where the headers of a built frame are (offsets from the frame start). */
struct pkt_layout {
	size_t len; /* frame length */
	size_t nh; /* network header (after the VLAN tag) */
	size_t nh_len; /* IPv4 ihl * 4, or 40 + extension headers */
	size_t th; /* transport header (after options / extension headers) */
	size_t th_len; /* transport header length, 0 if none written */
	size_t payload; /* payload */
};

/**
 * Fill @spec with defaults: fixed MACs, 10.0.0.1 -> 10.0.0.2 or
 * 2001:db8::1 -> 2001:db8::2, TTL 64, ports 1234 -> 80, TCP SYN,
 * ICMP(v6) echo request, 16 bytes of payload.
 */
void pkt_spec_init(struct pkt_spec *spec, int l3, uint8_t l4proto);

/** Set the addresses from strings (inet_pton); returns 0 or -EINVAL. */
int pkt_spec_set_addrs(struct pkt_spec *spec, const char *saddr,
		       const char *daddr);

/** Append an IPv6 extension header; returns 0 or -E2BIG. */
int pkt_spec_add_ext(struct pkt_spec *spec, enum pkt_ext_type type,
		     uint16_t len);

/**
 * Build the frame described by @spec into @buf.
 *
 * @layout: where the headers are (may be NULL).
 * @return the frame length, or a negative errno (-ENOSPC if @cap is too
 *         small, -EINVAL for an invalid spec).
 */
int pkt_build(const struct pkt_spec *spec, uint8_t *buf, size_t cap,
	      struct pkt_layout *layout);

/** Transport header length the builder writes for @l4proto (0 if none). */
size_t pkt_l4_hlen(uint8_t l4proto);

/** The Internet checksum of @len bytes, folded and complemented. */
uint16_t pkt_csum(const void *data, size_t len, uint32_t sum);
