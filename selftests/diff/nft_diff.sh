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
. "$(dirname "$0")/common.sh"
here=$diff_here
diff_require

diff_tmpdir work bfdiff || exit 1
diff_netns K bfdiff-k && diff_netns B bfdiff-b || exit 1
for ns in "$K" "$B"; do
	ip -n "$ns" link add bfd0 type veth peer name bfd1 || exit 1
done
diff_daemon rundir

kern() { kern_in "$K" "$@"; }
bpf() { bpf_in "$B" "$rundir" "$@"; }

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

diff_finish
