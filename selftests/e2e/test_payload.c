/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Payload loads at the link, network and transport header bases, for
 * every hook flavour and many packet shapes: each transport, VLAN tags,
 * IPv4 options, IPv6 extension headers, fragments and truncated packets.
 *
 * One program per (flavour, packet) holds a pair of rules per probe:
 * `payload; cmp eq <bytes>; counter` and `payload; cmp neq <bytes>;
 * counter`. A load that works counts the first rule only; a load that must
 * fail (past the end of the packet, transport header of a non-first
 * fragment...) counts neither: in nf_tables a failed load breaks the rule,
 * whatever comparison follows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/e2e.h"

static const uint8_t _lens[] = { 1, 2, 3, 4, 6, 8, 16 };

struct probe {
	enum bf_payload_base base;
	uint16_t off;
	uint8_t len;
	bool ok;
	uint8_t want[BF_DATA_MAX];
};

#define _PROBES_MAX 256

/* How a packet kind behaves. */
struct kind {
	const char *name;
	int l3;
	bool l2_only; /* VLAN frames: XDP/TC only */
	void (*setup)(struct pkt_spec *spec);
	uint8_t l4proto;
	size_t cut; /* > 0: pass only this many bytes (frame offset) */
	bool cut_at_th; /* cut is relative to the transport header */
	bool th_fails; /* transport header loads must fail */
	/* A later fragment: nf_tables' fast path (1, 2 or 4-byte aligned
	 * loads) reads its data at the transport offset as is; every other
	 * transport load fails. */
	bool th_frag;
	bool th_unspec; /* in-bounds transport loads are not checked */
	uint8_t want_l4proto; /* meta l4proto expected (0: spec l4proto) */
	/* nf_tables' transport header is this many bytes before the
	 * builder's (IPv6 AH: ipv6_find_hdr() stops at it). */
	size_t th_back;
	/* Zero bytes after the IP packet (Ethernet padding): loads inside the
	 * IP packet and past the frame are checked, loads that reach into
	 * the padding are not (netdev sees it, ip_rcv() trims it). */
	size_t pad;
	/* Break the frame after building it (malformed headers). */
	void (*mangle)(uint8_t *pkt, const struct pkt_layout *l);
	/* No transport protocol at all: meta l4proto fails (netdev only). */
	bool no_l4proto;
	/* BPF_PROG_TEST_RUN for skb programs refuses a frame without a whole
	 * network header (-EINVAL): XDP only. */
	bool xdp_only;
};

/* State of the (flavour, kind) tests: { flavour, kind }. */
static const struct e2e_flavour *_fk_flavour(void **state)
{
	return ((const void **)*state)[0];
}

static const struct kind *_fk_kind(void **state)
{
	return ((const void **)*state)[1];
}

static size_t _base_off(const struct pkt_layout *l, enum bf_payload_base b)
{
	switch (b) {
	case BF_PAYLOAD_LL:
		return 0;
	case BF_PAYLOAD_NH:
		return l->nh;
	default:
		return l->th;
	}
}

static size_t _gen_probes(const struct e2e_flavour *f, const struct kind *k,
			  const uint8_t *pkt, size_t len,
			  const struct pkt_layout *l, struct probe *probes)
{
	static const uint16_t offs[] = { 0, 1, 2, 5, 12, 20, 38, 60 };
	size_t n = 0;
	int b;

	for (b = 0; b < _BF_PAYLOAD_MAX; b++) {
		size_t i, j;

		if (b == BF_PAYLOAD_LL && !e2e_hook_is_l2(f->hook))
			continue;

		for (i = 0; i < ARRAY_SIZE(_lens); i++) {
			for (j = 0; j < ARRAY_SIZE(offs); j++) {
				struct probe *p = &probes[n];
				size_t start = _base_off(l, b) + offs[j];
				size_t c;

				p->base = b;
				p->off = offs[j];
				p->len = _lens[i];
				p->ok = start + _lens[i] <= len;
				if (b == BF_PAYLOAD_TH && k->th_fails)
					p->ok = false;
				if (b == BF_PAYLOAD_TH && k->th_frag &&
				    !((_lens[i] == 1 || _lens[i] == 2 || _lens[i] == 4) &&
				      !(offs[j] % _lens[i])))
					p->ok = false;
				/* Spread over a few offsets only, but always
				 * keep the ones that straddle the end. */
				if (p->ok && (i + j) % 3 && offs[j] > 2)
					continue;
				if (b == BF_PAYLOAD_TH && p->ok && k->th_unspec)
					continue;
				if (k->pad && start + _lens[i] > l->len &&
				    start + _lens[i] <= len)
					continue;
				memset(p->want, 0, sizeof(p->want));
				for (c = 0; c < _lens[i]; c++) {
					if (start + c < len)
						p->want[c] = pkt[start + c];
				}
				n++;
				assert_true(n < _PROBES_MAX);
			}
		}
	}

	return n;
}

/* Probes per program: enough to share the parse prologue, few enough to
 * keep each program small (this is about load semantics, not scale). */
#define _PROBES_PER_PROG 32

static size_t _run_probe_batch(const struct e2e_flavour *f,
			       const struct kind *k, const uint8_t *pkt,
			       size_t len, const struct probe *probes, size_t n)
{
	size_t i, bad = 0;
	struct e2e t;

	e2e_init_flavour(&t, f, BF_VERDICT_ACCEPT);
	for (i = 0; i < n; i++) {
		const struct probe *p = &probes[i];
		uint8_t nregs = (p->len + 3) / 4;
		uint8_t dreg = (i * 5) % (BF_REG_COUNT - nregs + 1);

		E2E_RULE(&t, NULL, bf_expr_payload(p->base, p->off, p->len, dreg),
			 e2e_cmp_bytes(BF_CMP_EQ, dreg, p->want, p->len),
			 bf_expr_counter());
		E2E_RULE(&t, NULL, bf_expr_payload(p->base, p->off, p->len, dreg),
			 e2e_cmp_bytes(BF_CMP_NEQ, dreg, p->want, p->len),
			 bf_expr_counter());
	}
	e2e_load(&t);
	e2e_expect(&t, pkt, len, BF_VERDICT_ACCEPT);

	for (i = 0; i < n; i++) {
		const struct probe *p = &probes[i];
		uint64_t eq, neq, bytes;

		e2e_counter(&t, NULL, 2 * i, 2, &eq, &bytes);
		e2e_counter(&t, NULL, 2 * i + 1, 2, &neq, &bytes);
		if (eq != (p->ok ? 1 : 0) || neq != 0) {
			fprintf(stderr,
				"# %s %s: payload %s+%u len %u (frame %zu bytes): load should %s, eq rule %lu, neq rule %lu\n",
				f->name, k->name, bf_payload_base_to_str(p->base),
				p->off, p->len, len,
				p->ok ? "work" : "fail", (unsigned long)eq,
				(unsigned long)neq);
			bad++;
		}
	}
	e2e_fini(&t);

	return bad;
}

static void _run_probes(const struct e2e_flavour *f, const struct kind *k,
			const uint8_t *pkt, size_t len,
			const struct pkt_layout *l)
{
	struct probe *probes = calloc(_PROBES_MAX, sizeof(*probes));
	size_t n, i, bad = 0;

	assert_non_null(probes);
	n = _gen_probes(f, k, pkt, len, l, probes);
	for (i = 0; i < n; i += _PROBES_PER_PROG)
		bad += _run_probe_batch(f, k, pkt, len, probes + i,
					BF_MIN(n - i, (size_t)_PROBES_PER_PROG));
	free(probes);
	assert_int_equal(bad, 0);
}

static size_t _build(const struct kind *k, uint8_t *pkt,
		     struct pkt_layout *l, struct pkt_spec *spec)
{
	size_t len;

	pkt_spec_init(spec, k->l3, k->l4proto);
	spec->payload_len = 64;
	if (k->setup)
		k->setup(spec);
	len = e2e_pkt(spec, pkt, PKT_MAX, l);
	l->th -= k->th_back;
	if (k->cut)
		len = k->cut_at_th ? l->th + k->cut : k->cut;
	if (k->pad) {
		memset(pkt + len, 0, k->pad);
		len += k->pad;
	}
	if (k->mangle)
		k->mangle(pkt, l);

	return len;
}

/* All loads, as probes. */
static void test_loads(void **state)
{
	const struct e2e_flavour *f = _fk_flavour(state);
	const struct kind *k = _fk_kind(state);
	struct pkt_spec spec;
	struct pkt_layout l;
	uint8_t pkt[PKT_MAX];
	size_t len = _build(k, pkt, &l, &spec);

	_run_probes(f, k, pkt, len, &l);
}

/* `meta l4proto` finds the transport protocol after options and
 * extension headers (AH stops the walk: nf_tables calls ipv6_find_hdr()
 * with IP6_FH_F_AUTH); `th dport` on it works unless the header is not in
 * the packet. */
static void test_l4proto(void **state)
{
	const struct e2e_flavour *f = _fk_flavour(state);
	const struct kind *k = _fk_kind(state);
	uint8_t want = k->want_l4proto ? k->want_l4proto : k->l4proto;
	struct pkt_spec spec;
	struct pkt_layout l;
	uint8_t pkt[PKT_MAX];
	size_t len = _build(k, pkt, &l, &spec);
	struct e2e t;

	e2e_init_flavour(&t, f, BF_VERDICT_ACCEPT);
	E2E_RULE(&t, NULL, bf_expr_meta(BF_META_L4PROTO, 3),
		 e2e_cmp_u8(BF_CMP_EQ, 3, want), bf_expr_counter());
	E2E_RULE(&t, NULL, bf_expr_meta(BF_META_L4PROTO, 3),
		 e2e_cmp_u8(BF_CMP_NEQ, 3, want), bf_expr_counter());
	e2e_load(&t);
	e2e_expect(&t, pkt, len, BF_VERDICT_ACCEPT);
	/* Truncated packets: nf_tables netdev finds no transport protocol
	 * in a packet shorter than its IP length, other hooks do; unchecked. */
	if (k->no_l4proto) {
		e2e_expect_counter(&t, NULL, 0, 2, 0, 0);
		e2e_expect_counter(&t, NULL, 1, 2, 0, 0);
	} else if (!k->cut) {
		e2e_expect_counter(&t, NULL, 0, 2, 1,
				   e2e_seen_len_l2(f->hook, len,
						   spec.vlan ? PKT_ETH_HLEN + 4 : PKT_ETH_HLEN));
		e2e_expect_counter(&t, NULL, 1, 2, 0, 0);
	}
	e2e_fini(&t);
}

/* The verdict form the brief asks for: `th dport == X drop` and
 * `th dport != Y drop`, policy accept. */
static void test_dport_verdict(void **state)
{
	const struct e2e_flavour *f = _fk_flavour(state);
	const struct kind *k = _fk_kind(state);
	struct pkt_spec spec;
	struct pkt_layout l;
	uint8_t pkt[PKT_MAX];
	size_t len = _build(k, pkt, &l, &spec);
	bool present = !k->th_fails && l.th + 4 <= len;
	const struct bf_expr eq[] = {
		bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 0),
		e2e_cmp_be16(BF_CMP_EQ, 0, spec.dport),
		e2e_drop(),
	};
	const struct bf_expr neq[] = {
		bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 0),
		e2e_cmp_be16(BF_CMP_NEQ, 0, spec.dport + 1),
		e2e_drop(),
	};
	int want = e2e_retval(f->hook, present ? BF_VERDICT_DROP :
						 BF_VERDICT_ACCEPT);

	/* With AH as transport header, th+2 holds AH's reserved zeros:
	 * the eq rule misses and the neq rule drops. */
	if (k->th_back) {
		assert_int_equal(e2e_verdict_of(f, BF_VERDICT_ACCEPT, eq, 3,
						pkt, len),
				 e2e_retval(f->hook, BF_VERDICT_ACCEPT));
		assert_int_equal(e2e_verdict_of(f, BF_VERDICT_ACCEPT, neq, 3,
						pkt, len),
				 e2e_retval(f->hook, BF_VERDICT_DROP));
		return;
	}
	/* A later fragment: th+2 holds fragment data, compared as is. */
	if (k->th_frag) {
		uint16_t got = (uint16_t)(pkt[l.th + 2] << 8 | pkt[l.th + 3]);

		assert_true(l.th + 4 <= len);
		assert_int_equal(e2e_verdict_of(f, BF_VERDICT_ACCEPT, eq, 3, pkt, len),
				 e2e_retval(f->hook, got == spec.dport ?
						     BF_VERDICT_DROP : BF_VERDICT_ACCEPT));
		assert_int_equal(e2e_verdict_of(f, BF_VERDICT_ACCEPT, neq, 3, pkt, len),
				 e2e_retval(f->hook, got != spec.dport + 1 ?
						     BF_VERDICT_DROP : BF_VERDICT_ACCEPT));
		return;
	}
	/* main() registers this test only where it applies. */
	assert_int_equal(e2e_verdict_of(f, BF_VERDICT_ACCEPT, eq, 3, pkt, len),
			 want);
	assert_int_equal(e2e_verdict_of(f, BF_VERDICT_ACCEPT, neq, 3, pkt, len),
			 want);
}

static void _vlan(struct pkt_spec *s)
{
	s->vlan = true;
	s->vlan_tci = 0x2064; /* PCP 1, VID 100 */
}

static void _opts4(struct pkt_spec *s)
{
	s->ip_opts_len = 4;
}

static void _opts40(struct pkt_spec *s)
{
	s->ip_opts_len = 40;
	s->sport = 0x1111;
	s->dport = 0x2222;
}

static void _hbh(struct pkt_spec *s)
{
	pkt_spec_add_ext(s, PKT_EXT_HOPOPTS, 0);
}

static void _dst24(struct pkt_spec *s)
{
	pkt_spec_add_ext(s, PKT_EXT_DSTOPTS, 24);
}

static void _rt(struct pkt_spec *s)
{
	pkt_spec_add_ext(s, PKT_EXT_ROUTING, 16);
}

static void _chain6(struct pkt_spec *s)
{
	pkt_spec_add_ext(s, PKT_EXT_HOPOPTS, 8);
	pkt_spec_add_ext(s, PKT_EXT_DSTOPTS, 16);
	pkt_spec_add_ext(s, PKT_EXT_ROUTING, 24);
	pkt_spec_add_ext(s, PKT_EXT_FRAGMENT, 0);
	s->ext[3].mf = true;
	pkt_spec_add_ext(s, PKT_EXT_DSTOPTS, 8);
}

static void _ah6(struct pkt_spec *s)
{
	pkt_spec_add_ext(s, PKT_EXT_HOPOPTS, 0);
	pkt_spec_add_ext(s, PKT_EXT_AH, 24);
}

static void _frag4_first(struct pkt_spec *s)
{
	s->mf = true;
}

static void _frag4_later(struct pkt_spec *s)
{
	s->frag_off = 185;
}

static void _frag6_first(struct pkt_spec *s)
{
	pkt_spec_add_ext(s, PKT_EXT_FRAGMENT, 0);
	s->ext[0].mf = true;
}

static void _frag6_later(struct pkt_spec *s)
{
	pkt_spec_add_ext(s, PKT_EXT_HOPOPTS, 0);
	pkt_spec_add_ext(s, PKT_EXT_FRAGMENT, 0);
	s->ext[1].frag_off = 100;
}

static void _vlan_ext6(struct pkt_spec *s)
{
	_vlan(s);
	pkt_spec_add_ext(s, PKT_EXT_HOPOPTS, 0);
	pkt_spec_add_ext(s, PKT_EXT_DSTOPTS, 0);
}

static void _vlan_opts4(struct pkt_spec *s)
{
	_vlan(s);
	s->ip_opts_len = 12;
}

static void _nopayload(struct pkt_spec *s)
{
	s->payload_len = 0;
}

static void _payload2(struct pkt_spec *s)
{
	s->payload_len = 2;
}

/* IPv4 header length 4 words: below the minimum. */
static void _bad_ihl(uint8_t *pkt, const struct pkt_layout *l)
{
	pkt[l->nh] = 0x44;
}

/* IPv4 ethertype carrying an IPv6 header's version nibble. */
static void _bad_version4(uint8_t *pkt, const struct pkt_layout *l)
{
	pkt[l->nh] = 0x65;
}

/* IPv6 ethertype carrying version 4. */
static void _bad_version6(uint8_t *pkt, const struct pkt_layout *l)
{
	pkt[l->nh] = 0x40 | (pkt[l->nh] & 0x0f);
}

/* IPv4 total length shorter than the header. */
static void _short_totlen(uint8_t *pkt, const struct pkt_layout *l)
{
	pkt[l->nh + 2] = 0;
	pkt[l->nh + 3] = 19;
}

static const struct kind _kinds[] = {
	{ "ip4_tcp", 4, .l4proto = PKT_PROTO_TCP },
	{ "ip4_udp", 4, .l4proto = PKT_PROTO_UDP },
	{ "ip4_udplite", 4, .l4proto = PKT_PROTO_UDPLITE },
	{ "ip4_sctp", 4, .l4proto = PKT_PROTO_SCTP },
	{ "ip4_icmp", 4, .l4proto = PKT_PROTO_ICMP },
	{ "ip6_tcp", 6, .l4proto = PKT_PROTO_TCP },
	{ "ip6_udp", 6, .l4proto = PKT_PROTO_UDP },
	{ "ip6_udplite", 6, .l4proto = PKT_PROTO_UDPLITE },
	{ "ip6_sctp", 6, .l4proto = PKT_PROTO_SCTP },
	{ "ip6_icmpv6", 6, .l4proto = PKT_PROTO_ICMPV6 },
	{ "vlan_ip4_udp", 4, true, _vlan, PKT_PROTO_UDP },
	{ "vlan_ip6_tcp", 6, true, _vlan, PKT_PROTO_TCP },
	{ "vlan_ip4_opts_tcp", 4, true, _vlan_opts4, PKT_PROTO_TCP },
	{ "vlan_ip6_ext_udp", 6, true, _vlan_ext6, PKT_PROTO_UDP },
	{ "ip4_opts4_tcp", 4, .setup = _opts4, .l4proto = PKT_PROTO_TCP },
	{ "ip4_opts40_udp", 4, .setup = _opts40, .l4proto = PKT_PROTO_UDP },
	{ "ip6_hbh_udp", 6, .setup = _hbh, .l4proto = PKT_PROTO_UDP },
	{ "ip6_dst24_tcp", 6, .setup = _dst24, .l4proto = PKT_PROTO_TCP },
	{ "ip6_rt_sctp", 6, .setup = _rt, .l4proto = PKT_PROTO_SCTP },
	{ "ip6_chain_udp", 6, .setup = _chain6, .l4proto = PKT_PROTO_UDP },
	{ "ip6_ah_udp", 6, .setup = _ah6, .l4proto = PKT_PROTO_UDP,
	  .want_l4proto = PKT_EXT_AH, .th_back = 24 },
	{ "ip4_frag_first_udp", 4, .setup = _frag4_first,
	  .l4proto = PKT_PROTO_UDP },
	{ "ip4_frag_later_udp", 4, .setup = _frag4_later,
	  .l4proto = PKT_PROTO_UDP, .th_frag = true },
	{ "ip6_frag_first_tcp", 6, .setup = _frag6_first,
	  .l4proto = PKT_PROTO_TCP },
	{ "ip6_frag_later_udp", 6, .setup = _frag6_later,
	  .l4proto = PKT_PROTO_UDP, .th_frag = true },
	/* Ethernet padding: a 42-byte frame padded to 60. */
	{ "ip4_udp_padded", 4, .setup = _nopayload, .l4proto = PKT_PROTO_UDP,
	  .pad = 18 },
	{ "ip6_tcp_padded", 6, .setup = _payload2, .l4proto = PKT_PROTO_TCP,
	  .pad = 6 },
	{ "vlan_ip4_icmp_padded", 4, true, _vlan, PKT_PROTO_ICMP, .pad = 10 },
	/* Malformed network headers (nf_tables netdev: no transport header,
	 * no l4proto; network-header loads still read the bytes). */
	{ "ip4_bad_ihl_udp", 4, true, .l4proto = PKT_PROTO_UDP,
	  .mangle = _bad_ihl, .th_fails = true, .no_l4proto = true },
	{ "ip4_bad_version_tcp", 4, true, .l4proto = PKT_PROTO_TCP,
	  .mangle = _bad_version4, .th_fails = true, .no_l4proto = true },
	{ "ip6_bad_version_udp", 6, true, .l4proto = PKT_PROTO_UDP,
	  .mangle = _bad_version6, .th_fails = true, .no_l4proto = true },
	{ "ip4_short_totlen_udp", 4, true, .l4proto = PKT_PROTO_UDP,
	  .mangle = _short_totlen, .th_fails = true, .no_l4proto = true },
	/* Cut inside the network header. */
	{ "ip4_cut_nh10", 4, true, .l4proto = PKT_PROTO_UDP,
	  .cut = PKT_ETH_HLEN + 10, .th_fails = true, .no_l4proto = true,
	  .xdp_only = true },
	{ "ip6_cut_nh20", 6, true, .l4proto = PKT_PROTO_TCP,
	  .cut = PKT_ETH_HLEN + 20, .th_fails = true, .no_l4proto = true,
	  .xdp_only = true },
	{ "ip6_cut_in_ext", 6, true, .setup = _chain6,
	  .l4proto = PKT_PROTO_UDP, .cut = PKT_ETH_HLEN + 40 + 12,
	  .th_fails = true, .no_l4proto = true },
	/* Truncated: loads past the end fail. In-bounds transport loads are
	 * not checked (nf_tables netdev refuses the transport header of an
	 * IPv4 packet shorter than its total length, other hooks read it). */
	{ "ip4_udp_cut_th3", 4, .l4proto = PKT_PROTO_UDP, .cut = 3,
	  .cut_at_th = true, .th_unspec = true },
	{ "ip4_tcp_cut_th13", 4, .l4proto = PKT_PROTO_TCP, .cut = 13,
	  .cut_at_th = true, .th_unspec = true },
	{ "ip6_udp_cut_th1", 6, .l4proto = PKT_PROTO_UDP, .cut = 1,
	  .cut_at_th = true, .th_unspec = true },
	{ "ip6_sctp_cut_th8", 6, .l4proto = PKT_PROTO_SCTP, .cut = 8,
	  .cut_at_th = true, .th_unspec = true },
	{ "ip4_udp_cut_th0", 4, .l4proto = PKT_PROTO_UDP, .cut = 0 + 1,
	  .cut_at_th = true, .th_unspec = true },
	{ "ip4_opts_udp_cut_th2", 4, .setup = _opts40, .l4proto = PKT_PROTO_UDP,
	  .cut = 2, .cut_at_th = true, .th_unspec = true },
	{ "ip6_ext_tcp_cut_th5", 6, .setup = _chain6, .l4proto = PKT_PROTO_TCP,
	  .cut = 5, .cut_at_th = true, .th_unspec = true },
};

/* dport_verdict needs ports, and a defined answer when the ports are in
 * the frame of a truncated packet. */
static bool _dport_applies(const struct kind *k)
{
	struct pkt_spec spec;
	struct pkt_layout l;
	uint8_t pkt[PKT_MAX];
	size_t len;

	if (k->th_back)
		return true;
	if (pkt_l4_hlen(k->l4proto) < 4 || k->l4proto == PKT_PROTO_ICMP ||
	    k->l4proto == PKT_PROTO_ICMPV6)
		return false;
	len = _build(k, pkt, &l, &spec);

	return !(k->th_unspec && !k->th_fails && l.th + 4 <= len);
}

struct _test_def {
	const char *name;
	CMUnitTestFunction fn;
	bool (*applies)(const struct kind *k);
};

static const struct _test_def _tests[] = {
	{ "loads", test_loads },
	{ "l4proto", test_l4proto },
	{ "dport_verdict", test_dport_verdict, _dport_applies },
};

/* nf_tables netdev (nft_set_pktinfo_ipv4/6_validate): a packet shorter
 * than its IP length has no transport header and no l4proto, even where
 * the bytes are there. */
static void test_ip_len_exceeds_frame(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	struct pkt_spec spec;
	struct pkt_layout l;
	uint8_t pkt[PKT_MAX];
	size_t len;
	struct e2e t;

	pkt_spec_init(&spec, f->l3, PKT_PROTO_UDP);
	spec.payload_len = 32;
	len = e2e_pkt(&spec, pkt, sizeof(pkt), &l) - 10;

	e2e_init_flavour(&t, f, BF_VERDICT_ACCEPT);
	E2E_RULE(&t, NULL, bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 0),
		 e2e_cmp_be16(BF_CMP_EQ, 0, spec.dport), bf_expr_counter(),
		 e2e_drop());
	E2E_RULE(&t, NULL, bf_expr_meta(BF_META_L4PROTO, 0),
		 e2e_cmp_u8(BF_CMP_EQ, 0, PKT_PROTO_UDP), bf_expr_counter(),
		 e2e_drop());
	/* The network header itself is still there. */
	E2E_RULE(&t, NULL, bf_expr_payload(BF_PAYLOAD_NH, 0, 1, 0),
		 e2e_cmp_u8(BF_CMP_EQ, 0, pkt[l.nh]), bf_expr_counter());
	e2e_load(&t);
	e2e_expect(&t, pkt, len, BF_VERDICT_ACCEPT);
	e2e_expect_counter(&t, NULL, 2, 2, 1, e2e_seen_len(f->hook, len));
	/* Whole, it matches. */
	e2e_expect(&t, pkt, len + 10, BF_VERDICT_DROP);
	e2e_fini(&t);
}

/* Link-layer loads at netfilter hooks: nf_tables reads the MAC header
 * of the frame that brought the packet (here Ethernet, for prerouting,
 * input and forward). */
static void test_ll_at_nf(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	struct pkt_spec spec;
	struct pkt_layout l;
	uint8_t pkt[PKT_MAX];
	size_t len;
	struct e2e t;

	pkt_spec_init(&spec, f->l3, PKT_PROTO_TCP);
	len = e2e_pkt(&spec, pkt, sizeof(pkt), &l);

	e2e_init_flavour(&t, f, BF_VERDICT_ACCEPT);
	/* ether saddr */
	E2E_RULE(&t, NULL, bf_expr_payload(BF_PAYLOAD_LL, 6, 6, 0),
		 e2e_cmp_bytes(BF_CMP_EQ, 0, spec.smac, 6), bf_expr_counter());
	/* ether type */
	E2E_RULE(&t, NULL, bf_expr_payload(BF_PAYLOAD_LL, 12, 2, 0),
		 e2e_cmp_be16(BF_CMP_EQ, 0,
			      f->l3 == 6 ? PKT_ETH_P_IPV6 : PKT_ETH_P_IP),
		 bf_expr_counter());
	e2e_load(&t);
	e2e_expect(&t, pkt, len, BF_VERDICT_ACCEPT);
	e2e_expect_counter(&t, NULL, 0, 2, 1, len - PKT_ETH_HLEN);
	e2e_expect_counter(&t, NULL, 1, 2, 1, len - PKT_ETH_HLEN);
	e2e_fini(&t);
}

/* Two loads in one rule land in their own registers; a later load does
 * not clobber an earlier one. */
static void test_multi_load(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	struct pkt_spec spec;
	uint8_t pkt[PKT_MAX];
	uint16_t saddr_off = f->l3 == 6 ? 8 : 12;
	uint8_t alen = f->l3 == 6 ? 16 : 4;
	size_t len;
	struct e2e t;

	pkt_spec_init(&spec, f->l3, PKT_PROTO_TCP);
	len = e2e_pkt(&spec, pkt, sizeof(pkt), NULL);

	e2e_init_flavour(&t, f, BF_VERDICT_ACCEPT);
	E2E_RULE(&t, NULL, bf_expr_payload(BF_PAYLOAD_NH, saddr_off, alen, 0),
		 bf_expr_payload(BF_PAYLOAD_TH, 0, 2, 4),
		 bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 5),
		 bf_expr_payload(BF_PAYLOAD_NH, saddr_off + alen, alen, 8),
		 e2e_cmp_bytes(BF_CMP_EQ, 0, spec.saddr, alen),
		 e2e_cmp_be16(BF_CMP_EQ, 4, spec.sport),
		 e2e_cmp_be16(BF_CMP_EQ, 5, spec.dport),
		 e2e_cmp_bytes(BF_CMP_EQ, 8, spec.daddr, alen), e2e_drop());
	e2e_load(&t);
	e2e_expect(&t, pkt, len, BF_VERDICT_DROP);
	e2e_fini(&t);

	/* A payload load at offset 255 (BF_PAYLOAD_OFFSET_MAX): works when
	 * the packet ends right after that byte, fails one byte shorter. The
	 * packets are built whole (not cut) so their IP length is right. */
	e2e_init_flavour(&t, f, BF_VERDICT_ACCEPT);
	E2E_RULE(&t, NULL, bf_expr_payload(BF_PAYLOAD_TH, 255, 1, 7),
		 e2e_cmp_u8(BF_CMP_EQ, 7,
			    (uint8_t)(spec.payload_seed + 255 - 20)),
		 e2e_drop());
	E2E_RULE(&t, NULL, bf_expr_payload(BF_PAYLOAD_TH, 255, 1, 7),
		 e2e_cmp_u8(BF_CMP_NEQ, 7,
			    (uint8_t)(spec.payload_seed + 255 - 20)),
		 e2e_drop());
	e2e_load(&t);
	spec.payload_len = 300;
	len = e2e_pkt(&spec, pkt, sizeof(pkt), NULL);
	e2e_expect(&t, pkt, len, BF_VERDICT_DROP);
	spec.payload_len = 236;
	len = e2e_pkt(&spec, pkt, sizeof(pkt), NULL);
	e2e_expect(&t, pkt, len, BF_VERDICT_DROP);
	spec.payload_len = 235;
	len = e2e_pkt(&spec, pkt, sizeof(pkt), NULL);
	e2e_expect(&t, pkt, len, BF_VERDICT_ACCEPT);
	e2e_fini(&t);
}

/* Many rules loading different fields must still load: 128 rules
 * `payload th + off len; cmp eq; counter` with varied offsets and lengths
 * (a ruleset matching many fields). The verifier has a budget of 1M
 * processed instructions; the program must stay within it. */
static void test_many_varied_loads(void **state)
{
	const struct e2e_flavour *f = e2e_state_flavour(state);
	static const uint8_t lens[] = { 1, 2, 3, 4, 6, 8, 16 };
	uint8_t zero[BF_DATA_MAX] = {};
	uint8_t pkt[PKT_MAX];
	struct pkt_spec spec;
	size_t len;
	struct e2e t;
	int i;

	pkt_spec_init(&spec, f->l3, PKT_PROTO_UDP);
	spec.payload_len = 100;
	len = e2e_pkt(&spec, pkt, sizeof(pkt), NULL);

	e2e_init_flavour(&t, f, BF_VERDICT_ACCEPT);
	for (i = 0; i < 128; i++) {
		uint8_t l = lens[i % ARRAY_SIZE(lens)];

		E2E_RULE(&t, NULL,
			 bf_expr_payload(BF_PAYLOAD_TH, (i * 7) % 61, l, 0),
			 e2e_cmp_bytes(BF_CMP_EQ, 0, zero, l), bf_expr_counter());
	}
	E2E_RULE(&t, NULL, bf_expr_payload(BF_PAYLOAD_TH, 2, 2, 0),
		 e2e_cmp_be16(BF_CMP_EQ, 0, spec.dport), e2e_drop());
	e2e_load(&t);
	e2e_expect(&t, pkt, len, BF_VERDICT_DROP);
	e2e_fini(&t);
}

static int _add(struct CMUnitTest *tests, size_t *n, const char *name,
		CMUnitTestFunction fn, void *state)
{
	char *s = strdup(name);

	if (!s)
		return -1;
	tests[(*n)++] = (struct CMUnitTest) {
		.name = s,
		.test_func = fn,
		.initial_state = state,
	};

	return 0;
}

int main(void)
{
	size_t cap = e2e_n_flavours * (ARRAY_SIZE(_kinds) * ARRAY_SIZE(_tests) + 4);
	struct CMUnitTest *tests = calloc(cap, sizeof(*tests));
	size_t n = 0, i, j, m;
	int r;

	/* E2E_FILTER=PATTERN (cmocka wildcards) runs only the tests whose name matches. */
	if (getenv("E2E_FILTER"))
		cmocka_set_test_filter(getenv("E2E_FILTER"));

	if (!tests)
		return 1;

	for (i = 0; i < e2e_n_flavours; i++) {
		const struct e2e_flavour *f = &e2e_flavours[i];
		char name[256];

		for (j = 0; j < ARRAY_SIZE(_kinds); j++) {
			const struct kind *k = &_kinds[j];
			const void **st;

			if (k->l3 != f->l3)
				continue;
			if (k->l2_only && !e2e_hook_is_l2(f->hook))
				continue;
			if (k->xdp_only && f->hook != BF_HOOK_XDP)
				continue;
			for (m = 0; m < ARRAY_SIZE(_tests); m++) {
				if (_tests[m].applies && !_tests[m].applies(k))
					continue;
				/* state: { flavour, kind } */
				st = malloc(2 * sizeof(*st));
				if (!st)
					return 1;
				st[0] = f;
				st[1] = k;
				snprintf(name, sizeof(name), "%s/%s/%s", f->name,
					 k->name, _tests[m].name);
				if (_add(tests, &n, name, _tests[m].fn, st))
					return 1;
			}
		}

		if (e2e_hook_is_l2(f->hook)) {
			snprintf(name, sizeof(name), "%s/ip_len_exceeds_frame",
				 f->name);
			if (_add(tests, &n, name, test_ip_len_exceeds_frame,
				 (void *)f))
				return 1;
		}
		if (f->hook == BF_HOOK_XDP || f->hook == BF_HOOK_NF_LOCAL_IN) {
			snprintf(name, sizeof(name), "%s/many_varied_loads",
				 f->name);
			if (_add(tests, &n, name, test_many_varied_loads,
				 (void *)f))
				return 1;
		}
		snprintf(name, sizeof(name), "%s/multi_load", f->name);
		if (_add(tests, &n, name, test_multi_load, (void *)f))
			return 1;
		if (f->hook == BF_HOOK_NF_PRE_ROUTING ||
		    f->hook == BF_HOOK_NF_LOCAL_IN ||
		    f->hook == BF_HOOK_NF_FORWARD) {
			snprintf(name, sizeof(name), "%s/ll_at_nf", f->name);
			if (_add(tests, &n, name, test_ll_at_nf, (void *)f))
				return 1;
		}
	}

	r = _cmocka_run_group_tests("payload", tests, n, NULL, NULL);

	return r;
}
