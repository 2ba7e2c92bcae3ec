#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Unmodified nft through bfexec against a private bpfilter daemon, with the
# kernel's nf_tables in a scratch netns as the oracle:
#   (a) an empty world lists exactly as the kernel's;
#   (b) the same commands give the same exit codes, messages and
#       `nft list ruleset` / `-a` / `-j` outputs;
#   (c) real traffic over a veth pair: `udp dport N drop` drops UDP to N and
#       not to another port, counters count, delete by handle and flush
#       undo it;
#   (d) a batch whose last rule is refused leaves the earlier ruleset
#       listed and enforced unchanged.
#
# Kernel selftest conventions: exit 0 pass, 1 fail, 4 skip; TAP lines.
# Namespaces: NS_A (peer), NS_B (bpfilter's client, filtered), NS_K (the
# kernel oracle), all with unique names and deleted on exit. The host's
# ruleset is never touched.

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
PORT=4242
OTHER=4343
NS_K=
RUNDIR=

bf_require nft
[ -x "$NFT" ] || bf_skip "no $NFT"
for f in "$BPFILTER" "$BFEXEC" "$BDIR/libbpfilter-preload.so"; do
	[ -e "$f" ] || bf_skip "$f not built"
done

NS_R=
cleanup() {
	bf_cleanup
	[ -n "$NS_K" ] && ip netns del "$NS_K" 2>/dev/null
	[ -n "$NS_R" ] && ip netns del "$NS_R" 2>/dev/null
}
trap cleanup EXIT
trap 'exit $KSFT_FAIL' INT TERM HUP

bf_netns_setup || bf_skip "cannot set up namespaces and veth"
NS_K="bf-k-$$-$RANDOM$RANDOM"
ip netns add "$NS_K" || bf_skip "cannot create a netns"

RUNDIR=$bf_tmpdir/run
"$BPFILTER" --runtime-dir "$RUNDIR" -t >"$bf_tmpdir/daemon.log" 2>&1 &
bf_track_pid $!
bf_wait_for 5 test -S "$RUNDIR/daemon.sock" || {
	cat "$bf_tmpdir/daemon.log"
	bf_skip "the daemon did not start"
}

knft() { ip netns exec "$NS_K" timeout 20 "$NFT" "$@"; }

# same DESC ARGS...: same stdout, stderr and exit code from both.
same() {
	local desc=$1 kr br
	shift
	knft "$@" >"$bf_tmpdir/k.out" 2>"$bf_tmpdir/k.err"
	kr=$?
	bnft "$@" >"$bf_tmpdir/b.out" 2>"$bf_tmpdir/b.err"
	br=$?
	if [ "$kr" = "$br" ] && cmp -s "$bf_tmpdir/k.out" "$bf_tmpdir/b.out" &&
		cmp -s "$bf_tmpdir/k.err" "$bf_tmpdir/b.err"; then
		bf_ok "$desc"
	else
		bf_not_ok "$desc"
		echo "#   kernel exit $kr, bpfilter exit $br"
		diff -u "$bf_tmpdir/k.out" "$bf_tmpdir/b.out" | sed 's/^/#   /' | head -30
		diff -u "$bf_tmpdir/k.err" "$bf_tmpdir/b.err" | sed 's/^/#   /' | head -30
	fi
}

# same_echo DESC ARGS...: like same, the pid in "new generation" aside.
same_echo() {
	local desc=$1 k b
	shift
	k=$(knft "$@" 2>&1; echo "exit $?")
	b=$(bnft "$@" 2>&1; echo "exit $?")
	k=$(sed 's/by process [0-9]*/by process N/' <<<"$k")
	b=$(sed 's/by process [0-9]*/by process N/' <<<"$b")
	if [ "$k" = "$b" ]; then
		bf_ok "$desc"
	else
		bf_not_ok "$desc"
		diff -u <(echo "$k") <(echo "$b") | sed 's/^/#   /' | head -20
	fi
}

same_listings() {
	same "$1: list ruleset" list ruleset
	same "$1: -a list ruleset" -a list ruleset
	same "$1: -j list ruleset" -j list ruleset
}

# (a) Empty world.
same "empty: list ruleset" list ruleset
same "empty: list tables" list tables
same "empty: list chains" list chains

# (b) The same commands.
same "add table" add table ip t
same "add base chain" add chain ip t c '{ type filter hook input priority 0; policy accept; }'
same "add rule with counter and comment" add rule ip t c udp dport 9999 counter drop comment '"no 9999"'
same "add regular chain" add chain ip t r
same "insert jump" insert rule ip t c tcp dport 22 jump r
same "add rule to regular chain" add rule ip t r ip saddr 10.0.0.0/8 return
same "add rule at position" add rule ip t c position 2 meta l4proto icmp accept
same "add inet table" add table inet x
same "add inet chain" add chain inet x y '{ type filter hook output priority -10; policy drop; }'
same "add inet rule" add rule inet x y ip6 daddr fd00::/8 tcp dport 1-1024 accept
same "add netdev table" add table netdev n
cat >"$bf_tmpdir/s.nft" <<'EOF'
table ip6 s {
	chain z {
		type filter hook forward priority 10; policy drop;
		meta mark 0x2a counter
		iifname "bfveth1" ip6 nexthdr udp udp sport != 53 accept
	}
}
EOF
same "nft -f file" -f "$bf_tmpdir/s.nft"
same_echo "echo: add rule -e -a" -e -a add rule ip t c tcp dport 80 counter accept comment '"web"'
same_echo "echo: insert rule -e" -e insert rule ip t c position 2 tcp dport 81 accept
same "replace rule" replace rule ip t c handle 2 udp dport 9998 counter drop
same_listings "after adds"

same "error: delete missing handle" delete rule ip t c handle 999
same "error: jump to a missing chain" add rule ip t c jump nonexist
same "error: delete a referenced chain" delete chain ip t r
same "error: delete a missing table" delete table ip nope
same "error: create an existing table" create table ip t
same "error: position not found" add rule ip t c position 12345 accept
same "error: change a base chain's hook" add chain ip t c '{ type filter hook output priority 0; }'
same_listings "after errors"

same "delete rule by handle" delete rule ip t c handle 4
same "flush chain" flush chain ip t r
same "delete chain" delete chain ip t r
same "delete table" delete table inet x
same_listings "after deletes"
# Monitor: both see the same events for the same commands.
ip netns exec "$NS_K" timeout 4 "$NFT" monitor >"$bf_tmpdir/mon.k" 2>&1 &
bf_track_pid $!
ip netns exec "$NS_B" env BPFILTER_RUNTIME_DIR="$RUNDIR" timeout 4 \
	"$BFEXEC" "$NFT" monitor >"$bf_tmpdir/mon.b" 2>&1 &
bf_track_pid $!
sleep 1
for f in knft bnft; do
	{
		$f add table ip m
		$f add chain ip m c '{ type filter hook output priority 0; }'
		$f add rule ip m c meta mark 7 counter drop
		$f delete table ip m
	} >/dev/null 2>&1
done
sleep 3.5
bf_check "monitor: the same events" bash -c 'diff <(sed "s/process [0-9]*/process N/" "$0") <(sed "s/process [0-9]*/process N/" "$1") >/dev/null && grep -q "add rule ip m c meta mark" "$1" && grep -q "delete table ip m" "$1"' \
	"$bf_tmpdir/mon.k" "$bf_tmpdir/mon.b"

same "flush ruleset" flush ruleset
same_listings "after flush"

# (c) Traffic in NS_B (a fresh world there: flush ruleset above).
bnft add table ip f &&
	bnft add chain ip f in '{ type filter hook input priority 0; policy accept; }' &&
	bnft add rule ip f in udp dport $PORT counter drop
bf_check "nft rules accepted" test $? -eq 0
bf_check "udp to $PORT dropped" bf_udp_blocked "$NS_A" "$NS_B" "$BF_B4" $PORT 3
bf_check "udp to $OTHER passes" bf_udp_arrives "$NS_A" "$NS_B" "$BF_B4" $OTHER
bf_check "the drop counter counts" bash -c '"$@" | grep -q "counter packets [1-9]"' _ \
	ip netns exec "$NS_B" env BPFILTER_RUNTIME_DIR="$RUNDIR" "$BFEXEC" "$NFT" list ruleset

# ping: ICMP echo requests dropped by an nft rule, back after its delete.
bf_check "ping passes before" bf_ping "$NS_A" "$BF_B4"
bnft add rule ip f in icmp type echo-request counter drop
bf_check "ping dropped by icmp type echo-request drop" bf_ping_fails "$NS_A" "$BF_B4"
bf_check "the icmp counter counts" bash -c '"$@" | grep -q "echo-request counter packets [1-9]"' _ \
	ip netns exec "$NS_B" env BPFILTER_RUNTIME_DIR="$RUNDIR" "$BFEXEC" "$NFT" list ruleset
h=$(bnft -a list chain ip f in | sed -n "s/.*echo-request .*# handle \([0-9]*\)/\1/p")
bnft delete rule ip f in handle "$h"
bf_check "ping passes after the icmp rule is deleted" bf_ping "$NS_A" "$BF_B4"

# Counters survive a recompile of the chain (rules added after them).
bnft add rule ip f in udp dport 1 drop
bf_check "counter kept across a chain replacement" bash -c '"$@" | grep -q "dport $0 counter packets [1-9]"' $PORT \
	ip netns exec "$NS_B" env BPFILTER_RUNTIME_DIR="$RUNDIR" "$BFEXEC" "$NFT" list ruleset

# A dormant table filters nothing and keeps its counters; awake, it
# filters again.
cnt() { bnft list chain ip f "$1" | sed -n "s/.*dport $PORT counter packets \([0-9]*\) .*/\1/p"; }
c0=$(cnt in)
bnft add table ip f '{ flags dormant; }'
bf_check "dormant: udp to $PORT passes" bf_udp_arrives "$NS_A" "$NS_B" "$BF_B4" $PORT
bf_check "dormant: counter kept, not counting" test "$(cnt in)" = "$c0"
bnft add table ip f
bf_check "awake: udp to $PORT dropped" bf_udp_blocked "$NS_A" "$NS_B" "$BF_B4" $PORT 3
bf_check "awake: counter goes on" test "$(cnt in)" -gt "$c0"

# A renamed base chain keeps filtering and counting; a jump follows the
# chain it targets when that one is renamed.
c0=$(cnt in)
bnft rename chain ip f in input
bf_check "renamed: udp to $PORT dropped" bf_udp_blocked "$NS_A" "$NS_B" "$BF_B4" $PORT 3
bf_check "renamed: counter kept" test "$(cnt input)" -gt "$c0"
bnft add chain ip f sub && bnft add rule ip f sub udp dport $OTHER drop &&
	bnft insert rule ip f input jump sub && bnft rename chain ip f sub sub2
bf_check "jump to a renamed chain: accepted" test $? -eq 0
bf_check "jump to a renamed chain: udp to $OTHER dropped" bf_udp_blocked "$NS_A" "$NS_B" "$BF_B4" $OTHER 3
bf_check "jump to a renamed chain: listed with the new name" bash -c '"$@" | grep -q "jump sub2"' _ \
	ip netns exec "$NS_B" env BPFILTER_RUNTIME_DIR="$RUNDIR" "$BFEXEC" "$NFT" list chain ip f input
bnft delete rule ip f input handle "$(bnft -a list chain ip f input | sed -n 's/.*jump sub2 # handle \([0-9]*\)/\1/p')" &&
	bnft delete chain ip f sub2 && bnft rename chain ip f input in
bf_check "renamed back" test $? -eq 0

# inet: one chain filters IPv4 and IPv6.
bnft add table inet i &&
	bnft add chain inet i in '{ type filter hook input priority 0; }' &&
	bnft add rule inet i in udp dport $OTHER drop
bf_check "inet rules accepted" test $? -eq 0
bf_check "inet: udp/IPv4 to $OTHER dropped" bf_udp_blocked "$NS_A" "$NS_B" "$BF_B4" $OTHER 3
bf_check "inet: udp/IPv6 to $OTHER dropped" bf_udp_blocked "$NS_A" "$NS_B" "$BF_B6" $OTHER 3
bnft delete table inet i
bf_check "inet: udp to $OTHER passes after delete table" bf_udp_arrives "$NS_A" "$NS_B" "$BF_B4" $OTHER

# netdev ingress on a device: TCX.
bnft add table netdev d &&
	bnft add chain netdev d ing "{ type filter hook ingress device $BF_IF_B priority 0; }" &&
	bnft add rule netdev d ing udp dport $OTHER drop
bf_check "netdev rules accepted" test $? -eq 0
bf_check "netdev: udp to $OTHER dropped" bf_udp_blocked "$NS_A" "$NS_B" "$BF_B4" $OTHER 3
bnft delete table netdev d
bf_check "netdev: udp to $OTHER passes after delete table" bf_udp_arrives "$NS_A" "$NS_B" "$BF_B4" $OTHER

# (d) A batch whose last rule is refused: nothing of it applies.
before=$(bnft -a list ruleset)
cat >"$bf_tmpdir/batch.nft" <<EOF
add rule ip f in udp dport $OTHER drop
add rule ip f in udp dport 1 meta mark set 0x1
EOF
bnft -f "$bf_tmpdir/batch.nft" >/dev/null 2>&1
bf_check "refused batch fails" test $? -ne 0
after=$(bnft -a list ruleset)
bf_check "refused batch: listing unchanged" test "$before" = "$after"
bf_check "refused batch: udp to $OTHER still passes" \
	bf_udp_arrives "$NS_A" "$NS_B" "$BF_B4" $OTHER
bf_check "refused batch: udp to $PORT still dropped" \
	bf_udp_blocked "$NS_A" "$NS_B" "$BF_B4" $PORT 3
bf_check "daemon still serves" bash -c '"$@" >/dev/null' _ \
	ip netns exec "$NS_B" env BPFILTER_RUNTIME_DIR="$RUNDIR" "$BFEXEC" "$NFT" list tables

# Delete by handle, then flush: traffic passes again.
h=$(bnft -a list chain ip f in | sed -n "s/.*dport $PORT .*# handle \([0-9]*\)/\1/p")
bnft delete rule ip f in handle "$h"
bf_check "delete rule by handle" test $? -eq 0
bf_check "udp to $PORT passes after delete" bf_udp_arrives "$NS_A" "$NS_B" "$BF_B4" $PORT
bnft add rule ip f in udp dport $PORT drop
bf_check "udp to $PORT dropped again" bf_udp_blocked "$NS_A" "$NS_B" "$BF_B4" $PORT 3
bnft flush ruleset
bf_check "udp to $PORT passes after flush ruleset" bf_udp_arrives "$NS_A" "$NS_B" "$BF_B4" $PORT
bf_check "empty after flush" test -z "$(bnft list ruleset)"

# A namespace that is gone: the next one often gets its inode (the kernel
# reuses them at once), and must start empty all the same. (No base chain
# here: an attached chain's bpf link keeps its namespace alive.)
NS_R="bf-r-$$-$RANDOM$RANDOM"
rnft() { ip netns exec "$NS_R" env BPFILTER_RUNTIME_DIR="$RUNDIR" \
	timeout 20 "$BFEXEC" "$NFT" "$@"; }
ip netns add "$NS_R" && rnft add table ip secret && rnft add chain ip secret c
bf_check "a table in a namespace about to go" test $? -eq 0
ino0=$(stat -L -c %i "/run/netns/$NS_R")
ip netns del "$NS_R"
# The namespace is freed by a kernel worker: try a few times for its inode.
for try in $(seq 20); do
	sleep 0.2
	ip netns add "$NS_R" || break
	[ "$(stat -L -c %i "/run/netns/$NS_R")" = "$ino0" ] && break
	[ "$try" -lt 20 ] && ip netns del "$NS_R"
done
ino1=$(stat -L -c %i "/run/netns/$NS_R")
bf_check "a new namespace (inode $ino0, then $ino1) starts empty" \
	bash -c 'out=$("$@") && [ -z "$out" ]' _ ip netns exec "$NS_R" \
	env BPFILTER_RUNTIME_DIR="$RUNDIR" "$BFEXEC" "$NFT" list tables
ip netns del "$NS_R"
NS_R=

bf_finish
