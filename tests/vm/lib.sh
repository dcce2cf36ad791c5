# shellcheck shell=bash
# Helpers for VM scenarios (bash, sourced inside the guest).
#
# Environment set by run-vm.sh:
#   CFS_SRC        source tree (absolute)     CFS_BUILD   meson build dir
#   CFS_OUT        host-shared, writable dir  CFS_IMAGES  images from make-image.sh
#   CFS_CACHE_DIR  ext4 dir for cachefiles    CFS_VM_MODE chroot | systemd
#
# Helpers:
#   vm_log MSG...                   timestamped line on the console
#   scenario_begin NAME             start the clock; a FAIL line if the script dies
#   scenario_fail MSG...            log MSG, mark the scenario failed, go on
#   scenario_end [KEY=VALUE...]     "SCENARIO NAME: PASS|FAIL in N.N s KEY=VALUE...",
#                                   appended to $CFS_OUT/results.txt; returns 1 on FAIL
#   check_tree DIR MANIFEST [READERS]
#                                   read and sha256-check every file of MANIFEST
#                                   under DIR with READERS parallel readers; sets
#                                   CHECK_FILES CHECK_BYTES CHECK_BAD CHECK_SECONDS
#   random_read_sum FILE N          N random 4 KiB reads (fixed seed); prints a
#                                   checksum of what was read
#   stage_blob IMAGE NAME [DIR...] copy test image IMAGE to $BLOBS/NAME (the blob
#                                   dir, /srv/blobs) and create each DIR
#   mount_blob_as NAME SOURCE       mount blob NAME, a link to $BLOBS/SOURCE made if
#                                   missing (a new name is a new, cold cache file),
#                                   on /mnt/NAME; returns mount's status
#   image_path NAME / image_manifest NAME
#   baseline_daemon_bin             path of the built baseline-daemon
#   daemon_start NAME CMD [ARGS...] run CMD --ready-file FIFO in the background and
#                                   wait until it reports ready (or fail if it
#                                   exits first); sets DAEMON_PID[NAME]
#   daemon_stop NAME [SIGNAL]       signal it (TERM), wait for its exit, return
#                                   its exit status
#   unit_dump UNIT                  status and journal of a systemd unit (after a failure)
#   elapsed T0                      seconds since T0 (an $EPOCHREALTIME value)

: "${CFS_SRC:?run scenarios through tests/vm/run-vm.sh}"
CFS_IMAGES=${CFS_IMAGES:-$CFS_BUILD/vm-images}
CFS_VM_TMP=$(mktemp -d /tmp/cfs-vm.XXXXXX)

vm_log() {
	printf '[%s] %s\n' "$(date +%H:%M:%S.%3N)" "$*"
}

elapsed() {
	awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'
}

scenario_begin() {
	SCENARIO_NAME=$1
	SCENARIO_T0=$EPOCHREALTIME
	SCENARIO_FAILED=0
	SCENARIO_ENDED=0
	trap '_scenario_exit $?' EXIT
	trap 'vm_log "command failed (status $?) at line $LINENO: $BASH_COMMAND"' ERR
	vm_log "scenario $SCENARIO_NAME begins"
}

_scenario_exit() {
	[ "$SCENARIO_ENDED" = 1 ] && return
	SCENARIO_FAILED=1
	scenario_end "died=status-$1" || true
}

scenario_fail() {
	vm_log "FAIL: $*"
	SCENARIO_FAILED=1
}

scenario_end() {
	local verdict=PASS secs
	[ "$SCENARIO_FAILED" = 0 ] || verdict=FAIL
	SCENARIO_ENDED=1
	secs=$(awk -v a="$SCENARIO_T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	[ "$verdict" = PASS ] || save_journal
	echo "SCENARIO $SCENARIO_NAME: $verdict in $secs s${*:+ $*}"
	echo "$SCENARIO_NAME $verdict seconds=$secs $*" >>"$CFS_OUT/results.txt"
	[ "$verdict" = PASS ]
}

# A failed systemd scenario keeps the boot's whole journal on the host
# (chroot scenarios keep supervisor.log there already): the why of a
# failure seen once must not need a second run.
save_journal() {
	[ -d /run/systemd/system ] || return 0
	journalctl -b --no-pager -o short-precise >"$CFS_OUT/journal.txt" 2>&1 || true
	vm_log "the boot's last warnings (all of its journal: $CFS_OUT/journal.txt):"
	journalctl -b -q --no-pager -o short-precise -p warning -n 25 || true
}

unit_dump() {
	systemctl --no-pager status "$1" || true
	journalctl --no-pager -b -n 30 -u "$1" || true
}

image_path() { echo "$CFS_IMAGES/$1.img"; }
BLOBS=/srv/blobs
stage_blob() {
	mkdir -p "$BLOBS" "${@:3}"
	cp "$(image_path "$1")" "$BLOBS/$2"
}
mount_blob_as() {
	[ -e "$BLOBS/$1" ] || ln "$BLOBS/$2" "$BLOBS/$1"
	mkdir -p "/mnt/$1"
	mount -t erofs none -o "fsid=$1" "/mnt/$1"
}
image_manifest() { echo "$CFS_IMAGES/$1.sha256"; }

# link_many DIR N: hard links DIR/t1 .. DIR/t(N-1) to DIR/t0, from one
# process (an ln each is a fork and exec: 50-300 ms under TCG).
link_many() {
	python3 -c 'import os, sys
for i in range(1, int(sys.argv[2])): os.link(sys.argv[1] + "/t0", sys.argv[1] + "/t%d" % i)' "$1" "$2"
}

# mount_many mount|umount DIR DOMAIN FROM TO: erofs mounts DIR/tFROM ..
# DIR/t(TO-1) of the blobs tFROM .. t(TO-1), all with domain_id=DOMAIN (one
# volume: cachefiles makes 257 directories per volume, and a volume per
# mount would run the cache fs out of inodes). The syscalls come from one
# process: mount(8) is an exec and a read of /proc/self/mountinfo per mount,
# 0.3 s a mount under TCG once a thousand are there.
mount_many() {
	python3 - "$@" <<-'EOF'
		import ctypes, os, sys
		libc = ctypes.CDLL(None, use_errno=True)
		what, top, domain, lo, hi = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
		for i in range(lo, hi):
		    target = b"%s/t%d" % (top.encode(), i)
		    if what == "mount":
		        os.makedirs(target, exist_ok=True)
		        r = libc.mount(b"none", target, b"erofs", 0, b"domain_id=%s,fsid=t%d" % (domain.encode(), i))
		    else:
		        r = libc.umount2(target, 0)
		    if r != 0:
		        sys.exit("%s %s: %s" % (what, target.decode(), os.strerror(ctypes.get_errno())))
	EOF
}
baseline_daemon_bin() { echo "${CFS_BASELINE_DAEMON:-$CFS_BUILD/tests/vm/baseline-daemon}"; }

# random_read_sum FILE N: N reads of 4 KiB at page offsets of FILE drawn
# from a fixed seed (the same pages every time); prints a checksum of what
# was read.
random_read_sum() {
	perl -e '
		use strict; use Fcntl;
		my ($path, $n) = @ARGV;
		sysopen(my $fh, $path, O_RDONLY) or die "$path: $!\n";
		my $pages = int((-s $fh) / 4096);
		srand(7);
		for (1 .. $n) {
			sysseek($fh, int(rand($pages)) * 4096, 0) or die "seek: $!\n";
			my $got = sysread($fh, my $buf, 4096);
			die "short read: $!\n" unless defined $got && $got == 4096;
			print $buf;
		}' "$1" "$2" | sha256sum | cut -c1-16
}

check_tree() {
	local dir=$1 manifest=$2 readers=${3:-1}
	local work t0 part rc=0 pids=()
	work=$(mktemp -d "$CFS_VM_TMP/check.XXXXXX")
	# Round robin keeps each reader's share spread over the whole tree.
	awk -v n="$readers" -v d="$work" '{ print > (d "/part." (NR % n)) }' "$manifest"
	t0=$EPOCHREALTIME
	for part in "$work"/part.*; do
		(cd "$dir" && exec sha256sum --check --quiet --strict "$part") >"$part.out" 2>&1 &
		pids+=($!)
	done
	for part in "${pids[@]}"; do
		wait "$part" || rc=1
	done
	CHECK_SECONDS=$(elapsed "$t0")
	CHECK_FILES=$(wc -l <"$manifest")
	CHECK_BAD=$(cat "$work"/part.*.out | grep -c ': FAILED' || true)
	CHECK_BYTES=$(cd "$dir" && cut -c67- "$manifest" | xargs -d '\n' stat -c %s 2>/dev/null |
		awk '{ s += $1 } END { print s + 0 }')
	vm_log "check_tree $dir: $CHECK_FILES files, $CHECK_BYTES bytes, $CHECK_BAD bad, $CHECK_SECONDS s, $readers readers"
	if [ "$rc" != 0 ] || [ "$CHECK_BAD" != 0 ]; then
		cat "$work"/part.*.out | head -20
		rm -rf "$work"
		return 1
	fi
	rm -rf "$work"
}

declare -A DAEMON_PID DAEMON_FD DAEMON_WRAPPER

# The ready FIFO is held open read-write here, so neither the daemon's open
# nor the wrapper's "exit" line ever blocks, and the reader learns of an
# early death from that line instead of waiting for a timeout.
daemon_start() {
	local name=$1 fifo=$CFS_VM_TMP/$1.ready fd line pid='' ready=''
	shift
	mkfifo "$fifo"
	exec {fd}<>"$fifo"
	(
		exec {fd}>&-
		"$@" --ready-file "$fifo" &
		echo "pid $!" >"$fifo"
		rc=0
		wait $! || rc=$?
		echo "exit $rc" >"$fifo"
	) &
	DAEMON_WRAPPER[$name]=$!
	DAEMON_FD[$name]=$fd
	while [ -z "$pid" ] || [ -z "$ready" ]; do
		read -r line <&"$fd"
		case $line in
		"pid "*) pid=${line#pid } ;;
		ready) ready=1 ;;
		"exit "*)
			vm_log "daemon $name exited with status ${line#exit } before it was ready"
			wait "${DAEMON_WRAPPER[$name]}" || true
			exec {fd}>&-
			return 1
			;;
		esac
	done
	DAEMON_PID[$name]=$pid
	vm_log "daemon $name ready (pid $pid)"
}

daemon_stop() {
	local name=$1 sig=${2:-TERM} fd=${DAEMON_FD[$1]} line
	kill -"$sig" "${DAEMON_PID[$name]}" 2>/dev/null || true
	while read -r line <&"$fd"; do
		case $line in "exit "*) break ;; esac
	done
	wait "${DAEMON_WRAPPER[$name]}" || true
	exec {fd}>&-
	rm -f "$CFS_VM_TMP/$name.ready" # a later daemon_start of that name makes it again
	vm_log "daemon $name stopped (status ${line#exit })"
	return "${line#exit }"
}
