#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# shellcheck disable=SC2317 # helpers run through bf_check
#
# Pins and fail-closed (Documentation/daemon.md, "Pins"), with unmodified
# nft through bfexec against a private daemon:
#   (a) --bpffs-path that is not a BPF filesystem, or missing: refused at
#       start, exit 1, a message saying so; nothing created;
#   (b) --transient: no pin, nothing in the runtime directory but the
#       socket and the lock; once the daemon stops its rules are gone;
#   (c) persistent: the layout of the pins; kill -9 of the daemon leaves
#       the rules filtering exactly as before (the dropped port dropped,
#       the other passing); a clean stop (SIGTERM) too;
#   (d) pins follow changes: a replaced rule, then kill -9: the datapath
#       is the new rule's; a deleted table: its pins are gone;
#   (e) a kill between a swap and its final pins (BF_TEST_CRASH hook):
#       the staged pins keep the chains after the swapped one filtering.
#
# The test mounts its own bpffs on a temporary directory and passes
# --bpffs-path: the host's /sys/fs/bpf, ruleset and interfaces are never
# touched. Pins left by the killed daemons go with that bpffs at the end.
# Exit 0 pass, 1 fail, 4 skip.

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
DROP=4242
PASS=4343
BPFFS=
RUNDIR=
DPID=

bf_require nft mount umount
[ -x "$NFT" ] || bf_skip "no $NFT"
for f in "$BPFILTER" "$BFEXEC" "$BDIR/libbpfilter-preload.so"; do
	[ -e "$f" ] || bf_skip "$f not built"
done

cleanup() {
	[ -n "$DPID" ] && kill -KILL "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	# Unmounting our bpffs drops every pin left: links and programs go.
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
NSINO=$(ip netns exec "$NS_B" stat -L -c %i /proc/self/ns/net)
NSDIR=$BPFFS/bpfilter/netns-$NSINO

# start_daemon LOG ARGS...: a private daemon on $RUNDIR; sets DPID.
start_daemon() {
	local log=$1
	shift
	"$BPFILTER" --runtime-dir "$RUNDIR" "$@" >"$log" 2>&1 &
	DPID=$!
	bf_track_pid "$DPID"
	bf_wait_for 5 test -S "$RUNDIR/daemon.sock" || {
		cat "$log"
		return 1
	}
}


load_rules() {
	bnft -f - <<EOF
table ip t$$ {
	chain c {
		type filter hook input priority 0; policy accept;
		udp dport $DROP counter drop
	}
}
table inet i$$ {
	chain c {
		type filter hook input priority 10; policy accept;
		tcp dport 9 drop
	}
}
EOF
}

# filters DROP PASS: DROP is dropped, PASS gets through.
filters() {
	bf_udp_arrives "$NS_A" "$NS_B" "$BF_B4" "$2" 3 &&
		! bf_udp_arrives "$NS_A" "$NS_B" "$BF_B4" "$1" 3
}
unfiltered() { bf_udp_arrives "$NS_A" "$NS_B" "$BF_B4" "$DROP" 3; }
drops_port() { ! bf_udp_arrives "$NS_A" "$NS_B" "$BF_B4" "$1" 3; }

# ---- (a) a bad --bpffs-path
timeout 10 "$BPFILTER" --runtime-dir "$RUNDIR" --bpffs-path "$bf_tmpdir" \
	>"$bf_tmpdir/bad.log" 2>&1
rc=$?
bf_check "a --bpffs-path that is not a bpffs: exit 1" test $rc -eq 1
bf_check "... saying it is not a BPF filesystem" \
	grep -q "is not a BPF filesystem" "$bf_tmpdir/bad.log"
bf_check "... nothing created there" test ! -e "$bf_tmpdir/bpfilter"
timeout 10 "$BPFILTER" --runtime-dir "$RUNDIR" --bpffs-path "$bf_tmpdir/none" \
	>"$bf_tmpdir/bad2.log" 2>&1
rc=$?
bf_check "a missing --bpffs-path: exit 1 with a message" \
	eval "[ $rc -eq 1 ] && grep -q 'none: No such file' '$bf_tmpdir/bad2.log'"

# ---- (b) transient
if start_daemon "$bf_tmpdir/d1.log" -t --bpffs-path "$BPFFS"; then
	bf_check "transient: rules load" load_rules
	bf_check "transient: rules filter" filters "$DROP" "$PASS"
	bf_check "transient: nothing pinned" test ! -e "$BPFFS/bpfilter"
	bf_check "transient: runtime directory holds the socket and lock only" \
		test "$(ls -A "$RUNDIR" | tr '\n' ' ')" = "daemon.lock daemon.sock "
	bf_stop_daemon TERM
	bf_check "transient: stops cleanly" test $? -eq 0
	bf_check "transient: its rules are gone once it stops" unfiltered
else
	bf_not_ok "transient daemon starts"
fi

# ---- (c) persistent: pins, kill -9, SIGTERM
if start_daemon "$bf_tmpdir/d2.log" --bpffs-path "$BPFFS"; then
	bf_check "persistent: rules load" load_rules
	bf_check "persistent: rules filter" filters "$DROP" "$PASS"
	for f in "ip_t$$/c/prog" "ip_t$$/c/counters" "ip_t$$/c/next" \
		"inet_i$$/c/ipv4/prog" "inet_i$$/c/ipv6/next" \
		dispatch/nf_local_in_ipv4_0/link dispatch/nf_local_in_ipv4_0/prog \
		dispatch/nf_local_in_ipv4_0/next dispatch/nf_local_in_ipv4_10/link \
		dispatch/nf_local_in_ipv6_10/next; do
		bf_check "pinned: netns-$NSINO/$f" test -e "$NSDIR/$f"
	done
	bf_stop_daemon KILL
	bf_check "after kill -9: the dropped port is still dropped, the other passes" \
		filters "$DROP" "$PASS"
else
	bf_not_ok "persistent daemon starts"
fi
# The documented clean-up: pins and state.
clean_up() { rm -rf "${BPFFS:?}/bpfilter" "${RUNDIR:?}/state"; }
clean_up
bf_check "removing the pins removes the rules" unfiltered

if start_daemon "$bf_tmpdir/d3.log" --bpffs-path "$BPFFS"; then
	load_rules >/dev/null 2>&1
	bf_stop_daemon TERM
	bf_check "SIGTERM in persistent mode: exit 0" test $? -eq 0
	bf_check "after SIGTERM: the rules still filter" filters "$DROP" "$PASS"
else
	bf_not_ok "persistent daemon starts again"
fi
clean_up

# ---- (d) pins follow changes
if start_daemon "$bf_tmpdir/d4.log" --bpffs-path "$BPFFS"; then
	load_rules >/dev/null 2>&1
	h=$(bnft -a list chain ip "t$$" c | sed -n 's/.*dport '"$DROP"'.*# handle \([0-9]*\)/\1/p')
	bf_check "replace the rule: drop $PASS instead" \
		bnft replace rule ip "t$$" c handle "$h" udp dport "$PASS" drop
	bnft delete table inet "i$$"
	bf_check "a deleted table's pins are gone" test ! -e "$NSDIR/inet_i$$"
	bf_check "... and its attach points'" \
		test ! -e "$NSDIR/dispatch/nf_local_in_ipv4_10"
	bf_check "the other table's are still there" test -e "$NSDIR/ip_t$$/c/prog"
	bf_stop_daemon KILL
	bf_check "after kill -9: the replaced rule filters" filters "$PASS" "$DROP"
else
	bf_not_ok "persistent daemon starts a third time"
fi
clean_up

# ---- (e) a kill between a swap and its final pins: the staged pins hold
# the new program's next array, so the chain after it still filters.
if BF_TEST_CRASH=after-swap start_daemon "$bf_tmpdir/d5.log" --bpffs-path "$BPFFS"; then
	bnft -f - <<EOF
table ip a$$ {
	chain c {
		type filter hook input priority 0; policy accept;
		udp dport $DROP drop
	}
}
EOF
	# Attached last: runs first, before a$$.
	bnft -f - <<EOF
table ip b$$ {
	chain c {
		type filter hook input priority 0; policy accept;
		udp dport 4545 drop
	}
}
EOF
	h=$(bnft -a list chain ip "b$$" c | sed -n 's/.*dport 4545 drop # handle \([0-9]*\)/\1/p')
	bnft replace rule ip "b$$" c handle "$h" udp dport 4646 drop 2>/dev/null
	wait "$DPID" 2>/dev/null
	bf_untrack_pid "$DPID"
	DPID=
	bf_check "the daemon died right after the swap (test hook)" \
		grep -q "test crash after the swap of chain 'c'" "$bf_tmpdir/d5.log"
	bf_check "after a kill between swap and pins: the chain after it still drops $DROP" \
		drops_port "$DROP"
	bf_check "... and the new program runs (4646 dropped)" drops_port 4646
else
	bf_not_ok "persistent daemon starts with the crash hook"
fi
clean_up

bf_finish
