# shellcheck shell=bash disable=SC2016
# SPDX-License-Identifier: GPL-2.0-only
# Shared helpers for the shell selftests: TAP-like reporting, two network
# namespaces joined by a veth pair, bf_chaintool runs and traffic checks.
# Kernel selftest exit codes: 0 pass, 1 fail, 4 skip. Every wait is bounded.
#
# Nothing here touches the host's interfaces, ruleset or /sys/fs/bpf: links
# live in the scratch namespaces (netfilter links and TCX/XDP on the veth
# ends), are never pinned, and go away with the tool or the namespace.

KSFT_PASS=0
KSFT_FAIL=1
KSFT_SKIP=4

BUILD=${BUILD:-build}
BF_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BF_ROOT=$(cd "$BF_LIB_DIR/../.." && pwd)
case $BUILD in
/*) BF_CHAINTOOL=${BF_CHAINTOOL:-$BUILD/tools/bf_chaintool} ;;
*) BF_CHAINTOOL=${BF_CHAINTOOL:-$BF_ROOT/$BUILD/tools/bf_chaintool} ;;
esac

# Addresses of the two ends: A is the peer, B runs the filter.
BF_A4=10.199.0.1
BF_B4=10.199.0.2
BF_A4_ALT=10.199.0.3
BF_A6=fd00:bf::1
BF_B6=fd00:bf::2
BF_IF_A=bfveth0
BF_IF_B=bfveth1

bf_tests=0
bf_failed=0
bf_pids=()
bf_tmpdir=
NS_A=
NS_B=

bf_log() { echo "# $*"; }

bf_ok() {
	bf_tests=$((bf_tests + 1))
	echo "ok $bf_tests - $*"
}

bf_not_ok() {
	bf_tests=$((bf_tests + 1))
	bf_failed=$((bf_failed + 1))
	echo "not ok $bf_tests - $*"
}

# bf_check DESCRIPTION COMMAND...: ok if COMMAND succeeds.
bf_check() {
	local desc=$1
	shift
	if "$@"; then
		bf_ok "$desc"
	else
		bf_not_ok "$desc"
	fi
}

# bf_check_not DESCRIPTION COMMAND...: ok if COMMAND fails.
bf_check_not() {
	local desc=$1
	shift
	if "$@"; then
		bf_not_ok "$desc"
	else
		bf_ok "$desc"
	fi
}

bf_skip() {
	echo "# SKIP: $*"
	exit $KSFT_SKIP
}

bf_require() {
	[ "$(id -u)" -eq 0 ] || bf_skip "needs root"
	local c
	for c in ip ping nc timeout ss "$@"; do
		command -v "$c" >/dev/null 2>&1 || bf_skip "missing command: $c"
	done
	[ -x "$BF_CHAINTOOL" ] || bf_skip "$BF_CHAINTOOL not built (run make)"
}

# Record a pid we started, so cleanup kills exactly those.
bf_track_pid() {
	bf_pids+=("$1")
}

# Forget a pid once reaped, so cleanup never signals a recycled pid.
bf_untrack_pid() {
	local p keep=()
	for p in "${bf_pids[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	bf_pids=("${keep[@]}")
}

# bf_kill_pid PID: TERM, wait at most 5 s, then KILL. Returns the exit
# status of PID (a child of this shell).
bf_kill_pid() {
	local pid=$1 i rc
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			bf_log "pid $pid ignored SIGTERM, killing"
			kill -KILL "$pid" 2>/dev/null
		fi
	fi
	wait "$pid" 2>/dev/null
	rc=$?
	bf_untrack_pid "$pid"
	return $rc
}

bf_cleanup() {
	local pid
	for pid in "${bf_pids[@]}"; do
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null
		fi
	done
	sleep 0.2
	for pid in "${bf_pids[@]}"; do
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	bf_pids=()
	[ -n "$NS_A" ] && ip netns del "$NS_A" 2>/dev/null
	[ -n "$NS_B" ] && ip netns del "$NS_B" 2>/dev/null
	[ -n "$bf_tmpdir" ] && rm -rf "$bf_tmpdir"
}

# Exit with the summary status.
bf_finish() {
	echo "# $bf_tests tests, $bf_failed failed"
	[ "$bf_failed" -eq 0 ] && exit $KSFT_PASS
	exit $KSFT_FAIL
}

# bf_wait_for TIMEOUT_S COMMAND...: poll COMMAND every 0.1 s.
bf_wait_for() {
	local tmo=$1 i
	shift
	for ((i = 0; i < tmo * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

# Two namespaces with unique names, joined by a veth pair created directly
# inside them (no interface ever exists in the host namespace).
bf_netns_setup() {
	local sfx="$$-$RANDOM$RANDOM"
	NS_A="bf-a-$sfx"
	NS_B="bf-b-$sfx"
	bf_tmpdir=$(mktemp -d /tmp/bf-selftest.XXXXXX) || return 1

	ip netns add "$NS_A" || return 1
	ip netns add "$NS_B" || return 1
	ip -n "$NS_A" link add "$BF_IF_A" type veth peer name "$BF_IF_B" \
		netns "$NS_B" || return 1

	ip -n "$NS_A" link set lo up
	ip -n "$NS_B" link set lo up
	ip -n "$NS_A" addr add "$BF_A4/24" dev "$BF_IF_A"
	ip -n "$NS_A" addr add "$BF_A4_ALT/24" dev "$BF_IF_A"
	ip -n "$NS_B" addr add "$BF_B4/24" dev "$BF_IF_B"
	ip -n "$NS_A" addr add "$BF_A6/64" dev "$BF_IF_A" nodad
	ip -n "$NS_B" addr add "$BF_B6/64" dev "$BF_IF_B" nodad
	ip -n "$NS_A" link set "$BF_IF_A" up || return 1
	ip -n "$NS_B" link set "$BF_IF_B" up || return 1

	bf_wait_for 5 bf_ping "$NS_A" "$BF_B4" || return 1
	bf_wait_for 5 bf_ping "$NS_A" "$BF_B6" || return 1
}

# bf_ping NS ADDR [ping args]: one echo request, 1 s to answer.
bf_ping() {
	local ns=$1 addr=$2
	shift 2
	timeout 5 ip netns exec "$ns" ping -n -q -c 1 -W 1 "$@" "$addr" \
		>/dev/null 2>&1
}

# bf_ping_fails NS ADDR: two echo requests, both lost.
bf_ping_fails() {
	local ns=$1 addr=$2
	shift 2
	! timeout 5 ip netns exec "$ns" ping -n -q -c 2 -i 0.2 -W 1 "$@" \
		"$addr" >/dev/null 2>&1
}

_bf_udp_bound() {
	ip netns exec "$1" ss -Hnul 2>/dev/null | grep -qF -- "$2:$3 "
}

# bf_udp_listen NS ADDR PORT OUTFILE: nc keeps the first datagram in
# OUTFILE; at most 15 s. Sets bf_listen_pid.
bf_udp_listen() {
	local ns=$1 addr=$2 port=$3 out=$4 v=-4 saddr=$2
	case $addr in *:*) v=-6; saddr="[$addr]" ;; esac
	: >"$out"
	timeout 15 ip netns exec "$ns" nc -n "$v" -u -l -W 1 "$addr" "$port" \
		>"$out" 2>/dev/null &
	bf_listen_pid=$!
	bf_track_pid "$bf_listen_pid"
	bf_wait_for 3 _bf_udp_bound "$ns" "$saddr" "$port"
}

# bf_udp_send NS ADDR PORT [COUNT]: COUNT datagrams, each from a new socket.
bf_udp_send() {
	local ns=$1 addr=$2 port=$3 count=${4:-1}
	timeout 10 ip netns exec "$ns" bash -c '
		for ((i = 0; i < $3; i++)); do
			echo "bf-selftest $i" 2>/dev/null >"/dev/udp/$1/$2"
		done; true' _ "$addr" "$port" "$count"
}

# bf_udp_arrives SENDER_NS RECV_NS ADDR PORT [COUNT]: true if at least one
# of COUNT datagrams reaches a listener on ADDR:PORT in RECV_NS.
bf_udp_arrives() {
	local sns=$1 rns=$2 addr=$3 port=$4 count=${5:-1}
	local out="$bf_tmpdir/udp.$port.$RANDOM" got=1
	bf_udp_listen "$rns" "$addr" "$port" "$out" || {
		bf_log "listener on $addr:$port did not start"
		bf_kill_pid "$bf_listen_pid"
		return 2
	}
	bf_udp_send "$sns" "$addr" "$port" "$count"
	bf_wait_for 2 grep -q bf-selftest "$out" && got=0
	bf_kill_pid "$bf_listen_pid"
	rm -f "$out"
	return $got
}

# bf_udp_send_big NS ADDR PORT SIZE: one datagram of SIZE bytes (IPv4
# fragments it above the 1500-byte MTU).
bf_udp_send_big() {
	timeout 10 ip netns exec "$1" bash -c \
		'head -c "$3" /dev/zero | tr "\0" x 2>/dev/null >"/dev/udp/$1/$2"' \
		_ "$2" "$3" "$4"
}

# bf_udp_blocked SENDER_NS RECV_NS ADDR PORT [COUNT]: true if none of COUNT
# datagrams reaches a listener that was up.
bf_udp_blocked() {
	bf_udp_arrives "$@"
	[ $? -eq 1 ]
}

# bf_tool_start NS OUT ARGS...: run bf_chaintool in NS, stdout in OUT,
# stderr in OUT.err; wait for "ready" (10 s). Sets bf_tool_pid.
bf_tool_start() {
	local ns=$1 out=$2
	shift 2
	: >"$out"
	ip netns exec "$ns" "$BF_CHAINTOOL" --max-time 120 "$@" \
		>"$out" 2>"$out.err" &
	bf_tool_pid=$!
	bf_track_pid "$bf_tool_pid"
	if ! bf_tool_wait_line "$out" ready 10; then
		bf_log "bf_chaintool $* did not get ready:"
		sed 's/^/#   /' "$out.err" | tail -n 20
		bf_kill_pid "$bf_tool_pid"
		return 1
	fi
}

# bf_tool_wait_line OUT LINE TIMEOUT_S: wait for the tool to print LINE;
# give up early if it exits.
bf_tool_wait_line() {
	local out=$1 line=$2 tmo=$3 i
	for ((i = 0; i < tmo * 10; i++)); do
		grep -qx -- "$line" "$out" && return 0
		kill -0 "$bf_tool_pid" 2>/dev/null || break
		sleep 0.1
	done
	grep -qx -- "$line" "$out"
}

# bf_tool_stop OUT: SIGTERM the tool, check it exited 0.
bf_tool_stop() {
	local out=$1 rc
	bf_kill_pid "$bf_tool_pid"
	rc=$?
	if [ "$rc" -ne 0 ]; then
		bf_log "bf_chaintool exited $rc:"
		sed 's/^/#   /' "$out.err" | tail -n 20
	fi
	return $rc
}

# bf_counter OUT WHICH: packets of "counter WHICH ..." or of "policy" when
# WHICH is "policy"; empty if absent.
bf_counter() {
	local out=$1 which=$2
	if [ "$which" = policy ]; then
		awk '$1 == "policy" { print $3 }' "$out"
	else
		awk -v w="$which" '$1 == "counter" && $2 == w { print $4 }' "$out"
	fi
}

# bf_counter_bytes OUT WHICH: bytes of "counter WHICH ..." (or "policy").
bf_counter_bytes() {
	local out=$1 which=$2
	if [ "$which" = policy ]; then
		awk '$1 == "policy" { print $5 }' "$out"
	else
		awk -v w="$which" '$1 == "counter" && $2 == w { print $6 }' "$out"
	fi
}

# bf_counter_bytes_eq OUT WHICH N
bf_counter_bytes_eq() {
	local n
	n=$(bf_counter_bytes "$1" "$2")
	[ -n "$n" ] && [ "$n" -eq "$3" ] && return 0
	bf_log "counter $2: '${n}' bytes (want $3)"
	return 1
}

# bf_counter_ge OUT WHICH MIN
bf_counter_ge() {
	local n
	n=$(bf_counter "$1" "$2")
	[ -n "$n" ] && [ "$n" -ge "$3" ] && return 0
	bf_log "counter $2: '${n}' (want >= $3)"
	return 1
}

# bf_counter_eq OUT WHICH N
bf_counter_eq() {
	local n
	n=$(bf_counter "$1" "$2")
	[ -n "$n" ] && [ "$n" -eq "$3" ] && return 0
	bf_log "counter $2: '${n}' (want $3)"
	return 1
}

# bf_nft_setup [DAEMON_FLAG...]: what the tests of unmodified nft through
# bpfilter share. Skips (exit 4) unless nft and the build are there; sets
# the cleanup trap; makes namespaces A and B joined by a veth
# (bf_netns_setup); starts a transient daemon of its own (runtime directory
# $RUNDIR, log $bf_tmpdir/daemon.log) with DAEMON_FLAG...; defines bnft
# (bfexec nft in NS_B, served by that daemon). Sets NFT, BDIR, BPFILTER,
# BFEXEC and RUNDIR.
bf_nft_setup() {
	local f
	NFT=${NFT:-/usr/sbin/nft}
	case $BUILD in
	/*) BDIR=$BUILD ;;
	*) BDIR=$BF_ROOT/$BUILD ;;
	esac
	BPFILTER=$BDIR/bpfilter
	BFEXEC=$BDIR/bfexec
	RUNDIR=

	bf_require nft
	[ -x "$NFT" ] || bf_skip "no $NFT"
	for f in "$BPFILTER" "$BFEXEC" "$BDIR/libbpfilter-preload.so"; do
		[ -e "$f" ] || bf_skip "$f not built"
	done

	trap bf_cleanup EXIT
	trap 'exit $KSFT_FAIL' INT TERM HUP

	bf_netns_setup || bf_skip "cannot set up namespaces and veth"

	RUNDIR=$bf_tmpdir/run
	"$BPFILTER" --runtime-dir "$RUNDIR" -t "$@" >"$bf_tmpdir/daemon.log" 2>&1 &
	bf_track_pid $!
	bf_wait_for 5 test -S "$RUNDIR/daemon.sock" || {
		cat "$bf_tmpdir/daemon.log"
		bf_skip "the daemon did not start"
	}
}

bnft() {
	ip netns exec "$NS_B" env BPFILTER_RUNTIME_DIR="$RUNDIR" \
		timeout 20 "$BFEXEC" "$NFT" "$@"
}

# bf_stop_daemon SIGNAL: signal the daemon started as $DPID, wait for it,
# stop tracking it; returns its exit status.
bf_stop_daemon() {
	local rc
	kill "-$1" "$DPID" 2>/dev/null
	wait "$DPID" 2>/dev/null
	rc=$?
	bf_untrack_pid "$DPID"
	DPID=
	return $rc
}
