#!/bin/bash
# Issue 16 on the real kernel: one worker serves 3 000 mini images in turn,
# far more objects than its fds could hold at two each (RLIMIT_NOFILE 4096).
# Each image is mounted and every file of it read and checked before the
# next, so the worker adopts the objects one after the other; the
# supervisor keeps it to its budget of 1 024 by sending DROPs for the least
# recently used. No request fails, no worker dies, the worker's open fds
# stay near 2 x 1 024 (sampled from /proc every 10 images), and once
# everything is unmounted the supervisor's and the worker's fds are back to
# idle.
#
# Environment: CFS_BUDGET_MOUNTS (3000).
# vm-images: mini:mini
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"

mounts=${CFS_BUDGET_MOUNTS:-3000}
budget=1024
scenario_begin one_worker_serves_thousands_of_objects_within_its_fd_budget

mkdir -p "$BLOBS"
cp "$(image_path mini)" "$BLOBS/t0"
link_many "$BLOBS" "$mounts"
supervisor_start --blob-dir "$BLOBS" --workers 1
fds_idle=$(fd_count "$SUP_PID")
# Its worker's fds once it said HELLO (a worker still starting holds others).
deadline=$((SECONDS + 30))
until [ "$(ctl_status_number ready)" = 1 ]; do
	[ "$SECONDS" -lt "$deadline" ] || { scenario_fail "no worker ready after 30 s"; break; }
	sleep 0.1
done
workers=$(worker_pids)
[ "$(wc -w <<<"$workers")" = 1 ] || scenario_fail "expected one worker, found: $workers"
read -r worker _ <<<"$workers"
worker_fds_idle=$(fd_count "$worker")

# One process mounts, reads and checks each image in turn, sampling the
# worker's fds; one domain_id, so one volume, under a private tmpfs.
mkdir -p /mnt/many
mount -t tmpfs -o size=4M many /mnt/many
mount --make-private /mnt/many
t0=$EPOCHREALTIME
peak=$(python3 - "$mounts" "$(image_manifest mini)" "$worker" <<'PY'
import ctypes, hashlib, os, sys
libc = ctypes.CDLL(None, use_errno=True)
n, manifest, worker = int(sys.argv[1]), sys.argv[2], sys.argv[3]
files = [line.rstrip("\n").split("  ", 1) for line in open(manifest)]
peak = 0
for i in range(n):
    target = b"/mnt/many/t%d" % i
    os.makedirs(target, exist_ok=True)
    if libc.mount(b"none", target, b"erofs", 0, b"domain_id=many,fsid=t%d" % i) != 0:
        sys.exit("mount %s: %s" % (target.decode(), os.strerror(ctypes.get_errno())))
    for digest, path in files:
        with open(os.path.join(target.decode(), path), "rb") as f:
            if hashlib.sha256(f.read()).hexdigest() != digest:
                sys.exit("t%d/%s: wrong data" % (i, path))
    if i % 10 == 9 or i == n - 1:
        peak = max(peak, len(os.listdir("/proc/%s/fd" % worker)))
print(peak)
PY
) || scenario_fail "a mount or a read failed"
read_s=$(elapsed "$t0")
vm_log "$mounts images mounted and checked in $read_s s; the worker's peak: ${peak:-?} fds"
wait_ctl_objects "$mounts" 30 || scenario_fail "the supervisor does not hold $mounts objects"
objects=$(ctl_status_number objects || echo '?')

t0=$EPOCHREALTIME
umount -l /mnt/many
wait_ctl_objects 0 120 || scenario_fail "objects left after every umount"
umount_s=$(elapsed "$t0")
wait_fd_count "$SUP_PID" "$fds_idle" 30 || scenario_fail "supervisor fds not back to $fds_idle"
wait_fd_count "$worker" "$worker_fds_idle" 30 || scenario_fail "worker fds not back to $worker_fds_idle"
fds_after=$(fd_count "$SUP_PID")
worker_fds_after=$(fd_count "$worker")
supervisor_stop || scenario_fail "supervisor exit status $?"
[ -n "$peak" ] && [ "$peak" -le $((worker_fds_idle + 2 * budget)) ] ||
	scenario_fail "the worker held ${peak:-?} fds, more than $worker_fds_idle + 2 x $budget"
[ "${STAT[evictions]:-0}" -ge $((mounts - budget)) ] ||
	scenario_fail "only ${STAT[evictions]:-0} evictions for $mounts objects through a budget of $budget"
[ "${STAT[failed]}" = 0 ] || scenario_fail "${STAT[failed]} requests failed"
[ "${STAT[deaths]}" = 0 ] || scenario_fail "${STAT[deaths]} workers died"
[ "${STAT[violations]}" = 0 ] || scenario_fail "${STAT[violations]} protocol violations"
read_errors=$(grep -c "the reader gets an error" "$SUP_LOG" || true)
[ "$read_errors" = 0 ] || scenario_fail "$read_errors READs failed: $(grep -m1 "the reader gets an error" "$SUP_LOG")"
! grep -q "Too many open files\|fd limit" "$SUP_LOG" || scenario_fail "$(grep -m1 "Too many open files\|fd limit" "$SUP_LOG")"
scenario_end mounts="$mounts" objects="$objects" read_s="$read_s" umount_s="$umount_s" budget="$budget" \
	worker_fds_idle="$worker_fds_idle" worker_fds_peak="${peak:-?}" worker_fds_after="$worker_fds_after" \
	evictions="${STAT[evictions]:-?}" opens="${STAT[opens]}" reads="${STAT[reads]}" closes="${STAT[closes]}" \
	deaths="${STAT[deaths]}" failed="${STAT[failed]}" read_errors="$read_errors" fds_idle="$fds_idle" fds_after="$fds_after"
