#!/usr/bin/env bash
# Control-plane benchmark, end to end: unmodified nft against kernel
# nf_tables in one scratch netns and against bpfilter (private daemon,
# through bfexec) in another, in the same run.
#   - nft -f of N rules `udp dport P counter accept` (input chain, policy
#     drop), N in $NFT_BENCH_SIZES (default 1000 10000), median of
#     $NFT_BENCH_RUNS (3) runs, ruleset flushed before each;
#   - single `nft add rule`, `insert rule`, `delete rule` with the largest
#     ruleset present, median of 5 each.
# Prints a table; never fails on a timing.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$top/$BUILD ;; esac
sizes=${NFT_BENCH_SIZES:-1000 10000}
runs=${NFT_BENCH_RUNS:-3}
[ "$(id -u)" -eq 0 ] || { echo "nft_bench: needs root" >&2; exit 4; }

id=$$-$RANDOM
K=bfbench-k-$id B=bfbench-b-$id
rundir=$(mktemp -d /tmp/bfbench-run.XXXXXX)
work=$(mktemp -d /tmp/bfbench.XXXXXX)
daemon=
cleanup() {
	[ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
	ip netns del "$K" 2>/dev/null
	ip netns del "$B" 2>/dev/null
	rm -rf "$rundir" "$work"
}
trap cleanup EXIT
ip netns add "$K" && ip netns add "$B" || exit 1
"$BUILD/bpfilter" -t --runtime-dir "$rundir" 2>"$work/daemon.log" &
daemon=$!
for _ in $(seq 50); do [ -S "$rundir/daemon.sock" ] && break; sleep 0.1; done
[ -S "$rundir/daemon.sock" ] || { echo "nft_bench: daemon did not start" >&2; exit 1; }

kern() { ip netns exec "$K" nft "$@"; }
# As a user would: bfexec in front of nft, the runtime dir in the
# environment (no extra process per command).
export BPFILTER_RUNTIME_DIR="$rundir"
bpf() { ip netns exec "$B" "$BUILD/bfexec" nft "$@"; }

ruleset() { # N -> file
	{
		echo "table ip t {"
		echo "	chain c {"
		echo "		type filter hook input priority 0; policy drop;"
		for ((i = 0; i < $1; i++)); do
			echo "		udp dport $((1000 + i)) counter accept"
		done
		echo "	}"
		echo "}"
	} > "$2"
}

now_ms() { date +%s%N | awk '{ printf "%.1f", $1 / 1000000 }'; }

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; }'; }

time_cmd() { # side cmd... -> ms, or "failed"
	local t0 t1
	t0=$(now_ms)
	if ! "$@" >/dev/null 2>"$work/err"; then
		echo failed
		return
	fi
	t1=$(now_ms)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", b - a }'
}

printf '%-34s %14s %14s\n' "nft command (median)" "kernel ms" "bpfilter ms"
last=
for n in $sizes; do
	ruleset "$n" "$work/r$n.nft"
	for side in kern bpf; do
		: > "$work/$side.times"
		for ((r = 0; r < runs; r++)); do
			$side flush ruleset >/dev/null 2>&1
			time_cmd $side -f "$work/r$n.nft" >> "$work/$side.times"
		done
	done
	printf '%-34s %14s %14s\n' "nft -f, $n rules" \
		"$(grep -v failed "$work/kern.times" | median)" \
		"$(grep -v failed "$work/bpf.times" | median)"
	grep -q failed "$work/bpf.times" && echo "  (bpfilter failed: $(head -c 200 "$work/err"))"
	last=$n
done

# Single commands next to the largest ruleset (loaded by the last round),
# median of 5 each:
#   add:    appended at the end (bpfilter: one map entry, in place);
#   insert: at the head of the chain (bpfilter: one map entry);
#   delete: a rule in the middle, by handle (bpfilter: one map entry);
#   replace: a rule in the middle by one with another port (bpfilter: two
#           map entries, so a new program).
handle() { "$@" -a list chain ip t c | awk -v r="udp dport $mid " \
	'index($0, r) { print $NF; exit }'; }
single() { # label, then the command's words after "nft"
	local label=$1 side
	shift
	for side in kern bpf; do
		: > "$work/$side.one"
		for ((r = 0; r < 5; r++)); do
			local words=("$@")
			words=("${words[@]//@PORT@/$((200 + r + 10 * ${#label}))}")
			if [ "${words[0]}" = delete ] || [ "${words[0]}" = replace ]; then
				mid=$((1000 + last / 2 + r + 10 * ${#words[0]}))
				words=("${words[@]:0:5}" handle "$(handle $side)" "${words[@]:5}")
			fi
			time_cmd $side "${words[@]}" >> "$work/$side.one"
		done
	done
	printf '%-34s %14s %14s\n' "$label, $last rules present" \
		"$(grep -v failed "$work/kern.one" | median)" \
		"$(grep -v failed "$work/bpf.one" | median)"
	grep -q failed "$work/bpf.one" && echo "  (bpfilter failed: $(head -c 200 "$work/err"))"
}
single "nft add rule" add rule ip t c udp dport @PORT@ counter accept
single "nft insert rule" insert rule ip t c udp dport @PORT@ counter accept
single "nft delete rule" delete rule ip t c
single "nft replace rule" replace rule ip t c udp dport @PORT@ counter drop
echo "(wall clock of the nft process: start-up, parsing, netlink, commit; for"
echo " bpfilter also the interposer, the daemon, codegen, verifier and attach)"
