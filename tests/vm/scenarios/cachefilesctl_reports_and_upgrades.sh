#!/bin/bash
# cachefilesctl over the supervisor's control socket: status (text and JSON)
# counts what a checksummed read was served, objects lists the open object,
# upgrade-workers replaces every worker while 4 readers read another image
# (every pid changes, no reader error, every checksum matches), reexec brings
# the supervisor back in place with one more start, and a user other than
# root is refused twice over: by the socket's mode, and, with the mode
# widened, by the supervisor's uid check.
# vm-images: small:small big:big
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"

scenario_begin cachefilesctl_reports_and_upgrades
socket=/run/cachefiles-supervisor/control
ctl() { timeout 90 "$CTL_BIN" "$@"; }
# json_get EXPR: a field of the JSON on stdin; json.load also proves it is valid JSON.
json_get() { /usr/bin/python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"; }
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }

blobs=$BLOBS
stage_blob small small /mnt/small /mnt/big
cp "$(image_path big)" "$blobs/big"
supervisor_start --blob-dir "$blobs" --workers 2
mode=$(stat -c %a "$socket")
[ "$mode" = 600 ] || scenario_fail "control socket mode $mode, expected 600"
ctl status

# --- status and objects after a checksummed read ---
mount -t erofs none -o fsid=small /mnt/small
check_tree /mnt/small "$(image_manifest small)" 4 || scenario_fail "small image: content differs"
status=$(ctl status --json)
vm_log "status --json: $status"
objects=$(json_get 'd["objects"]' <<<"$status")
bytes_served=$(json_get 'd["bytes_served"]' <<<"$status")
domain_bytes=$(json_get 'd["domains"][0]["bytes_served"]' <<<"$status")
domain_reads=$(json_get 'd["domains"][0]["reads"]' <<<"$status")
ready=$(json_get 'd["domains"][0]["ready"]' <<<"$status")
[ "$objects" = 1 ] || scenario_fail "status: objects=$objects, expected 1"
[ "$bytes_served" -gt 0 ] || scenario_fail "status: bytes_served=$bytes_served"
[ "$domain_bytes" = "$bytes_served" ] || scenario_fail "the one domain served $domain_bytes of $bytes_served bytes"
[ "$domain_reads" -gt 0 ] || scenario_fail "status: the domain counted no reads"
[ "$ready" = 2 ] || scenario_fail "status: $ready workers ready, expected 2"
listing=$(ctl objects)
vm_log "objects: $listing"
grep -q "state=open size=[0-9]* fdstore=no cookie=small volume=erofs,small" <<<"$listing" ||
	scenario_fail "objects does not list the small image"
[ "$(ctl objects --json | json_get 'd["objects"][0]["cookie"]')" = small ] || scenario_fail "objects --json"

# --- upgrade-workers while readers read the big image ---
pids_before=$(worker_pids | tr ' ' '\n' | sort)
mount -t erofs none -o fsid=big /mnt/big
check_tree_bg /mnt/big "$(image_manifest big)" 4
sleep 1 # let the readers get going
readers_running || scenario_fail "the readers finished before the upgrade: nothing was under load"
t0=$EPOCHREALTIME
ctl upgrade-workers | tee "$CFS_VM_TMP/upgrade" || scenario_fail "upgrade-workers failed"
upgrade_s=$(elapsed "$t0")
under_load=no
readers_running && under_load=yes
upgrade_ms=$(sed -n 's/^done: .* after \([0-9]*\) ms$/\1/p' "$CFS_VM_TMP/upgrade")
pids_after=$(worker_pids | tr ' ' '\n' | sort)
vm_log "workers before: ${pids_before//$'\n'/ }, after: ${pids_after//$'\n'/ }"
[ "$(wc -w <<<"$pids_after")" = 2 ] || scenario_fail "$(wc -w <<<"$pids_after") workers after the upgrade"
[ -z "$(comm -12 <(echo "$pids_before") <(echo "$pids_after"))" ] || scenario_fail "a worker survived the upgrade"
check_tree_wait || scenario_fail "readers saw errors or bad data during the upgrade"
# Retired workers leave on their own: spawns count them, deaths (restarts) do not.
status=$(ctl status --json)
spawns=$(json_get 'd["spawns"]' <<<"$status")
deaths=$(json_get 'd["deaths"]' <<<"$status")
[ "$(json_get 'd["domains"][0]["spawns"]' <<<"$status")" = 4 ] && [ "$spawns" = 4 ] ||
	scenario_fail "spawns after the upgrade: $spawns in all, expected 4 (2 + 2 new)"
[ "$deaths" = 0 ] && [ "$(json_get 'd["domains"][0]["deaths"]' <<<"$status")" = 0 ] ||
	scenario_fail "deaths after the upgrade: $deaths, expected 0 (the old workers retired)"

# --- reexec: same pid, one more start ---
starts_before=$(ctl status --json | json_get 'd["starts"]')
t0=$EPOCHREALTIME
ctl reexec | tee "$CFS_VM_TMP/reexec" || scenario_fail "reexec failed"
reexec_s=$(elapsed "$t0")
back_ms=$(sed -n 's/^the supervisor is back after \([0-9]*\) ms.*/\1/p' "$CFS_VM_TMP/reexec")
grep -q "pid $SUP_PID (same), start $((starts_before + 1))" "$CFS_VM_TMP/reexec" ||
	scenario_fail "reexec: not back in place with start $((starts_before + 1))"
[ "$(ctl status --json | json_get 'd["pid"]')" = "$SUP_PID" ] || scenario_fail "status after reexec: another pid"

# --- not root: refused by the mode, then by the uid check ---
if as_nobody "$CTL_BIN" status 2>"$CFS_VM_TMP/nobody"; then
	scenario_fail "a non-root user got a status"
fi
vm_log "as nobody: $(cat "$CFS_VM_TMP/nobody")"
grep -q "permission denied: cachefilesctl must run as root" "$CFS_VM_TMP/nobody" || scenario_fail "no clear refusal"
chmod 0755 "$(dirname "$socket")"
chmod 0666 "$socket"
if as_nobody "$CTL_BIN" status 2>"$CFS_VM_TMP/nobody"; then
	scenario_fail "a non-root user got a status through a widened socket"
fi
chmod 0600 "$socket"
vm_log "as nobody, socket 0666: $(cat "$CFS_VM_TMP/nobody")"
grep -q "permission denied: the control socket is for root only" "$CFS_VM_TMP/nobody" ||
	scenario_fail "the supervisor did not refuse a non-root peer"
grep -q "control: refused a connection from pid [0-9]* uid 65534: not root" "$SUP_LOG" ||
	scenario_fail "the refusal is not in the supervisor's log"

umount /mnt/small /mnt/big
supervisor_stop || scenario_fail "supervisor exit status $?"
[ "${STAT[failed]}" = 0 ] || scenario_fail "${STAT[failed]} requests failed"
[ ! -e "$socket" ] || scenario_fail "the control socket outlived the supervisor"
scenario_end files="$CHECK_FILES" bytes="$CHECK_BYTES" bad="$CHECK_BAD" read_s="$CHECK_SECONDS" \
	bytes_served_small="$bytes_served" reads_small="$domain_reads" upgrade_ms="$upgrade_ms" \
	upgrade_s="$upgrade_s" under_load="$under_load" spawns="$spawns" deaths="$deaths" \
	reexec_back_ms="$back_ms" reexec_s="$reexec_s"
