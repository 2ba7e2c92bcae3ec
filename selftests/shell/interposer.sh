#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The netlink transport: bfexec, libbpfilter-preload.so and the daemon's
# default handler (a kernel without nf_tables).
#   (a) unmodified nft through bfexec, with --no-nftables, prints what it
#       prints against a kernel without nf_tables;
#   (b) nl_probe: synchronous replies (trap A), addresses (B), portids (C),
#       SOL_NETLINK options (D), 16 and 72 MiB batches (E), overflowing
#       reply streams, dup/fork/close (I), and byte-for-byte differentials
#       between the daemon and the kernel's missing-subsystem path;
#   (c) ctnetlink passes through to the kernel (K);
#   (d) no daemon: a clear failure.
#
# Kernel selftest conventions: exit 0 pass, 1 fail, 4 skip; TAP lines.
# A private daemon on a mktemp -d runtime directory, killed by pid; one
# scratch netns, deleted on exit.
set -u

BUILD=${BUILD:-build}
# Sanitized builds (make check SANITIZE=1): the test tools run under
# bfexec, whose preload library is built without sanitizers and comes
# first in LD_PRELOAD; ASan must accept that order.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
BPFILTER=$BUILD/bpfilter
BFEXEC=$BUILD/bfexec
PROBE=$BUILD/tools/nl_probe
NFT=${NFT:-/usr/sbin/nft}
KSFT_SKIP=4

n=0 nfail=0
pids=()
netns=""
tmp=""

pass() { n=$((n + 1)); echo "ok $n - $1"; }
fail() {
	n=$((n + 1)); nfail=$((nfail + 1))
	echo "not ok $n - $1"
	[ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/#   /'
	return 0
}
check() { # check DESC COND_EXIT_STATUS [DETAIL]
	if [ "$2" -eq 0 ]; then pass "$1"; else fail "$1" "${3:-}"; fi
}
skip_all() { echo "# SKIP: $1"; exit $KSFT_SKIP; }

running() {
	local s
	s=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	[[ $s != Z* ]]
}

stop() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 50); do
		running "$pid" || break
		sleep 0.1
	done
	running "$pid" && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		running "$pid" && stop "$pid"
	done
	[ -n "$netns" ] && ip netns del "$netns" 2>/dev/null
	[ -n "$tmp" ] && rm -rf "$tmp"
}
trap cleanup EXIT

# start RUNDIR ARGS...: a private daemon; waits (5 s) until it listens.
start() {
	local rundir=$1 i
	shift
	"$BPFILTER" --runtime-dir "$rundir" -t "$@" >"$rundir.log" 2>&1 &
	dpid=$!
	pids+=("$dpid")
	for i in $(seq 50); do
		grep -q "info: listening on $rundir/daemon.sock" "$rundir.log" && return 0
		running "$dpid" || break
		sleep 0.1
	done
	return 1
}

[ "$(id -u)" -eq 0 ] || skip_all "needs root"
for f in "$BPFILTER" "$BFEXEC" "$BUILD/libbpfilter-preload.so" "$PROBE"; do
	[ -x "$f" ] || skip_all "$f not built (make $f)"
done
[ -x "$NFT" ] || skip_all "no $NFT"

tmp=$(mktemp -d /tmp/bf-interposer.XXXXXX) || exit 1
run="$tmp/run"
# The transport is tested against the default handler (the answers of a
# kernel without nf_tables), which --no-nftables selects; the nft
# front-end has its own tests (nft_basic.sh).
start "$run" --no-nftables || { echo "# daemon did not start:"; sed 's/^/#   /' "$run.log"; exit 1; }
export BPFILTER_RUNTIME_DIR=$run

# --- bfexec itself -----------------------------------------------------------
"$BFEXEC" --help >"$tmp/out" 2>&1
check "bfexec --help exits 0" $? "$(cat "$tmp/out")"
"$BFEXEC" sh -c 'exit 7'; rc=$?
check "bfexec returns the command's exit code" $((rc != 7)) "rc=$rc"
out=$(LD_PRELOAD=/nonexistent/x.so "$BFEXEC" printenv LD_PRELOAD 2>/dev/null)
[ "$out" = "$(cd "$BUILD" && pwd)/libbpfilter-preload.so:/nonexistent/x.so" ]
check "bfexec prepends the library to LD_PRELOAD" $? "LD_PRELOAD=$out"
out=$(BPFILTER_RUNTIME_DIR= "$BFEXEC" printenv BPFILTER_RUNTIME_DIR)
check "bfexec defaults BPFILTER_RUNTIME_DIR to /run/bpfilter" \
	"$([ "$out" = /run/bpfilter ]; echo $?)" "got '$out'"
BFEXEC_PRELOAD=/nonexistent/lib.so "$BFEXEC" true 2>"$tmp/err"; rc=$?
[ $rc -eq 125 ] && grep -q "interposer library /nonexistent/lib.so" "$tmp/err"
check "bfexec with a missing library: exit 125 and a message" $? "rc=$rc: $(cat "$tmp/err")"
"$BFEXEC" /nonexistent/cmd 2>/dev/null; rc=$?
check "bfexec with a missing command: exit 127" $((rc != 127)) "rc=$rc"

# --- (a) unmodified nft against the default handler --------------------------
# What nft 1.0.6 prints when the kernel has no nf_tables: the cache's
# GETGEN gets -EINVAL, a batch gets -EOPNOTSUPP on BEGIN. The wire-level
# equality with the kernel's own missing-subsystem answers is checked by
# nl_probe below (differential lines).
expect_list='netlink: Error: cache initialization failed: Invalid argument'
expect_add='Error: Could not process rule: Operation not supported
add table ip bf
^^^^^^^^^^^^^^^^'

nft_case() { # nft_case LABEL EXPECTED_RC EXPECTED_STDERR NFT_ARGS...
	local label=$1 erc=$2 eerr=$3 rc
	shift 3
	timeout 20 "$BFEXEC" "$NFT" "$@" >"$tmp/nft.out" 2>"$tmp/nft.err"; rc=$?
	[ $rc -eq "$erc" ] && [ "$(cat "$tmp/nft.err")" = "$eerr" ] && [ ! -s "$tmp/nft.out" ]
	check "$label" $? "rc=$rc (want $erc), stderr:
$(cat "$tmp/nft.err")"
}

nft_case "bfexec nft list ruleset: kernel-without-nf_tables message, exit 1" \
	1 "$expect_list" list ruleset
nft_case "bfexec nft add table: -EOPNOTSUPP on the batch, exit 1" \
	1 "$expect_add" add table ip bf
ok=0
for i in $(seq 20); do
	timeout 20 "$BFEXEC" "$NFT" list ruleset 2>"$tmp/nft.err" >/dev/null
	[ "$(cat "$tmp/nft.err")" = "$expect_list" ] || { ok=1; break; }
done
check "20 runs of nft list ruleset: the same answer every time (trap A)" $ok \
	"$(cat "$tmp/nft.err")"

run2="$tmp/run-nonft"
if start "$run2" --no-nftables; then
	BPFILTER_RUNTIME_DIR=$run2 nft_case "--no-nftables: nft list ruleset gets the missing-subsystem answer" \
		1 "$expect_list" list ruleset
	BPFILTER_RUNTIME_DIR=$run2 nft_case "--no-nftables: nft add table gets the missing-subsystem answer" \
		1 "$expect_add" add table ip bf
	stop "$dpid"
else
	fail "daemon with --no-nftables did not start" "$(cat "$run2.log")"
fi

# --- (b) the transport, seen by a plain netlink program -----------------------
timeout 60 "$BFEXEC" "$PROBE" transport >"$tmp/probe" 2>&1; rc=$?
while IFS= read -r line; do
	case $line in
	"ok - "*) pass "nl_probe: ${line#ok - }" ;;
	"not ok - "*) fail "nl_probe: ${line#not ok - }" ;;
	*) echo "# $line" ;;
	esac
done <"$tmp/probe"
check "nl_probe transport exits 0" "$rc" "rc=$rc"
grep -q "^ok - after close" "$tmp/probe"
check "nl_probe ran to the end" $?

# --- (c) ctnetlink passes through to the kernel -------------------------------
netns="bf-interposer-$$"
if ip netns add "$netns" 2>/dev/null; then
	ip -n "$netns" link set lo up
	# Kernel nf_tables in the scratch netns makes conntrack track lo.
	ip netns exec "$netns" "$NFT" -f - <<-'EOF' 2>/dev/null
	table ip bfct {
		chain out { type filter hook output priority 0; ct state new counter; }
	}
	EOF
	ip netns exec "$netns" ping -c 2 -i 0.2 -W 1 127.0.0.1 >/dev/null 2>&1
	kern=$(ip netns exec "$netns" "$PROBE" ctdump 2>&1)
	thru=$(ip netns exec "$netns" "$BFEXEC" "$PROBE" ctdump 2>&1)
	[ -n "$kern" ] && [ "$kern" = "$thru" ] && [[ $kern == *"done 1, errors 0"* ]] &&
		[[ $kern != *"entries 0,"* ]] && [[ $thru == *"nlmsg_pid ours"* ]]
	echo "# kernel: $kern"
	check "ctnetlink dump through bfexec equals the kernel's" $? \
		"kernel: $kern
bfexec: $thru"
else
	fail "cannot create a scratch netns"
fi

# --- (d) no daemon -----------------------------------------------------------
stop "${pids[0]}"
timeout 20 "$BFEXEC" "$NFT" list ruleset >"$tmp/nft.out" 2>"$tmp/nft.err"; rc=$?
[ $rc -ne 0 ] &&
	grep -q "^bpfilter-preload: cannot connect to the bpfilter daemon at $run/daemon.sock" "$tmp/nft.err"
check "daemon down: nft fails (exit $rc) with a clear message" $? "$(cat "$tmp/nft.err")"
BPFILTER_RUNTIME_DIR=$tmp/none timeout 20 "$BFEXEC" "$PROBE" ctdump >/dev/null 2>"$tmp/err"; rc=$?
grep -q "$tmp/none/daemon.sock" "$tmp/err"
check "BPFILTER_RUNTIME_DIR names the socket in the message" $? "$(cat "$tmp/err")"

echo "# $n tests, $nfail failed"
[ "$nfail" -eq 0 ]
