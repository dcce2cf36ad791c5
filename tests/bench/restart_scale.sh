#!/bin/bash
# Benchmark, systemd as PID 1: `systemctl restart` of the supervisor with
# 1 000 open objects (1 000 erofs mounts of a tiny image, each its own fsid
# and so its own cache object). They share one domain_id, so one volume:
# cachefiles makes 257 directories per volume, and 1 000 volumes would take
# more inodes than the 512 MiB cache fs has (mkdir fails with ENOBUFS). Measured over a few restarts: the time
# `systemctl restart` takes (Type=notify: until the new instance's READY=1),
# the supervisor's own start-up time (its "serving cache ... in N ms" line),
# the fd store size and the new instance's fd count. Afterwards a sample of
# the mounts is read and checked (those READs are served by the last
# instance), everything is unmounted and the store must shrink back to
# device + state. One JSON line in $CFS_OUT/bench.jsonl.
#
# Environment: CFS_BENCH_OBJECTS (1000), CFS_BENCH_RESTARTS (3),
# CFS_BENCH_SUP_ARGS (more supervisor arguments).
# vm-mode: systemd
# vm-images: tiny:tiny
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"
. "$CFS_SRC/tests/bench/bench-lib.sh"

objects=${CFS_BENCH_OBJECTS:-1000}
restarts=${CFS_BENCH_RESTARTS:-3}
scenario_begin bench_restart_scale

mkdir -p "$BENCH_BLOBS" /mnt/scale
cp "$(image_path tiny)" "$BENCH_BLOBS/t0"
link_many "$BENCH_BLOBS" "$objects"
sup_args 2
unit_install "${SUP_ARGS[@]}"
systemctl start "$UNIT" || { unit_dump "$UNIT"; exit 1; }
fds_idle=$(fd_count "$(main_pid)")

t0=$EPOCHREALTIME
mount_many mount /mnt/scale scale 0 "$objects" || scenario_fail "a mount failed"
mount_s=$(elapsed "$t0")
wait_status_objects "$objects" || scenario_fail "STATUS does not show $objects objects"
store_before=$(fdstore_count)
vm_log "$objects mounts in $mount_s s, fd store $store_before"

: >"$CFS_VM_TMP/restart-ms"
: >"$CFS_VM_TMP/startup-ms"
: >"$CFS_VM_TMP/restart-times"
for ((r = 1; r <= restarts; r++)); do
	n=$(unit_log | grep -c 'serving cache' || true)
	t0=$EPOCHREALTIME
	echo "$t0" >>"$CFS_VM_TMP/restart-times"
	systemctl restart "$UNIT" || { unit_dump "$UNIT"; scenario_fail "restart failed"; break; }
	awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }' >>"$CFS_VM_TMP/restart-ms"
	wait_unit_log 'serving cache' $((n + 1)) 30 || scenario_fail "no start-up line"
	unit_log | grep 'serving cache' | tail -n1 | sed -n 's/.*, in \([0-9]*\) ms.*/\1/p' >>"$CFS_VM_TMP/startup-ms"
	unit_log | grep 'serving cache' | tail -n1 | grep -q "$objects objects recovered" ||
		scenario_fail "restart $r: not all $objects objects recovered"
	sleep 1
done
store_after=$(fdstore_count)
fds_after=$(fd_count "$(main_pid)")
read -r restart_avg restart_p50 restart_max _ <<<"$(summarize "$CFS_VM_TMP/restart-ms")"
read -r startup_avg _ startup_max _ <<<"$(summarize "$CFS_VM_TMP/startup-ms")"
# Where the time goes: the old instance stopped, systemd starting the new one
# (its sandbox and exec), the new instance serving, READY=1 seen by systemd.
unit_log >"$CFS_OUT/journal.txt"
phases "$CFS_VM_TMP/restart-times" "$CFS_OUT/journal.txt" "Stopped $UNIT" "Starting $UNIT" "serving cache" \
	"Started $UNIT" >"$CFS_VM_TMP/phases"
read -r stopped_avg _ <<<"$(column_stats "$CFS_VM_TMP/phases" 1)"
read -r starting_avg _ <<<"$(column_stats "$CFS_VM_TMP/phases" 2)"
read -r serving_avg _ <<<"$(column_stats "$CFS_VM_TMP/phases" 3)"
read -r started_avg _ <<<"$(column_stats "$CFS_VM_TMP/phases" 4)"

# A sample of the mounts, read for the first time now: the last instance serves them.
bad=0
for i in 0 $((objects / 3)) $((objects / 2)) $((objects - 1)); do
	(cd "/mnt/scale/t$i" && sha256sum --check --quiet --strict "$(image_manifest tiny)") || bad=$((bad + 1))
done
[ "$bad" = 0 ] || scenario_fail "$bad sampled mounts read wrong data"

t0=$EPOCHREALTIME
mount_many umount /mnt/scale scale 0 "$objects" || scenario_fail "an umount failed"
umount_s=$(elapsed "$t0")
wait_status_objects 0 || scenario_fail "objects left after umount"
store_idle=$(fdstore_count)
[ "$store_idle" = 2 ] || scenario_fail "fd store holds $store_idle fds with nothing mounted, expected 2"
[ "$(fd_count "$(main_pid)")" = "$fds_idle" ] || scenario_fail "supervisor fds not back to $fds_idle"
systemctl stop "$UNIT"

vm_log "SCALE $objects objects: restart (to READY) avg $restart_avg ms, max $restart_max ms; supervisor start-up" \
	"avg $startup_avg ms; fd store $store_before before, $store_after after; supervisor fds $fds_after;" \
	"on average the old instance stopped at $stopped_avg ms, systemd started the new one at $starting_avg ms," \
	"it served from $serving_avg ms, READY seen at $started_avg ms"
bench_json bench=restart_scale objects="$objects" restarts="$restarts" restart_avg_ms="$restart_avg" \
	restart_p50_ms="$restart_p50" restart_max_ms="$restart_max" startup_avg_ms="$startup_avg" \
	startup_max_ms="$startup_max" fdstore_before="$store_before" fdstore_after="$store_after" \
	fdstore_idle="$store_idle" sup_fds_after="$fds_after" sup_fds_idle="$fds_idle" mount_s="$mount_s" \
	umount_s="$umount_s" sample_bad="$bad" stopped_avg_ms="$stopped_avg" unit_starting_avg_ms="$starting_avg" \
	serving_avg_ms="$serving_avg" ready_avg_ms="$started_avg"
scenario_end objects="$objects" restart_avg_ms="$restart_avg" fdstore="$store_after"
