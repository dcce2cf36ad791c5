#!/bin/bash
# One config file, two domains: volume keys route by exact name and by glob
# to different blob dirs, served by workers running as different users. Both
# mounts are read at once with every checksum matching; a volume no domain
# claims is refused with a clear error; --check-config reports the file valid.
# vm-images: small:small tiny:tiny
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"

scenario_begin two_domains_serve_two_mounts

for u in cfs-alpha cfs-beta; do
	id "$u" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$u"
done
mkdir -p /srv/alpha /srv/beta /mnt/alpha /mnt/beta /mnt/stray
cp "$(image_path small)" /srv/alpha/img-alpha-1
cp "$(image_path tiny)" /srv/beta/img-beta
conf=$CFS_VM_TMP/two.conf
cat >"$conf" <<EOF2
[cache]
dir = $CFS_CACHE_DIR
request_timeout = 20s

[domain alpha]
volume = img-alpha-*
blob_dir = /srv/alpha
workers = 2
worker_user = cfs-alpha

[domain beta]
volume = erofs,img-beta
blob_dir = /srv/beta
workers = 1
worker_user = cfs-beta
EOF2
"$SUP_BIN" --check-config -c "$conf" --worker-exe "$WORKER_BIN" | tee "$CFS_VM_TMP/check"
grep -q "valid, 2 domains" "$CFS_VM_TMP/check" || scenario_fail "--check-config did not accept the file"

supervisor_start -c "$conf"
mount -t erofs none -o fsid=img-alpha-1 /mnt/alpha
mount -t erofs none -o fsid=img-beta /mnt/beta
check_tree_bg /mnt/alpha "$(image_manifest small)" 3
check_tree /mnt/beta "$(image_manifest tiny)" 1 || scenario_fail "domain beta: bad data"
beta_files=$CHECK_FILES
check_tree_wait || scenario_fail "domain alpha: bad data"

# Workers of each domain run as that domain's user.
users=$(for w in $(worker_pids); do awk '/^Uid:/ { print $2 }' "/proc/$w/status"; done | sort -u | xargs)
want=$(for u in cfs-alpha cfs-beta; do id -u "$u"; done | sort -u | xargs)
[ "$users" = "$want" ] || scenario_fail "worker uids are '$users', expected '$want'"

if mount -t erofs none -o fsid=img-stray /mnt/stray 2>/dev/null; then
	scenario_fail "a volume no domain claims was mounted"
	umount /mnt/stray
fi
grep -q "no domain serves volume 'erofs,img-stray'" "$SUP_LOG" || scenario_fail "no clear error for the stray volume"
umount /mnt/alpha /mnt/beta
supervisor_stop || scenario_fail "supervisor exit status $?"
[ "${STAT[failed]}" = 0 ] || scenario_fail "${STAT[failed]} requests failed"
scenario_end alpha_files="$CHECK_FILES" beta_files="$beta_files" bad="$CHECK_BAD" worker_uids="$users"
