#!/usr/bin/env bash
# Build the addon from source and place it where node-gyp-build finds it:
# prebuilds/linux-<arch>/node.napi.glibc.node (committed for linux-x64).
# Needs: gcc, make, python3, Node headers, libz.a (zlib1g-dev) and the PIC
# static libbpf/libelf that build-deps.sh produces.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
"$here/build-deps.sh"
cd "$here"
nodedir=${npm_config_nodedir:-}
if [[ -z $nodedir && -f /usr/include/node/node_api.h ]]; then nodedir=/usr; fi
gyp=$(command -v node-gyp || echo "$(dirname "$(command -v npm)")/../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js")
node "$gyp" rebuild ${nodedir:+--nodedir="$nodedir"} >/dev/null
arch=$(node -p process.arch)
dest="$root/prebuilds/linux-$arch"
mkdir -p "$dest"
strip --strip-unneeded build/Release/ebpf.node -o "$dest/node.napi.glibc.node"
rm -rf build
# record what the prebuilt was made from, so a check can tell when it is stale
"$here/sources-hash.sh" >"$dest/SOURCES.sha256"
echo "addon: $dest/node.napi.glibc.node ($(stat -c %s "$dest/node.napi.glibc.node") bytes)"
