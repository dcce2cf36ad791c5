#!/bin/bash
# A remote domain's worker that runs hostile code reaches its origin and
# nothing else (issue 19; docs/threat-model.md, "Remote blobs"). The test
# worker in slot 0 of a docker-registry domain, one attempt per start:
#  - socket(AF_INET), socket(AF_UNIX); sendto() and sendmsg() with an
#    address (127.0.0.1:22) on a socket the supervisor handed it: SIGSYS;
#  - connect() of a handed socket to AF_UNSPEC, 127.0.0.1:22 and the
#    control socket's path, and of its IPC socket: EINPROGRESS, the socket
#    still connected to the origin, and the listener on 127.0.0.1:22 (the
#    node's loopback, where handed sockets live) never reached;
#  - a CONNECT for another host, another port, or a proxy the domain has
#    not: the supervisor kills it and says why; a redirect: refused, EPERM;
#  - 12 CONNECTs at once while the broker is stopped (as a slow origin keeps
#    it waiting): CONNECTS_PER_WORKER of them wait and are served, the rest
#    are refused at once with EAGAIN.
# A local domain's worker sending a CONNECT is killed too. Readers check
# every file of cold mounts of the remote image meanwhile (but during the
# flood, when the flooding worker must get no request) and see 0 errors:
# the other worker serves. Each attempt is made once (a FIFO hands it to
# one worker).
# vm-images: small:small
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"
. "$CFS_SRC/tests/vm/remote-lib.sh"

scenario_begin compromised_remote_worker_reaches_only_its_origin

REG_PORT=5443 USER=cfs-puller PASSWORD=pw-$RANDOM$RANDOM
image=$(image_path small) manifest=$(image_manifest small)
rig=$CFS_VM_TMP/rig descs=/srv/remote

# What each attempt must come to, and the supervisor's reason when it kills.
declare -A expect=(
	[connect-elsewhere]=survived [connect-redirect]=survived
	[socket-inet]="killed by signal SYS" [socket-unix]="killed by signal SYS"
	[sendto-addr]="killed by signal SYS" [sendmsg-addr]="killed by signal SYS"
	[connect-wrong-host]="killed by signal KILL" [connect-wrong-port]="killed by signal KILL"
	[connect-proxy]="killed by signal KILL" [connect-local-domain]="killed by signal KILL"
)
declare -A reason=(
	[connect-wrong-host]="CONNECT to an origin other than the domain's (registry.example.org:$REG_PORT)"
	[connect-wrong-port]="CONNECT to an origin other than the domain's (127.0.0.1:22)"
	[connect-proxy]="CONNECT to a proxy other than the domain's (127.0.0.1:$REG_PORT)"
	[connect-local-domain]="CONNECT from a worker of a domain without an origin (127.0.0.1:22)"
)
# The probe a SIGSYS must come at (the last one tried).
declare -A killer=(
	[socket-inet]="socket(" [socket-unix]="socket(" [sendto-addr]="sendto(" [sendmsg-addr]="sendmsg("
)

ip link set lo up
rig_certs "$rig"
rig_registry_start "$rig" "$REG_PORT" "$USER" "$PASSWORD"
digest=$(rig_registry_push "$rig" "$REG_PORT" cfs/small "$image" "$USER" "$PASSWORD")
mkdir -p "$descs"
"$CFS_BUILD/tools/cachefiles-blob-describe" "$image" --chunk-size 64K -o "$descs/esc0.desc"
for i in 1 2 3 4 5 6 7; do cp "$descs/esc0.desc" "$descs/esc$i.desc"; done
(umask 077 && printf 'basic %s:%s\n' "$USER" "$PASSWORD" >"$rig/credentials")
stage_blob small loc0
# FIFOs: an attempt goes to the one worker that opens it while the
# scenario's writer waits (test-escape.c), never to the one respawned after.
mkfifo "$descs/.escape" "$BLOBS/.escape"

# The node's loopback port 22: what a connect() that reached the kernel
# would reach. Tried once from here, so a listener that counts nothing
# cannot pass for one that was never reached.
listened=$CFS_VM_TMP/listener.accepts
python3 - "$listened" <<-'EOF' &
	import socket, sys
	s = socket.socket()
	s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
	s.bind(("127.0.0.1", 22))
	s.listen(16)
	open(sys.argv[1], "w").close()
	while True:
	    c, a = s.accept()
	    with open(sys.argv[1], "a") as f:
	        f.write("%s:%d\n" % a)
	    c.close()
EOF
listener=$!
deadline=$((SECONDS + 30))
until [ -e "$listened" ]; do
	[ "$SECONDS" -lt "$deadline" ] && kill -0 "$listener" || { scenario_fail "no listener on 127.0.0.1:22"; break; }
	sleep 0.1
done
: </dev/tcp/127.0.0.1/22
wait_log "$listened" . 1 10 || scenario_fail "the listener on 127.0.0.1:22 counted no connection of ours"

conf=$CFS_VM_TMP/escape.conf
{
	printf '[cache]\ndir = %s\nrequest_timeout = 30s\n' "$CFS_CACHE_DIR"
	rig_domain esc 'esc*' "$descs" "registry https://127.0.0.1:$REG_PORT/cfs/small" "$rig/ca.crt" \
		"credentials = $rig/credentials" "fetch_deadline = 20s" | sed 's/^workers = 1$/workers = 2/'
	printf '\n[domain local]\nvolume = loc*\nblob_dir = %s\nworkers = 2\n' "$BLOBS"
} >"$conf"
CFS_TEST_ESCAPE=.escape supervisor_start -c "$conf" --worker-exe "$CFS_BUILD/worker/cachefiles-worker-test"

pass=0 files=0 bad=0
next_pass() {
	local name=esc$((pass % 8))
	mkdir -p "/mnt/$name"
	mount -t erofs none -o "fsid=$name" "/mnt/$name" || scenario_fail "mount of $name failed"
	check_tree_bg "/mnt/$name" "$manifest" 4
}
end_pass() {
	check_tree_wait || scenario_fail "pass $pass: readers saw errors or bad data"
	files=$((files + CHECK_FILES)) bad=$((bad + CHECK_BAD))
	umount "/mnt/esc$((pass % 8))"
	pass=$((pass + 1))
}

# start_attempt DOMAIN NAME: the next slot-0 worker of DOMAIN makes it
# (the one started for the one killed here: slot 0 is up and quiet, so no
# other is reading the FIFO); sets PID once that worker has logged.
start_attempt() {
	local control=$descs/.escape deadline=$((SECONDS + 60)) p writer
	[ "$1" = esc ] || control=$BLOBS/.escape
	echo "$2" >"$control" &
	writer=$!
	p=$(slot0_pid "$1")
	[ -z "$p" ] || kill -KILL "$p"
	PID=''
	until PID=$(grep -m1 -o "escape $2: pid [0-9]*" "$SUP_LOG" | awk '{ print $NF }') && [ -n "$PID" ]; do
		[ "$SECONDS" -lt "$deadline" ] || break
		sleep 0.1
	done
	kill "$writer" 2>/dev/null || true
	wait "$writer" 2>/dev/null || true
}

# OUTCOME: "survived" or how worker $PID, which made attempt $1, ended.
outcome_of() {
	local a=$1 deadline=$((SECONDS + 60)) line
	OUTCOME=timeout
	[ -n "$PID" ] || return 0
	while [ "$SECONDS" -lt "$deadline" ]; do
		grep -q "escape $a: pid $PID survived" "$SUP_LOG" && { OUTCOME=survived; return; }
		line=$(grep -m1 "(pid $PID) \(killed\|exited\)" "$SUP_LOG" || true)
		[ -n "$line" ] && { OUTCOME=$(sed 's/.*(pid [0-9]*) \(.*\) with .*/\1/' <<<"$line"); return; }
		sleep 0.1
	done
}

# What attempt $1 of worker $PID logged: probes refused, the last call tried.
report() {
	PROBES=$(grep "escape $1: pid $PID " "$SUP_LOG" | grep -v ' trying \| survived' |
		sed "s/.*escape $1: pid $PID //" | paste -sd ';' || true)
	LAST=$(grep "escape $1: pid $PID trying" "$SUP_LOG" | tail -n1 | sed 's/.* trying //' || true)
	vm_log "attempt $1 (pid $PID): $OUTCOME; ${PROBES:-no probe refused}; last call: $LAST"
	summary+=("$1=${OUTCOME// /_}")
}

# The outcome and what must be logged with it.
judge() {
	local a=$1
	[ "$OUTCOME" = "${expect[$a]}" ] || scenario_fail "attempt $a: $OUTCOME, expected ${expect[$a]}"
	if [ -n "${reason[$a]:-}" ]; then
		grep -qF "(pid $PID): killing it: ${reason[$a]}" "$SUP_LOG" ||
			scenario_fail "attempt $a: no line 'killing it: ${reason[$a]}' for pid $PID"
	fi
	if [ -n "${killer[$a]:-}" ]; then
		[[ $LAST == "${killer[$a]}"* ]] || scenario_fail "attempt $a: the last call tried was '$LAST'"
	fi
	case $a in
	sendto-addr | sendmsg-addr | connect-elsewhere)
		grep -q "escape $a: pid $PID was handed fd [0-9]*, connected to 127.0.0.1 " "$SUP_LOG" ||
			scenario_fail "attempt $a: no socket to the origin was handed over"
		;;
	esac
}

summary=()
next_pass
wait_quiet_slot0 esc
for a in socket-inet socket-unix connect-elsewhere sendto-addr sendmsg-addr connect-wrong-host \
	connect-wrong-port connect-proxy connect-redirect; do
	start_attempt esc "$a"
	outcome_of "$a"
	report "$a"
	judge "$a"
	wait_quiet_slot0 esc
	if ! readers_running; then
		end_pass
		next_pass
	fi
done
end_pass

# connect() never reached the kernel: EINPROGRESS for each (the kernel
# would have said EISCONN, EAFNOSUPPORT...), the peer unchanged.
pid=$(grep -m1 -o "escape connect-elsewhere: pid [0-9]*" "$SUP_LOG" | awk '{ print $NF }')
[ "$(grep -c "escape connect-elsewhere: pid $pid connect(.* denied: Operation now in progress" "$SUP_LOG")" = 4 ] ||
	scenario_fail "connect-elsewhere: not every connect() got EINPROGRESS"
grep -q "escape connect-elsewhere: pid $pid fd [0-9]* still connected to 127.0.0.1:$REG_PORT" "$SUP_LOG" ||
	scenario_fail "connect-elsewhere: the handed socket is not connected to the origin any more"
grep -q "escape connect-redirect: pid [0-9]* ask(.* denied: Operation not permitted" "$SUP_LOG" ||
	scenario_fail "connect-redirect: not refused with EPERM"
grep -q "domain esc worker 0: connection refused: the origin redirected to a host that is not on this domain's redirect_hosts (127.0.0.1:22)" "$SUP_LOG" ||
	scenario_fail "connect-redirect: no line for the refusal"

# The flood, with no reader running (the flooding worker must get no
# request) and the broker stopped: what waits for it stays pending.
cap=$(sed -n 's/^#define CONNECTS_PER_WORKER \([0-9]*\).*/\1/p' "$CFS_SRC/supervisor/core/supervisor.h")
broker=$(grep -o "connection broker started (pid [0-9]*" "$SUP_LOG" | tail -n1 | grep -o '[0-9]*$' || true)
[ -n "$broker" ] && kill -STOP "$broker" || scenario_fail "no connection broker to stop"
refused_before=$(grep -c "domain esc worker 0: connection to 127.0.0.1:$REG_PORT refused for now" "$SUP_LOG" || true)
start_attempt esc connect-flood
n=$(grep -m1 -o "escape connect-flood: pid $PID trying [0-9]* CONNECTs" "$SUP_LOG" | awk '{ print $(NF - 1) }' || true)
vm_log "flood: pid $PID sent ${n:-no} CONNECTs, cap $cap, broker $broker stopped"
if [ -n "$n" ] && [ "$n" -gt "$cap" ]; then
	wait_log "$SUP_LOG" "escape connect-flood: pid $PID CONNECT [0-9]* denied" $((n - cap)) 60 ||
		scenario_fail "flood: fewer than $((n - cap)) CONNECTs refused while $cap waited"
else
	scenario_fail "flood: ${n:-no} CONNECTs sent, expected more than $cap"
fi
[ -z "$broker" ] || kill -CONT "$broker"
outcome_of connect-flood
report connect-flood
served=$(grep -c "escape connect-flood: pid $PID CONNECT [0-9]* served within the cap" "$SUP_LOG" || true)
eagain=$(grep -c "escape connect-flood: pid $PID CONNECT [0-9]* denied: Resource temporarily unavailable" "$SUP_LOG" || true)
refused_sup=$(($(grep -c "domain esc worker 0: connection to 127.0.0.1:$REG_PORT refused for now" "$SUP_LOG" || true) - refused_before))
vm_log "flood: $served served, $eagain refused with EAGAIN, $refused_sup refusals logged by the supervisor"
[ "$OUTCOME" = survived ] || scenario_fail "connect-flood: $OUTCOME, expected survived"
[ "$served" = "$cap" ] || scenario_fail "flood: $served CONNECTs served, expected the cap, $cap"
[ "$eagain" = $((${n:-0} - cap)) ] && [ "$refused_sup" = "$eagain" ] ||
	scenario_fail "flood: $eagain refused with EAGAIN, $refused_sup logged, expected $((${n:-0} - cap))"
wait_quiet_slot0 esc
next_pass
end_pass

# A local domain's worker: no CONNECT at all. Its mount reads good after.
mkdir -p /mnt/loc0
mount -t erofs none -o fsid=loc0 /mnt/loc0 || scenario_fail "mount of the local domain failed"
wait_quiet_slot0 local
start_attempt local connect-local-domain
outcome_of connect-local-domain
report connect-local-domain
judge connect-local-domain
check_tree /mnt/loc0 "$manifest" 4 || scenario_fail "local domain: readers saw errors or bad data"
files=$((files + CHECK_FILES)) bad=$((bad + CHECK_BAD))
umount /mnt/loc0

! grep SUCCEEDED "$SUP_LOG" || scenario_fail "an escape probe succeeded"
accepts=$(wc -l <"$listened")
[ "$accepts" = 1 ] || scenario_fail "127.0.0.1:22 was reached $((accepts - 1)) times from a worker"
kill "$listener" 2>/dev/null || true
supervisor_stop || scenario_fail "supervisor exit status $?"
rig_stop registry
[ "${STAT[failed]}" = 0 ] || scenario_fail "${STAT[failed]} requests failed"
# One protocol breach a CONNECT the supervisor kills for, each once (the
# FIFO): nothing else broke the protocol.
[ "${STAT[violations]}" = "${#reason[@]}" ] ||
	scenario_fail "${STAT[violations]} protocol violations, expected ${#reason[@]}"
# Refused: the redirect, and the flood past the cap; nothing else.
[ "${STAT[connects_refused]:-0}" = $((${n:-0} - cap + 1)) ] ||
	scenario_fail "${STAT[connects_refused]:-0} connections refused, expected $((${n:-0} - cap + 1))"
scenario_end "${summary[@]}" passes="$pass" files="$files" bad="$bad" flood="${n:-0}/$served/$eagain" \
	brokered="${STAT[connects]:-0}" deaths="${STAT[deaths]}" spawns="${STAT[spawns]}" violations="${STAT[violations]}"
