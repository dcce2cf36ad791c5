#!/bin/bash
# Without systemd the supervisor holds its fds itself; SIGUSR2 makes it
# re-execute the binary now on disk in place (same pid), passing the device,
# the state and every object fd through the start-up recovery path. Five
# upgrades during 126 MB reads (cold passes until all five are done): no reader error, every checksum matches, the
# new binary is what runs, and no fd is gained or lost.
# vm-images: big:big
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"

upgrades=${UPGRADES:-5}
scenario_begin supervisor_reexec_upgrade_without_systemd

blobs=$BLOBS
stage_blob big big
installed=/usr/local/libexec/cfs-test/cachefiles-supervisor
install_binary "$CFS_BUILD/supervisor/cachefiles-supervisor" "$installed" v0
SUP_BIN=$installed supervisor_start --blob-dir "$blobs" --workers 2
pid=$SUP_PID
fds_idle=$(fd_count "$pid")

# Reads must outlast the upgrades; since a re-exec first checks the new
# binary (--check-config) one cold pass can end after two. So up to six
# passes, each under a new blob name (a new, cold cache file), until done.
done_upgrades=0 bad=0 files=0 bytes=0 read_s=0 fds_mounted=''
for pass in 1 2 3 4 5 6; do
	mount_blob_as "big$pass" big
	check_tree_bg "/mnt/big$pass" "$(image_manifest big)" 4
	while [ "$done_upgrades" -lt "$upgrades" ] && readers_running; do
		i=$((done_upgrades + 1))
		install_binary "$CFS_BUILD/supervisor/cachefiles-supervisor" "$installed" "v$i"
		kill -USR2 "$pid"
		wait_log "$SUP_LOG" "serving cache" $((i + 1)) 30 || { scenario_fail "re-exec $i did not come back"; break 2; }
		done_upgrades=$i
		exe_matches "$pid" "$installed" || scenario_fail "after re-exec $i pid $pid does not run the new binary"
		sleep "0.$((RANDOM % 5 + 3))" # let reads go on between upgrades
	done
	check_tree_wait || scenario_fail "pass $pass: readers saw errors or bad data"
	bad=$((bad + CHECK_BAD)) files=$((files + CHECK_FILES)) bytes=$((bytes + CHECK_BYTES))
	read_s=$(awk -v a="$read_s" -v b="$CHECK_SECONDS" 'BEGIN { print a + b }')
	fds_mounted=$(fd_count "$pid")
	[ "$fds_mounted" = $((fds_idle + 1)) ] || scenario_fail "with 1 object mounted: $fds_mounted fds, expected $((fds_idle + 1))"
	umount "/mnt/big$pass"
	wait_fd_count "$pid" "$fds_idle" 30 || scenario_fail "fd leak after umount"
	[ "$done_upgrades" -lt "$upgrades" ] || break
done
[ "$done_upgrades" = "$upgrades" ] || scenario_fail "only $done_upgrades of $upgrades upgrades happened during $pass passes of reads"
[ "$SUP_PID" = "$pid" ] && kill -0 "$pid" || scenario_fail "supervisor pid changed"
supervisor_stop || scenario_fail "supervisor exit status $?"
[ "${STAT[failed]}" = 0 ] || scenario_fail "${STAT[failed]} requests failed"
! grep -q "giving up" "$SUP_LOG" || scenario_fail "a request failed in an earlier instance"
scenario_end upgrades="$done_upgrades" passes="$pass" files="$files" bytes="$bytes" bad="$bad" \
	read_s="$read_s" fds_idle="$fds_idle" fds_mounted="$fds_mounted" \
	recovered="$(grep -c 'recovered the device and 1 objects' "$SUP_LOG")"
