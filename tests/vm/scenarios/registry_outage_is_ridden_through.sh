#!/bin/bash
# A registry outage during remote reads (issue 19): docker-registry is
# killed while 4 readers read the image and started again 6 s later; the
# workers retry with backoff within fetch_deadline, readers wait rather than
# fail, and every file reads back with its checksum. Then an outage longer
# than fetch_deadline: the READ fails with a clear line after the deadline,
# and once the registry is back the same file reads good (no sticky failure).
# vm-images: small:small
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"
. "$CFS_SRC/tests/vm/remote-lib.sh"

scenario_begin registry_outage_is_ridden_through

REG_PORT=5443 USER=cfs-puller PASSWORD=pw-$RANDOM$RANDOM OUTAGE_S=6 DEADLINE_S=20
image=$(image_path small) manifest=$(image_manifest small)
rig=$CFS_VM_TMP/rig descs=/srv/remote

ip link set lo up
rig_certs "$rig"
rig_registry_start "$rig" "$REG_PORT" "$USER" "$PASSWORD"
digest=$(rig_registry_push "$rig" "$REG_PORT" cfs/small "$image" "$USER" "$PASSWORD")
mkdir -p "$descs" /mnt/out-a /mnt/out-b
"$CFS_BUILD/tools/cachefiles-blob-describe" "$image" --chunk-size 64K -o "$descs/out-a.desc"
cp "$descs/out-a.desc" "$descs/out-b.desc"
(umask 077 && printf 'basic %s:%s\n' "$USER" "$PASSWORD" >"$rig/credentials")
conf=$CFS_VM_TMP/outage.conf
{
	printf '[cache]\ndir = %s\nrequest_timeout = 30s\n' "$CFS_CACHE_DIR"
	rig_domain registry 'out-*' "$descs" "registry https://127.0.0.1:$REG_PORT/cfs/small" "$rig/ca.crt" \
		"credentials = $rig/credentials" "fetch_deadline = ${DEADLINE_S}s"
} >"$conf"
supervisor_start -c "$conf"

# 1. An outage shorter than fetch_deadline, mid-read.
mount -t erofs none -o fsid=out-a /mnt/out-a || scenario_fail "mount failed"
check_tree_bg /mnt/out-a "$manifest" 4
sleep 1
readers_running || scenario_fail "the readers finished before the outage: nothing was tested"
rig_stop registry 9
t_down=$EPOCHREALTIME
vm_log "registry killed; back in $OUTAGE_S s"
sleep "$OUTAGE_S"
rig_registry_start "$rig" "$REG_PORT" "$USER" "$PASSWORD"
outage_s=$(elapsed "$t_down")
check_tree_wait || scenario_fail "files differ after the outage"
files=$CHECK_FILES bad=$CHECK_BAD read_s=$CHECK_SECONDS
read -r fetched requests connections retries <<<"$(rig_totals registry)"
[ "$retries" -ge 1 ] || scenario_fail "no retry logged: the outage was not seen"
[ "$connections" -ge 2 ] || scenario_fail "$connections connections: the worker never reconnected"
gave_up=$(rig_log_count "$SUP_LOG" "fetch_deadline reached")
[ "$gave_up" = 0 ] || scenario_fail "$gave_up fetches gave up within the outage"
longest_read_ms=$("$CTL_BIN" status --json | python3 -c 'import json, sys
print(json.load(sys.stdin)["read_latency_us"]["max"] // 1000)')
umount /mnt/out-a

# 2. An outage longer than fetch_deadline: the READ fails, clearly, then the next one succeeds.
rig_stop registry 9
mount -t erofs none -o fsid=out-b /mnt/out-b 2>"$CFS_VM_TMP/mount.err" && {
	scenario_fail "mounted with the registry down"
	umount /mnt/out-b
}
grep -q "domain registry: origin 127.0.0.1:$REG_PORT: blob $digest bytes [0-9-]*: no connection to 127.0.0.1:$REG_PORT: Connection refused; fetch_deadline reached" "$SUP_LOG" ||
	scenario_fail "no clear line when fetch_deadline passed"
rig_registry_start "$rig" "$REG_PORT" "$USER" "$PASSWORD"
mount -t erofs none -o fsid=out-b /mnt/out-b || scenario_fail "mount failed with the registry back"
check_tree /mnt/out-b "$manifest" 4 || scenario_fail "files differ once the registry is back"
umount /mnt/out-b
supervisor_stop || scenario_fail "supervisor exit status $?"
rig_stop registry
[ "${STAT[deaths]}" = 0 ] && [ "${STAT[timeouts]}" = 0 ] ||
	scenario_fail "${STAT[deaths]} workers died, ${STAT[timeouts]} requests timed out: the deadline is not below request_timeout"
scenario_end files="$files+$CHECK_FILES" bad="$((bad + CHECK_BAD))" outage_s="$outage_s" read_s="$read_s" \
	retries="$retries" connections="$connections" requests="$requests" fetched="$fetched" \
	longest_read_ms="$longest_read_ms" brokered="${STAT[connects]}"
