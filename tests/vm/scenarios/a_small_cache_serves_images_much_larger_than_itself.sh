#!/bin/bash
# Issue 18: a 96 MiB cache fs serves ten 36 MB images, each a new name (a
# new cache file), mounted, read in full with checksums and unmounted one
# after another, then the first two again (culled by then: cold again).
# The culler removes the least recently used files no mount holds as the fs
# passes bcull, so no fill is ever refused and every file is intact.
# Reports what was read against the cache's size, what was culled (the
# status JSON), and the fs at its fullest against brun/bcull/bstop.
# vm-images: small:small
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"
. "$CFS_SRC/tests/vm/space-lib.sh"

cache_mb=${CACHE_MB:-96}
images=${IMAGES:-8}
scenario_begin a_small_cache_serves_images_much_larger_than_itself

stage_blob small s0
small_cache_fs "$cache_mb" /var/cache/small
CFS_CACHE_DIR=/var/cache/small supervisor_start --blob-dir "$BLOBS" --workers 2
fs_sampler_start /var/cache/small

files=0 bad=0 read_bytes=0 reads=0
names=()
for ((i = 1; i <= images; i++)); do names+=("s$i"); done
names+=(s1 s2) # the first ones again: culled meanwhile
for name in "${names[@]}"; do
	mount_blob_as "$name" s0 || { scenario_fail "mount $name failed"; break; }
	check_tree "/mnt/$name" "$(image_manifest small)" 4 || scenario_fail "$name: read errors or bad data"
	files=$((files + CHECK_FILES)) bad=$((bad + CHECK_BAD)) read_bytes=$((read_bytes + CHECK_BYTES))
	reads=$((reads + 1))
	umount "/mnt/$name"
done
fs_sampler_stop
wait_ctl_objects 0 30 || scenario_fail "objects left after every umount"
space_status || scenario_fail "no status"
declare -A ONE
for k in culled culled_bytes scans cull_busy refused_writes held_fills cull_stuck bstop bcull brun; do ONE[$k]=${SPACE[$k]:-}; done
[ "${ONE[culled]:-0}" -gt 0 ] || scenario_fail "nothing was culled"
[ "${ONE[refused_writes]:-x}" = 0 ] || scenario_fail "${ONE[refused_writes]:-?} fills refused for space"
[ "${ONE[cull_stuck]:-x}" = 0 ] || scenario_fail "culling was stuck ${ONE[cull_stuck]:-?} times"
awk -v f="$FS_MIN_FREE_PCT" -v s="${ONE[bstop]}" 'BEGIN { exit !(f >= s) }' ||
	scenario_fail "free space fell to $FS_MIN_FREE_PCT%, under bstop ${ONE[bstop]}%"
read_errors=$(grep -c "the reader gets an error" "$SUP_LOG" || true)
[ "$read_errors" = 0 ] || scenario_fail "$read_errors READs failed: $(grep -m1 "the reader gets an error" "$SUP_LOG")"

# All in use: three images mounted at once need more than the fs holds.
# The first two are read in full (the culler clears out everything else),
# the third runs out: its READs fail with one clear line with the numbers,
# counted; what the first two cached stays (read again from the cache
# files, page cache dropped: intact, no READ reaches us); once they are
# unmounted the culler makes room and a new image reads in full again.
for name in u1 u2 u3; do mount_blob_as "$name" s0 || scenario_fail "mount $name failed"; done
check_tree /mnt/u1 "$(image_manifest small)" 4 || scenario_fail "u1: read errors or bad data"
check_tree /mnt/u2 "$(image_manifest small)" 4 || scenario_fail "u2: read errors or bad data"
! check_tree /mnt/u3 "$(image_manifest small)" 4 2>/dev/null || scenario_fail "u3 read in full: the cache was not full"
u3_bad=$CHECK_BAD
space_status || scenario_fail "no status"
[ "${SPACE[refused_writes]:-0}" -gt 0 ] || scenario_fail "no refused fill was counted"
[ "${SPACE[cull_stuck]:-0}" -gt 0 ] || scenario_fail "culling never found itself stuck"
full_line=$(grep -m1 "nothing left to cull" "$SUP_LOG" || true)
[ -n "$full_line" ] || scenario_fail "no line says the cache is full with nothing to cull"
vm_log "all in use: ${full_line#*: }"
reads_before=$(ctl_status_number reads)
sync
echo 3 >/proc/sys/vm/drop_caches
for name in u1 u2; do
	check_tree "/mnt/$name" "$(image_manifest small)" 4 || scenario_fail "$name lost data while the cache was full"
	files=$((files + CHECK_FILES)) bad=$((bad + CHECK_BAD))
done
reads_again=$(($(ctl_status_number reads) - reads_before))
[ "$reads_again" = 0 ] || scenario_fail "$reads_again READs to read u1 and u2 again: their cache files lost data"
umount /mnt/u1 /mnt/u2 /mnt/u3
# The kernel refuses a lookup below bstop before any daemon sees it: a mount
# must wait until the culler, told by the CLOSEs, has made room.
wait_ctl_objects 0 30 || scenario_fail "objects left after the umounts"
wait_room 30 || scenario_fail "no room made after the umounts: ${SPACE[fs_blocks_free]:-?} of ${SPACE[fs_blocks]:-?} blocks free"
mount_blob_as u4 s0 || scenario_fail "mount u4 after the full cache failed"
check_tree /mnt/u4 "$(image_manifest small)" 4 || scenario_fail "u4 after the full cache: read errors or bad data"
files=$((files + CHECK_FILES)) bad=$((bad + CHECK_BAD))
umount /mnt/u4
read_mb=$((read_bytes >> 20))
[ "$read_mb" -ge $((3 * cache_mb)) ] || scenario_fail "read only $read_mb MiB through a $cache_mb MiB cache"
supervisor_stop || scenario_fail "supervisor exit status $?"
[ "${STAT[failed]}" = 0 ] || scenario_fail "${STAT[failed]} requests failed"
scenario_end images_read="$reads" read_mb="$read_mb" cache_mb="$FS_MB" files="$files" bad="$bad" \
	culled="${ONE[culled]}" culled_mb="$((ONE[culled_bytes] >> 20))" scans="${ONE[scans]}" \
	cull_busy="${ONE[cull_busy]}" held_fills="${ONE[held_fills]}" peak_used_pct="$FS_PEAK_USED_PCT" min_free_pct="$FS_MIN_FREE_PCT" \
	brun="${ONE[brun]}" bcull="${ONE[bcull]}" bstop="${ONE[bstop]}" read_errors="$read_errors" \
	full_u3_bad="$u3_bad" full_refused="${SPACE[refused_writes]}" full_stuck="${SPACE[cull_stuck]}" \
	full_reads_again="$reads_again"
