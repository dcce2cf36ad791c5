# shellcheck shell=bash
# Helpers for the benchmark scenarios (bash, sourced in the guest after
# tests/vm/lib.sh and supervisor-lib.sh). Benchmarks print figures; they fail
# on bad data or a broken setup, never on timing.
#
#   bench_json KEY=VALUE...      one JSON object per call, appended to
#                                $CFS_OUT/bench.jsonl (numbers bare, text quoted)
#   stage_image NAME             copy image NAME into $BENCH_BLOBS (blob NAME) and
#                                make $BENCH_MNT; for a one-file image, sets
#                                IMAGE_FILE (its path in the image) and IMAGE_SUM
#   image_file_ok DIR            IMAGE_FILE under DIR has IMAGE_SUM
#   cache_wipe                   empty $CFS_CACHE_DIR; no daemon may be bound.
#                                The cache keeps what it was sent: without this
#                                a second run would read from the cache, not cold
#   drop_caches                  sync, then drop page cache, dentries and inodes
#   mibps BYTES SECONDS          MiB/s with one decimal
#   sup_args WORKERS [SETTINGS]  sets SUP_ARGS: the supervisor serving $BENCH_BLOBS
#                                with WORKERS workers and SETTINGS ("default",
#                                or OPTION=VALUE pairs joined by commas, each
#                                passed as --OPTION VALUE), then
#                                $CFS_BENCH_SUP_ARGS
#   sup_latency                  SIGUSR1 to the supervisor; sets LAT[p50 p90 p99
#                                max n] (READ latency, us), LAT[reads],
#                                LAT[filled] (bytes written into the cache
#                                file) and LAT[stat_KEY] for every counter of
#                                the stats line it logs
#   read_tree DIR MANIFEST READERS
#                                cat every file of MANIFEST under DIR, round
#                                robin over READERS parallel readers
#   summarize FILE               "avg p50 max n" of the numbers in FILE (1 decimal)
#   phases TIMES JOURNAL PATTERN...
#                                for each time in TIMES (one a line, ascending):
#                                the ms from it to the first JOURNAL line
#                                (journalctl -o short-unix) holding each PATTERN,
#                                at or after it and before the next time; one
#                                line per time, "-" where there is none
#   column_stats FILE N          "avg p50 max n" of column N of FILE ("-" skipped)
#
# Sourcing it records the guest's clocksource in the JSON: "tsc" is wanted;
# jiffies would make every figure coarse (4 ms steps).

# shellcheck disable=SC2034 # LAT and SUP_ARGS are for the scenarios
BENCH_BLOBS=/srv/blobs BENCH_MNT=/mnt/bench
declare -A LAT

stage_image() {
	mkdir -p "$BENCH_BLOBS" "$BENCH_MNT"
	cp "$(image_path "$1")" "$BENCH_BLOBS/$1"
	IMAGE_FILE=$(cut -c67- "$(image_manifest "$1")")
	IMAGE_SUM=$(cut -c1-64 "$(image_manifest "$1")")
}

image_file_ok() {
	[ "$(sha256sum <"$1/$IMAGE_FILE" | cut -c1-64)" = "$IMAGE_SUM" ]
}

bench_json() {
	local kv k v out=''
	for kv in "$@"; do
		k=${kv%%=*} v=${kv#*=}
		if [[ $v =~ ^-?(0|[1-9][0-9]*)(\.[0-9]+)?$ ]]; then
			out+=",\"$k\":$v"
		else
			v=${v//\\/\\\\}
			out+=",\"$k\":\"${v//\"/\\\"}\""
		fi
	done
	echo "{${out#,}}" >>"$CFS_OUT/bench.jsonl"
}

cache_wipe() {
	find "$CFS_CACHE_DIR" -mindepth 1 -delete
}

drop_caches() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

mibps() {
	awk -v b="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.1f", b / 1048576 / s; else print 0 }'
}

sup_args() {
	local workers=$1 settings=${2:-default} kv
	# shellcheck disable=SC2206 # extra arguments are words on purpose
	local extra=(${CFS_BENCH_SUP_ARGS:-})
	SUP_ARGS=(--blob-dir "$BENCH_BLOBS" --workers "$workers")
	if [ "$settings" != default ]; then
		for kv in ${settings//,/ }; do
			SUP_ARGS+=("--${kv%%=*}" "${kv#*=}")
		done
	fi
	SUP_ARGS+=("${extra[@]}")
}

sup_latency() {
	local before line kv
	before=$(grep -c 'stats:' "$SUP_LOG" || true)
	kill -USR1 "$SUP_PID"
	wait_log "$SUP_LOG" 'stats:' $((before + 1)) 20 || return 1
	line=$(grep 'stats:' "$SUP_LOG" | tail -n1)
	LAT=()
	for kv in ${line#*read_latency_us }; do
		LAT[${kv%%=*}]=${kv#*=}
	done
	line=${line#*stats: }
	for kv in ${line%% read_latency_us*}; do
		LAT[stat_${kv%%=*}]=${kv#*=}
	done
	LAT[reads]=${LAT[stat_reads]}
	# What workers wrote into the cache file: for READs, readahead and prefetch.
	LAT[filled]=$((LAT[stat_bytes] + ${LAT[stat_readahead]:-0} + ${LAT[stat_prefetched]:-0}))
}

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

summarize() {
	sort -n "$1" | awk '{ v[NR] = $1; s += $1 }
		END { if (NR) printf "%.1f %.1f %.1f %d\n", s / NR, v[int((NR + 1) / 2)], v[NR], NR; else print "- - - 0" }'
}

phases() {
	local times=$1 journal=$2
	shift 2
	awk -v tf="$times" -v pats="$(printf '%s\037' "$@")" '
		BEGIN {
			n = 0
			while ((getline k < tf) > 0)
				t[n++] = k
			np = split(pats, p, "\037") - 1
		}
		{
			for (i = 1; i <= np; i++)
				if (index($0, p[i]))
					at[i, cnt[i]++ + 0] = $1
		}
		END {
			for (e = 0; e < n; e++) {
				line = ""
				for (i = 1; i <= np; i++) {
					v = "-"
					for (c = 0; c < cnt[i]; c++)
						if (at[i, c] >= t[e] && (e + 1 == n || at[i, c] < t[e + 1])) {
							v = sprintf("%.1f", (at[i, c] - t[e]) * 1000)
							break
						}
					line = line (i > 1 ? " " : "") v
				}
				print line
			}
		}' "$journal"
}

column_stats() {
	local col=$CFS_VM_TMP/column
	cut -d' ' -f"$2" "$1" | grep -v -- - >"$col" || true
	summarize "$col"
}

bench_json bench=guest clocksource="$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)" \
	kernel="$(uname -r)" cpus="$(nproc)" mem_mb="$(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo)"
