#!/bin/bash
# The main job: install what is needed, build, boot the 6.12 test kernel
# (built on first run, ~5 min on 2 cores, then cached) and show the
# supervisor serving an erofs image through cachefiles on-demand while
# workers are killed. Run as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")"
tests/setup-deps.sh
[ -f build/build.ninja ] || meson setup build
meson compile -C build
CFS_BUILD=$PWD/build exec tests/vm/run-vm.sh tests/vm/scenarios/demo.sh
