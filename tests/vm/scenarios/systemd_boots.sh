#!/bin/bash
# The systemd rig works: systemd is PID 1, the boot completes with no failed
# unit, a transient unit takes FileDescriptorStoreMax=, and a unit written to
# /run/systemd/system gets the fd it stored back after `systemctl restart`
# (the mechanism the supervisor relies on).
# vm-mode: systemd
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"

scenario_begin systemd_boots

pid1=$(cat /proc/1/comm)
[ "$pid1" = systemd ] || scenario_fail "PID 1 is $pid1"
state=$(systemctl is-system-running --wait || true)
if [ "$state" != running ]; then
	scenario_fail "system state is $state"
	systemctl --no-pager --failed || true
fi

systemd-run --quiet --unit=cfs-transient --remain-after-exit -p FileDescriptorStoreMax=8 true
max=$(systemctl show -p FileDescriptorStoreMax --value cfs-transient)
[ "$max" = 8 ] || scenario_fail "transient unit has FileDescriptorStoreMax=$max"
systemctl stop cfs-transient

# The probe stores a memfd holding a token; after a restart it finds the fd
# again in LISTEN_FDS and records name and content. Type=notify makes each
# systemctl call return only once the probe said READY=1.
probe=/run/cfs-probe
mkdir -p "$probe"
cat >"$probe/probe.py" <<'PY'
import os, signal, socket
restored = os.environ.get("LISTEN_PID") == str(os.getpid()) and int(os.environ.get("LISTEN_FDS", "0"))
msg = "READY=1"
fds = []
if restored:
    with open("/run/cfs-probe/restored", "w") as f:
        f.write("%s %s\n" % (os.environ.get("LISTEN_FDNAMES"), os.pread(3, 64, 0).decode()))
else:
    fd = os.memfd_create("probe")
    os.write(fd, b"token-42")
    msg += "\nFDSTORE=1\nFDNAME=probe"
    fds = [fd]
addr = os.environ["NOTIFY_SOCKET"]
if addr.startswith("@"):
    addr = "\0" + addr[1:]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.connect(addr)  # send_fds() ignores its address argument (python 3.11)
socket.send_fds(sock, [msg.encode()], fds)
signal.pause()
PY
cat >/run/systemd/system/cfs-probe.service <<EOF2
[Service]
Type=notify
ExecStart=/usr/bin/python3 $probe/probe.py
FileDescriptorStoreMax=4
EOF2
systemctl daemon-reload
systemctl start cfs-probe || { unit_dump cfs-probe; exit 1; }
systemctl restart cfs-probe || { unit_dump cfs-probe; exit 1; }
got=$(cat "$probe/restored" 2>/dev/null || echo none)
[ "$got" = "probe token-42" ] || scenario_fail "after restart the probe found: $got"
vm_log "fd store round trip: $got"
systemctl stop cfs-probe

scenario_end pid1="$pid1" state="$state" fdstore="$([ "$got" = "probe token-42" ] && echo ok || echo lost)"
