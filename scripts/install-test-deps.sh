#!/usr/bin/env bash
# Install what the test suite and the freshness checks need on Debian
# bookworm (run as root): compilers for BPF objects and test workloads,
# bpftool, and the programs end-to-end tests drive. Then `npm ci`.
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=(
	clang llvm bpftool libbpf-dev libelf-dev gcc make       # bpf/ build + freshness check, test workloads
	binutils systemtap-sdt-dev                              # readelf; sys/sdt.h for USDT test programs
	util-linux iproute2 nftables procps                     # setpriv/unshare/mount, network namespaces, packet loss
	openssl curl gnutls-bin                                 # TLS servers and clients for sslsniff
	mariadb-server mariadb-client libmariadb-dev            # a MySQL server, its client, and the C API for mysqlslow's tests
	man-db groff-base                                       # man pages render without warnings
	chromium                                                # flame graph page in a real headless browser
)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
npm ci --no-audit --no-fund
