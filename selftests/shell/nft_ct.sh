#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A stateful ruleset through unmodified nft, with real TCP between two
# namespaces, against bpfilter first (in a namespace where conntrack never
# ran, so it is bpfilter that turns it on) and then against kernel
# nf_tables in the same namespace; both must give the same outcomes:
#
#   table inet f { chain in { type filter hook input priority 0; policy drop;
#       ct state established,related accept
#       ct state invalid drop
#       tcp dport 22 ct state new accept } }
#
#   (a) B's outbound TCP connection to A works (the replies are established);
#   (b) an inbound connection to port 22 works, to port 2222 does not;
#   (c) B's ping to A is answered, A's ping to B is not;
#   (d) a chain before conntrack (prerouting priority -300) sees
#       `ct state invalid` (no entry yet), a chain after it sees
#       `ct state new` for the first packet, as with nf_tables, and
#       `ct expiration` of established replies is in nft_ct's unit (ms:
#       more than 4 days of the 5 an established TCP entry gets);
#   (e) while the ruleset is in, conntrack runs in B (entries in
#       /proc/net/nf_conntrack, bpfilter's owned anchor table in the
#       kernel's nf_tables); `flush ruleset` lets it go, and the anchor
#       follows the chains that read ct, per family, rule by rule.
#
# Kernel selftest conventions: exit 0 pass, 1 fail, 4 skip; TAP lines.
# The host's ruleset is never touched.

set -u

# shellcheck source=selftests/shell/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bf_nft_setup

knft() { ip netns exec "$NS_B" timeout 20 "$NFT" "$@"; }

cat >"$bf_tmpdir/rules.nft" <<'EOF'
table inet f {
	chain in {
		type filter hook input priority 0; policy drop;
		ct state established,related accept
		ct state invalid drop
		tcp dport 22 ct state new accept
	}
	chain early {
		type filter hook prerouting priority -300; policy accept;
		ct state invalid counter
		ct state new counter
	}
	chain late {
		type filter hook prerouting priority 0; policy accept;
		ct state invalid counter
		ct state new counter
		ct state established ct expiration > 1s ct direction reply counter
		ct state established ct expiration > 4d ct direction reply counter
		ct expiration > 6d counter
	}
}
EOF

_tcp_listening() {
	ip netns exec "$1" ss -Hltn 2>/dev/null | grep -q ":$2 "
}

# tcp_ok SRC_NS DST_NS ADDR PORT: a connection from SRC to ADDR:PORT in
# DST carries a line.
tcp_ok() {
	local src=$1 dst=$2 addr=$3 port=$4 out pid rc
	out=$bf_tmpdir/tcp.$port.$RANDOM
	: >"$out"
	timeout 10 ip netns exec "$dst" nc -n -l "$addr" "$port" >"$out" 2>/dev/null &
	pid=$!
	bf_track_pid "$pid"
	bf_wait_for 3 _tcp_listening "$dst" "$port"
	echo "bf-ct-$port" | timeout 6 ip netns exec "$src" nc -n -N -w 2 \
		"$addr" "$port" >/dev/null 2>&1
	rc=$?
	[ "$rc" -eq 0 ] && bf_wait_for 2 grep -q "bf-ct-$port" "$out"
	rc=$?
	bf_kill_pid "$pid" >/dev/null 2>&1
	rm -f "$out"
	return $rc
}

entries() { ip netns exec "$NS_B" cat /proc/net/nf_conntrack 2>/dev/null | wc -l; }

# outcomes TAG NFT_FN: run (a)-(c), one word per check in $bf_tmpdir/TAG.
outcomes() {
	local tag=$1 res=()
	tcp_ok "$NS_B" "$NS_A" "$BF_A4" 8080 && res+=(out-ok) || res+=(out-blocked)
	tcp_ok "$NS_A" "$NS_B" "$BF_B4" 22 && res+=(in22-ok) || res+=(in22-blocked)
	tcp_ok "$NS_A" "$NS_B" "$BF_B4" 2222 && res+=(in2222-ok) || res+=(in2222-blocked)
	tcp_ok "$NS_B" "$NS_A" "$BF_A6" 8081 && res+=(out6-ok) || res+=(out6-blocked)
	tcp_ok "$NS_A" "$NS_B" "$BF_B6" 2223 && res+=(in6-ok) || res+=(in6-blocked)
	bf_ping "$NS_B" "$BF_A4" && res+=(ping-out-ok) || res+=(ping-out-lost)
	bf_ping_fails "$NS_A" "$BF_B4" && res+=(ping-in-lost) || res+=(ping-in-ok)
	echo "${res[*]}" >"$bf_tmpdir/$tag"
}

want="out-ok in22-ok in2222-blocked out6-ok in6-blocked ping-out-ok ping-in-lost"

# counters LISTING CHAIN: "INVALID NEW" packet counts of the chain's rules.
counters() {
	awk -v c="$2" '$1 == "chain" { in_c = ($2 == c) }
		in_c && /ct state invalid counter/ { i = $6 }
		in_c && /ct state new counter/ { n = $6 }
		END { print i + 0, n + 0 }' "$1"
}

# bpfilter, first: conntrack has never run in NS_B.
bf_check "conntrack off in a fresh namespace" test "$(entries)" -eq 0
bnft -f "$bf_tmpdir/rules.nft"
bf_check "bpfilter: stateful ruleset accepted" test $? -eq 0
bf_check "bpfilter: owned anchor table holds conntrack on" \
	bash -c 'ip netns exec "$0" "$1" list tables | grep -q "table ip bpfilter_ct_"' "$NS_B" "$NFT"
outcomes bpf
bf_check "bpfilter: $want" test "$(cat "$bf_tmpdir/bpf")" = "$want"
[ "$(cat "$bf_tmpdir/bpf")" = "$want" ] || bf_log "got: $(cat "$bf_tmpdir/bpf")"
bf_check "bpfilter: conntrack entries exist" test "$(entries)" -gt 0
bnft list ruleset >"$bf_tmpdir/bpf.list"
read -r bei ben < <(counters "$bf_tmpdir/bpf.list" early)
read -r bli bln < <(counters "$bf_tmpdir/bpf.list" late)
bf_check "bpfilter: before conntrack, ct state invalid ($bei) and never new ($ben)" \
	test "$bei" -gt 0 -a "$ben" -eq 0
bf_check "bpfilter: after conntrack, ct state new ($bln), never invalid ($bli)" \
	test "$bln" -gt 0 -a "$bli" -eq 0
# expiration PATTERN LISTING: packets of the expiration rule.
expiration() { awk -v p="$1" 'index($0, p) { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }' "$2"; }
# Established TCP gets 5 days (nf_conntrack_tcp_timeout_established): in
# ms as nft_ct reports it, more than 4 days, never more than 6.
bex=$(expiration "expiration > 1s" "$bf_tmpdir/bpf.list")
bex4=$(expiration "expiration > 4d" "$bf_tmpdir/bpf.list")
bex6=$(expiration "expiration > 6d" "$bf_tmpdir/bpf.list")
bf_check "bpfilter: ct expiration of established replies > 1s (${bex:-none}), > 4d (${bex4:-none}), never > 6d (${bex6:-none})" \
	test "${bex:-0}" -gt 0 -a "${bex4:-0}" -gt 0 -a "${bex6:-1}" -eq 0
bnft flush ruleset
bf_check "bpfilter: flush ruleset drops the anchor table" \
	bash -c '! ip netns exec "$0" "$1" list tables | grep -q bpfilter_ct_' "$NS_B" "$NFT"

# The anchor follows the chains that read ct, family by family.
anchors() { ip netns exec "$NS_B" "$NFT" list tables | grep -o 'table ip6\? bpfilter_ct_' | sort | tr '\n' ' '; }
bnft add table ip g && bnft add chain ip g in '{ type filter hook input priority 0; }' &&
	bnft add rule ip g in udp dport 1 counter
bf_check "bpfilter: no ct rule, no anchor" test -z "$(anchors)"
bnft add rule ip g in ct state new counter
bf_check "bpfilter: an ip chain reading ct holds the ip anchor only" \
	test "$(anchors)" = "table ip bpfilter_ct_ "
h=$(bnft -a list chain ip g in | sed -n 's/.*ct state new .*# handle \([0-9]*\)/\1/p')
bnft delete rule ip g in handle "$h"
bf_check "bpfilter: its last ct rule deleted, the anchor goes" test -z "$(anchors)"
bnft add rule ip g in ct mark 0x1 counter
bf_check "bpfilter: back with a new ct rule" test "$(anchors)" = "table ip bpfilter_ct_ "
bnft add table ip6 g6 && bnft add chain ip6 g6 out '{ type filter hook output priority 0; }' &&
	bnft add rule ip6 g6 out ct state new counter
bf_check "bpfilter: an ip6 chain adds the ip6 anchor" \
	test "$(anchors)" = "table ip bpfilter_ct_ table ip6 bpfilter_ct_ "
bnft delete table ip g
bf_check "bpfilter: one table gone, the other family's anchor stays" \
	test "$(anchors)" = "table ip6 bpfilter_ct_ "
bnft flush ruleset
bf_check "bpfilter: flush ruleset, no anchor" test -z "$(anchors)"

# The kernel, same namespace, same rules.
knft -f "$bf_tmpdir/rules.nft"
bf_check "kernel: stateful ruleset accepted" test $? -eq 0
outcomes kern
bf_check "kernel: $want" test "$(cat "$bf_tmpdir/kern")" = "$want"
bf_check "bpfilter and the kernel agree" cmp -s "$bf_tmpdir/bpf" "$bf_tmpdir/kern"
knft list ruleset >"$bf_tmpdir/kern.list"
read -r kei ken < <(counters "$bf_tmpdir/kern.list" early)
read -r kli kln < <(counters "$bf_tmpdir/kern.list" late)
bf_check "kernel: before conntrack invalid ($kei), after it new ($kln)" \
	test "$kei" -gt 0 -a "$ken" -eq 0 -a "$kln" -gt 0 -a "$kli" -eq 0
kex=$(expiration "expiration > 1s" "$bf_tmpdir/kern.list")
kex4=$(expiration "expiration > 4d" "$bf_tmpdir/kern.list")
kex6=$(expiration "expiration > 6d" "$bf_tmpdir/kern.list")
bf_check "kernel: ct expiration of established replies > 1s (${kex:-none}), > 4d (${kex4:-none}), never > 6d (${kex6:-none})" \
	test "${kex:-0}" -gt 0 -a "${kex4:-0}" -gt 0 -a "${kex6:-1}" -eq 0
knft flush ruleset

bf_finish
