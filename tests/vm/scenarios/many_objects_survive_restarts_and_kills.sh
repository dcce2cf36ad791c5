#!/bin/bash
# Issue 16: many open objects (erofs mounts of a 30 KB image, each its own
# cache object, one domain, and a few of a small image for timed READs) under systemd survive, in turn, `systemctl
# restart`, a SIGKILL of the supervisor, `cachefilesctl reexec` (the
# SIGUSR2 path) and SIGKILLs of the domain's one worker. After each, every
# object is recovered and a sample of mounts never read before is read and
# checked: the instance now running serves them, so their READs go through
# the recovered anon fds, and the one worker ends up holding far more
# objects than it may keep open at once. Also measured: the time from each
# action to its first answered READ. With everything unmounted, the fd store
# holds device + state again and the supervisor its idle fd count.
#
# Environment: CFS_SCALE_OBJECTS (3000; the full-size run is 20000, with
# run-vm.sh --mem 8192), CFS_SCALE_SAMPLE (mounts read per check, 24),
# CFS_SCALE_WORKER_KILLS (4).
# vm-mode: systemd
# vm-images: mini:mini small:small
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"

objects=${CFS_SCALE_OBJECTS:-3000}
sample=${CFS_SCALE_SAMPLE:-24}
worker_kills=${CFS_SCALE_WORKER_KILLS:-4}
scenario_begin many_objects_survive_restarts_and_kills

stage_blob small f
cp "$(image_path mini)" "$BLOBS/t0"
for ((i = 1; i < objects; i++)); do
	ln "$BLOBS/t0" "$BLOBS/t$i"
done
# Exact fills, no readahead: a mount reads only what it touches, so the
# sampled reads after each action are served by the instance then running.
unit_install --blob-dir "$BLOBS" --workers 1 --read-window 0 --readahead 0
systemctl start "$UNIT" || { unit_dump "$UNIT"; exit 1; }
fds_idle=$(fd_count "$(main_pid)")
store_idle=$(fdstore_count)

t0=$EPOCHREALTIME
mount_many mount /mnt/scale scale 0 "$objects" || scenario_fail "a mount failed"
mount_s=$(elapsed "$t0")
for ((k = 0; k < worker_kills + 3; k++)); do
	mount_blob_as "f$k" f || scenario_fail "mount f$k failed"
done
total=$((objects + worker_kills + 3))
wait_status_objects "$total" || scenario_fail "STATUS does not show $total objects"
store_full=$(fdstore_count)
[ "$store_full" = $((total + 2)) ] || scenario_fail "fd store holds $store_full fds, expected $((total + 2))"
vm_log "$objects mounts in $mount_s s, fd store $store_full"

# Mounts are read in an order that spreads over all of them, each once.
cursor=0 checked=0 bad=0
# next_mount: NEXT is the next mount in that order.
next_mount() { NEXT=$(((cursor++ * 7919) % objects)); }
# The timed READs: a page deep in a 4 MB file of the small image, one mount
# each (f0, f1, ...), mounted with the others.
far_file=large/blob-2.bin far_page=$((4000000 / 4096 - 1))

# first_read_ms T0 K: reads a page of mount fK never read before (with
# exact fills and no readahead it is not in the cache: the READ goes to the
# daemon), timed from T0 in ms. (Run in $(...): it cannot count for itself.)
first_read_ms() {
	local name=f$2
	dd if="/mnt/$name/$far_file" of=/dev/null bs=4096 skip="$far_page" count=1 status=none ||
		{ scenario_fail "the READ of $name failed"; return 1; }
	awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f\n", (b - a) * 1000 }'
}
# new_instance_read WHAT: the running instance has answered a READ (its
# count in `cachefilesctl status`), so the timed READ was not served from
# the cache and its time means something.
new_instance_read() {
	local reads
	reads=$("$CTL_BIN" status --json | grep -o '"reads":[0-9]*' | head -n1 | cut -d: -f2)
	[ "${reads:-0}" -ge 1 ] || scenario_fail "$1: the new instance answered no READ (reads=${reads:-?})"
}
# wait_gone PID: until the process has exited (its READs can no longer be
# answered by it).
wait_gone() {
	while kill -0 "$1" 2>/dev/null; do sleep 0.01; done
}
# check_sample: $sample mounts never read, every file checked.
check_sample() {
	local k
	for ((k = 0; k < sample; k++)); do
		next_mount
		(cd "/mnt/scale/t$NEXT" && sha256sum --check --quiet --strict "$(image_manifest mini)") >&2 ||
			bad=$((bad + 1))
		checked=$((checked + 1))
	done
	[ "$bad" = 0 ] || scenario_fail "$bad sampled mounts read wrong data"
}
# recovered_all: the running instance's start-up line counts every object.
recovered_all() {
	wait_unit_log 'serving cache' "$1" 60 || return 1
	unit_log | grep 'serving cache' | tail -n1 | grep -q " $total objects recovered" ||
		{ vm_log "not all recovered: $(unit_log | grep 'serving cache' | tail -n1)"; return 1; }
}
serving_lines() { unit_log | grep -c 'serving cache' || true; }
check_sample

# Each first READ is timed from the action, read once the old instance is
# gone: the new one must answer it.
declare -A first_read=()
n=$(serving_lines) old=$(main_pid)
t0=$EPOCHREALTIME
systemctl restart --no-block "$UNIT"
wait_gone "$old"
first_read[restart]=$(first_read_ms "$t0" 0)
recovered_all $((n + 1)) || scenario_fail "restart: objects lost"
new_instance_read restart
check_sample

n=$(serving_lines) old=$(main_pid)
t0=$EPOCHREALTIME
kill -KILL "$old"
wait_gone "$old"
first_read[sup_kill]=$(first_read_ms "$t0" 1)
recovered_all $((n + 1)) || scenario_fail "supervisor SIGKILL: objects lost"
new_instance_read "supervisor SIGKILL"
check_sample

# A re-exec keeps the pid: its READ is sent once the new image has said it serves.
n=$(serving_lines)
t0=$EPOCHREALTIME
"$CTL_BIN" reexec >/dev/null || { unit_dump "$UNIT"; scenario_fail "cachefilesctl reexec failed"; }
recovered_all $((n + 1)) || scenario_fail "re-exec: objects lost"
reexec_ms=$(elapsed "$t0")
first_read[reexec]=$(first_read_ms "$t0" 2)
new_instance_read re-exec
check_sample

: >"$CFS_VM_TMP/worker-ms"
for ((k = 0; k < worker_kills; k++)); do
	read -r w _ <<<"$(cat "/proc/$(main_pid)/task/$(main_pid)/children")"
	[ -n "$w" ] || { scenario_fail "no worker to kill"; break; }
	t0=$EPOCHREALTIME
	kill -KILL "$w"
	first_read_ms "$t0" $((3 + k)) >>"$CFS_VM_TMP/worker-ms"
	check_sample
done
read -r worker_avg worker_max <<<"$(awk '{ s += $1; if ($1 > m) m = $1 } END { printf "%.0f %d\n", s / NR, m }' \
	"$CFS_VM_TMP/worker-ms")"
store_after=$(fdstore_count)
fds_full=$(fd_count "$(main_pid)")
vm_log "first READ after: restart ${first_read[restart]} ms, supervisor SIGKILL ${first_read[sup_kill]} ms," \
	"re-exec ${first_read[reexec]} ms (serving again after $reexec_ms s), worker SIGKILL avg $worker_avg ms max $worker_max ms"

t0=$EPOCHREALTIME
mount_many umount /mnt/scale scale 0 "$objects" || scenario_fail "an umount failed"
for ((k = 0; k < worker_kills + 3; k++)); do
	umount "/mnt/f$k" || scenario_fail "umount f$k failed"
done
umount_s=$(elapsed "$t0")
wait_status_objects 0 || scenario_fail "objects left after every umount"
store_end=$(fdstore_count)
[ "$store_end" = 2 ] || scenario_fail "fd store holds $store_end fds with nothing mounted, expected 2"
wait_fd_count "$(main_pid)" "$fds_idle" 30 || scenario_fail "supervisor fds not back to $fds_idle"
gave_up=$(unit_log | grep -c "giving up\|reader gets an error" || true)
[ "$gave_up" = 0 ] || scenario_fail "$gave_up requests failed: $(unit_log | grep -m1 "giving up\|reader gets an error")"
systemctl stop "$UNIT"
scenario_end objects="$total" mount_s="$mount_s" umount_s="$umount_s" checked_mounts="$checked" bad="$bad" \
	restart_first_read_ms="${first_read[restart]}" sup_kill_first_read_ms="${first_read[sup_kill]}" \
	reexec_first_read_ms="${first_read[reexec]}" reexec_serving_s="$reexec_ms" worker_kills="$worker_kills" \
	worker_kill_first_read_avg_ms="$worker_avg" worker_kill_first_read_max_ms="$worker_max" \
	fdstore_idle="$store_idle" fdstore_full="$store_full" fdstore_after="$store_after" fdstore_end="$store_end" \
	fds_idle="$fds_idle" fds_full="$fds_full" failed="$gave_up"
