# shellcheck shell=bash
# Helpers for the cache-space scenarios (issue 18), sourced after
# supervisor-lib.sh inside the guest.
#
#   small_cache_fs MB DIR [INODES]
#                                an ext4 of MB MiB on a loop file in /tmp,
#                                mounted on DIR (a cache fs smaller than
#                                what is read through it); INODES for more
#                                than mkfs's one per 4 KiB (each volume, a
#                                mount's fsid, takes 257 dirs)
#   fs_sampler_start DIR         samples DIR's fs every 50 ms in the
#                                background: its fullest moment, and the
#                                most the cache files held: blocks in use
#                                beyond the start less the cache's dirs (a
#                                new cache file is unlinked while in use)
#   fs_sampler_stop              sets FS_PEAK_USED_PCT (blocks in use at the
#                                fullest, % of the fs), FS_MIN_FREE_PCT (free
#                                blocks then, % as the kernel counts them:
#                                f_bavail / f_blocks), FS_MB (size),
#                                CACHE_PEAK_BYTES
#   wait_culling SECS / wait_cull_idle SECS
#                                until a cull pass runs / none does
#   space_status                 `cachefilesctl status --json`'s cache object
#                                and READ latencies as SPACE[key]
#   ctl_ok ARGS...               cachefilesctl with a bound on its wait

declare -A SPACE

small_cache_fs() {
	local mb=$1 dir=$2 img=/tmp/cache-fs.$1.img inodes=()
	[ -z "${3:-}" ] || inodes=(-N "$3" -I 128)
	truncate -s "${mb}M" "$img"
	mkfs.ext4 -q -F -b 4096 -O ^has_journal -E nodiscard "${inodes[@]}" "$img"
	mkdir -p "$dir"
	mount -t ext4 -o loop "$img" "$dir"
}

fs_sampler_start() {
	FS_SAMPLER_STOP=$CFS_VM_TMP/fs-sampler.stop FS_SAMPLER_OUT=$CFS_VM_TMP/fs-sampler.out
	rm -f "$FS_SAMPLER_STOP" "$FS_SAMPLER_OUT"
	python3 - "$1" "$FS_SAMPLER_STOP" "$FS_SAMPLER_OUT" <<-'PY' &
		import glob, os, sys, time
		path, stop, out = sys.argv[1:]
		low, peak = None, 0
		def used(v):
		    return (v.f_blocks - v.f_bfree) * v.f_frsize
		def dir_bytes():
		    n = 0
		    for d in glob.glob(path + "/cache/*/") + glob.glob(path + "/cache/*/*/"):
		        try:
		            n += os.lstat(d).st_blocks * 512
		        except OSError:
		            pass
		    return n
		base = used(os.statvfs(path)) - dir_bytes()
		while True:
		    v = os.statvfs(path)
		    if low is None or v.f_bavail < low.f_bavail:
		        low = v
		    # Blocks in use beyond the start less the dirs: the cache files,
		    # those the kernel keeps unlinked while in use (tmpfiles) too.
		    peak = max(peak, used(v) - base - dir_bytes())
		    if os.path.exists(stop):
		        break
		    time.sleep(0.05)
		used = (low.f_blocks - low.f_bfree) * 100.0 / low.f_blocks
		with open(out, "w") as f:
		    f.write("%.1f %.1f %d %d\n" % (used, low.f_bavail * 100.0 / low.f_blocks,
		                                   low.f_blocks * low.f_frsize >> 20, peak))
	PY
	FS_SAMPLER_PID=$!
}

fs_sampler_stop() {
	touch "$FS_SAMPLER_STOP"
	wait "$FS_SAMPLER_PID" || true
	read -r FS_PEAK_USED_PCT FS_MIN_FREE_PCT FS_MB CACHE_PEAK_BYTES <"$FS_SAMPLER_OUT"
}

ctl_ok() { timeout 60 "$CTL_BIN" "$@"; }

space_status() {
	local json line
	SPACE=()
	json=$(ctl_ok status --json) || return 1
	while read -r line; do
		SPACE[${line%%=*}]=${line#*=}
	done <<<"$(python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
for k, v in d.get("cache", {}).items():
    print("%s=%s" % (k, str(v).lower()))
for h in ("read_latency_us", "read_latency_culling_us", "read_latency_quiet_us"):
    for k, v in d.get(h, {}).items():
        print("%s_%s=%s" % (h, k, v))
' <<<"$json")"
}

# fill_cache_dir DIR N: N empty files in a volume no mount uses, stamped a
# day ahead (never the least recently used), standing for a big cache's
# many objects: every scan of the culler walks them, so a pass takes a
# while, as on a cache of 100 000 files.
fill_cache_dir() {
	python3 - "$1" "$2" <<-'PY'
		import os, sys, time
		top, n = sys.argv[1] + "/cache/Ierofs,filler", int(sys.argv[2])
		later = time.time() + 86400
		for i in range(n):
		    d = "%s/@%02x" % (top, i % 256)
		    if i < 256:
		        os.makedirs(d, exist_ok=True)
		    p = "%s/Dfill-%d" % (d, i)
		    open(p, "w").close()
		    os.utime(p, (later, later))
	PY
}

# wait_culling SECS: until the status says a cull pass runs.
wait_culling() {
	local deadline=$((SECONDS + $1))
	until ctl_ok status --json 2>/dev/null | grep -q '"culling":true'; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
	done
}

# wait_cull_idle SECS: until the status says no cull pass runs.
wait_cull_idle() {
	local deadline=$((SECONDS + $1))
	until ctl_ok status --json 2>/dev/null | grep -q '"culling":false'; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

# wait_room SECS: until the status shows free blocks at bcull or more (the
# culler made room again).
wait_room() {
	local deadline=$((SECONDS + $1))
	until space_status && [ $((SPACE[fs_blocks_free] * 100)) -ge $((SPACE[fs_blocks] * SPACE[bcull])) ]; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

# old_files_in_cache_dir DIR N TAG: N files of 4 KiB (Dold-TAG-i) in a volume no mount uses,
# last used a day ago: the least recently used, so a pass culls many of
# them, 4 KiB at a time, and scans again after every 512 (a pass that
# takes a while, as on a cache of many small objects).
old_files_in_cache_dir() {
	python3 - "$1" "$2" "$3" <<-'PY'
		import os, sys, time
		top, n, tag = sys.argv[1] + "/cache/Ierofs,old", int(sys.argv[2]), sys.argv[3]
		before = time.time() - 86400
		block = b"\0" * 4096
		for i in range(n):
		    d = "%s/@%02x" % (top, i % 256)
		    if i < 256:
		        os.makedirs(d, exist_ok=True)
		    p = "%s/Dold-%s-%d" % (d, tag, i)
		    with open(p, "wb") as f:
		        f.write(block)
		    os.utime(p, (before, before))
	PY
}
