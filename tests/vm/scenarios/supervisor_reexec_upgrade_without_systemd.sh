#!/bin/bash
# Without systemd the supervisor holds its fds itself; SIGUSR2 makes it
# re-execute the binary now on disk in place (same pid), passing the device,
# the state and every object fd through the start-up recovery path. Five
# upgrades during a 126 MB read: no reader error, every checksum matches, the
# new binary is what runs, and no fd is gained or lost.
# vm-images: big:big
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"

upgrades=${UPGRADES:-5}
scenario_begin supervisor_reexec_upgrade_without_systemd

blobs=$BLOBS
stage_blob big big /mnt/big
installed=/usr/local/libexec/cfs-test/cachefiles-supervisor
install_binary "$CFS_BUILD/supervisor/cachefiles-supervisor" "$installed" v0
SUP_BIN=$installed supervisor_start --blob-dir "$blobs" --workers 2
pid=$SUP_PID
fds_idle=$(fd_count "$pid")

mount -t erofs none -o fsid=big /mnt/big
check_tree_bg /mnt/big "$(image_manifest big)" 4
done_upgrades=0
for i in $(seq 1 "$upgrades"); do
	readers_running || break
	install_binary "$CFS_BUILD/supervisor/cachefiles-supervisor" "$installed" "v$i"
	kill -USR2 "$pid"
	wait_log "$SUP_LOG" "serving cache" $((i + 1)) 30 || { scenario_fail "re-exec $i did not come back"; break; }
	done_upgrades=$i
	exe_matches "$pid" "$installed" || scenario_fail "after re-exec $i pid $pid does not run the new binary"
	sleep "0.$((RANDOM % 5 + 3))" # let reads go on between upgrades
done
check_tree_wait || scenario_fail "readers saw errors or bad data"
[ "$done_upgrades" -ge 3 ] || scenario_fail "only $done_upgrades upgrades happened during the reads"
fds_mounted=$(fd_count "$pid")
[ "$fds_mounted" = $((fds_idle + 1)) ] || scenario_fail "with 1 object mounted: $fds_mounted fds, expected $((fds_idle + 1))"
umount /mnt/big
wait_fd_count "$pid" "$fds_idle" 30 || scenario_fail "fd leak after umount"
[ "$SUP_PID" = "$pid" ] && kill -0 "$pid" || scenario_fail "supervisor pid changed"
supervisor_stop || scenario_fail "supervisor exit status $?"
[ "${STAT[failed]}" = 0 ] || scenario_fail "${STAT[failed]} requests failed"
! grep -q "giving up" "$SUP_LOG" || scenario_fail "a request failed in an earlier instance"
scenario_end upgrades="$done_upgrades" files="$CHECK_FILES" bytes="$CHECK_BYTES" bad="$CHECK_BAD" \
	read_s="$CHECK_SECONDS" fds_idle="$fds_idle" fds_mounted="$fds_mounted" \
	recovered="$(grep -c 'recovered the device and 1 objects' "$SUP_LOG")"
