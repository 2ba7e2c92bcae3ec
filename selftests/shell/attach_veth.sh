#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# shellcheck disable=SC2016 # bash -c scripts take their arguments as $1..
#
# Attach selftest: real traffic through bpfilter programs on a veth pair.
#
#   NS_A (peer)  bfveth0 10.199.0.1, .3, fd00:bf::1
#        |
#   NS_B (filter) bfveth1 10.199.0.2, fd00:bf::2   <- bf_chaintool runs here
#
# For each hook (XDP in generic mode, TC ingress/egress, netfilter
# prerouting/input/output/postrouting), bf_chaintool attaches a scenario in
# NS_B; traffic goes A -> B for ingress hooks and B -> A for egress hooks.
# Checks what passes and what does not, the counters the tool prints when
# stopped, that traffic flows again after detach, and that bf_link_replace
# swaps programs with no gap and carries counters over by rule handle.
#
# Exit: 0 pass, 1 fail, 4 skip. Every wait is bounded.

set -u

# shellcheck source=selftests/shell/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT=4242
OTHER=4343

bf_require nft
trap bf_cleanup EXIT
# A signal ends the script through exit, so the EXIT trap cleans up.
trap 'exit $KSFT_FAIL' INT TERM HUP
bf_netns_setup || bf_skip "cannot set up namespaces and veth"

# Sets SNS (sender), RNS (receiver) and DST for HOOK and IP version.
direction() {
	local hook=$1 v=$2
	case $hook in
	tc-egress | nf-output | nf-postrouting)
		SNS=$NS_B RNS=$NS_A
		[ "$v" = 6 ] && DST=$BF_A6 || DST=$BF_A4
		;;
	*)
		SNS=$NS_A RNS=$NS_B
		[ "$v" = 6 ] && DST=$BF_B6 || DST=$BF_B4
		;;
	esac
}

start() {
	OUT="$bf_tmpdir/tool.$bf_tests.out"
	bf_tool_start "$NS_B" "$OUT" --ifname "$BF_IF_B" --port "$PORT" "$@"
}

# After detach, the path recovers (a neighbour entry may need a new probe).
flows_again() {
	local name=$1
	bf_check "$name: ping passes after detach" \
		bf_wait_for 3 bf_ping "$SNS" "$DST"
	bf_check "$name: UDP to $PORT passes after detach" \
		bf_udp_arrives "$SNS" "$RNS" "$DST" "$PORT"
}

# t_drop_udp HOOK V [tool args]
t_drop_udp() {
	local hook=$1 v=$2 name="$1 v$2 drop-udp-port"
	shift 2
	direction "$hook" "$v"
	if ! start --hook "$hook" --scenario drop-udp-port "$@"; then
		bf_not_ok "$name: attach"
		return
	fi
	bf_check "$name: UDP to $PORT dropped" \
		bf_udp_blocked "$SNS" "$RNS" "$DST" "$PORT" 3
	bf_check "$name: UDP to $OTHER passes" \
		bf_udp_arrives "$SNS" "$RNS" "$DST" "$OTHER"
	bf_check "$name: ping passes" bf_ping "$SNS" "$DST"
	bf_check "$name: tool exits 0" bf_tool_stop "$OUT"
	bf_check "$name: rule counter = 3" bf_counter_eq "$OUT" 0 3
	bf_check "$name: policy counter > 0" bf_counter_ge "$OUT" policy 1
	flows_again "$name"
}

# t_drop_icmp HOOK V COUNTER_IDX [tool args]
t_drop_icmp() {
	local hook=$1 v=$2 idx=$3 name="$1 v$2 drop-icmp"
	shift 3
	direction "$hook" "$v"
	if ! start --hook "$hook" --scenario drop-icmp "$@"; then
		bf_not_ok "$name: attach"
		return
	fi
	bf_check "$name: ping dropped" bf_ping_fails "$SNS" "$DST"
	bf_check "$name: UDP passes" bf_udp_arrives "$SNS" "$RNS" "$DST" "$PORT"
	bf_check "$name: tool exits 0" bf_tool_stop "$OUT"
	bf_check "$name: rule counter >= 2" bf_counter_ge "$OUT" "$idx" 2
	flows_again "$name"
}

# t_drop_saddr HOOK V [tool args]: drop what comes from A's first address.
t_drop_saddr() {
	local hook=$1 v=$2 name="$1 v$2 drop-saddr" addr
	shift 2
	direction "$hook" "$v"
	[ "$v" = 6 ] && addr=$BF_A6 || addr=$BF_A4
	if ! start --hook "$hook" --scenario drop-saddr --addr "$addr" "$@"; then
		bf_not_ok "$name: attach"
		return
	fi
	bf_check "$name: ping from $addr dropped" bf_ping_fails "$SNS" "$DST"
	if [ "$v" = 4 ]; then
		bf_check "$name: ping from $BF_A4_ALT passes" \
			bf_ping "$SNS" "$DST" -I "$BF_A4_ALT"
	fi
	bf_check "$name: tool exits 0" bf_tool_stop "$OUT"
	bf_check "$name: rule counter >= 2" bf_counter_ge "$OUT" 0 2
	flows_again "$name"
}

# t_accept_only HOOK V [tool args]: policy drop, UDP to PORT accepted.
t_accept_only() {
	local hook=$1 v=$2 name="$1 v$2 accept-only-udp-port"
	shift 2
	direction "$hook" "$v"
	if ! start --hook "$hook" --scenario accept-only-udp-port "$@"; then
		bf_not_ok "$name: attach"
		return
	fi
	bf_check "$name: UDP to $PORT passes" \
		bf_udp_arrives "$SNS" "$RNS" "$DST" "$PORT"
	bf_check "$name: UDP to $OTHER dropped" \
		bf_udp_blocked "$SNS" "$RNS" "$DST" "$OTHER"
	bf_check "$name: ping dropped" bf_ping_fails "$SNS" "$DST"
	bf_check "$name: tool exits 0" bf_tool_stop "$OUT"
	bf_check "$name: accept counter >= 1" bf_counter_ge "$OUT" 0 1
	bf_check "$name: policy counter >= 3" bf_counter_ge "$OUT" policy 3
	flows_again "$name"
}

# t_jump HOOK [tool args]: UDP jumps to a regular chain that drops PORT.
t_jump() {
	local hook=$1 name="$1 v4 jump-udp-port"
	shift
	direction "$hook" 4
	if ! start --hook "$hook" --scenario jump-udp-port --family ip "$@"; then
		bf_not_ok "$name: attach"
		return
	fi
	bf_check "$name: UDP to $PORT dropped" \
		bf_udp_blocked "$SNS" "$RNS" "$DST" "$PORT" 3
	bf_check "$name: UDP to $OTHER passes" \
		bf_udp_arrives "$SNS" "$RNS" "$DST" "$OTHER"
	bf_check "$name: ping passes" bf_ping "$SNS" "$DST"
	bf_check "$name: tool exits 0" bf_tool_stop "$OUT"
	bf_check "$name: jump counter >= 4" bf_counter_ge "$OUT" 0 4
	bf_check "$name: udp_in drop counter = 3" \
		bf_counter_eq "$OUT" udp_in:0 3
	bf_check "$name: udp_in return counter >= 1" \
		bf_counter_ge "$OUT" udp_in:1 1
	bf_check "$name: counter after return >= 1" bf_counter_ge "$OUT" 1 1
	flows_again "$name"
}

# t_defrag: at prerouting, as an nf_tables chain without conntrack, the
# program sees the fragments of a 3028-byte datagram (20 IP + 8 UDP + 3000)
# one by one: only the first carries the UDP header the rule matches, and
# it is counted alone (1500 bytes at the veth's MTU).
t_defrag() {
	local name="nf-prerouting v4 fragmented datagram"
	direction nf-prerouting 4
	if ! start --hook nf-prerouting --family ip --scenario drop-udp-port; then
		bf_not_ok "$name: attach"
		return
	fi
	bf_udp_send_big "$SNS" "$DST" "$PORT" 3000
	# A round trip behind it: the datagram has been through the hook.
	bf_check "$name: ping passes" bf_ping "$SNS" "$DST"
	bf_check "$name: tool exits 0" bf_tool_stop "$OUT"
	bf_check "$name: first fragment counted once" bf_counter_eq "$OUT" 0 1
	bf_check "$name: as it is (1500 bytes)" \
		bf_counter_bytes_eq "$OUT" 0 1500
}

# t_replace HOOK: drop-udp-port -> drop-icmp-udp-port on SIGUSR1. The UDP
# rule keeps its handle but moves from index 0 to index 1 (after the ICMP
# rule): its counter must follow it, exactly.
t_replace() {
	local hook=$1 name="$1 v4 replace"
	direction "$hook" 4
	if ! start --hook "$hook" --family ip --scenario drop-udp-port \
		--scenario2 drop-icmp-udp-port; then
		bf_not_ok "$name: attach"
		return
	fi
	bf_check "$name: ping passes before" bf_ping "$SNS" "$DST"
	bf_check "$name: UDP to $PORT dropped before" \
		bf_udp_blocked "$SNS" "$RNS" "$DST" "$PORT" 3
	kill -USR1 "$bf_tool_pid"
	bf_check "$name: replaced" bf_tool_wait_line "$OUT" "replaced 1" 10
	bf_check "$name: ping dropped after" bf_ping_fails "$SNS" "$DST"
	bf_check "$name: UDP to $PORT dropped after" \
		bf_udp_blocked "$SNS" "$RNS" "$DST" "$PORT" 2
	bf_check "$name: UDP to $OTHER passes after" \
		bf_udp_arrives "$SNS" "$RNS" "$DST" "$OTHER"
	bf_check "$name: tool exits 0" bf_tool_stop "$OUT"
	bf_check "$name: UDP counter carried over (3 + 2)" \
		bf_counter_eq "$OUT" 1 5
	bf_check "$name: ICMP counter >= 2" bf_counter_ge "$OUT" 0 2
	flows_again "$name"
}

# t_replace_load HOOK: UDP to PORT every 10 ms while the program is swapped
# four times (netfilter: the link moves between priorities 0 and -1). Both
# scenarios drop it: not one datagram may get through.
t_replace_load() {
	local hook=$1 name="$1 v4 replace under traffic" rfile i ok=0 flood
	local n=200
	direction "$hook" 4
	if ! start --hook "$hook" --family ip --scenario drop-udp-port \
		--scenario2 drop-icmp-udp-port; then
		bf_not_ok "$name: attach"
		return
	fi
	rfile="$bf_tmpdir/load.$bf_tests"
	if ! bf_udp_listen "$RNS" "$DST" "$PORT" "$rfile"; then
		bf_not_ok "$name: listener"
		bf_tool_stop "$OUT"
		return
	fi
	local lpid=$bf_listen_pid
	timeout 30 ip netns exec "$SNS" bash -c '
		for ((i = 0; i < $3; i++)); do
			echo "bf-selftest $i" 2>/dev/null >"/dev/udp/$1/$2"
			sleep 0.01
		done' _ "$DST" "$PORT" "$n" &
	flood=$!
	bf_track_pid "$flood"
	sleep 0.3
	for i in 1 2 3 4; do
		kill -USR1 "$bf_tool_pid"
		bf_tool_wait_line "$OUT" "replaced $i" 10 && ok=$((ok + 1))
		sleep 0.2
	done
	bf_kill_pid_wait "$flood" 30
	bf_check "$name: 4 replacements" [ "$ok" -eq 4 ]
	bf_check_not "$name: no datagram got through" \
		bf_wait_for 1 grep -q bf-selftest "$rfile"
	bf_kill_pid "$lpid"
	bf_check "$name: tool exits 0" bf_tool_stop "$OUT"
	# Back on drop-udp-port: the UDP rule is index 0 again. Counts of
	# packets seen by the old program between the copy and the switch
	# are lost: allow a few.
	bf_check "$name: UDP counter carried over ($n sent)" \
		bf_counter_ge "$OUT" 0 $((n - 5))
	flows_again "$name"
}

# t_replace_nf_neighbour: an nft chain holds priority -1 next to the bpf
# link at 0, and the kernel allows one hook per priority for bpf links: the
# replacement must go to +1, and the next one back to 0.
t_replace_nf_neighbour() {
	local name="nf-input v4 replace next to an nft chain at -1"
	direction nf-input 4
	if ! ip netns exec "$NS_B" nft add table ip bf_selftest \
		'{ chain c { type filter hook input priority -1; policy accept; }; }'; then
		bf_not_ok "$name: nft chain"
		return
	fi
	if start --hook nf-input --family ip --scenario drop-udp-port \
		--scenario2 drop-icmp-udp-port; then
		kill -USR1 "$bf_tool_pid"
		bf_check "$name: replaced once" \
			bf_tool_wait_line "$OUT" "replaced 1" 10
		bf_check "$name: ping dropped" bf_ping_fails "$SNS" "$DST"
		kill -USR1 "$bf_tool_pid"
		bf_check "$name: replaced twice" \
			bf_tool_wait_line "$OUT" "replaced 2" 10
		bf_check "$name: ping passes" bf_ping "$SNS" "$DST"
		bf_check "$name: UDP to $PORT dropped" \
			bf_udp_blocked "$SNS" "$RNS" "$DST" "$PORT"
		bf_check_not "$name: no failed replacement" \
			grep -q replace-failed "$OUT"
		bf_check "$name: tool exits 0" bf_tool_stop "$OUT"
		bf_check "$name: UDP counter = 1" bf_counter_eq "$OUT" 0 1
	else
		bf_not_ok "$name: attach"
	fi
	ip netns exec "$NS_B" nft delete table ip bf_selftest
	flows_again "$name"
}

# t_replace_nf_boxed_in: kernel nft chains at -1 and +1 around ours: the
# replacement needs no free priority (one program array update behind
# the hook's dispatcher) and the new program filters.
t_replace_nf_boxed_in() {
	local name="nf-input v4 replace with -1 and +1 taken" rc
	direction nf-input 4
	if ! ip netns exec "$NS_B" nft add table ip bf_selftest \
		'{ chain lo { type filter hook input priority -1; policy accept; };
		   chain hi { type filter hook input priority 1; policy accept; }; }'; then
		bf_not_ok "$name: nft chains"
		return
	fi
	if start --hook nf-input --family ip --scenario drop-udp-port \
		--scenario2 drop-icmp-udp-port; then
		kill -USR1 "$bf_tool_pid"
		bf_check "$name: replaced" \
			bf_tool_wait_line "$OUT" "replaced 1" 10
		bf_check "$name: new program drops UDP to $PORT" \
			bf_udp_blocked "$SNS" "$RNS" "$DST" "$PORT"
		bf_check "$name: new program drops ping" bf_ping_fails "$SNS" "$DST"
		bf_tool_stop "$OUT" >/dev/null
		rc=$?
		bf_check "$name: tool exits 0" [ "$rc" -eq 0 ]
	else
		bf_not_ok "$name: attach"
	fi
	ip netns exec "$NS_B" nft delete table ip bf_selftest
	flows_again "$name"
}

# Wait for a child that should end on its own (bounded), then reap it.
bf_kill_pid_wait() {
	local pid=$1 tmo=$2 i
	for ((i = 0; i < tmo * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	bf_kill_pid "$pid"
}

bf_log "namespaces $NS_A $NS_B, tool $BF_CHAINTOOL"

for hook in xdp tc-ingress tc-egress nf-prerouting nf-input nf-output \
	nf-postrouting; do
	t_drop_udp "$hook" 4 --family ip
done
t_drop_udp xdp 6
t_drop_udp nf-input 6 --family ip6
t_drop_udp nf-output 6 --family inet
t_drop_udp nf-output 4 --family inet

for hook in xdp tc-ingress tc-egress nf-input nf-output; do
	t_drop_icmp "$hook" 4 0 --family ip
done
t_drop_icmp tc-ingress 6 1
t_drop_icmp nf-input 6 0 --family ip6

t_drop_saddr tc-ingress 4
t_drop_saddr nf-input 4
t_drop_saddr xdp 6
t_drop_saddr nf-prerouting 6 --family inet

t_accept_only xdp 4
t_accept_only xdp 6
t_accept_only tc-egress 4
t_accept_only nf-input 4
t_accept_only nf-input 6 --family inet

t_defrag

t_jump tc-ingress
t_jump nf-input

for hook in xdp tc-ingress tc-egress nf-input nf-output; do
	t_replace "$hook"
done
for hook in xdp tc-egress nf-input nf-output; do
	t_replace_load "$hook"
done
t_replace_nf_neighbour
t_replace_nf_boxed_in

bf_finish
