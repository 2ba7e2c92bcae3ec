#!/usr/bin/env bash
# Differential test: every line of corpus.nft (after setup.nft) is run by
# unmodified nft against kernel nf_tables in one scratch netns and against
# bpfilter (private daemon, through bfexec) in another. Exit codes and
# error messages must be identical, then `nft list ruleset`. Commands of
# unsupported.nft must be refused by bpfilter (EOPNOTSUPP, the statement
# underlined) and change nothing.
# TAP-like lines, a closing "N passed, N failed" line; exit 0 when all
# match, 1 otherwise, 4 to skip. Part of `make check`; `make diff-test`
# runs it alone.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$top/$BUILD ;; esac
[ "$(id -u)" -eq 0 ] || { echo "# needs root"; exit 4; }
for b in "$BUILD/bpfilter" "$BUILD/bfexec" "$BUILD/libbpfilter-preload.so"; do
	[ -e "$b" ] || { echo "# missing $b (make)"; exit 4; }
done
command -v nft >/dev/null || { echo "# nft not installed"; exit 4; }

id=$$-$RANDOM
K=bfdiff-k-$id B=bfdiff-b-$id
rundir=$(mktemp -d /tmp/bfdiff-run.XXXXXX)
work=$(mktemp -d /tmp/bfdiff.XXXXXX)
daemon=
cleanup() {
	[ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
	ip netns del "$K" 2>/dev/null
	ip netns del "$B" 2>/dev/null
	rm -rf "$rundir" "$work"
}
trap cleanup EXIT

for ns in "$K" "$B"; do
	ip netns add "$ns" || exit 1
	ip -n "$ns" link add bfd0 type veth peer name bfd1 || exit 1
	ip -n "$ns" link set lo up
done
"$BUILD/bpfilter" -t --runtime-dir "$rundir" 2>"$work/daemon.log" &
daemon=$!
for _ in $(seq 50); do [ -S "$rundir/daemon.sock" ] && break; sleep 0.1; done
[ -S "$rundir/daemon.sock" ] || { echo "# daemon did not start"; cat "$work/daemon.log"; exit 1; }

kern() { ip netns exec "$K" nft "$@"; }
bpf() { ip netns exec "$B" env BPFILTER_RUNTIME_DIR="$rundir" "$BUILD/bfexec" nft "$@"; }

pass=0 fail=0 n=0
check() { # name, kernel rc, kernel out, bpfilter rc, bpfilter out
	n=$((n + 1))
	if [ "$2" = "$4" ] && [ "$3" = "$5" ]; then
		pass=$((pass + 1)); echo "ok $n - $1"
	else
		fail=$((fail + 1)); echo "not ok $n - $1"
		echo "#   kernel   rc $2: $(printf '%s' "$3" | head -n 3 | tr '\n' '|')"
		echo "#   bpfilter rc $4: $(printf '%s' "$5" | head -n 3 | tr '\n' '|')"
	fi
}

ko=$(kern -f "$here/setup.nft" 2>&1); kr=$?
bo=$(bpf -f "$here/setup.nft" 2>&1); br=$?
check "setup.nft" "$kr" "$ko" "$br" "$bo"

while IFS= read -r line; do
	case $line in ''|'#'*) continue ;; esac
	# One argument: nft parses the command line itself (quotes, '>', '*'
	# are nft syntax here, not the shell's).
	ko=$(kern "$line" 2>&1); kr=$?
	bo=$(bpf "$line" 2>&1); br=$?
	check "$line" "$kr" "$ko" "$br" "$bo"
done < "$here/corpus.nft"

while IFS= read -r line; do
	case $line in ''|'#'*) continue ;; esac
	n=$((n + 1))
	bo=$(bpf "$line" 2>&1); br=$?
	if [ "$br" -eq 1 ] && printf '%s' "$bo" | grep -q "Operation not supported" &&
	   printf '%s' "$bo" | grep -q '\^'; then
		pass=$((pass + 1)); echo "ok $n - refused as unsupported: $line"
	else
		fail=$((fail + 1)); echo "not ok $n - refused as unsupported: $line"
		echo "#   bpfilter rc $br: $(printf '%s' "$bo" | head -n 3 | tr '\n' '|')"
	fi
done < "$here/unsupported.nft"

ko=$(kern list ruleset 2>&1); kr=$?
bo=$(bpf list ruleset 2>&1); br=$?
check "list ruleset" "$kr" "$ko" "$br" "$bo"
if [ "$ko" != "$bo" ]; then
	printf '%s\n' "$ko" > "$work/kernel.txt"
	printf '%s\n' "$bo" > "$work/bpfilter.txt"
	diff -u "$work/kernel.txt" "$work/bpfilter.txt" | head -n 40 | sed 's/^/#   /'
fi

for opt in -a -j; do
	ko=$(kern "$opt" list ruleset 2>&1); kr=$?
	bo=$(bpf "$opt" list ruleset 2>&1); br=$?
	check "nft $opt list ruleset" "$kr" "$ko" "$br" "$bo"
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
