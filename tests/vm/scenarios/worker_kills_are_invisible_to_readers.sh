#!/bin/bash
# Workers SIGKILLed every 10-50 ms while 4 readers check every file of a
# >= 100 MB image: no reader sees an error, every checksum matches, at least
# 200 kills, and the supervisor holds exactly the fds it held before the mounts.
# A cold pass (a new blob name each, so a new cache file) repeats if it saw
# fewer than 200 kills.
# vm-images: big:big
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"

min_kills=${MIN_KILLS:-200}
scenario_begin worker_kills_are_invisible_to_readers

blobs=$BLOBS
stage_blob big big0
manifest=$(image_manifest big)

supervisor_start --blob-dir "$blobs" --workers 2
fds_before=$(fd_count "$SUP_PID")

killer_out=$CFS_VM_TMP/kills
# At most 1000 kills: past that the reads crawl (each respawn builds a sandbox) and prove no more.
"${CFS_KILLER:-$CFS_BUILD/tests/vm/worker-killer}" "$SUP_PID" 10 50 9 1000 >"$killer_out" &
killer_pid=$!

pass=0 files=0 bytes=0 bad=0 read_s=0
while :; do
	name=big$pass
	mount_blob_as "$name" big0 || { scenario_fail "mount $name failed"; break; }
	check_tree "/mnt/$name" "$manifest" 4 || scenario_fail "pass $pass: content differs or reads failed"
	umount "/mnt/$name"
	files=$((files + CHECK_FILES)) bytes=$((bytes + CHECK_BYTES)) bad=$((bad + CHECK_BAD))
	read_s=$(awk -v a="$read_s" -v b="$CHECK_SECONDS" 'BEGIN { print a + b }')
	pass=$((pass + 1))
	deaths=$(grep -c 'killed by signal KILL' "$SUP_LOG" || true)
	vm_log "pass $pass done, about $deaths kills so far"
	# Each pass writes a new cache file: the cache fs holds only a few.
	[ "$deaths" -lt "$min_kills" ] && [ "$SCENARIO_FAILED" = 0 ] && [ "$pass" -lt 6 ] || break
done
kill -TERM "$killer_pid" 2>/dev/null || true # it may have stopped at its maximum
wait "$killer_pid"
kills=$(cat "$killer_out")
[ "$kills" -ge "$min_kills" ] || scenario_fail "only $kills kills (wanted $min_kills)"

# Objects close asynchronously after umount; then every anon fd must be gone.
wait_fd_count "$SUP_PID" "$fds_before" 30 || scenario_fail "supervisor fd leak"
fds_after=$(fd_count "$SUP_PID")
supervisor_stop || scenario_fail "supervisor exit status $?"
[ "${STAT[failed]}" = 0 ] || scenario_fail "${STAT[failed]} requests failed"
# Kills in the last moments may still be under way when the supervisor stops.
[ $((STAT[deaths] + 2)) -ge "$kills" ] || scenario_fail "supervisor saw ${STAT[deaths]} deaths for $kills kills"

scenario_end passes="$pass" kills="$kills" files="$files" bytes="$bytes" bad="$bad" read_s="$read_s" \
	fds_before="$fds_before" fds_after="$fds_after" respawns="${STAT[spawns]}" deaths="${STAT[deaths]}" \
	restores="${STAT[restores]}" duplicates="${STAT[duplicates]}" bytes_served="${STAT[bytes]}"
