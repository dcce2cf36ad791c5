#!/bin/bash
# Benchmark, systemd as PID 1: which unit options make a restart grow with
# the number of mounts (issue 16). With N open objects (erofs mounts of a
# 30 KB image), `systemctl restart` is timed to READY=1 with the shipped
# unit (whose --private-view builds the supervisor's view itself), then with
# one of systemd's mount-namespace options added by a drop-in, then with all
# of them (the unit as it was before issue 16). Prints one line per variant:
# average restart ms and its difference from the shipped unit.
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

# variant_ms SETTINGS...: the drop-in lines, restarts timed; prints the average ms.
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

# What the unit had before issue 16; each one alone makes systemd build a mount namespace.
options=("ProtectSystem=strict" "ReadWritePaths=$CFS_CACHE_DIR" ProtectHome=tmpfs PrivateTmp=yes PrivateDevices=yes
	ProtectKernelTunables=yes ProtectKernelModules=yes ProtectKernelLogs=yes ProtectControlGroups=yes
	ProtectProc=invisible ProcSubset=pid "BindReadOnlyPaths=$CFS_SRC $CFS_BUILD")
base=$(variant_ms)
vm_log "UNIT shipped: restart $base ms with $objects objects"
vm_log "UNIT $(unit_log | grep -o 'private view built in [0-9]* ms' | tail -1)"
for o in "${options[@]}"; do
	ms=$(variant_ms "$o") || break
	vm_log "UNIT + $o: restart $ms ms ($((ms - base)) ms against the shipped unit)"
done
all=$(variant_ms "${options[@]}") || true
vm_log "UNIT + all of them (the unit before issue 16): restart $all ms ($((all - base)) ms)"
rm -f "/run/systemd/system/$UNIT.service.d/zz-bench.conf"
systemctl daemon-reload
mount_many umount /mnt/scale scale 0 "$objects" || scenario_fail "an umount failed"
systemctl stop "$UNIT"
scenario_end objects="$objects" shipped_ms="$base" before_issue16_ms="$all"
