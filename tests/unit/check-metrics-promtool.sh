#!/bin/sh
# promtool check metrics on what `cachefilesctl metrics` prints for a made-up
# supervisor (test-metrics --print). Exit 77 (skipped) without promtool.
set -eu
command -v promtool >/dev/null 2>&1 || { echo "promtool not installed (Debian: prometheus)"; exit 77; }
out=$("$1" --print)
printf '%s\n' "$out" | promtool check metrics
echo "promtool accepts $(printf '%s\n' "$out" | grep -vc '^#') samples"
