#!/bin/sh
# The installed paths agree for the prefix this build was configured with
# (the package builds with /usr, a plain meson build with /usr/local): the
# unit starts the supervisor with the config the binary defaults to, the
# worker the binary defaults to is the one installed, and the man pages
# name the same files, with no other prefix's path left in them.
# Usage: check-paths.sh CONFIG_PATH WORKER_PATH SBINDIR SUPERVISOR UNIT METRICS_UNIT MANPAGE...
set -eu
config=$1 worker=$2 sbindir=$3 supervisor=$4 unit=$5 metrics_unit=$6
shift 6
fail() { echo "check-paths: $*" >&2; exit 1; }

help=$("$supervisor" --help)
printf '%s\n' "$help" | grep -qF "[$config]" || fail "--help does not default -c to $config"
printf '%s\n' "$help" | grep -qF "worker binary [$worker]" || fail "--help does not default --worker-exe to $worker"
grep -qxF "ExecStart=$sbindir/cachefiles-supervisor --private-view --config $config" "$unit" ||
	fail "$unit does not start $sbindir/cachefiles-supervisor with --config $config"
grep -qxF "ExecReload=$sbindir/cachefilesctl reload" "$unit" || fail "$unit does not reload with $sbindir/cachefilesctl"
grep -q "^ExecStart=$sbindir/cachefilesctl " "$metrics_unit" || fail "$metrics_unit does not run $sbindir/cachefilesctl"
for page in "$@"; do
	grep -q '@[a-z_]*@' "$page" && fail "$page keeps a placeholder: $(grep -o '@[a-z_]*@' "$page" | head -1)"
	# Every cachefiles-supervisor.conf (but a sysusers.d, tmpfiles.d... entry) or
	# cachefiles-worker named by an absolute path is the one installed.
	others=$(grep -o '/[^ ]*/cachefiles\(\\-\|-\)\(supervisor\.conf\|worker\)\b' "$page" | grep -v '\.d/' | sed 's/\\-/-/g' |
		grep -vxF -e "$config" -e "$worker" || true)
	[ -z "$others" ] || fail "$page names $others (this build installs $config and $worker)"
done
echo "config $config, worker $worker, binaries in $sbindir: the binary, the units and $# man pages agree"
