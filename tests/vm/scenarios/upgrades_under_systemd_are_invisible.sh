#!/bin/bash
# Hot upgrades under systemd while 4 readers check every file of a 126 MB
# image (another cold pass, under a new blob name, if they finish first):
# three times the worker binary is replaced on disk and
# `systemctl reload` (SIGHUP) starts new workers while the old ones drain,
# then three times the supervisor binary is replaced and SIGUSR2 re-executes
# it in place (same pid). No reader sees an error; afterwards the new
# binaries are what runs, and the fd store and the supervisor's fds hold
# exactly what is open.
# vm-mode: systemd
# vm-images: big:big
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"

scenario_begin upgrades_under_systemd_are_invisible

blobs=$BLOBS
stage_blob big big
bindir=/usr/local/libexec/cfs-test
install_binary "$SUP_BIN" "$bindir/cachefiles-supervisor" v0
install_binary "$WORKER_BIN" "$bindir/cachefiles-worker" v0
UNIT_SUP_BIN=$bindir/cachefiles-supervisor UNIT_WORKER_BIN=$bindir/cachefiles-worker \
	unit_install --blob-dir "$blobs" --workers 2
systemctl start "$UNIT" || { unit_dump "$UNIT"; exit 1; }
pid=$(main_pid)
fds_idle=$(fd_count "$pid")

# Readers run until every upgrade is made: read windows make a pass short.
pass=0 files=0 bad=0 read_s=0
start_pass() {
	mount_blob_as "big$pass" big
	check_tree_bg "/mnt/big$pass" "$(image_manifest big)" 4
}
end_pass() {
	check_tree_wait || scenario_fail "pass $pass: readers saw errors or bad data"
	files=$((files + CHECK_FILES)) bad=$((bad + CHECK_BAD))
	read_s=$(awk -v a="$read_s" -v b="$CHECK_SECONDS" 'BEGIN { print a + b }')
}
# True while readers run; starts a new pass if they are done (the cache fs holds six).
keep_reading() {
	readers_running && return 0
	[ "$pass" -lt 5 ] || return 1
	end_pass
	umount "/mnt/big$pass"
	pass=$((pass + 1))
	start_pass
}

start_pass
worker_upgrades=0 sup_upgrades=0
for i in 1 2 3; do
	keep_reading || break
	# The test worker reports version "<v>-test": that is how its arrival shows.
	install_binary "$CFS_BUILD/worker/cachefiles-worker-test" "$bindir/cachefiles-worker" "w$i"
	systemctl reload "$UNIT"
	wait_unit_log "of 2 workers from" "$i" 30 || scenario_fail "reload $i not seen"
	worker_upgrades=$i
	sleep "0.$((RANDOM % 3 + 1))"
done
for i in 1 2 3; do
	keep_reading || break
	install_binary "$SUP_BIN" "$bindir/cachefiles-supervisor" "s$i"
	kill -USR2 "$pid"
	wait_unit_log "serving cache" $((i + 1)) 30 || { scenario_fail "re-exec $i did not come back"; break; }
	sup_upgrades=$i
	sleep "0.$((RANDOM % 3 + 1))"
done
end_pass
[ "$worker_upgrades" = 3 ] && [ "$sup_upgrades" = 3 ] ||
	scenario_fail "reads ended after $worker_upgrades worker and $sup_upgrades supervisor upgrades"

[ "$(main_pid)" = "$pid" ] || scenario_fail "the supervisor was restarted, not re-executed"
exe_matches "$pid" "$bindir/cachefiles-supervisor" || scenario_fail "the supervisor does not run the new binary"
for w in $(cat "/proc/$pid/task/$pid/children"); do
	exe_matches "$w" "$bindir/cachefiles-worker" || scenario_fail "worker $w does not run the new binary"
done
unit_log | grep -q "workers run version .*-test" || scenario_fail "no worker reported the new version"

check_unit_fds_then_umount "/mnt/big$pass" "$fds_idle"
systemctl stop "$UNIT"
scenario_end worker_upgrades="$worker_upgrades" supervisor_upgrades="$sup_upgrades" passes=$((pass + 1)) \
	files="$files" bad="$bad" read_s="$read_s" fdstore_mounted="$STORE_MOUNTED" \
	fdstore="$STORE_AFTER" fds_mounted="$FDS_MOUNTED" fds_idle="$fds_idle"
