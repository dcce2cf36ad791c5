#!/bin/bash
# The demo the README's first command runs: the supervisor serves an erofs
# image through cachefiles on-demand, workers are killed mid-read, and every
# file still reads back with its checksum. Prints what happened on the way.
# vm-images: small:small
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"

scenario_begin demo
echo
echo "== kernel $(uname -r): $(grep -c . /proc/filesystems) filesystems, erofs: $(grep -q erofs /proc/filesystems && echo yes)"
blobs=$BLOBS
stage_blob small demo /mnt/demo
echo "== blob: $blobs/demo, $(stat -c %s "$blobs/demo") bytes (an erofs image made by mkfs.erofs)"

supervisor_start --blob-dir "$blobs" --workers 2
echo "== cachefiles-supervisor pid $SUP_PID bound $CFS_CACHE_DIR; workers: $(worker_pids)"
mount -t erofs none -o fsid=demo /mnt/demo
echo "== mounted: $(grep /mnt/demo /proc/mounts)"
echo "== top of the tree:"
ls /mnt/demo | head -5 | sed 's/^/   /'

echo "== 4 readers check every file while a worker is SIGKILLed every 300-600 ms"
"$CFS_BUILD/tests/vm/worker-killer" "$SUP_PID" 300 600 >"$CFS_VM_TMP/kills" &
killer=$!
check_tree /mnt/demo "$(image_manifest small)" 4 || scenario_fail "a reader saw an error or a wrong checksum"
kill -TERM "$killer"
wait "$killer"
echo "== workers killed: $(cat "$CFS_VM_TMP/kills")"
echo "== readers: $CHECK_FILES files, $CHECK_BYTES bytes, $CHECK_BAD bad, in $CHECK_SECONDS s"
echo "== workers now: $(worker_pids)"
umount /mnt/demo
supervisor_stop
echo "== supervisor log:"
grep -v 'READ .* failed' "$SUP_LOG" | sed 's/^<[0-9]>/   /' | head -20
scenario_end files="$CHECK_FILES" bytes="$CHECK_BYTES" bad="$CHECK_BAD" reads="${STAT[reads]}" \
	deaths="${STAT[deaths]}" restores="${STAT[restores]}"
