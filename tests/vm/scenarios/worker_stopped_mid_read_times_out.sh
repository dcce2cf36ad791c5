#!/bin/bash
# A worker that stops answering (SIGSTOP) mid-read is killed after the request
# timeout and replaced; its requests go to another worker and the readers
# finish with every checksum matching.
# vm-images: small:small
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"

scenario_begin worker_stopped_mid_read_times_out

blobs=$BLOBS
stage_blob small small /mnt/small
supervisor_start --blob-dir "$blobs" --workers 2 --request-timeout 1500

mount -t erofs none -o fsid=small /mnt/small
check_tree /mnt/small "$(image_manifest small)" 4 &
reader=$!
# Stop a worker while the readers are running: it will hold requests.
read -ra pids <<<"$(worker_pids)"
stopped=${pids[0]}
kill -STOP "$stopped"
vm_log "stopped worker $stopped"
wait "$reader" || scenario_fail "readers saw errors or bad data"
umount /mnt/small
[ -e "/proc/$stopped" ] && scenario_fail "stopped worker $stopped is still alive"
supervisor_stop || scenario_fail "supervisor exit status $?"
[ "${STAT[failed]}" = 0 ] || scenario_fail "${STAT[failed]} requests failed"
# Dispatch favours the least loaded worker, so the stopped one is handed
# requests it never answers: the timeout must have fired.
[ "${STAT[timeouts]}" -ge 1 ] || scenario_fail "no request timed out"
grep -q "pid $stopped): killing it: request timeout" "$SUP_LOG" || scenario_fail "stopped worker not killed for the timeout"
scenario_end stopped_pid="$stopped" timeouts="${STAT[timeouts]}" deaths="${STAT[deaths]}" \
	spawns="${STAT[spawns]}" restores="${STAT[restores]}"
