#!/bin/bash
# Benchmark, one boot: cold reads of a 256 MiB file (file256) and of a tree
# of 10 000 files of 1-8 KB (tree10k), by 1 and by 4 parallel readers,
# through the erofs file-backed mount (no daemon), the rig's single-process
# baseline daemon, and the supervisor with 1, 2 and 4 workers.
# The supervisor runs with each of CFS_BENCH_SETTINGS (its defaults, and
# read-window=0: exact fills, the same requests the baseline answers). A
# cache-warm run reads through the supervisor what an earlier read left in
# the cache file: the limit of the fscache path. Then one reader again with
# everything pinned to one CPU (see the loop below), and random 4 KiB reads
# of file256's file with each setting (CFS_BENCH_RANDOM of them).
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
#   CFS_BENCH_SETTINGS      supervisor settings to compare ("default
#                           read-window=0"): each "default" or OPTION=VALUE
#                           pairs joined by commas, passed as --OPTION VALUE,
#                           e.g. "read-window=4M,readahead=0" or "prefetch=all"
#   CFS_BENCH_READ_WINDOWS  older form: --read-window values ("default 0")
#   CFS_BENCH_RANDOM        random 4 KiB reads per run, 0: none (2000)
#   CFS_BENCH_NO_BASELINE   1: skip the baseline daemon (quicker A/B runs)
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
windows=${CFS_BENCH_SETTINGS:-}
if [ -z "$windows" ]; then
	for w in ${CFS_BENCH_READ_WINDOWS:-default 0}; do
		[ "$w" = default ] && windows+=" default" || windows+=" read-window=$w"
	done
fi
random_reads=${CFS_BENCH_RANDOM:-2000}
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
# one_run SHAPE READERS CONFIG [WORKERS [SETTINGS]]; CONFIG: file-backed, baseline, supervisor,
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
	vm_log "RUN $shape readers=$n cpus=$cpus $config workers=$workers settings=$window: $READ_S s, $mib_s MiB/s," \
		"READ requests ${LAT[reads]:--}, latency p50/p99 ${LAT[p50]:--}/${LAT[p99]:--} us"
	bench_json bench=cold_read shape="$shape" readers="$n" cpus="$cpus" config="$config" workers="$workers" \
		settings="$window" bytes="${PAYLOAD[$shape]}" seconds="$READ_S" mib_s="$mib_s" \
		mount_s="$mount_s" ok="$ok" lat_p50_us="${LAT[p50]:-}" lat_p90_us="${LAT[p90]:-}" \
		lat_p99_us="${LAT[p99]:-}" lat_max_us="${LAT[max]:-}" read_requests="${LAT[reads]:-}" \
		filled_bytes="${LAT[filled]:-}" readahead_bytes="${LAT[stat_readahead]:-}" joined="${LAT[stat_joined]:-}"
}

# random_run CONFIG [SETTINGS]: random 4 KiB reads of file256's file, cold,
# one reader; CONFIG file-backed or supervisor (2 workers). Every run must
# read the same bytes as the first.
random_sum=''
random_run() {
	local config=$1 settings=${2:--} name sum t0 s
	run_no=$((run_no + 1))
	name=file256-r$run_no
	LAT=()
	cache_wipe
	if [ "$config" = file-backed ]; then
		mount -t erofs -o ro "$BENCH_BLOBS/file256" "$mnt"
	else
		sup_args 2 "$settings"
		supervisor_start "${SUP_ARGS[@]}"
		ln -f "$BENCH_BLOBS/file256" "$BENCH_BLOBS/$name"
		mount -t erofs none -o "fsid=$name" "$mnt"
	fi
	drop_caches
	t0=$EPOCHREALTIME
	sum=$(random_read_sum "$mnt/$(cut -c67- "$(image_manifest file256)")" "$random_reads") || scenario_fail "$name: random reads failed"
	s=$(elapsed "$t0")
	[ "$config" = file-backed ] || sup_latency || scenario_fail "$name: no stats line"
	umount "$mnt"
	[ "$config" = file-backed ] || supervisor_stop || scenario_fail "supervisor exit status $?"
	rm -f "$BENCH_BLOBS/$name"
	[ -n "$random_sum" ] || random_sum=$sum
	[ "$sum" = "$random_sum" ] || scenario_fail "$name: random reads returned other bytes ($sum, not $random_sum)"
	vm_log "RUN random 4K x$random_reads $config settings=$settings: $s s, READ requests ${LAT[reads]:--}," \
		"filled ${LAT[filled]:--} bytes"
	bench_json bench=random_read reads="$random_reads" config="$config" settings="$settings" seconds="$s" \
		read_requests="${LAT[reads]:-}" filled_bytes="${LAT[filled]:-}" ok="$([ "$sum" = "$random_sum" ] && echo 1 || echo 0)"
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
	[ "$random_reads" -gt 0 ] && [[ " $shapes " == *" file256 "* ]] || continue
	random_run file-backed
	for win in $windows; do
		random_run supervisor "$win"
	done
done
scenario_end runs="$run_no"
