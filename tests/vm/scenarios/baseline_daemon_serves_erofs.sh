#!/bin/bash
# The rig proof: erofs over cachefiles on-demand, served by the single-process
# baseline daemon, returns every byte of the image intact (4 parallel readers).
# Usage: baseline_daemon_serves_erofs.sh [IMAGE]   (default: small)
# vm-images: small:small big:big
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"

image=${1:-small}
scenario_begin "baseline_daemon_serves_erofs($image)"

# Blobs live in the guest's RAM (overlay upper) so the daemon's reads are not
# 9p round trips; the blob name is the fsid the mount asks for.
blobs=/srv/blobs
mkdir -p "$blobs" "/mnt/$image"
cp "$(image_path "$image")" "$blobs/$image"

daemon_start baseline "$(baseline_daemon_bin)" --cache-dir "$CFS_CACHE_DIR" --blob-dir "$blobs"
t0=$EPOCHREALTIME
mount -t erofs none -o "fsid=$image" "/mnt/$image"
mount_s=$(elapsed "$t0")

check_tree "/mnt/$image" "$(image_manifest "$image")" 4 || scenario_fail "content differs"

umount "/mnt/$image"
daemon_stop baseline || scenario_fail "daemon exit status $?"
scenario_end image="$image" files="$CHECK_FILES" bytes="$CHECK_BYTES" bad="$CHECK_BAD" \
	read_s="$CHECK_SECONDS" mount_s="$mount_s"
