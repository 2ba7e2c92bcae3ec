#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Rulesets in the shapes real programs generate (selftests/corpus/*.nft:
# OpenWrt's fw4, firewalld, Docker, kube-proxy, libvirt), each through
# unmodified nft against bpfilter and against kernel nf_tables:
#
#   (a) the file loads on the kernel (else the corpus itself is wrong);
#   (b) the whole file through bpfilter: loaded, or refused with a message;
#       when loaded, `nft list ruleset` equals the kernel's;
#   (c) rule by rule: the kernel's listing is cut into a skeleton (tables,
#       sets and maps with their elements, chains without rules) and one
#       `add rule` per rule; bpfilter takes the skeleton and then each rule
#       it can; the kernel, in a fresh namespace, takes the same skeleton
#       and exactly the rules bpfilter took; both listings must be equal;
#   (d) what loads may not fall below the floor recorded in
#       selftests/corpus/expect (whole files, and rules per file).
#
# It prints, per file, how many rules load and the refusals by message, so
# its output is the measure of how much of these rulesets bpfilter takes.
# Kernel selftest conventions: exit 0 pass, 1 fail, 4 skip; TAP lines.
# The host's ruleset is never touched.

set -u

# shellcheck source=selftests/shell/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../shell/lib.sh"

CORPUS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
EXPECT=$CORPUS_DIR/expect

bf_nft_setup

# The kernel side runs in NS_A, which bpfilter never filters.
knft() { ip netns exec "$NS_A" timeout 20 "$NFT" "$@"; }

# Interfaces the rulesets name with iif/oif (resolved at load time).
for ns in "$NS_A" "$NS_B"; do
	ip -n "$ns" link add virbr0 type bridge 2>/dev/null
done

# Counters and the set element order differ by packets seen, not by rules.
norm() { sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/'; }

# split LISTING DIR: cut the kernel's listing into pieces that load one at
# a time, in an order that always works: DIR/tables (one "add table" per
# table, with its comment and flags), DIR/chains (one line per chain: a
# one-chain ruleset file, tabs as \t), DIR/sets (the same per set, map or
# object), DIR/rules ("CHAIN-KEY<TAB>add rule FAMILY TABLE CHAIN RULE").
split_listing() {
	local d=$2
	mkdir -p "$d"
	: >"$d/tables"; : >"$d/chains"; : >"$d/sets"; : >"$d/rules"
	awk -v d="$d" '
	function flush_block(kind,   out) {
		out = "table " fam " " tbl " {\\n" block "\\t}\\n}"
		print out > (d "/" kind)
		block = ""
	}
	/^table / { fam = $2; tbl = $3; thead = ""; next }
	/^}/ { printf "add table %s %s { %s}\n", fam, tbl, thead > (d "/tables"); next }
	/^\tchain / { chain = $2; kind = "chains"; block = "\\tchain " chain " {\\n"; next }
	/^\t(set|map|counter|quota|limit|ct helper|flowtable) / {
		kind = "sets"; line = $0; sub(/^\t/, "", line)
		block = "\\t" line "\\n"; next
	}
	kind != "" && /^\t}/ { flush_block(kind); kind = ""; next }
	kind == "chains" && /^\t\t/ {
		line = $0; sub(/^\t\t/, "", line)
		if (line ~ /^type / || line ~ /^comment "/ || line ~ /^policy /) {
			block = block "\\t\\t" line "\\n"; next
		}
		printf "%s %s %s\t%s\n", fam, tbl, chain, "add rule " fam " " tbl " " chain " " line > (d "/rules")
		next
	}
	kind == "sets" { line = $0; sub(/^\t\t/, "", line); block = block "\\t\\t" line "\\n"; next }
	/^\t[a-z]/ { line = $0; sub(/^\t/, "", line); thead = thead line "; "; next }
	' "$1"
}

# load_piece NFTCMD PIECE-LINE: load one piece (\t and \n escapes) with -f.
load_piece() {
	local cmd=$1 piece=$2 f
	f=$(mktemp "$bf_tmpdir/piece.XXXXXX")
	printf '%b\n' "$piece" >"$f"
	$cmd -f "$f"
}

floor_of() { # floor_of FILE KIND -> number (0 when not recorded)
	awk -v f="$1" -v k="$2" '$1 == f && $2 == k { print $3; found = 1 }
		END { if (!found) print 0 }' "$EXPECT" 2>/dev/null
}

# why_refused ERRFILE: the daemon's reason for the last refusal (its log
# says "request refused (ERRNO): MESSAGE"; nft 1.0.6 does not print the
# extended ack), else the first error line nft printed.
log_mark=0
why_refused() {
	local why
	why=$(tail -n +"$((log_mark + 1))" "$bf_tmpdir/daemon.log" |
		sed -n 's/.*request refused (\(.*\)): \(.*\)/\2 (\1)/p' | tail -n 1)
	log_mark=$(wc -l <"$bf_tmpdir/daemon.log")
	[ -n "$why" ] || why=$(grep -m1 -i 'error' "$1" | sed -E 's/^[^:]*:[0-9:-]+ //; s/^Error: //')
	echo "${why:-no message}"
}

total_files=0 whole_loaded=0 total_rules=0 total_loaded=0
declare -A reasons=()

for file in "$CORPUS_DIR"/*.nft; do
	name=$(basename "$file")
	total_files=$((total_files + 1))
	bnft flush ruleset >/dev/null 2>&1
	knft flush ruleset >/dev/null 2>&1

	# (a)
	if ! knft -f "$file" 2>"$bf_tmpdir/kerr"; then
		bf_not_ok "$name: loads on the kernel"
		sed 's/^/#   /' "$bf_tmpdir/kerr" | head -5
		continue
	fi
	knft list ruleset | norm >"$bf_tmpdir/klist"

	# (b)
	if bnft -f "$file" 2>"$bf_tmpdir/berr"; then
		whole_loaded=$((whole_loaded + 1))
		bnft list ruleset | norm >"$bf_tmpdir/blist"
		if diff -u "$bf_tmpdir/klist" "$bf_tmpdir/blist" >"$bf_tmpdir/d"; then
			bf_ok "$name: whole file loads, listing equals the kernel's"
		else
			bf_not_ok "$name: whole file loads, listing equals the kernel's"
			head -20 "$bf_tmpdir/d" | sed 's/^/#   /'
		fi
	else
		bf_log "$name: whole file refused: $(why_refused "$bf_tmpdir/berr")"
		if [ "$(floor_of "$name" whole)" -gt 0 ]; then
			bf_not_ok "$name: whole file loads (it did before: selftests/corpus/expect)"
		fi
	fi

	# (c)
	split_listing "$bf_tmpdir/klist" "$bf_tmpdir/p"
	bnft flush ruleset >/dev/null 2>&1
	knft flush ruleset >/dev/null 2>&1
	n=$(wc -l <"$bf_tmpdir/p/rules")
	total_rules=$((total_rules + n))
	ok=0
	: >"$bf_tmpdir/taken"
	: >"$bf_tmpdir/pieces"
	declare -A chain_refused=()
	while IFS= read -r t; do
		# shellcheck disable=SC2086
		bnft $t && echo "$t" >>"$bf_tmpdir/tables_taken"
	done <"$bf_tmpdir/p/tables"
	for kind in chains sets; do
		while IFS= read -r piece; do
			if load_piece bnft "$piece" 2>"$bf_tmpdir/perr"; then
				echo "$piece" >>"$bf_tmpdir/pieces"
			else
				why=$(why_refused "$bf_tmpdir/perr")
				what=$(printf '%b' "$piece" | sed -n 2p | sed -E 's/^\t//; s/ \{$//')
				bf_log "  refused: $what: $why"
				reasons["$kind: $why"]=$((${reasons["$kind: $why"]:-0} + 1))
				[ "$kind" = chains ] && chain_refused["$(printf '%b' "$piece" | awk 'NR == 1 { f = $2; t = $3 } NR == 2 { print f, t, $2 }')"]=1
			fi
		done <"$bf_tmpdir/p/$kind"
	done
	while IFS=$'\t' read -r key rule; do
		if [ -n "${chain_refused[$key]:-}" ]; then
			reasons["rule in a refused chain"]=$((${reasons["rule in a refused chain"]:-0} + 1))
			continue
		fi
		if bnft "$rule" 2>"$bf_tmpdir/rerr"; then
			ok=$((ok + 1))
			echo "$rule" >>"$bf_tmpdir/taken"
		else
			why=$(why_refused "$bf_tmpdir/rerr")
			reasons["$why"]=$((${reasons["$why"]:-0} + 1))
			bf_log "  refused: ${rule#add rule }"
			bf_log "           $why"
		fi
	done <"$bf_tmpdir/p/rules"
	unset chain_refused
	total_loaded=$((total_loaded + ok))
	bf_log "$name: $ok of $n rules load"

	# The kernel takes exactly what bpfilter took, in the same order.
	while IFS= read -r t; do
		# shellcheck disable=SC2086
		knft $t
	done <"$bf_tmpdir/tables_taken"
	while IFS= read -r piece; do
		load_piece knft "$piece" || bf_log "the kernel refuses a piece bpfilter took: $piece"
	done <"$bf_tmpdir/pieces"
	while IFS= read -r rule; do
		knft "$rule" || bf_log "the kernel refuses a rule bpfilter took: $rule"
	done <"$bf_tmpdir/taken"
	rm -f "$bf_tmpdir/tables_taken"
	knft list ruleset | norm >"$bf_tmpdir/klist2"
	bnft list ruleset | norm >"$bf_tmpdir/blist2"
	if diff -u "$bf_tmpdir/klist2" "$bf_tmpdir/blist2" >"$bf_tmpdir/d"; then
		bf_ok "$name: what bpfilter takes ($ok rules) lists as on the kernel"
	else
		bf_not_ok "$name: what bpfilter takes ($ok rules) lists as on the kernel"
		head -30 "$bf_tmpdir/d" | sed 's/^/#   /'
	fi

	# (d)
	floor=$(floor_of "$name" rules)
	if [ "$ok" -ge "$floor" ]; then
		bf_ok "$name: $ok rules load (floor $floor)"
	else
		bf_not_ok "$name: $ok rules load, below the floor of $floor"
	fi
done

bnft flush ruleset >/dev/null 2>&1
knft flush ruleset >/dev/null 2>&1

bf_log "corpus: $whole_loaded of $total_files files load whole; $total_loaded of $total_rules rules load one by one"
for why in "${!reasons[@]}"; do
	printf '# %5d  %s\n' "${reasons[$why]}" "$why"
done | sort -rn
bf_finish
