#!/usr/bin/env bash
# Installs every Debian package that bpfilter's build, tests and benchmarks
# need. Idempotent: enables bookworm-backports (libbpf >= 1.4, linux-libc-dev
# >= 6.12) once, then installs only what is missing.
set -euo pipefail

BACKPORTS_LIST=/etc/apt/sources.list.d/bpfilter-backports.sources
PKGS_BASE="make gcc pkg-config libelf-dev zlib1g-dev libmnl-dev libnftnl-dev
libcmocka-dev clang libclang-rt-14-dev llvm nftables iptables iproute2
iputils-ping netcat-openbsd util-linux kmod procps"
PKGS_BPO="libbpf-dev linux-libc-dev bpftool"

export DEBIAN_FRONTEND=noninteractive

missing() {
	local p out=""
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || out="$out $p"
	done
	echo "$out"
}

have_new_libbpf() {
	local v
	v=$(dpkg-query -W -f='${Version}' libbpf-dev 2>/dev/null) || return 1
	dpkg --compare-versions "$v" ge "1:1.4" || return 1
	v=$(dpkg-query -W -f='${Version}' linux-libc-dev 2>/dev/null) || return 1
	dpkg --compare-versions "$v" ge "6.12"
}

need_base=$(missing $PKGS_BASE)
need_bpo=$(missing $PKGS_BPO)
if [ -z "$need_base" ] && [ -z "$need_bpo" ] && have_new_libbpf; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages:$need_base$need_bpo; run 'make deps' as root" >&2
	exit 1
fi

if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
	cat > "$BACKPORTS_LIST" <<EOS
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOS
fi

apt-get update -qq
apt-get install -y -qq --no-install-recommends $PKGS_BASE >/dev/null
apt-get install -y -qq --no-install-recommends -t bookworm-backports $PKGS_BPO >/dev/null

if ! have_new_libbpf; then
	echo "deps: libbpf-dev >= 1.4 and linux-libc-dev >= 6.12 are required" >&2
	exit 1
fi
echo "deps: all packages installed"
