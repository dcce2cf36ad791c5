#!/bin/bash
# The benchmarks, one command on the host:
#
#   tests/bench/run.sh [--quick] [--reps N] [--only NAME,...] [--settings LIST] [--read-windows LIST]
#                      [--random N] [--sup-args ARGS] [--report]
#
# Builds the project (meson, in $CFS_BUILD or else build-bench/ in the source
# tree) and the images, boots the 6.12 test kernel under qemu (TCG) once per
# scenario in tests/bench/, merges what they measured into
# BUILD/bench-results.json and prints the tables (Markdown). Scenarios:
#   cold_reads           every throughput comparison and the READ latency, one boot
#   worker_recovery      worker SIGKILL to the next completed READ
#   supervisor_recovery  supervisor SIGKILL under systemd to the next answered READ
#   restart_scale        systemctl restart with 10 000 open objects (--quick: 1 000): time to
#                        the first READ and to READY, fd store, fds
#   remote_reads         a 256 MiB image in a registry over loopback shaped by netem (20 ms
#                        RTT, 200 Mbit/s): first file and full read on demand against pulling
#                        the blob and mounting the file; a second mount sends no range request
#   unit_options         the same restart with each of systemd's mount-namespace options added
#                        (not in the default set: --only unit_options; about 15 minutes)
# Options:
#   --quick              fewer samples: 6-10 minutes instead of 15-30 (host load decides)
#   --reps N             run the cold-read matrix N times, interleaved; tables show medians (1)
#   --only NAME,...      these scenarios only (the tables keep the others' last results)
#   --settings LIST      supervisor settings the cold reads compare ("default read-window=0"):
#                        each "default" or OPTION=VALUE pairs joined by commas, passed as
#                        --OPTION VALUE; e.g. the issue 9 matrix:
#                        "default read-window=0 read-window=256K read-window=4M readahead=0 prefetch=all"
#   --read-windows LIST  the same for --read-window values only ("default 0")
#   --random N           random 4 KiB reads of file256 per setting, 0: none (2000)
#   --sup-args ARGS      more supervisor arguments, in every scenario
#   --report             print the tables of the last results again, run nothing
# A benchmark prints figures: it fails (status 1) when data read back is wrong
# or a scenario breaks, never on timing.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=$(realpath -m "${CFS_BUILD:-$src/build-bench}")
outs=$build/bench-out
results=$build/bench-results.json

usage() {
	sed -n '2,5p' "$0" | sed 's/^# \{0,3\}//' >&2
	exit 2
}

only=cold_reads,worker_recovery,supervisor_recovery,restart_scale,remote_reads report_only=0
export CFS_BENCH_REPS=1
while [ $# -gt 0 ]; do
	case $1 in
	--quick)
		export CFS_BENCH_READ_WINDOWS=default CFS_BENCH_KILLS=8 CFS_BENCH_RECOVERY_WORKERS=1 \
			CFS_BENCH_SUP_KILLS=4 CFS_BENCH_OBJECTS=1000 CFS_BENCH_RESTARTS=2
		;;
	--reps) CFS_BENCH_REPS=$2; shift ;;
	--only) only=$2; shift ;;
	--read-windows) export CFS_BENCH_READ_WINDOWS=$2; shift ;;
	--settings) export CFS_BENCH_SETTINGS=$2; shift ;;
	--random) export CFS_BENCH_RANDOM=$2; shift ;;
	--sup-args) export CFS_BENCH_SUP_ARGS=$2; shift ;;
	--report) report_only=1 ;;
	--help|-h) usage ;;
	*) echo "bench: unknown argument $1" >&2; usage ;;
	esac
	shift
done

report() {
	python3 "$here/report.py" "$outs" "$results"
}
if [ "$report_only" = 1 ]; then
	report
	exit
fi

"$src/tests/setup-deps.sh" >/dev/null || exit 1
[ -f "$build/build.ninja" ] || meson setup "$build" -Dwerror=true >/dev/null
meson compile -C "$build" >/dev/null || meson compile -C "$build"
export CFS_BUILD=$build CFS_BASELINE_DAEMON=$build/tests/vm/baseline-daemon CFS_KILLER=$build/tests/vm/worker-killer

failed=0 t_all=$SECONDS
for name in ${only//,/ }; do
	[ -f "$here/$name.sh" ] || { echo "bench: no scenario $name" >&2; exit 2; }
	out=$outs/$name
	mkdir -p "$out"
	rm -f "$out/bench.jsonl" "$out/run.json"
	mem=2048
	[ "$name" = cold_reads ] && mem=3072 # blobs, cache fs and page cache of a 256 MiB file
	# The registry's copy and the pulled one (tmpfs), the cache fs, page cache.
	[ "$name" = remote_reads ] && mem=3072
	# Thousands of erofs mounts: the 20 000-object scenario runs with 8 GiB too.
	[ "$name" = restart_scale ] && [ "${CFS_BENCH_OBJECTS:-10000}" -gt 2500 ] && mem=8192
	echo "== bench $name" >&2
	t0=$EPOCHREALTIME rc=0
	# run-vm.sh kills the VM at --timeout; the outer timeout guards run-vm.sh itself.
	timeout 3700 "$src/tests/vm/run-vm.sh" --timeout 3600 --mem "$mem" --out "$out" "$here/$name.sh" \
		>"$out/console.log" 2>&1 || rc=$?
	wall=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')
	grep -E '^\[[0-9:.]+\] (RUN|RECOVERY|SCALE|UNIT|REMOTE|FAIL)|^SCENARIO|^run-vm: boot' "$out/console.log" >&2 || true
	printf '{"status": %d, "wall_s": %s, "finished": "%s"}\n' "$rc" "$wall" "$(date -Is)" >"$out/run.json"
	echo "== bench $name: status $rc, $wall s (console: $out/console.log)" >&2
	[ "$rc" = 0 ] || failed=1
done
echo "== all benchmarks: $((SECONDS - t_all)) s" >&2
echo
report
exit "$failed"
