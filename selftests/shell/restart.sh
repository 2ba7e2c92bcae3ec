#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# shellcheck disable=SC2016,SC2317 # bash -c scripts; helpers run through bf_check
#
# Restart and restore (Documentation/daemon.md, "State and restore"), with
# unmodified nft through bfexec against a private persistent daemon on a
# bpffs of the test's own:
#   (a) stop and start with traffic flowing: a ping flood from NS_A runs
#       while the daemon is stopped (SIGTERM) and started again, several
#       times: ping gets every reply, and the counting rule's counter,
#       listed after the last start, equals the requests sent (counters
#       go on across restarts, nothing accepted is dropped);
#   (b) two network namespaces with different rulesets (ip, inet, netdev
#       on TCX): `nft -a list ruleset` in each is byte-identical across a
#       restart, and both still filter;
#   (b2) a namespace deleted while the daemon was stopped: its state and
#       pins are released at start, the others restored;
#   (c) an in-place update after a restore (a rule added to a run of
#       similar rules) updates the running program's map and filters;
#   (c2) sets: a named set with a comment and elements, an address set,
#       an anonymous set, an interval set, verdict maps (named and
#       anonymous) jumping to a regular chain: the listing is
#       byte-identical across a restart, what the sets drop is dropped
#       and what they let pass passes before and after, and an element
#       added after the restore is applied in place and filters;
#   (d) kill -9 during a stream of batches, then a restart, $BF_RESTART_ROUNDS
#       rounds (5; 50 for the issue's full run): each time the port the
#       listing shows dropped is dropped and another port passes;
#   (e) bad state: a flipped byte, a truncated file, a foreign version,
#       pins that do not match: the daemon exits 1 saying what is wrong and
#       how to clean up, and the rules go on filtering; the documented
#       clean-up (removing both directories) then gives an empty ruleset.
#
# The host's /sys/fs/bpf, ruleset and interfaces are never touched.
# Exit 0 pass, 1 fail, 4 skip. Nothing is asserted about timings.

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
ROUNDS=${BF_RESTART_ROUNDS:-5}
CHUNK=${BF_FLOOD_CHUNK:-5000}
BPFFS=
RUNDIR=
DPID=
DLOG=
flood_pid=

bf_require nft mount umount
[ -x "$NFT" ] || bf_skip "no $NFT"
for f in "$BPFILTER" "$BFEXEC" "$BDIR/libbpfilter-preload.so"; do
	[ -e "$f" ] || bf_skip "$f not built"
done

cleanup() {
	[ -n "$DPID" ] && kill -KILL "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	[ -n "${NS_C:-}" ] && ip netns del "$NS_C" 2>/dev/null
	[ -n "$BPFFS" ] && mountpoint -q "$BPFFS" && umount -l "$BPFFS"
	bf_cleanup
}
trap cleanup EXIT
trap 'exit $KSFT_FAIL' INT TERM HUP

bf_netns_setup || bf_skip "cannot set up namespaces and veth"
BPFFS=$bf_tmpdir/bpffs
mkdir -p "$BPFFS"
mount -t bpf bpf "$BPFFS" || bf_skip "cannot mount a bpffs"
RUNDIR=$bf_tmpdir/run
DLOG=$bf_tmpdir/daemon.log
NSINO=$(ip netns exec "$NS_B" stat -L -c %i /proc/self/ns/net)
STATE=$RUNDIR/state/netns-$NSINO
T=t$$

# start_daemon: a persistent daemon; sets DPID. Its log goes to $DLOG.
start_daemon() {
	: >"$DLOG"
	"$BPFILTER" --runtime-dir "$RUNDIR" --bpffs-path "$BPFFS" -v debug \
		>>"$DLOG" 2>&1 &
	DPID=$!
	bf_track_pid "$DPID"
	bf_wait_for 10 grep -q "info: listening on" "$DLOG" || {
		sed 's/^/#   /' "$DLOG"
		return 1
	}
}


# restart: SIGTERM, then start again.
restart() { bf_stop_daemon TERM && start_daemon; }

nft_in() {
	local ns=$1
	shift
	ip netns exec "$ns" env BPFILTER_RUNTIME_DIR="$RUNDIR" \
		timeout 20 "$BFEXEC" "$NFT" "$@"
}
bnft() { nft_in "$NS_B" "$@"; }
anft() { nft_in "$NS_A" "$@"; }

drops() { ! bf_udp_arrives "$NS_A" "$NS_B" "$BF_B4" "$1" 3; }
passes() { bf_udp_arrives "$NS_A" "$NS_B" "$BF_B4" "$1" 3; }
a_drops() { ! bf_udp_arrives "$NS_B" "$NS_A" "$BF_A4" "$1" 3; }
a_passes() { bf_udp_arrives "$NS_B" "$NS_A" "$BF_A4" "$1" 3; }

# The flood: chunks of ping -f from NS_A until told to stop.
flood_start() {
	local out=$1
	rm -f "$bf_tmpdir/stop"
	: >"$out"
	timeout 600 ip netns exec "$NS_A" bash -c '
		for ((i = 0; i < 200; i++)); do
			s=$(timeout 120 ping -n -q -f -c "$4" "$3" 2>&1)
			st=$(sed -n "s/^\([0-9]*\) packets transmitted, \([0-9]*\) received.*/\1 \2/p" <<<"$s")
			[ -n "$st" ] || { echo "error $s" >>"$1"; exit 1; }
			echo "chunk $st" >>"$1"
			[ -e "$2" ] && exit 0
		done; exit 2' _ "$out" "$bf_tmpdir/stop" "$BF_B4" "$CHUNK" &
	flood_pid=$!
	bf_track_pid "$flood_pid"
}

flood_wait() {
	local out=$1 i
	touch "$bf_tmpdir/stop"
	for ((i = 0; i < 1200; i++)); do
		kill -0 "$flood_pid" 2>/dev/null || break
		sleep 0.1
	done
	bf_kill_pid "$flood_pid"
	SENT=$(awk '$1 == "chunk" { s += $2 } END { print s + 0 }' "$out")
	RECEIVED=$(awk '$1 == "chunk" { s += $3 } END { print s + 0 }' "$out")
}

counted() {
	bnft list chain ip "$T" input |
		sed -n 's/.*echo-request counter packets \([0-9]*\) .*/\1/p'
}

start_daemon || bf_skip "the daemon did not start"

# ---- (a) restarts under traffic
bnft -f - <<EOF || bf_not_ok "ruleset in NS_B"
table ip $T {
	chain input {
		type filter hook input priority 0; policy accept;
		ip saddr $BF_A4 icmp type echo-request counter accept comment "flood"
		udp dport 4242 counter drop
	}
	chain g {
		type filter hook input priority 10; policy accept;
$(for p in $(seq 7001 7016); do echo "		udp dport $p drop"; done)
	}
}
EOF
flood_start "$bf_tmpdir/flood"
bf_wait_for 30 grep -q '^chunk' "$bf_tmpdir/flood"
restarts=0
for ((i = 0; i < 3; i++)); do
	restart && restarts=$((restarts + 1))
	sleep 0.3
done
bf_wait_for 60 test "$(grep -c '^chunk' "$bf_tmpdir/flood")" -ge 2
flood_wait "$bf_tmpdir/flood"
c=$(counted)
bf_log "3 restarts under a flood: sent $SENT, received $RECEIVED, counted ${c:-none}"
bf_check "the daemon restarted 3 times under traffic" test "$restarts" -eq 3
bf_check "the restarts restored (log)" grep -q "restore: netns $NSINO: state and pins adopted" "$DLOG"
bf_check "ping got every reply across restarts ($RECEIVED of $SENT)" \
	test "$SENT" -gt 0 -a "$RECEIVED" -eq "$SENT"
bf_check "the counter went on across restarts (${c:-none} of $SENT)" \
	test "${c:-0}" -eq "$SENT"
bf_check "after restarts: 4242 dropped" drops 4242
bf_check "after restarts: 4343 passes" passes 4343

# ---- (b) two namespaces, byte-identical listings
anft -f - <<EOF || bf_not_ok "ruleset in NS_A"
table inet a$$ {
	chain in {
		type filter hook input priority -5; policy accept;
		udp dport 6000 drop comment "a's own"
	}
}
EOF
bnft -f - <<EOF || bf_not_ok "netdev ruleset in NS_B"
table netdev n$$ {
	chain ing {
		type filter hook ingress device $BF_IF_B priority 0; policy accept;
		udp dport 6500 counter drop
	}
}
EOF
bnft -a list ruleset >"$bf_tmpdir/b.before"
anft -a list ruleset >"$bf_tmpdir/a.before"
bf_check "restart with two namespaces" restart
bnft -a list ruleset >"$bf_tmpdir/b.after"
anft -a list ruleset >"$bf_tmpdir/a.after"
bf_check "NS_B: nft -a list ruleset byte-identical across a restart" \
	cmp -s "$bf_tmpdir/b.before" "$bf_tmpdir/b.after"
bf_check "NS_A: nft -a list ruleset byte-identical across a restart" \
	cmp -s "$bf_tmpdir/a.before" "$bf_tmpdir/a.after"
bf_check "NS_A: its rule still filters (6000 dropped)" a_drops 6000
bf_check "NS_A: 6001 passes" a_passes 6001
bf_check "NS_B: 7002 dropped" drops 7002
bf_check "NS_B: the netdev (TCX) chain still filters (6500 dropped)" drops 6500

# ---- (b2) a namespace that is gone by the restart: released
NS_C="bf-c-$$-$RANDOM"
if ip netns add "$NS_C"; then
	cino=$(ip netns exec "$NS_C" stat -L -c %i /proc/self/ns/net)
	nft_in "$NS_C" add table ip c$$ &&
		nft_in "$NS_C" add chain ip c$$ in '{ type filter hook input priority 0; }'
	bf_check "NS_C: pinned and saved" \
		test -e "$BPFFS/bpfilter/netns-$cino/ip_c$$/in/prog" -a -e "$RUNDIR/state/netns-$cino"
	bf_stop_daemon TERM
	ip netns del "$NS_C" && NS_C=
	start_daemon
	bf_check "a namespace gone by the restart is said released" \
		grep -q "restore: netns $cino is gone: releasing its state and pins" "$DLOG"
	bf_check "... its state file is removed" test ! -e "$RUNDIR/state/netns-$cino"
	bf_check "... and its pins" test ! -e "$BPFFS/bpfilter/netns-$cino"
	bf_check "... the other namespaces are restored" \
		eval "bnft list ruleset | grep -q 'table ip $T'"
fi

# ---- (c) in-place update after a restore (16 similar rules: one map)
last=$(sed -n 's/.*# handle \([0-9]*\)$/\1/p' "$bf_tmpdir/b.before" | sort -n | tail -1)
bnft add rule ip "$T" g udp dport 7017 drop
bf_check "after a restore, a rule added to a run is applied in place" \
	grep -q "ruleset: chain 'g': rules updated in place" "$DLOG"
bf_check "... and filters (7017 dropped)" drops 7017
bf_check "... and handles go on from where they were (handle $((last + 1)))" \
	eval "bnft -a list chain ip $T g | grep -q 'dport 7017 drop # handle $((last + 1))\$'"

# ---- (c2) sets across a restart: named (comment, elements), anonymous,
# interval, verdict maps jumping to a regular chain
S=s$$
bnft -f - <<EOF || bf_not_ok "ruleset with sets in NS_B"
table ip $S {
	set ports {
		type inet_service
		comment "named set"
		elements = { 4601, 4602 }
	}
	set srcs {
		type ipv4_addr
		elements = { $BF_A4, 10.250.0.1 }
	}
	set rng {
		type inet_service
		flags interval
		elements = { 4620-4629, 4640-4649 }
	}
	map vm {
		type inet_service : verdict
		elements = { 4631 : jump dropper, 4632 : accept, 4633 : drop }
	}
	chain dropper {
		udp dport 4631 counter drop
		udp dport 4661 drop
	}
	chain in {
		type filter hook input priority 30; policy accept;
		udp dport @ports drop
		udp dport { 4611, 4612 } drop comment "anonymous"
		ip saddr @srcs udp dport 4650 drop
		udp dport @rng drop
		udp dport vmap @vm
		udp dport vmap { 4661 : jump dropper, 4662 : drop }
	}
}
EOF
set_checks() { # WHEN
	bf_check "sets $1: named set, 4601 dropped" drops 4601
	bf_check "sets $1: 4603 (not in it) passes" passes 4603
	bf_check "sets $1: anonymous set, 4612 dropped" drops 4612
	bf_check "sets $1: address set, 4650 from $BF_A4 dropped" drops 4650
	bf_check "sets $1: interval set, 4625 dropped" drops 4625
	bf_check "sets $1: 4630 (between the intervals) passes" passes 4630
	bf_check "sets $1: vmap, 4631 dropped by the jumped-to chain" drops 4631
	bf_check "sets $1: vmap, 4632 accepted" passes 4632
	bf_check "sets $1: vmap, 4633 dropped" drops 4633
	bf_check "sets $1: anonymous vmap, 4661 dropped by the jumped-to chain" drops 4661
	bf_check "sets $1: anonymous vmap, 4662 dropped" drops 4662
}
set_checks "before a restart"
bnft -a list ruleset >"$bf_tmpdir/s.before"
bf_check "sets: restart" restart
bf_check "sets: the restart restored (log)" \
	grep -q "restore: netns $NSINO: state and pins adopted" "$DLOG"
bf_check "sets: the chain using them was adopted, not loaded afresh" \
	eval "! grep -q 'loading it afresh' '$DLOG'"
bnft -a list ruleset >"$bf_tmpdir/s.after"
if cmp -s "$bf_tmpdir/s.before" "$bf_tmpdir/s.after"; then
	bf_ok "sets: nft -a list ruleset byte-identical across a restart"
else
	bf_not_ok "sets: nft -a list ruleset byte-identical across a restart"
	diff "$bf_tmpdir/s.before" "$bf_tmpdir/s.after" | head -20 | sed 's/^/#   /'
fi
set_checks "after a restart"
ip0=$(grep -c "ruleset: chain 'in': rules updated in place" "$DLOG")
bnft add element ip "$S" ports '{ 4603 }'
bf_check "sets: an element added after the restore is listed" \
	eval "bnft list set ip $S ports | grep -q '4601, 4602, 4603'"
bf_check "... applied in place" \
	test "$(grep -c "ruleset: chain 'in': rules updated in place" "$DLOG")" -gt "$ip0"
bf_check "... and filters (4603 dropped)" drops 4603
bf_check "... 4604 still passes" passes 4604
bnft add element ip "$S" vm '{ 4634 : jump dropper }' &&
	bnft add rule ip "$S" dropper udp dport 4634 drop
bf_check "sets: a vmap element jumping, added after the restore, filters (4634 dropped)" drops 4634

# ---- (d) kill -9 during a stream of batches
bnft -f - <<EOF
table ip k$$ {
	chain c {
		type filter hook input priority 20; policy accept;
		udp dport 5000 drop
	}
}
EOF
for ((round = 1; round <= ROUNDS; round++)); do
	rm -f "$bf_tmpdir/stop"
	ip netns exec "$NS_B" env BPFILTER_RUNTIME_DIR="$RUNDIR" bash -c '
		for ((j = 0; j < 2000; j++)); do
			[ -e "$3" ] && exit 0
			p=$((5001 + RANDOM % 8))
			printf "flush chain ip %s c\nadd rule ip %s c udp dport %s drop\n" \
				"$4" "$4" "$p" | timeout 5 "$1" "$2" -f - 2>/dev/null
		done' _ "$BFEXEC" "$NFT" "$bf_tmpdir/stop" "k$$" &
	spid=$!
	bf_track_pid "$spid"
	sleep "0.$((RANDOM % 8 + 2))"
	bf_stop_daemon KILL
	touch "$bf_tmpdir/stop"
	bf_kill_pid "$spid"
	if ! start_daemon; then
		bf_not_ok "round $round: the daemon restarts after kill -9"
		break
	fi
	port=$(bnft list chain ip "k$$" c | sed -n 's/.*udp dport \([0-9]*\) drop.*/\1/p')
	other=$((port == 5001 ? 5002 : 5001))
	if [ -n "$port" ] && drops "$port" && passes "$other"; then
		bf_ok "round $round: kill -9 mid-stream, restart: listed $port is dropped, $other passes"
	else
		bf_not_ok "round $round: kill -9 mid-stream, restart: listed '${port}', datapath differs"
		sed 's/^/#   /' "$DLOG" | grep -iE 'error|warn' | head -5
	fi
done
bf_check "after the rounds: the flood rule's table is intact" drops 4242

# ---- (e) bad state
bf_stop_daemon TERM
cp "$STATE" "$bf_tmpdir/state.good"
bad_start() { # DESC
	local rc
	timeout 20 "$BPFILTER" --runtime-dir "$RUNDIR" --bpffs-path "$BPFFS" \
		>"$bf_tmpdir/bad.log" 2>&1
	rc=$?
	bf_check "$1: exit 1" test $rc -eq 1
	bf_check "$1: says how to clean up" \
		grep -q "remove both: rm -rf $RUNDIR/state/netns-$NSINO $BPFFS/bpfilter/netns-$NSINO" \
		"$bf_tmpdir/bad.log"
	bf_check "$1: the rules still filter" drops 4242
	bf_check "$1: the state file is left as it was" test -e "$STATE"
}
# A byte in the middle, flipped.
size=$(stat -c %s "$STATE")
printf '\xff' | dd of="$STATE" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
bad_start "corrupt state"
bf_check "corrupt state: named as such" grep -q "checksum mismatch" "$bf_tmpdir/bad.log"
head -c $((size - 7)) "$bf_tmpdir/state.good" >"$STATE"
bad_start "truncated state"
bf_check "truncated state: named as such" grep -q "truncated" "$bf_tmpdir/bad.log"
cp "$bf_tmpdir/state.good" "$STATE"
printf '\x63\x00\x00\x00' | dd of="$STATE" bs=1 seek=8 conv=notrunc 2>/dev/null
bad_start "state of version 99"
bf_check "foreign version: named as such" grep -q "version 99" "$bf_tmpdir/bad.log"
cp "$bf_tmpdir/state.good" "$STATE"
printf '\x01\x00\x00\x00' | dd of="$STATE" bs=1 seek=8 conv=notrunc 2>/dev/null
bad_start "state of version 1 (before sets were saved)"
bf_check "version 1: named as such" grep -q "version 1, this daemon reads version 2" "$bf_tmpdir/bad.log"
cp "$bf_tmpdir/state.good" "$STATE"
# Pins that do not match: another map pinned as the chain's counters.
cdir=$BPFFS/bpfilter/netns-$NSINO/ip_$T/input
if command -v bpftool >/dev/null && rm "$cdir/counters" &&
	bpftool map pin pinned "$cdir/keys" "$cdir/counters"; then
	bad_start "pins that do not match"
	bf_check "pins that do not match: named as such" \
		grep -q "pins that do not match" "$bf_tmpdir/bad.log"
else
	bf_log "SKIP pins that do not match: no bpftool"
fi
# The documented clean-up: both directories.
rm -rf "${BPFFS:?}/bpfilter/netns-$NSINO" "$RUNDIR/state/netns-$NSINO"
bf_check "clean-up: the rules are gone" passes 4242
if start_daemon; then
	bf_check "clean-up: the daemon starts" kill -0 "$DPID"
	bf_check "clean-up: NS_B lists an empty ruleset" \
		test -z "$(bnft list ruleset)"
	bf_check "clean-up: NS_A's ruleset is still restored" \
		eval "anft list ruleset | grep -q 'a$$'"
	bf_stop_daemon TERM
else
	bf_not_ok "clean-up: the daemon starts"
fi

bf_finish
