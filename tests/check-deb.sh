#!/bin/bash
# Builds the Debian package from the working tree (committed or not) in a
# scratch directory, as `dpkg-buildpackage -us -uc -b` would in a clone, then
# checks what the .deb installs and runs lintian on it. Prints lintian's
# findings and one summary line; exit status 1 on a build failure, a file
# missing from the package, or any lintian error.
#   tests/check-deb.sh [--keep DIR]   (--keep: leave the .deb, logs and the
#                                      tree-id it was built from in DIR)
# Needs debhelper, dpkg-dev, lintian and the build dependencies
# (tests/setup-deps.sh installs them). About 2-3 minutes on 2 cores: the
# build runs the unit suite (dh_auto_test), with prefix /usr.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/tests/tree-id.sh"
keep=
[ "${1:-}" = --keep ] && keep=${2:?--keep DIR}
work=$(mktemp -d /tmp/cfs-deb.XXXXXX)
keep_work=0 # a failed build keeps its tree and log
trap '[ "$keep_work" = 1 ] || rm -rf "$work"' EXIT
t0=$(date +%s)

# The tree as git sees it: tracked and new files, not ignored ones such as
# build dirs (a tracked file deleted in the working tree is left out).
mkdir "$work/src"
(cd "$src" && git ls-files -z --cached --others --exclude-standard |
	xargs -0 tar -cf - --no-recursion --ignore-failed-read 2>/dev/null) | tar -xf - -C "$work/src"
echo "check-deb: building in $work/src"
if ! (cd "$work/src" && nice -n 19 dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1; then
	tail -40 "$work/build.log"
	echo "check-deb: dpkg-buildpackage failed (log: $work/build.log)"
	keep_work=1
	exit 1
fi
deb=$(ls "$work"/cachefiles-supervisor_*.deb)

missing=0
contents=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|')
for f in /usr/sbin/cachefiles-supervisor /usr/sbin/cachefilesctl /usr/libexec/cachefiles-worker \
	/usr/bin/cachefiles-blob-describe /usr/share/man/man1/cachefiles-blob-describe.1.gz \
	/lib/systemd/system/cachefiles-supervisor.service \
	/lib/systemd/system/cachefiles-supervisor-metrics.service \
	/lib/systemd/system/cachefiles-supervisor-metrics.timer \
	/usr/lib/sysusers.d/cachefiles-supervisor.conf /usr/lib/tmpfiles.d/cachefiles-supervisor.conf \
	/usr/lib/modules-load.d/cachefiles-supervisor.conf /etc/cachefiles-supervisor.conf \
	/usr/share/man/man8/cachefiles-supervisor.8.gz /usr/share/man/man8/cachefilesctl.8.gz \
	/usr/share/man/man8/cachefiles-worker.8.gz /usr/share/man/man5/cachefiles-supervisor.conf.5.gz \
	/usr/share/doc/cachefiles-supervisor/examples/before-containerd.conf; do
	grep -qxF "$f" <<<"$contents" || { echo "check-deb: $f is not in the package"; missing=1; }
done
dpkg-deb -I "$deb" conffiles | grep -qxF /etc/cachefiles-supervisor.conf ||
	{ echo "check-deb: /etc/cachefiles-supervisor.conf is not a conffile"; missing=1; }
dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ./lib/systemd/system/cachefiles-supervisor.service |
	grep -qxF 'ExecStart=/usr/sbin/cachefiles-supervisor --private-view --config /etc/cachefiles-supervisor.conf' ||
	{ echo "check-deb: the unit does not start /usr/sbin/cachefiles-supervisor with /etc's config"; missing=1; }

lintian --fail-on none --info "$deb" >"$work/lintian.log" 2>&1 || true
cat "$work/lintian.log"
errors=$(grep -c '^E: ' "$work/lintian.log" || true)
warnings=$(grep -c '^W: ' "$work/lintian.log" || true)
if [ -n "$keep" ]; then
	mkdir -p "$keep"
	rm -f "$keep"/*.deb
	cp "$deb" "$work"/*.log "$keep"/ 2>/dev/null || true
	tree_id "$src" >"$keep/tree-id"
fi
echo "check-deb: $(basename "$deb"), $(wc -l <<<"$contents") paths; lintian: $errors errors, $warnings warnings;" \
	"$(($(date +%s) - t0)) s"
[ "$missing" = 0 ] && [ "$errors" = 0 ]
