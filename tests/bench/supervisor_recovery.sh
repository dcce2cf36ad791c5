#!/bin/bash
# Benchmark, systemd as PID 1: how long a SIGKILL of the supervisor stalls
# the reads. While one reader reads the 256 MiB file cold, the supervisor is
# SIGKILLed; systemd restarts it (RestartSec=50ms), it takes its fds back
# from the fd store, writes restore and logs "first READ since start
# answered N ms after start". Measured: kill to that journal line, and the
# part of it after the new instance started. Each pass starts the unit on an
# emptied cache (a pass fills 256 MiB of the 512 MiB cache fs); the file is
# checked after every pass. One JSON line in $CFS_OUT/bench.jsonl.
#
# Environment: CFS_BENCH_SUP_KILLS (10), CFS_BENCH_SUP_ARGS (more supervisor arguments).
# vm-mode: systemd
# vm-images: file256:file256
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"
. "$CFS_SRC/tests/bench/bench-lib.sh"

want_kills=${CFS_BENCH_SUP_KILLS:-10}
scenario_begin bench_supervisor_recovery

mnt=$BENCH_MNT
stage_image file256
pattern='first READ since start answered'
kill_times=$CFS_VM_TMP/kill-times
: >"$kill_times"
sup_args 2
unit_install "${SUP_ARGS[@]}"

# wait_answered N READER: until the journal holds N answered lines. Polling
# it costs a lot of CPU under TCG and would slow the very recovery it waits
# for: look rarely. Returns 2 if READER ended first: a kill as it finished
# may find no READ left to answer.
wait_answered() {
	local want=$1 reader=$2 deadline=$((SECONDS + 60))
	sleep 1.5
	until [ "$(unit_log | grep -c -- "$pattern" || true)" -ge "$want" ]; do
		kill -0 "$reader" 2>/dev/null || return 2
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.5
	done
}

kills=0 pass=0
while [ "$kills" -lt "$want_kills" ] && [ "$pass" -lt 12 ] && [ "$SCENARIO_FAILED" = 0 ]; do
	# stop drops the fd store and unbinds the cache: only then may it be emptied.
	systemctl stop "$UNIT"
	cache_wipe
	systemctl start "$UNIT" || { unit_dump "$UNIT"; exit 1; }
	name=file256-p$pass
	ln -f "$BENCH_BLOBS/file256" "$BENCH_BLOBS/$name"
	mount -t erofs none -o "fsid=$name" "$mnt"
	# dd, not sha256sum: hashing under TCG would take the CPU the recovery needs.
	dd if="$mnt/$IMAGE_FILE" of=/dev/null bs=1M status=none &
	reader=$!
	while [ "$kills" -lt "$want_kills" ]; do
		sleep "0.$((RANDOM % 4 + 5))"
		kill -0 "$reader" 2>/dev/null || break
		n=$(unit_log | grep -c -- "$pattern" || true)
		pid=$(main_pid)
		echo "$EPOCHREALTIME" >>"$kill_times"
		kill -KILL "$pid"
		kills=$((kills + 1))
		rc=0
		wait_answered $((n + 1)) "$reader" || rc=$?
		if [ "$rc" = 1 ]; then
			unit_dump "$UNIT"
			scenario_fail "no READ answered after kill $kills"
			break
		fi
		# No sample: the next pass's first answer must not pair with this kill.
		[ "$rc" = 0 ] || sed -i '$d' "$kill_times"
	done
	wait "$reader" || scenario_fail "$name: the reader failed"
	image_file_ok "$mnt" || scenario_fail "$name: content differs"
	umount "$mnt"
	rm -f "$BENCH_BLOBS/$name"
	pass=$((pass + 1))
done
! unit_log | grep -q "giving up" || scenario_fail "a request failed"

# Where the time goes, from the journal: each kill to systemd seeing the
# death, to its restart job starting the unit, to the new instance serving,
# to its first answered READ (the recovery).
unit_log >"$CFS_OUT/journal.txt"
phases "$kill_times" "$CFS_OUT/journal.txt" "Main process exited, code=killed" "Starting $UNIT" "serving cache" \
	"$pattern" >"$CFS_VM_TMP/phases"
read -r avg p50 max n <<<"$(column_stats "$CFS_VM_TMP/phases" 4)"
read -r exited_avg _ <<<"$(column_stats "$CFS_VM_TMP/phases" 1)"
read -r starting_avg _ <<<"$(column_stats "$CFS_VM_TMP/phases" 2)"
read -r serving_avg _ <<<"$(column_stats "$CFS_VM_TMP/phases" 3)"
vm_log "RECOVERY supervisor SIGKILL: $kills kills, kill to next READ answered: avg $avg ms, p50 $p50 ms," \
	"max $max ms ($n samples); on average systemd saw the death at $exited_avg ms, started the unit at" \
	"$starting_avg ms, the new instance served from $serving_avg ms"
bench_json bench=supervisor_recovery kills="$kills" samples="$n" avg_ms="$avg" p50_ms="$p50" max_ms="$max" \
	death_seen_avg_ms="$exited_avg" unit_starting_avg_ms="$starting_avg" serving_avg_ms="$serving_avg" \
	all_ms="$(cut -d' ' -f4 "$CFS_VM_TMP/phases" | paste -sd ' ')"
systemctl stop "$UNIT"
scenario_end kills="$kills" avg_ms="$avg" max_ms="$max"
