#!/bin/bash
# Pack the test VM's initramfs: static busybox + guest-init.sh as /init.
# Cached by content (init script and busybox binary); prints the path.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
busybox=/bin/busybox
cache=${XDG_CACHE_HOME:-$HOME/.cache}/cachefiles-supervisor/initramfs

# A dynamic busybox would need the host's libc inside the initramfs.
! readelf -l "$busybox" | grep -q INTERP ||
	{ echo "make-initramfs: $busybox is not static: apt-get install busybox-static" >&2; exit 1; }

key=$(cat "$here/guest-init.sh" "$busybox" | sha256sum | cut -c1-16)
img=$cache/$key.cpio.gz
if [ -s "$img" ]; then
	echo "$img"
	exit 0
fi

mkdir -p "$cache"
root=$(mktemp -d "$cache/root.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/dev"
cp "$busybox" "$root/bin/busybox"
install -m 0755 "$here/guest-init.sh" "$root/init"
# The kernel opens /dev/console for init before anything mounts devtmpfs.
mknod -m 0600 "$root/dev/console" c 5 1
(cd "$root" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 | gzip -9n) >"$img.tmp"
mv "$img.tmp" "$img"
echo "make-initramfs: built $img" >&2
echo "$img"
