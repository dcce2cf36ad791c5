#!/bin/bash
# `systemctl restart` of the supervisor 20 times while 4 readers check every
# file of a 126 MB image: each new instance takes the device, state and
# object fds back from the fd store, and no reader sees an error. Afterwards
# the fd store and the supervisor's fds hold exactly what is open, and
# `systemctl stop` unbinds the cache and leaves nothing behind.
# vm-mode: systemd
# vm-images: big:big
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"

restarts=${RESTARTS:-20}
scenario_begin supervisor_restarts_under_systemd_are_invisible

blobs=$BLOBS
stage_blob big big
unit_install --blob-dir "$blobs" --workers 2
systemctl start "$UNIT" || { unit_dump "$UNIT"; exit 1; }
fds_idle=$(fd_count "$(main_pid)")

done_restarts=0 pass=0 files=0 bytes=0 bad=0 t0=$EPOCHREALTIME
# A new cold pass (new blob name: new cache file) if the reads end first.
while :; do
	name=big$pass
	mount_blob_as "$name" big
	check_tree_bg "/mnt/$name" "$(image_manifest big)" 4
	while readers_running && [ "$done_restarts" -lt "$restarts" ]; do
		# Type=notify: returns once the new instance said READY=1.
		systemctl restart "$UNIT" || { unit_dump "$UNIT"; scenario_fail "restart failed"; break 2; }
		done_restarts=$((done_restarts + 1))
		sleep "0.$((RANDOM % 3 + 1))" # let reads go on between restarts
	done
	check_tree_wait || scenario_fail "pass $pass: readers saw errors or bad data"
	files=$((files + CHECK_FILES)) bytes=$((bytes + CHECK_BYTES)) bad=$((bad + CHECK_BAD))
	pass=$((pass + 1))
	[ "$done_restarts" -lt "$restarts" ] && [ "$pass" -lt 6 ] || break
	umount "/mnt/$name"
done
restart_s=$(elapsed "$t0")
[ "$done_restarts" = "$restarts" ] || scenario_fail "only $done_restarts restarts happened during the reads"

check_unit_fds_then_umount "/mnt/$name" "$fds_idle"
starts=$(status_field starts)

# stop drops the fd store: the cache is unbound, the next start binds afresh.
systemctl stop "$UNIT"
[ "$(fdstore_count)" = 0 ] || scenario_fail "fd store not empty after stop: $(fdstore_count)"
[ -z "$(pgrep -f cachefiles-worker || true)" ] || scenario_fail "workers left after stop"
systemctl start "$UNIT"
unit_log | tail -n 5 | grep -q "fresh bind, start 1" || scenario_fail "start after stop did not bind afresh"
systemctl stop "$UNIT"
scenario_end restarts="$done_restarts" passes="$pass" starts="$starts" files="$files" bytes="$bytes" bad="$bad" \
	restart_loop_s="$restart_s" fdstore_mounted="$STORE_MOUNTED" fdstore="$STORE_AFTER" \
	fds_mounted="$FDS_MOUNTED" fds_idle="$fds_idle"
