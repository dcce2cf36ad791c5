#!/bin/bash
# A registry that answers 307 to object storage (issue 19, redirect_hosts):
# nginx-light as an origin that wants basic auth and redirects every GET it
# lets in to another port, where a second server ("object storage") serves
# the blob. Both log the Authorization header they received.
#  - a domain with redirect_hosts naming the storage reads every file of the
#    image good; the origin got the credentials on every request, the
#    storage on none (another port is another host);
#  - the same through tinyproxy: the supervisor holds the redirect to the
#    list, then hands over a connection to the proxy, which tunnels to it;
#  - a domain without redirect_hosts, and one listing other hosts (another
#    port, and the storage's address by another name): the mount fails, the
#    supervisor's log names the refused host, the worker lives, nothing
#    reaches the storage;
#  - origin and storage redirecting to each other: credentials go again to
#    the origin (it answers 307, not 401) and never to the storage, and the
#    worker gives up after its 3 redirects with a line that says so.
# vm-images: small:small
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"
. "$CFS_SRC/tests/vm/remote-lib.sh"

scenario_begin redirects_reach_object_storage_without_credentials

ORIGIN_PORT=9443 STORE_PORT=9444 PROXY_PORT=8888 CHUNK=65536 USER=cfs-puller PASSWORD=pw-$RANDOM$RANDOM
image=$(image_path small) manifest=$(image_manifest small)
describe=$CFS_BUILD/tools/cachefiles-blob-describe
rig=$CFS_VM_TMP/rig www=$CFS_VM_TMP/www descs=/srv/remote
digest=sha256:$(sha256sum "$image" | cut -d' ' -f1)
auth="Basic $(printf '%s:%s' "$USER" "$PASSWORD" | base64 -w0)"

ip link set lo up
rig_certs "$rig"
# Each domain's origin path is its own, so the logs tell the domains apart.
for p in rdr prx nor oth loop; do mkdir -p "$www/$p/blobs"; done
cp "$image" "$www/rdr/blobs/$digest"
for p in prx nor oth; do ln "$www/rdr/blobs/$digest" "$www/$p/blobs/$digest"; done
rig_nginx_redirect_start "$rig" "$ORIGIN_PORT" "$STORE_PORT" "$www" "$USER" "$PASSWORD"
rig_tinyproxy_start "$rig" "$PROXY_PORT" "$ORIGIN_PORT" "$STORE_PORT"
# The rig itself: the origin wants the credentials and, given them, redirects.
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$rig/ca.crt" "https://127.0.0.1:$ORIGIN_PORT/rdr/blobs/$digest")
[ "$code" = 401 ] || scenario_fail "the origin answered $code without credentials, expected 401"
where=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' --cacert "$rig/ca.crt" -u "$USER:$PASSWORD" \
	"https://127.0.0.1:$ORIGIN_PORT/rdr/blobs/$digest")
[ "$where" = "307 https://127.0.0.1:$STORE_PORT/rdr/blobs/$digest" ] ||
	scenario_fail "the origin answered '$where' with credentials, expected a 307 to the storage"
: >"$CFS_OUT/origin-access.log"
: >"$CFS_OUT/storage-access.log"

mkdir -p "$descs"
"$describe" "$image" --chunk-size "$CHUNK" -o "$descs/rdr-small.desc"
for n in prx nor oth loop; do
	cp "$descs/rdr-small.desc" "$descs/$n-small.desc"
	mkdir -p "/mnt/$n-small"
done
mkdir -p /mnt/rdr-small
umask 077
printf 'basic %s:%s\n' "$USER" "$PASSWORD" >"$rig/credentials"
umask 022
conf=$CFS_VM_TMP/redirect.conf
# redirect_domain NAME LINE...: fsid NAME-*, origin path /NAME/blobs, the credentials.
redirect_domain() {
	rig_domain "$1" "$1-*" "$descs" "url https://127.0.0.1:$ORIGIN_PORT/$1/blobs/{digest}" "$rig/ca.crt" \
		"fetch_deadline = 15s" "credentials = $rig/credentials" "${@:2}"
}
{
	printf '[cache]\ndir = %s\nrequest_timeout = 30s\n' "$CFS_CACHE_DIR"
	redirect_domain rdr "redirect_hosts = 127.0.0.1:$STORE_PORT"
	redirect_domain prx "redirect_hosts = 127.0.0.1:$STORE_PORT" "proxy = http://127.0.0.1:$PROXY_PORT"
	redirect_domain nor
	redirect_domain oth "redirect_hosts = 127.0.0.1:$((STORE_PORT + 1)) localhost:$STORE_PORT"
	redirect_domain loop "redirect_hosts = 127.0.0.1:$STORE_PORT"
} >"$conf"
"$SUP_BIN" --check-config -c "$conf" --worker-exe "$WORKER_BIN" | tee "$CFS_VM_TMP/check"
grep -q "valid, 5 domains" "$CFS_VM_TMP/check" || scenario_fail "--check-config did not accept the file"
supervisor_start -c "$conf"

# log_lines FILE PATH_PREFIX: the log's lines for GETs under that path.
log_lines() { grep -F "\"GET $2" "$1" || true; }
# every_line SERVER NAME END WHAT: every line of SERVER's log (origin,
# storage) for NAME's blob ends in END, else it fails saying WHAT they
# should be; their count in COUNT, and there must be some.
every_line() {
	local lines
	lines=$(log_lines "$CFS_OUT/$1-access.log" "/$2/blobs/$digest")
	COUNT=$(grep -c . <<<"$lines" || true)
	[ "$COUNT" -ge 1 ] || scenario_fail "$2: the $1 logged no GET of the blob"
	! grep -vF -- "$3" <<<"$lines" | grep . || scenario_fail "$2: the $1's lines above are not $4"
}
WITH_CREDENTIALS=" 307 auth=\"$auth\""
RANGE_WITHOUT=' 206 auth="-"'

# read_through NAME WHAT: mount NAME-small, every file checked; the
# credentials at the origin only. Sets FILES BAD ORIGIN_GETS STORAGE_GETS.
read_through() {
	mount -t erofs none -o "fsid=$1-small" "/mnt/$1-small" || scenario_fail "mount $2 failed"
	check_tree "/mnt/$1-small" "$manifest" 4 || scenario_fail "files $2 differ"
	FILES=$CHECK_FILES BAD=$CHECK_BAD
	every_line origin "$1" "$WITH_CREDENTIALS" "a 307 given the credentials"
	ORIGIN_GETS=$COUNT
	every_line storage "$1" "$RANGE_WITHOUT" "a 206 without Authorization"
	STORAGE_GETS=$COUNT
	# Every storage GET followed an origin's 307.
	[ "$ORIGIN_GETS" -ge "$STORAGE_GETS" ] || scenario_fail "$1: $STORAGE_GETS storage GETs for $ORIGIN_GETS at the origin"
}

# (a) Listed: directly, then through tinyproxy (both tunnels, the storage's asked for as a redirect).
read_through rdr "with redirect_hosts"
rdr_files=$FILES rdr_bad=$BAD rdr_origin=$ORIGIN_GETS rdr_storage=$STORAGE_GETS
read_through prx "through the proxy with redirect_hosts"
prx_files=$FILES prx_bad=$BAD prx_origin=$ORIGIN_GETS prx_storage=$STORAGE_GETS
grep -q "CONNECT 127.0.0.1:$STORE_PORT " "$CFS_OUT/tinyproxy.log" || scenario_fail "tinyproxy tunnelled nothing to the storage"

# (b) Not listed: refused by the supervisor, named, and nothing reaches the storage.
for n in nor oth; do
	if mount -t erofs none -o "fsid=$n-small" "/mnt/$n-small" 2>/dev/null; then
		scenario_fail "$n: mounted though the redirect's host is not on its redirect_hosts"
		umount "/mnt/$n-small"
	fi
	grep -q "domain $n worker [0-9]*: connection refused: the origin redirected to a host that is not on this domain's redirect_hosts (127.0.0.1:$STORE_PORT)" "$SUP_LOG" ||
		scenario_fail "$n: no supervisor line naming the refused redirect to 127.0.0.1:$STORE_PORT"
	grep -q "domain $n: origin 127.0.0.1:$ORIGIN_PORT: blob $digest bytes [0-9-]*: the supervisor refused a connection to 127.0.0.1:$STORE_PORT" "$SUP_LOG" ||
		scenario_fail "$n: no worker line saying its redirect was refused"
	[ -z "$(log_lines "$CFS_OUT/storage-access.log" "/$n/")" ] || scenario_fail "$n: a request reached the storage"
	every_line origin "$n" "$WITH_CREDENTIALS" "a 307 given the credentials"
done
refused_logged=$(rig_log_count "$SUP_LOG" "connection refused: the origin redirected")

# Origin and storage redirecting to each other: the origin's credentials each time back, 3 redirects at most.
if mount -t erofs none -o fsid=loop-small /mnt/loop-small 2>/dev/null; then
	scenario_fail "mounted through a redirect loop"
	umount /mnt/loop-small
fi
grep -q "domain loop: origin 127.0.0.1:$ORIGIN_PORT: blob $digest bytes [0-9-]*: HTTP 307 to 'https://127.0.0.1:$ORIGIN_PORT/loop/blobs/$digest': more than 3 redirects" "$SUP_LOG" ||
	scenario_fail "no worker line saying it gave up after 3 redirects"
every_line origin loop "$WITH_CREDENTIALS" "a 307 given the credentials (a 401: none came back with the redirect)"
loop_origin=$COUNT
every_line storage loop ' 307 auth="-"' "a 307 without Authorization"
loop_storage=$COUNT
# Each try: origin, storage, origin, storage, then no fifth request.
[ "$loop_origin" -ge 2 ] && [ "$loop_storage" = "$loop_origin" ] ||
	scenario_fail "loop: $loop_origin requests at the origin and $loop_storage at the storage, expected as many, 2 or more"

! grep -qF -- "$PASSWORD" "$SUP_LOG" || scenario_fail "the password is in the supervisor's log"
umount /mnt/rdr-small /mnt/prx-small
supervisor_stop || scenario_fail "supervisor exit status $?"
rig_stop nginx-redirect
rig_stop tinyproxy
[ "${STAT[connects_refused]:-0}" -ge 2 ] || scenario_fail "${STAT[connects_refused]:-0} connections refused, expected 2 or more"
# A refused redirect is answered, not punished: no worker died, none broke the protocol.
[ "${STAT[deaths]}" = 0 ] && [ "${STAT[violations]}" = 0 ] ||
	scenario_fail "${STAT[deaths]} workers died, ${STAT[violations]} protocol violations"
scenario_end files="$rdr_files+$prx_files" bad="$((rdr_bad + prx_bad))" \
	origin_gets="$rdr_origin" storage_gets="$rdr_storage" proxied_origin_gets="$prx_origin" proxied_storage_gets="$prx_storage" \
	refused_logged="$refused_logged" loop_origin_gets="$loop_origin" loop_storage_gets="$loop_storage" \
	brokered="${STAT[connects]:-0}" refused="${STAT[connects_refused]:-0}"
