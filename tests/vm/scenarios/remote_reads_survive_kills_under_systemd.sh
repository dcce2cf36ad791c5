#!/bin/bash
# Remote blobs under the shipped unit (issue 19, items 2 and 6). First
# without the remote-origins.conf drop-in: the unit gives the service no
# network, and the remote domain is refused at start with a line that names
# the drop-in, so a mount fails at once instead of after fetch_deadline.
# Then with the drop-in: 4 readers check every file of an image fetched
# from docker-registry (TLS, htpasswd) while workers, the connection broker
# and the supervisor itself are SIGKILLed again and again; systemd restarts
# the supervisor, which takes every object back from the fd store. Each pass
# mounts the image under a new name, so every byte read comes from the
# registry: a chunk a dead worker half fetched is fetched again by the next,
# and verified before it is written. No reader sees an error or bad data.
# vm-mode: systemd
# vm-images: small:small
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"
. "$CFS_SRC/tests/vm/remote-lib.sh"

min_sup_kills=${CFS_MIN_KILLS:-10}
scenario_begin remote_reads_survive_kills_under_systemd

REG_PORT=5443 USER=cfs-puller PASSWORD=pw-$RANDOM$RANDOM
image=$(image_path small) manifest=$(image_manifest small)
# Not under /tmp: the unit's --private-view shows the service an empty /tmp,
# and the supervisor reads the CA and the credentials.
rig=/srv/rig descs=/srv/remote
ip link set lo up
rig_certs "$rig"
rig_registry_start "$rig" "$REG_PORT" "$USER" "$PASSWORD"
digest=$(rig_registry_push "$rig" "$REG_PORT" cfs/small "$image" "$USER" "$PASSWORD")
mkdir -p "$descs"
"$CFS_BUILD/tools/cachefiles-blob-describe" "$image" --chunk-size 64K -o "$descs/proto.desc"
(umask 077 && printf 'basic %s:%s\n' "$USER" "$PASSWORD" >"$rig/credentials")
conf=$rig/remote.conf
{
	printf '[cache]\ndir = %s\nrequest_timeout = 60s\n' "$CFS_CACHE_DIR"
	rig_domain registry 'r*' "$descs" "registry https://127.0.0.1:$REG_PORT/cfs/small" "$rig/ca.crt" \
		"credentials = $rig/credentials" "fetch_deadline = 45s" | sed 's/^workers = 1$/workers = 2/'
} >"$conf"

# mount_remote NAME: the image's descriptor under NAME, mounted on /mnt/NAME.
mount_remote() {
	cp "$descs/proto.desc" "$descs/$1.desc"
	mkdir -p "/mnt/$1"
	mount -t erofs none -o "fsid=$1" "/mnt/$1"
}

# 1. The shipped unit as it is: no network, the domain refused, clearly.
UNIT_CACHE_ARG="" unit_install -c "$conf"
systemctl start "$UNIT" || { unit_dump "$UNIT"; exit 1; }
wait_unit_log "install the drop-in remote-origins.conf" 1 30 ||
	scenario_fail "no line names the drop-in the remote domain needs"
t0=$EPOCHREALTIME
mount_remote rnonet 2>/dev/null && { scenario_fail "mounted without a network"; umount /mnt/rnonet; }
refused_mount_s=$(elapsed "$t0")
refusal=$(unit_log | grep -m1 "install the drop-in remote-origins.conf" | sed 's/^[^]]*]: //' || true)
vm_log "without the drop-in: $refusal"

# 2. With the drop-in: kills during remote reads.
cp "$CFS_SRC/systemd/remote-origins.conf" "/run/systemd/system/$UNIT.service.d/"
systemctl daemon-reload
systemctl restart "$UNIT" || { unit_dump "$UNIT"; exit 1; }
fds_idle=$(fd_count "$(main_pid)")

# remote_children PID: the supervisor's children that are workers (their
# comm is the binary's name cut to 15 characters) or, with "broker", the
# broker (forked without an exec, it keeps the supervisor's).
remote_children() {
	local c comm
	for c in $(cat "/proc/$1/task/$1/children" 2>/dev/null); do
		comm=$(cat "/proc/$c/comm" 2>/dev/null) || continue
		case $2:$comm in worker:cachefiles-work*|broker:cachefiles-supe*) echo "$c" ;; esac
	done
}

sup_kills=0 worker_kills=0 broker_kills=0 pass=0 files=0 bad=0 round=0
while [ "$sup_kills" -lt "$min_sup_kills" ] && [ "$pass" -lt 8 ] && [ "$SCENARIO_FAILED" = 0 ]; do
	name=r$pass
	mount_remote "$name" || { unit_dump "$UNIT"; scenario_fail "mount $name failed"; break; }
	check_tree_bg "/mnt/$name" "$manifest" 4
	while readers_running; do
		sleep "0.$((RANDOM % 5 + 3))" # reads run between kills
		pid=$(main_pid)
		[ "$pid" != 0 ] || continue
		round=$((round + 1))
		# Two worker kills, then the broker every fifth round, then the supervisor.
		case $((round % 3)):$((round % 5)) in
		0:*)
			kill -KILL "$pid" && sup_kills=$((sup_kills + 1))
			# Not waiting for READY=1, only for the new process: a worker kill during recovery is a case too.
			deadline=$((SECONDS + 60))
			while new=$(main_pid) && { [ "$new" = "$pid" ] || [ "$new" = 0 ]; }; do
				[ "$SECONDS" -lt "$deadline" ] || { scenario_fail "no restart after the kill"; break 3; }
				sleep 0.05
			done ;;
		*:0)
			for c in $(remote_children "$pid" broker); do kill -KILL "$c" && broker_kills=$((broker_kills + 1)); done ;;
		*)
			for c in $(remote_children "$pid" worker); do kill -KILL "$c" && worker_kills=$((worker_kills + 1)); break; done ;;
		esac
	done
	check_tree_wait || scenario_fail "pass $pass: readers saw errors or bad data"
	files=$((files + CHECK_FILES)) bad=$((bad + CHECK_BAD))
	umount "/mnt/$name"
	pass=$((pass + 1))
	vm_log "pass $pass done: $sup_kills supervisor, $worker_kills worker, $broker_kills broker kills so far"
done
[ "$sup_kills" -ge "$min_sup_kills" ] || scenario_fail "only $sup_kills supervisor kills (wanted $min_sup_kills)"
[ "$worker_kills" -ge 1 ] || scenario_fail "no worker was killed"

systemctl is-active --quiet "$UNIT" || scenario_fail "the unit is not active after the kills"
wait_status_objects 0 || scenario_fail "objects left after umount"
store=$(fdstore_count)
[ "$store" = 2 ] || scenario_fail "fd store holds $store fds, expected 2 (device + state)"
fds_now=$(fd_count "$(main_pid)")
[ "$fds_now" = "$fds_idle" ] || scenario_fail "supervisor holds $fds_now fds, expected $fds_idle"
unit_log >"$CFS_OUT/unit.log"
read_errors=$(grep -c "the reader gets an error" "$CFS_OUT/unit.log" || true)
[ "$read_errors" = 0 ] || scenario_fail "$read_errors READs failed: $(grep -m1 "the reader gets an error" "$CFS_OUT/unit.log")"
! grep -q "fetch_deadline reached" "$CFS_OUT/unit.log" || scenario_fail "a fetch gave up: $(grep -m1 "fetch_deadline reached" "$CFS_OUT/unit.log")"
# Range requests the registry answered, from its access log: the image was fetched pass after pass.
requests=$(grep -c "GET /v2/cfs/small/blobs/$digest" "$CFS_OUT/registry.log" || true)
[ "$requests" -gt "$pass" ] || scenario_fail "the registry served $requests blob GETs in $pass passes: the reads were not remote"
brokers=$(grep -c "connection broker started" "$CFS_OUT/unit.log" || true)
# Every broker ran as its own user (the project's sysusers.d entry made it), no worker's.
own_user=$(grep -c "connection broker started (pid [0-9]*, user cachefiles-broker," "$CFS_OUT/unit.log" || true)
[ "$brokers" -ge 1 ] && [ "$own_user" = "$brokers" ] ||
	scenario_fail "$own_user of $brokers brokers ran as cachefiles-broker: $(grep -m1 "connection broker started" "$CFS_OUT/unit.log")"
starts=$(status_field starts)
systemctl stop "$UNIT"
rig_stop registry
scenario_end passes="$pass" files="$files" bad="$bad" sup_kills="$sup_kills" worker_kills="$worker_kills" \
	broker_kills="$broker_kills" brokers_started="$brokers" starts="$starts" registry_gets="$requests" \
	read_errors="$read_errors" fdstore="$store" fds="$fds_now" refused_mount_s="$refused_mount_s"
