#!/bin/bash
# The baseline daemon answers an OPEN it cannot serve with an error copen,
# never a path outside its blob dir: a traversal cookie key (reachable raw
# through domain_id) and a missing blob both fail the mount cleanly, and the
# daemon goes on serving a good mount afterwards.
# vm-images: tiny:tiny
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"

scenario_begin baseline_daemon_refuses_bad_keys

mkdir -p /srv/blobs /mnt/traversal /mnt/missing /mnt/tiny
cp "$(image_path tiny)" /srv/blobs/tiny
daemon_start baseline "$(baseline_daemon_bin)" --cache-dir "$CFS_CACHE_DIR" --blob-dir /srv/blobs

if mount -t erofs none -o domain_id=hostile,fsid=../etc/passwd /mnt/traversal; then
	scenario_fail "a ../ cookie key was served"
fi
if mount -t erofs none -o fsid=missing /mnt/missing; then
	scenario_fail "a missing blob was served"
fi
mount -t erofs none -o domain_id=hostile,fsid=tiny /mnt/tiny
check_tree /mnt/tiny "$(image_manifest tiny)" 2 || scenario_fail "content differs"
umount /mnt/tiny

daemon_stop baseline || scenario_fail "daemon exit status $?"
scenario_end files="$CHECK_FILES" bad="$CHECK_BAD"
