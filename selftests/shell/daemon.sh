#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The daemon's foundation: flags and exit codes, runtime directory, lock,
# socket mode, HELLO, per-netns contexts, malformed and oversized frames,
# slow clients, shutdown and stale-socket recovery.
#
# Kernel selftest conventions: exit 0 pass, 1 fail, 4 skip; TAP lines.
# Every daemon runs on a private --runtime-dir under mktemp -d; only the
# pids started here are signalled; every wait is bounded.
set -u

BUILD=${BUILD:-build}
BPFILTER=$BUILD/bpfilter
CLIENT=$BUILD/tools/bf_daemon_client
KSFT_SKIP=4

n=0 nfail=0 npass=0
pids=()
netns=""
tmp=""

pass() { n=$((n + 1)); npass=$((npass + 1)); echo "ok $n - $1"; }
fail() {
	n=$((n + 1)); nfail=$((nfail + 1))
	echo "not ok $n - $1"
	[ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/#   /'
	return 0
}
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
check() { # check DESC COND_EXIT_STATUS [DETAIL]
	if [ "$2" -eq 0 ]; then pass "$1"; else fail "$1" "${3:-}"; fi
}

# A zombie still answers kill -0: look at the state instead.
running() {
	local s
	s=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	[[ $s != Z* ]]
}

# stop PID [SIGNAL]: signal, wait up to 5 s, SIGKILL if needed.
# Returns the exit status of PID (137 after a SIGKILL).
stop() {
	local pid=$1 sig=${2:-TERM} i
	kill -"$sig" "$pid" 2>/dev/null
	for i in $(seq 50); do
		running "$pid" || break
		sleep 0.1
	done
	if running "$pid"; then
		echo "# pid $pid still running after SIG$sig: killing it"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
}

cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		running "$pid" && stop "$pid" KILL
	done
	[ -n "$netns" ] && ip netns del "$netns" 2>/dev/null
	[ -n "$tmp" ] && mountpoint -q "$tmp/bpffs" 2>/dev/null &&
		umount -l "$tmp/bpffs"
	[ -n "$tmp" ] && rm -rf "$tmp"
}

# start LOG RUNDIR ARGS...: start a daemon, wait (5 s) until it listens.
# Sets $dpid. Returns 1 if the socket never appeared.
start() {
	local log=$1 rundir=$2 i
	shift 2
	"$BPFILTER" --runtime-dir "$rundir" "$@" >"$log" 2>&1 &
	dpid=$!
	pids+=("$dpid")
	for i in $(seq 50); do
		# A killed daemon's socket and pid may still be there: wait for
		# the new daemon to say it listens.
		grep -q "info: listening on $rundir/daemon.sock" "$log" && return 0
		running "$dpid" || break
		sleep 0.1
	done
	echo "# daemon did not come up; its log:"
	sed 's/^/#   /' "$log"
	return 1
}

client() { timeout 60 "$CLIENT" -T 10 -s "$sock" "$@"; }
field() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; }

echo "TAP version 13"

if [ "$(id -u)" -ne 0 ]; then
	echo "# SKIP: needs root (network namespaces)"
	exit $KSFT_SKIP
fi
if [ ! -x "$BPFILTER" ] || [ ! -x "$CLIENT" ]; then
	echo "# SKIP: build $BPFILTER and $CLIENT first (make all)"
	exit $KSFT_SKIP
fi

tmp=$(mktemp -d /tmp/bf-daemon-test.XXXXXX)
trap cleanup EXIT
trap 'exit 1' INT TERM
rundir=$tmp/run
sock=$rundir/daemon.sock

# ---- Command line: nothing here may start a daemon (bounded anyway).
flags() { timeout 10 "$BPFILTER" --runtime-dir "$tmp/flags" "$@" >"$tmp/flags.out" 2>&1; }

flags --help; rc=$?
missing=""
for f in --transient --no-cli --no-nftables --no-iptables --with-bpf-token \
	--bpffs-path --verbose --runtime-dir --usage --help; do
	grep -q -- "$f" "$tmp/flags.out" || missing="$missing $f"
done
[ $rc -eq 0 ] && [ -z "$missing" ]
check "--help exits 0 and lists every flag" $? "rc=$rc missing:$missing"

flags --usage; check "--usage exits 0" $? "$(cat "$tmp/flags.out")"
flags -\?; check "-? exits 0" $? "$(cat "$tmp/flags.out")"

flags --no-such-flag; rc=$?
check "unknown flag exits 2" $((rc != 2)) "rc=$rc"
flags -v nope; rc=$?
check "bad --verbose value exits 2" $((rc != 2)) "rc=$rc"
flags --runtime-dir ""; rc=$?
check "empty --runtime-dir exits 2" $((rc != 2)) "rc=$rc"
flags stray-argument; rc=$?
check "positional argument exits 2" $((rc != 2)) "rc=$rc"
flags --no-cli --no-nftables --no-iptables -t; rc=$?
check "all front-ends disabled exits 2" $((rc != 2)) "rc=$rc"
flags --with-bpf-token -t; rc=$?
[ $rc -eq 1 ] && grep -q "BPF token support is not implemented yet" "$tmp/flags.out"
check "--with-bpf-token refused with exit 1" $? "rc=$rc: $(cat "$tmp/flags.out")"
[ ! -e "$tmp/flags" ]
check "refused command lines create nothing" $?

# ---- A private daemon.
if ! start "$tmp/d1.log" "$rundir" -t -v debug; then
	fail "daemon starts on a private runtime directory"
	echo "1..$n"
	exit 1
fi
pass "daemon starts on a private runtime directory"
d1=$dpid

mode=$(stat -c %a "$rundir")
check "runtime directory created with mode 0755" $(( mode != 755 )) "mode $mode"
mode=$(stat -c %a "$sock")
[ -S "$sock" ] && [ "$mode" = 600 ]
check "socket is a socket with mode 0600" $? "mode $mode"
[ "$(tr -d '\n' <"$rundir/daemon.lock")" = "$d1" ]
check "lock file holds the daemon's pid" $? "$(cat "$rundir/daemon.lock")"

timeout 10 "$BPFILTER" -t --runtime-dir "$rundir" >"$tmp/d2.log" 2>&1; rc=$?
[ $rc -eq 1 ] && grep -q "already running" "$tmp/d2.log" && running "$d1"
check "second daemon on the same runtime directory exits 1" $? \
	"rc=$rc: $(cat "$tmp/d2.log")"

out=$(client hello); rc=$?
host_ino=$(stat -L -c %i /proc/self/ns/net)
[ $rc -eq 0 ] && [ "$(field proto "$out")" = 1 ] &&
	[ "$(field fronts "$out")" = iptables,nftables,cli ] &&
	[ "$(field transient "$out")" = 1 ] && [ "$(field uid "$out")" = 0 ] &&
	[ -n "$(field version "$out")" ]
check "HELLO: version, front-ends, transient, credentials" $? "rc=$rc: $out"
[ "$(field netns_ino "$out")" = "$host_ino" ]
check "HELLO reports the client's netns inode" $? "$out; host netns $host_ino"
grep -q "client #[0-9]*: pid [0-9]*, uid 0, gid 0, netns [0-9]*:$host_ino" "$tmp/d1.log"
check "peer credentials and netns logged at debug" $?

out=$(client pair); rc=$?
[ $rc -eq 0 ] && [ "$out" = "first_clients=1 second_clients=2 same_ctx=1" ]
check "two clients of one netns share one context" $? "rc=$rc: $out"

if command -v ip >/dev/null && ip netns list >/dev/null 2>&1; then
	netns=bf-daemon-test-$$-$RANDOM
	if ip netns add "$netns" 2>"$tmp/netns.err"; then
		ns_ino=$(stat -L -c %i "/run/netns/$netns")
		out=$(timeout 60 ip netns exec "$netns" "$CLIENT" -T 10 -s "$sock" hello); rc=$?
		got=$(field netns_ino "$out")
		[ $rc -eq 0 ] && [ "$got" = "$ns_ino" ] && [ "$got" != "$host_ino" ]
		check "HELLO from a scratch netns reports that netns" $? \
			"rc=$rc: $out; scratch netns $ns_ino, host $host_ino"
		host_ctx=$(field ctx_id "$(client hello)")
		[ -n "$host_ctx" ] && [ "$(field ctx_id "$out")" != "$host_ctx" ]
		check "the scratch netns has its own context" $? "$out vs host ctx $host_ctx"
		ip netns del "$netns" && netns=""
	else
		fail "create a scratch netns" "$(cat "$tmp/netns.err")"
		netns=""
	fi
else
	skip "HELLO from a scratch netns reports that netns" "no 'ip netns'"
fi

out=$(client send 0xfffe); rc=$?
[ $rc -eq 0 ] && [ "$(field error "$out")" = -95 ] &&
	[ "$(field connection "$out")" = open ]
check "unknown type: -EOPNOTSUPP, connection kept" $? "rc=$rc: $out"

out=$(client send 2 12 4); rc=$?
[ $rc -eq 0 ] && [ "$(field error "$out")" = -22 ] &&
	[ "$(field connection "$out")" = open ]
check "HELLO with a payload: -EINVAL, connection kept" $? "rc=$rc: $out"

out=$(client send 2 4); rc=$?
[ $rc -eq 0 ] && [ "$(field error "$out")" = -22 ] &&
	[ "$(field connection "$out")" = closed ]
check "length below the header: -EINVAL, connection closed" $? "rc=$rc: $out"

out=$(client send 2 $((64 * 1024 * 1024 + 9))); rc=$?
[ $rc -eq 0 ] && [ "$(field error "$out")" = -90 ] &&
	[ "$(field connection "$out")" = closed ]
check "length above 64 MiB + header: -EMSGSIZE, connection closed" $? "rc=$rc: $out"

out=$(client hello); rc=$?
check "daemon still serves after malformed frames" $rc "$out"

out=$(client send 0xfffe $((64 * 1024 * 1024 + 8)) $((64 * 1024 * 1024))); rc=$?
[ $rc -eq 0 ] && [ "$(field error "$out")" = -95 ] &&
	[ "$(field connection "$out")" = open ]
check "a 64 MiB frame is read whole and answered" $? "rc=$rc: $out"

out=$(client stall); rc=$?
check "stuck and non-reading clients do not block a HELLO" $rc "$out"
[ -n "$out" ] && echo "# $out"

running "$d1"
check "daemon still running" $?

stop "$d1" TERM; rc=$?
[ $rc -eq 0 ] && [ ! -e "$sock" ] && [ ! -s "$rundir/daemon.lock" ] &&
	grep -q "received SIGTERM" "$tmp/d1.log"
check "SIGTERM: exit 0, socket removed, lock released" $? \
	"rc=$rc; $(ls -l "$rundir"); $(tail -n 3 "$tmp/d1.log")"

# ---- Crash recovery: a SIGKILLed daemon leaves its socket behind.
if start "$tmp/d3.log" "$rundir" -t; then
	stop "$dpid" KILL
	if [ -S "$sock" ] && start "$tmp/d4.log" "$rundir" -t; then
		out=$(client hello); rc=$?
		[ $rc -eq 0 ] && grep -q "removing stale socket" "$tmp/d4.log"
		check "stale socket of a killed daemon replaced" $? "rc=$rc: $out"
		stop "$dpid" INT; rc=$?
		check "SIGINT: exit 0" $rc
	else
		fail "stale socket of a killed daemon replaced" "$(cat "$tmp/d4.log" 2>/dev/null)"
	fi
else
	fail "daemon restarts on the same runtime directory"
fi

# ---- Without -t: pins under a bpffs of our own (never the host's).
mkdir -p "$tmp/bpffs"
if ! mount -t bpf bpf "$tmp/bpffs"; then
	fail "cannot mount a bpffs for the persistent-mode check"
elif start "$tmp/d5.log" "$tmp/run2" --no-iptables --bpffs-path "$tmp/bpffs"; then
	out=$(client -s "$tmp/run2/daemon.sock" hello); rc=$?
	[ $rc -eq 0 ] && [ "$(field transient "$out")" = 0 ] &&
		[ "$(field fronts "$out")" = nftables,cli ]
	check "persistent mode and --no-iptables reported by HELLO" $? "rc=$rc: $out"
	grep -q "info: pinning under $tmp/bpffs/bpfilter" "$tmp/d5.log" &&
		[ -d "$tmp/bpffs/bpfilter" ]
	check "persistent mode pins under BPFFS/bpfilter" $? "$(cat "$tmp/d5.log")"
	stop "$dpid" TERM; rc=$?
	check "persistent-mode daemon stops cleanly" $rc
else
	fail "daemon starts without --transient"
fi
mountpoint -q "$tmp/bpffs" && umount -l "$tmp/bpffs"

# ---- systemd readiness: READY=1 on $NOTIFY_SOCKET once it listens.
if command -v python3 >/dev/null; then
	out=$(timeout 20 python3 - "$BPFILTER" "$tmp" <<'PYEOF'
import os, socket, subprocess, sys
bpfilter, tmp = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(tmp + "/notify")
s.settimeout(10)
p = subprocess.Popen([bpfilter, "-t", "--runtime-dir", tmp + "/run4"],
                     env=dict(os.environ, NOTIFY_SOCKET=tmp + "/notify"),
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    msg = s.recv(256).decode()
    print("listening" if os.path.exists(tmp + "/run4/daemon.sock") else "early", msg.split()[0])
finally:
    p.terminate()
    print("rc", p.wait())
PYEOF
)
	[ "$out" = "$(printf 'listening READY=1\nrc 0')" ]
	check "systemd readiness: READY=1 once the socket listens" $? "$out"
fi

# ---- Without -t on a directory that is not a bpffs: refused.
timeout 10 "$BPFILTER" --runtime-dir "$tmp/run3" --bpffs-path "$tmp" \
	>"$tmp/d6.log" 2>&1; rc=$?
[ $rc -eq 1 ] && grep -q "is not a BPF filesystem" "$tmp/d6.log"
check "persistent mode refuses a --bpffs-path that is not a bpffs" $? \
	"rc=$rc: $(cat "$tmp/d6.log")"

echo "1..$n"
[ $nfail -gt 0 ] && exit 1
[ $npass -eq 0 ] && exit $KSFT_SKIP
exit 0
