#!/bin/bash
# Benchmark, systemd as PID 1: `systemctl restart` of the supervisor with
# many open objects (issue 16): N erofs mounts of a 30 KB image, each its own
# fsid and so its own cache object, all in one volume (one domain_id:
# cachefiles makes 257 directories per volume, and thousands of volumes
# would take more inodes than the cache fs has), plus one small-image mount
# per restart for the timed READ. Fills are exact (no read window, no
# readahead), so a page never read is not in the cache and its READ must be
# answered by the daemon.
#
# Per restart, from the moment `systemctl restart` is issued: the new
# instance's READY=1 (the command returning), the first READ answered (a
# page never read, sent once the old instance is gone), the supervisor's own
# start-up time and its private view's build time (its log lines). Then the
# fd store and the supervisor's fds; a sample of mounts read and checked;
# everything unmounted, the store must shrink back to device + state and
# the fds to idle. One JSON line in $CFS_OUT/bench.jsonl.
#
# Environment: CFS_BENCH_OBJECTS (10000; --quick: 1000), CFS_BENCH_RESTARTS
# (3), CFS_BENCH_SUP_ARGS (more supervisor arguments).
# vm-mode: systemd
# vm-images: mini:mini small:small
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"
. "$CFS_SRC/tests/bench/bench-lib.sh"

objects=${CFS_BENCH_OBJECTS:-10000}
restarts=${CFS_BENCH_RESTARTS:-3}
scenario_begin bench_restart_scale

stage_blob small f
cp "$(image_path mini)" "$BLOBS/t0"
link_many "$BLOBS" "$objects"
# shellcheck disable=SC2086 # CFS_BENCH_SUP_ARGS is a list of arguments
unit_install --blob-dir "$BLOBS" --workers 1 --read-window 0 --readahead 0 ${CFS_BENCH_SUP_ARGS:-}
systemctl start "$UNIT" || { unit_dump "$UNIT"; exit 1; }
fds_idle=$(fd_count "$(main_pid)")

t0=$EPOCHREALTIME
mount_many mount /mnt/scale scale 0 "$objects" || scenario_fail "a mount failed"
mount_s=$(elapsed "$t0")
for ((r = 0; r < restarts; r++)); do
	mount_blob_as "f$r" f || scenario_fail "mount f$r failed"
done
total=$((objects + restarts))
wait_ctl_objects "$total" 120 || scenario_fail "the supervisor does not hold $total objects"
store_before=$(fdstore_count)
fds_before=$(fd_count "$(main_pid)")
vm_log "$objects mounts in $mount_s s, fd store $store_before, supervisor fds $fds_before"

# A page deep in a 4 MB file of the small image: never read before, so not cached.
far_file=large/blob-2.bin far_page=$((4000000 / 4096 - 1))
ms_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f\n", (b - a) * 1000 }'; }
: >"$CFS_VM_TMP/ready-ms"
: >"$CFS_VM_TMP/read-ms"
: >"$CFS_VM_TMP/startup-ms"
: >"$CFS_VM_TMP/view-ms"
for ((r = 0; r < restarts; r++)); do
	n=$(unit_log | grep -c 'serving cache' || true)
	old=$(main_pid) t0=$EPOCHREALTIME
	(systemctl restart "$UNIT" && ms_since "$t0" >"$CFS_VM_TMP/ready-now") &
	job=$!
	while kill -0 "$old" 2>/dev/null; do sleep 0.01; done
	dd if="/mnt/f$r/$far_file" of=/dev/null bs=4096 skip="$far_page" count=1 status=none ||
		scenario_fail "restart $r: the READ failed"
	ms_since "$t0" >>"$CFS_VM_TMP/read-ms"
	wait "$job" || { unit_dump "$UNIT"; scenario_fail "restart $r failed"; break; }
	cat "$CFS_VM_TMP/ready-now" >>"$CFS_VM_TMP/ready-ms"
	wait_unit_log 'serving cache' $((n + 1)) 60 || scenario_fail "no start-up line"
	line=$(unit_log | grep 'serving cache' | tail -n1)
	grep -q " $total objects recovered" <<<"$line" || scenario_fail "restart $r: not all $total objects recovered"
	sed -n 's/.*, in \([0-9]*\) ms.*/\1/p' <<<"$line" >>"$CFS_VM_TMP/startup-ms"
	unit_log | grep -o 'private view built in [0-9]*' | tail -n1 | grep -o '[0-9]*$' >>"$CFS_VM_TMP/view-ms" || true
	[ "$(ctl_status_number reads)" -ge 1 ] || scenario_fail "restart $r: the new instance answered no READ"
done
store_after=$(fdstore_count)
fds_after=$(fd_count "$(main_pid)")
read -r ready_avg _ ready_max _ <<<"$(summarize "$CFS_VM_TMP/ready-ms")"
read -r read_avg _ read_max _ <<<"$(summarize "$CFS_VM_TMP/read-ms")"
read -r startup_avg _ startup_max _ <<<"$(summarize "$CFS_VM_TMP/startup-ms")"
read -r view_avg _ view_max _ <<<"$(summarize "$CFS_VM_TMP/view-ms")"

# A sample of the mounts, read for the first time now: the last instance serves them.
bad=0
for i in 0 $((objects / 3)) $((objects / 2)) $((objects - 1)); do
	(cd "/mnt/scale/t$i" && sha256sum --check --quiet --strict "$(image_manifest mini)") || bad=$((bad + 1))
done
[ "$bad" = 0 ] || scenario_fail "$bad sampled mounts read wrong data"

t0=$EPOCHREALTIME
mount_many umount /mnt/scale scale 0 "$objects" || scenario_fail "an umount failed"
for ((r = 0; r < restarts; r++)); do umount "/mnt/f$r"; done
umount_s=$(elapsed "$t0")
wait_ctl_objects 0 300 || scenario_fail "objects left after umount"
store_idle=$(fdstore_count)
[ "$store_idle" = 2 ] || scenario_fail "fd store holds $store_idle fds with nothing mounted, expected 2"
fds_end=$(fd_count "$(main_pid)")
[ "$fds_end" = "$fds_idle" ] || scenario_fail "supervisor fds $fds_end, not back to $fds_idle"
systemctl stop "$UNIT"

vm_log "SCALE $total objects: restart to first READ avg $read_avg ms, max $read_max ms; to READY avg" \
	"$ready_avg ms, max $ready_max ms; supervisor start-up avg $startup_avg ms (private view $view_avg ms);" \
	"fd store $store_before before, $store_after after, $store_idle unmounted; supervisor fds $fds_idle idle," \
	"$fds_before before, $fds_after after, $fds_end unmounted"
bench_json bench=restart_scale objects="$total" restarts="$restarts" first_read_avg_ms="$read_avg" \
	first_read_max_ms="$read_max" ready_avg_ms="$ready_avg" ready_max_ms="$ready_max" \
	startup_avg_ms="$startup_avg" startup_max_ms="$startup_max" view_avg_ms="$view_avg" view_max_ms="$view_max" \
	fdstore_before="$store_before" fdstore_after="$store_after" fdstore_idle="$store_idle" \
	sup_fds_idle="$fds_idle" sup_fds_before="$fds_before" sup_fds_after="$fds_after" mount_s="$mount_s" \
	umount_s="$umount_s" sample_bad="$bad"
scenario_end objects="$total" first_read_avg_ms="$read_avg" ready_avg_ms="$ready_avg" fdstore="$store_after"
