#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Set and element messages nft never sends (build/tools/set_probe: a key
# of the wrong length, data where there is none, unknown flags, missing
# attributes, a bad name pattern, a concatenation whose fields do not add
# up to the key...), sent as raw batches to kernel nf_tables in one
# scratch netns and to a private bpfilter daemon (through bfexec) in
# another: each case must get the same errno and the same offending
# attribute offset, and the listings must stay the same.
#
# Kernel selftest conventions: exit 0 pass, 1 fail, 4 skip; TAP lines.

set -u

# shellcheck source=selftests/shell/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NFT=${NFT:-/usr/sbin/nft}
case $BUILD in
/*) BDIR=$BUILD ;;
*) BDIR=$BF_ROOT/$BUILD ;;
esac
PROBE=$BDIR/tools/set_probe

bf_require nft
[ -x "$NFT" ] || bf_skip "no $NFT"
for f in "$BDIR/bpfilter" "$BDIR/bfexec" "$BDIR/libbpfilter-preload.so" "$PROBE"; do
	[ -e "$f" ] || bf_skip "$f not built"
done

NS_K= NS_B=
cleanup() {
	bf_cleanup
	[ -n "$NS_K" ] && ip netns del "$NS_K" 2>/dev/null
	[ -n "$NS_B" ] && ip netns del "$NS_B" 2>/dev/null
}
trap cleanup EXIT
trap 'exit $KSFT_FAIL' INT TERM HUP

bf_tmpdir=$(mktemp -d /tmp/bf-selftest.XXXXXX) || bf_skip "no tmpdir"
sfx="$$-$RANDOM$RANDOM"
NS_K="bf-sek-$sfx"
NS_B="bf-seb-$sfx"
ip netns add "$NS_K" && ip netns add "$NS_B" || bf_skip "cannot create namespaces"

RUNDIR=$bf_tmpdir/run
"$BDIR/bpfilter" --runtime-dir "$RUNDIR" -t >"$bf_tmpdir/daemon.log" 2>&1 &
bf_track_pid $!
bf_wait_for 5 test -S "$RUNDIR/daemon.sock" || bf_skip "the daemon did not start"

knft() { ip netns exec "$NS_K" timeout 20 "$NFT" "$@"; }
bnft() { ip netns exec "$NS_B" env BPFILTER_RUNTIME_DIR="$RUNDIR" \
	timeout 20 "$BDIR/bfexec" "$NFT" "$@"; }

setup='add table ip sp; add set ip sp s { type ipv4_addr; }; add map ip sp m { type ipv4_addr : mark; }; add set ip sp i { type ipv4_addr; flags interval; }; add element ip sp s { 10.0.0.9 }'
knft "$setup" && bnft "$setup"
bf_check "setup on both sides" test $? -eq 0

ip netns exec "$NS_K" timeout 20 "$PROBE" sp >"$bf_tmpdir/k.txt"
ip netns exec "$NS_B" env BPFILTER_RUNTIME_DIR="$RUNDIR" \
	timeout 20 "$BDIR/bfexec" "$PROBE" sp >"$bf_tmpdir/b.txt"
n=$(wc -l <"$bf_tmpdir/k.txt")
bf_check "the probe ran $n cases" test "$n" -ge 20
while IFS= read -r line; do
	name=${line%%:*}
	if grep -qxF -- "$line" "$bf_tmpdir/b.txt"; then
		bf_ok "$line"
	else
		bf_not_ok "$name: kernel '${line#*: }', bpfilter '$(grep -F -- "$name:" "$bf_tmpdir/b.txt" | sed 's/^[^:]*: //')'"
	fi
done <"$bf_tmpdir/k.txt"

same_list() { diff <(knft list ruleset) <(bnft list ruleset) >/dev/null; }
bf_check "the same listing after the probe" same_list

bf_finish
