#!/bin/bash
# A worker that runs hostile code stays in its sandbox. The test worker in
# slot 0 tries, one attempt per start, to open /dev/cachefiles, read files
# outside its blob dir (absolute, "../", openat2 beneath fd 4, plain openat),
# write into the blob dir, execve, create AF_INET and AF_UNIX sockets,
# ptrace the supervisor, mount, setuid(0), write to fds it was not given,
# fork, ioctl and kill the supervisor. Every probe is refused with an errno
# or kills the worker with SIGSYS; the supervisor starts a new one, and
# readers checking every file of cold mounts meanwhile see 0 errors. Every
# worker's /proc status shows a non-root uid, no capabilities in any set,
# NoNewPrivs 1 and Seccomp 2.
# vm-images: small:small
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"

scenario_begin compromised_worker_cannot_escape_its_sandbox

# Refused with an errno, the worker lives on; the rest must end in SIGSYS.
survivors="device outside"
killers="execve socket-inet socket-unix ptrace mount setuid write-fd fork ioctl kill"

blobs=$BLOBS
stage_blob small small0
# What the "outside" attempt would read if the sandbox leaked.
echo secret >/srv/outside
control=$blobs/.escape
echo none >"$control"
manifest=$(image_manifest small)

CFS_TEST_ESCAPE=.escape supervisor_start --blob-dir "$blobs" --workers 2 \
	--worker-exe "$CFS_BUILD/worker/cachefiles-worker-test"

# The sandbox as the kernel reports it, for every worker seen.
statuses=0
check_sandbox() {
	local pid st
	for pid in $(worker_pids); do
		st=$(worker_sandbox_status "$pid") || continue
		[ -n "$st" ] || continue
		vm_log "worker $pid: $st"
		statuses=$((statuses + 1))
		[[ $st =~ Uid:\ ([0-9]+) ]] && [ "${BASH_REMATCH[1]}" != 0 ] || scenario_fail "worker $pid runs as root"
		for f in CapInh CapPrm CapEff CapBnd CapAmb; do
			[[ $st == *"$f: 0000000000000000"* ]] || scenario_fail "worker $pid: $f not empty"
		done
		[[ $st == *"NoNewPrivs: 1"* ]] || scenario_fail "worker $pid: NoNewPrivs not set"
		[[ $st == *"Seccomp: 2"* ]] || scenario_fail "worker $pid: no seccomp filter"
	done
}

# Cold mounts (a new blob name each) keep the workers busy: readers run
# while the attempts are made, pass after pass. After 8 the names come round
# again (warm passes): the cache fs holds about 12 of the small image.
pass=0 files=0 bad=0
next_pass() {
	local name=small$((pass % 8))
	mount_blob_as "$name" small0
	check_tree_bg "/mnt/$name" "$manifest" 4
}
end_pass() {
	check_tree_wait || scenario_fail "pass $pass: readers saw errors or bad data"
	files=$((files + CHECK_FILES)) bad=$((bad + CHECK_BAD))
	umount "/mnt/small$((pass % 8))"
	pass=$((pass + 1))
}

# OUTCOME: "survived" or how the worker that made attempt $1 ended.
outcome_of() {
	local a=$1 deadline=$((SECONDS + 30)) pid line
	OUTCOME=timeout PID=''
	while [ "$SECONDS" -lt "$deadline" ]; do
		PID=$(grep -m1 -o "escape $a: pid [0-9]*" "$SUP_LOG" | awk '{ print $NF }' || true)
		if [ -n "$PID" ]; then
			grep -q "escape $a: pid $PID survived" "$SUP_LOG" && { OUTCOME=survived; return; }
			line=$(grep -m1 "(pid $PID) \(killed\|exited\)" "$SUP_LOG" || true)
			[ -n "$line" ] && { OUTCOME=$(sed 's/.*(pid [0-9]*) \(.*\) with .*/\1/' <<<"$line"); return; }
		fi
		sleep 0.1
	done
}

check_sandbox
next_pass
wait_quiet_slot0
summary=()
for a in $survivors $killers; do
	echo "$a" >"$control"
	p=$(slot0_pid)
	[ -z "$p" ] || kill -KILL "$p"
	outcome_of "$a"
	echo none >"$control"
	probes=$(grep "escape $a: pid $PID " "$SUP_LOG" | grep -v ' trying \| survived' | sed "s/.*escape $a: pid $PID //" |
		paste -sd ';' || true)
	last=$(grep "escape $a: pid $PID trying" "$SUP_LOG" | tail -n1 | sed 's/.* trying //' || true)
	vm_log "attempt $a (pid $PID): $OUTCOME; ${probes:-no probe refused}; last call: $last"
	summary+=("$a=${OUTCOME// /_}")
	case " $survivors " in
	*" $a "*) [ "$OUTCOME" = survived ] || scenario_fail "attempt $a: $OUTCOME, expected every probe refused" ;;
	*) [ "$OUTCOME" = "killed by signal SYS" ] || scenario_fail "attempt $a: $OUTCOME, expected killed by signal SYS" ;;
	esac
	wait_quiet_slot0
	check_sandbox
	if ! readers_running; then
		end_pass
		next_pass
	fi
done
end_pass
! grep SUCCEEDED "$SUP_LOG" || scenario_fail "an escape probe succeeded"
[ "$(cat /srv/outside)" = secret ] || scenario_fail "/srv/outside was changed"
supervisor_stop || scenario_fail "supervisor exit status $?"
[ "${STAT[failed]}" = 0 ] || scenario_fail "${STAT[failed]} requests failed"
[ "$statuses" -ge 4 ] || scenario_fail "only $statuses worker statuses checked"
scenario_end "${summary[@]}" passes="$pass" files="$files" bad="$bad" statuses="$statuses" \
	deaths="${STAT[deaths]}" spawns="${STAT[spawns]}"
