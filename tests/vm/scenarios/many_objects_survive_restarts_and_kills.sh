#!/bin/bash
# Issue 16: many open objects (erofs mounts of a 30 KB image, each its own
# cache object, one domain, and a few of a small image for timed READs)
# survive, in turn, under systemd: `systemctl restart`, a SIGKILL of the
# supervisor, `cachefilesctl reexec`, SIGKILLs of the domain's one worker;
# without systemd (CFS_SCALE_MODE=chroot, the scenario
# many_objects_survive_reexecs_without_systemd): a SIGUSR2 re-exec,
# `cachefilesctl reexec`, worker SIGKILLs. After each, every object is
# recovered and a sample of mounts never read before is read and checked:
# the instance now running serves them through the recovered anon fds, and
# the one worker ends up holding far more objects than it may keep open at
# once. Each action's first READ is timed, read once the old instance is
# gone (a page never read: the new instance must answer it, and is asked
# whether it did). With everything unmounted, the fd store holds device +
# state again and the supervisor its idle fd count.
#
# Environment: CFS_SCALE_OBJECTS (2500; the full-size run is 20000, with
# run-vm.sh --mem 8192), CFS_SCALE_SAMPLE (mounts read per check, 16),
# CFS_SCALE_WORKER_KILLS (3), CFS_SCALE_MODE (systemd or chroot).
# vm-mode: systemd
# vm-images: mini:mini small:small
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"

objects=${CFS_SCALE_OBJECTS:-2500}
# PID 1 re-reads the whole mount table at every mount and umount: after
# 20 000 umounts it did not answer `systemctl show` for over 600 s (TCG).
[ "$objects" -le 5000 ] || UNIT_PATIENCE=${UNIT_PATIENCE:-3600}
sample=${CFS_SCALE_SAMPLE:-16}
worker_kills=${CFS_SCALE_WORKER_KILLS:-3}
mode=${CFS_SCALE_MODE:-systemd}
scenario_begin "${CFS_SCALE_NAME:-many_objects_survive_restarts_and_kills}"

stage_blob small f
cp "$(image_path mini)" "$BLOBS/t0"
link_many "$BLOBS" "$objects"
# Exact fills, no readahead: a mount reads only what it touches, so the
# sampled reads after each action are served by the instance then running.
args=(--blob-dir "$BLOBS" --workers 1 --read-window 0 --readahead 0)
if [ "$mode" = systemd ]; then
	unit_install "${args[@]}"
	systemctl start "$UNIT" || { unit_dump "$UNIT"; exit 1; }
	sup_pid() { main_pid; }
	sup_log() { unit_log; }
else
	supervisor_start "${args[@]}"
	sup_pid() { echo "$SUP_PID"; }
	sup_log() { cat "$SUP_LOG"; }
fi
fds_idle=$(fd_count "$(sup_pid)")

t0=$EPOCHREALTIME
mount_many mount /mnt/scale scale 0 "$objects" || scenario_fail "a mount failed"
mount_s=$(elapsed "$t0")
for ((k = 0; k < worker_kills + 3; k++)); do
	mount_blob_as "f$k" f || scenario_fail "mount f$k failed"
done
total=$((objects + worker_kills + 3))
wait_ctl_objects "$total" 60 || scenario_fail "the supervisor does not hold $total objects"
store_full=-
if [ "$mode" = systemd ]; then
	store_full=$(fdstore_count)
	[ "$store_full" = $((total + 2)) ] || scenario_fail "fd store holds $store_full fds, expected $((total + 2))"
fi
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
	dd if="/mnt/f$2/$far_file" of=/dev/null bs=4096 skip="$far_page" count=1 status=none ||
		{ scenario_fail "the READ of f$2 failed"; return 1; }
	awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f\n", (b - a) * 1000 }'
}
# new_instance_read WHAT: the running instance has answered a READ (its
# count in `cachefilesctl status`), so the timed READ was not served from
# the cache and its time means something.
new_instance_read() {
	local reads
	reads=$(ctl_status_number reads)
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
serving_lines() { sup_log | grep -c 'serving cache' || true; }
# recovered_all N: the Nth start-up line is there and counts every object.
recovered_all() {
	local deadline=$((SECONDS + 120))
	until [ "$(serving_lines)" -ge "$1" ]; do
		[ "$SECONDS" -lt "$deadline" ] || { vm_log "no start-up line $1"; return 1; }
		sleep 0.1
	done
	sup_log | grep 'serving cache' | tail -n1 | grep -q " $total objects recovered" ||
		{ vm_log "not all recovered: $(sup_log | grep 'serving cache' | tail -n1)"; return 1; }
}
check_sample

declare -A first_read=()
f=0
# after_instance_change WHAT N T0 OLD: OLD gone (or, for a re-exec, the new
# image serving), the timed READ, every object recovered, a sample checked.
after_instance_change() {
	[ -z "$4" ] || wait_gone "$4"
	first_read[$1]=$(first_read_ms "$3" "$f")
	f=$((f + 1))
	recovered_all "$2" || scenario_fail "$1: objects lost"
	new_instance_read "$1"
	check_sample
}
# A re-exec keeps the pid: its READ is sent once the new image says it serves.
reexec_by() {
	local n t0
	n=$(($(serving_lines) + 1)) t0=$EPOCHREALTIME
	if [ "$1" = ctl ]; then
		"$CTL_BIN" reexec >/dev/null || scenario_fail "cachefilesctl reexec failed"
	else
		kill -USR2 "$(sup_pid)"
	fi
	recovered_all "$n" || scenario_fail "re-exec by $1: objects lost"
	after_instance_change "reexec_$1" "$n" "$t0" ''
}
if [ "$mode" = systemd ]; then
	n=$(($(serving_lines) + 1)) old=$(main_pid) t0=$EPOCHREALTIME
	systemctl restart --no-block "$UNIT"
	after_instance_change restart "$n" "$t0" "$old"
	n=$(($(serving_lines) + 1)) old=$(main_pid) t0=$EPOCHREALTIME
	kill -KILL "$old"
	after_instance_change sup_kill "$n" "$t0" "$old"
else
	reexec_by sigusr2
fi
reexec_by ctl

: >"$CFS_VM_TMP/worker-ms"
for ((k = 0; k < worker_kills; k++)); do
	read -r w _ <<<"$(cat "/proc/$(sup_pid)/task/$(sup_pid)/children")"
	[ -n "$w" ] || { scenario_fail "no worker to kill"; break; }
	t0=$EPOCHREALTIME
	kill -KILL "$w"
	first_read_ms "$t0" "$f" >>"$CFS_VM_TMP/worker-ms"
	f=$((f + 1))
	check_sample
done
read -r worker_avg worker_max <<<"$(awk '{ s += $1; if ($1 > m) m = $1 } END { printf "%.0f %d\n", s / NR, m }' \
	"$CFS_VM_TMP/worker-ms")"
fds_full=$(fd_count "$(sup_pid)")
times=$(for a in "${!first_read[@]}"; do printf '%s_first_read_ms=%s ' "$a" "${first_read[$a]}"; done)
vm_log "first READ after: $times worker_kill avg $worker_avg ms, max $worker_max ms"

t0=$EPOCHREALTIME
mount_many umount /mnt/scale scale 0 "$objects" || scenario_fail "an umount failed"
for ((k = 0; k < worker_kills + 3; k++)); do
	umount "/mnt/f$k" || scenario_fail "umount f$k failed"
done
umount_s=$(elapsed "$t0")
wait_ctl_objects 0 60 || scenario_fail "objects left after every umount"
store_end=-
if [ "$mode" = systemd ]; then
	store_end=$(fdstore_count)
	[ "$store_end" = 2 ] || scenario_fail "fd store holds $store_end fds with nothing mounted, expected 2"
fi
wait_fd_count "$(sup_pid)" "$fds_idle" 30 || scenario_fail "supervisor fds not back to $fds_idle"
gave_up=$(sup_log | grep -c "giving up\|reader gets an error" || true)
[ "$gave_up" = 0 ] || scenario_fail "$gave_up requests failed: $(sup_log | grep -m1 "giving up\|reader gets an error")"
if [ "$mode" = systemd ]; then systemctl stop "$UNIT"; else supervisor_stop || scenario_fail "exit status $?"; fi
# shellcheck disable=SC2086 # $times: KEY=VALUE words
scenario_end mode="$mode" objects="$total" mount_s="$mount_s" umount_s="$umount_s" checked_mounts="$checked" \
	bad="$bad" $times worker_kills="$worker_kills" worker_kill_first_read_avg_ms="$worker_avg" \
	worker_kill_first_read_max_ms="$worker_max" fdstore_full="$store_full" fdstore_end="$store_end" \
	fds_idle="$fds_idle" fds_full="$fds_full" failed="$gave_up"
