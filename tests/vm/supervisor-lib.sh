# Helpers for scenarios that run cachefiles-supervisor (bash, sourced in the
# guest after lib.sh).
#
#   supervisor_start [ARGS...]   start it on $CFS_CACHE_DIR with the built
#                                worker, log to $SUP_LOG; waits until it serves
#   supervisor_stop              SIGTERM, wait; parses the final stats line into
#                                STAT[key] (opens reads spawns deaths restores ...)
#   worker_pids                  pids of the supervisor's current workers
#   slot0_pid [DOMAIN]           pid of the worker in slot 0 (of DOMAIN), if any
#   wait_quiet_slot0 [DOMAIN]    until one slot-0 worker has been up a while
#                                (it said HELLO: a start-up backoff is reset)
#   fd_count PID                 open fds of PID
#   wait_fd_count PID N SECS     wait until PID has N fds (objects closing
#                                after umount are asynchronous); fails after SECS
#   worker_sandbox_status PID    the sandbox lines of /proc/PID/status, one line
#   ctl_status_number KEY        the first numeric KEY in `cachefilesctl status --json`
#                                (the supervisor's total, before any domain's)
#   wait_ctl_objects N SECS      wait until the supervisor holds N objects
#   check_unit_fds_then_umount MOUNT FDS_IDLE
#                                (systemd) fd store and supervisor fds with one
#                                object, then after its umount (see below)
#
# Sourcing this creates the workers' user (cachefiles-worker) in the guest
# from the project's sysusers.d file, as a package install would: the guest
# root is a writable overlay, so the host's /etc is never touched.

SUP_BIN=${CFS_SUPERVISOR:-$CFS_BUILD/supervisor/cachefiles-supervisor}
WORKER_BIN=${CFS_WORKER:-$CFS_BUILD/worker/cachefiles-worker}
CTL_BIN=${CFS_CTL:-$CFS_BUILD/ctl/cachefilesctl} # talks to the default control socket
SUP_LOG=$CFS_OUT/supervisor.log
declare -A STAT

if ! id cachefiles-worker >/dev/null 2>&1; then
	systemd-sysusers "$CFS_SRC/systemd/cachefiles-supervisor.sysusers" >/dev/null 2>&1 ||
		useradd --system --no-create-home --home-dir / --shell /usr/sbin/nologin cachefiles-worker
	id cachefiles-worker >/dev/null
fi

supervisor_start() {
	: >"$SUP_LOG"
	# With a config file the cache dir comes from its [cache] section.
	local cache=(--cache-dir "$CFS_CACHE_DIR")
	case " $* " in *" -c "*|*" --config "*) cache=() ;; esac
	[ -z "$(test_prefetch_arg "$@")" ] || vm_log "with $(test_prefetch_arg "$@") (CFS_TEST_PREFETCH)"
	daemon_start sup "$SUP_BIN" "${cache[@]}" --worker-exe "$WORKER_BIN" $(test_prefetch_arg "$@") "$@" \
		2>>"$SUP_LOG"
	SUP_PID=${DAEMON_PID[sup]}
}

# CFS_TEST_PREFETCH=all (or a size) runs every --blob-dir scenario with
# prefetch on, where it may be (two workers or more).
test_prefetch_arg() {
	[ -n "${CFS_TEST_PREFETCH:-}" ] || return 0
	case " $* " in *" --blob-dir "*) ;; *) return 0 ;; esac
	case " $* " in *" --workers 1 "*|*" --prefetch "*) return 0 ;; esac
	echo "--prefetch $CFS_TEST_PREFETCH"
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

slot0_pid() {
	local pid want="--slot 0 "
	[ -z "${1:-}" ] || want="--domain $1 --slot 0 "
	for pid in $(worker_pids); do
		tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$want" && echo "$pid"
	done
	return 0
}

wait_quiet_slot0() {
	local deadline=$((SECONDS + 60)) a b
	while [ "$SECONDS" -lt "$deadline" ]; do
		a=$(slot0_pid "$@")
		sleep 0.3
		b=$(slot0_pid "$@")
		[ -n "$a" ] && [ "$a" = "$b" ] && return 0
	done
	scenario_fail "no slot-0 worker${1:+ of domain $1} came back up"
}

worker_sandbox_status() {
	grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' "/proc/$1/status" |
		tr -s '\t ' ' ' | paste -sd ' '
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

ctl_status_number() {
	local json
	json=$("$CTL_BIN" status --json) || return 1
	grep -o "\"$1\":[0-9]*" <<<"$json" | head -n1 | cut -d: -f2
}

wait_ctl_objects() {
	local want=$1 deadline=$((SECONDS + $2)) n
	until n=$(ctl_status_number objects) && [ "$n" = "$want" ]; do
		[ "$SECONDS" -lt "$deadline" ] || { vm_log "$n objects after $2 s, expected $want"; return 1; }
		sleep 0.1
	done
}

# Readers in the background: check_tree_bg DIR MANIFEST READERS, then
# check_tree_wait sets CHECK_* like check_tree and returns its status. For
# several at once, give each a CHECK_BG_TAG and wait with CHECK_BG_PID and
# the same tag: CHECK_BG_PID=$pid CHECK_BG_TAG=a check_tree_wait.
check_tree_bg() {
	local out=$CFS_VM_TMP/check_bg${CHECK_BG_TAG:-}
	(
		rc=0
		check_tree "$@" || rc=$?
		echo "$CHECK_FILES $CHECK_BYTES $CHECK_BAD $CHECK_SECONDS $rc" >"$out"
	) &
	CHECK_BG_PID=$!
}

check_tree_wait() {
	local rc
	wait "$CHECK_BG_PID" || true
	read -r CHECK_FILES CHECK_BYTES CHECK_BAD CHECK_SECONDS rc <"$CFS_VM_TMP/check_bg${CHECK_BG_TAG:-}"
	return "$rc"
}

readers_running() {
	kill -0 "$CHECK_BG_PID" 2>/dev/null
}

# reader_passes_bg PREFIX BLOB IMAGE COLD: passes of 4 readers over IMAGE,
# mounted as PREFIX0, PREFIX1, ... (links to the staged BLOB): each of the
# first COLD passes a new name, so a cold cache, then warm passes over
# those names again, until reader_passes_end. One line per pass in
# $CFS_VM_TMP/reader-results.
reader_passes_bg() {
	local prefix=$1 blob=$2 image=$3 cold=$4
	READER_RESULTS=$CFS_VM_TMP/reader-results READER_STOP=$CFS_VM_TMP/stop-readers
	: >"$READER_RESULTS"
	rm -f "$READER_STOP"
	(
		for ((p = 0; ; p++)); do
			name=$prefix$((p % cold))
			mount_blob_as "$name" "$blob" || { echo "0 0 0 1" >>"$READER_RESULTS"; exit 1; }
			rc=0
			check_tree "/mnt/$name" "$(image_manifest "$image")" 4 || rc=1
			echo "$CHECK_FILES $CHECK_BAD $CHECK_SECONDS $rc" >>"$READER_RESULTS"
			umount "/mnt/$name"
			[ ! -e "$READER_STOP" ] || exit 0
		done
	) &
	READER_PID=$!
}

# reader_passes_end: after the pass under way; sets PASSES FILES BAD READ_S
# and FAILED_PASSES. Fails if a pass could not mount.
reader_passes_end() {
	local rc=0
	touch "$READER_STOP"
	wait "$READER_PID" || rc=1
	# (a here-string: the guest has no /dev/fd for process substitution)
	read -r PASSES FILES BAD READ_S FAILED_PASSES <<<"$(awk '{ n++; f += $1; b += $2; s += $3; e += $4 }
		END { printf "%d %d %d %.1f %d\n", n, f, b, s, e }' "$READER_RESULTS")"
	return "$rc"
}

# wait_log FILE PATTERN COUNT SECS: until PATTERN occurs COUNT times in FILE.
wait_log() {
	local file=$1 pattern=$2 count=$3 deadline=$((SECONDS + $4))
	until [ "$(grep -c -- "$pattern" "$file" 2>/dev/null || true)" -ge "$count" ]; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			vm_log "no $count x '$pattern' in $file after $4 s"
			return 1
		fi
		sleep 0.05
	done
}

# A copy of a built binary at a path the scenario may replace, like a
# package upgrade does: write beside it, then rename over it.
install_binary() {
	local from=$1 to=$2 tag=${3:-}
	mkdir -p "$(dirname "$to")"
	cp "$from" "$to.new"
	# Trailing bytes make each copy a distinct file; the ELF loader ignores them.
	[ -z "$tag" ] || printf '%s' "$tag" >>"$to.new"
	mv -f "$to.new" "$to"
}

exe_matches() {
	cmp -s "/proc/$1/exe" "$2"
}

# --- under systemd (vm-mode: systemd) ---
UNIT=cachefiles-supervisor

# unit_install ARGS...: the project's unit file, with ExecStart (and
# ExecReload's cachefilesctl) pointed at the test binaries; ARGS are appended
# to the supervisor's command line. The build tree and the source tree may be
# anywhere a clone is, a home dir or /tmp included: the supervisor's
# --private-view keeps the dirs of its binaries, config and blob dirs
# reachable (read-only) under the dirs it hides, so the shipped unit needs
# no drop-in beyond the command line.
unit_install() {
	local bin=${UNIT_SUP_BIN:-$SUP_BIN}
	# The project's own sysusers.d entry makes the worker user, as on a real install.
	systemd-sysusers "$CFS_SRC/systemd/cachefiles-supervisor.sysusers"
	cp "$CFS_BUILD/systemd/$UNIT.service" /run/systemd/system/
	mkdir -p "/run/systemd/system/$UNIT.service.d"
	cat >"/run/systemd/system/$UNIT.service.d/test.conf" <<EOF2
[Service]
ExecStart=
ExecStart=$bin --private-view ${UNIT_CACHE_ARG---cache-dir $CFS_CACHE_DIR} --worker-exe ${UNIT_WORKER_BIN:-$WORKER_BIN} $(test_prefetch_arg "$@") $*
ExecReload=
ExecReload=$CTL_BIN reload
EOF2
	vm_log "unit $(grep -E "^ExecStart=." "/run/systemd/system/$UNIT.service.d/test.conf" | paste -sd " ")"
	systemctl daemon-reload
}

# unit_property NAME: systemctl show's value. With thousands of mounts PID 1
# re-reads the mount table on every mount and umount, and a query may fail
# meanwhile ("Transport endpoint is not connected"): asked again for up to
# $UNIT_PATIENCE s (600), and a wait of more than a second is logged.
unit_property() {
	local v t0=$SECONDS deadline=$((SECONDS + ${UNIT_PATIENCE:-600}))
	until v=$(systemctl show -p "$1" --value "$UNIT" 2>/dev/null) && [ -n "$v" ]; do
		[ "$SECONDS" -lt "$deadline" ] ||
			{ vm_log "systemctl show -p $1: no answer from PID 1 in ${UNIT_PATIENCE:-600} s" >&2; return 1; }
		sleep 0.2
	done
	[ $((SECONDS - t0)) -le 1 ] || vm_log "systemctl show -p $1: PID 1 answered after $((SECONDS - t0)) s" >&2
	echo "$v"
}

main_pid() {
	unit_property MainPID
}

fdstore_count() {
	unit_property NFileDescriptorStore
}

status_field() {
	systemctl show -p StatusText --value "$UNIT" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# Waits until STATUS= reports N objects and nothing in flight (it is
# refreshed every second).
wait_status_objects() {
	local want=$1 deadline=$((SECONDS + 15))
	until [ "$(status_field objects)" = "$want" ] && [ "$(status_field inflight)" = 0 ]; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			vm_log "STATUS never showed objects=$want inflight=0: $(systemctl show -p StatusText --value "$UNIT")"
			return 1
		fi
		sleep 0.2
	done
}

unit_log() {
	journalctl -q -o short-unix -u "$UNIT" --no-pager
}

# check_unit_fds_then_umount MOUNT FDS_IDLE: with MOUNT's object the only one
# open, the fd store holds device + state + it, and the unit's main process
# one fd more than idle; after umount MOUNT, the store holds device + state
# only and no request failed. Sets STORE_MOUNTED FDS_MOUNTED STORE_AFTER.
check_unit_fds_then_umount() {
	local mount=$1 fds_idle=$2
	wait_status_objects 1 || scenario_fail "STATUS does not show the mounted object"
	STORE_MOUNTED=$(fdstore_count)
	FDS_MOUNTED=$(fd_count "$(main_pid)")
	[ "$STORE_MOUNTED" = 3 ] || scenario_fail "fd store holds $STORE_MOUNTED fds with 1 object, expected 3"
	[ "$FDS_MOUNTED" = $((fds_idle + 1)) ] ||
		scenario_fail "supervisor holds $FDS_MOUNTED fds with 1 object, expected $((fds_idle + 1))"
	umount "$mount"
	wait_status_objects 0 || scenario_fail "object left after umount"
	STORE_AFTER=$(fdstore_count)
	[ "$STORE_AFTER" = 2 ] || scenario_fail "fd store holds $STORE_AFTER fds, expected 2"
	! unit_log | grep -q "giving up" || scenario_fail "a request failed"
}

# wait_unit_log PATTERN COUNT SECS: until the unit's journal has PATTERN COUNT times.
wait_unit_log() {
	local deadline=$((SECONDS + $3))
	until [ "$(unit_log | grep -c -- "$1" || true)" -ge "$2" ]; do
		[ "$SECONDS" -lt "$deadline" ] || { vm_log "no $2 x '$1' in the journal after $3 s"; return 1; }
		sleep 0.1
	done
}
