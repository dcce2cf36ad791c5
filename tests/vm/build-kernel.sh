#!/bin/bash
# Build (or reuse) the test kernel: tinyconfig + tests/vm/kernel.fragment on
# Debian's linux-source-6.12. The bzImage is cached outside the build tree,
# keyed by the source package version and the fragment, so later runs skip
# the ~5 minute build. Prints the bzImage path on stdout.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
fragment=$here/kernel.fragment
tarball=/usr/src/linux-source-6.12.tar.xz
cache_root=${CFS_KERNEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cachefiles-supervisor/kernel}

[ -r "$tarball" ] || { echo "build-kernel: $tarball missing: apt-get install linux-source-6.12" >&2; exit 1; }

src_version=$(dpkg-query -W -f='${Version}' linux-source-6.12)
key=$( { echo "$src_version"; cat "$fragment"; } | sha256sum | cut -c1-16)
out=$cache_root/$key
if [ -s "$out/bzImage" ]; then
	echo "build-kernel: cached kernel $out/bzImage (linux-source $src_version)" >&2
	echo "$out/bzImage"
	exit 0
fi

work=$cache_root/build-$key
mkdir -p "$work"
start=$(date +%s)
if [ ! -f "$work/linux/Makefile" ]; then
	echo "build-kernel: unpacking $tarball" >&2
	rm -rf "$work/linux" "$work/linux-source-6.12"
	tar -C "$work" -xf "$tarball"
	mv "$work/linux-source-6.12" "$work/linux"
fi
cd "$work/linux"
jobs=$(( $(nproc) + 1 ))
echo "build-kernel: configuring (tinyconfig + $(basename "$fragment"))" >&2
make -s tinyconfig >/dev/null
scripts/kconfig/merge_config.sh -m .config "$fragment" >/dev/null
make -s olddefconfig >/dev/null
# Refuse a config that silently dropped what the tests need.
for opt in CACHEFILES_ONDEMAND EROFS_FS_ONDEMAND EROFS_FS_BACKED_BY_FILE 9P_FS SECCOMP_FILTER EXT4_FS BLK_DEV_LOOP BLK_DEV_RAM NET_SCH_NETEM; do
	grep -q "^CONFIG_$opt=y" .config || { echo "build-kernel: CONFIG_$opt did not stick" >&2; exit 1; }
done
echo "build-kernel: building bzImage with make -j$jobs (about 5 minutes on 2 cores)" >&2
make -s -j"$jobs" bzImage >"$work/build.log" 2>&1 || { tail -30 "$work/build.log" >&2; exit 1; }
mkdir -p "$out"
cp arch/x86/boot/bzImage "$out/bzImage.tmp"
cp .config "$out/config"
mv "$out/bzImage.tmp" "$out/bzImage"
end=$(date +%s)
echo "$((end - start))" >"$out/build-seconds"
echo "build-kernel: built in $((end - start)) s -> $out/bzImage" >&2
cd /
rm -rf "$work"
echo "$out/bzImage"
