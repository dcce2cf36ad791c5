#!/bin/bash
# Issue 17, item 6 on the real kernel: hundreds of small images are mounted
# (each its own cache object, adopted by the worker that filled it), then
# unmounted at once (a lazy umount of the tmpfs they sit under: the kernel
# tears every superblock down in one go and the CLOSEs come in a burst)
# while 4 readers check a big image with 8 MiB read windows, three of them
# starting on its 21-35 MB files, so the workers are busy copying windows
# when their DROPs pile up. No worker is killed (the supervisor waits for
# room in a full socket instead of calling it a breach), no request fails,
# every checksum matches, and the supervisor's fds are back to idle.
#
# Environment: CFS_BURST_MOUNTS (1000).
# vm-images: big:big tiny:tiny
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"

mounts=${CFS_BURST_MOUNTS:-1000}
scenario_begin a_close_burst_spares_busy_workers

stage_blob big big
cp "$(image_path tiny)" "$BLOBS/t0"
link_many "$BLOBS" "$mounts"
supervisor_start --blob-dir "$BLOBS" --workers 2 --read-window 8M
fds_idle=$(fd_count "$SUP_PID")

# status_key KEY: the supervisor's (numeric) KEY in `cachefilesctl status --json`
# (the first: a domain's bytes_served comes after the total's).
status_key() {
	local json
	json=$("$CTL_BIN" status --json) || return 1
	grep -o "\"$1\":[0-9]*" <<<"$json" | head -n1 | cut -d: -f2
}
# wait_objects N SECS: until the supervisor holds N objects.
wait_objects() {
	local deadline=$((SECONDS + $2)) n
	until n=$(status_key objects) && [ "$n" = "$1" ]; do
		[ "$SECONDS" -lt "$deadline" ] || { vm_log "$n objects after $2 s, expected $1"; return 1; }
		sleep 0.1
	done
}

# The small images, under one private tmpfs, from one process: one domain_id,
# so one volume (cachefiles makes 257 directories per volume).
mkdir -p /mnt/burst
mount -t tmpfs -o size=1M burst /mnt/burst
mount --make-private /mnt/burst
t0=$EPOCHREALTIME
mount_many mount /mnt/burst burst 0 "$mounts" || scenario_fail "a mount failed"
mount_s=$(elapsed "$t0")
wait_objects "$mounts" 60 || scenario_fail "the supervisor does not hold $mounts objects"
for i in 0 $((mounts / 2)) $((mounts - 1)); do
	(cd "/mnt/burst/t$i" && sha256sum --check --quiet --strict "$(image_manifest tiny)") ||
		scenario_fail "small image t$i read wrong data"
done
vm_log "$mounts small images mounted in $mount_s s"

# Readers: the big files first, one to each of three readers.
manifest=$CFS_VM_TMP/big-large-first.sha256
{ grep ' large/' "$(image_manifest big)"; grep -v ' large/' "$(image_manifest big)"; } >"$manifest"
mount_blob_as big big
bytes0=$(status_key bytes_served)
check_tree_bg /mnt/big "$manifest" 4
# The burst once the readers are well into their windows.
deadline=$((SECONDS + 60))
until [ "$(status_key bytes_served)" -gt $((bytes0 + 24 * 1024 * 1024)) ]; do
	[ "$SECONDS" -lt "$deadline" ] || { scenario_fail "the readers got nowhere in 60 s"; break; }
	sleep 0.1
done
readers_running || scenario_fail "the readers ended before the burst: nothing was proven"
t0=$EPOCHREALTIME
umount -l /mnt/burst
# (The umount itself can take seconds on a loaded host: the readers may be
# done by the time it returns, which the note below says.)
wait_objects 1 60 || scenario_fail "the small images' objects were not all closed"
burst_s=$(elapsed "$t0")
during=0
readers_running && during=1
[ "$during" = 1 ] || vm_log "note: the readers ended before every CLOSE was handled"
vm_log "$mounts CLOSEs handled in $burst_s s"

check_tree_wait || scenario_fail "readers saw errors or bad data"
umount /mnt/big
wait_objects 0 30 || scenario_fail "objects left after every umount"
wait_fd_count "$SUP_PID" "$fds_idle" 30 || scenario_fail "supervisor fds not back to $fds_idle"
fds_after=$(fd_count "$SUP_PID")
supervisor_stop || scenario_fail "supervisor exit status $?"
killed=$(grep -c "killing it" "$SUP_LOG" || true)
[ "$killed" = 0 ] || scenario_fail "the supervisor killed $killed workers: $(grep -m1 "killing it" "$SUP_LOG")"
[ "${STAT[violations]}" = 0 ] || scenario_fail "${STAT[violations]} protocol violations"
[ "${STAT[deaths]}" = 0 ] || scenario_fail "${STAT[deaths]} workers died"
[ "${STAT[failed]}" = 0 ] || scenario_fail "${STAT[failed]} requests failed"
[ "${STAT[closes]}" -ge "$((mounts + 1))" ] || scenario_fail "only ${STAT[closes]} CLOSEs seen"
scenario_end mounts="$mounts" mount_s="$mount_s" burst_s="$burst_s" readers_through_burst="$during" \
	files="$CHECK_FILES" bytes="$CHECK_BYTES" bad="$CHECK_BAD" read_s="$CHECK_SECONDS" closes="${STAT[closes]}" \
	killed="$killed" violations="${STAT[violations]}" deaths="${STAT[deaths]}" timeouts="${STAT[timeouts]}" \
	failed="${STAT[failed]}" fds_idle="$fds_idle" fds_after="$fds_after"
