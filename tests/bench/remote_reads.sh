#!/bin/bash
# Benchmark, one boot: a 256 MiB image of 12 000 files (tree256) in a real
# registry (docker-registry, TLS, htpasswd), over loopback shaped with netem
# (CFS_BENCH_NET_DELAY each way, 10ms: a 20 ms round trip; CFS_BENCH_NET_RATE,
# 200mbit), read on demand through the supervisor against what a user has
# today: pull the whole blob with curl (checked against its digest as it
# streams, as docker pull does) and mount the file (erofs file-backed).
# For each: the time from the start (mount, or pull) to the first small
# file read and checked, and to every file read (READERS readers, cat);
# every byte is then checked against the manifest, outside the clock.
# Bytes and range requests come from the registry's access log (and the
# worker's totals line). Then the on-demand image is unmounted and mounted
# again: reading it all must send no range request (the cache holds every
# byte), or the bench fails.
#
# Environment:
#   CFS_BENCH_NET_DELAY     netem delay on lo, each way (10ms)
#   CFS_BENCH_NET_RATE      netem rate on lo (200mbit)
#   CFS_BENCH_REMOTE_READERS  parallel readers of the full read (4)
#   CFS_BENCH_SUP_ARGS      more supervisor arguments
# vm-images: tree256:tree256
set -euo pipefail
. "$CFS_SRC/tests/vm/lib.sh"
. "$CFS_SRC/tests/vm/supervisor-lib.sh"
. "$CFS_SRC/tests/vm/remote-lib.sh"
. "$CFS_SRC/tests/bench/bench-lib.sh"

delay=${CFS_BENCH_NET_DELAY:-10ms} rate=${CFS_BENCH_NET_RATE:-200mbit} readers=${CFS_BENCH_REMOTE_READERS:-4}
REG_PORT=5443 USER=cfs-puller PASSWORD=pw-$RANDOM$RANDOM REPO=cfs/tree256 NAME=reg-tree256
image=$(image_path tree256) manifest=$(image_manifest tree256)
rig=$CFS_VM_TMP/rig descs=/srv/remote od=/mnt/remote-od fb=/mnt/remote-fb
# On tmpfs: the cache fs (a 512 MiB RAM disk) has no room for a second copy.
pulled=$CFS_VM_TMP/pulled.img
scenario_begin bench_remote_reads

ip link set lo up
rig_certs "$rig"
rig_registry_start "$rig" "$REG_PORT" "$USER" "$PASSWORD"
# Pushed before the shaping: setting up is not what is measured.
digest=$(rig_registry_push "$rig" "$REG_PORT" "$REPO" "$image" "$USER" "$PASSWORD")
image_bytes=$(stat -c %s "$image")
mkdir -p "$descs" "$od" "$fb"
"$CFS_BUILD/tools/cachefiles-blob-describe" "$image" -o "$descs/$NAME.desc" >/dev/null
grep -qx "digest $digest" "$descs/$NAME.desc" || scenario_fail "the descriptor names another digest than the registry's"
vm_log "pushed tree256 ($image_bytes bytes, $(wc -l <"$manifest") files) as $digest; chunk size $(sed -n 's/^chunk_size //p' "$descs/$NAME.desc")"
umask 077
printf 'basic %s:%s\n' "$USER" "$PASSWORD" >"$rig/credentials"
umask 022
conf=$CFS_VM_TMP/remote.conf
{
	printf '[cache]\ndir = %s\nrequest_timeout = 30s\n' "$CFS_CACHE_DIR"
	rig_domain registry "$NAME" "$descs" "registry https://127.0.0.1:$REG_PORT/$REPO" "$rig/ca.crt" \
		"credentials = $rig/credentials"
} >"$conf"
# shellcheck disable=SC2206 # extra arguments are words on purpose
extra=(${CFS_BENCH_SUP_ARGS:-})
supervisor_start -c "$conf" "${extra[@]}"

tc qdisc add dev lo root netem delay "$delay" rate "$rate"
connect_ms=$(curl -s -o /dev/null --cacert "$rig/ca.crt" -w '%{time_connect}' "https://127.0.0.1:$REG_PORT/v2/" |
	awk '{ printf "%.1f", $1 * 1000 }')
shaping="netem on lo: delay $delay each way, rate $rate ($(tc qdisc show dev lo | head -n1)); TCP connect $connect_ms ms"
vm_log "shaped: $shaping"

# The first small file: the first in the manifest outside large/.
first=$(awk 'substr($0, 67) !~ /^large\// { print; exit }' "$manifest")
first_name=${first:66} first_sum=${first:0:64}

first_ok() {
	[ "$(sha256sum <"$1/$first_name" | cut -c1-64)" = "$first_sum" ]
}

verify() {
	(cd "$1" && sha256sum --check --quiet --strict "$manifest") >"$CFS_VM_TMP/verify" 2>&1 && return 0
	head -5 "$CFS_VM_TMP/verify"
	return 1
}

# timed_reads T0 DIR WHAT: the first small file, then every file; FIRST_S and
# FULL_S are seconds since T0. Then every byte checked, outside the clock.
timed_reads() {
	local t0=$1 dir=$2 what=$3
	first_ok "$dir" || scenario_fail "$what: $first_name differs"
	FIRST_S=$(elapsed "$t0")
	read_tree "$dir" "$manifest" "$readers" || scenario_fail "$what: a reader failed"
	FULL_S=$(elapsed "$t0")
	verify "$dir" || scenario_fail "$what: content differs"
}

# blob_gets: "GETS BYTES" of the blob the registry has answered so far (its access log).
blob_gets() {
	awk -F'"' -v req="GET /v2/$REPO/blobs/$digest HTTP/" 'index($2, req) == 1 {
			split($3, f, " "); n++; b += f[2]
		} END { printf "%d %d\n", n, b }' "$CFS_OUT/registry.log"
}

# 1. On demand, cold: a new cache, nothing of the image on the node but its descriptor.
drop_caches
read -r gets0 gbytes0 <<<"$(blob_gets)"
t0=$EPOCHREALTIME
mount -t erofs none -o "fsid=$NAME" "$od" || scenario_fail "on-demand mount failed"
od_mount_s=$(elapsed "$t0")
timed_reads "$t0" "$od" "on demand"
od_first_s=$FIRST_S od_full_s=$FULL_S
read -r gets1 gbytes1 <<<"$(blob_gets)"
read -r w_bytes w_requests w_conns w_retries <<<"$(rig_totals registry)"
od_gets=$((gets1 - gets0)) od_bytes=$((gbytes1 - gbytes0))
payload=$(cd "$od" && cut -c67- "$manifest" | xargs -d '\n' stat -c %s | awk '{ s += $1 } END { print s }')
vm_log "RUN on-demand: mount $od_mount_s s, first file $od_first_s s, all files $od_full_s s;" \
	"fetched $od_bytes bytes in $od_gets range requests (worker: $w_bytes bytes, $w_requests requests," \
	"$w_conns connections, $w_retries retries) for $payload bytes of files, image $image_bytes bytes"

# 2. The same image again, after unmount: the cache holds every byte of it.
umount "$od"
drop_caches
t0=$EPOCHREALTIME
mount -t erofs none -o "fsid=$NAME" "$od" || scenario_fail "second mount failed"
check_tree "$od" "$manifest" "$readers" || scenario_fail "second mount: content differs"
warm_s=$(elapsed "$t0")
read -r gets2 gbytes2 <<<"$(blob_gets)"
read -r _ w_requests2 _ _ <<<"$(rig_totals registry)"
warm_gets=$((gets2 - gets1)) warm_bytes=$((gbytes2 - gbytes1)) warm_worker_requests=$((w_requests2 - w_requests))
vm_log "RUN second mount: all files read and checked in $warm_s s; range requests: $warm_gets at the registry" \
	"($warm_bytes bytes), $warm_worker_requests by the worker"
[ $((warm_gets + warm_worker_requests)) = 0 ] ||
	scenario_fail "the second mount sent $warm_gets range requests ($warm_bytes bytes; worker: $warm_worker_requests) for bytes the cache holds"
umount "$od"
supervisor_stop || scenario_fail "supervisor exit status $?"

# 3. The alternative: pull the whole blob, check its digest, mount the file.
drop_caches
t0=$EPOCHREALTIME
pulled_sum=$(curl -sSf --cacert "$rig/ca.crt" -u "$USER:$PASSWORD" "https://127.0.0.1:$REG_PORT/v2/$REPO/blobs/$digest" |
	tee "$pulled" | sha256sum | cut -c1-64) || scenario_fail "pull failed"
pull_s=$(elapsed "$t0")
[ "sha256:$pulled_sum" = "$digest" ] || scenario_fail "the pulled blob has sha256:$pulled_sum, not $digest"
mount -t erofs -o ro "$pulled" "$fb" || scenario_fail "file-backed mount failed"
fb_mount_s=$(elapsed "$t0")
timed_reads "$t0" "$fb" pulled
fb_first_s=$FIRST_S fb_full_s=$FULL_S
read -r gets3 gbytes3 <<<"$(blob_gets)"
fb_gets=$((gets3 - gets2)) fb_bytes=$((gbytes3 - gbytes2))
umount "$fb"
rm -f "$pulled"
vm_log "RUN pull-then-mount: pulled $fb_bytes bytes in $pull_s s ($(mibps "$fb_bytes" "$pull_s") MiB/s)," \
	"mounted at $fb_mount_s s, first file $fb_first_s s, all files $fb_full_s s"

tc qdisc del dev lo root
rig_stop registry

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }'; }
first_ratio=$(ratio "$od_first_s" "$fb_first_s") full_ratio=$(ratio "$od_full_s" "$fb_full_s")
fetched_ratio=$(ratio "$od_bytes" "$payload")
vm_log "REMOTE $shaping; $readers readers"
vm_log "REMOTE first small file ($first_name): on demand $od_first_s s, pull-then-mount $fb_first_s s:" \
	"ratio $first_ratio"
vm_log "REMOTE all files: on demand $od_full_s s, pull-then-mount $fb_full_s s: ratio $full_ratio"
vm_log "REMOTE on demand fetched $od_bytes bytes for $payload bytes of files read ($fetched_ratio ×;" \
	"image $image_bytes bytes); second mount: $warm_gets range requests"
bench_json bench=remote_read shaping="$shaping" delay="$delay" rate="$rate" connect_ms="$connect_ms" \
	readers="$readers" image_bytes="$image_bytes" payload_bytes="$payload" files="$(wc -l <"$manifest")" \
	od_mount_s="$od_mount_s" od_first_s="$od_first_s" od_full_s="$od_full_s" od_fetched_bytes="$od_bytes" \
	od_requests="$od_gets" worker_bytes="$w_bytes" worker_requests="$w_requests" worker_connections="$w_conns" \
	worker_retries="$w_retries" warm_s="$warm_s" warm_requests="$warm_gets" warm_bytes="$warm_bytes" \
	warm_worker_requests="$warm_worker_requests" pull_s="$pull_s" pull_bytes="$fb_bytes" pull_requests="$fb_gets" \
	fb_mount_s="$fb_mount_s" fb_first_s="$fb_first_s" fb_full_s="$fb_full_s" first_ratio="$first_ratio" \
	full_ratio="$full_ratio" ok="$([ "$SCENARIO_FAILED" = 0 ] && echo 1 || echo 0)"
scenario_end od_first_s="$od_first_s" fb_first_s="$fb_first_s" first_ratio="$first_ratio" od_full_s="$od_full_s" \
	fb_full_s="$fb_full_s" full_ratio="$full_ratio" od_fetched="$od_bytes" payload="$payload" warm_requests="$warm_gets"
