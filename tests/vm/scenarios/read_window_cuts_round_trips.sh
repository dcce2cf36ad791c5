#!/bin/bash
# Read windows cut round trips. In one boot, so the figures compare, each
# run cold (a new blob name, an emptied cache dir): the big image read by 4
# readers checking every file with --read-window 0 (each READ filled
# exactly) and with the default window, which must need far fewer READs;
# for reference a file-backed erofs mount of the same image and the
# baseline daemon filling the aligned 1 MiB around each READ (the naive
# amplification); then random 4 KiB reads of the image's largest file with
# window 0 and the default, which must fill no more than 10% more bytes
# (readahead included) and read the same data. The default tree read must
# use readahead (a stream at its full window is filled ahead of its reader
# by an idle worker). Times are the best of ROUNDS (other VMs may share the
# host); READ and byte counts are asserted, times only printed.
# Usage: read_window_cuts_round_trips.sh [MIN_FACTOR]   (default 4: READs
# with window 0 over READs with the default)
# vm-images: big:big
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"

min_factor=${1:-4}
rounds=${ROUNDS:-2}
random_file=large/blob-2.bin # 35 MB
random_reads=${RANDOM_READS:-2000}
scenario_begin read_window_cuts_round_trips

blobs=$BLOBS
stage_blob big big
manifest=$(image_manifest big)
image_mb=$(($(stat -c %s "$blobs/big") >> 20))
runs=0

# A new blob name is a new cache file; with the cache unbound its dir can be
# emptied, so the cache fs never fills however many runs there are.
new_blob() {
	runs=$((runs + 1))
	BLOB=run$runs
	ln -f "$blobs/big" "$blobs/$BLOB"
	mkdir -p "/mnt/$BLOB"
}
cache_clean() {
	rm -rf "${CFS_CACHE_DIR:?}"/*
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

# random_read FILE: prints the seconds RANDOM_READS random 4 KiB reads took
# and a checksum of what was read.
random_read() {
	local t0=$EPOCHREALTIME sum
	sum=$(random_read_sum "$1" "$random_reads")
	echo "$(elapsed "$t0") $sum"
}

# sup WHAT [SUPERVISOR ARGS...]: a supervisor of its own on a new blob; WHAT
# is tree (check every file) or random. Sets RUN_S, RUN_SUM, RUN_READS, RUN_BYTES.
sup() {
	local what=$1 out
	shift
	new_blob
	supervisor_start --blob-dir "$blobs" --workers 2 "$@"
	mount -t erofs none -o "fsid=$BLOB" "/mnt/$BLOB"
	RUN_SUM=-
	if [ "$what" = tree ]; then
		check_tree "/mnt/$BLOB" "$manifest" 4 || scenario_fail "$BLOB: content differs or reads failed"
		RUN_S=$CHECK_SECONDS
	else
		out=$(random_read "/mnt/$BLOB/$random_file") || scenario_fail "$BLOB: random reads failed"
		read -r RUN_S RUN_SUM <<<"$out"
	fi
	umount "/mnt/$BLOB"
	supervisor_stop || scenario_fail "$BLOB: supervisor exit status $?"
	[ "${STAT[failed]}" = 0 ] || scenario_fail "$BLOB: ${STAT[failed]} requests failed"
	RUN_READS=${STAT[reads]} RUN_BYTES=$((STAT[bytes] + STAT[readahead])) RUN_AHEAD=${STAT[readahead]}
	RUN_JOINED=${STAT[joined]}
	cache_clean
	vm_log "$BLOB ($what, supervisor $*): $RUN_S s, $RUN_READS READs, $RUN_BYTES bytes filled" \
		"($RUN_AHEAD by readahead; $RUN_JOINED READs answered by the chunk they waited for)"
}

naive() {
	local log=$CFS_VM_TMP/baseline.log
	new_blob
	daemon_start baseline "$(baseline_daemon_bin)" --cache-dir "$CFS_CACHE_DIR" --blob-dir "$blobs" \
		--window 1048576 2>"$log"
	mount -t erofs none -o "fsid=$BLOB" "/mnt/$BLOB"
	check_tree "/mnt/$BLOB" "$manifest" 4 || scenario_fail "$BLOB: content differs (baseline daemon)"
	umount "/mnt/$BLOB"
	daemon_stop baseline || scenario_fail "$BLOB: baseline daemon exit status $?"
	RUN_S=$CHECK_SECONDS RUN_READS=$(sed -n 's/.* opens, \([0-9]*\) reads.*/\1/p' "$log")
	cache_clean
	vm_log "$BLOB (tree, baseline daemon, aligned 1M): $RUN_S s, $RUN_READS READs"
}

file_backed() {
	mkdir -p /mnt/file-backed
	mount -t erofs -o ro "$blobs/big" /mnt/file-backed
	check_tree /mnt/file-backed "$manifest" 4 || scenario_fail "file-backed mount: content differs"
	umount /mnt/file-backed
	RUN_S=$CHECK_SECONDS
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

best() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b < a) ? b : a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# The exact tree read is the slow one: once is enough.
sup tree --read-window 0
tree_s_exact=$RUN_S reads_exact=$RUN_READS
tree_s_window='' fb_s='' naive_s='' random_s_exact='' random_s_window='' reads_window=0
for round in $(seq "$rounds"); do
	file_backed
	fb_s=$(best "$fb_s" "$RUN_S")
	naive
	naive_s=$(best "$naive_s" "$RUN_S") naive_reads=$RUN_READS
	sup tree
	tree_s_window=$(best "$tree_s_window" "$RUN_S") bytes_window=$RUN_BYTES
	ahead_window=$RUN_AHEAD joined_window=$RUN_JOINED
	[ "$RUN_AHEAD" -gt 0 ] || scenario_fail "the default tree read used no readahead"
	[ "$RUN_READS" -le "$reads_window" ] || reads_window=$RUN_READS
	sup random --read-window 0
	random_s_exact=$(best "$random_s_exact" "$RUN_S")
	random_reads_exact=$RUN_READS random_bytes_exact=$RUN_BYTES sum_exact=$RUN_SUM
	sup random
	random_s_window=$(best "$random_s_window" "$RUN_S")
	random_reads_window=$RUN_READS random_bytes_window=$RUN_BYTES sum_window=$RUN_SUM
	[ $((random_bytes_window * 10)) -le $((random_bytes_exact * 11)) ] ||
		scenario_fail "random reads: $random_bytes_window bytes filled with the default, $random_bytes_exact with 0"
	[ "$sum_exact" = "$sum_window" ] || scenario_fail "random reads returned different bytes ($sum_exact, $sum_window)"
done

[ "$reads_window" -gt 0 ] && [ $((reads_window * min_factor)) -le "$reads_exact" ] ||
	scenario_fail "READs: $reads_exact with window 0, up to $reads_window with the default (wanted a factor $min_factor)"

scenario_end image_mb="$image_mb" reads_exact="$reads_exact" reads_window="$reads_window" reads_naive="$naive_reads" \
	reads_per_mb_exact="$(ratio "$reads_exact" "$image_mb")" reads_per_mb_window="$(ratio "$reads_window" "$image_mb")" \
	bytes_window="$bytes_window" readahead_bytes="$ahead_window" joined_reads="$joined_window" read_s_exact="$tree_s_exact" read_s_window="$tree_s_window" \
	read_s_naive="$naive_s" read_s_file_backed="$fb_s" \
	speed_vs_file_backed_exact="$(ratio "$fb_s" "$tree_s_exact")" \
	speed_vs_file_backed_window="$(ratio "$fb_s" "$tree_s_window")" \
	speed_vs_file_backed_naive="$(ratio "$fb_s" "$naive_s")" \
	random_reads="$random_reads" random_s_exact="$random_s_exact" random_s_window="$random_s_window" \
	random_reads_exact="$random_reads_exact" random_reads_window="$random_reads_window" \
	random_bytes_exact="$random_bytes_exact" random_bytes_window="$random_bytes_window"
