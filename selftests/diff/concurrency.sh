#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Concurrency differential test: many nft clients at once.
#
#   1. 32 clients at once in one namespace (one daemon, bfexec nft),
#      each running its own sequence of commands on its own table, on
#      tables and chains shared by all, and on names that several of them
#      create (`create table`, `create chain`: one wins, the others get
#      EEXIST);
#   2. 8 namespaces at once, each with 4 clients running the same kind of
#      workload (the same names in every namespace: one namespace's
#      objects must never collide with another's).
#
# The same workloads run against kernel nf_tables in scratch namespaces.
# Which client wins a collision depends on timing, so the outcomes are
# compared as a set: the sorted lines "exit code, command, first line of
# the message" of all the clients of a namespace must be the same as the
# kernel's. Then the listings: `nft list ruleset` sorted line by line
# (chain and rule order in shared objects depends on timing), and each
# client's own table exactly, handles of chains and rules included
# (`nft -a list table`; the table's own handle is taken in timing order).
#
# CONC_CLIENTS=N (32) clients in phase 1; CONC_NS=N (8) namespaces and
# CONC_NS_CLIENTS=N (4) clients each in phase 2. CONC_SAME_PRIO=1 (the
# default): all the clients' base chains at priority 0, on one hook and
# priority (0: distinct priorities). KERNEL_ONLY=1:
# the kernel against itself, to check the test. TAP-like lines,
# "N passed, N failed"; exit 0, 1, or 4 (skip).
set -u
. "$(dirname "$0")/common.sh"
diff_require

# A bound on one nft command, not an expectation: nft refetches its cache
# while other clients commit, so one command can wait for most of the
# others (the slowest are printed).
NFT_TIMEOUT=${NFT_TIMEOUT:-150}
NC1=${CONC_CLIENTS:-32}
NNS=${CONC_NS:-8}
NC2=${CONC_NS_CLIENTS:-4}
diff_tmpdir work bfconc || exit 1

if [ "${KERNEL_ONLY:-0}" = 1 ]; then
	side=kernel2
	bpf() { kern_in "$@"; }
else
	side=bpfilter
	diff_daemon rundir
	bpf() { local ns=$1; shift; bpf_in "$ns" "$rundir" "$@"; }
fi
kern() { kern_in "$@"; }

# The commands of client J (of NC clients), one per line.
workload() {
	local j=$1 nc=$2 g=$(($1 % 4)) prio
	if [ "${CONC_SAME_PRIO:-1}" = 1 ]; then
		prio=0
	else
		prio=$(((j - nc / 2) * 10))
	fi
	cat <<-EOF
	add table ip shared
	create table ip coll$g
	add chain ip coll$g cc$j
	add rule ip coll$g cc$j udp dport $((1000 + j)) counter accept
	create chain ip shared common
	add rule ip shared common tcp dport $((2000 + j)) counter drop
	add chain ip shared c$j
	add rule ip shared c$j ip saddr 10.$j.0.0/16 counter
	add rule ip shared common jump c$j
	add table inet own$j
	add chain inet own$j in { type filter hook input priority $prio; }
	add rule inet own$j in udp dport $((3000 + j)) counter accept
	add rule inet own$j in tcp dport $((3000 + j)) counter drop comment "client $j"
	insert rule inet own$j in meta l4proto udp counter
	delete rule inet own$j in handle 3
	add rule inet own$j in position 2 ip saddr 10.0.0.0/8 drop
	add chain ip shared tmp$j
	add rule ip shared tmp$j counter
	delete chain ip shared tmp$j
	create table ip coll$g
	create chain ip shared common
	delete chain ip shared nosuch$j
	delete table ip nosuch$j
	EOF
}

# client RUNNER NS J NC OUT: run client J's commands one after the other
# once the file $go exists; one line per command in OUT: exit code,
# command, first line of the message; in OUT.time, the seconds each took.
client() {
	local runner=$1 ns=$2 j=$3 nc=$4 out=$5 cmd msg rc t
	while [ ! -e "$go" ]; do sleep 0.01; done
	while IFS= read -r cmd; do
		t=$EPOCHREALTIME
		msg=$("$runner" "$ns" "$cmd" 2>&1)
		rc=$?
		echo "$t $EPOCHREALTIME $cmd" >>"$out.time"
		printf '%s\t%s\t%s\n' "$rc" "$cmd" "$(printf '%s' "$msg" | head -n 1)"
	done < <(workload "$j" "$nc") >"$out"
}

# slowest TAG: the slowest command of the clients of TAG.
slowest() {
	cat "$work/$1".*.time | awk '{ d = $2 - $1; if (d > m) { m = d; $1 = $2 = ""; c = $0 } }
		END { printf "%.1f s (%s)", m, substr(c, 3) }'
}

# run_clients RUNNER TAG NS:NC...: NC clients in each NS, all at once.
run_clients() {
	local runner=$1 tag=$2 spec ns nc j pids=() p
	shift 2
	go=$work/go.$tag
	for spec in "$@"; do
		ns=${spec%:*} nc=${spec#*:}
		for ((j = 0; j < nc; j++)); do
			client "$runner" "$ns" "$j" "$nc" "$work/$tag.$ns.$j" &
			pids+=($!)
			diff_track_pid "$!"
		done
	done
	touch "$go"
	for p in "${pids[@]}"; do
		diff_wait "$p"
	done
}

# outcomes NS: the sorted outcomes of the clients of NS.
outcomes() {
	local f
	for f in "$work"/*."$1".*; do
		case $f in *.time) ;; *) cat "$f" ;; esac
	done | sort
}

# compare KNS BNS NC WHAT: outcomes and listings of one namespace pair.
compare() {
	local kns=$1 bns=$2 nc=$3 what=$4 j bad=0
	outcomes "$kns" >"$work/k.out"
	outcomes "$bns" >"$work/b.out"
	if cmp -s "$work/k.out" "$work/b.out"; then
		ok "$what: the $(wc -l <"$work/k.out") outcomes are the kernel's ($(grep -c '^0' "$work/k.out") accepted, $(grep -c 'File exists' "$work/k.out") EEXIST)"
	else
		not_ok "$what: outcomes differ (-kernel +$side, sorted: exit code, command, message)"
		diff -u "$work/k.out" "$work/b.out" | sed -n '3,$p' | grep '^[-+]' | head -n 20 | sed 's/^/#   /'
	fi
	# The test must be able to see a collision go wrong.
	if ! grep -q 'File exists' "$work/k.out"; then
		not_ok "$what: no collision happened in the kernel"
	fi
	kern "$kns" list ruleset 2>&1 | sort >"$work/k.list"
	bpf "$bns" list ruleset 2>&1 | sort >"$work/b.list"
	if cmp -s "$work/k.list" "$work/b.list"; then
		ok "$what: same listing ($(wc -l <"$work/k.list") lines, sorted)"
	else
		not_ok "$what: listings differ (-kernel +$side, sorted)"
		diff -u "$work/k.list" "$work/b.list" | sed -n '3,$p' | grep '^[-+]' | head -n 20 | sed 's/^/#   /'
	fi
	for ((j = 0; j < nc; j++)); do
		# A table's handle is the namespace's, taken in timing order.
		kern "$kns" -a list table inet "own$j" 2>&1 |
			sed '1s/ # handle [0-9]*$//' >"$work/k.own"
		bpf "$bns" -a list table inet "own$j" 2>&1 |
			sed '1s/ # handle [0-9]*$//' >"$work/b.own"
		if ! cmp -s "$work/k.own" "$work/b.own"; then
			bad=$((bad + 1))
			[ "$bad" -le 2 ] && {
				echo "# table inet own$j differs (-kernel +$side):"
				diff -u "$work/k.own" "$work/b.own" | sed -n '3,$p' | head -n 15 | sed 's/^/#   /'
			}
		fi
	done
	if [ "$bad" = 0 ]; then
		ok "$what: each client's own table is the kernel's, chain and rule handles included"
	else
		not_ok "$what: $bad of $nc clients' own tables differ"
	fi
}

t0=$SECONDS

# Phase 1: NC1 clients in one namespace.
diff_netns K1 bfconc-k1 && diff_netns B1 bfconc-b1 ||
	{ echo "# SKIP: cannot create namespaces"; exit 4; }
run_clients kern k1 "$K1:$NC1"
run_clients bpf b1 "$B1:$NC1"
compare "$K1" "$B1" "$NC1" "$NC1 clients in one namespace"
echo "# phase 1: $((SECONDS - t0)) s; slowest command: kernel $(slowest k1), $side $(slowest b1)"

# Phase 2: NNS namespaces, NC2 clients each, all at once.
t1=$SECONDS
kspecs=() bspecs=() knss=() bnss=()
for ((i = 0; i < NNS; i++)); do
	diff_netns kn "bfconc-k2.$i" && diff_netns bn "bfconc-b2.$i" ||
		{ not_ok "cannot create namespaces"; diff_finish; }
	knss+=("$kn") bnss+=("$bn")
	kspecs+=("$kn:$NC2") bspecs+=("$bn:$NC2")
done
run_clients kern k2 "${kspecs[@]}"
run_clients bpf b2 "${bspecs[@]}"
for ((i = 0; i < NNS; i++)); do
	compare "${knss[$i]}" "${bnss[$i]}" "$NC2" "namespace $i of $NNS, $NC2 clients"
done
echo "# phase 2: $((SECONDS - t1)) s; slowest command: kernel $(slowest k2), $side $(slowest b2)"

if [ "$side" = bpfilter ]; then
	kill -0 "$diff_daemon_pid" 2>/dev/null && ok "daemon alive" || not_ok "daemon alive"
fi
diff_finish
