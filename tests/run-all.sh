#!/bin/bash
# Runs every test: unit (plain, -Werror), unit under ASan/UBSan, the
# libFuzzer targets briefly, and the vm suite on the 6.12 test kernel (built
# on first run, then cached). Ends with "N passed, N failed".
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
if [ "$run_vm" = 1 ] && [ -f build/build.ninja ]; then
	rm -f build/vm-out/*/results.txt
	suite "vm (qemu, kernel 6.12)" build --suite vm --num-processes 1
	echo "== what each vm scenario measured"
	cat build/vm-out/*/results.txt 2>/dev/null
fi

echo "total: $((SECONDS - t_start)) s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
