#!/bin/bash
# Issue 17, items 3 and 12, under systemd with readers on a mount the whole
# time: a broken config on disk makes `systemctl reload` fail with the file
# and line, and `cachefilesctl reexec` / SIGUSR2 refuse before anything is
# replaced (same pid, same start count); so does a moved worker binary. A
# crash while the broken file is on disk does not restart the unit every
# RestartSec: the new instance keeps the fd store, says in STATUS= and the
# journal what to fix, and serves once `systemctl reload` finds the file
# fixed; the readers then finish with every checksum right. A restart with
# one domain's blob dir missing serves the other domain; a reload once the
# directory is back adds it.
# vm-mode: systemd
# vm-images: big:big small:small
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"

scenario_begin refused_configs_never_stop_serving

conf=/etc/cfs-refused-test.conf # the unit has PrivateTmp=: not under /tmp
worker=/usr/local/libexec/cfs-test-worker
install_binary "$WORKER_BIN" "$worker"
mkdir -p /srv/alpha /srv/beta
cp "$(image_path big)" /srv/alpha/img-alpha
cp "$(image_path small)" /srv/beta/img-beta
write_conf() { # write_conf [EXTRA LINE]: two domains; EXTRA goes to line 11, in [domain beta]
	printf '[cache]\ndir = %s\n\n[domain alpha]\nvolume = erofs,img-alpha*\nblob_dir = /srv/alpha\n' \
		"$CFS_CACHE_DIR" >"$conf.new"
	printf '\n[domain beta]\nvolume = erofs,img-beta*\nblob_dir = /srv/beta\n%s' "${1:-}" >>"$conf.new"
	mv "$conf.new" "$conf"
}
broken="workers = lots"
write_conf
UNIT_CACHE_ARG="" UNIT_WORKER_BIN=$worker unit_install -c "$conf"
systemctl start "$UNIT" || { unit_dump "$UNIT"; exit 1; }
mkdir -p /mnt/alpha /mnt/beta
mount -t erofs none -o fsid=img-alpha /mnt/alpha
check_tree_bg /mnt/alpha "$(image_manifest big)" 4
pid=$(main_pid)
starts=$(status_field starts)

# 1. systemctl reload with a broken file: non-zero, with the file and line.
write_conf "$broken"
reload_rc=0
systemctl reload "$UNIT" 2>"$CFS_OUT/reload.err" || reload_rc=$?
unit_log | grep -q "cachefilesctl.*$conf:11: workers = 'lots'" ||
	{ unit_log | tail -n 20 >&2; scenario_fail "the reload's refusal does not name $conf:11"; }
[ "$reload_rc" != 0 ] || scenario_fail "systemctl reload succeeded with a broken config"

# 2. re-exec with the broken file, by cachefilesctl and by SIGUSR2: refused, still serving.
reexec_rc=0
"$CTL_BIN" reexec >"$CFS_OUT/reexec.out" 2>&1 || reexec_rc=$?
cat "$CFS_OUT/reexec.out" >&2
[ "$reexec_rc" != 0 ] || scenario_fail "cachefilesctl reexec succeeded with a broken config"
grep -q "re-exec refused, still serving: $conf:11: workers = 'lots'" "$CFS_OUT/reexec.out" ||
	scenario_fail "the re-exec refusal does not name $conf:11"
systemctl kill -s USR2 --kill-who=main "$UNIT"
wait_unit_log "re-exec refused, still serving: $conf:11" 2 20 || scenario_fail "SIGUSR2 was not refused"
write_conf
mv "$worker" "$worker.moved"
reexec_rc=0
"$CTL_BIN" reexec >"$CFS_OUT/reexec2.out" 2>&1 || reexec_rc=$?
grep -q "worker binary $worker (use --worker-exe): No such file" "$CFS_OUT/reexec2.out" ||
	{ cat "$CFS_OUT/reexec2.out" >&2; scenario_fail "a moved worker binary did not refuse the re-exec"; }
mv "$worker.moved" "$worker"
[ "$(main_pid)" = "$pid" ] && [ "$(status_field starts)" = "$starts" ] ||
	scenario_fail "a refused re-exec replaced the supervisor"

# 3. A crash with the broken file on disk: one restart, then it waits; the fd store stays.
write_conf "$broken"
store_before=$(fdstore_count)
restarts_before=$(systemctl show -p NRestarts --value "$UNIT")
kill -KILL "$pid"
wait_unit_log "not serving: $conf:11: workers = 'lots'" 1 30 || { unit_dump "$UNIT"; scenario_fail "no refusal in the journal"; }
sleep 5
restarts_waiting=$(( $(systemctl show -p NRestarts --value "$UNIT") - restarts_before ))
[ "$restarts_waiting" = 1 ] || scenario_fail "$restarts_waiting restarts in 5 s with a broken config, expected 1"
store_waiting=$(fdstore_count)
[ "$store_waiting" = "$store_before" ] || scenario_fail "fd store $store_waiting while waiting, $store_before before"
systemctl show -p StatusText --value "$UNIT" | grep -q "not serving: $conf:11" ||
	scenario_fail "STATUS= does not say what to fix"
ctl_status=$("$CTL_BIN" status 2>&1 || true)
grep -q "not serving: $conf:11" <<<"$ctl_status" || scenario_fail "cachefilesctl status does not say why: $ctl_status"
# A new mount while it waits: its OPEN and READs wait (no error), and are served once the file is fixed.
ln /srv/alpha/img-alpha /srv/alpha/img-alpha-2
mkdir -p /mnt/alpha2
(mount -t erofs none -o fsid=img-alpha-2 /mnt/alpha2 && check_tree /mnt/alpha2 "$(image_manifest big)" 4 &&
	echo "$CHECK_FILES $CHECK_BAD" >"$CFS_VM_TMP/waited") &
waiter=$!
sleep 3
kill -0 "$waiter" 2>/dev/null || scenario_fail "the mount made while not serving did not wait"
write_conf
systemctl reload "$UNIT" || { unit_dump "$UNIT"; scenario_fail "reload of the fixed config failed"; }
wait_unit_log "the config is valid now: starting to serve" 1 20 || scenario_fail "it did not start serving"
check_tree_wait || scenario_fail "readers saw errors or bad data"
files=$CHECK_FILES bad=$CHECK_BAD
wait "$waiter" || scenario_fail "the mount or reads made while not serving failed"
read -r waited_files waited_bad <"$CFS_VM_TMP/waited"
files=$((files + waited_files)) bad=$((bad + waited_bad))
umount /mnt/alpha2

# 4. A restart with beta's blob dir gone: alpha is served, beta waits for a reload.
mv /srv/beta /srv/beta.away
systemctl restart "$UNIT" || { unit_dump "$UNIT"; scenario_fail "restart with a missing blob dir failed"; }
unit_log | grep -q "domain beta: not served: domain beta: blob dir /srv/beta: No such file" ||
	scenario_fail "the missing blob dir is not reported"
check_tree /mnt/alpha "$(image_manifest big)" 2 || scenario_fail "alpha was not served"
! systemctl reload "$UNIT" 2>/dev/null || scenario_fail "a reload with the blob dir still missing succeeded"
mv /srv/beta.away /srv/beta
systemctl reload "$UNIT" || scenario_fail "the reload with the blob dir back failed"
mount -t erofs none -o fsid=img-beta /mnt/beta || { unit_dump "$UNIT"; scenario_fail "beta not served after reload"; }
check_tree /mnt/beta "$(image_manifest small)" 2 || scenario_fail "beta reads failed"
umount /mnt/beta /mnt/alpha
systemctl stop "$UNIT"
scenario_end files="$files" bad="$bad" files_read_after_waiting="$waited_files" reload_rc="$reload_rc" reexec_rc="$reexec_rc" \
	restarts_while_refused="$restarts_waiting" fdstore_waiting="$store_waiting" fdstore_before="$store_before"
