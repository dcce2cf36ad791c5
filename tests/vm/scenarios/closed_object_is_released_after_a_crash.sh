#!/bin/bash
# Issue 17, item 7: the supervisor dies between reading a CLOSE and removing
# the object's fd from the fd store (gdb stops it where it forgets the object
# and kills it there). The next instance gets that fd back from the store;
# the kernel has withdrawn the object, which its anon fd answers lseek with
# ENOBUFS (checked here on the test kernel), so it is dropped at recovery:
# the fd store, the supervisor's fds and its object count are back to idle
# without a `systemctl stop`.
# vm-mode: systemd
# vm-images: small:small
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"

scenario_begin closed_object_is_released_after_a_crash

stage_blob small small
unit_install --blob-dir "$BLOBS" --workers 2
systemctl start "$UNIT" || { unit_dump "$UNIT"; exit 1; }
fds_idle=$(fd_count "$(main_pid)")
store_idle=$(fdstore_count)

mount_blob_as img small || { unit_log >&2; scenario_fail "mount failed"; }
check_tree /mnt/img "$(image_manifest small)" 2 || scenario_fail "readers saw errors or bad data"
wait_status_objects 1 || scenario_fail "STATUS does not show the mounted object"
store_mounted=$(fdstore_count)
pid=$(main_pid)

# Stop it where the CLOSE has been read and the fd is still in the store, and kill it there.
gdb_log=$CFS_OUT/gdb.log
gdb -q -batch -p "$pid" -ex 'set confirm off' -ex 'break cachefiles_forget_object' -ex continue \
	-ex 'print "stopped in forget_object"' -ex kill >"$gdb_log" 2>&1 &
gdb_pid=$!
# Batch gdb prints no "Continuing.": the breakpoint line, then a moment for the continue.
wait_log "$gdb_log" "^Breakpoint 1 at" 1 60 || { cat "$gdb_log" >&2; scenario_fail "gdb did not attach"; }
sleep 1
umount /mnt/img
wait "$gdb_pid" || true
grep -q "stopped in forget_object" "$gdb_log" || { cat "$gdb_log" >&2; scenario_fail "gdb never stopped it"; }
# (The fd store is not read here: the restarted instance may already have dropped the
# object; its log line below, naming the fd it got back, shows it was still there.)

# systemd restarts it (Restart=always); the new instance recovers from the store.
deadline=$((SECONDS + 30))
until new=$(main_pid); [ "$new" != 0 ] && [ "$new" != "$pid" ] && [ "$(status_field starts)" != "" ]; do
	[ "$SECONDS" -lt "$deadline" ] || { unit_dump "$UNIT"; scenario_fail "no new instance"; break; }
	sleep 0.2
done
wait_status_objects 0 || scenario_fail "the withdrawn object was kept"
unit_log | grep "dropping fd '" | tail -n 3 >&2 || true
unit_log | grep -q "the kernel withdrew the object (lseek: ENOBUFS" ||
	scenario_fail "recovery did not see ENOBUFS from the withdrawn object's fd"
store_after=$(fdstore_count)
fds_after=$(fd_count "$(main_pid)")
[ "$store_after" = "$store_idle" ] || scenario_fail "fd store holds $store_after fds, $store_idle when idle"
[ "$fds_after" = "$fds_idle" ] || scenario_fail "supervisor holds $fds_after fds, $fds_idle when idle"

# The cache still serves: mount again.
mount_blob_as img2 small
check_tree /mnt/img2 "$(image_manifest small)" 2 || scenario_fail "reads after recovery failed"
umount /mnt/img2
systemctl stop "$UNIT"
scenario_end store_idle="$store_idle" store_mounted="$store_mounted" \
	store_after="$store_after" fds_idle="$fds_idle" fds_after="$fds_after"
