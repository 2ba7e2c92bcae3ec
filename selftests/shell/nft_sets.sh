#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Sets through unmodified nft (bfexec) and a private bpfilter daemon, real
# traffic over a veth pair: an anonymous set (`udp dport { ... }`), a named
# set whose elements are added and deleted later (in place: no new
# program), an interval set of prefixes (an LPM trie), a concatenation
# (ip saddr . udp dport), an inverted lookup, verdict maps (anonymous and
# named, jump, goto, drop, accept); counters count.
#
# Kernel selftest conventions: exit 0 pass, 1 fail, 4 skip; TAP lines.
# Namespaces with unique names, deleted on exit; the host is not touched.

set -u

# shellcheck source=selftests/shell/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bf_nft_setup -v debug


bnft add table ip f &&
	bnft add chain ip f in '{ type filter hook input priority 0; policy accept; }'
bf_check "table and chain" test $? -eq 0

# Anonymous set.
bnft add rule ip f in udp dport '{ 4001, 4002 }' counter drop
bf_check "anonymous set: rule accepted" test $? -eq 0
bf_check "anonymous set: 4001 dropped" bf_udp_blocked "$NS_A" "$NS_B" "$BF_B4" 4001 2
bf_check "anonymous set: 4002 dropped" bf_udp_blocked "$NS_A" "$NS_B" "$BF_B4" 4002 2
bf_check "anonymous set: 4003 passes" bf_udp_arrives "$NS_A" "$NS_B" "$BF_B4" 4003
counts() { bnft list chain ip f in | grep -q "$1 counter packets [1-9]"; }
bf_check "anonymous set: counter counts" counts "4002 }"
bnft flush chain ip f in

# Named set, elements changed after the rule.
bnft add set ip f ports '{ type inet_service; }' &&
	bnft add rule ip f in udp dport @ports counter drop
bf_check "named set: rule accepted" test $? -eq 0
bf_check "named set: empty, 4011 passes" bf_udp_arrives "$NS_A" "$NS_B" "$BF_B4" 4011
in_place() { grep -c "rules updated in place" "$bf_tmpdir/daemon.log"; }
n0=$(in_place)
bnft add element ip f ports '{ 4011 }'
bf_check "named set: element added in place (no new program)" test "$(in_place)" -gt "$n0"
bf_check "named set: element added, 4011 dropped" bf_udp_blocked "$NS_A" "$NS_B" "$BF_B4" 4011 2
bf_check "named set: 4012 passes" bf_udp_arrives "$NS_A" "$NS_B" "$BF_B4" 4012
bnft delete element ip f ports '{ 4011 }'
bf_check "named set: element deleted, 4011 passes" bf_udp_arrives "$NS_A" "$NS_B" "$BF_B4" 4011
bnft add element ip f ports '{ 4011, 4013 }'
bf_check "named set: two elements added in one batch, 4013 dropped" bf_udp_blocked "$NS_A" "$NS_B" "$BF_B4" 4013 2
n0=$(in_place)
bnft flush set ip f ports
bf_check "named set: flushed in place" test "$(in_place)" -gt "$n0"
bf_check "named set: flushed, 4013 passes" bf_udp_arrives "$NS_A" "$NS_B" "$BF_B4" 4013
bnft flush chain ip f in

# Interval set of prefixes (an LPM trie): the peer's address is in it.
bnft add set ip f nets '{ type ipv4_addr; flags interval; }' &&
	bnft add element ip f nets '{ 10.199.0.0/30, 192.168.0.0/16 }' &&
	bnft add rule ip f in ip saddr @nets udp dport 4021 counter drop
bf_check "interval set: rule accepted" test $? -eq 0
bf_check "interval set: 10.199.0.1 in 10.199.0.0/30, dropped" bf_udp_blocked "$NS_A" "$NS_B" "$BF_B4" 4021 2
bnft delete element ip f nets '{ 10.199.0.0/30 }' &&
	bnft add element ip f nets '{ 10.199.0.2/31 }'
bf_check "interval set: 10.199.0.1 not in 10.199.0.2/31, passes" bf_udp_arrives "$NS_A" "$NS_B" "$BF_B4" 4021
bnft flush chain ip f in

# Concatenation: address . port.
bnft add set ip f pairs '{ type ipv4_addr . inet_service; }' &&
	bnft add element ip f pairs "{ $BF_A4 . 4031 }" &&
	bnft add rule ip f in ip saddr . udp dport @pairs counter drop
bf_check "concatenation: rule accepted" test $? -eq 0
bf_check "concatenation: $BF_A4 . 4031 dropped" bf_udp_blocked "$NS_A" "$NS_B" "$BF_B4" 4031 2
bf_check "concatenation: $BF_A4 . 4032 passes" bf_udp_arrives "$NS_A" "$NS_B" "$BF_B4" 4032
bnft flush chain ip f in

# Inverted lookup: everything but the set's ports dropped (UDP 4040-4050).
bnft add rule ip f in udp dport 4040-4050 udp dport != '{ 4041 }' counter drop
bf_check "inverted: rule accepted" test $? -eq 0
bf_check "inverted: 4041 passes" bf_udp_arrives "$NS_A" "$NS_B" "$BF_B4" 4041
bf_check "inverted: 4042 dropped" bf_udp_blocked "$NS_A" "$NS_B" "$BF_B4" 4042 2

# Verdict maps: jump and goto to regular chains, drop; a named map
# changed in place.
bnft flush chain ip f in
bnft add chain ip f j && bnft add rule ip f j udp dport 4051 counter drop &&
	bnft add chain ip f g && bnft add rule ip f g counter drop &&
	bnft add rule ip f in udp dport vmap '{ 4050 : drop, 4051 : jump j, 4052 : goto g, 4053 : accept }'
bf_check "vmap: rule accepted" test $? -eq 0
bf_check "vmap: 4050 dropped" bf_udp_blocked "$NS_A" "$NS_B" "$BF_B4" 4050 2
bf_check "vmap: 4051 dropped by the jumped-to chain" bf_udp_blocked "$NS_A" "$NS_B" "$BF_B4" 4051 2
bf_check "vmap: 4052 dropped by the goto chain" bf_udp_blocked "$NS_A" "$NS_B" "$BF_B4" 4052 2
bf_check "vmap: 4053 accepted" bf_udp_arrives "$NS_A" "$NS_B" "$BF_B4" 4053
bf_check "vmap: 4054 (no element) passes" bf_udp_arrives "$NS_A" "$NS_B" "$BF_B4" 4054
jcount() { bnft list chain ip f j | grep -q "4051 counter packets [1-9]"; }
bf_check "vmap: the jumped-to chain counts" jcount
bnft add map ip f vm '{ type inet_service : verdict; }' &&
	bnft add element ip f vm '{ 4060 : drop }' &&
	bnft add rule ip f in udp dport vmap @vm
bf_check "named vmap: rule accepted" test $? -eq 0
bf_check "named vmap: 4060 dropped" bf_udp_blocked "$NS_A" "$NS_B" "$BF_B4" 4060 2
n0=$(in_place)
bnft add element ip f vm '{ 4061 : drop }'
bf_check "named vmap: element with a known verdict added in place" test "$(in_place)" -gt "$n0"
bf_check "named vmap: 4061 dropped" bf_udp_blocked "$NS_A" "$NS_B" "$BF_B4" 4061 2
bnft add element ip f vm '{ 4062 : jump j }'
bf_check "named vmap: element with a new verdict (new program), 4062 passes j" bf_udp_arrives "$NS_A" "$NS_B" "$BF_B4" 4062
bf_check "named vmap: 4061 still dropped" bf_udp_blocked "$NS_A" "$NS_B" "$BF_B4" 4061 2
refused() { ! bnft "$@" 2>/dev/null; }
bf_check "a chain a map element jumps to is not deleted (EBUSY)" refused delete chain ip f j

bnft add rule ip f in ip saddr @nets counter
bf_check "a set in use is not deleted (EBUSY)" refused delete set ip f nets
bnft delete table ip f
bf_check "table deleted" test $? -eq 0

bf_finish
