#!/bin/bash
# Issue 17, items 4 and 10: the supervisor started with SIGCHLD ignored and
# blocked and with fds 0, 1 and 2 closed. It puts /dev/null on 0-2 (so the
# state memfd does not become fd 2 and take its log lines), gets SIGCHLD's
# default back (else waitid(P_PIDFD) fails with ECHILD: deaths are never
# handled, held READs hang, the loop spins), and serves 4 readers while its
# workers are SIGKILLed: every checksum right, every death handled, and the
# loop idle afterwards.
# vm-images: big:big
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"

scenario_begin odd_inheritance_is_made_sane

stage_blob big big
env --ignore-signal=CHLD --block-signal=CHLD "$SUP_BIN" --cache-dir "$CFS_CACHE_DIR" --worker-exe "$WORKER_BIN" \
	--blob-dir "$BLOBS" --workers 2 <&- >&- 2>&- &
SUP_PID=$!
deadline=$((SECONDS + 30))
until "$CTL_BIN" status >/dev/null 2>&1; do
	[ "$SECONDS" -lt "$deadline" ] || scenario_fail "the supervisor never answered"
	kill -0 "$SUP_PID" 2>/dev/null || scenario_fail "the supervisor exited"
	sleep 0.2
done
for fd in 0 1 2; do
	target=$(readlink "/proc/$SUP_PID/fd/$fd" || echo closed)
	[ "$target" = /dev/null ] || scenario_fail "fd $fd is $target, expected /dev/null"
done
grep -q '^SigIgn:.*0000000000000000$' "/proc/$SUP_PID/status" ||
	scenario_fail "signals still ignored: $(grep SigIgn "/proc/$SUP_PID/status")"

mount_blob_as img big
check_tree_bg /mnt/img "$(image_manifest big)" 4
kills=0
while readers_running && [ "$kills" -lt 10 ]; do
	sleep 0.5
	w=$(worker_pids | awk '{ print $1 }')
	[ -n "$w" ] && kill -KILL "$w" 2>/dev/null && kills=$((kills + 1))
done
deadline=$((SECONDS + 180))
while readers_running; do
	[ "$SECONDS" -lt "$deadline" ] || { kill "$CHECK_BG_PID"; scenario_fail "readers hung"; break; }
	sleep 1
done
check_tree_wait || scenario_fail "readers saw errors or bad data"
"$CTL_BIN" status --json >"$CFS_OUT/status.json"
deaths=$(sed -n 's/.*"deaths":\([0-9]*\).*/\1/p' "$CFS_OUT/status.json" | head -n1)
[ "${deaths:-0}" -ge "$kills" ] || scenario_fail "$kills workers killed, $deaths deaths handled"

# An idle loop uses no CPU (with ECHILD it spun at 100 %).
ticks() { awk '{ print $14 + $15 }' "/proc/$SUP_PID/stat"; }
t0=$(ticks)
sleep 3
idle_ticks=$(( $(ticks) - t0 ))
[ "$idle_ticks" -lt 30 ] || scenario_fail "the idle supervisor used $idle_ticks ticks in 3 s"
umount /mnt/img
kill -TERM "$SUP_PID"
wait "$SUP_PID" || scenario_fail "the supervisor did not exit cleanly"
scenario_end kills="$kills" deaths="$deaths" files="$CHECK_FILES" bad="$CHECK_BAD" idle_ticks_3s="$idle_ticks"
