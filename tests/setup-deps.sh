#!/bin/bash
# Installs what building and testing need on Debian 12, idempotently: only
# missing packages are installed, so a second run is quick and offline.
set -euo pipefail

packages=(
	build-essential meson ninja-build pkg-config
	libsystemd-dev libcap-ng-dev libseccomp-dev libinih-dev libjansson-dev linux-libc-dev
	# libcrypto: sha256 of remote blobs' chunks (worker/digest.c); also the test kernel's
	libssl-dev
	# the remote domains' worker (cachefiles-worker-remote): HTTP and TLS in the sandbox
	libcurl4-openssl-dev
	# the remote blobs scenario: a registry (distribution 2.8) with htpasswd auth, an
	# HTTPS origin, the test CA and certificates (openssl)
	docker-registry apache2-utils nginx-light openssl
	# ... and the HTTP proxy a remote domain's workers tunnel through
	tinyproxy
	# the remote reads benchmark: tc shapes loopback (netem), curl pulls the whole blob
	iproute2 curl
	clang clang-format libclang-rt-14-dev valgrind python3
	# promtool checks `cachefilesctl metrics` (the unit test metrics-promtool); Debian
	# ships it only in prometheus (~100 MB, a dozen JS packages for its web UI; on a
	# host booted with systemd it also starts the prometheus server: see README)
	prometheus
	# the Debian package and its check (tests/check-deb.sh); the vm scenario that
	# serves our metrics through the real node_exporter
	debhelper dpkg-dev lintian fakeroot prometheus-node-exporter
	# the test kernel and its VM
	linux-source-6.12 flex bison bc libelf-dev cpio busybox-static
	qemu-system-x86 erofs-utils e2fsprogs systemd openssl
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "setup-deps: all ${#packages[@]} packages present"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "setup-deps: missing ${missing[*]}; run as root (or install them) first" >&2
	exit 1
fi
echo "setup-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# Servers the tests start themselves, inside the guest, on loopback: on this
# machine they must neither start now (policy-rc.d 101 is Debian's "do not
# start services" answer) nor at the next boot.
# PACKAGE:SERVICE
servers=(prometheus:prometheus prometheus-node-exporter:prometheus-node-exporter tinyproxy:tinyproxy
	docker-registry:docker-registry nginx-light:nginx)
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && own_policy=1
fi
trap '[ "$own_policy" = 0 ] || rm -f "$policy"' EXIT
apt-get install -y -q --no-install-recommends "${missing[@]}"
for p in "${missing[@]}"; do
	for server in "${servers[@]}"; do
		[ "${server%%:*}" != "$p" ] || systemctl disable "${server#*:}.service" >/dev/null 2>&1 || true
	done
done
