#!/bin/bash
# SIGHUP re-reads the config while readers run: a third domain is added while
# two mounts are being read, and serves a third mount; a config with an error
# is refused and the running one stays; a removed domain keeps serving the
# object it has open, takes no new volume, and its workers leave once that
# object closes. Every checksum matches; cachefilesctl status --json reports
# the three domains with bytes served.
# vm-images: big:big small:small tiny:tiny
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"

scenario_begin config_reload_adds_and_removes_domains

for u in cfs-alpha cfs-beta cfs-gamma; do
	id "$u" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$u"
done
mkdir -p /srv/alpha /srv/beta /srv/gamma /mnt/alpha /mnt/beta /mnt/gamma /mnt/stray
cp "$(image_path big)" /srv/alpha/img-alpha
cp "$(image_path small)" /srv/beta/img-beta
cp "$(image_path small)" /srv/beta/img-beta-2
cp "$(image_path tiny)" /srv/gamma/img-gamma
conf=$CFS_VM_TMP/reload.conf

# write_conf DOMAIN...: the cache section and the named domains.
write_conf() {
	printf '[cache]\ndir = %s\nrequest_timeout = 20s\n' "$CFS_CACHE_DIR" >"$conf.new"
	for d in "$@"; do
		printf '\n[domain %s]\nvolume = erofs,img-%s*\nblob_dir = /srv/%s\nworkers = 2\nworker_user = cfs-%s\n' \
			"$d" "$d" "$d" "$d" >>"$conf.new"
	done
	mv "$conf.new" "$conf"
}

# reload: SIGHUP, then wait for the outcome's log line (the Nth of its kind).
reloads=0
reload() {
	reloads=$((reloads + 1))
	kill -HUP "$SUP_PID"
	wait_log "$SUP_LOG" "reload: reading" "$reloads" 30 || scenario_fail "reload $reloads never started"
	wait_log "$SUP_LOG" "$1" "$2" 30 || scenario_fail "reload $reloads: no '$1' in the log"
}

uids_of_workers() {
	for w in $(worker_pids); do awk '/^Uid:/ { print $2 }' "/proc/$w/status"; done | sort -u | xargs
}

write_conf alpha beta
supervisor_start -c "$conf"
mount -t erofs none -o fsid=img-alpha /mnt/alpha
mount -t erofs none -o fsid=img-beta /mnt/beta
CHECK_BG_TAG=alpha check_tree_bg /mnt/alpha "$(image_manifest big)" 2
alpha_pid=$CHECK_BG_PID
CHECK_BG_TAG=beta check_tree_bg /mnt/beta "$(image_manifest small)" 2
beta_pid=$CHECK_BG_PID

# A third domain while both mounts are read.
write_conf alpha beta gamma
reload "reload: .* applied, 3 domains" 1
reload_ms=$(sed -n 's/.*applied, 3 domains, in \([0-9]*\) ms.*/\1/p' "$SUP_LOG")
kill -0 "$alpha_pid" 2>/dev/null || scenario_fail "the alpha readers ended before the reload: nothing was proven"
grep -q "domain gamma: added" "$SUP_LOG" || scenario_fail "gamma was not added"
mount -t erofs none -o fsid=img-gamma /mnt/gamma
check_tree /mnt/gamma "$(image_manifest tiny)" 1 || scenario_fail "domain gamma: bad data"
gamma_files=$CHECK_FILES

# A broken config changes nothing.
printf '[domain delta]\nblob_dir = /srv/none\nbogus = 1\n' >>"$conf"
reload "reload refused, the running config stays" 1
grep -q "$conf:[0-9]*: .*bogus" "$SUP_LOG" || scenario_fail "the refused reload did not name the bad line"

CHECK_BG_PID=$alpha_pid CHECK_BG_TAG=alpha check_tree_wait || scenario_fail "domain alpha: bad data"
alpha_files=$CHECK_FILES alpha_bad=$CHECK_BAD
CHECK_BG_PID=$beta_pid CHECK_BG_TAG=beta check_tree_wait || scenario_fail "domain beta: bad data"
beta_files=$CHECK_FILES beta_bad=$CHECK_BAD

# The operator's view: three domains, each with bytes served.
status_json=$CFS_OUT/status.json
"$CTL_BIN" status --json >"$status_json" || scenario_fail "cachefilesctl status --json failed"
served=$(python3 - "$status_json" <<'EOF2'
import json, sys
st = json.load(open(sys.argv[1]))
print(" ".join(f"{d['name']}:{d['bytes_served']}" for d in st["domains"] if d.get("state", "active") == "active"))
EOF2
)
vm_log "bytes served per domain: $served"
for d in alpha beta gamma; do
	case " $served " in *" $d:0 "*|*" $d:"[^0-9]*) scenario_fail "domain $d served no bytes: $served" ;; esac
	case " $served " in *" $d:"[0-9]*) ;; *) scenario_fail "status --json lacks domain $d: $served" ;; esac
done

# beta leaves the config while its mount is open: it keeps serving it.
write_conf alpha gamma
reload "reload: .* applied, 2 domains" 1
grep -q "domain beta: removed from the config; .* its 1 open objects" "$SUP_LOG" ||
	scenario_fail "beta was not retired with its open object"
echo 3 >/proc/sys/vm/drop_caches
check_tree /mnt/beta "$(image_manifest small)" 2 || scenario_fail "retired domain beta: bad data"
if mount -t erofs none -o fsid=img-beta-2 /mnt/stray 2>/dev/null; then
	umount /mnt/stray
	scenario_fail "a retired domain took a new volume"
fi
wait_log "$SUP_LOG" "no domain serves volume 'erofs,img-beta-2'" 1 10 || scenario_fail "no clear error for the retired volume"
umount /mnt/beta
wait_log "$SUP_LOG" "domain beta: removed from the config and no object left open" 1 30 ||
	scenario_fail "beta was not released after its last object closed"
beta_uid=$(id -u cfs-beta)
deadline=$((SECONDS + 30))
while case " $(uids_of_workers) " in *" $beta_uid "*) true ;; *) false ;; esac; do
	[ "$SECONDS" -lt "$deadline" ] || scenario_fail "beta's workers are still running: $(uids_of_workers)"
	sleep 0.1
done
uids_after=$(uids_of_workers)

umount /mnt/alpha /mnt/gamma
supervisor_stop || scenario_fail "supervisor exit status $?"
[ "${STAT[failed]}" = 0 ] || scenario_fail "${STAT[failed]} requests failed"
scenario_end reload_ms="$reload_ms" alpha_files="$alpha_files" alpha_bad="$alpha_bad" beta_files="$beta_files" \
	beta_bad="$beta_bad" gamma_files="$gamma_files" served="${served// /,}" worker_uids_after="$uids_after"
