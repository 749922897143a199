#!/usr/bin/env bash
# Fail when a committed artefact is stale against its sources:
#  - bpf/*.bpf.o against bpf/*.bpf.c, headers and vmlinux.h (rebuilt and compared)
#  - lib/gen/*.ts against the objects' BTF
#  - prebuilds/linux-x64 against native/ sources (recorded hash)
set -euo pipefail
cd "$(dirname "$0")/.."
make -s -C bpf check
node scripts/gen-decoders.js --check
for d in prebuilds/linux-*; do
	want=$(native/sources-hash.sh)
	have=$(cat "$d/SOURCES.sha256" 2>/dev/null || echo none)
	if [[ $want != "$have" ]]; then
		echo "stale: $d was built from other native/ sources (run npm run build:native)"
		exit 1
	fi
done
echo "prebuilt addon fresh"
