/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bf_inject: send a fixed, numbered set of Ethernet frames out of an
 * interface with an AF_PACKET raw socket, for the verdict differential
 * test (selftests/diff/verdict_diff.sh): the same frames reach a netns
 * filtered by kernel nf_tables and one filtered by bpfilter, whose
 * counters must then agree.
 *
 *   bf_inject [--count N] [--only K] [--list] IFACE
 *   bf_inject --stdin IFACE
 *
 * Unicast frames go to RX_MAC (02:00:00:00:00:02, the receiver's address:
 * the script sets it) so that ip_rcv()/ipv6_rcv() keep them; one frame
 * goes to another host's MAC (seen at ingress only). IPv4 header checksums
 * are correct. --only K sends frame K alone (numbered from 1); --list
 * prints one line per frame instead of sending.
 * --stdin sends, instead of the fixed set, one frame per line read from
 * standard input: "udp|tcp SADDR DADDR SPORT DPORT PAYLOAD_LEN" (IPv4 or
 * IPv6 addresses; TCP frames are SYNs), each to RX_MAC, for the stress
 * differential test (selftests/diff/stress_diff.sh).
 * Prints "sent N frames"; exit 0 when all were sent, 1 otherwise.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_packet.h>

#include "common/packets.h"

#define _BF_MAX_FRAMES 1024

static const uint8_t _bf_mac_bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t _bf_mac_mdns[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb };
static const uint8_t _bf_mac_all6[6] = { 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t _bf_mac_sol6[6] = { 0x33, 0x33, 0xff, 0x00, 0x00, 0x02 };
static const uint8_t _bf_mac_other[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x99 };
static const uint8_t _bf_mac_src[6] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55 };

/* Bytes written over the built frame, at @off from the transport header
 * (for protocols the builder has no header for) or, with @l2, from the
 * frame start. */
struct _bf_patch {
	size_t off;
	size_t len;
	uint8_t bytes[28];
	bool l2;
};

struct _bf_frame {
	const char *desc;
	struct pkt_spec spec;
	struct _bf_patch patch;
};

static struct _bf_frame _bf_frames[_BF_MAX_FRAMES];
static size_t _bf_n_frames;

static struct pkt_spec *_bf_add(const char *desc, int l3, uint8_t l4proto,
				const char *saddr, const char *daddr)
{
	struct _bf_frame *f;

	if (_bf_n_frames >= _BF_MAX_FRAMES) {
		fprintf(stderr, "bf_inject: too many frames\n");
		exit(1);
	}
	f = &_bf_frames[_bf_n_frames++];
	f->desc = desc;
	pkt_spec_init(&f->spec, l3, l4proto);
	if (saddr && pkt_spec_set_addrs(&f->spec, saddr, daddr)) {
		fprintf(stderr, "bf_inject: bad address in '%s'\n", desc);
		exit(1);
	}

	return &f->spec;
}

static void _bf_patch(size_t off, const void *bytes, size_t len, bool l2)
{
	struct _bf_patch *p = &_bf_frames[_bf_n_frames - 1].patch;

	p->off = off;
	p->len = len;
	p->l2 = l2;
	memcpy(p->bytes, bytes, len);
}

/* The frames, in a fixed order: their numbers appear in the test's
 * diagnostics (--list). */
static void _bf_make_frames(void)
{
	struct pkt_spec *s;

	/* IPv4 TCP. */
	s = _bf_add("ip4 tcp 10.0.0.1:1234 > 10.0.0.2:22 syn", 4, PKT_PROTO_TCP,
		    "10.0.0.1", "10.0.0.2");
	s->dport = 22;
	s = _bf_add("ip4 tcp 10.1.2.3:80 > 10.0.0.2:1024 syn|ack ttl 5", 4,
		    PKT_PROTO_TCP, "10.1.2.3", "10.0.0.2");
	s->sport = 80, s->dport = 1024, s->ttl = 5;
	s->tcp_flags = PKT_TCP_SYN | PKT_TCP_ACK;
	s = _bf_add("ip4 tcp 172.16.5.5:1024 > 192.168.1.1:443 syn ttl 1", 4,
		    PKT_PROTO_TCP, "172.16.5.5", "192.168.1.1");
	s->sport = 1024, s->dport = 443, s->ttl = 1;
	s = _bf_add("ip4 tcp 10.3.2.1:40000 > 10.1.2.3:8080 rst", 4,
		    PKT_PROTO_TCP, "10.3.2.1", "10.1.2.3");
	s->sport = 40000, s->dport = 8080, s->tcp_flags = PKT_TCP_RST;
	s = _bf_add("ip4 tcp 192.168.0.7:65535 > 10.0.0.2:65535 ack ttl 255 len 1240",
		    4, PKT_PROTO_TCP, "192.168.0.7", "10.0.0.2");
	s->sport = 65535, s->dport = 65535, s->ttl = 255;
	s->tcp_flags = PKT_TCP_ACK, s->payload_len = 1200;
	s = _bf_add("ip4 tcp 8.8.8.8:443 > 10.0.0.2:1024 syn|ack win 50 seq 0", 4,
		    PKT_PROTO_TCP, "8.8.8.8", "10.0.0.2");
	s->sport = 443, s->dport = 1024, s->tcp_window = 50, s->tcp_seq = 0;
	s->tcp_flags = PKT_TCP_SYN | PKT_TCP_ACK;
	s = _bf_add("ip4 tcp 192.0.2.9:1234 > 10.0.0.2:22 syn", 4, PKT_PROTO_TCP,
		    "192.0.2.9", "10.0.0.2");
	s->dport = 22;
	s = _bf_add("ip4 tcp 10.0.0.1:0 > 10.0.0.2:9 fin|syn", 4, PKT_PROTO_TCP,
		    "10.0.0.1", "10.0.0.2");
	s->sport = 0, s->dport = 9, s->tcp_flags = PKT_TCP_FIN | PKT_TCP_SYN;
	s = _bf_add("ip4 tcp 10.0.0.1:1025 > 8.8.8.8:25 psh|ack", 4,
		    PKT_PROTO_TCP, "10.0.0.1", "8.8.8.8");
	s->sport = 1025, s->dport = 25, s->tcp_flags = PKT_TCP_PSH | PKT_TCP_ACK;
	s = _bf_add("ip4 tcp 1.1.1.1:80 > 10.0.0.2:80 syn from 00:11:22:33:44:55",
		    4, PKT_PROTO_TCP, "1.1.1.1", "10.0.0.2");
	s->sport = 80;
	memcpy(s->smac, _bf_mac_src, 6);
	s = _bf_add("ip4 tcp 10.0.0.1:1234 > 10.0.0.2:80 syn, 4 bytes of options",
		    4, PKT_PROTO_TCP, "10.0.0.1", "10.0.0.2");
	s->ip_opts_len = 4;
	s = _bf_add("ip4 tcp 10.0.0.1:5000 > 10.0.0.2:8000 first fragment (mf), id 1234",
		    4, PKT_PROTO_TCP, "10.0.0.1", "10.0.0.2");
	s->sport = 5000, s->dport = 8000, s->mf = true, s->ip_id = 1234;
	s = _bf_add("ip4 tcp 10.0.0.1:1234 > 10.0.0.2:22 to another host's MAC",
		    4, PKT_PROTO_TCP, "10.0.0.1", "10.0.0.2");
	s->dport = 22;
	memcpy(s->dmac, _bf_mac_other, 6);
	s = _bf_add("ip4 tcp 10.0.0.1:1234 > 10.0.0.2:80 vlan 10", 4,
		    PKT_PROTO_TCP, "10.0.0.1", "10.0.0.2");
	s->vlan = true, s->vlan_tci = 10;

	/* IPv4 UDP. */
	s = _bf_add("ip4 udp 10.0.0.1:5353 > 8.8.8.8:53", 4, PKT_PROTO_UDP,
		    "10.0.0.1", "8.8.8.8");
	s->sport = 5353, s->dport = 53;
	s = _bf_add("ip4 udp 8.8.8.8:53 > 10.0.0.2:1000 no payload", 4,
		    PKT_PROTO_UDP, "8.8.8.8", "10.0.0.2");
	s->sport = 53, s->dport = 1000, s->payload_len = 0;
	s = _bf_add("ip4 udp 0.0.0.0:68 > 255.255.255.255:67 broadcast", 4,
		    PKT_PROTO_UDP, "0.0.0.0", "255.255.255.255");
	s->sport = 68, s->dport = 67;
	memcpy(s->dmac, _bf_mac_bcast, 6);
	s = _bf_add("ip4 udp 10.0.0.1:5353 > 224.0.0.251:5353 multicast ttl 255",
		    4, PKT_PROTO_UDP, "10.0.0.1", "224.0.0.251");
	s->sport = 5353, s->dport = 5353, s->ttl = 255;
	memcpy(s->dmac, _bf_mac_mdns, 6);
	s = _bf_add("ip4 udp 172.16.1.1:2000 > 10.0.0.2:9 dscp cs1 ttl 1", 4,
		    PKT_PROTO_UDP, "172.16.1.1", "10.0.0.2");
	s->sport = 2000, s->dport = 9, s->tos = 0x20, s->ttl = 1;
	s = _bf_add("ip4 udp 10.9.1.1:1000 > 10.0.0.2:2000 len 150", 4,
		    PKT_PROTO_UDP, "10.9.1.1", "10.0.0.2");
	s->sport = 1000, s->dport = 2000, s->payload_len = 122;
	s = _bf_add("ip4 udp 10.0.0.1:53 > 10.0.0.2:53 id 1234", 4,
		    PKT_PROTO_UDP, "10.0.0.1", "10.0.0.2");
	s->sport = 53, s->dport = 53, s->ip_id = 1234;
	s = _bf_add("ip4 udp 192.168.1.1:2000 > 10.0.0.2:1000 len 1428", 4,
		    PKT_PROTO_UDP, "192.168.1.1", "10.0.0.2");
	s->sport = 2000, s->dport = 1000, s->payload_len = 1400;
	s = _bf_add("ip4 udp 10.0.0.1:1000 > 10.0.0.2:2000 checksum 0", 4,
		    PKT_PROTO_UDP, "10.0.0.1", "10.0.0.2");
	s->sport = 1000, s->dport = 2000;
	_bf_patch(6, "\0\0", 2, false);
	s = _bf_add("ip4 udp 10.0.0.1 > 10.0.0.2 non-first fragment (offset 800)",
		    4, PKT_PROTO_UDP, "10.0.0.1", "10.0.0.2");
	s->frag_off = 100, s->payload_len = 64;

	/* IPv4, other transports. */
	s = _bf_add("ip4 udplite 10.0.0.1:1234 > 10.0.0.2:1", 4,
		    PKT_PROTO_UDPLITE, "10.0.0.1", "10.0.0.2");
	s->dport = 1;
	s = _bf_add("ip4 sctp 10.0.0.1:1234 > 10.0.0.2:5000", 4, PKT_PROTO_SCTP,
		    "10.0.0.1", "10.0.0.2");
	s->dport = 5000;
	s = _bf_add("ip4 icmp echo-request 10.9.0.1 > 10.0.0.2", 4,
		    PKT_PROTO_ICMP, "10.9.0.1", "10.0.0.2");
	s = _bf_add("ip4 icmp echo-reply 8.8.8.8 > 10.0.0.2 no payload", 4,
		    PKT_PROTO_ICMP, "8.8.8.8", "10.0.0.2");
	s->icmp_type = 0, s->payload_len = 0;
	s = _bf_add("ip4 icmp echo-request 10.1.2.3 > 255.255.255.255 ecn ect0",
		    4, PKT_PROTO_ICMP, "10.1.2.3", "255.255.255.255");
	s->tos = 0x02;
	memcpy(s->dmac, _bf_mac_bcast, 6);
	s = _bf_add("ip4 esp 10.0.0.1 > 10.0.0.2 spi 100", 4, 50, "10.0.0.1",
		    "10.0.0.2");
	_bf_patch(0, "\0\0\0\x64", 4, false);
	s = _bf_add("ip4 ah 10.0.0.1 > 10.0.0.2 spi 7", 4, 51, "10.0.0.1",
		    "10.0.0.2");
	_bf_patch(0, "\x3b\x04\0\0\0\0\0\x07", 8, false);
	s = _bf_add("ip4 dccp 10.0.0.1:1000 > 10.0.0.2:33", 4, 33, "10.0.0.1",
		    "10.0.0.2");
	_bf_patch(0, "\x03\xe8\0\x21", 4, false);

	/* IPv6. */
	s = _bf_add("ip6 tcp 2001:db8::1:1234 > 2001:db8::2:22 syn", 6,
		    PKT_PROTO_TCP, "2001:db8::1", "2001:db8::2");
	s->dport = 22;
	s = _bf_add("ip6 tcp 2001:db8::2:80 > 2001:db8::1:8080 syn|ack hoplimit 1",
		    6, PKT_PROTO_TCP, "2001:db8::2", "2001:db8::1");
	s->sport = 80, s->dport = 8080, s->ttl = 1;
	s->tcp_flags = PKT_TCP_SYN | PKT_TCP_ACK;
	s = _bf_add("ip6 tcp fe80::1:1234 > 2001:db8::2:443 rst, dstopts", 6,
		    PKT_PROTO_TCP, "fe80::1", "2001:db8::2");
	s->dport = 443, s->tcp_flags = PKT_TCP_RST;
	pkt_spec_add_ext(s, PKT_EXT_DSTOPTS, 8);
	s = _bf_add("ip6 udp fe80::1:547 > ff02::1:546 multicast hoplimit 1", 6,
		    PKT_PROTO_UDP, "fe80::1", "ff02::1");
	s->sport = 547, s->dport = 546, s->ttl = 1;
	memcpy(s->dmac, _bf_mac_all6, 6);
	s = _bf_add("ip6 udp 2001:db8::1:5353 > 2001:db8::2:53 flowlabel 12345 dscp af41 len 1248",
		    6, PKT_PROTO_UDP, "2001:db8::1", "2001:db8::2");
	s->sport = 5353, s->dport = 53, s->flowlabel = 12345, s->tos = 0x88;
	s->payload_len = 1200;
	s = _bf_add("ip6 udp 2001:db8::1:1000 > 2001:db8::2:2000 first fragment",
		    6, PKT_PROTO_UDP, "2001:db8::1", "2001:db8::2");
	s->sport = 1000, s->dport = 2000;
	pkt_spec_add_ext(s, PKT_EXT_FRAGMENT, 8);
	s->ext[0].mf = true;
	s = _bf_add("ip6 icmpv6 echo-request 2001:db8::1 > 2001:db8::2 hoplimit 255",
		    6, PKT_PROTO_ICMPV6, "2001:db8::1", "2001:db8::2");
	s->ttl = 255;
	s = _bf_add("ip6 icmpv6 echo-reply 2001:db8:1::5 > 2001:db8::2", 6,
		    PKT_PROTO_ICMPV6, "2001:db8:1::5", "2001:db8::2");
	s->icmp_type = 129;
	s = _bf_add("ip6 icmpv6 nd-neighbor-solicit fe80::1 > ff02::1:ff00:2", 6,
		    PKT_PROTO_ICMPV6, "fe80::1", "ff02::1:ff00:2");
	s->icmp_type = 135, s->ttl = 255;
	memcpy(s->dmac, _bf_mac_sol6, 6);
	s = _bf_add("ip6 sctp 2001:db8::1:1234 > 2001:db8::2:5000", 6,
		    PKT_PROTO_SCTP, "2001:db8::1", "2001:db8::2");
	s->dport = 5000;
	s = _bf_add("ip6 udplite 2001:db8::1:1234 > 2001:db8::2:1", 6,
		    PKT_PROTO_UDPLITE, "2001:db8::1", "2001:db8::2");
	s->dport = 1;
	s = _bf_add("ip6 tcp 2001:db8::1:1234 > ::1:22 (ipv6_rcv drops it)", 6,
		    PKT_PROTO_TCP, "2001:db8::1", "::1");
	s->dport = 22;
	s = _bf_add("ip6 udp ::2:53 > 2001:db8::2:53 no payload from 00:11:22:33:44:55",
		    6, PKT_PROTO_UDP, "::2", "2001:db8::2");
	s->sport = 53, s->dport = 53, s->payload_len = 0;
	memcpy(s->smac, _bf_mac_src, 6);

	/* Neither IPv4 nor IPv6. */
	s = _bf_add("arp who-has 10.0.0.2 tell 10.0.0.1 from 00:11:22:33:44:55",
		    0, 0, NULL, NULL);
	s->ethertype = 0x0806, s->payload_len = 28;
	memcpy(s->dmac, _bf_mac_bcast, 6);
	memcpy(s->smac, _bf_mac_src, 6);
	_bf_patch(PKT_ETH_HLEN,
		  "\x00\x01\x08\x00\x06\x04\x00\x01"
		  "\x00\x11\x22\x33\x44\x55\x0a\x00\x00\x01"
		  "\x00\x00\x00\x00\x00\x00\x0a\x00\x00\x02",
		  28, true);
}

/* Frames of --stdin lines, in _bf_frames[]; the descriptions are leaked
 * on purpose (the tool exits right after sending). */
static int _bf_read_frames(FILE *in)
{
	char line[256], proto[8], saddr[64], daddr[64];
	unsigned int sport, dport, len;
	struct pkt_spec *s;

	while (fgets(line, sizeof(line), in)) {
		line[strcspn(line, "\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		if (sscanf(line, "%7s %63s %63s %u %u %u", proto, saddr, daddr,
			   &sport, &dport, &len) != 6 ||
		    (strcmp(proto, "udp") && strcmp(proto, "tcp")) ||
		    sport > 65535 || dport > 65535 || len > 1400) {
			fprintf(stderr, "bf_inject: bad line: %s\n", line);
			return -1;
		}
		s = _bf_add(strdup(line), strchr(saddr, ':') ? 6 : 4,
			    strcmp(proto, "udp") ? PKT_PROTO_TCP : PKT_PROTO_UDP,
			    saddr, daddr);
		s->sport = (uint16_t)sport;
		s->dport = (uint16_t)dport;
		s->payload_len = len;
	}

	return 0;
}

int main(int argc, char **argv)
{
	uint8_t buf[PKT_MAX];
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_halen = 6 };
	unsigned long count = 1, only = 0;
	bool list = false, from_stdin = false;
	size_t sent = 0;
	int fd, i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--count") && i + 1 < argc) {
			count = strtoul(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
			only = strtoul(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--list")) {
			list = true;
		} else if (!strcmp(argv[i], "--stdin")) {
			from_stdin = true;
		} else {
			break;
		}
	}
	if (!from_stdin)
		_bf_make_frames();
	else if (_bf_read_frames(stdin))
		return 1;
	if (list) {
		for (size_t f = 0; f < _bf_n_frames; f++)
			printf("%zu %s\n", f + 1, _bf_frames[f].desc);
		return 0;
	}
	if (i != argc - 1 || !count || only > _bf_n_frames) {
		fprintf(stderr, "usage: %s [--count N] [--only K] [--list] [--stdin] IFACE\n",
			argv[0]);
		return 1;
	}

	sll.sll_ifindex = (int)if_nametoindex(argv[i]);
	if (!sll.sll_ifindex) {
		fprintf(stderr, "bf_inject: no interface %s\n", argv[i]);
		return 1;
	}
	/* Protocol 0: the socket sends but never receives. */
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0) {
		perror("bf_inject: socket");
		return 1;
	}

	for (unsigned long c = 0; c < count; c++) {
		for (size_t f = 0; f < _bf_n_frames; f++) {
			const struct _bf_frame *fr = &_bf_frames[f];
			struct pkt_layout layout;
			size_t at;
			int len;

			if (only && f + 1 != only)
				continue;
			len = pkt_build(&fr->spec, buf, sizeof(buf), &layout);
			if (len < 0) {
				fprintf(stderr, "bf_inject: frame %zu: %s\n", f + 1,
					strerror(-len));
				close(fd);
				return 1;
			}
			if (fr->patch.len) {
				at = fr->patch.l2 ? 0 : layout.th;
				memcpy(buf + at + fr->patch.off, fr->patch.bytes,
				       fr->patch.len);
			}
			memcpy(sll.sll_addr, fr->spec.dmac, 6);
			if (sendto(fd, buf, (size_t)len, 0, (struct sockaddr *)&sll,
				   sizeof(sll)) != len) {
				fprintf(stderr, "bf_inject: frame %zu: %s\n", f + 1,
					strerror(errno));
				close(fd);
				return 1;
			}
			sent++;
		}
	}
	close(fd);
	printf("sent %zu frames\n", sent);

	return 0;
}
