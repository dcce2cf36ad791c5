#!/bin/bash
# Benchmark, systemd as PID 1: which of the unit's sandbox options make a
# restart grow with the number of mounts (issue 16). With N open objects
# (erofs mounts of a 30 KB image), `systemctl restart` is timed to READY=1
# with the shipped unit, then with one option at a time turned off by a
# drop-in, then with every mount-namespace option off. Prints one line per
# variant: average restart ms and its difference from the shipped unit.
#
# Environment: CFS_BENCH_OBJECTS (1000), CFS_BENCH_RESTARTS (2 per variant).
# vm-mode: systemd
# vm-images: mini:mini
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"
. "$CFS_SRC/tests/bench/bench-lib.sh"

objects=${CFS_BENCH_OBJECTS:-1000}
restarts=${CFS_BENCH_RESTARTS:-2}
scenario_begin bench_unit_options

mkdir -p "$BENCH_BLOBS"
cp "$(image_path mini)" "$BENCH_BLOBS/t0"
link_many "$BENCH_BLOBS" "$objects"
unit_install --blob-dir "$BENCH_BLOBS" --workers 1
systemctl start "$UNIT" || { unit_dump "$UNIT"; exit 1; }
mount_many mount /mnt/scale scale 0 "$objects" || scenario_fail "a mount failed"
wait_status_objects "$objects" || scenario_fail "STATUS does not show $objects objects"

# variant NAME SETTINGS...: the drop-in lines, restarts timed; prints the average ms.
variant_ms() {
	local dropin=/run/systemd/system/$UNIT.service.d/zz-bench.conf r t0
	printf '[Service]\n' >"$dropin"
	printf '%s\n' "$@" >>"$dropin"
	systemctl daemon-reload
	: >"$CFS_VM_TMP/ms"
	for ((r = 0; r < restarts; r++)); do
		t0=$EPOCHREALTIME
		systemctl restart "$UNIT" || { unit_dump "$UNIT"; scenario_fail "restart failed with $*"; return 1; }
		awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f\n", (b - a) * 1000 }' >>"$CFS_VM_TMP/ms"
	done
	awk '{ s += $1 } END { printf "%.0f\n", s / NR }' "$CFS_VM_TMP/ms"
}

options=(ProtectSystem=no ProtectHome=no PrivateTmp=no PrivateDevices=no ProtectKernelTunables=no
	ProtectKernelModules=no ProtectKernelLogs=no ProtectControlGroups=no ProtectProc=default
	ProtectClock=no ProtectHostname=no "ReadWritePaths=" "BindReadOnlyPaths=")
base=$(variant_ms)
vm_log "UNIT shipped: restart $base ms with $objects objects"
for o in "${options[@]}"; do
	ms=$(variant_ms "$o") || break
	vm_log "UNIT $o: restart $ms ms ($((ms - base)) ms against the shipped unit)"
done
none=$(variant_ms "${options[@]}") || true
vm_log "UNIT every one of them off: restart $none ms ($((none - base)) ms)"
rm -f "/run/systemd/system/$UNIT.service.d/zz-bench.conf"
systemctl daemon-reload
mount_many umount /mnt/scale scale 0 "$objects" || scenario_fail "an umount failed"
systemctl stop "$UNIT"
scenario_end objects="$objects" shipped_ms="$base" all_off_ms="$none"
