#!/usr/bin/env bash
# Verdict differential test: the rules of matches.nft (the matchers of
# corpus.nft, each with a counter and no verdict) are loaded by unmodified
# nft into kernel nf_tables in netns K and into bpfilter (private daemon,
# through bfexec) in netns B. The same frames (build/tools/bf_inject) are
# sent from a sender netns S into each over its own veth pair; then every
# rule's counter (packets and bytes) must be the same on both sides, and
# so must the whole `nft list ruleset`.
#
#   S:vk <-> K:vd0    S:vb <-> B:vd0    (vd0: 02:00:00:00:00:02 on both)
#
# S has IPv6 disabled and no address, so that nothing but the injected
# frames reaches K and B. TAP-like lines, a closing "N passed, N failed"
# line; exit 0 when all match, 1 otherwise, 4 to skip. COUNT=N sends each
# frame N times. On a mismatch the frames are sent again one at a time to
# name the frames behind it (ATTRIBUTE=0: not).
set -u
. "$(dirname "$0")/common.sh"
here=$diff_here
COUNT=${COUNT:-1}
diff_require tools/bf_inject

diff_tmpdir work bfvd || exit 1
setup() {
	local ns
	diff_netns S bfvd-s && diff_netns K bfvd-k && diff_netns B bfvd-b || return 1
	ip netns exec "$S" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1 || return 1
	ip -n "$S" link add vk type veth peer name vd0 netns "$K" || return 1
	ip -n "$S" link add vb type veth peer name vd0 netns "$B" || return 1
	for ns in "$K" "$B"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.vd0.accept_dad=0 \
			net.ipv6.conf.vd0.router_solicitations=0 || return 1
		ip -n "$ns" link set vd0 address 02:00:00:00:00:02 || return 1
		ip -n "$ns" addr add 10.0.0.2/24 dev vd0 || return 1
		ip -n "$ns" addr add 2001:db8::2/64 dev vd0 nodad || return 1
		ip -n "$ns" link set vd0 up || return 1
	done
	ip -n "$S" link set vk up && ip -n "$S" link set vb up
}
setup || { echo "# cannot set up namespaces and veths"; exit 4; }

diff_daemon rundir

kern() { kern_in "$K" "$@"; }
bpf() { bpf_in "$B" "$rundir" "$@"; }

# Load matches.nft (and EXTRA_K / EXTRA_B: one more nft command on one
# side only, to see this test fail).
ko=$(kern -f "$here/matches.nft" 2>&1); kr=$?
bo=$(bpf -f "$here/matches.nft" 2>&1); br=$?
if [ "$kr" = 0 ] && [ "$br" = 0 ]; then
	ok "load matches.nft"
else
	not_ok "load matches.nft"
	echo "#   kernel   rc $kr: $(printf '%s' "$ko" | head -n 3 | tr '\n' '|')"
	echo "#   bpfilter rc $br: $(printf '%s' "$bo" | head -n 3 | tr '\n' '|')"
	diff_finish
fi
[ -n "${EXTRA_K:-}" ] && kern "$EXTRA_K"
[ -n "${EXTRA_B:-}" ] && bpf "$EXTRA_B"

nframes=$("$BUILD/tools/bf_inject" --list | wc -l)
"$BUILD/tools/bf_inject" --list | sed 's/^/# frame /'
expect=$((nframes * COUNT))
for side in kernel:vk bpfilter:vb; do
	if out=$(ip netns exec "$S" timeout 20 "$BUILD/tools/bf_inject" \
		 --count "$COUNT" "${side#*:}" 2>&1); then
		ok "inject $expect frames towards ${side%:*}"
	else
		not_ok "inject $expect frames towards ${side%:*}: $out"
	fi
done

# Every injected frame passes the netdev chain's bare counter: wait (5 s
# at most) until both sides have seen them all.
seen() { "$@" list chain netdev vdn c 2>/dev/null |
	sed -n 's/^[[:space:]]*counter packets \([0-9]*\) .*/\1/p'; }
for _ in $(seq 50); do
	[ "$(seen kern)" = "$expect" ] && [ "$(seen bpf)" = "$expect" ] && break
	sleep 0.1
done
sleep 0.2

# One line per rule: "family table chain rule N: rule", packets, bytes
# (N: position in the chain, as nft may list two rules alike); fields
# separated by \037, not a whitespace, so that `read` keeps empty ones.
counters() {
	awk '
	/^table / { fam = $2; tab = $3 }
	/^[[:space:]]*chain / { chain = $2; i = 0 }
	/counter packets [0-9]+ bytes [0-9]+/ {
		line = $0
		sub(/^[[:space:]]+/, "", line)
		match(line, /counter packets [0-9]+ bytes [0-9]+/)
		c = substr(line, RSTART, RLENGTH)
		rule = substr(line, 1, RSTART - 1) substr(line, RSTART + RLENGTH)
		sub(/[[:space:]]+$/, "", rule)
		if (rule == "") rule = "(every packet)"
		split(c, f, " ")
		printf "%s %s %s rule %d: %s\037%s\037%s\n", fam, tab, chain, ++i,
			rule, f[3], f[5]
	}'
}
kern list ruleset >"$work/kernel.txt" 2>&1
bpf list ruleset >"$work/bpfilter.txt" 2>&1
counters <"$work/kernel.txt" >"$work/k.tsv"
counters <"$work/bpfilter.txt" >"$work/b.tsv"

# Pair the rules by their position in the listings (rule texts repeat
# across families, never within a chain of matches.nft).
paste -d $'\037' "$work/k.tsv" "$work/b.tsv" >"$work/pairs.tsv"
while IFS=$'\037' read -r kr kp kb brule bp bb; do
	if [ -z "$brule" ]; then
		not_ok "$kr: only in the kernel's listing"
	elif [ -z "$kr" ]; then
		not_ok "$brule: only in bpfilter's listing"
	elif [ "$kr" != "$brule" ]; then
		not_ok "$kr: listed as '$brule' by bpfilter"
	elif [ "$kp $kb" = "$bp $bb" ]; then
		ok "$kr: packets $kp bytes $kb"
	else
		not_ok "$kr"
		echo "#   kernel   packets $kp bytes $kb"
		echo "#   bpfilter packets $bp bytes $bb"
	fi
done <"$work/pairs.tsv"
[ -s "$work/k.tsv" ] || not_ok "no counter in the kernel's listing"

# On a counter mismatch, send the frames one at a time and name, per
# frame, the rules whose counters moved differently (2 s wait per frame).
attribute() {
	local f desc k0 b0
	k0=$(seen kern) b0=$(seen bpf)
	counters <"$work/kernel.txt" >"$work/k0.tsv"
	counters <"$work/bpfilter.txt" >"$work/b0.tsv"
	while read -r f desc; do
		ip netns exec "$S" timeout 5 "$BUILD/tools/bf_inject" --only "$f" vk >/dev/null
		ip netns exec "$S" timeout 5 "$BUILD/tools/bf_inject" --only "$f" vb >/dev/null
		k0=$((k0 + 1)) b0=$((b0 + 1))
		for _ in $(seq 20); do
			[ "$(seen kern)" = "$k0" ] && [ "$(seen bpf)" = "$b0" ] && break
			sleep 0.1
		done
		k0=$(seen kern) b0=$(seen bpf)
		kern list ruleset 2>/dev/null | counters >"$work/k1.tsv"
		bpf list ruleset 2>/dev/null | counters >"$work/b1.tsv"
		paste -d $'\037' "$work/k0.tsv" "$work/k1.tsv" "$work/b0.tsv" "$work/b1.tsv" |
			awk -F '\037' -v f="$f" -v d="$desc" '
			($5 - $2 != $11 - $8) || ($6 - $3 != $12 - $9) {
				printf "#   frame %s (%s): %s: kernel +%d/+%dB, bpfilter +%d/+%dB\n",
					f, d, $1, $5 - $2, $6 - $3, $11 - $8, $12 - $9
			}'
		mv "$work/k1.tsv" "$work/k0.tsv"
		mv "$work/b1.tsv" "$work/b0.tsv"
	done < <("$BUILD/tools/bf_inject" --list)
}
if ! cmp -s "$work/k.tsv" "$work/b.tsv" && [ "${ATTRIBUTE:-1}" = 1 ]; then
	echo "# per frame:"
	attribute
	kern list ruleset >"$work/kernel.txt" 2>&1
	bpf list ruleset >"$work/bpfilter.txt" 2>&1
fi

if cmp -s "$work/kernel.txt" "$work/bpfilter.txt"; then
	ok "list ruleset"
else
	not_ok "list ruleset"
	diff -u "$work/kernel.txt" "$work/bpfilter.txt" | head -n 40 | sed 's/^/#   /'
fi

diff_finish
