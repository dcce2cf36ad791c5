#!/bin/bash
# Benchmark: how long a worker's SIGKILL stalls the reads. While one reader
# reads the 256 MiB file cold, a worker is SIGKILLed every 0.2-0.4 s; each
# time the supervisor logs "first READ since worker pid P died waited N ms"
# (from the death seen on its pidfd, or from that READ's arrival if later, to
# its READ_COMPLETE: readahead makes READs rare, and a READ that arrives a
# second after the death did not wait for it). With
# 1 worker every such READ waits for the respawned worker; with 2 the other
# one carries on. Each pass starts the supervisor on an emptied cache (a
# pass fills 256 MiB of the 512 MiB cache fs); the file is checked after
# every pass. One JSON line per worker count in $CFS_OUT/bench.jsonl.
#
# Environment: CFS_BENCH_KILLS (20 per worker count), CFS_BENCH_RECOVERY_WORKERS
# ("1 2"), CFS_BENCH_SUP_ARGS (more supervisor arguments).
# vm-images: file256:file256
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"
. "$CFS_SRC/tests/bench/bench-lib.sh"

want_kills=${CFS_BENCH_KILLS:-20}
workers_list=${CFS_BENCH_RECOVERY_WORKERS:-1 2}
scenario_begin bench_worker_recovery

mnt=$BENCH_MNT
stage_image file256
samples=$CFS_VM_TMP/recovery-ms
pattern='first READ since worker'

# kill_pass WORKERS PASS: one cold read of the file with kills; adds to KILLS.
kill_pass() {
	local workers=$1 name=file256-w$1-p$2 reader victims n
	cache_wipe
	sup_args "$workers"
	supervisor_start "${SUP_ARGS[@]}"
	ln -f "$BENCH_BLOBS/file256" "$BENCH_BLOBS/$name"
	mount -t erofs none -o "fsid=$name" "$mnt"
	# dd, not sha256sum: hashing under TCG would take the CPU the respawn needs.
	dd if="$mnt/$IMAGE_FILE" of=/dev/null bs=1M status=none &
	reader=$!
	while [ "$KILLS" -lt "$want_kills" ] && kill -0 "$reader" 2>/dev/null; do
		sleep "0.$((RANDOM % 3 + 2))"
		# shellcheck disable=SC2207 # pids are words
		victims=($(worker_pids))
		if [ "${#victims[@]}" = 0 ] || ! kill -0 "$reader" 2>/dev/null; then
			continue
		fi
		n=$(grep -c "$pattern" "$SUP_LOG" || true)
		kill -KILL "${victims[RANDOM % ${#victims[@]}]}"
		KILLS=$((KILLS + 1))
		# The next kill waits for this recovery, so each sample is one death.
		# A kill as the reader finishes may find no READ left to complete.
		wait_log "$SUP_LOG" "$pattern" $((n + 1)) 30 || ! kill -0 "$reader" 2>/dev/null ||
			scenario_fail "no READ completed after kill $KILLS"
	done
	wait "$reader" || scenario_fail "$name: the reader failed"
	image_file_ok "$mnt" || scenario_fail "$name: content differs"
	umount "$mnt"
	supervisor_stop || scenario_fail "supervisor exit status $?"
	[ "${STAT[failed]}" = 0 ] || scenario_fail "$name: ${STAT[failed]} requests failed"
	sed -n "s/.*$pattern pid [0-9]* died waited \([0-9.]*\) ms.*/\1/p" "$SUP_LOG" >>"$samples"
	rm -f "$BENCH_BLOBS/$name"
}

for workers in $workers_list; do
	: >"$samples"
	KILLS=0 pass=0
	while [ "$KILLS" -lt "$want_kills" ] && [ "$pass" -lt 12 ] && [ "$SCENARIO_FAILED" = 0 ]; do
		kill_pass "$workers" "$pass"
		pass=$((pass + 1))
	done
	read -r avg p50 max n <<<"$(summarize "$samples")"
	vm_log "RECOVERY workers=$workers: $KILLS kills, first READ after the kill waited: avg $avg ms, p50 $p50 ms," \
		"max $max ms ($n samples, $pass passes)"
	bench_json bench=worker_recovery workers="$workers" kills="$KILLS" samples="$n" avg_ms="$avg" \
		p50_ms="$p50" max_ms="$max" passes="$pass" all_ms="$(paste -sd ' ' "$samples")"
done
scenario_end
