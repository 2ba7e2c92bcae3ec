#!/usr/bin/env bash
# Runs the benchmarks (not tests: they measure and never fail on a timing).
#   scripts/bench.sh [bench options]     e.g. --series mixed --sizes 1,10,100
#   make bench BENCH_ARGS="--sizes 1,100"
# Needs root: BPF program loads, BPF_PROG_TEST_RUN and a scratch network
# namespace for the kernel nftables side (the host ruleset is never touched).
set -euo pipefail
BUILD=${BUILD:-build}
bin="$BUILD/bench"

if [ ! -x "$bin" ]; then
	echo "bench: $bin is missing; run 'make' first (or 'make bench')" >&2
	exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "bench: needs root (BPF loads and network namespaces)" >&2
	exit 1
fi

# Make the context of the figures part of the output.
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -sr), $(nproc) CPUs," \
	"$(nft --version 2>/dev/null || echo 'nft missing')"
# shellcheck disable=SC2086 # BENCH_ARGS is a word list on purpose
"$bin" ${BENCH_ARGS:-} "$@" || exit $?
echo
echo "# The udp series again with the linear group layout (BF_NO_GROUP_MAPS=1)"
BF_NO_GROUP_MAPS=1 "$bin" --series udp --no-nft ${BENCH_ARGS:-} "$@" || exit $?
echo
echo "# End to end through the daemon: unmodified nft, kernel beside bpfilter"
BUILD=$BUILD selftests/bench/nft_bench.sh
echo
echo "# Hook dispatch: one chain alone, then 1..8 chains on one attach point"
"$BUILD/tools/bf_dispatch_bench"
