#!/usr/bin/env bash
# Incremental differential test: a chain of 30 `udp dport P counter accept`
# rules (one hash map in bpfilter) is changed one nft command at a time,
# in kernel nf_tables (netns K) and in bpfilter (netns B, private daemon
# through bfexec): rules appended (bpfilter updates the running program's
# map in place), shadowed, inserted, deleted, replaced, of another shape,
# 40 more appended past the room of the map, then random commands. After
# each command, exit codes and `nft -a list ruleset` must be identical;
# after each phase,
# real UDP datagrams sent to both (from a sender netns per side, over
# veth) must leave identical counters.
#
#   SK:vs <-> K:vd0    SB:vs <-> B:vd0    (10.0.0.1 -> 10.0.0.2)
#
# The daemon runs with BF_UPDATE_CHECK=1 (an in-place append aborts it
# unless generating the chain gives the same program) and -v debug, so
# that the test also counts the commits done in place.
# TAP-like lines, a closing "N passed, N failed" line; exit 0 when all
# match, 1 otherwise, 4 to skip.
set -u
. "$(dirname "$0")/common.sh"
diff_require

diff_tmpdir work bfinc || exit 1
setup() {
	local pair
	diff_netns K bfinc-k && diff_netns B bfinc-b &&
		diff_netns SK bfinc-sk && diff_netns SB bfinc-sb || return 1
	for pair in "$SK:$K" "$SB:$B"; do
		local s=${pair%:*} d=${pair#*:}
		ip -n "$s" link add vs type veth peer name vd0 netns "$d" || return 1
		ip -n "$s" addr add 10.0.0.1/24 dev vs && ip -n "$d" addr add 10.0.0.2/24 dev vd0 || return 1
		ip -n "$s" link set vs up && ip -n "$d" link set vd0 up || return 1
	done
}
setup || { echo "# cannot set up namespaces and veths"; exit 4; }

BF_UPDATE_CHECK=1 diff_daemon rundir -v debug
daemon=$diff_daemon_pid
log=$rundir/daemon.log

kern() { kern_in "$K" "$@"; }
bpf() { bpf_in "$B" "$rundir" "$@"; }


# Run one nft command on both sides; compare exit codes, then listings.
both() {
	local ko kr bo br
	ko=$(kern "$@" 2>&1); kr=$?
	bo=$(bpf "$@" 2>&1); br=$?
	if [ "$kr" != "$br" ] || [ "$ko" != "$bo" ]; then
		not_ok "nft $*"
		echo "#   kernel   rc $kr: $(printf '%s' "$ko" | head -n 3 | tr '\n' '|')"
		echo "#   bpfilter rc $br: $(printf '%s' "$bo" | head -n 3 | tr '\n' '|')"
		return
	fi
	kern -a list ruleset >"$work/k.txt" 2>&1
	bpf -a list ruleset >"$work/b.txt" 2>&1
	if cmp -s "$work/k.txt" "$work/b.txt"; then
		ok "nft $* (rc $kr, same listing)"
	else
		not_ok "nft $*: listings differ"
		diff -u "$work/k.txt" "$work/b.txt" | head -n 20 | sed 's/^/#   /'
	fi
}

# Send one UDP datagram per port in "$@" to both sides, then compare the
# listings with their counters.
traffic() {
	local tag=$1 p
	shift
	for p in "$@"; do
		ip netns exec "$SK" bash -c "echo x >/dev/udp/10.0.0.2/$p" 2>/dev/null
		ip netns exec "$SB" bash -c "echo x >/dev/udp/10.0.0.2/$p" 2>/dev/null
	done
	sleep 0.2
	kern list ruleset >"$work/k.txt" 2>&1
	bpf list ruleset >"$work/b.txt" 2>&1
	if cmp -s "$work/k.txt" "$work/b.txt" && grep -q "counter packets [1-9]" "$work/k.txt"; then
		ok "$tag: $# datagrams, same counters"
	else
		not_ok "$tag: counters differ"
		diff -u "$work/k.txt" "$work/b.txt" | head -n 30 | sed 's/^/#   /'
	fi
}

handle_of() { # "rule text" -> its handle on the kernel side (same on both)
	kern -a list chain ip t c | awk -v r="$1" 'index($0, r " # handle ") { print $NF; exit }'
}

in_place() { grep -c "rules updated in place" "$log"; }

{
	echo "table ip t {"
	echo "	chain c {"
	echo "		type filter hook input priority 0; policy accept;"
	for ((i = 0; i < 30; i++)); do
		echo "		udp dport $((1000 + i)) counter accept"
	done
	echo "	}"
	echo "}"
} >"$work/r.nft"
both -f "$work/r.nft"
traffic "30 rules" 1000 1005 1029 1029 3000
before=$(in_place)

# Appended: in place.
both add rule ip t c udp dport 2000 counter accept
both add rule ip t c udp dport 1005 counter drop
both add rule ip t c udp dport 2001 drop
both add rule ip t c udp dport 2002 counter drop
traffic "appended" 2000 2000 1005 2001 2002 3000 1021
appended=$(( $(in_place) - before ))
if [ "$appended" -ge 4 ]; then
	ok "4 appends done in place ($appended)"
else
	not_ok "4 appends done in place: only $appended"
fi

# 40 more: past the room of the map (a reload), then in place again.
for ((i = 0; i < 40; i++)); do
	both add rule ip t c udp dport $((4000 + i)) counter accept
done
traffic "40 more" 4000 4017 4039 1000 2000
after=$(in_place)
if [ $((after - before)) -ge 40 ]; then
	ok "appends done in place: $((after - before)) of 44"
else
	not_ok "appends done in place: only $((after - before)) of 44"
fi

# Inserted, deleted, replaced: the counters of every other rule go on.
# The insertions and the deletion are one map entry each (in place, the
# chain not even generated); a replacement is two, a new program.
before=$(in_place)
edits0=$(grep -c "not generated" "$log")
both insert rule ip t c udp dport 2003 counter accept
both add rule ip t c position "$(handle_of 'udp dport 1010 counter packets 0 bytes 0 accept')" \
	udp dport 2004 counter accept
both delete rule ip t c handle "$(handle_of 'udp dport 1020 counter packets 0 bytes 0 accept')"
both replace rule ip t c handle "$(handle_of 'udp dport 1021 counter packets 0 bytes 0 accept')" \
	udp dport 2005 counter drop
both add rule ip t c tcp dport 22 counter accept
traffic "inserted, deleted, replaced" 2003 2004 1020 1021 2005 1000 1029 2000
edits=$(( $(grep -c "not generated" "$log") - edits0 ))
if [ $(( $(in_place) - before )) -ge 3 ] && [ "$edits" -ge 3 ]; then
	ok "insert, insert at a position, delete: in place, not generated ($edits)"
else
	not_ok "insert, insert at a position, delete: in place $(( $(in_place) - before )), not generated $edits"
fi

# After a rule of another shape, a new run starts: its first rules are
# compiled one by one, from the 16th on as a map again.
for ((i = 0; i < 20; i++)); do
	both add rule ip t c udp dport $((5000 + i)) counter drop
done
traffic "a new run" 5000 5015 5019 4000 22

# A regular chain holding a run (a map) is renamed: the base chain jumping
# to it keeps its code; then a rule appended to the base chain's own run.
# A rule replaced keeps its handle but not its counters.
both add table ip t2
both add chain ip t2 sub
for ((i = 0; i < 20; i++)); do
	both add rule ip t2 sub udp dport $((7000 + i)) accept >/dev/null
done
both add chain ip t2 base '{ type filter hook input priority 10; }'
both add rule ip t2 base jump sub
for ((i = 0; i < 20; i++)); do
	both add rule ip t2 base udp dport $((7100 + i)) counter accept >/dev/null
done
traffic "a jump to a run" 7005 7105 7105
both rename chain ip t2 sub sub2
both add rule ip t2 base udp dport 7999 counter accept
edits0=$(grep -c "not generated" "$log")
both replace rule ip t2 base handle "$(kern -a list chain ip t2 base |
	sed -n 's/.*dport 7105 .* # handle \([0-9]*\)$/\1/p')" udp dport 7105 counter drop
if [ "$(grep -c "not generated" "$log")" -gt "$edits0" ]; then
	ok "a replacement with the same port: one map entry, in place"
else
	not_ok "a replacement with the same port: not done in place"
fi
traffic "renamed, appended, replaced" 7005 7999 7105
both delete table ip t2

# Random single commands on a fresh run of 40 rules: append, insert at
# the head or after a random rule, delete or replace a random rule; ports
# from a small range (duplicates shadow each other). RANDOM_OPS=N (60)
# commands, RANDOM_SEED=N (1) picks them.
both flush chain ip t c
for ((i = 0; i < 40; i++)); do
	both add rule ip t c udp dport $((6000 + i)) counter accept >/dev/null
done
RANDOM=${RANDOM_SEED:-1}
rand_handle() {
	kern -a list chain ip t c | sed -n 's/.*udp dport .* # handle \([0-9]*\)$/\1/p' |
		awk -v r=$RANDOM 'NR == 1 { n = 0 } { h[n++] = $1 } END { if (n) print h[r % n] }'
}
for ((i = 0; i < ${RANDOM_OPS:-60}; i++)); do
	port=$((6000 + RANDOM % 50))
	verdict=$([ $((RANDOM % 3)) = 0 ] && echo drop || echo accept)
	case $((RANDOM % 6)) in
	0 | 1) both add rule ip t c udp dport $port counter $verdict ;;
	2) both insert rule ip t c udp dport $port counter $verdict ;;
	3) both add rule ip t c position "$(rand_handle)" udp dport $port counter $verdict ;;
	4) both delete rule ip t c handle "$(rand_handle)" ;;
	5) both replace rule ip t c handle "$(rand_handle)" udp dport $port counter $verdict ;;
	esac
done
ports=()
for ((i = 0; i < 30; i++)); do ports+=($((6000 + RANDOM % 52))); done
traffic "after ${RANDOM_OPS:-60} random commands" "${ports[@]}"

both flush chain ip t c

# Sets: a named set looked up next to a run; its elements added, deleted
# and flushed one command at a time (the set's map swapped in place, no
# new program), then a rule of the run appended (a new program: the set
# keeps its contents), an anonymous set, an interval set.
both add set ip t ports '{ type inet_service; }'
both add rule ip t c udp dport @ports counter drop
for ((i = 0; i < 20; i++)); do
	both add rule ip t c udp dport $((8000 + i)) counter accept >/dev/null
done
before=$(in_place)
both add element ip t ports '{ 8100 }'
both add element ip t ports '{ 8101, 8102, 8003 }'
both delete element ip t ports '{ 8101 }'
traffic "set elements added and deleted" 8100 8101 8102 8003 8004
if [ $(( $(in_place) - before )) -ge 3 ]; then
	ok "element changes in place ($(( $(in_place) - before )))"
else
	not_ok "element changes in place: only $(( $(in_place) - before )) of 3"
fi
both add rule ip t c udp dport 8050 counter accept
both add element ip t ports '{ 8103 }'
traffic "a rule appended, then an element" 8050 8100 8103 8004
both flush set ip t ports
both add rule ip t c udp dport '{ 8200, 8201 }' counter drop
both add set ip t nets '{ type ipv4_addr; flags interval; }'
both add rule ip t c ip saddr @nets udp dport 8300 counter drop
both add element ip t nets '{ 10.0.0.0/30 }'
traffic "flushed; anonymous and interval sets" 8100 8200 8201 8300
both delete element ip t nets '{ 10.0.0.0/30 }'
both add element ip t nets '{ 10.0.0.2-10.0.0.9 }'
traffic "interval changed" 8300 8200
both delete set ip t ports
both flush chain ip t c
both delete set ip t ports
both delete set ip t nets


if grep -q "update check" "$log"; then
	not_ok "update check"
	grep "update check" "$log" | head -n 3 | sed 's/^/#   /'
fi
kill -0 "$daemon" 2>/dev/null && ok "daemon alive" || not_ok "daemon alive"

diff_finish
