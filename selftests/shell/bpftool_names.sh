#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# What bpftool tells of bpfilter's objects: an inet table's input chain,
# made through unmodified nft, shows as a program whose metadata names
# its table, chain, family and hook (`bpftool prog show`), and as maps
# named <kind><family>.<table>.<chain> (`bpftool map show`), so a person
# can tell which rules each object belongs to. Exit 0 pass, 1 fail, 4 skip.
set -u
. "$(dirname "$0")/../diff/common.sh"

diff_require
command -v bpftool >/dev/null || { echo "# SKIP: bpftool not installed"; exit 4; }

# Names of our own, short enough for a whole map name (15 characters).
tbl=t$((RANDOM % 100000))
chn=c$((RANDOM % 1000))
diff_netns B bfnames
diff_daemon rundir

bpf_in "$B" "$rundir" add table inet "$tbl" || { echo "# add table failed"; exit 1; }
bpf_in "$B" "$rundir" "add chain inet $tbl $chn { type filter hook input priority 0; }" ||
	{ echo "# add chain failed"; exit 1; }
bpf_in "$B" "$rundir" add rule inet "$tbl" "$chn" udp dport 53 counter accept ||
	{ echo "# add rule failed"; exit 1; }

progs=$(bpftool prog show)
# An inet chain at a netfilter hook: two programs, IPv4 and IPv6.
nmeta=$(grep -c "table = \"$tbl\"" <<<"$progs")
if [ "$nmeta" -eq 2 ]; then
	ok "bpftool prog show: two programs with metadata table = \"$tbl\""
else
	not_ok "bpftool prog show: $nmeta programs with metadata table = \"$tbl\", want 2"
fi
block=$(grep -B8 -A4 "table = \"$tbl\"" <<<"$progs")
for want in "name bf_$chn" "chain = \"$chn\"" 'family = "inet"' 'hook = "nf_local_in"'; do
	if grep -qF "$want" <<<"$block"; then
		ok "bpftool prog show: $want"
	else
		not_ok "bpftool prog show: no '$want' in:"
		sed 's/^/#   /' <<<"$block"
	fi
done

# Programs the rule replaced (and their maps) stay alive for about a
# second, held by the program arrays packets may still go through: wait
# until only the running programs' maps are left, two of each kind.
count_maps() { grep -c "name $1 " <<<"$(bpftool map show)"; }
for kind in c k n; do
	name="${kind}i.$tbl.$chn"
	cnt=0
	for _ in $(seq 30); do
		cnt=$(count_maps "$name")
		[ "$cnt" -eq 2 ] && break
		sleep 0.2
	done
	if [ "$cnt" -eq 2 ]; then
		ok "bpftool map show: two maps named $name"
	else
		not_ok "bpftool map show: $cnt maps named $name 6 s after the commit, want 2"
	fi
done

bpf_in "$B" "$rundir" delete table inet "$tbl"
# Program arrays of programs taken out close a second later, by the
# daemon's own housekeeping: no request needed.
gone=0
for _ in $(seq 30); do
	if ! grep -q "table = \"$tbl\"" <<<"$(bpftool prog show)"; then
		gone=1
		break
	fi
	sleep 0.2
done
if [ "$gone" -eq 1 ]; then
	ok "the table's programs are gone after delete table"
else
	not_ok "the table's programs are still loaded 6 s after delete table"
fi

diff_finish
