#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The layering rules of Documentation/architecture.md ("Folders"), checked
# on the #include lines of every C file (both quote forms: -I. lets
# <daemon/x.h> work too):
#
#   include/bpfilter/  includes nothing of the tree outside itself
#   lib/               includes no codegen/, daemon/ or nfnl/ header
#   codegen/           includes no daemon/ or nfnl/ header
#   daemon/            includes no nfnl/ header
#   nfnl/              includes no codegen/ header, and of daemon/ only
#                      front.h and ruleset.h (the front-end interface)
#   nfnl/preload/      the interposer, a library of its own: no daemon/
#                      header at all (the wire format is bpfilter/proto.h)
#
# Prints one line per violation (file:line: what, why) and exits 1 if
# there is any, 0 otherwise. Run by scripts/run-tests.sh (make check).
set -u
cd "$(dirname "$0")/.." || exit 1

bad=0
violation() {
	echo "$1: includes $2: $3"
	bad=$((bad + 1))
}

# file:line:path for every include of a header of the tree.
includes() {
	grep -HnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"][^">]+[">]' \
		-r --include='*.c' --include='*.h' "$@" 2>/dev/null |
		sed -E 's/^([^:]+:[0-9]+):[[:space:]]*#[[:space:]]*include[[:space:]]*([<"])([^">]+)[">].*/\1 \2 \3/'
}

while read -r where quote path; do
	case $path in
	bpfilter/*) [ -f "include/$path" ] ||
		violation "$where" "$path" "include/bpfilter/ has no such header" ;;
	codegen/* | daemon/* | nfnl/* | lib/* | cli/* | selftests/*)
		violation "$where" "$path" "include/bpfilter/ includes nothing outside itself" ;;
	*) [ "$quote" = '"' ] &&
		violation "$where" "$path" "include/bpfilter/ includes nothing outside itself (system headers only, in <>)" ;;
	esac
done < <(includes include/bpfilter)

while read -r where quote path; do
	case $path in
	codegen/* | daemon/* | nfnl/*)
		violation "$where" "$path" "lib/ knows nothing of codegen, the daemon or the front-ends" ;;
	esac
done < <(includes lib)

while read -r where quote path; do
	case $path in
	daemon/* | nfnl/*)
		violation "$where" "$path" "codegen/ never knows who drives it" ;;
	esac
done < <(includes codegen)

while read -r where quote path; do
	case $path in
	nfnl/*)
		violation "$where" "$path" "daemon/ reaches front-ends only through struct bf_front_ops (daemon/front.h)" ;;
	esac
done < <(includes daemon)

while read -r where quote path; do
	case $path in
	codegen/*)
		violation "$where" "$path" "nfnl/ lowers to IR and commits through daemon/ruleset.h" ;;
	daemon/front.h | daemon/ruleset.h) ;;
	daemon/*)
		violation "$where" "$path" "nfnl/ uses only daemon/front.h and daemon/ruleset.h of the daemon" ;;
	esac
done < <(includes nfnl)

while read -r where quote path; do
	case $path in
	daemon/*)
		violation "$where" "$path" "the interposer speaks the wire format (bpfilter/proto.h), nothing of the daemon" ;;
	esac
done < <(includes nfnl/preload)

if [ "$bad" -gt 0 ]; then
	echo "layering: $bad violation(s)"
	exit 1
fi
echo "layering: ok"
