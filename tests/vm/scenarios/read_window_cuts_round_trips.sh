#!/bin/bash
# Read windows cut round trips. In one boot, so the times compare: the big
# image read cold (4 readers, every checksum) with --read-window 0 (each READ
# filled exactly) and with the default window, which must need far fewer
# READs; then random 4 KiB reads of its largest file with both, where the
# default must fill no more than 10% more bytes (and should take no longer);
# and a file-backed erofs mount of the same image as the reference.
# Every run uses a new blob name, so a new, empty cache file.
# Usage: read_window_cuts_round_trips.sh [MIN_FACTOR]   (default 4: READs
# with window 0 over READs with the default)
# vm-images: big:big
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"

min_factor=${1:-4}
random_file=large/blob-2.bin # 35 MB
random_reads=${RANDOM_READS:-2000}
scenario_begin read_window_cuts_round_trips

blobs=/srv/blobs
mkdir -p "$blobs"
cp "$(image_path big)" "$blobs/big"
manifest=$(image_manifest big)
image_mb=$(($(stat -c %s "$blobs/big") >> 20))

# random_read FILE: RANDOM_READS reads of 4 KiB at page offsets drawn from
# a fixed seed; prints the seconds taken and a checksum of what was read.
random_read() {
	local t0=$EPOCHREALTIME sum
	sum=$(perl -e '
		use strict; use Fcntl;
		my ($path, $n) = @ARGV;
		sysopen(my $fh, $path, O_RDONLY) or die "$path: $!\n";
		my $pages = int((-s $fh) / 4096);
		srand(7);
		for (1 .. $n) {
			sysseek($fh, int(rand($pages)) * 4096, 0) or die "seek: $!\n";
			my $got = sysread($fh, my $buf, 4096);
			die "short read: $!\n" unless defined $got && $got == 4096;
			print $buf;
		}' "$1" "$random_reads" | sha256sum | cut -c1-16)
	echo "$(elapsed "$t0") $sum"
}

# run NAME WHAT [SUPERVISOR ARGS...]: a supervisor of its own on blob NAME;
# WHAT is tree (check every file) or random. Sets RUN_S, RUN_SUM, RUN_READS, RUN_BYTES.
run() {
	local name=$1 what=$2 out
	shift 2
	ln -f "$blobs/big" "$blobs/$name"
	mkdir -p "/mnt/$name"
	supervisor_start --blob-dir "$blobs" --workers 2 "$@"
	mount -t erofs none -o "fsid=$name" "/mnt/$name"
	RUN_SUM=-
	if [ "$what" = tree ]; then
		check_tree "/mnt/$name" "$manifest" 4 || scenario_fail "$name: content differs or reads failed"
		RUN_S=$CHECK_SECONDS
	else
		out=$(random_read "/mnt/$name/$random_file") || scenario_fail "$name: random reads failed"
		read -r RUN_S RUN_SUM <<<"$out"
	fi
	umount "/mnt/$name"
	supervisor_stop || scenario_fail "$name: supervisor exit status $?"
	[ "${STAT[failed]}" = 0 ] || scenario_fail "$name: ${STAT[failed]} requests failed"
	RUN_READS=${STAT[reads]} RUN_BYTES=${STAT[bytes]}
	vm_log "$name ($what $*): ${RUN_S} s, ${RUN_READS} READs, ${RUN_BYTES} bytes filled"
}

run tree-exact tree --read-window 0
tree_s_exact=$RUN_S reads_exact=$RUN_READS
run tree-window tree
tree_s_window=$RUN_S reads_window=$RUN_READS bytes_window=$RUN_BYTES

run random-exact random --read-window 0
random_s_exact=$RUN_S random_reads_exact=$RUN_READS random_bytes_exact=$RUN_BYTES sum_exact=$RUN_SUM
run random-window random
random_s_window=$RUN_S random_reads_window=$RUN_READS random_bytes_window=$RUN_BYTES sum_window=$RUN_SUM

mkdir -p /mnt/file-backed
mount -t erofs -o ro "$blobs/big" /mnt/file-backed
check_tree /mnt/file-backed "$manifest" 4 || scenario_fail "file-backed mount: content differs"
file_backed_s=$CHECK_SECONDS
umount /mnt/file-backed

[ "$reads_window" -gt 0 ] && [ $((reads_window * min_factor)) -le "$reads_exact" ] ||
	scenario_fail "READs: $reads_exact with window 0, $reads_window with the default (wanted a factor $min_factor)"
[ $((random_bytes_window * 10)) -le $((random_bytes_exact * 11)) ] ||
	scenario_fail "random reads: $random_bytes_window bytes filled with the default, $random_bytes_exact with window 0"
[ "$sum_exact" = "$sum_window" ] || scenario_fail "random reads returned different bytes ($sum_exact, $sum_window)"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
scenario_end image_mb="$image_mb" reads_exact="$reads_exact" reads_window="$reads_window" \
	reads_per_mb_exact="$(ratio "$reads_exact" "$image_mb")" reads_per_mb_window="$(ratio "$reads_window" "$image_mb")" \
	bytes_window="$bytes_window" read_s_exact="$tree_s_exact" read_s_window="$tree_s_window" \
	read_s_file_backed="$file_backed_s" speed_vs_file_backed_exact="$(ratio "$file_backed_s" "$tree_s_exact")" \
	speed_vs_file_backed_window="$(ratio "$file_backed_s" "$tree_s_window")" \
	random_reads="$random_reads" random_s_exact="$random_s_exact" random_s_window="$random_s_window" \
	random_reads_exact="$random_reads_exact" random_reads_window="$random_reads_window" \
	random_bytes_exact="$random_bytes_exact" random_bytes_window="$random_bytes_window"
