#!/bin/bash
# A request that kills every worker it reaches (test worker: blobs named
# poison-*) fails cleanly after --crash-limit crashes: the mount gets an
# error instead of hanging, and workers stop dying. Meanwhile 4 readers
# check every file of a good mount of the same domain, with exact fills so
# that good READs wait in the same workers as the poison one: a death is
# charged only to the READ the worker died on (issue 17), so only poison
# READs fail (`failed` counts exactly them) and every good file reads back
# intact.
# vm-images: small:small
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"

scenario_begin poison_request_fails_without_crash_loop

blobs=$BLOBS
poison_mounts=${POISON_MOUNTS:-6}
stage_blob small good /mnt/good /mnt/poison
for i in $(seq "$poison_mounts"); do
	ln "$blobs/good" "$blobs/poison-$i"
done
# -v: the OPEN lines tell which object is which blob.
supervisor_start --blob-dir "$blobs" --workers 2 --crash-limit 3 --read-window 0 -v \
	--worker-exe "$CFS_BUILD/worker/cachefiles-worker-test"
mount -t erofs none -o fsid=good /mnt/good

check_tree_bg /mnt/good "$(image_manifest small)" 4
t0=$EPOCHREALTIME
during=0
for i in $(seq "$poison_mounts"); do
	readers_running && during=$((during + 1))
	if mount -t erofs none -o fsid="poison-$i" /mnt/poison 2>"$CFS_VM_TMP/poison.err"; then
		# The superblock READ fails; if the kernel mounted anyway, reading must fail.
		cat /mnt/poison/* >/dev/null 2>&1 && scenario_fail "poisoned image $i read without error"
		umount /mnt/poison
	fi
done
poison_s=$(elapsed "$t0")
vm_log "$poison_mounts poisoned mounts ($during while the readers ran) ended in $poison_s s: $(cat "$CFS_VM_TMP/poison.err")"
[ "$during" -ge 1 ] || scenario_fail "the readers were done before the first poisoned mount"
check_tree_wait || scenario_fail "good mount damaged: $CHECK_BAD bad files"
grep -q "giving up on READ after 3 worker crashes" "$SUP_LOG" || scenario_fail "no 'giving up' log line"

umount /mnt/good
supervisor_stop || scenario_fail "supervisor exit status $?"
good_obj=$(sed -n 's/.* obj \([0-9]*\) msg [0-9]*: OPEN .*\/good$/\1/p' "$SUP_LOG" | head -n1)
given_up=$(grep -c 'giving up on READ' "$SUP_LOG" || true)
good_given_up=$(grep -c " obj $good_obj msg [0-9]*: giving up" "$SUP_LOG" || true)
vm_log "good object $good_obj: $good_given_up READs given up; $given_up in all"
[ -n "$good_obj" ] || scenario_fail "no OPEN of the good blob in the log"
[ "$good_given_up" = 0 ] || scenario_fail "$good_given_up READs of the good blob given up"
[ "${STAT[failed]}" -ge "$poison_mounts" ] || scenario_fail "${STAT[failed]} requests failed for $poison_mounts poisoned mounts"
[ "${STAT[failed]}" = "$given_up" ] || scenario_fail "${STAT[failed]} failed, $given_up of them poison READs"
# Each failed request may cost crash-limit workers, no more.
[ "${STAT[deaths]}" -le $((3 * STAT[failed])) ] || scenario_fail "${STAT[deaths]} deaths for ${STAT[failed]} failed requests"
scenario_end poison_s="$poison_s" poison_mounts="$poison_mounts" during_reads="$during" failed="${STAT[failed]}" \
	good_given_up="$good_given_up" deaths="${STAT[deaths]}" files="$CHECK_FILES" bad="$CHECK_BAD"
