#!/bin/bash
# Workers that answer with garbage (test worker: every 4th reply) are killed
# and replaced; the requests they held go to other workers and the readers
# see every file intact.
# vm-images: small:small
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"

scenario_begin garbage_from_a_worker_gets_it_replaced

blobs=$BLOBS
stage_blob small small /mnt/small
# Read windows leave about 50 READs for the image, so garbage must come
# often; then a request is often held by a worker killed for it, and counts
# as a crash each time: a high crash limit keeps it from failing as poison.
CFS_TEST_GARBAGE_EVERY=4 supervisor_start --blob-dir "$blobs" --workers 2 --crash-limit 20 \
	--worker-exe "$CFS_BUILD/worker/cachefiles-worker-test"
mount -t erofs none -o fsid=small /mnt/small
check_tree /mnt/small "$(image_manifest small)" 4 || scenario_fail "readers saw errors or bad data"
umount /mnt/small
supervisor_stop || scenario_fail "supervisor exit status $?"
[ "${STAT[violations]}" -ge 10 ] || scenario_fail "only ${STAT[violations]} protocol violations seen"
[ "${STAT[failed]}" = 0 ] || scenario_fail "${STAT[failed]} requests failed"
grep -q "killing it: malformed message" "$SUP_LOG" || scenario_fail "no kill for a malformed message logged"
scenario_end violations="${STAT[violations]}" deaths="${STAT[deaths]}" files="$CHECK_FILES" bad="$CHECK_BAD"
