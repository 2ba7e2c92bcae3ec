# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-only
# Shared start-up of the differential tests (selftests/diff/*.sh), sourced:
# the build paths, the skip checks, scratch network namespaces and private
# daemons (each with its own runtime directory) that a trap removes, nft
# run against kernel nf_tables or through bfexec, TAP-like lines.
#
#   . "$(dirname "$0")/common.sh"
#   diff_require                      # exit 4 unless root, built, nft
#   diff_netns K                      # K=<prefix>-k-<pid>-<random>, lo up
#   diff_daemon rundir                # a daemon of its own; sets $rundir
#   kern_in "$K" list ruleset         # kernel nf_tables in $K
#   bpf_in "$B" "$rundir" list ruleset  # bpfilter, through bfexec, in $B
#
# Everything is created with a unique name (the pid and $RANDOM) and
# removed at exit (DIFF_KEEP=1: the directories are kept, for a look at
# a daemon's log): only the processes started here are signalled, by pid,
# and waited for. Nothing touches the host's ruleset, interfaces or bpffs.

diff_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
diff_top=$(cd "$diff_here/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$diff_top/$BUILD ;; esac
NFT=${NFT:-nft}
diff_id=$$-$RANDOM
diff_nss=()
diff_dirs=()
diff_pids=()

# diff_require [FILE...]: skip (exit 4) unless root, with the daemon, the
# interposer, nft and FILE... (paths under $BUILD).
diff_require() {
	local b
	[ "$(id -u)" -eq 0 ] || { echo "# SKIP: needs root"; exit 4; }
	for b in bpfilter bfexec libbpfilter-preload.so "$@"; do
		[ -e "$BUILD/$b" ] || { echo "# SKIP: missing $BUILD/$b (make)"; exit 4; }
	done
	command -v "$NFT" >/dev/null || { echo "# SKIP: $NFT not installed"; exit 4; }
}

diff_cleanup() {
	local p ns d
	for p in "${diff_pids[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${diff_pids[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	diff_pids=()
	for ns in "${diff_nss[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	for d in "${diff_dirs[@]}"; do
		if [ "${DIFF_KEEP:-0}" = 1 ]; then
			echo "# kept $d"
		else
			rm -rf "$d"
		fi
	done
}
trap diff_cleanup EXIT
trap 'exit 1' INT TERM HUP

# diff_track_pid PID: signal and reap PID at exit.
diff_track_pid() {
	diff_pids+=("$1")
}

# diff_wait PID: wait for PID (a child) and forget it, so that the exit
# trap never signals a recycled pid. Returns PID's exit status.
diff_wait() {
	local p rc keep=()
	wait "$1"
	rc=$?
	for p in "${diff_pids[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	diff_pids=("${keep[@]}")
	return $rc
}

# diff_tmpdir VAR TAG: a directory removed at exit, in VAR.
diff_tmpdir() {
	local _dt_d
	_dt_d=$(mktemp -d "/tmp/$2.XXXXXX") || return 1
	diff_dirs+=("$_dt_d")
	printf -v "$1" '%s' "$_dt_d"
}

# diff_netns VAR TAG: a fresh namespace named TAG-<pid>-<random> with lo
# up, in VAR; deleted at exit.
diff_netns() {
	local _dn_ns="$2-$diff_id"
	ip netns add "$_dn_ns" || return 1
	diff_nss+=("$_dn_ns")
	ip -n "$_dn_ns" link set lo up || return 1
	printf -v "$1" '%s' "$_dn_ns"
}

# diff_daemon VAR [FLAG...]: a transient daemon with a runtime directory
# of its own (in VAR), stderr in VAR/daemon.log; waits 5 s for its
# socket, exits 1 if it does not come. Sets diff_daemon_pid. DAEMON_ARGS
# (e.g. "-v debug") are added to its command line.
diff_daemon() {
	local _dd_d
	diff_tmpdir _dd_d bfdiff-run || exit 1
	# shellcheck disable=SC2086
	"$BUILD/bpfilter" -t --runtime-dir "$_dd_d" "${@:2}" ${DAEMON_ARGS:-} \
		2>"$_dd_d/daemon.log" &
	diff_daemon_pid=$!
	diff_track_pid "$diff_daemon_pid"
	for _ in $(seq 50); do [ -S "$_dd_d/daemon.sock" ] && break; sleep 0.1; done
	if [ ! -S "$_dd_d/daemon.sock" ]; then
		echo "# daemon did not start"
		sed 's/^/#   /' "$_dd_d/daemon.log"
		exit 1
	fi
	printf -v "$1" '%s' "$_dd_d"
}

# kern_in NS ARG...: nft against kernel nf_tables in NS.
kern_in() {
	local ns=$1
	shift
	ip netns exec "$ns" timeout "${NFT_TIMEOUT:-30}" "$NFT" "$@"
}

# bpf_in NS RUNDIR ARG...: nft through bfexec, served by the daemon of
# RUNDIR, in NS.
bpf_in() {
	local ns=$1 rd=$2
	shift 2
	ip netns exec "$ns" env BPFILTER_RUNTIME_DIR="$rd" timeout "${NFT_TIMEOUT:-30}" \
		"$BUILD/bfexec" "$NFT" "$@"
}

pass=0 fail=0 n=0
ok() { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $1"; }

# diff_finish: the closing line; exit 0 when nothing failed, 1 otherwise.
# On a failure, the daemons' warnings and errors come first.
diff_finish() {
	local d
	if [ "$fail" -gt 0 ]; then
		for d in "${diff_dirs[@]}"; do
			[ -f "$d/daemon.log" ] || continue
			grep -qE 'warning|error' "$d/daemon.log" || continue
			echo "# daemon log ($d/daemon.log), warnings and errors:"
			grep -E 'warning|error' "$d/daemon.log" | tail -n 15 | sed 's/^/#   /'
		done
	fi
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ] && exit 0
	exit 1
}
