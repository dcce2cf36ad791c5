#!/bin/bash
# Runs every test: unit (plain, -Werror), unit under ASan/UBSan, the
# libFuzzer targets briefly, the Debian package (built, checked, lintian:
# about a minute), and the vm suite on the 6.12 test kernel (built
# on first run, then cached), then two vm scenarios again from copies of the
# tree under $HOME and /tmp. Ends with "N passed, N failed".
#
#   tests/run-all.sh [--no-vm]
set -uo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"
run_vm=1
[ "${1:-}" = --no-vm ] && run_vm=0

"$src/tests/setup-deps.sh" || exit 1

passed=0 failed=0 t_start=$SECONDS
# Adds a meson test run's results to the totals.
count_results() {
	local log=$1/meson-logs/testlog.json p f
	[ -f "$log" ] || { failed=$((failed + 1)); return; }
	read -r p f < <(python3 -c '
import json, sys
ok = bad = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r == "OK": ok += 1
    elif r != "SKIP": bad += 1
print(ok, bad)' "$log")
	passed=$((passed + p)) failed=$((failed + f))
}

# Sets up (once) and builds a build dir; a failed build counts as a failure.
build() {
	local dir=$1
	shift
	[ -f "$dir/build.ninja" ] || meson setup "$dir" "$@" >/dev/null || return 1
	meson compile -C "$dir" >/dev/null || meson compile -C "$dir"
}

suite() {
	local title=$1 dir=$2 t0=$SECONDS
	shift 2
	echo "== $title"
	rm -f "$dir/meson-logs/testlog.json"
	meson test -C "$dir" --print-errorlogs "$@"
	count_results "$dir"
	echo "== $title: $((SECONDS - t0)) s"
}

if build build -Dwerror=true; then
	suite "unit" build --suite unit
else
	echo "build failed"; failed=$((failed + 1))
fi
if build build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false -Dvm_tests=false; then
	suite "unit (ASan+UBSan)" build-asan --suite unit
else
	echo "sanitizer build failed"; failed=$((failed + 1))
fi
if CC=clang build build-fuzz -Dwerror=true -Dfuzz=true -Dvm_tests=false; then
	suite "fuzz (libFuzzer, 20 s each)" build-fuzz --suite fuzz
else
	echo "fuzz build failed"; failed=$((failed + 1))
fi
# dpkg-buildpackage of the working tree in a scratch dir (prefix /usr, its
# own unit suite run) and lintian: one result.
echo "== Debian package"
t0=$SECONDS
# The vm scenario that installs it takes it from build/deb (tests/vm/with-deb.sh).
if "$src/tests/check-deb.sh" --keep "$src/build/deb"; then
	passed=$((passed + 1))
else
	failed=$((failed + 1))
fi
echo "== Debian package: $((SECONDS - t0)) s"
if [ "$run_vm" = 1 ] && [ -f build/build.ninja ]; then
	rm -f build/vm-out/*/results.txt
	suite "vm (qemu, kernel 6.12)" build --suite vm --num-processes 1
	echo "== what each vm scenario measured"
	cat build/vm-out/*/results.txt 2>/dev/null
fi

# Where a clone lives must not matter (issue 14): a home directory and /tmp
# are hidden from the supervisor (--private-view, but for the dirs it needs),
# and /tmp from the guest (its own tmpfs). So one chroot and one
# systemd scenario run again from a throwaway copy of this working tree
# (tracked files and untracked, not ignored ones, so uncommitted changes are
# what is tested) under $HOME and under /tmp, built there. The images are
# the main build's (the same bytes wherever they are made); the kernel and
# initramfs come from the shared cache under ~/.cache.
location_scenarios=(supervisor_serves_erofs unit_verifies_and_is_hardened)
location_copy=''
trap '[ -z "$location_copy" ] || rm -rf "$location_copy"' EXIT
clone_locations() {
	local base name rc t1 t0=$SECONDS
	echo "== the same scenarios from a copy of the tree under \$HOME and /tmp"
	if ! git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		echo "clone locations: skipped, $src is not a git checkout (nothing says what to copy)"
		return
	fi
	for base in "$HOME" /tmp; do
		location_copy=$(mktemp -d "$base/cfs-location.XXXXXX")
		# ls-files also lists tracked files deleted in the working tree.
		git -C "$src" ls-files -z --cached --others --exclude-standard |
			(cd "$src" && while IFS= read -r -d '' f; do
				[ -e "$f" ] || [ -L "$f" ] && printf '%s\0' "$f"
			done) |
			(cd "$src" && cpio --quiet -0 -pdm "$location_copy")
		# Only what the two scenarios run (the unit's ExecReload is cachefilesctl): the whole build would double the time.
		if ! (cd "$location_copy" && meson setup build >/dev/null &&
			meson compile -C build cachefiles-supervisor cachefiles-worker cachefilesctl >/dev/null); then
			echo "clone locations: the copy in $location_copy does not build"
			failed=$((failed + 1))
		else
			for name in "${location_scenarios[@]}"; do
				rc=0 t1=$SECONDS
				CFS_BUILD=$location_copy/build CFS_IMAGES=$src/build/vm-images \
					"$location_copy/tests/vm/run-vm.sh" "$name" >"$location_copy/build/$name.log" 2>&1 || rc=$?
				if [ "$rc" = 0 ]; then
					passed=$((passed + 1))
					echo "OK   $name from $location_copy ($((SECONDS - t1)) s)"
				else
					failed=$((failed + 1))
					echo "FAIL $name from $location_copy (status $rc), its console:"
					tail -n 40 "$location_copy/build/$name.log"
				fi
			done
		fi
		rm -rf "$location_copy"
		location_copy=''
	done
	echo "== clone locations: $((SECONDS - t0)) s"
}

if [ "$run_vm" = 1 ] && [ -f build/build.ninja ]; then
	clone_locations
fi

echo "total: $((SECONDS - t_start)) s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
