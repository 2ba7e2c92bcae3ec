#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# shellcheck disable=SC2016,SC2317 # bash -c scripts take their arguments as $1..; helpers run through bf_check
#
# Replacement under traffic: not one packet may be lost, doubled or left
# uncounted while a running chain is replaced again and again.
#
#   NS_A (peer)   bfveth0 10.199.0.1  -- ping -f, chunk after chunk
#        |
#   NS_B (filter) bfveth1 10.199.0.2  <- the chain under test
#
# The chain holds one counting rule that matches exactly the flood's
# packets: ICMP echo requests from 10.199.0.1 (and nothing else: IPv6 is
# off on both ends, neighbours are permanent, so no ARP, router
# solicitation, MLD or redirect ever crosses the link). While the flood
# runs the chain is replaced at least $BF_REPLACE_N times (200) by edits
# that each need a new program (other rule shapes in front of the counted
# rule, so the in-place map update path never applies); then the counter
# must equal the number of echo requests ping sent, and ping must have
# got every reply.
#
# Flavours:
#   nf-input   nft `ip` table, input chain, through the daemon (-v debug:
#              each edit must log "new program", none "rules updated in
#              place")
#   tcx        nft `netdev` ingress chain on bfveth1, through the daemon
#   xdp        bf_chaintool --replace-loop, XDP in skb mode on bfveth1
#   tc-ingress bf_chaintool --replace-loop, TCX ingress
#   nf-input   bf_chaintool --replace-loop, netfilter input (5 x as many)
#
# Each flavour first floods one chunk with no replacement (baseline: the
# rule counts every packet), then floods chunk after chunk (ping -f -c
# $BF_FLOOD_CHUNK, 20000) from before the first replacement until after
# the last one, and sums ping's statistics. It prints, per flavour:
#   # <flavour>: R replacements, sent S, received S', counted C, lost S-C
#
# Exit: 0 pass, 1 fail, 4 skip. Every wait is bounded; nothing is
# asserted about timings.

set -u

# shellcheck source=selftests/shell/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NFT=${NFT:-/usr/sbin/nft}
case $BUILD in
/*) BDIR=$BUILD ;;
*) BDIR=$BF_ROOT/$BUILD ;;
esac
BPFILTER=$BDIR/bpfilter
BFEXEC=$BDIR/bfexec
REPLACE_N=${BF_REPLACE_N:-200}
CHUNK=${BF_FLOOD_CHUNK:-20000}
MAX_CHUNKS=300 # bounds the flood if the replacing side hangs
PORT=4242
HANDLE_PING=12 # bf_chaintool's handle of the counting rule
RUNDIR=
DAEMON_PID=
DLOG=
summary=()

bf_require nft
[ -x "$NFT" ] || bf_skip "no $NFT"
for f in "$BPFILTER" "$BFEXEC" "$BDIR/libbpfilter-preload.so"; do
	[ -e "$f" ] || bf_skip "$f not built"
done

trap bf_cleanup EXIT
trap 'exit $KSFT_FAIL' INT TERM HUP

# Two namespaces, a veth pair, IPv4 only; no neighbour discovery, no
# redirects, no ICMP rate limit: the only echo requests from A are the
# flood's, and every one of them is answered.
rt_netns_setup() {
	local sfx="$$-$RANDOM$RANDOM" ns mac_a mac_b
	NS_A="bf-ra-$sfx"
	NS_B="bf-rb-$sfx"
	bf_tmpdir=$(mktemp -d /tmp/bf-selftest.XXXXXX) || return 1

	for ns in "$NS_A" "$NS_B"; do
		ip netns add "$ns" || return 1
		# Before the veth exists: its conf is copied from "default".
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1 \
			net.ipv4.conf.all.send_redirects=0 \
			net.ipv4.conf.default.send_redirects=0 \
			net.ipv4.conf.all.accept_redirects=0 \
			net.ipv4.conf.default.accept_redirects=0 \
			net.ipv4.icmp_ratemask=0 || return 1
	done
	ip -n "$NS_A" link add "$BF_IF_A" type veth peer name "$BF_IF_B" \
		netns "$NS_B" || return 1
	ip -n "$NS_A" link set lo up
	ip -n "$NS_B" link set lo up
	ip -n "$NS_A" addr add "$BF_A4/24" dev "$BF_IF_A" || return 1
	ip -n "$NS_B" addr add "$BF_B4/24" dev "$BF_IF_B" || return 1
	mac_a=$(ip netns exec "$NS_A" cat "/sys/class/net/$BF_IF_A/address")
	mac_b=$(ip netns exec "$NS_B" cat "/sys/class/net/$BF_IF_B/address")
	[ -n "$mac_a" ] && [ -n "$mac_b" ] || return 1
	ip -n "$NS_A" neigh replace "$BF_B4" lladdr "$mac_b" dev "$BF_IF_A" \
		nud permanent || return 1
	ip -n "$NS_B" neigh replace "$BF_A4" lladdr "$mac_a" dev "$BF_IF_B" \
		nud permanent || return 1
	ip -n "$NS_A" link set "$BF_IF_A" up || return 1
	ip -n "$NS_B" link set "$BF_IF_B" up || return 1
	bf_wait_for 5 bf_ping "$NS_A" "$BF_B4"
}

# flood_start OUT: chunks of `ping -f -c CHUNK` from A to B, one line
# "chunk SENT RECEIVED" in OUT each, until $bf_tmpdir/stop exists (then
# exit 0) or MAX_CHUNKS (exit 2); exit 1 when ping's statistics are
# missing. ONE=1: a single chunk. Sets flood_pid.
flood_start() {
	local out=$1 max=$MAX_CHUNKS
	[ "${ONE:-0}" = 1 ] && max=1
	: >"$out"
	rm -f "$bf_tmpdir/stop"
	ip netns exec "$NS_A" bash -c '
		out=$1 stop=$2 dst=$3 chunk=$4 max=$5
		for ((i = 0; i < max; i++)); do
			s=$(timeout 120 ping -n -q -f -c "$chunk" "$dst" 2>&1)
			st=$(sed -n "s/^\([0-9]*\) packets transmitted, \([0-9]*\) received.*/\1 \2/p" <<<"$s")
			if [ -z "$st" ]; then
				echo "error $(tr "\n" " " <<<"$s")" >>"$out"
				exit 1
			fi
			echo "chunk $st" >>"$out"
			[ -e "$stop" ] && exit 0
		done
		[ "$max" -eq 1 ] && exit 0
		exit 2' _ "$out" "$bf_tmpdir/stop" "$BF_B4" "$CHUNK" "$max" &
	flood_pid=$!
	bf_track_pid "$flood_pid"
}

# flood_wait OUT: stop after the running chunk, wait (bounded), set SENT,
# RECEIVED; returns the sender's exit status (0: it ran until told to stop).
flood_wait() {
	local out=$1 i rc
	touch "$bf_tmpdir/stop"
	for ((i = 0; i < 1200; i++)); do
		kill -0 "$flood_pid" 2>/dev/null || break
		sleep 0.1
	done
	bf_kill_pid "$flood_pid"
	rc=$?
	SENT=$(awk '$1 == "chunk" { s += $2 } END { print s + 0 }' "$out")
	RECEIVED=$(awk '$1 == "chunk" { s += $3 } END { print s + 0 }' "$out")
	CHUNKS=$(grep -c '^chunk' "$out")
	if grep -q '^error' "$out"; then
		bf_log "ping: $(grep '^error' "$out" | head -1)"
	fi
	return $rc
}

# flood_running OUT: the first chunk is through: traffic flows.
flood_running() {
	grep -q '^chunk' "$1" || ! kill -0 "$flood_pid" 2>/dev/null
}

# report FLAVOUR REPLACEMENTS SENT RECEIVED COUNTED
report() {
	local line
	line=$(printf '%-27s %4s replacements, sent %8s, received %8s, counted %8s, lost %s' \
		"$1:" "$2" "$3" "$4" "$5" "$(($3 - $5))")
	bf_log "$line"
	summary+=("$line")
}

# all_equal N M...: N > 0 and every M equals it.
all_equal() {
	local n=$1 m
	shift
	[ "$n" -gt 0 ] || return 1
	for m in "$@"; do
		[ "$m" -eq "$n" ] || return 1
	done
}

# both A B: A and B are 0 (two exit statuses).
both() { [ "$1" -eq 0 ] && [ "$2" -eq 0 ]; }

# check_counts NAME SENT RECEIVED COUNTED
check_counts() {
	bf_check "$1: ping got every reply ($3 of $2)" all_equal "$2" "$3"
	bf_check "$1: counted = sent ($4 of $2)" all_equal "$2" "$4"
}

# --- The daemon: nft through bfexec --------------------------------------

daemon_start() {
	RUNDIR=$bf_tmpdir/run
	DLOG=$bf_tmpdir/daemon.log
	"$BPFILTER" --runtime-dir "$RUNDIR" -t -v debug >"$DLOG" 2>&1 &
	DAEMON_PID=$!
	bf_track_pid "$DAEMON_PID"
	bf_wait_for 5 test -S "$RUNDIR/daemon.sock"
}

# nft_counter FAMILY TABLE CHAIN: packets of the echo-request rule.
nft_counter() {
	bnft list chain "$1" "$2" "$3" |
		sed -n 's/.*echo-request counter packets \([0-9]*\) .*/\1/p'
}

# nft_edit FAMILY TABLE CHAIN I: edit I of a cycle of four, each giving
# the chain other code: insert a rule in front of the counted one, replace
# it twice by rules of other shapes, delete it. Sets EDIT_HANDLE.
nft_edit() {
	local f=$1 t=$2 c=$3 i=$4 out
	case $((i % 4)) in
	1)
		out=$(bnft -e -a insert rule "$f" "$t" "$c" tcp dport 9 drop) ||
			return 1
		EDIT_HANDLE=$(sed -n 's/^insert rule .* # handle \([0-9]*\)$/\1/p' \
			<<<"$out")
		[ -n "$EDIT_HANDLE" ]
		;;
	2) bnft replace rule "$f" "$t" "$c" handle "$EDIT_HANDLE" \
		udp sport 7 counter drop ;;
	3) bnft replace rule "$f" "$t" "$c" handle "$EDIT_HANDLE" \
		ip daddr 10.199.9.9 drop ;;
	0) bnft delete rule "$f" "$t" "$c" handle "$EDIT_HANDLE" ;;
	esac
}

# t_nft NAME FAMILY TABLE CHAIN CHAIN_SPEC
t_nft() {
	local name=$1 f=$2 t=$3 c=$4 spec=$5 base n0 np0 ip0 np ip i edits=0 t0 t1
	local fout="$bf_tmpdir/flood.$name"
	if ! { bnft add table "$f" "$t" && bnft add chain "$f" "$t" "$c" "$spec" &&
		bnft add rule "$f" "$t" "$c" ip saddr "$BF_A4" icmp type \
			echo-request counter; }; then
		bf_not_ok "$name: chain and counting rule"
		return
	fi

	# Baseline: one chunk, no replacement.
	ONE=1 flood_start "$fout.0"
	flood_wait "$fout.0"
	base=$(nft_counter "$f" "$t" "$c")
	base=${base:-0}
	bf_log "$name: baseline: sent $SENT, received $RECEIVED, counted $base"
	bf_check "$name: baseline: the rule counts every request ($base of $SENT)" \
		all_equal "$SENT" "$base" "$RECEIVED"

	np0=$(grep -c "ruleset: chain '$c': new program" "$DLOG")
	ip0=$(grep -c "ruleset: chain '$c': rules updated in place" "$DLOG")
	flood_start "$fout"
	bf_wait_for 30 flood_running "$fout"
	t0=$(date +%s.%N)
	for ((i = 1; i <= REPLACE_N || i % 4 != 1; i++)); do
		if ! nft_edit "$f" "$t" "$c" "$i"; then
			bf_log "$name: edit $i failed"
			break
		fi
		edits=$i
		kill -0 "$flood_pid" 2>/dev/null || break
	done
	t1=$(date +%s.%N)
	flood_wait "$fout"
	local frc=$?
	n0=$(nft_counter "$f" "$t" "$c")
	n0=$(( ${n0:-0} - base ))
	np=$(($(grep -c "ruleset: chain '$c': new program" "$DLOG") - np0))
	ip=$(($(grep -c "ruleset: chain '$c': rules updated in place" "$DLOG") - ip0))
	bf_log "$name: $edits edits in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s, $np new programs, $ip in-place updates, $CHUNKS chunks"
	report "$name" "$np" "$SENT" "$RECEIVED" "$n0"
	bf_check "$name: $REPLACE_N+ edits while the flood ran ($edits)" \
		both "$((edits >= REPLACE_N ? 0 : 1))" "$frc"
	bf_check "$name: each edit loaded a new program ($np of $edits, $ip in place)" \
		both "$((np >= edits ? 0 : 1))" "$ip"
	check_counts "$name" "$SENT" "$RECEIVED" "$n0"
	bnft delete table "$f" "$t"
	bf_check "$name: ping passes after delete table" bf_ping "$NS_A" "$BF_B4"
}

# --- bf_chaintool --replace-loop ----------------------------------------

# t_tool NAME HOOK N: N replacements.
t_tool() {
	local name=$1 hook=$2 n=$3 out base n0 nrep frc t0 t1
	local fout="$bf_tmpdir/flood.$name"
	local args=(--hook "$hook" --ifname "$BF_IF_B" --family ip
		--addr "$BF_A4" --port "$PORT")

	# Baseline: the counting rule alone, one chunk, no replacement.
	out="$bf_tmpdir/tool.$name.0"
	if ! bf_tool_start "$NS_B" "$out" "${args[@]}" --scenario count-ping; then
		bf_not_ok "$name: attach"
		return
	fi
	ONE=1 flood_start "$fout.0"
	flood_wait "$fout.0"
	bf_check "$name: baseline: tool exits 0" bf_tool_stop "$out"
	base=$(awk -v h=$HANDLE_PING '$1 == "handle" && $2 == h { print $4 }' "$out")
	bf_log "$name: baseline: sent $SENT, received $RECEIVED, counted ${base:-none}"
	bf_check "$name: baseline: the rule counts every request (${base:-none} of $SENT)" \
		all_equal "$SENT" "${base:-0}" "$RECEIVED"

	out="$bf_tmpdir/tool.$name"
	if ! bf_tool_start "$NS_B" "$out" "${args[@]}" --scenario count-ping \
		--scenario2 count-ping-behind --replace-loop "$n"; then
		bf_not_ok "$name: attach"
		return
	fi
	flood_start "$fout"
	bf_wait_for 30 flood_running "$fout"
	t0=$(date +%s.%N)
	kill -USR1 "$bf_tool_pid"
	bf_tool_wait_line "$out" "replace-done $n" 100
	t1=$(date +%s.%N)
	flood_wait "$fout"
	frc=$?
	nrep=$(grep -c '^replaced ' "$out")
	bf_log "$name: $nrep replacements in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s, $CHUNKS chunks"
	grep -qx "replace-done $n" "$out"
	bf_check "$name: $n replacements while the flood ran ($nrep)" \
		both $? "$frc"
	bf_check "$name: tool exits 0" bf_tool_stop "$out"
	n0=$(awk -v h=$HANDLE_PING '$1 == "handle" && $2 == h { print $4 }' "$out")
	report "$name" "$nrep" "$SENT" "$RECEIVED" "${n0:-0}"
	check_counts "$name" "$SENT" "$RECEIVED" "${n0:-0}"
	bf_check "$name: ping passes after detach" bf_ping "$NS_A" "$BF_B4"
}

rt_netns_setup || bf_skip "cannot set up namespaces and veth"
bf_log "namespaces $NS_A $NS_B; $REPLACE_N replacements per flavour," \
	"flood in chunks of ping -f -c $CHUNK"
start_s=$SECONDS

if daemon_start; then
	t_nft "nf-input (nft ip)" ip rtest in \
		'{ type filter hook input priority 0; policy accept; }'
	t_nft "tcx (nft netdev)" netdev rtest ing \
		"{ type filter hook ingress device $BF_IF_B priority 0; policy accept; }"
	bf_kill_pid "$DAEMON_PID"
	bf_check "daemon exits 0" [ $? -eq 0 ]
else
	bf_not_ok "the daemon did not start"
	sed 's/^/#   /' "$DLOG" | tail -n 20
fi

t_tool "xdp (bf_chaintool)" xdp "$REPLACE_N"
t_tool "tc-ingress (bf_chaintool)" tc-ingress "$REPLACE_N"
# A netfilter swap by bf_chaintool is the quickest (a few ms, against
# tens for XDP and TCX link updates): five times as many, so that as much
# traffic crosses replacements.
t_tool "nf-input (bf_chaintool)" nf-input "$((5 * REPLACE_N))"

bf_log "summary ($((SECONDS - start_s)) s):"
for l in "${summary[@]}"; do
	bf_log "  $l"
done
bf_finish
