#!/bin/bash
# The shipped unit passes `systemd-analyze verify` and reports its exposure
# (`systemd-analyze security`), with the sysusers.d and tmpfiles.d entries
# applied as a package install would. systemd-analyze cannot see the
# supervisor's own view (--private-view, issue 16), so it is checked here
# through /proc/PID/root, which shows the supervisor's namespace: the tree
# read-only but the cache dir, homes and /tmp empty, /dev only the pseudo
# devices and the cachefiles device, /proc without its system files.
# vm-mode: systemd
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"

scenario_begin unit_verifies_and_is_hardened

systemd-tmpfiles --create "$CFS_SRC/systemd/cachefiles-supervisor.tmpfiles" ||
	scenario_fail "tmpfiles.d entry failed"
[ -d /var/lib/cachefiles-supervisor/blobs ] || scenario_fail "tmpfiles.d did not make the blob dir"
# The shipped unit with the shipped example config; only the binaries are the build's.
UNIT_CACHE_ARG= unit_install --config "$CFS_SRC/conf/cachefiles-supervisor.conf"
id cachefiles-worker >/dev/null || scenario_fail "sysusers.d did not make the worker user"

# --man=no: Documentation= names man pages that meson install or the package
# installs, not the build tree (the unit test `paths` checks what they say).
verify=$(systemd-analyze verify --man=no "/run/systemd/system/$UNIT.service" 2>&1 || echo "exit status $?")
[ -z "$verify" ] || { echo "$verify"; scenario_fail "systemd-analyze verify is not clean"; }
systemd-analyze security --no-pager "$UNIT.service" | tee "$CFS_VM_TMP/security" | grep -v ' ✓ ' || true
exposure=$(sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p' "$CFS_VM_TMP/security")
[ -n "$exposure" ] || scenario_fail "no exposure level reported"
systemctl start "$UNIT" || { unit_dump "$UNIT"; scenario_fail "the shipped unit does not start with the example config"; }
domains=$(unit_log | grep -c "workers run version" || true)
pid=$(main_pid) view=/proc/$(main_pid)/root
unit_log | grep -q "private view built in" || scenario_fail "the supervisor built no private view"
[ "$(readlink "/proc/$pid/ns/mnt")" != "$(readlink /proc/1/ns/mnt)" ] || scenario_fail "no mount namespace of its own"
touch "$view/usr/cfs-probe" 2>/dev/null && scenario_fail "/usr is writable in the supervisor's view"
touch "$view/var/cache/cachefiles/cfs-probe" || scenario_fail "the cache dir is not writable in the view"
rm -f /var/cache/cachefiles/cfs-probe
# Empty but for the way to this tree, when the clone lives there (kept read-only).
for d in root tmp var/tmp; do
	for e in $(ls -A "$view/$d"); do
		case "$CFS_SRC/ $CFS_BUILD/" in *"/$d/$e/"*) ;; *) scenario_fail "/$d/$e is visible in the view" ;; esac
	done
done
devs=$(ls "$view/dev" | paste -sd ' ')
[ "$devs" = "cachefiles full null random urandom zero" ] || scenario_fail "/dev in the view holds: $devs"
[ ! -e "$view/proc/sys" ] || scenario_fail "/proc/sys is visible in the view"
vm_log "the supervisor's view: /dev holds $devs; /root, /tmp, /var/tmp empty (but for this tree); / read-only"
systemctl stop "$UNIT"
scenario_end exposure="$exposure" domains_with_ready_workers="$domains"
