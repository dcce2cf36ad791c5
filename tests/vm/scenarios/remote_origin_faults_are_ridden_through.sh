#!/bin/bash
# An origin that lies (issue 19, "Faults ride through"): tests/vm/lying-origin.py
# serves the image over HTTPS and misbehaves on demand. Each fault strikes
# the first answers of a fresh mount (so the mount's READ meets it), then the
# origin heals: a TLS certificate from an unknown CA, slow (a trickle: waited
# for, not retried), reset mid-body, 200 with the whole blob for a range, a
# wrong Content-Range, a short body, 503, 429 with Retry-After. Readers
# wait, no READ fails, every file reads back with its checksum, the worker
# retried (each time with a log line saying what was wrong), and none of a
# lie's bytes reached the cache (a cold re-read from the cache files alone
# matches too). Then faults that outlast a short fetch_deadline (503, and a
# trickle slower than the deadline): the READ fails with one line naming the
# origin and what was wrong, and once the origin heals the same file reads
# good (no sticky failure).
# The tiny image (18 files, 400 KB, a few ranges): each fault costs its own
# waits, not a read of 35 MB through a Python origin (10-16 s under TCG).
# vm-images: tiny:tiny
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"
. "$CFS_SRC/tests/vm/remote-lib.sh"

scenario_begin remote_origin_faults_are_ridden_through

PORT=8443 RIDE_S=20 BRIEF_S=4
image=$(image_path tiny) manifest=$(image_manifest tiny)
rig=$CFS_VM_TMP/rig www=$CFS_VM_TMP/www descs=/srv/remote
digest=sha256:$(sha256sum "$image" | cut -d' ' -f1)

ip link set lo up
rig_certs "$rig"
mkdir -p "$www/blobs" "$descs"
cp "$image" "$www/blobs/$digest"
rig_liar_start "$rig" "$PORT" "$www"
"$CFS_BUILD/tools/cachefiles-blob-describe" "$image" --chunk-size 64K -o "$descs/base.desc"
conf=$CFS_VM_TMP/faults.conf
{
	printf '[cache]\ndir = %s\nrequest_timeout = 30s\n' "$CFS_CACHE_DIR"
	rig_domain ride 'f-*' "$descs" "url https://127.0.0.1:$PORT/blobs/{digest}" "$rig/ca.crt" \
		"fetch_deadline = ${RIDE_S}s"
	rig_domain brief 'b-*' "$descs" "url https://127.0.0.1:$PORT/blobs/{digest}" "$rig/ca.crt" \
		"fetch_deadline = ${BRIEF_S}s"
} >"$conf"
supervisor_start -c "$conf"

# remote_mount NAME: /mnt/NAME, a new cold cache file of the image.
remote_mount() {
	cp "$descs/base.desc" "$descs/$1.desc"
	mkdir -p "/mnt/$1"
	mount -t erofs none -o "fsid=$1" "/mnt/$1"
}

retries() { rig_totals "$1" | cut -d' ' -f4; }

# ride MODE COUNT WHY [SECONDS]: the first COUNT answers to a fresh mount
# are MODE; every file reads good and each lie cost a retry logged with WHY
# (a slow answer none). Adds MODE_retries, MODE_wait_s and MODE_s (the
# fault's whole time) to FIGURES: the mount's READ is the one that meets
# the lies, so the mount's wait is the longest of the fault's reads.
FIGURES=() FILES=0 BAD=0
ride() {
	local mode=$1 count=$2 why=$3 name=f-$1 t0 wait_s retried told warned before
	local line="domain ride: origin 127.0.0.1:$PORT: blob $digest bytes [0-9-]*: $why; again in"
	before=$(retries ride) warned=$(rig_log_count "$SUP_LOG" "$line")
	rig_lie "$mode" "$count" "${4:-}"
	t0=$EPOCHREALTIME
	remote_mount "$name" || scenario_fail "$mode: the mount failed"
	wait_s=$(elapsed "$t0")
	check_tree "/mnt/$name" "$manifest" 4 || scenario_fail "$mode: files differ"
	[ "$CHECK_BAD" = 0 ] || scenario_fail "$mode: $CHECK_BAD files read wrong"
	told=$(rig_lies_told "$mode") retried=$(($(retries ride) - before))
	warned=$(($(rig_log_count "$SUP_LOG" "$line") - warned))
	vm_log "$mode: $told lies told, $retried retries, $warned logged as '$why'; mount $wait_s s, read $CHECK_SECONDS s"
	[ "$told" = "$count" ] || scenario_fail "$mode: the origin told $told lies, expected $count: the fault was not met"
	if [ "$mode" = slow ]; then
		[ "$retried" = 0 ] || scenario_fail "slow: $retried retries: an answer still coming was given up"
	else
		[ "$retried" -ge "$count" ] || scenario_fail "$mode: $retried retries for $count lies"
		[ "$warned" -ge "$count" ] || {
			scenario_fail "$mode: $warned retries logged as '$why', expected $count; the last retries:"
			grep "domain ride: .*; again in" "$SUP_LOG" | tail -n 2
		}
	fi
	FIGURES+=("${mode}_retries=$retried" "${mode}_wait_s=$wait_s" "${mode}_s=$(elapsed "$t0")")
	FILES=$((FILES + CHECK_FILES)) BAD=$((BAD + CHECK_BAD))
}

# 1. Faults within fetch_deadline. tls first: its lie is a handshake, and
# only the worker's first connection is sure to be new (later mounts reuse
# the one kept alive).
ride tls 2 'SSL certificate problem: unable to get local issuer certificate'
ride slow 2 '' 2
# How a broken transfer's line begins once the headers came; a reset or a
# timeout may come before them under TCG, and then has libcurl's words alone.
after='HTTP 206 after [0-9]* of [0-9]* bytes: '
ride reset 2 "\($after\)\?Recv failure: Connection reset by peer"
ride full200 2 'HTTP 200 with the whole blob: the origin ignored the Range asked for'
ride badrange 2 "HTTP 206 with Content-Range 'bytes [0-9]*-[0-9]*/[0-9]*': not the range asked for"
ride short 2 "${after}transfer closed with [0-9]* bytes remaining to read"
ride 5xx 3 'HTTP 503'
ride 429 2 'HTTP 429'
# Retry-After was honoured, not the backoff's own wait.
grep -q "domain ride: .*: HTTP 429; again in 1000 ms" "$SUP_LOG" || scenario_fail "429's Retry-After: 1 was not honoured"

# What the lies left in the cache: only right bytes. Read cold, from the
# cache files alone (no request may go out), the mounts that met a lie with
# a believable body.
for mode in reset full200 badrange short; do
	umount "/mnt/f-$mode"
done
echo 3 >/proc/sys/vm/drop_caches
requests_before=$(rig_totals ride | cut -d' ' -f2)
for mode in reset full200 badrange short; do
	mount -t erofs none -o "fsid=f-$mode" "/mnt/f-$mode" || scenario_fail "$mode: the second mount failed"
	check_tree "/mnt/f-$mode" "$manifest" 4 || scenario_fail "$mode: the cache holds bytes the origin lied with"
	FILES=$((FILES + CHECK_FILES)) BAD=$((BAD + CHECK_BAD))
done
cold_requests=$(($(rig_totals ride | cut -d' ' -f2) - requests_before))
[ "$cold_requests" = 0 ] || scenario_fail "the cold re-read sent $cold_requests requests: it did not read the cache alone"

# 2. Faults that outlast fetch_deadline: the READ fails, clearly; healed, the same file reads good.
# The file whose bytes come last in the image: a fresh mount has fetched none of them.
last=$(python3 - "$image" /mnt/f-tls "$manifest" <<'EOF'
import sys
img = open(sys.argv[1], "rb").read()
where = []
for line in open(sys.argv[3]):
    name = line[66:].rstrip("\n")
    with open(sys.argv[2] + "/" + name, "rb") as f:
        probe = f.read(64)
    if len(probe) == 64:
        where.append((img.find(probe), name))
print(max(where)[1])
EOF
)
awk -v t="$last" 'substr($0, 67) == t' "$manifest" >"$CFS_VM_TMP/last.sha256"
# outlast MODE WHY [SECONDS]: MODE until healed, on a fresh mount of the brief domain.
outlast() {
	local mode=$1 why=$2 name=b-$1 t0
	remote_mount "$name" || scenario_fail "$mode: the mount of $name failed"
	rig_lie "$mode" 1000000 "${3:-}"
	t0=$EPOCHREALTIME
	if cat "/mnt/$name/$last" >/dev/null 2>"$CFS_VM_TMP/cat.err"; then
		scenario_fail "$mode: /$last read without an error past fetch_deadline"
	fi
	FIGURES+=("${mode}_failed_after_s=$(elapsed "$t0")")
	grep -q "Input/output error" "$CFS_VM_TMP/cat.err" || scenario_fail "$mode: reading /$last: $(cat "$CFS_VM_TMP/cat.err")"
	grep -q "domain brief: origin 127.0.0.1:$PORT: blob $digest bytes [0-9-]*: $why; fetch_deadline reached" "$SUP_LOG" ||
		scenario_fail "$mode: no clear line when fetch_deadline passed ('$why')"
	rig_lie ok 0
	check_tree "/mnt/$name" "$CFS_VM_TMP/last.sha256" 1 || scenario_fail "$mode: /$last does not read good once healed"
	FILES=$((FILES + CHECK_FILES)) BAD=$((BAD + CHECK_BAD))
}
outlast 5xx 'HTTP 503'
outlast slow "\($after\)\?Operation timed out after [0-9]* milliseconds with [0-9]* out of [0-9]* bytes received" 60

longest_read_ms=$("$CTL_BIN" status --json | python3 -c 'import json, sys
print(json.load(sys.stdin)["read_latency_us"]["max"] // 1000)')
umount /mnt/f-* /mnt/b-*
supervisor_stop || scenario_fail "supervisor exit status $?"
rig_stop liar
# A trickle past fetch_deadline ends at the deadline, not when request_timeout kills its worker.
if [ "${STAT[deaths]}" != 0 ] || [ "${STAT[timeouts]}" != 0 ] || [ "${STAT[violations]}" != 0 ]; then
	scenario_fail "${STAT[deaths]} workers died, ${STAT[timeouts]} requests timed out, ${STAT[violations]} protocol violations"
fi
scenario_end files="$FILES" bad="$BAD" "${FIGURES[@]}" cold_requests="$cold_requests" \
	longest_read_ms="$longest_read_ms" brokered="${STAT[connects]:-0}"
