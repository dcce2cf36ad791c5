#!/bin/bash
# Benchmark, one boot: cold reads of a 256 MiB file (file256) and of a tree
# of 10 000 files of 1-8 KB (tree10k), by 1 and by 4 parallel readers,
# through the erofs file-backed mount (no daemon), the rig's single-process
# baseline daemon, and the supervisor with 1, 2 and 4 workers.
# The supervisor runs with each --read-window of CFS_BENCH_READ_WINDOWS (its
# default, and 0: exact fills, the same requests the baseline answers). Then
# one reader again with everything pinned to one CPU (see the loop below).
# Every run starts cold: a new blob name (so a new cache object), an emptied
# cache dir, dropped page cache. The clock covers the reads only (not mount
# or daemon start); every byte is then checked against the manifest. The
# supervisor's READ latency (device read to READ_COMPLETE) comes from its
# SIGUSR1 stats line. One JSON line per run in $CFS_OUT/bench.jsonl.
#
# Environment (tests/bench/run.sh sets them from its options):
#   CFS_BENCH_REPS          repetitions of the whole matrix, interleaved (1)
#   CFS_BENCH_SHAPES        images to read ("file256 tree10k")
#   CFS_BENCH_READERS       reader counts ("1 4")
#   CFS_BENCH_WORKERS       supervisor worker counts ("1 2 4")
#   CFS_BENCH_READ_WINDOWS  --read-window values for the supervisor runs
#                           ("default 0": its default, and exact fills as
#                           the baseline daemon makes), e.g. "0 256K 1M 4M"
#   CFS_BENCH_PINNED        1: also one reader with everything on one CPU (1)
#   CFS_BENCH_SUP_ARGS      more supervisor arguments
# vm-images: file256:file256 tree10k:tree10k
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"
. "$CFS_SRC/tests/bench/bench-lib.sh"

reps=${CFS_BENCH_REPS:-1}
shapes=${CFS_BENCH_SHAPES:-file256 tree10k}
readers_list=${CFS_BENCH_READERS:-1 4}
workers_list=${CFS_BENCH_WORKERS:-1 2 4}
windows=${CFS_BENCH_READ_WINDOWS:-default 0}
pinned=${CFS_BENCH_PINNED:-1}
scenario_begin bench_cold_reads

mnt=$BENCH_MNT
declare -A PAYLOAD
for shape in $shapes; do
	stage_image "$shape"
	# Payload bytes, what MiB/s is made of (the image also holds metadata).
	mount -t erofs -o ro "$BENCH_BLOBS/$shape" "$mnt"
	PAYLOAD[$shape]=$(cd "$mnt" && find . -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
	umount "$mnt"
done

# read_tree DIR MANIFEST READERS: every file, round robin over the readers.
read_tree() {
	local dir=$1 manifest=$2 n=$3 work pids=() i
	work=$(mktemp -d "$CFS_VM_TMP/parts.XXXXXX")
	cut -c67- "$manifest" | awk -v n="$n" -v d="$work" '{ print > (d "/part." (NR % n)) }'
	for i in "$work"/part.*; do
		(cd "$dir" && exec xargs -d '\n' cat -- <"$i" >/dev/null) &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i" || return 1
	done
	rm -rf "$work"
}

# read_file FILE READERS: each reader takes one contiguous slice, 1 MiB at a time.
read_file() {
	local file=$1 n=$2 mib i pids=() slice
	mib=$(($(stat -c %s "$file") >> 20))
	slice=$(((mib + n - 1) / n))
	for ((i = 0; i < n; i++)); do
		dd if="$file" of=/dev/null bs=1M skip=$((i * slice)) count="$slice" status=none &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i" || return 1
	done
}

# timed_read SHAPE READERS: reads everything under $mnt, sets READ_S.
timed_read() {
	local shape=$1 n=$2 t0 manifest
	manifest=$(image_manifest "$shape")
	drop_caches
	t0=$EPOCHREALTIME
	if [ "$(wc -l <"$manifest")" = 1 ]; then
		read_file "$mnt/$(cut -c67- "$manifest")" "$n"
	else
		read_tree "$mnt" "$manifest" "$n"
	fi
	READ_S=$(elapsed "$t0")
}

# verify SHAPE: every byte under $mnt against the manifest (outside the clock).
verify() {
	(cd "$mnt" && sha256sum --check --quiet --strict "$(image_manifest "$1")") >"$CFS_VM_TMP/verify" 2>&1 && return 0
	head -5 "$CFS_VM_TMP/verify"
	return 1
}

run_no=0 cpus=all warm_reads=0
# one_run SHAPE READERS CONFIG [WORKERS [WINDOW]]; CONFIG: file-backed, baseline, supervisor,
# or cache-warm: the supervisor's mount read once untimed, so the timed read
# finds every byte in the cache file and sends no READ: the limit of the
# fscache path on this rig, whatever the daemon does.
# With cpus=1 the daemon, its workers and the readers all run on CPU 0.
one_run() {
	local shape=$1 n=$2 config=$3 workers=${4:-0} window=${5:--} name mount_s t0 ok=1 mib_s line
	run_no=$((run_no + 1))
	name=$shape-r$run_no
	LAT=()
	cache_wipe
	[ "$cpus" = all ] || taskset -pc 0 $BASHPID >/dev/null
	case $config in
	file-backed)
		t0=$EPOCHREALTIME
		mount -t erofs -o ro "$BENCH_BLOBS/$shape" "$mnt"
		;;
	baseline)
		daemon_start baseline "$(baseline_daemon_bin)" --cache-dir "$CFS_CACHE_DIR" --blob-dir "$BENCH_BLOBS" \
			2>>"$CFS_OUT/baseline.log"
		;;
	supervisor|cache-warm)
		sup_args "$workers" "$window"
		supervisor_start "${SUP_ARGS[@]}"
		;;
	esac
	if [ "$config" != file-backed ]; then
		ln -f "$BENCH_BLOBS/$shape" "$BENCH_BLOBS/$name"
		t0=$EPOCHREALTIME
		mount -t erofs none -o "fsid=$name" "$mnt"
	fi
	mount_s=$(elapsed "$t0")
	if [ "$config" = cache-warm ]; then
		timed_read "$shape" "$n" || { ok=0; scenario_fail "$name: $config: a filling reader failed"; }
		sup_latency || scenario_fail "$name: no stats line"
		warm_reads=${LAT[reads]}
	fi
	timed_read "$shape" "$n" || { ok=0; scenario_fail "$name: $config: a reader failed"; }
	if [ "$config" != file-backed ] && [ "$config" != baseline ]; then
		sup_latency || scenario_fail "$name: no stats line"
	fi
	# cache-warm: the READs of its timed read alone (none, if the cache file kept everything).
	[ "$config" != cache-warm ] || LAT[reads]=$((LAT[reads] - warm_reads))
	verify "$shape" || { ok=0; scenario_fail "$name: $config: content differs"; }
	umount "$mnt"
	case $config in
	baseline)
		daemon_stop baseline || scenario_fail "baseline daemon exit status $?"
		# Its last line: "baseline-daemon: N opens, N reads, ..."
		line=$(tail -n1 "$CFS_OUT/baseline.log")
		line=${line#*opens, }
		LAT[reads]=${line%% reads*}
		;;
	supervisor|cache-warm) supervisor_stop || scenario_fail "supervisor exit status $?" ;;
	esac
	rm -f "$BENCH_BLOBS/$name"
	taskset -pc "0-$(($(nproc --all) - 1))" $BASHPID >/dev/null
	mib_s=$(mibps "${PAYLOAD[$shape]}" "$READ_S")
	vm_log "RUN $shape readers=$n cpus=$cpus $config workers=$workers window=$window: $READ_S s, $mib_s MiB/s," \
		"READ requests ${LAT[reads]:--}, latency p50/p99 ${LAT[p50]:--}/${LAT[p99]:--} us"
	bench_json bench=cold_read shape="$shape" readers="$n" cpus="$cpus" config="$config" workers="$workers" \
		read_window="$window" bytes="${PAYLOAD[$shape]}" seconds="$READ_S" mib_s="$mib_s" \
		mount_s="$mount_s" ok="$ok" lat_p50_us="${LAT[p50]:-}" lat_p90_us="${LAT[p90]:-}" \
		lat_p99_us="${LAT[p99]:-}" lat_max_us="${LAT[max]:-}" read_requests="${LAT[reads]:-}"
}

for ((rep = 1; rep <= reps; rep++)); do
	for shape in $shapes; do
		cpus=all
		for n in $readers_list; do
			one_run "$shape" "$n" file-backed
			[ "${CFS_BENCH_NO_BASELINE:-0}" = 1 ] || one_run "$shape" "$n" baseline
			one_run "$shape" "$n" cache-warm 2 default
			for w in $workers_list; do
				for win in $windows; do
					one_run "$shape" "$n" supervisor "$w" "$win"
				done
			done
		done
		# One reader with everything on one CPU: no cross-CPU wake-ups, which
		# cost milliseconds under TCG on a busy host and hit the two
		# daemons differently.
		[ "$pinned" = 1 ] || continue
		cpus=1
		one_run "$shape" 1 file-backed
		one_run "$shape" 1 baseline
		for win in $windows; do
			one_run "$shape" 1 supervisor 1 "$win"
		done
	done
done
scenario_end runs="$run_no"
