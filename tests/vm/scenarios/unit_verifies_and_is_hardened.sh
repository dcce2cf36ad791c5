#!/bin/bash
# The shipped unit passes `systemd-analyze verify` and reports its exposure
# (`systemd-analyze security`), with the sysusers.d and tmpfiles.d entries
# applied as a package install would.
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

verify=$(systemd-analyze verify "/run/systemd/system/$UNIT.service" 2>&1 || echo "exit status $?")
[ -z "$verify" ] || { echo "$verify"; scenario_fail "systemd-analyze verify is not clean"; }
systemd-analyze security --no-pager "$UNIT.service" | tee "$CFS_VM_TMP/security" | grep -v ' ✓ ' || true
exposure=$(sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p' "$CFS_VM_TMP/security")
[ -n "$exposure" ] || scenario_fail "no exposure level reported"
systemctl start "$UNIT" || { unit_dump "$UNIT"; scenario_fail "the shipped unit does not start with the example config"; }
domains=$(unit_log | grep -c "workers run version" || true)
systemctl stop "$UNIT"
scenario_end exposure="$exposure" domains_with_ready_workers="$domains"
