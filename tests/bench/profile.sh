#!/bin/bash
# Where the time goes (not part of run.sh; run it when a target is missed):
#   CFS_BUILD=... tests/vm/run-vm.sh --mem 3072 --out DIR tests/bench/profile.sh
# Samples every CPU with perf (cpu-clock: TCG has no hardware counters) in
#  1. a cold read of file256 and of tree10k (1 reader, exact fills, all on
#     one vCPU) through the baseline daemon, then the supervisor (1 worker);
#  2. 20 worker respawns: the idle supervisor's only worker is SIGKILLed and
#     a fresh 1 MiB of file256 is read, which waits for its replacement;
#  3. one respawn under strace -f -ttt: the timeline of the steps.
# Leaves perf-*.txt (by process and by symbol), respawn-strace.txt and
# kallsyms in DIR: perf in the guest may print kernel addresses unresolved,
# kallsyms (sorted) names them.
# vm-images: file256:file256 tree10k:tree10k
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"
. "$CFS_SRC/tests/bench/bench-lib.sh"

scenario_begin bench_profile
mnt=$BENCH_MNT
stage_image tree10k
stage_image file256
file=$mnt/$IMAGE_FILE
perf_data=$CFS_VM_TMP/perf.data
sort /proc/kallsyms >"$CFS_OUT/kallsyms"

perf_start() {
	perf record -a -g -F "${1:-999}" -e cpu-clock -o "$perf_data" >/dev/null 2>&1 &
	PERF_PID=$!
	sleep 1 # perf under TCG takes a moment to start sampling
}

# perf_stop NAME: the report by process and the top symbols, in $CFS_OUT/perf-NAME.txt.
perf_stop() {
	kill -INT "$PERF_PID"
	wait "$PERF_PID" || true
	# Whole reports: head would end perf with SIGPIPE, which pipefail reports.
	{
		perf report -i "$perf_data" --no-children --sort comm --stdio -g none 2>/dev/null
		perf report -i "$perf_data" --no-children --sort comm,dso --stdio -g none 2>/dev/null
		perf report -i "$perf_data" --no-children --sort comm,dso,sym --stdio -g none 2>/dev/null
	} | grep -av '^$' >"$CFS_OUT/perf-$1.txt" || true
}

# 1. Cold reads, exact fills, on CPU 0: what each READ costs, no cross-CPU wake-ups.
taskset -pc 0 $BASHPID >/dev/null
for shape in file256 tree10k; do
	for config in baseline supervisor; do
		cache_wipe
		if [ "$config" = baseline ]; then
			daemon_start baseline "$(baseline_daemon_bin)" --cache-dir "$CFS_CACHE_DIR" --blob-dir "$BENCH_BLOBS"
		else
			supervisor_start --blob-dir "$BENCH_BLOBS" --workers 1 --read-window 0
		fi
		ln -f "$BENCH_BLOBS/$shape" "$BENCH_BLOBS/read-$config"
		mount -t erofs none -o "fsid=read-$config" "$mnt"
		drop_caches
		perf_start
		t0=$EPOCHREALTIME
		(cd "$mnt" && cut -c67- "$(image_manifest "$shape")" | xargs -d '\n' cat -- >/dev/null)
		vm_log "PROFILE $shape read through $config: $(elapsed "$t0") s"
		perf_stop "read-$shape-$config"
		umount "$mnt"
		if [ "$config" = baseline ]; then daemon_stop baseline; else supervisor_stop; fi
		rm "$BENCH_BLOBS/read-$config"
	done
done
taskset -pc 0-1 $BASHPID >/dev/null

# 2. Respawns, nothing else running.
cache_wipe
supervisor_start --blob-dir "$BENCH_BLOBS" --workers 1 --read-window 0
ln -f "$BENCH_BLOBS/file256" "$BENCH_BLOBS/respawn"
mount -t erofs none -o fsid=respawn "$mnt"
dd if="$file" of=/dev/null bs=1M count=1 status=none
perf_start 4999
# No polling of the log in between: it would be most of the profile.
for ((k = 1; k <= 20; k++)); do
	kill -KILL "$(worker_pids)"
	dd if="$file" of=/dev/null bs=1M count=1 skip=$((k * 4)) status=none
	sleep 0.3
done
perf_stop respawn
grep 'first READ since worker' "$SUP_LOG" | tail -n 20 >"$CFS_OUT/respawn-times.txt"

# 3. One respawn, step by step.
strace -f -ttt -s 64 -o "$CFS_OUT/respawn-strace.txt" -p "$SUP_PID" &
strace_pid=$!
sleep 2
kill -KILL "$(worker_pids)"
dd if="$file" of=/dev/null bs=1M count=1 skip=100 status=none
sleep 1
kill -INT "$strace_pid"
wait "$strace_pid" || true
umount "$mnt"
supervisor_stop
scenario_end
