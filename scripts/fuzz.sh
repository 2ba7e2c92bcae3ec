#!/usr/bin/env bash
# Runs every libFuzzer target in $BUILD/fuzz for $FUZZ_SECONDS each, from
# its seed corpus (selftests/fuzz/corpus/NAME) into a corpus it grows in
# $BUILD/fuzz/corpus/NAME. A crash leaves its input in $BUILD/fuzz/ and
# fails. With a target name as argument, runs only that one.
set -u
BUILD=${BUILD:-build}
secs=${FUZZ_SECONDS:-600}
rc=0
for bin in "$BUILD"/fuzz/fuzz_*; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin")
	[ $# -gt 0 ] && [ "$1" != "$name" ] && continue
	seeds=selftests/fuzz/corpus/${name#fuzz_}
	corpus=$BUILD/fuzz/corpus/${name#fuzz_}
	mkdir -p "$corpus"
	echo "fuzz: $name for ${secs}s"
	if ! "$bin" -max_total_time="$secs" -print_final_stats=1 \
		-artifact_prefix="$BUILD/fuzz/$name-" "$corpus" "$seeds" \
		>"$BUILD/fuzz/$name.log" 2>&1; then
		echo "fuzz: $name FAILED, see $BUILD/fuzz/$name.log"
		tail -n 30 "$BUILD/fuzz/$name.log"
		rc=1
	else
		grep -E "stat::number_of_executed_units|Done" "$BUILD/fuzz/$name.log" | tail -n 2
	fi
done
exit $rc
