#!/bin/bash
# Remote blobs from real servers (issue 19): Debian's docker-registry
# (distribution 2.8) behind TLS with htpasswd auth, the image pushed through
# its own HTTP API, and nginx-light as an HTTPS origin, directly and through
# tinyproxy, all on loopback with a CA made here. Only descriptors are in the
# blob dir. Every file of the image reads back with its checksum from each
# origin, through workers that have no network of their own (the
# supervisor's broker connects for them).
# Then what must fail, fails clearly:
#  - one byte tampered with at the origin: the log names origin, blob, chunk
#    and both digests; readers of that chunk get EIO, every other file reads
#    good; once the origin serves the right bytes the same mount reads the
#    file good (nothing of the bad chunk went into the cache);
#  - wrong credentials: the mount fails and the log says the origin refused
#    them, without quoting them;
#  - no descriptor: OPEN refused, the log names the missing file.
# A second mount of the registry's image, all in the cache, sends no request.
# vm-images: small:small
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"
. "$CFS_SRC/tests/vm/remote-lib.sh"

scenario_begin remote_blobs_verified_from_registry_and_https

REG_PORT=5443 WEB_PORT=8443 PROXY_PORT=8888 CHUNK=65536 USER=cfs-puller PASSWORD=pw-$RANDOM$RANDOM
image=$(image_path small) manifest=$(image_manifest small)
describe=$CFS_BUILD/tools/cachefiles-blob-describe
rig=$CFS_VM_TMP/rig www=$CFS_VM_TMP/www descs=/srv/remote

ip link set lo up
rig_certs "$rig"
rig_registry_start "$rig" "$REG_PORT" "$USER" "$PASSWORD"
digest=$(rig_registry_push "$rig" "$REG_PORT" cfs/small "$image" "$USER" "$PASSWORD")
vm_log "pushed $(stat -c %s "$image") bytes to the registry as $digest"
mkdir -p "$www/blobs" "$www/tampered"
cp "$image" "$www/blobs/$digest"
cp "$image" "$www/tampered/$digest" # tampered with below, once a file's place in the blob is known
rig_nginx_start "$rig" "$WEB_PORT" "$www"
rig_tinyproxy_start "$rig" "$PROXY_PORT" "$WEB_PORT"

# The node's side: descriptors only, one per name a mount uses.
mkdir -p "$descs" /mnt/reg-small /mnt/web-small /mnt/prx-small /mnt/bad-small /mnt/deny-small /mnt/reg-nodesc
"$describe" "$image" --chunk-size "$CHUNK" -o "$descs/reg-small.desc"
for n in web-small prx-small bad-small deny-small; do cp "$descs/reg-small.desc" "$descs/$n.desc"; done
grep -qx "digest $digest" "$descs/reg-small.desc" || scenario_fail "the descriptor names another digest than the registry's"
[ ! -e "$descs/reg-small" ] || scenario_fail "a blob is in the blob dir"
umask 077
printf 'basic %s:%s\n' "$USER" "$PASSWORD" >"$rig/credentials"
printf 'basic %s:%s\n' "$USER" "not-$PASSWORD" >"$rig/credentials.wrong"
umask 022
conf=$CFS_VM_TMP/remote.conf
remote_domain() { rig_domain "$1" "$2" "$descs" "$3" "$rig/ca.crt" "fetch_deadline = 15s" "${@:4}"; }
{
	printf '[cache]\ndir = %s\nrequest_timeout = 30s\n' "$CFS_CACHE_DIR"
	remote_domain registry 'reg-*' "registry https://127.0.0.1:$REG_PORT/cfs/small" "credentials = $rig/credentials"
	remote_domain https 'web-*' "url https://127.0.0.1:$WEB_PORT/blobs/{digest}"
	remote_domain proxied 'prx-*' "url https://127.0.0.1:$WEB_PORT/blobs/{digest}" "proxy = http://127.0.0.1:$PROXY_PORT"
	remote_domain tampered 'bad-*' "url https://127.0.0.1:$WEB_PORT/tampered/{digest}"
	remote_domain deny 'deny-*' "registry https://127.0.0.1:$REG_PORT/cfs/small" "credentials = $rig/credentials.wrong"
} >"$conf"
"$SUP_BIN" --check-config -c "$conf" --worker-exe "$WORKER_BIN" | tee "$CFS_VM_TMP/check"
grep -q "valid, 5 domains" "$CFS_VM_TMP/check" || scenario_fail "--check-config did not accept the file"
supervisor_start -c "$conf"

# fetched DOMAIN FIELD: 1 bytes, 2 requests, 3 connections, 4 retries (rig_totals).
fetched() { rig_totals "$1" | cut -d' ' -f"$2"; }

# mount_and_check NAME DOMAIN WHAT: mount NAME, every file read by 4 readers;
# sets MOUNT_S, CHECK_*, and FETCHED REQUESTS CONNECTIONS from the domain's worker.
mount_and_check() {
	local t0=$EPOCHREALTIME
	mount -t erofs none -o "fsid=$1" "/mnt/$1" || scenario_fail "mount from $3 failed"
	MOUNT_S=$(elapsed "$t0")
	check_tree "/mnt/$1" "$manifest" 4 || scenario_fail "files from $3 differ"
	FETCHED=$(fetched "$2" 1) REQUESTS=$(fetched "$2" 2) CONNECTIONS=$(fetched "$2" 3)
	[ "$FETCHED" -ge "$CHECK_BYTES" ] || scenario_fail "$3: the worker fetched $FETCHED bytes for $CHECK_BYTES read"
}

# 1. The registry; 2. nginx, the url template; 3. nginx through tinyproxy.
mount_and_check reg-small registry "the registry"
reg_files=$CHECK_FILES reg_bad=$CHECK_BAD reg_read_s=$CHECK_SECONDS reg_mount_s=$MOUNT_S
reg_fetched=$FETCHED reg_requests=$REQUESTS reg_conns=$CONNECTIONS
# A second mount of what the cache holds asks the registry for nothing.
umount /mnt/reg-small
mount -t erofs none -o fsid=reg-small /mnt/reg-small || scenario_fail "second mount from the registry failed"
check_tree /mnt/reg-small "$manifest" 4 || scenario_fail "files from the registry differ on the second mount"
warm_requests=$(($(fetched registry 2) - reg_requests)) warm_read_s=$CHECK_SECONDS warm_files=$CHECK_FILES warm_bad=$CHECK_BAD
[ "$warm_requests" = 0 ] || scenario_fail "the second mount sent $warm_requests range requests for bytes the cache holds"
mount_and_check web-small https nginx
web_files=$CHECK_FILES web_bad=$CHECK_BAD web_read_s=$CHECK_SECONDS web_mount_s=$MOUNT_S
web_fetched=$FETCHED web_requests=$REQUESTS web_conns=$CONNECTIONS
mount_and_check prx-small proxied "nginx through tinyproxy"
prx_files=$CHECK_FILES prx_bad=$CHECK_BAD prx_read_s=$CHECK_SECONDS prx_conns=$CONNECTIONS
grep -q "Established connection to host \"127.0.0.1\"" "$CFS_OUT/tinyproxy.log" ||
	scenario_fail "tinyproxy tunnelled no connection to the origin"
grep -q "GET /blobs/$digest HTTP" "$CFS_OUT/nginx-access.log" || scenario_fail "nginx logged no GET of the blob"
! grep -q "GET /blobs/$digest HTTP[^\"]*\" 200 " "$CFS_OUT/nginx-access.log" ||
	scenario_fail "nginx served the whole blob (200) at least once: a worker asked for no range"

# 4. One byte tampered with at the origin, in the middle of the largest file.
target=$(cd /mnt/web-small && cut -c67- "$manifest" | xargs -d '\n' stat -c '%s %n' | sort -n | tail -n1 | cut -d' ' -f2-)
target_size=$(stat -c %s "/mnt/web-small/$target")
at=$(python3 - "$image" "/mnt/web-small/$target" "$target_size" <<'EOF'
import sys
img = open(sys.argv[1], 'rb').read()
mid = int(sys.argv[3]) // 2
with open(sys.argv[2], 'rb') as f:
    f.seek(mid)
    probe = f.read(64)
where = img.find(probe)
assert where >= 0 and img.find(probe, where + 1) < 0, "file bytes not found once in the image"
print(where)
EOF
)
chunk=$((at / CHUNK))
python3 - "$www/tampered/$digest" "$at" <<'EOF'
import sys
with open(sys.argv[1], 'r+b') as f:
    f.seek(int(sys.argv[2]))
    b = f.read(1)
    f.seek(int(sys.argv[2]))
    f.write(bytes([b[0] ^ 0x5a]))
EOF
want_chunk=$(sed -n "$((6 + chunk))p" "$descs/reg-small.desc")
got_chunk=$(dd if="$www/tampered/$digest" bs="$CHUNK" skip="$chunk" count=1 status=none | sha256sum | cut -d' ' -f1)
vm_log "tampered: byte $at of the blob served at /tampered, chunk $chunk, in /$target ($target_size bytes)"
mount -t erofs none -o fsid=bad-small /mnt/bad-small || scenario_fail "mount from the tampered origin failed"
if cat "/mnt/bad-small/$target" >/dev/null 2>"$CFS_VM_TMP/cat.err"; then
	scenario_fail "the file with a tampered chunk read without an error"
fi
grep -q "Input/output error" "$CFS_VM_TMP/cat.err" || scenario_fail "reading the tampered file: $(cat "$CFS_VM_TMP/cat.err")"
# Page by page: only the pages of the bad chunk fail, with EIO.
read -r bad_pages other_errors <<<"$(python3 - "/mnt/bad-small/$target" <<'EOF'
import errno, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
bad = other = 0
for off in range(0, os.fstat(fd).st_size, 4096):
    try:
        os.pread(fd, 4096, off)
    except OSError as e:
        if e.errno == errno.EIO:
            bad += 1
        else:
            other += 1
print(bad, other)
EOF
)"
vm_log "tampered file: $bad_pages pages gave EIO, $other_errors other errors"
[ "$bad_pages" -ge 1 ] && [ "$bad_pages" -le $((CHUNK / 4096)) ] ||
	scenario_fail "$bad_pages pages of the tampered file gave EIO, expected 1 to $((CHUNK / 4096)) (one chunk)"
[ "$other_errors" = 0 ] || scenario_fail "$other_errors reads failed with another error than EIO"
line="domain tampered: origin 127.0.0.1:$WEB_PORT: blob $digest chunk $chunk (bytes $((chunk * CHUNK))-$((chunk * CHUNK + CHUNK - 1))): fetched twice, sha256 $got_chunk, expected $want_chunk: refused, nothing of it written"
grep -qF -- "$line" "$SUP_LOG" || scenario_fail "no log line: $line"
tampered_logged=$(rig_log_count "$SUP_LOG" "fetched twice")
awk -v t="$target" 'substr($0, 67) != t' "$manifest" >"$CFS_VM_TMP/others.sha256"
check_tree /mnt/bad-small "$CFS_VM_TMP/others.sha256" 4 || scenario_fail "files beside the tampered chunk differ"
bad_others=$CHECK_FILES
# The origin fixed: the same mount, the same cache file, reads it good.
cp "$image" "$www/tampered/$digest"
awk -v t="$target" 'substr($0, 67) == t' "$manifest" >"$CFS_VM_TMP/target.sha256"
check_tree /mnt/bad-small "$CFS_VM_TMP/target.sha256" 1 ||
	scenario_fail "the tampered file does not read good once the origin is fixed: bad bytes were cached"
tampered_written=0
[ "$CHECK_BAD" = 0 ] || tampered_written=1
# What the status (and so the metrics) say of each origin: the workers' own
# totals, and the tampered chunk counted each time it came (twice) and
# as a failure each time its READ was refused.
origins=$("$CTL_BIN" status --json | python3 -c 'import json, sys
for d in json.load(sys.stdin)["domains"]:
    o = d.get("origin")
    if o:
        print(d["name"], o["bytes"], o["requests"], o["bad_chunks"], o["failures"])')
vm_log "origins in the status (domain bytes requests bad_chunks failures): $(echo "$origins" | paste -sd ';')"
read -r _ status_reg_bytes _ <<<"$(grep "^registry " <<<"$origins")"
[ "$status_reg_bytes" = "$reg_fetched" ] ||
	scenario_fail "the status says $status_reg_bytes bytes fetched for the registry, its worker $reg_fetched"
read -r _ _ _ status_bad_chunks status_failures <<<"$(grep "^tampered " <<<"$origins")"
[ "$status_bad_chunks" -ge $((2 * tampered_logged)) ] && [ "$status_failures" = "$tampered_logged" ] ||
	scenario_fail "the status counts $status_bad_chunks bad chunks and $status_failures failures for the tampered origin"

# 5. Wrong credentials: refused by the registry, said so, never quoted.
if mount -t erofs none -o fsid=deny-small /mnt/deny-small 2>/dev/null; then
	scenario_fail "mounted with wrong credentials"
	umount /mnt/deny-small
fi
grep -q "domain deny: origin 127.0.0.1:$REG_PORT: blob $digest bytes [0-9-]*: HTTP 401: the origin refused the domain's credentials" "$SUP_LOG" ||
	scenario_fail "no clear log line for the refused credentials"
! grep -qF -- "$PASSWORD" "$SUP_LOG" || scenario_fail "a password is in the supervisor's log"
deny_failures=$("$CTL_BIN" status --json | python3 -c 'import json, sys
print(sum(d["origin"]["failures"] for d in json.load(sys.stdin)["domains"] if d["name"] == "deny"))')
[ "$deny_failures" -ge 1 ] || scenario_fail "the status counts no failure for the refused credentials"

# 6. No descriptor.
if mount -t erofs none -o fsid=reg-nodesc /mnt/reg-nodesc 2>/dev/null; then
	scenario_fail "mounted a remote blob without a descriptor"
	umount /mnt/reg-nodesc
fi
grep -q "domain registry: blob reg-nodesc is remote and needs its descriptor reg-nodesc.desc in the blob dir" "$SUP_LOG" ||
	scenario_fail "no clear log line for the missing descriptor"

umount /mnt/reg-small /mnt/web-small /mnt/prx-small /mnt/bad-small
supervisor_stop || scenario_fail "supervisor exit status $?"
rig_stop nginx
rig_stop tinyproxy
rig_stop registry
# The workers asked the broker; none had a socket of its own to make.
[ "${STAT[connects]:-0}" -ge 4 ] || scenario_fail "the broker handed ${STAT[connects]:-0} connections, expected 4 or more"
[ "${STAT[connects_refused]:-0}" = 0 ] || scenario_fail "${STAT[connects_refused]} connections refused"
# Failed fetches are answered, not punished: no worker died, none broke the protocol.
[ "${STAT[deaths]}" = 0 ] && [ "${STAT[violations]}" = 0 ] ||
	scenario_fail "${STAT[deaths]} workers died, ${STAT[violations]} protocol violations"
scenario_end files="$reg_files+$warm_files+$web_files+$prx_files" bad="$((reg_bad + warm_bad + web_bad + prx_bad))" \
	reg_fetched="$reg_fetched" reg_requests="$reg_requests" reg_connections="$reg_conns" \
	reg_mount_s="$reg_mount_s" reg_read_s="$reg_read_s" \
	web_fetched="$web_fetched" web_requests="$web_requests" web_connections="$web_conns" \
	web_mount_s="$web_mount_s" web_read_s="$web_read_s" proxied_read_s="$prx_read_s" proxied_connections="$prx_conns" \
	brokered="${STAT[connects]:-0}" tampered_chunk="$chunk" tampered_eio_pages="$bad_pages" status_bad_chunks="$status_bad_chunks" \
	tampered_logged="$tampered_logged" tampered_written="$tampered_written" files_beside_tampered="$bad_others" \
	warm_requests="$warm_requests" warm_read_s="$warm_read_s"
