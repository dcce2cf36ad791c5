#!/bin/bash
# Issue 18: max_size on the large cache fs (1 GiB, far above its
# thresholds): five 36 MB images, each a new name, read in full one after
# another through a 64 MiB quota. The culler removes the least recently
# used files no mount holds so the cache files never hold more than the
# quota (their allocated bytes, sampled every 50 ms), and every file is intact.
# vm-images: small:small
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"
. "$CFS_SRC/tests/vm/space-lib.sh"

quota_mb=${QUOTA_MB:-64}
images=${IMAGES:-5}
scenario_begin a_quota_keeps_the_cache_under_max_size

stage_blob small q0
supervisor_start --blob-dir "$BLOBS" --workers 2 --max-size "${quota_mb}M"
fs_sampler_start "$CFS_CACHE_DIR"
files=0 bad=0 read_bytes=0
for ((i = 1; i <= images; i++)); do
	mount_blob_as "q$i" q0 || { scenario_fail "mount q$i failed"; break; }
	check_tree "/mnt/q$i" "$(image_manifest small)" 4 || scenario_fail "q$i: read errors or bad data"
	files=$((files + CHECK_FILES)) bad=$((bad + CHECK_BAD)) read_bytes=$((read_bytes + CHECK_BYTES))
	umount "/mnt/q$i"
done
fs_sampler_stop
space_status || scenario_fail "no status"
quota=$((quota_mb << 20))
[ "$read_bytes" -gt $((2 * quota)) ] || scenario_fail "read only $read_bytes bytes through a $quota_mb MiB quota"
[ "${SPACE[max_size]:-0}" = "$quota" ] || scenario_fail "status shows max_size ${SPACE[max_size]:-?}, not $quota"
[ "${SPACE[culled]:-0}" -gt 0 ] || scenario_fail "nothing was culled"
[ "$CACHE_PEAK_BYTES" -le "$quota" ] || scenario_fail "the cache files held $CACHE_PEAK_BYTES bytes, over the quota"
[ "${SPACE[refused_writes]:-x}" = 0 ] || scenario_fail "${SPACE[refused_writes]:-?} fills refused"
read_errors=$(grep -c "the reader gets an error" "$SUP_LOG" || true)
[ "$read_errors" = 0 ] || scenario_fail "$read_errors READs failed: $(grep -m1 "the reader gets an error" "$SUP_LOG")"
supervisor_stop || scenario_fail "supervisor exit status $?"
scenario_end images_read="$images" read_mb="$((read_bytes >> 20))" quota_mb="$quota_mb" \
	cache_peak_mb="$(awk -v b="$CACHE_PEAK_BYTES" 'BEGIN { printf "%.1f", b / 1048576 }')" \
	cache_now_mb="$((SPACE[bytes] >> 20))" fs_mb="$FS_MB" files="$files" bad="$bad" culled="${SPACE[culled]}" \
	culled_mb="$((SPACE[culled_bytes] >> 20))" held_fills="${SPACE[held_fills]}" scans="${SPACE[scans]}" read_errors="$read_errors"
