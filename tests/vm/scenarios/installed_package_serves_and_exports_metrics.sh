#!/bin/bash
# systemd as PID 1, the project as a user gets it: the .deb that
# tests/check-deb.sh built (tests/vm/with-deb.sh passes it as CFS_DEB) is
# installed with dpkg. Checked: the worker user exists, the supervisor is
# installed but neither enabled nor started, the unit verifies with its man
# pages installed. Then, as README's Install section says: the config points
# at a blob dir, the unit is enabled and started, an image mounted and every
# file checked. Metrics: the packaged oneshot writes the .prom file that
# Debian's own prometheus-node-exporter serves on loopback; promtool accepts
# it, and a mount of a missing blob shows up as a counter. An upgrade (dpkg -i
# of the same package again) re-executes the running supervisor in place:
# same pid, more starts, the mounted image still reads. A removal stops it.
# vm-mode: systemd
# vm-images: small:small
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"

UNIT=cachefiles-supervisor.service
PROM=/var/lib/prometheus/node-exporter/cachefiles-supervisor.prom
scenario_begin installed_package_serves_and_exports_metrics

deb=${CFS_DEB:?CFS_DEB: the .deb to install (tests/vm/with-deb.sh sets it)}
[ -f "$deb" ] || { scenario_fail "no package at $deb"; exit 1; }
! id cachefiles-worker >/dev/null 2>&1 || scenario_fail "the worker user exists before the install"
# The guest's root is the host's under an overlay: a container-style host
# image may carry a policy-rc.d that forbids maintainer scripts to start or
# stop services. A user's machine has none (it goes in the overlay only).
rm -f /usr/sbin/policy-rc.d
# Nor does man-db index the host's pages again at each dpkg run: the
# package's man1 page makes it rescan man1, 18 000 pages over 9p on this
# rig (90-140 s a run); on a local disk that takes a moment.
rm -f /var/lib/man-db/auto-update
# timed_dpkg NAME ARGS...: dpkg with its output in $CFS_VM_TMP/NAME.log and
# its seconds in DPKG_S[NAME] (the log and the journal meanwhile when it is slow).
declare -A DPKG_S
timed_dpkg() {
	local name=$1 t0=$EPOCHREALTIME rc=0
	shift
	dpkg "$@" >"$CFS_VM_TMP/$name.log" 2>&1 || rc=$?
	DPKG_S[$name]=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	vm_log "dpkg $* took ${DPKG_S[$name]} s"
	if [ "${DPKG_S[$name]%.*}" -ge 30 ]; then
		cat "$CFS_VM_TMP/$name.log"
		journalctl -q -o short-precise --since "@${t0%.*}" | tail -n 40
	fi
	return "$rc"
}
timed_dpkg install -i "$deb" || { cat "$CFS_VM_TMP/install.log"; scenario_fail "dpkg -i failed"; exit 1; }

id cachefiles-worker >/dev/null 2>&1 || scenario_fail "the package did not create the worker user"
enabled=$(systemctl is-enabled "$UNIT" 2>/dev/null || true)
[ "$enabled" = disabled ] || scenario_fail "the supervisor is '$enabled' after install, expected disabled"
! systemctl is-active -q "$UNIT" || scenario_fail "the install started the supervisor"
man -w cachefiles-supervisor >/dev/null 2>&1 || [ -f /usr/share/man/man8/cachefiles-supervisor.8.gz ] ||
	scenario_fail "the man page is not installed"
systemd-analyze verify "/lib/systemd/system/$UNIT" >"$CFS_VM_TMP/verify.log" 2>&1 ||
	{ cat "$CFS_VM_TMP/verify.log"; scenario_fail "systemd-analyze verify refuses the installed unit"; }

# README, Install: point the config at the blobs and the cache, enable, start.
stage_blob small small0
cat >/etc/cachefiles-supervisor.conf <<EOF
[cache]
dir = $CFS_CACHE_DIR

[domain images]
volume = *
blob_dir = $BLOBS
workers = 2
EOF
t0=$EPOCHREALTIME
systemctl enable --now "$UNIT" || { unit_dump "$UNIT"; scenario_fail "enable --now failed"; exit 1; }
vm_log "systemctl enable --now took $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s"
mount_blob_as small0 small0 || scenario_fail "mount failed"
check_tree /mnt/small0 "$(image_manifest small)" 2 || scenario_fail "reads through the installed package"
files=$CHECK_FILES bad=$CHECK_BAD

# node_exporter on loopback, as the package installs it (disabled on the host).
systemctl start prometheus-node-exporter || { unit_dump prometheus-node-exporter; scenario_fail "node_exporter"; }
mkdir -p /mnt/missing
mount -t erofs none -o fsid=no-such-blob /mnt/missing 2>/dev/null && scenario_fail "a missing blob mounted"
systemctl is-enabled -q cachefiles-supervisor-metrics.timer || scenario_fail "the metrics timer is not enabled"
systemctl is-active -q cachefiles-supervisor-metrics.timer || scenario_fail "the metrics timer did not start with it"
# The timer's own run, on demand: oneshot, so this returns once the file is written.
systemctl start cachefiles-supervisor-metrics.service || scenario_fail "the metrics service failed"
[ -s "$PROM" ] || scenario_fail "no $PROM"
promtool check metrics <"$PROM" >"$CFS_VM_TMP/promtool.log" 2>&1 ||
	{ cat "$CFS_VM_TMP/promtool.log"; scenario_fail "promtool refuses the metrics"; }
for _ in $(seq 50); do
	curl -sf http://127.0.0.1:9100/metrics >"$CFS_VM_TMP/scrape" && break
	sleep 0.2 # node_exporter has no readiness signal but its port
done
grep -qx 'cachefiles_supervisor_up 1' "$CFS_VM_TMP/scrape" || scenario_fail "node_exporter does not serve up 1"
reads=$(sed -n 's/^cachefiles_supervisor_read_latency_seconds_count \([0-9]*\)$/\1/p' "$CFS_VM_TMP/scrape")
[ "${reads:-0}" -gt 0 ] || scenario_fail "no READ latency samples in the scrape"
missing=$(grep -c '^cachefiles_supervisor_domain_missing_blob.*domain="images".* [1-9]' "$CFS_VM_TMP/scrape" || true)
[ "$missing" -ge 1 ] || { grep missing "$CFS_VM_TMP/scrape" || true; scenario_fail "the missing blob is not counted"; }
series=$(grep -c '^cachefiles_supervisor' "$CFS_VM_TMP/scrape" || true)
vm_log "promtool check metrics $PROM: exit 0, said: '$(tr '\n' ' ' <"$CFS_VM_TMP/promtool.log")'"
vm_log "curl http://127.0.0.1:9100/metrics: $series cachefiles_supervisor series, among them:"
grep -E '^cachefiles_supervisor_(up|info|read_latency_seconds_(count|sum)|objects|domain_(missing_blob|reads))' \
	"$CFS_VM_TMP/scrape" | head -12 || true

# Upgrade in place: postinst re-executes the running supervisor.
pid=$(systemctl show -p MainPID --value "$UNIT")
starts0=$(cachefilesctl status --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["starts"])')
timed_dpkg upgrade -i "$deb" || { cat "$CFS_VM_TMP/upgrade.log"; scenario_fail "upgrade failed"; }
starts1=$(cachefilesctl status --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["starts"])')
[ "$(systemctl show -p MainPID --value "$UNIT")" = "$pid" ] || scenario_fail "the upgrade restarted the supervisor"
[ "$starts1" -gt "$starts0" ] || scenario_fail "the upgrade did not re-execute it (starts $starts0 -> $starts1)"
echo 3 >/proc/sys/vm/drop_caches
check_tree /mnt/small0 "$(image_manifest small)" 2 || scenario_fail "reads after the upgrade"
files=$((files + CHECK_FILES)) bad=$((bad + CHECK_BAD))

umount /mnt/small0
timed_dpkg remove -r cachefiles-supervisor || { cat "$CFS_VM_TMP/remove.log"; scenario_fail "removal"; }
! systemctl is-active -q "$UNIT" || scenario_fail "the supervisor still runs after removal"
scenario_end files="$files" bad="$bad" series="$series" reads="$reads" starts="$starts0->$starts1" \
	dpkg_install_s="${DPKG_S[install]}" dpkg_upgrade_s="${DPKG_S[upgrade]}" dpkg_remove_s="${DPKG_S[remove]}"
