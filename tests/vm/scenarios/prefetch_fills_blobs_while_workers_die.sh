#!/bin/bash
# Prefetch (--prefetch all) fills every open blob in the background while
# workers are SIGKILLed and readers read another mount: every checksum
# matches, no chunk is written twice, and once prefetch reports done, a full
# read of a mount nobody had read sends not a single READ to the supervisor:
# prefetch left no hole.
# vm-images: big:big
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"

scenario_begin prefetch_fills_blobs_while_workers_die

blobs=$BLOBS
stage_blob big read /mnt/read /mnt/idle
ln "$blobs/read" "$blobs/idle"
size=$(stat -c %s "$blobs/read")
manifest=$(image_manifest big)

# One worker always stays free for READs: three make two prefetchers.
supervisor_start --blob-dir "$blobs" --workers 3 --prefetch all
t0=$EPOCHREALTIME
mount -t erofs none -o fsid=idle /mnt/idle
mount -t erofs none -o fsid=read /mnt/read
"${CFS_KILLER:-$CFS_BUILD/tests/vm/worker-killer}" "$SUP_PID" 30 120 9 300 >"$CFS_VM_TMP/kills" &
killer_pid=$!
check_tree /mnt/read "$manifest" 2 || scenario_fail "reads during prefetch and kills: bad data"
read_files=$CHECK_FILES read_bad=$CHECK_BAD

wait_log "$SUP_LOG" "prefetch done" 2 600 || scenario_fail "prefetch did not finish both blobs"
prefetch_s=$(elapsed "$t0")
kill -TERM "$killer_pid" 2>/dev/null || true
wait "$killer_pid" || true
kills=$(cat "$CFS_VM_TMP/kills")
[ "$kills" -ge 5 ] || scenario_fail "only $kills workers were killed during prefetch"

status() { "$CTL_BIN" status --json | python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
prefetched=$(status '["domains"][0]["prefetched"]')
reads_before=$(status '["reads"]')
echo 3 >/proc/sys/vm/drop_caches
check_tree /mnt/idle "$manifest" 4 || scenario_fail "the prefetched mount: bad data"
idle_files=$CHECK_FILES idle_bad=$CHECK_BAD idle_s=$CHECK_SECONDS
reads_after=$(status '["reads"]')
[ "$reads_after" = "$reads_before" ] ||
	scenario_fail "$((reads_after - reads_before)) READs reached the supervisor after prefetch was done"
# Each blob is written once at most: a chunk re-handed after a kill skips what is there.
limit=$((2 * ((size + 4095) / 4096) * 4096))
[ "$prefetched" -le "$limit" ] || scenario_fail "prefetch wrote $prefetched bytes for $limit bytes of blobs"

umount /mnt/read /mnt/idle
supervisor_stop || scenario_fail "supervisor exit status $?"
[ "${STAT[failed]}" = 0 ] || scenario_fail "${STAT[failed]} requests failed"
scenario_end kills="$kills" prefetch_s="$prefetch_s" prefetched="$prefetched" blob_bytes="$size" \
	read_files="$read_files" read_bad="$read_bad" idle_files="$idle_files" idle_bad="$idle_bad" \
	idle_read_s="$idle_s" reads_after_prefetch=$((reads_after - reads_before))
