#!/bin/bash
# Build a deterministic erofs test image on the host:
#
#   make-image.sh NAME SPEC OUTDIR  ->  OUTDIR/NAME.img, OUTDIR/NAME.sha256
#
# SPEC is a shape:
#   tiny   a dozen files, < 1 MB: quick checks
#   mini   4 files of 1-8 KB (~30 KB): thousands of mounts in one cache fs
#   small  ~2000 files of 1-40 KB in nested dirs + 3 files of 1-4 MB (~35 MB)
#   big    ~3000 files of 1-40 KB in nested dirs + 3 files of 21-35 MB (~125 MB)
#   file256  one 256 MiB file (benchmarks: sequential read)
#   tree10k  10 000 files of 1-8 KB in nested dirs (benchmarks: small files)
#   tree256  ~256 MiB: 12 000 files of 1-40 KB in nested dirs + 3 files of
#            20-44 MB (benchmarks: an image pulled from a registry)
# The first three also hold edge sizes around the 4 KiB page (0, 1, 4095,
# 4096, 4097 bytes...), which is where on-demand READ alignment goes wrong;
# the benchmark shapes hold exactly the files they are named for.
# Content is one AES-128-CTR keystream (fixed key per NAME+SPEC) cut into
# consecutive slices, so no two files share content and reruns give the same
# bytes. The manifest is `sha256sum` output relative to the mount point.
# Skipped when NAME.img is newer than this script.
set -euo pipefail

[ $# -eq 3 ] || { sed -n '2,4p' "$0" | sed 's/^# \{0,3\}//' >&2; exit 2; }
name=$1 spec=$2 outdir=$3
img=$outdir/$name.img
manifest=$outdir/$name.sha256

# small_span: small files are 1 KB + up to this many bytes, skewed small.
edges=1 small_span=$((39 * 1024))
case $spec in
tiny) small_files=10 dirs=2 big_sizes= ;;
mini) small_files=4 dirs=1 big_sizes='' edges=0 small_span=$((7 * 1024)) ;;
small) small_files=2000 dirs=10 big_sizes="1200000 2500000 4000000" ;;
big) small_files=3000 dirs=12 big_sizes="21000000 28000000 35000000" ;;
file256) small_files=0 dirs=1 big_sizes=$((256 << 20)) edges=0 ;;
tree10k) small_files=10000 dirs=10 big_sizes='' edges=0 small_span=$((7 * 1024)) ;;
tree256) small_files=12000 dirs=16 big_sizes="20000000 32000000 44000000" edges=0 ;;
*) echo "make-image: unknown SPEC $spec (tiny, mini, small, big, file256, tree10k, tree256)" >&2; exit 2 ;;
esac

if [ "$img" -nt "$0" ] && [ -s "$manifest" ]; then
	echo "make-image: $img is up to date" >&2
	exit 0
fi

start=$EPOCHREALTIME
mkdir -p "$outdir"
tree=$(mktemp -d "$outdir/.$name.tree.XXXXXX")
trap 'rm -rf "$tree" "$img.tmp" "$manifest.tmp"' EXIT

key=$(printf '%s' "$name:$spec" | sha256sum | cut -c1-32)
perl -e '
	use strict; use warnings; use File::Path qw(make_path);
	my ($root, $key, $edges, $span, $nsmall, $ndirs, @big) = @ARGV;
	# The keystream is endless: openssl dies of SIGPIPE when we stop reading.
	open(my $ks, "-|", "openssl enc -aes-128-ctr -nosalt -K $key -iv 0 -in /dev/zero 2>/dev/null")
		or die "openssl: $!\n";
	binmode $ks;
	srand(42);  # perl >= 5.20 has its own drand48: same sequence everywhere
	sub emit {
		my ($path, $size) = @_;
		(my $dir = $path) =~ s{/[^/]*$}{};
		make_path("$root/$dir");
		open(my $out, ">", "$root/$path") or die "$path: $!\n";
		binmode $out;
		while ($size > 0) {
			my $n = $size < 1048576 ? $size : 1048576;
			my $got = read($ks, my $buf, $n);
			die "short keystream\n" unless $got == $n;
			print $out $buf;
			$size -= $n;
		}
		close($out) or die "$path: $!\n";
	}
	emit(sprintf("edge/size-%07d", $_), $_)
		for ($edges ? (0, 1, 4095, 4096, 4097, 8191, 65537, 131072 + 512) : ());
	for my $i (0 .. $nsmall - 1) {
		# Two to three levels deep; sizes skewed small (mean 1 KB + span / 3).
		my $dir = sprintf("d%02d/e%02d", int(rand($ndirs)), int(rand($ndirs)));
		$dir .= sprintf("/f%d", int(rand(3))) if rand() < 0.3;
		emit(sprintf("%s/file-%05d.bin", $dir, $i), 1024 + int($span * rand() ** 2));
	}
	my $j = 0;
	emit(sprintf("large/blob-%d.bin", $j++), $_) for @big;
	' "$tree" "$key" "$edges" "$small_span" "$small_files" "$dirs" $big_sizes  # word splitting wanted

(cd "$tree" && find . -type f -printf '%P\n' | LC_ALL=C sort | xargs -d '\n' sha256sum) >"$manifest.tmp"
files=$(wc -l <"$manifest.tmp")
bytes=$(find "$tree" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
# Fixed timestamp and UUID: same tree, same image bytes.
mkfs.erofs --quiet -T0 -U 6b0e7c1a-0d5e-4c0b-9a52-0c1f5e2d7a11 --all-root "$img.tmp" "$tree" >&2
mv "$manifest.tmp" "$manifest"
mv "$img.tmp" "$img"
echo "make-image: $img: $spec, $files files, $bytes bytes of data, image $(stat -c %s "$img") bytes," \
	"$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s" >&2
