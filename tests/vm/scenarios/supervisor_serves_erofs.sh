#!/bin/bash
# The supervisor with its workers serves erofs over cachefiles on-demand:
# every file of the image reads back with its checksum (4 readers), and after
# umount the supervisor holds no object fd any more.
# Usage: supervisor_serves_erofs.sh [IMAGE [WORKERS]]   (default: small 2)
# vm-images: small:small big:big
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"

image=${1:-small} workers=${2:-2}
scenario_begin "supervisor_serves_erofs($image, $workers workers)"

blobs=/srv/blobs
mkdir -p "$blobs" "/mnt/$image"
cp "$(image_path "$image")" "$blobs/$image"

supervisor_start --blob-dir "$blobs" --workers "$workers"
fds_idle=$(fd_count "$SUP_PID")
vm_log "supervisor pid $SUP_PID serving, workers: $(worker_pids)"
t0=$EPOCHREALTIME
mount -t erofs none -o "fsid=$image" "/mnt/$image"
mount_s=$(elapsed "$t0")
fds_mounted=$(fd_count "$SUP_PID")
check_tree "/mnt/$image" "$(image_manifest "$image")" 4 || scenario_fail "content differs"
umount "/mnt/$image"
wait_fd_count "$SUP_PID" "$fds_idle" 30 || scenario_fail "supervisor fd leak after umount"
supervisor_stop || scenario_fail "supervisor exit status $?"
[ "${STAT[failed]}" = 0 ] || scenario_fail "${STAT[failed]} requests failed"
scenario_end image="$image" workers="$workers" files="$CHECK_FILES" bytes="$CHECK_BYTES" bad="$CHECK_BAD" \
	read_s="$CHECK_SECONDS" mount_s="$mount_s" reads="${STAT[reads]}" bytes_served="${STAT[bytes]}" \
	fds_idle="$fds_idle" fds_mounted="$fds_mounted"
