#!/bin/busybox sh
# PID 1 of the test VM's initramfs (packed by run-vm.sh with a static busybox).
# Builds the guest root: the host's / (9p, read-only) under a tmpfs overlay,
# so host binaries and the source tree keep their paths and everything is
# writable; then runs the job run-vm.sh left in the shared out dir, either
# from a chroot (this shell stays PID 1) or as a systemd unit.
# Kernel command line: cfs.out=DIR cfs.mode=chroot|systemd, and cfs.keep=DIR
# (repeated) for the trees the job needs at their own paths (source, build,
# images): those under /tmp or /run, where this script mounts fresh tmpfs,
# are bound back from the overlay root on top of it.
set -euf

/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/sbin:/bin:/usr/sbin:/usr/bin

# Whatever goes wrong below, end the VM now rather than at the host timeout.
die() {
	echo "cfs-vm: init: $*" >&2
	reboot -f
}
trap 'die "setup failed at line $LINENO"' EXIT

mkdir -p /proc /sys /dev /lower /rw /out /newroot
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

# set -f above: a path on the command line is split on blanks (run-vm.sh
# refuses paths with whitespace), never globbed.
out='' mode=chroot keep=''
for arg in $(cat /proc/cmdline); do
	case $arg in
	cfs.out=*) out=${arg#cfs.out=} ;;
	cfs.mode=*) mode=${arg#cfs.mode=} ;;
	cfs.keep=*) keep="$keep ${arg#cfs.keep=}" ;;
	esac
done
[ -n "$out" ] || die "no cfs.out= on the kernel command line"

# cache=loose: the host tree does not change under a running test, and the
# guest page cache saves 9p round trips (measured: python3 starts in 0.6 s
# instead of 0.9 s).
mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=262144,cache=loose hostroot /lower
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 cfsout /out
mount -t tmpfs -o mode=0755 tmpfs /rw
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot

for d in dev proc sys; do
	mount --move /$d /newroot/$d
done
# A tree the job needs that lives under /tmp or /run (a clone in /tmp, say)
# would vanish under the fresh tmpfs below: hold a bind mount of it (the
# overlay's view, writable like the rest) aside, and move it back on top.
n=0
for p in $keep; do
	case $p in
	/tmp/*|/run/*) ;;
	*) continue ;;
	esac
	[ -d "/newroot$p" ] || die "cfs.keep=$p: no such directory in the guest root"
	mkdir -p "/keep/$n"
	mount --bind "/newroot$p" "/keep/$n"
	n=$((n + 1))
done
mount -t tmpfs -o mode=1777 tmpfs /newroot/tmp
mount -t tmpfs -o mode=0755 tmpfs /newroot/run
n=0
for p in $keep; do
	case $p in
	/tmp/*|/run/*) ;;
	*) continue ;;
	esac
	mkdir -p "/newroot$p"
	mount --move "/keep/$n" "/newroot$p"
	n=$((n + 1))
done
mkdir -p "/newroot$out"
mount --move /out "/newroot$out"

# The host's fstab means nothing here, and its container marker would make
# systemd believe it runs in docker.
: >/newroot/etc/fstab
rm -f /newroot/.dockerenv

# cachefiles needs xattrs and sync_fs, which tmpfs lacks: ext4 on the RAM
# block device (brd; 1 GiB from run-vm.sh's command line, room for six cold
# passes of the big image; pages allocated as they are written). Not a
# loop device over a file in tmpfs: that adds a kernel thread hop and a
# second filesystem to every cache-file I/O, a cost no real disk has, which
# made the fscache path look slower than it is (issue 9's measurements).
# The host's mkfs.ext4 (busybox's lacks ext4) formats it through the chroot.
# noinit_itable: no background inode table zeroing while a test is timed.
chroot /newroot mkfs.ext4 -q -F -O ^has_journal -E nodiscard /dev/ram0
mkdir -p /newroot/var/cache/cachefiles
mount -t ext4 -o noinit_itable /newroot/dev/ram0 /newroot/var/cache/cachefiles

job="$out/.vm/job.sh"
case $mode in
chroot)
	trap - EXIT
	rc=0
	chroot /newroot /bin/bash "$job" || rc=$?
	sync
	echo "cfs-vm: init: job ended with status $rc, rebooting"
	reboot -f
	;;
systemd)
	units=/newroot/etc/systemd/system
	mkdir -p "$units"
	# Nothing in the guest needs these; udev and gettys cost seconds under TCG.
	for u in systemd-udevd.service systemd-udevd-control.socket \
		systemd-udevd-kernel.socket systemd-udev-trigger.service \
		systemd-udev-settle.service getty.target serial-getty@ttyS0.service \
		systemd-networkd.service systemd-resolved.service \
		systemd-timesyncd.service systemd-firstboot.service \
		systemd-remount-fs.service systemd-random-seed.service \
		systemd-hwdb-update.service modprobe@.service systemd-modules-load.service systemd-journal-catalog-update.service \
		ldconfig.service swap.target cryptsetup.target \
		e2scrub_reap.service apt-daily.timer apt-daily-upgrade.timer \
		man-db.timer logrotate.timer; do
		ln -sf /dev/null "$units/$u"
	done
	# /tmp is set up above, kept trees included: systemd must not mount its
	# own tmpfs over it (Debian 13 enables tmp.mount; 12 ships it disabled).
	ln -sf /dev/null "$units/tmp.mount"
	# Type=exec, not oneshot: the boot transaction then completes while the
	# scenario runs, so it sees `systemctl is-system-running` = running.
	cat >"$units/cfs-vm-job.service" <<-EOF
		[Unit]
		Description=cachefiles-supervisor VM scenario
		After=basic.target
		SuccessAction=reboot-immediate
		FailureAction=reboot-immediate

		[Service]
		Type=exec
		ExecStart=/bin/bash $job
		StandardInput=null
		StandardOutput=tty
		StandardError=tty
		TTYPath=/dev/console
		TTYReset=no
		TTYVHangup=no
	EOF
	cat >"$units/cfs-vm.target" <<-EOF
		[Unit]
		Description=cachefiles-supervisor VM test target
		Requires=basic.target cfs-vm-job.service
		After=basic.target
		AllowIsolate=yes
	EOF
	trap - EXIT
	exec switch_root /newroot /lib/systemd/systemd --unit=cfs-vm.target \
		--show-status=error --log-color=no
	;;
*)
	die "unknown cfs.mode=$mode"
	;;
esac
