#!/usr/bin/env bash
# Rebuild libbpf and libelf as position-independent static archives from their
# Debian source packages. Debian ships libbpf.a and libelf.a built without
# -fPIC, so they cannot be linked into a shared object (the N-API addon).
# Output: native/deps/{include,lib} (git-ignored). Nothing fetched is committed.
#
# The deb-src entries are derived from the machine's own apt sources, and a
# private apt state directory is used, so the system's apt setup is untouched.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${DEPS_DIR:-$here/deps}
if [[ -f $out/lib/libbpf.a && -f $out/lib/libelf.a && ${FORCE:-0} != 1 ]]; then
	echo "deps already built in $out (FORCE=1 to rebuild)"
	exit 0
fi
work=$out/src
rm -rf "$work" && mkdir -p "$work/parts" "$work/lists/partial" "$out/lib" "$out/include"

# deb-src twins of the configured deb sources (deb822 and one-line formats)
shopt -s nullglob
for f in /etc/apt/sources.list.d/*.sources; do
	sed 's/^Types:.*/Types: deb-src/' "$f" >"$work/parts/$(basename "$f")"
done
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
	[[ -f $f ]] || continue
	grep -E '^deb ' "$f" | sed 's/^deb /deb-src /' >>"$work/parts/src.list" || true
done
apt_opts=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$work/parts"
	-o "Dir::State::Lists=$work/lists" -o "APT::Sandbox::User=root")
apt-get "${apt_opts[@]}" -qq update
cd "$work"
apt-get "${apt_opts[@]}" -qq source libbpf elfutils >/dev/null

jobs=$(nproc)
mkdir -p "$work/libbpf-obj"
# libbpf: static only, PIC
lb=$(find "$work" -maxdepth 1 -type d -name 'libbpf-*' | head -n1)
make -s -C "$lb/src" -j"$jobs" BUILD_STATIC_ONLY=y OBJDIR="$work/libbpf-obj" \
	EXTRA_CFLAGS="-fPIC -O2" DESTDIR="$out/stage" PREFIX=/ LIBDIR=/lib INCLUDEDIR=/include \
	install >/dev/null
cp "$out/stage/lib/libbpf.a" "$out/lib/"
rm -rf "$out/include/bpf" && cp -r "$out/stage/include/bpf" "$out/include/"

# libelf from elfutils, PIC, without optional compressors we do not link
eu=$(find "$work" -maxdepth 1 -type d -name 'elfutils-*' | head -n1)
(cd "$eu" && ./configure -q CFLAGS="-O2 -fPIC" --disable-debuginfod --disable-libdebuginfod \
	--without-zstd --without-bzlib --without-lzma >/dev/null)
make -s -C "$eu/lib" -j"$jobs" >/dev/null
make -s -C "$eu/libelf" -j"$jobs" libelf.a >/dev/null
cp "$eu/libelf/libelf.a" "$out/lib/"
cp "$eu/libelf/libelf.h" "$eu/libelf/gelf.h" "$eu/libelf/nlist.h" "$out/include/"
echo "built: $(ls "$out/lib")"
