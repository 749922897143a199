#!/usr/bin/env bash
# Hash of the addon's own sources (not the fetched libraries).
set -euo pipefail
cd "$(dirname "$0")"
cat ebpf.c binding.gyp build-deps.sh build-addon.sh | sha256sum | cut -d' ' -f1
