#!/bin/bash
# Bad input gets a clear error and costs nothing else: a traversal attempt
# through a raw cookie key (domain_id mounts pass fsid through unchanged), a
# missing blob and a truncated blob each fail with their own log line, while
# a good mount keeps serving every file intact.
# vm-images: small:small tiny:tiny
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"

scenario_begin hostile_and_broken_blobs_get_clear_errors

blobs=$BLOBS
stage_blob small good /mnt/good /mnt/evil /mnt/missing /mnt/short
# Half of the image: the superblock is there, file data past the cut is not.
head -c "$(($(stat -c %s "$(image_path small)") / 2))" "$(image_path small)" >"$blobs/short"
# What a traversal would reach if it worked.
echo "secret" >/srv/outside
supervisor_start --blob-dir "$blobs" --workers 2
mount -t erofs none -o fsid=good /mnt/good

expect_log() {
	grep -q -- "$1" "$SUP_LOG" || scenario_fail "no log line matching '$1'"
}

# 1. Traversal: the key reaches the supervisor raw and must be refused.
if mount -t erofs none -o domain_id=evil,fsid=../outside /mnt/evil 2>"$CFS_VM_TMP/evil.err"; then
	scenario_fail "mount with fsid=../outside succeeded"
	umount /mnt/evil
fi
vm_log "traversal mount refused: $(cat "$CFS_VM_TMP/evil.err")"
expect_log "refusing unsafe blob name '../outside'"

# 2. Missing blob.
if mount -t erofs none -o fsid=nosuch /mnt/missing 2>"$CFS_VM_TMP/missing.err"; then
	scenario_fail "mount of a missing blob succeeded"
	umount /mnt/missing
fi
vm_log "missing blob mount refused: $(cat "$CFS_VM_TMP/missing.err")"
expect_log "obj .* OPEN refused: No such file or directory"

# 3. Truncated blob: mounting may work, reading past the cut must fail
#    promptly (no hang), with a log line saying why.
short_errors=0
if mount -t erofs none -o fsid=short /mnt/short 2>"$CFS_VM_TMP/short.err"; then
	t0=$EPOCHREALTIME
	(cd /mnt/short && cut -c67- "$(image_manifest small)" | xargs -d '\n' cat >/dev/null 2>"$CFS_VM_TMP/short.read") &&
		scenario_fail "every file of a half blob read without error"
	short_errors=$(grep -c . "$CFS_VM_TMP/short.read" || true)
	vm_log "truncated blob: $short_errors read errors in $(elapsed "$t0") s, e.g. $(head -n1 "$CFS_VM_TMP/short.read")"
	umount /mnt/short
	expect_log "blob ends before the range"
else
	vm_log "truncated blob mount refused: $(cat "$CFS_VM_TMP/short.err")"
fi

# The good mount was never disturbed.
check_tree /mnt/good "$(image_manifest small)" 2 || scenario_fail "good mount damaged"
umount /mnt/good
supervisor_stop || scenario_fail "supervisor exit status $?"
[ "${STAT[refused_keys]}" -ge 1 ] || scenario_fail "refused_keys=${STAT[refused_keys]}"
[ "${STAT[deaths]}" = 0 ] || scenario_fail "workers died on bad input: ${STAT[deaths]}"
scenario_end refused_keys="${STAT[refused_keys]}" short_read_errors="$short_errors" files="$CHECK_FILES" bad="$CHECK_BAD"
