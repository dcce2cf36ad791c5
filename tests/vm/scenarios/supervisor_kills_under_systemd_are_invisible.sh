#!/bin/bash
# systemd as PID 1 runs the project's unit. The supervisor is SIGKILLed at
# least 50 times while 4 readers check every file of a 126 MB image: systemd
# restarts it, it takes the device, the state and the object fds back from
# the fd store and writes restore, and no reader sees an error. Afterwards the
# fd store holds exactly device + state + open objects, and the supervisor's
# own fds match. Prints the time from a kill to the next answered READ.
# vm-mode: systemd
# vm-images: big:big
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"

min_kills=${CFS_MIN_KILLS:-50} # CFS_MIN_KILLS=90: more passes
scenario_begin supervisor_kills_under_systemd_are_invisible

blobs=$BLOBS
stage_blob big big0
unit_install --blob-dir "$blobs" --workers 2
systemctl start "$UNIT" || { unit_dump "$UNIT"; exit 1; }
fds_idle=$(fd_count "$(main_pid)")

kills=0 pass=0 files=0 bytes=0 bad=0
# Every pass mounts the image under a new name, so it is cached anew: the
# 1 GiB cache fs holds about seven, and the culler makes room from the
# eighth on (the earlier passes' files, no longer in use, go first). At
# most 15 passes: each reads the whole image.
max_passes=15
kill_times=$CFS_VM_TMP/kill-times
: >"$kill_times"
# Passes until enough kills: how many a pass takes depends on how fast it
# reads (prefetch makes it faster) and how fast a restart is. Before the
# culler, the 8th pass filled the cache (ENOBUFS, "the cache refused the
# write").
while [ "$kills" -lt "$min_kills" ] && [ "$pass" -lt "$max_passes" ] && [ "$SCENARIO_FAILED" = 0 ]; do
	name=big$pass
	mount_blob_as "$name" big0 || { unit_dump "$UNIT"; scenario_fail "mount $name failed"; break; }
	check_tree_bg "/mnt/$name" "$(image_manifest big)" 4
	last=0
	while readers_running && [ "$kills" -lt "$((min_kills * 3))" ]; do
		sleep "0.$((RANDOM % 4 + 1))" # let reads run between kills (a restart itself takes ~0.5 s)
		# Not waiting for READY=1: a kill during recovery is a case too.
		pid=$(main_pid)
		[ "$pid" != 0 ] && [ "$pid" != "$last" ] || continue
		echo "$EPOCHREALTIME" >>"$kill_times"
		kill -KILL "$pid" && kills=$((kills + 1)) last=$pid
	done
	check_tree_wait || scenario_fail "pass $pass: readers saw errors or bad data"
	files=$((files + CHECK_FILES)) bytes=$((bytes + CHECK_BYTES)) bad=$((bad + CHECK_BAD))
	umount "/mnt/$name"
	pass=$((pass + 1))
	vm_log "pass $pass done, $kills kills so far"
done
[ "$kills" -ge "$min_kills" ] || scenario_fail "only $kills kills (wanted $min_kills)"

# Recovery time: each kill to the next "first READ since start" line.
recovery=$(unit_log | awk -v kt="$kill_times" '
	BEGIN { while ((getline t < kt) > 0) kills[n++] = t }
	/first READ since start answered/ { split($1, a, " "); served[m++] = a[1] }
	END {
		j = 0
		for (i = 0; i < n; i++) {
			while (j < m && served[j] < kills[i]) j++
			if (j < m && (i + 1 == n || served[j] < kills[i + 1])) { d = served[j] - kills[i]; s += d; c++; if (d > mx) mx = d }
		}
		if (c) printf "%.0f %.0f %d", s / c * 1000, mx * 1000, c; else print "- - 0"
	}')
read -r recovery_avg_ms recovery_max_ms recovery_n <<<"$recovery"

# Nothing mounted now: the store holds the device and the state only.
systemctl is-active --quiet "$UNIT" || scenario_fail "the unit is not active after the kills"
wait_status_objects 0 || scenario_fail "objects left after umount"
store=$(fdstore_count)
[ "$store" = 2 ] || scenario_fail "fd store holds $store fds, expected 2 (device + state)"
fds_now=$(fd_count "$(main_pid)")
[ "$fds_now" = "$fds_idle" ] || scenario_fail "supervisor holds $fds_now fds, expected $fds_idle"
starts=$(status_field starts)
cull_passes=$(unit_log | grep -c "cull pass [0-9]* culled" || true)
! unit_log | grep -q "giving up" || scenario_fail "a request failed"
systemctl stop "$UNIT"
scenario_end kills="$kills" passes="$pass" files="$files" bytes="$bytes" bad="$bad" starts="$starts" \
	fdstore="$store" fds="$fds_now" recovery_avg_ms="$recovery_avg_ms" recovery_max_ms="$recovery_max_ms" \
	recovery_samples="$recovery_n" cull_passes="$cull_passes"
