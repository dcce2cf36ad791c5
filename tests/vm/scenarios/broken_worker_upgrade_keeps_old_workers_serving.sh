#!/bin/bash
# A worker upgrade to a binary that cannot start (a truncated file, as a
# broken package install leaves) must not leave a domain without workers:
# the old generation keeps serving while the new one fails and backs off, and
# leaves only once a good binary is installed and its workers are ready.
# Every read during all of it matches its checksum.
# vm-images: big:big
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"

scenario_begin broken_worker_upgrade_keeps_old_workers_serving

blobs=$BLOBS
stage_blob big big /mnt/big
installed=/usr/local/libexec/cfs-test/cachefiles-worker
install_binary "$CFS_BUILD/worker/cachefiles-worker" "$installed" v0
WORKER_BIN=$installed supervisor_start --blob-dir "$blobs" --workers 2
old_pids=$(worker_pids)

mount -t erofs none -o fsid=big /mnt/big
check_tree_bg /mnt/big "$(image_manifest big)" 4

# The broken upgrade: new workers die at exec, again and again.
head -c 4096 "$CFS_BUILD/worker/cachefiles-worker" >"$installed.new"
chmod 755 "$installed.new"
mv -f "$installed.new" "$installed"
kill -HUP "$SUP_PID"
wait_log "$SUP_LOG" "died before it was ready" 3 60 || scenario_fail "the broken binary was not tried three times"
readers_running || scenario_fail "the reads ended before the broken upgrade was under way: nothing was proven"
for p in $old_pids; do
	kill -0 "$p" 2>/dev/null || scenario_fail "old worker $p left while no new worker was ready"
done
broken_starts=$(grep -c "died before it was ready" "$SUP_LOG")

# The fixed upgrade: new workers start and the old ones drain.
install_binary "$CFS_BUILD/worker/cachefiles-worker" "$installed" v1
kill -HUP "$SUP_PID"
deadline=$((SECONDS + 60))
for p in $old_pids; do
	while kill -0 "$p" 2>/dev/null; do
		[ "$SECONDS" -lt "$deadline" ] || scenario_fail "old worker $p still runs after the good upgrade"
		sleep 0.1
	done
done
new_pids=$(worker_pids)
for p in $new_pids; do
	exe_matches "$p" "$installed" || scenario_fail "worker $p does not run the fixed binary"
done
check_tree_wait || scenario_fail "readers saw errors or bad data"
umount /mnt/big
supervisor_stop || scenario_fail "supervisor exit status $?"
[ "${STAT[failed]}" = 0 ] || scenario_fail "${STAT[failed]} requests failed"
scenario_end files="$CHECK_FILES" bytes="$CHECK_BYTES" bad="$CHECK_BAD" read_s="$CHECK_SECONDS" \
	broken_starts="$broken_starts" old_workers="$(echo $old_pids)" new_workers="$(echo $new_pids)"
