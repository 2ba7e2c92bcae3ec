#!/usr/bin/env bash
# Runs the test suites: the include layering (scripts/check-layering.sh),
# unit (cmocka), e2e (BPF_PROG_TEST_RUN, cmocka),
# shell selftests (netns + veth; exit 0 pass, 1 fail, 4 skip), fuzz
# targets for $FUZZ_SECONDS each.
# Prints one closing line: "N passed, N failed, N skipped".
set -u
BUILD=${BUILD:-build}
which=${1:-all}
pass=0 fail=0 skip=0
failed=()

run_one() {
	local name=$1; shift
	local log rc
	log=$(mktemp)
	"$@" >"$log" 2>&1
	rc=$?
	case $rc in
	0) pass=$((pass + 1)); echo "ok - $name" ;;
	4) skip=$((skip + 1)); echo "ok - $name # SKIP"; tail -n 5 "$log" | sed 's/^/#   /' ;;
	*) fail=$((fail + 1)); failed+=("$name"); echo "not ok - $name (exit $rc)"; tail -n 40 "$log" | sed 's/^/#   /' ;;
	esac
	rm -f "$log"
}

if [ "$which" = all ] || [ "$which" = unit ]; then
	run_one "layering" scripts/check-layering.sh
	for t in "$BUILD"/tests/unit/*; do
		[ -x "$t" ] && run_one "unit/$(basename "$t")" "$t"
	done
fi
if [ "$which" = all ] || [ "$which" = e2e ]; then
	for t in "$BUILD"/tests/e2e/*; do
		[ -x "$t" ] && run_one "e2e/$(basename "$t")" "$t"
	done
fi
if [ "$which" = all ] || [ "$which" = shell ]; then
	for t in selftests/shell/*.sh; do
		[ "$(basename "$t")" = lib.sh ] && continue
		[ -f "$t" ] && run_one "shell/$(basename "$t")" env BUILD="$BUILD" bash "$t"
	done
	run_one "diff/nft_diff.sh" env BUILD="$BUILD" bash selftests/diff/nft_diff.sh
	run_one "diff/verdict_diff.sh" env BUILD="$BUILD" bash selftests/diff/verdict_diff.sh
	run_one "diff/incr_diff.sh" env BUILD="$BUILD" bash selftests/diff/incr_diff.sh
	run_one "diff/stress_diff.sh" env BUILD="$BUILD" bash selftests/diff/stress_diff.sh
	run_one "diff/concurrency.sh" env BUILD="$BUILD" bash selftests/diff/concurrency.sh
	run_one "corpus/corpus.sh" env BUILD="$BUILD" bash selftests/corpus/corpus.sh
fi

if [ "$which" = all ] || [ "$which" = fuzz ]; then
	for t in "$BUILD"/fuzz/fuzz_*; do
		[ -x "$t" ] && run_one "fuzz/$(basename "$t")" \
			env BUILD="$BUILD" FUZZ_SECONDS="${FUZZ_SECONDS:-20}" \
			scripts/fuzz.sh "$(basename "$t")"
	done
fi

echo
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
