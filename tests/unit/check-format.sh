#!/bin/sh
# Fails when a C file of the project is not as .clang-format lays it out
# (clang-format 14, Debian 12's). Fix with: clang-format -i FILE...
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
cd "$src"
find supervisor worker ctl tools include tests/unit tests/fuzz tests/vm -name '*.[ch]' -print0 | sort -z |
	xargs -0 clang-format --dry-run -Werror
echo "check-format: every C file is formatted"
