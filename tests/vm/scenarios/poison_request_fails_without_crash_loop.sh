#!/bin/bash
# A request that kills every worker it reaches (test worker: blobs named
# poison-*) fails cleanly after --crash-limit crashes: the mount gets an
# error instead of hanging, workers stop dying, and the good mount next to it
# keeps serving every file intact.
# vm-images: small:small
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"

scenario_begin poison_request_fails_without_crash_loop

blobs=$BLOBS
stage_blob small good /mnt/good /mnt/poison
ln "$blobs/good" "$blobs/poison-1"
supervisor_start --blob-dir "$blobs" --workers 2 --crash-limit 3 \
	--worker-exe "$CFS_BUILD/worker/cachefiles-worker-test"
mount -t erofs none -o fsid=good /mnt/good

t0=$EPOCHREALTIME
if mount -t erofs none -o fsid=poison-1 /mnt/poison 2>"$CFS_VM_TMP/poison.err"; then
	# The superblock READ fails; if the kernel mounted anyway, reading must fail.
	cat /mnt/poison/* >/dev/null 2>&1 && scenario_fail "poisoned image read without error"
	umount /mnt/poison
fi
poison_s=$(elapsed "$t0")
vm_log "poisoned mount ended in $poison_s s: $(cat "$CFS_VM_TMP/poison.err")"
grep -q "giving up on READ after 3 worker crashes" "$SUP_LOG" || scenario_fail "no 'giving up' log line"

check_tree /mnt/good "$(image_manifest small)" 4 || scenario_fail "good mount damaged"
umount /mnt/good
supervisor_stop || scenario_fail "supervisor exit status $?"
[ "${STAT[failed]}" -ge 1 ] || scenario_fail "no request failed"
# Each failed request may cost crash-limit workers, no more.
[ "${STAT[deaths]}" -le $((3 * STAT[failed])) ] || scenario_fail "${STAT[deaths]} deaths for ${STAT[failed]} failed requests"
scenario_end poison_s="$poison_s" failed="${STAT[failed]}" deaths="${STAT[deaths]}" files="$CHECK_FILES" bad="$CHECK_BAD"
