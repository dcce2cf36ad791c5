#!/bin/bash
# Workers SIGKILLed every 10-50 ms while 4 readers check every file of a
# >= 100 MB image: no reader sees an error, every checksum matches, at least
# 200 kills, and the supervisor holds exactly the fds it held before the mounts.
# Cold passes (a new blob name each, so a new cache file) repeat until 200 kills.
# vm-images: big:big
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"

min_kills=${MIN_KILLS:-200}
scenario_begin worker_kills_are_invisible_to_readers

blobs=/srv/blobs
mkdir -p "$blobs"
cp "$(image_path big)" "$blobs/big0"
manifest=$(image_manifest big)

supervisor_start --blob-dir "$blobs" --workers 2
fds_before=$(fd_count "$SUP_PID")

killer() {
	local kills=0 pids victim
	while [ ! -e "$CFS_VM_TMP/stop-killer" ]; do
		sleep "0.0$((RANDOM % 41 + 10))"
		read -ra pids <<<"$(worker_pids)"
		[ ${#pids[@]} -gt 0 ] || continue
		victim=${pids[RANDOM % ${#pids[@]}]}
		# A dead worker not yet reaped still answers kill(): count live ones only.
		grep -q '^State:.*Z' "/proc/$victim/status" 2>/dev/null && continue
		kill -KILL "$victim" 2>/dev/null && kills=$((kills + 1))
		echo "$kills" >"$CFS_VM_TMP/kills"
	done
}
echo 0 >"$CFS_VM_TMP/kills"
killer &
killer_pid=$!

pass=0 files=0 bytes=0 bad=0 read_s=0
while :; do
	name=big$pass
	[ -e "$blobs/$name" ] || ln "$blobs/big0" "$blobs/$name"
	mkdir -p "/mnt/$name"
	mount -t erofs none -o "fsid=$name" "/mnt/$name" || { scenario_fail "mount $name failed"; break; }
	check_tree "/mnt/$name" "$manifest" 4 || scenario_fail "pass $pass: content differs or reads failed"
	umount "/mnt/$name"
	files=$((files + CHECK_FILES)) bytes=$((bytes + CHECK_BYTES)) bad=$((bad + CHECK_BAD))
	read_s=$(awk -v a="$read_s" -v b="$CHECK_SECONDS" 'BEGIN { print a + b }')
	pass=$((pass + 1))
	kills=$(cat "$CFS_VM_TMP/kills")
	vm_log "pass $pass done, $kills kills so far"
	[ "$kills" -lt "$min_kills" ] && [ "$SCENARIO_FAILED" = 0 ] && [ "$pass" -lt 20 ] || break
done
touch "$CFS_VM_TMP/stop-killer"
wait "$killer_pid"
kills=$(cat "$CFS_VM_TMP/kills")
[ "$kills" -ge "$min_kills" ] || scenario_fail "only $kills kills (wanted $min_kills)"

# Objects close asynchronously after umount; then every anon fd must be gone.
wait_fd_count "$SUP_PID" "$fds_before" 30 || scenario_fail "supervisor fd leak"
fds_after=$(fd_count "$SUP_PID")
supervisor_stop || scenario_fail "supervisor exit status $?"
[ "${STAT[failed]}" = 0 ] || scenario_fail "${STAT[failed]} requests failed"
[ "${STAT[deaths]}" -ge "$kills" ] || scenario_fail "supervisor saw ${STAT[deaths]} deaths for $kills kills"

scenario_end passes="$pass" kills="$kills" files="$files" bytes="$bytes" bad="$bad" read_s="$read_s" \
	fds_before="$fds_before" fds_after="$fds_after" respawns="${STAT[spawns]}" deaths="${STAT[deaths]}" \
	restores="${STAT[restores]}" duplicates="${STAT[duplicates]}" bytes_served="${STAT[bytes]}"
