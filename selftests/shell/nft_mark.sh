#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# meta mark set / meta priority set through unmodified nft, with real UDP
# between two namespaces, against bpfilter and then against kernel
# nf_tables in the same namespace, same outcomes and same listing:
#
#   (a) a mark set in a netdev ingress chain (TC) is seen by a later
#       ingress chain and by an inet input chain (netfilter);
#   (b) `meta mark set mark or 0x10` (load, bitwise, set) and
#       `meta priority set 1:2` are seen by the later chain;
#   (c) `ip rule fwmark 0x2a blackhole` routes the marked packets away:
#       UDP to the marked port never arrives, to the others it does;
#   (d) `meta mark set` in an inet chain is refused by bpfilter with
#       "Operation not supported" (netfilter programs cannot write the
#       skb), the statement underlined, and nothing is applied.
#
# Kernel selftest conventions: exit 0 pass, 1 fail, 4 skip; TAP lines.
# The host's ruleset and routing rules are never touched: the rules are
# changed in the scratch namespace NS_B only.

set -u

# shellcheck source=selftests/shell/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bf_nft_setup

knft() { ip netns exec "$NS_B" timeout 20 "$NFT" "$@"; }

# Policy routing in NS_B: the local table after a fwmark rule.
ip -n "$NS_B" rule add pref 100 lookup local &&
	ip -n "$NS_B" rule del pref 0 lookup local &&
	ip -n "$NS_B" rule add pref 10 fwmark 0x2a blackhole ||
	bf_skip "cannot set up policy routing in the scratch namespace"

cat >"$bf_tmpdir/rules.nft" <<EOF
table netdev m {
	chain early {
		type filter hook ingress device "$BF_IF_B" priority 0; policy accept;
		udp dport 5001 meta mark set 0x2a
		udp dport 5002 meta mark set mark or 0x10
		udp dport 5004 meta priority set 1:2
	}
	chain later {
		type filter hook ingress device "$BF_IF_B" priority 10; policy accept;
		meta mark 0x2a counter
		meta mark 0x10 counter
		meta priority 1:2 counter
	}
}
table inet f {
	chain in {
		type filter hook input priority 0; policy accept;
		meta mark 0x2a counter
		meta mark 0x10 counter
	}
}
EOF

# count LISTING CHAIN PATTERN: packets of the rule matching PATTERN.
count() {
	awk -v c="$2" -v p="$3" '$1 == "chain" { in_c = ($2 == c) }
		in_c && index($0, p) { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }' "$1"
}

outcomes() {
	local tag=$1 res=()
	bf_udp_blocked "$NS_A" "$NS_B" "$BF_B4" 5001 3 && res+=(5001-routed-away) || res+=(5001-arrives)
	bf_udp_arrives "$NS_A" "$NS_B" "$BF_B4" 5002 3 && res+=(5002-arrives) || res+=(5002-lost)
	bf_udp_arrives "$NS_A" "$NS_B" "$BF_B4" 5003 3 && res+=(5003-arrives) || res+=(5003-lost)
	bf_udp_arrives "$NS_A" "$NS_B" "$BF_B4" 5004 3 && res+=(5004-arrives) || res+=(5004-lost)
	echo "${res[*]}" >"$bf_tmpdir/$tag"
}
want="5001-routed-away 5002-arrives 5003-arrives 5004-arrives"

check_counts() { # TAG LISTING
	local l=$2
	bf_check "$1: a later ingress chain sees mark 0x2a" \
		test "$(count "$l" later "meta mark 0x0000002a")" -gt 0
	bf_check "$1: a later ingress chain sees mark 0x10 (mark or 0x10)" \
		test "$(count "$l" later "meta mark 0x00000010")" -gt 0
	bf_check "$1: a later ingress chain sees priority 1:2" \
		test "$(count "$l" later "meta priority 1:2")" -gt 0
	bf_check "$1: the input chain sees mark 0x10" \
		test "$(count "$l" in "meta mark 0x00000010")" -gt 0
	bf_check "$1: mark 0x2a never reaches input (routed away)" \
		test "$(count "$l" in "meta mark 0x0000002a")" -eq 0
}

bnft -f "$bf_tmpdir/rules.nft"
bf_check "bpfilter: rules accepted" test $? -eq 0
outcomes bpf
bf_check "bpfilter: $want" test "$(cat "$bf_tmpdir/bpf")" = "$want"
bnft list ruleset >"$bf_tmpdir/bpf.list"
check_counts bpfilter "$bf_tmpdir/bpf.list"

# (d) netfilter hooks: refused, nothing applied.
bnft add rule inet f in udp dport 6000 meta mark set 1 >"$bf_tmpdir/refused" 2>&1
bf_check "bpfilter: meta mark set in an inet chain is refused" \
	grep -q "Operation not supported" "$bf_tmpdir/refused"
bf_check "bpfilter: the statement is underlined" grep -q '\^\^\^' "$bf_tmpdir/refused"
bf_check "bpfilter: the refused rule is not listed" \
	bash -c '! "$@" list chain inet f in | grep -q 6000' _ \
	ip netns exec "$NS_B" env BPFILTER_RUNTIME_DIR="$RUNDIR" "$BFEXEC" "$NFT"
bnft flush ruleset

knft -f "$bf_tmpdir/rules.nft"
bf_check "kernel: rules accepted" test $? -eq 0
outcomes kern
bf_check "kernel: $want" test "$(cat "$bf_tmpdir/kern")" = "$want"
knft list ruleset >"$bf_tmpdir/kern.list"
check_counts kernel "$bf_tmpdir/kern.list"
bf_check "bpfilter and the kernel agree" cmp -s "$bf_tmpdir/bpf" "$bf_tmpdir/kern"
bf_check "same listing, counters included" cmp -s "$bf_tmpdir/bpf.list" "$bf_tmpdir/kern.list"
cmp -s "$bf_tmpdir/bpf.list" "$bf_tmpdir/kern.list" ||
	diff -u "$bf_tmpdir/kern.list" "$bf_tmpdir/bpf.list" | sed 's/^/#   /' | head -30
knft flush ruleset

bf_finish
