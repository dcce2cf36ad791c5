# Helpers for scenarios that run cachefiles-supervisor (bash, sourced in the
# guest after lib.sh).
#
#   supervisor_start [ARGS...]   start it on $CFS_CACHE_DIR with the built
#                                worker, log to $SUP_LOG; waits until it serves
#   supervisor_stop              SIGTERM, wait; parses the final stats line into
#                                STAT[key] (opens reads spawns deaths restores ...)
#   worker_pids                  pids of the supervisor's current workers
#   fd_count PID                 open fds of PID
#   wait_fd_count PID N SECS     wait until PID has N fds (objects closing
#                                after umount are asynchronous); fails after SECS

SUP_BIN=${CFS_SUPERVISOR:-$CFS_BUILD/supervisor/cachefiles-supervisor}
WORKER_BIN=${CFS_WORKER:-$CFS_BUILD/worker/cachefiles-worker}
SUP_LOG=$CFS_OUT/supervisor.log
declare -A STAT

supervisor_start() {
	: >"$SUP_LOG"
	daemon_start sup "$SUP_BIN" --cache-dir "$CFS_CACHE_DIR" --worker-exe "$WORKER_BIN" "$@" 2>>"$SUP_LOG"
	SUP_PID=${DAEMON_PID[sup]}
}

supervisor_stop() {
	local rc=0 line kv
	daemon_stop sup || rc=$?
	line=$(grep 'stats:' "$SUP_LOG" | tail -n1)
	for kv in ${line#*stats: }; do
		STAT[${kv%%=*}]=${kv#*=}
	done
	vm_log "supervisor stats: ${line#*stats: }"
	return $rc
}

worker_pids() {
	cat "/proc/$SUP_PID/task/$SUP_PID/children" 2>/dev/null || true
}

fd_count() {
	ls "/proc/$1/fd" | wc -l
}

wait_fd_count() {
	local pid=$1 want=$2 deadline=$((SECONDS + $3)) n
	while n=$(fd_count "$pid"); [ "$n" != "$want" ]; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			vm_log "pid $pid has $n fds, expected $want"
			ls -l "/proc/$pid/fd" >&2
			return 1
		fi
		sleep 0.1
	done
}
