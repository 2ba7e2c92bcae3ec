#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Differential stress test: 8 tables (ip, ip6, inet) whose input and
# output base chains sit at priorities 0, 0, 0, 1, -1, 0, 2, -2 (several
# tables on one hook at one priority), then RANDOM_OPS (500) random nft
# commands picked by RANDOM_SEED (1): rules added, inserted at the head
# or at a position, added after a position, replaced and deleted by
# handle; chains flushed; regular chains created and deleted, jumped to
# and gone to; rules of many shapes (ports, ranges, address prefixes,
# counters, verdicts, comments) and a few commands that must fail.
#
# Each command runs against kernel nf_tables (plain nft in netns K) and
# against bpfilter (bfexec nft, a private daemon, netns B): the exit codes
# and `nft -a list ruleset` (handles and counters included) must be
# identical after every command, and so should the messages. Every
# TRAFFIC_EVERY (50) commands, the same frames (UDP and TCP over IPv4 and
# IPv6, to a spread of ports from a spread of sources) are injected from
# netns S into K and into B over veth pairs; K and B answer them (ICMP
# errors, RSTs: not rate limited, neighbours static), so input and output
# chains see traffic; then every rule's counter, packets and bytes, must
# be the same on both sides.
#
#   S:vk <-> K:vd0    S:vb <-> B:vd0    (vd0: 02:00:00:00:00:02,
#                                        10.0.0.2, fd00:bf::2)
#
# The first command whose exit code or listing differs ends the test (the
# two states have diverged): it is printed with both answers and the
# first lines of the listings' diff. A command whose message alone
# differs is reported and the test goes on. A counter mismatch is
# reported; later listings are then compared without counters.
#
# STRESS_DISTINCT_PRIO=1: priorities 0, 10, 20, -10, 30, -20, 40, -30
# instead (no two tables on one hook at one priority or at neighbouring
# ones); STRESS_PRIOS="P0 ... P7": those. STRESS_NO_LOOPS=1: a regular
# chain only jumps to chains made after it, so that no loop of chains
# ever forms (the kernel looks for loops only among the chains reachable
# from a base chain). STRESS_NO_OUTPUT=1: no output chains, one base
# chain per table. STRESS_IGNORE_COUNTERS=1: listings compared without
# their counters, traffic not compared (to look past a counter bug).
# KERNEL_ONLY=1: the kernel
# against itself (a second kernel netns in place of bpfilter), to check
# the test. STRESS_VERBOSE=1: every command, its exit code and the
# first line of its message. TAP-like lines, "N passed, N failed"; exit 0, 1, or 4 (skip).
set -u
. "$(dirname "$0")/common.sh"
diff_require tools/bf_inject

SEED=${RANDOM_SEED:-1}
OPS=${RANDOM_OPS:-500}
EVERY=${TRAFFIC_EVERY:-50}
if [ -n "${STRESS_PRIOS:-}" ]; then
	read -r -a prios <<<"$STRESS_PRIOS"
elif [ "${STRESS_DISTINCT_PRIO:-0}" = 1 ]; then
	prios=(0 10 20 -10 30 -20 40 -30)
else
	prios=(0 0 0 1 -1 0 2 -2)
fi
fams=(ip inet ip6 ip ip6 ip inet inet)
ntab=${#fams[@]}

diff_tmpdir work bfstress || exit 1

setup() {
	local ns mac a
	diff_netns S bfst-s && diff_netns K bfst-k && diff_netns B bfst-b || return 1
	ip netns exec "$S" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1 || return 1
	for ns in "$K" "$B"; do
		# No link-local address, no DAD, no router solicitation, no
		# rate limit on ICMP errors: B and K send nothing but their
		# answers to the frames (and MLD reports, see safe_match).
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.addr_gen_mode=1 \
			net.ipv6.conf.default.accept_dad=0 \
			net.ipv6.conf.default.router_solicitations=0 \
			net.ipv4.icmp_ratemask=0 net.ipv6.icmp.ratemask= || return 1
	done
	ip -n "$S" link add vk type veth peer name vd0 netns "$K" || return 1
	ip -n "$S" link add vb type veth peer name vd0 netns "$B" || return 1
	for ns in "$K" "$B"; do
		ip -n "$ns" link set vd0 address 02:00:00:00:00:02 || return 1
		ip -n "$ns" addr add 10.0.0.2/24 dev vd0 || return 1
		ip -n "$ns" addr add fd00:bf::2/64 dev vd0 nodad || return 1
		ip -n "$ns" link set vd0 up || return 1
		ip -n "$ns" route add default via 10.0.0.1 dev vd0 || return 1
		ip -n "$ns" -6 route add default via fd00:bf::1 dev vd0 || return 1
	done
	for pair in "vk:$K" "vb:$B"; do
		mac=$(ip -n "$S" -o link show "${pair%%:*}" |
			sed -n 's/.*link\/ether \([0-9a-f:]*\) .*/\1/p')
		[ -n "$mac" ] || return 1
		# Every on-link source: an unresolved neighbour would, seconds
		# later, bounce the answers back as ICMP errors to K or B itself.
		for a in 10.0.0.1 10.0.0.9 fd00:bf::1 fd00:bf::9; do
			ip -n "${pair#*:}" neigh add "$a" lladdr "$mac" dev vd0 nud permanent ||
				return 1
		done
		ip -n "$S" link set "${pair%%:*}" up || return 1
	done
}
setup || { echo "# SKIP: cannot set up namespaces and veths"; exit 4; }

kern() { kern_in "$K" "$@"; }
if [ "${KERNEL_ONLY:-0}" = 1 ]; then
	bpf() { kern_in "$B" "$@"; }
	side=kernel2
else
	diff_daemon rundir
	bpf() { bpf_in "$B" "$rundir" "$@"; }
	side=bpfilter
fi
echo "# seed $SEED, $OPS commands, priorities ${prios[*]}, kernel vs $side"

# --- the state, read back from the kernel's listing ------------------------

# After each command: chains[] holds "fam table chain", rules[] holds
# "fam table chain handle", from the kernel's `nft -a list ruleset`.
chains=() rules=()
read_state() {
	mapfile -t chains < <(awk '
		/^table / { fam = $2; tab = $3 }
		/^\tchain / { print fam, tab, $2 }' "$work/k.txt")
	mapfile -t rules < <(awk '
		/^table / { fam = $2; tab = $3; next }
		/^\tchain / { ch = $2; next }
		/^\t\t.* # handle [0-9]+$/ { print fam, tab, ch, $NF }' "$work/k.txt")
}

# R: a random number in [0, $1). Never called in a subshell, so that the
# sequence depends on the seed only.
rnd() { R=$((RANDOM % $1)); }
pick() { # pick WORD...: one of them, in P
	rnd $#
	shift "$R"
	P=$1
}

# The chains of table $tab ($fam): CH[] all, REG[] the regular ones.
table_chains() {
	local c
	CH=() REG=()
	for c in "${chains[@]}"; do
		set -- $c
		[ "$1 $2" = "$fam $tab" ] || continue
		CH+=("$3")
		case $3 in input | output) ;; *) REG+=("$3") ;; esac
	done
}

# A handle of a rule of chain $ch in $fam $tab in H; empty if none.
chain_handle() {
	local r hs=()
	for r in "${rules[@]}"; do
		set -- $r
		[ "$1 $2 $3" = "$fam $tab $ch" ] && hs+=("$4")
	done
	H=
	[ ${#hs[@]} -gt 0 ] && { rnd ${#hs[@]}; H=${hs[$R]}; }
}

# --- rules -------------------------------------------------------------------

ports=(22 53 80 443 1000 1001 1002 1003 1004 1005 1006 1007)
sports=(5000 5001 5002 5003)
pfx4=(10.0.0.0/24 10.0.0.0/8 10.1.0.0/16 172.16.0.0/12 192.168.0.0/16 10.0.0.9 10.1.2.3)
pfx6=(fd00:bf::/64 fd00::/8 fd00:1::/32 2001:db8::/32 fd00:bf::9 fd00:1::3)

# One match in M, for family $fam. safe=1: one that no MLD report (ICMPv6,
# from ::, which K and B send on their own when their address is set, at
# times the test does not control) can match; every counted rule of an
# output or regular chain starts with such a match. RL4 (udp, tcp) and
# RL3 (4, 6) keep the matches of one rule to one protocol (else nft
# refuses it before sending anything); empty: not chosen yet.
l4() { # l4: the rule's transport protocol in P, chosen if need be
	[ -n "$RL4" ] || { pick udp udp tcp; RL4=$P; }
	P=$RL4
}
match() {
	local safe=$1 v4=1 v6=1 p
	[ "$fam" = ip ] && v6=0
	[ "$fam" = ip6 ] && v4=0
	[ "$RL3" = 4 ] && v6=0
	[ "$RL3" = 6 ] && v4=0
	rnd 12
	case $R in
	0 | 1 | 2 | 3) l4; p=$P; pick "${ports[@]}" "${sports[@]}"; M="$p dport $P" ;;
	4) l4; p=$P; pick "${ports[@]}"; M="$p dport != $P" ;;
	5) l4; p=$P; pick 1000 1002 5000; M="$p dport $P-$((P + 3))" ;;
	6) l4; p=$P; pick "${ports[@]}" "${sports[@]}"; M="$p sport $P" ;;
	7) l4; M="meta l4proto $P" ;;
	8 | 9)
		if [ $v4 = 1 ] && { [ $v6 = 0 ] || [ $((RANDOM % 2)) = 0 ]; }; then
			pick "${pfx4[@]}"; p=$P
			pick saddr daddr saddr; M="ip $P $p"
			[ $((RANDOM % 5)) = 0 ] && M="ip $P != $p"
			RL3=4
		else
			pick "${pfx6[@]}"; p=$P
			pick saddr daddr saddr; M="ip6 $P $p"
			[ "$safe" = 0 ] && [ $((RANDOM % 5)) = 0 ] && M="ip6 $P != $p"
			RL3=6
		fi ;;
	10)
		if [ "$fam" = inet ]; then
			if [ "$safe" = 1 ] || [ $v6 = 0 ]; then
				M="meta nfproto ipv4"; RL3=4
			elif [ $v4 = 0 ]; then
				M="meta nfproto ipv6"; RL3=6
			else
				pick 4 6; RL3=$P; M="meta nfproto ipv$P"
			fi
		elif [ $v4 = 1 ]; then
			pick 10.0.0.2 10.0.0.0/8; M="ip daddr $P"
		else
			M="ip6 daddr fd00:bf::2"
		fi ;;
	11) l4; p=$P; pick "${ports[@]}"
		if [ $((RANDOM % 2)) = 0 ]; then M="$p dport $P $p sport 5001"
		else M="$p sport 5002 $p dport $P"; fi ;;
	esac
}

# The chains a rule of $ch may jump to, in TG[]: the regular chains, or
# with STRESS_NO_LOOPS=1 those made after $ch (no loop can form then).
targets() {
	local c
	TG=()
	for c in "${REG[@]}"; do
		if [ "${STRESS_NO_LOOPS:-0}" = 1 ] && [ "${ch#c}" != "$ch" ] &&
		   [ "${c#c}" -le "${ch#c}" ]; then
			continue
		fi
		TG+=("$c")
	done
}

# A random rule for chain $ch of $fam $tab in RULE (TG[]: the targets).
gen_rule() {
	local nm s verdict counter=0 safe=1
	[ "$ch" = input ] && safe=0
	RULE='' RL4='' RL3=''
	rnd 10; nm=$(( R < 2 ? 0 : (R < 7 ? 1 : 2) ))
	for ((s = 0; s < nm; s++)); do
		if [ $s = 0 ]; then match "$safe"; else match 0; fi
		RULE+="$M "
	done
	rnd 10; [ $R -lt 7 ] && counter=1
	# A counted rule outside input starts with a safe match.
	if [ $counter = 1 ] && [ $safe = 1 ] && [ $nm = 0 ]; then
		match 1; RULE="$M "
	fi
	[ $counter = 1 ] && RULE+="counter "
	rnd 20
	case $R in
	0 | 1 | 2) verdict=accept ;;
	3 | 4 | 5) verdict=drop ;;
	6 | 7) verdict="continue" ;;
	8 | 9) verdict="return" ;;
	10 | 11 | 12 | 13)
		verdict=
		targets
		if [ ${#TG[@]} -gt 0 ]; then
			pick "${TG[@]}"; local tgt=$P
			pick jump jump goto; verdict="$P $tgt"
		fi ;;
	*) verdict= ;;
	esac
	RULE+=$verdict
	RULE=${RULE% }
	[ -n "$RULE" ] || RULE="counter"
	[ "$RULE" = counter ] && [ $safe = 1 ] && { match 1; RULE="$M counter"; }
	rnd 4
	[ $R = 0 ] && RULE+=" comment \"r$i\""
}

# --- one command on both sides ------------------------------------------------

strip_counters() { sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/' "$1"; }
counters_diverged=${STRESS_IGNORE_COUNTERS:-0}
last=()
stopped=0

# both CMD: run CMD (one argument: nft parses it) on both sides; compare.
both() {
	local cmd=$1 ko kr bo br
	last+=("$cmd")
	[ ${#last[@]} -gt 6 ] && last=("${last[@]:1}")
	ko=$(kern "$cmd" 2>&1); kr=$?
	bo=$(bpf "$cmd" 2>&1); br=$?
	kern -a list ruleset >"$work/k.txt" 2>&1
	bpf -a list ruleset >"$work/b.txt" 2>&1
	if [ "$counters_diverged" = 1 ]; then
		strip_counters "$work/k.txt" >"$work/k.cmp"
		strip_counters "$work/b.txt" >"$work/b.cmp"
	else
		cp "$work/k.txt" "$work/k.cmp"
		cp "$work/b.txt" "$work/b.cmp"
	fi
	if [ "$kr" != "$br" ] || ! cmp -s "$work/k.cmp" "$work/b.cmp"; then
		not_ok "command $i${setup_phase:+ (set-up)}: nft $cmd"
		echo "#   kernel   rc $kr: $(printf '%s' "$ko" | head -n 3 | tr '\n' '|')"
		echo "#   $side rc $br: $(printf '%s' "$bo" | head -n 3 | tr '\n' '|')"
		if ! cmp -s "$work/k.cmp" "$work/b.cmp"; then
			echo "#   listings differ (-kernel +$side):"
			diff -u "$work/k.cmp" "$work/b.cmp" | sed -n '3,$p' | head -n 30 | sed 's/^/#     /'
		fi
		echo "#   the commands up to it:"
		printf '#     %s\n' "${last[@]}"
		stopped=1
		return 1
	fi
	if [ "$ko" != "$bo" ]; then
		not_ok "command $i${setup_phase:+ (set-up)}: nft $cmd: same exit code $kr, other message"
		echo "#   kernel:   $(printf '%s' "$ko" | head -n 3 | tr '\n' '|')"
		echo "#   $side: $(printf '%s' "$bo" | head -n 3 | tr '\n' '|')"
	fi
	[ "${STRESS_VERBOSE:-0}" = 1 ] && echo "# $i rc $kr: $cmd${ko:+ -> $(printf '%s' "$ko" | head -n 1)}"
	[ "$kr" = 0 ] && nok=$((nok + 1)) || nerr=$((nerr + 1))
	read_state
	return 0
}

# --- traffic -----------------------------------------------------------------

src4=(10.0.0.1 10.0.0.9 10.1.2.3 172.16.4.4 192.168.7.1)
src6=(fd00:bf::1 fd00:bf::9 fd00:1::3 2001:db8::5)
# "fam table chain handle: rule<TAB>packets<TAB>bytes", one line per
# counted rule of an `nft -a list ruleset`.
counters() {
	awk '
	/^table / { fam = $2; tab = $3; next }
	/^\tchain / { ch = $2; next }
	/counter packets [0-9]+ bytes [0-9]+/ {
		line = $0
		sub(/^[[:space:]]+/, "", line)
		match(line, /counter packets [0-9]+ bytes [0-9]+/)
		c = substr(line, RSTART, RLENGTH)
		split(c, f, " ")
		rule = substr(line, 1, RSTART - 1) "counter" substr(line, RSTART + RLENGTH)
		printf "%s %s %s: %s\t%s\t%s\n", fam, tab, ch, rule, f[3], f[5]
	}' "$1"
}
total_pkts=0
traffic() {
	local f proto pkts
	: >"$work/frames"
	for ((f = 0; f < 80; f++)); do
		pick udp udp tcp; proto=$P
		pick "${ports[@]}" 1004 1005 9999; local dp=$P
		pick "${sports[@]}"; local sp=$P
		rnd 5
		if [ $R -lt 3 ]; then
			pick "${src4[@]}"; echo "$proto $P 10.0.0.2 $sp $dp $((RANDOM % 200))"
		else
			pick "${src6[@]}"; echo "$proto $P fd00:bf::2 $sp $dp $((RANDOM % 200))"
		fi >>"$work/frames"
	done
	ip netns exec "$S" timeout 10 "$BUILD/tools/bf_inject" --stdin vk <"$work/frames" >/dev/null &&
		ip netns exec "$S" timeout 10 "$BUILD/tools/bf_inject" --stdin vb <"$work/frames" >/dev/null ||
		{ not_ok "traffic after command $i: bf_inject failed"; return; }
	# The frames are handled in softirq, right after they are sent;
	# read again once before calling a difference one.
	sleep 0.3
	kern -a list ruleset >"$work/k.txt" 2>&1
	bpf -a list ruleset >"$work/b.txt" 2>&1
	counters "$work/k.txt" >"$work/k.tsv"
	counters "$work/b.txt" >"$work/b.tsv"
	if ! cmp -s "$work/k.tsv" "$work/b.tsv"; then
		sleep 1
		kern -a list ruleset >"$work/k.txt" 2>&1
		bpf -a list ruleset >"$work/b.txt" 2>&1
		counters "$work/k.txt" >"$work/k.tsv"
		counters "$work/b.txt" >"$work/b.tsv"
	fi
	pkts=$(awk -F '\t' '{ s += $2 } END { print s + 0 }' "$work/k.tsv")
	[ "$pkts" -gt "$total_pkts" ] && total_pkts=$pkts
	if [ "$counters_diverged" = 1 ]; then
		echo "# traffic after command $i: counters not compared (diverged before, or STRESS_IGNORE_COUNTERS=1)"
	elif cmp -s "$work/k.tsv" "$work/b.tsv"; then
		ok "traffic after command $i: 80 frames, $(wc -l <"$work/k.tsv") counters equal ($pkts packets)"
	else
		not_ok "traffic after command $i: counters differ"
		paste -d '\n' "$work/k.tsv" "$work/b.tsv" | paste - - |
			awk -F '\t' '$1 != $4 || $2 != $5 || $3 != $6 {
				printf "#   %s: kernel %s pkts %s bytes; '"$side"' %s pkts %s bytes%s\n",
					$1, $2, $3, $5, $6, ($1 != $4 ? " (listed as: " $4 ")" : "")
			}' | head -n 20
		counters_diverged=1
	fi
}

# --- the run -----------------------------------------------------------------

RANDOM=$SEED
i=0 nok=0 nerr=0
t0=$SECONDS
setup_phase=1
for ((t = 0; t < ntab; t++)); do
	fam=${fams[$t]} tab=t$t
	both "add table $fam $tab" || break
	both "add chain $fam $tab input { type filter hook input priority ${prios[$t]}; }" || break
	both "add rule $fam $tab input counter" || break
	[ "${STRESS_NO_OUTPUT:-0}" = 1 ] && continue
	both "add chain $fam $tab output { type filter hook output priority ${prios[$t]}; }" || break
	ch=output RL4='' RL3=''; match 1
	both "add rule $fam $tab output $M counter" || break
done
[ "$stopped" = 0 ] && ok "$ntab tables, base chains at priorities ${prios[*]}"

setup_phase=
nchain=0
for ((i = 1; i <= OPS && stopped == 0; i++)); do
	rnd $ntab; fam=${fams[$R]} tab=t$R
	table_chains
	pick "${CH[@]}"; ch=$P
	rnd 100
	if [ $R -lt 24 ]; then
		gen_rule; both "add rule $fam $tab $ch $RULE"
	elif [ $R -lt 32 ]; then
		gen_rule; both "insert rule $fam $tab $ch $RULE"
	elif [ $R -lt 42 ]; then
		chain_handle; gen_rule
		if [ -n "$H" ]; then both "insert rule $fam $tab $ch position $H $RULE"
		else both "insert rule $fam $tab $ch $RULE"; fi
	elif [ $R -lt 50 ]; then
		chain_handle; gen_rule
		if [ -n "$H" ]; then both "add rule $fam $tab $ch position $H $RULE"
		else both "add rule $fam $tab $ch $RULE"; fi
	elif [ $R -lt 61 ]; then
		chain_handle; gen_rule
		[ -n "$H" ] && both "replace rule $fam $tab $ch handle $H $RULE"
	elif [ $R -lt 72 ]; then
		chain_handle
		[ -n "$H" ] && both "delete rule $fam $tab $ch handle $H"
	elif [ $R -lt 75 ]; then
		both "flush chain $fam $tab $ch"
	elif [ $R -lt 84 ]; then
		nchain=$((nchain + 1))
		if [ ${#REG[@]} -gt 0 ] && [ $((RANDOM % 4)) = 0 ]; then
			pick "${REG[@]}"; both "create chain $fam $tab $P"
		else
			both "add chain $fam $tab c$nchain"
		fi
	elif [ $R -lt 91 ]; then
		if [ ${#REG[@]} -gt 0 ]; then
			pick "${REG[@]}"; both "delete chain $fam $tab $P"
		fi
	elif [ $R -lt 96 ]; then
		targets
		if [ ${#TG[@]} -gt 0 ]; then
			pick "${TG[@]}"; local_tgt=$P
			pick jump goto; local_v=$P
			RL4='' RL3=''; match 1
			both "add rule $fam $tab $ch $M counter $local_v $local_tgt"
		fi
	else
		# Must fail: a handle, a chain or a target that does not exist.
		rnd 4
		case $R in
		0) both "delete rule $fam $tab $ch handle 99999" ;;
		1) both "add rule $fam $tab $ch position 99999 udp dport 1 accept" ;;
		2) both "add rule $fam $tab nosuch udp dport 1 accept" ;;
		3) both "add rule $fam $tab $ch jump nosuch" ;;
		esac
	fi
	[ "$stopped" = 0 ] && [ $((i % EVERY)) = 0 ] && traffic
done
i=$((i - 1))
if [ "$stopped" = 0 ]; then
	ok "$i commands ($nok accepted, $nerr refused): same exit codes and listings"
	[ $((i % EVERY)) != 0 ] && traffic
	if [ "$total_pkts" -gt 0 ]; then
		ok "traffic reached the rules ($total_pkts packets counted in the kernel at most)"
	else
		not_ok "no counter of the kernel ever moved: the traffic reaches nothing"
	fi
	i=$((i + 1))
	both "flush ruleset" && ok "flush ruleset"
fi
echo "# $((SECONDS - t0)) s; to run it again: RANDOM_SEED=$SEED RANDOM_OPS=$OPS${STRESS_DISTINCT_PRIO:+ STRESS_DISTINCT_PRIO=$STRESS_DISTINCT_PRIO}${STRESS_PRIOS:+ STRESS_PRIOS=\"$STRESS_PRIOS\"}${STRESS_NO_LOOPS:+ STRESS_NO_LOOPS=$STRESS_NO_LOOPS}${STRESS_NO_OUTPUT:+ STRESS_NO_OUTPUT=$STRESS_NO_OUTPUT}${STRESS_IGNORE_COUNTERS:+ STRESS_IGNORE_COUNTERS=$STRESS_IGNORE_COUNTERS}"
if [ "$side" = bpfilter ]; then
	kill -0 "$diff_daemon_pid" 2>/dev/null && ok "daemon alive" || not_ok "daemon alive"
fi
diff_finish
