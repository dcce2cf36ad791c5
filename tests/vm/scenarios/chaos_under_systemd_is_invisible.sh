#!/bin/bash
# Chaos under systemd (issue 17): 4 readers check cold passes of an image
# while a driver, at random from a fixed seed, SIGKILLs the supervisor
# (systemd restarts it from the fd store, even mid-recovery), SIGKILLs a
# worker, SIGSTOPs a worker (a stopped worker holding a request is killed at
# the short request timeout and the request handed on), runs `systemctl
# restart`, `systemctl reload` (new workers, the old ones drain),
# `cachefilesctl reexec`, and mounts (checked at once) or unmounts extra
# images. Every action but a supervisor kill waits for the service to be up
# and must succeed. At the end every file read matched, no request failed
# in any instance, and with everything unmounted the fd store holds device +
# state only and the supervisor as many fds as at the start.
#
# Environment: CFS_CHAOS_SECONDS (180), CFS_CHAOS_SEED (17), CFS_CHAOS_PASSES
# (cold reader passes, 35 MB of the 1 GiB cache fs each, before the readers
# go round the same names warm; 16).
# vm-mode: systemd
# vm-images: small:small tiny:tiny
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"

chaos_s=${CFS_CHAOS_SECONDS:-180}
seed=${CFS_CHAOS_SEED:-17}
max_passes=${CFS_CHAOS_PASSES:-16}
scenario_begin chaos_under_systemd_is_invisible

stage_blob small small
cp "$(image_path tiny)" "$BLOBS/x"
unit_install --blob-dir "$BLOBS" --workers 3 --request-timeout 3s
systemctl start "$UNIT" || { unit_dump "$UNIT"; exit 1; }
fds_idle=$(fd_count "$(main_pid)")

# wait_serving: the unit active (not restarting or reloading) and the
# supervisor answering on its control socket.
wait_serving() {
	local deadline=$((SECONDS + 60))
	# The control socket outlives an instance (a client waits for the next):
	# asked first, then systemd's view, which READY=1 makes active.
	until "$CTL_BIN" status >/dev/null 2>&1 && [ "$(systemctl show -p ActiveState --value "$UNIT")" = active ]; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			unit_dump "$UNIT"
			scenario_fail "the supervisor did not come back within 60 s"
			return 1
		fi
		sleep 0.1
	done
}
workers_now() {
	local pid
	pid=$(main_pid)
	[ "$pid" != 0 ] && cat "/proc/$pid/task/$pid/children" 2>/dev/null || true
}

reader_passes_bg c small small "$max_passes"

declare -A did=()
actions=(sup_kill worker_kill worker_stop restart reload reexec mount umount)
for a in "${actions[@]}"; do did[$a]=0; done
stopped=() extras=() last_killed='' next_extra=0 extra_files=0 extra_bad=0 skipped=0
RANDOM=$seed
t0=$EPOCHREALTIME
end=$((SECONDS + chaos_s))
while [ "$SECONDS" -lt "$end" ] && [ "$SCENARIO_FAILED" = 0 ]; do
	sleep "0.$((RANDOM % 6 + 2))" # reads go on between actions
	r=$((RANDOM % 16))
	case $r in
	0 | 1 | 2) act=sup_kill ;;
	3 | 4 | 5) act=worker_kill ;;
	6 | 7) act=worker_stop ;;
	8) act=restart ;;
	9 | 10) act=reload ;;
	11) act=reexec ;;
	12 | 13) act=mount ;;
	*) act=umount ;;
	esac
	pick=$RANDOM
	case $act in
	sup_kill)
		# Not waiting for it to serve: a kill during recovery is a case too.
		pid=$(main_pid)
		if [ "$pid" = 0 ] || [ "$pid" = "$last_killed" ] || ! kill -KILL "$pid" 2>/dev/null; then
			skipped=$((skipped + 1))
			continue
		fi
		last_killed=$pid
		;;
	worker_kill | worker_stop)
		wait_serving || break
		read -ra ws <<<"$(workers_now)"
		[ "${#ws[@]}" -gt 0 ] || { skipped=$((skipped + 1)); continue; }
		w=${ws[pick % ${#ws[@]}]}
		if [ "$act" = worker_kill ]; then
			kill -KILL "$w" 2>/dev/null || { skipped=$((skipped + 1)); continue; }
		else
			kill -STOP "$w" 2>/dev/null || { skipped=$((skipped + 1)); continue; }
			stopped+=("$w")
		fi
		;;
	restart)
		wait_serving || break
		systemctl restart "$UNIT" || { unit_dump "$UNIT"; scenario_fail "systemctl restart failed"; break; }
		;;
	reload)
		wait_serving || break
		systemctl reload "$UNIT" || { unit_dump "$UNIT"; scenario_fail "systemctl reload failed"; break; }
		;;
	reexec)
		wait_serving || break
		"$CTL_BIN" reexec >/dev/null || { unit_dump "$UNIT"; scenario_fail "cachefilesctl reexec failed"; break; }
		;;
	mount)
		[ "$next_extra" -lt 40 ] || { skipped=$((skipped + 1)); continue; }
		name=x$next_extra
		next_extra=$((next_extra + 1))
		mount_blob_as "$name" x || { unit_dump "$UNIT"; scenario_fail "mount $name failed"; break; }
		extras+=("$name")
		check_tree "/mnt/$name" "$(image_manifest tiny)" 1 || scenario_fail "extra mount $name: bad data"
		extra_files=$((extra_files + CHECK_FILES)) extra_bad=$((extra_bad + CHECK_BAD))
		;;
	umount)
		[ "${#extras[@]}" -gt 0 ] || { skipped=$((skipped + 1)); continue; }
		i=$((pick % ${#extras[@]}))
		umount "/mnt/${extras[i]}" || { scenario_fail "umount ${extras[i]} failed"; break; }
		extras=("${extras[@]:0:i}" "${extras[@]:i+1}")
		;;
	esac
	did[$act]=$((did[$act] + 1))
done
chaos_real_s=$(elapsed "$t0")
readers_through=0
kill -0 "$READER_PID" 2>/dev/null && readers_through=1
vm_log "chaos over after $chaos_real_s s: $(for a in "${actions[@]}"; do printf '%s=%s ' "$a" "${did[$a]}"; done)"
reader_passes_end || scenario_fail "a reader pass could not mount"
[ "$BAD" = 0 ] && [ "$FAILED_PASSES" = 0 ] && [ "$extra_bad" = 0 ] ||
	scenario_fail "readers saw errors or bad data ($BAD + $extra_bad bad files, $FAILED_PASSES failed passes)"
[ "$readers_through" = 1 ] || scenario_fail "the readers stopped before the chaos did"
for a in "${actions[@]}"; do
	[ "${did[$a]}" -ge 1 ] || scenario_fail "no $a happened"
done

# Stopped workers are gone: killed at the request timeout, or with their
# supervisor. One that never got a request may sleep on: it is woken.
stops_left=0
for w in "${stopped[@]}"; do
	[ -e "/proc/$w" ] && [ "$(cut -d' ' -f3 "/proc/$w/stat" 2>/dev/null)" = T ] || continue
	stops_left=$((stops_left + 1))
	kill -CONT "$w" 2>/dev/null || true
done
stop_timeouts=$(unit_log | grep -c "killing it: request timeout" || true)
for x in "${extras[@]}"; do
	umount "/mnt/$x" || scenario_fail "umount $x failed"
done
wait_serving || true
wait_status_objects 0 || scenario_fail "objects left after every umount"
store=$(fdstore_count)
[ "$store" = 2 ] || scenario_fail "fd store holds $store fds, expected 2 (device + state)"
# A woken worker that was told to go exits now: its pidfd and socket close after.
wait_fd_count "$(main_pid)" "$fds_idle" 30 || scenario_fail "supervisor fds not back to $fds_idle"
fds_now=$(fd_count "$(main_pid)")
starts=$(status_field starts)
gave_up=$(unit_log | grep -c "giving up" || true)
[ "$gave_up" = 0 ] || scenario_fail "$gave_up requests failed: $(unit_log | grep -m1 "giving up")"
systemctl stop "$UNIT"
scenario_end seconds_of_chaos="$chaos_real_s" seed="$seed" sup_kills="${did[sup_kill]}" \
	worker_kills="${did[worker_kill]}" worker_stops="${did[worker_stop]}" restarts="${did[restart]}" \
	reloads="${did[reload]}" reexecs="${did[reexec]}" mounts="${did[mount]}" umounts="${did[umount]}" \
	skipped="$skipped" stop_timeouts="$stop_timeouts" stops_left="$stops_left" starts="$starts" passes="$PASSES" \
	files="$((FILES + extra_files))" bad="$((BAD + extra_bad))" read_s="$READ_S" failed="$gave_up" \
	fdstore="$store" fds="$fds_now" fds_idle="$fds_idle"
